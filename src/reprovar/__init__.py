"""reprovar: random variables that can always be made again.

Example:
    >>> import reprovar
    >>> v = reprovar.random_normal_variable((2, 3), mean=0.0, scale=1.0, seed=7, record=False)
    >>> v.shape
    (2, 3)
"""

from .api import random_normal_variable
from .errors import ReprovarError
from .variable import Provenance, Variable

__version__ = "0.1.0"

__all__ = ["random_normal_variable", "Variable", "Provenance", "ReprovarError", "__version__"]
