"""reprovar: random variables that can always be made again.

Example:
    >>> import reprovar
    >>> v = reprovar.random_normal_variable((2, 3), mean=0.0, scale=1.0, seed=7, record=False)
    >>> v.shape
    (2, 3)
"""

from .api import (
    orthogonal_variable,
    random_normal_slice,
    random_normal_variable,
    random_slice,
    random_uniform_slice,
    random_uniform_variable,
    random_variable,
    truncated_normal_slice,
    truncated_normal_variable,
    variance_scaling_variable,
)
from .errors import ReprovarError
from .variable import Provenance, Variable

__version__ = "0.1.0"

# The ledger (SQLAlchemy) is imported on first use, keeping `import reprovar` light. Ledger is
# the audit layer's class (the ledger layer's plus queries); the rest live in .recorder.
_LEDGER_NAMES = (
    "Ledger",
    "replay",
    "use_ledger",
    "current_ledger",
    "recording",
    "recording_enabled",
    "enable_recording",
    "disable_recording",
    "transaction",
)


#: Modules reached as attributes (``reprovar.mlflow.log_variables``,
#: ``reprovar.variance_scaling.resolve``); imported on first use, and none of the trackers'
#: imports its tracker until called.
_LAZY_MODULES = ("mlflow", "wandb", "trackers", "algorithms", "region", "variance_scaling")


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name == "link_run":
        from .trackers import link_run

        return link_run
    if name in _LEDGER_NAMES:
        if name == "Ledger":
            from .audit.ledger import Ledger

            return Ledger
        from . import recorder

        return getattr(recorder, name)
    raise AttributeError(f"module 'reprovar' has no attribute {name!r}")


__all__ = [
    "random_normal_variable",
    "random_normal_slice",
    "random_uniform_variable",
    "random_uniform_slice",
    "truncated_normal_variable",
    "truncated_normal_slice",
    "variance_scaling_variable",
    "orthogonal_variable",
    "Variable",
    "Provenance",
    "ReprovarError",
    "__version__",
    "link_run",
    *_LEDGER_NAMES,
]
