"""Named, versioned sampler algorithms: what a ledger row names and ``replay`` looks up.

An algorithm is a pure function (seed, element index, parameters, dtype) -> value, for one
distribution (``.distribution``; its parameters are the distribution's, see
:mod:`reprovar.distributions`). Its name and version are recorded with every variable, and once
released an algorithm's values never change: a change of values is a new version, registered
beside the old one so that recorded variables replay bit for bit.

The algorithms live with their distributions (:mod:`reprovar.distributions`) and the registry
(:mod:`reprovar.distributions.registry`); this module keeps their documented names.

Example:
    >>> import numpy as np
    >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
    >>> x = alg.generate((2, 3), np.dtype("float64"), seed=5, mean=0.0, scale=1.0)
    >>> x.shape
    (2, 3)
"""

from .distributions.normal import PhiloxBoxMuller
from .distributions.orthogonal import PhiloxOrthogonal
from .distributions.registry import DEFAULT_ALGORITHM, default_algorithm, get_algorithm, registered_algorithms
from .distributions.truncated_normal import NARROW_TRUNCATION, PhiloxTruncatedNormal
from .distributions.uniform import PhiloxUniform
from .sampler.blocks import PARALLEL_MIN_ELEMENTS, BlockAlgorithm

__all__ = [
    "BlockAlgorithm",
    "DEFAULT_ALGORITHM",
    "NARROW_TRUNCATION",
    "PARALLEL_MIN_ELEMENTS",
    "PhiloxBoxMuller",
    "PhiloxOrthogonal",
    "PhiloxTruncatedNormal",
    "PhiloxUniform",
    "default_algorithm",
    "get_algorithm",
    "registered_algorithms",
]
