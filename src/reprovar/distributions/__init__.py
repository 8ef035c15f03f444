"""The distributions, one module each, and their registry (:mod:`.registry`).

A distribution's module holds all that is particular to it: its parameters and their checks,
the per-variable constants its kernel needs, its algorithm (the kernel in
:mod:`reprovar.sampler.kernels` it runs), and its law for the audit (:mod:`.laws`). The rest of
reprovar (the makers, Dask, the adapters, variance scaling, the audit and the CLI) asks the
registry, never a list of its own.

Example:
    >>> import numpy as np
    >>> d = get("truncated_normal")
    >>> d.parameters, d.default.name
    (('mean', 'scale', 'low', 'high'), 'philox4x32-10/truncated-normal')
    >>> check_uniform(-1, 1, np.dtype("float32"))
    (-1.0, 1.0)
"""

from .base import Distribution, check_magnitude, check_real
from .normal import NORMAL, PhiloxBoxMuller, check_location_scale, check_normal_values_fit
from .orthogonal import ORTHOGONAL, ORTHOGONAL_FIRST_AXIS, ORTHOGONAL_LAST_AXIS, PhiloxOrthogonal, check_orthogonal
from .registry import (
    DEFAULT_ALGORITHM,
    REGISTRY,
    default_algorithm,
    get,
    get_algorithm,
    registered_algorithms,
)
from .truncated_normal import (
    NARROW_TRUNCATION,
    TRUNCATED_NORMAL,
    PhiloxTruncatedNormal,
    check_truncated_normal,
    truncnorm_constants,
)
from .uniform import UNIFORM, PhiloxUniform, check_uniform, uniform_constants
from ..sampler.formats import format_bounds

__all__ = [
    "DEFAULT_ALGORITHM",
    "Distribution",
    "NARROW_TRUNCATION",
    "NORMAL",
    "ORTHOGONAL",
    "ORTHOGONAL_FIRST_AXIS",
    "ORTHOGONAL_LAST_AXIS",
    "PhiloxBoxMuller",
    "PhiloxOrthogonal",
    "PhiloxTruncatedNormal",
    "PhiloxUniform",
    "REGISTRY",
    "TRUNCATED_NORMAL",
    "UNIFORM",
    "check_location_scale",
    "check_magnitude",
    "check_normal_values_fit",
    "check_orthogonal",
    "check_real",
    "check_truncated_normal",
    "check_uniform",
    "default_algorithm",
    "format_bounds",
    "get",
    "get_algorithm",
    "registered_algorithms",
    "truncnorm_constants",
    "uniform_constants",
]
