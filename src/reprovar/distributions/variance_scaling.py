"""Keras' ``VarianceScaling`` as a pure function: shape and settings -> (distribution, params).

The framework adapters and piece-wise (Dask) generation use it to resolve an initializer once;
a variable is then made, and recorded, as the distribution it resolved to.

Semantics as in ``keras.src.initializers.random_initializers``: fans by ``compute_fans`` (a
scalar has fans 1, a vector its length for both, a matrix ``(fan_in, fan_out)``, a kernel of
rank >= 3 ``(..., in, out)`` multiplies both by its receptive field size); ``n`` is the fan
the mode names (``fan_avg``: their mean), at least 1, so zero-size shapes resolve too.
"""

from __future__ import annotations

import math
import numbers

from ..errors import ArgumentTypeError, ArgumentValueError
from ..validation import check_shape

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")

#: Standard deviation of the standard normal truncated to [-2, 2]: Keras divides by it so that
#: the truncated values have the standard deviation asked for.
TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape``, as Keras computes them.

    Example:
        >>> compute_fans(()), compute_fans((5,)), compute_fans((3, 4)), compute_fans((3, 3, 16, 32))
        ((1, 1), (5, 5), (3, 4), (144, 288))
    """
    shape = check_shape(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field_size = math.prod(shape[:-2])
    return shape[-2] * receptive_field_size, shape[-1] * receptive_field_size


def check_settings(scale, mode, distribution) -> tuple[float, str, str]:
    """Validated ``(scale, mode, distribution)``; ``"normal"`` becomes ``"truncated_normal"`` (Keras).

    Example:
        >>> check_settings(2, "fan_avg", "Normal")
        (2.0, 'fan_avg', 'truncated_normal')
    """
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise ArgumentTypeError(f"scale must be a positive float, got {type(scale).__name__}")
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ArgumentValueError(f"scale must be a positive, finite float, got {scale}")
    if not isinstance(mode, str):
        raise ArgumentTypeError(f"mode must be one of {', '.join(map(repr, MODES))}, got {type(mode).__name__}")
    if mode not in MODES:
        raise ArgumentValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if not isinstance(distribution, str):
        raise ArgumentTypeError(
            f"distribution must be one of {', '.join(map(repr, DISTRIBUTIONS))}, got {type(distribution).__name__}"
        )
    lowered = distribution.lower()
    if lowered not in DISTRIBUTIONS:
        raise ArgumentValueError(
            f"distribution must be one of {', '.join(map(repr, DISTRIBUTIONS))}, got {distribution!r}"
        )
    return scale, mode, "truncated_normal" if lowered == "normal" else lowered


def resolve(shape, scale=1.0, mode="fan_in", distribution="truncated_normal") -> tuple[str, dict[str, float]]:
    """The distribution and parameters Keras' ``VarianceScaling(scale, mode, distribution)`` draws a
    weight of ``shape`` from: ``("truncated_normal", {mean, scale, low, high})``,
    ``("normal", {mean, scale})`` or ``("uniform", {low, high})``.

    Example:
        >>> resolve((4, 8), 1.0, "fan_in", "uniform")
        ('uniform', {'low': -0.8660254037844386, 'high': 0.8660254037844386})
        >>> resolve((4, 8), 1.0, "fan_out", "untruncated_normal")
        ('normal', {'mean': 0.0, 'scale': 0.3535533905932738})
        >>> name, p = resolve((3, 3, 16, 32), 2.0)
        >>> name, round(p["scale"], 6), p["low"] == -2 * p["scale"]
        ('truncated_normal', 0.133979, True)
    """
    scale, mode, distribution = check_settings(scale, mode, distribution)
    fan_in, fan_out = compute_fans(shape)
    if mode == "fan_in":
        scale /= max(1.0, fan_in)
    elif mode == "fan_out":
        scale /= max(1.0, fan_out)
    else:
        scale /= max(1.0, (fan_in + fan_out) / 2.0)
    if distribution == "truncated_normal":
        stddev = math.sqrt(scale) / TRUNCATED_STDDEV
        return "truncated_normal", {"mean": 0.0, "scale": stddev, "low": -2.0 * stddev, "high": 2.0 * stddev}
    if distribution == "untruncated_normal":
        return "normal", {"mean": 0.0, "scale": math.sqrt(scale)}
    limit = math.sqrt(3.0 * scale)
    return "uniform", {"low": -limit, "high": limit}


def resolve_for(shape, scale, mode, distribution, dtype) -> tuple[str, dict[str, float]]:
    """:func:`resolve`, then the resolved parameters checked for ``dtype`` as the
    distribution's own constructor checks them (so both the in-memory and the Dask
    constructors make and record exactly the same thing).

    Example:
        >>> import numpy as np
        >>> resolve_for((64, 32), 2.0, "fan_in", "uniform", np.dtype("float32"))[0]
        'uniform'
    """
    from .registry import get

    resolved, params = resolve(shape, scale, mode, distribution)
    return resolved, get(resolved).checked(params, dtype, tuple(shape))
