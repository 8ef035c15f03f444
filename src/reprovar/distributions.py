"""Parameters of the uniform and truncated-normal distributions: checks, and the per-variable
constants the kernels use.

Constants are computed in Python from the parameters alone, in ``decimal`` arithmetic with
60 significant digits (correctly rounded ``exp`` and ``ln``, no libm), then rounded once to
the compute type: they are the same bits on every platform. They are cached per parameter
set, since a model makes many variables with the same parameters.

Truncated normal by inversion (docs/sampler.md): with ``alpha, beta`` the bounds in
standard units and ``Q(x) = P(Z > x)``, an interval on the upper side (``alpha >= 0``) maps a
uniform ``v`` in (0, 1] to ``p = Q(beta) + v (Q(alpha) - Q(beta)) = Q(alpha) t`` with
``t = rho + v (1 - rho)``, ``rho = Q(beta) / Q(alpha)``, and returns ``z = Q^-1(p)``, its
logarithm ``log p = log Q(alpha) + log t`` taken in log space. An interval on the lower side
is the mirror image. An interval around 0 splits at the median: ``u`` below it is
inverted in the lower tail, above it in the upper tail, so ``p`` is always the smaller tail
probability and never the rounding residue of ``1 - p``.
"""

from __future__ import annotations

import decimal
import functools
import math
import numbers

import numpy as np

from .errors import ArgumentTypeError, ArgumentValueError
from .transforms.quantile_regions import (
    CENTRAL_P_MIN,
    FAR_F32,
    FAR_F64,
    SERIES_TERMS_F32,
    SERIES_TERMS_F64,
    series_coefficients,
)

_CONTEXT = decimal.Context(prec=60, Emin=-999999999, Emax=999999999)
_PI = decimal.Decimal("3.14159265358979323846264338327950288419716939937510582097494459")
_HALF_LOG_2PI = (2 * _PI).ln(_CONTEXT) / 2


def _compute_type(dtype: np.dtype):
    return np.float64 if dtype == np.float64 else np.float32


def check_real(value, param: str, *, allow_inf: bool = False) -> float:
    """``value`` as a float: a real number, finite unless ``allow_inf``; NaN never.

    Example:
        >>> check_real(2, "low"), check_real(float("-inf"), "low", allow_inf=True)
        (2.0, -inf)
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        accepted = "a real number (int or float)" + (", or +-inf" if allow_inf else "")
        raise ArgumentTypeError(f"{param} must be {accepted}, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        accepted = "a number or +-inf" if allow_inf else "a finite number"
        raise ArgumentValueError(f"{param} must be {accepted}, got {value}")
    return value


def _check_magnitude(param: str, value: float, dtype: np.dtype) -> None:
    compute = _compute_type(dtype)
    limit = float(np.finfo(compute).max)
    if math.isfinite(value) and abs(value) > limit:
        raise ArgumentValueError(
            f"{param}={value} overflows the {np.dtype(compute).name} arithmetic of "
            f"dtype={dtype.name}; accepted: |{param}| <= {limit:.7g}"
        )


# --- values of an output format ------------------------------------------------------------


def _unsigned(dtype: np.dtype):
    return {2: np.uint16, 4: np.uint32, 8: np.uint64}[dtype.itemsize]


def _step(x: np.ndarray, up: bool) -> np.ndarray:
    # The neighbouring value of a finite, non-NaN value of an IEEE format, by its bits.
    bits = x.view(_unsigned(x.dtype)).copy()
    sign_bit = 1 << (8 * x.dtype.itemsize - 1)
    magnitude, negative = int(bits[0]) & (sign_bit - 1), bool(int(bits[0]) & sign_bit)
    if magnitude == 0:
        bits[0] = 1 if up else sign_bit | 1
    elif negative == up:
        bits[0] = int(bits[0]) - 1
    else:
        bits[0] = int(bits[0]) + 1
    return bits.view(x.dtype)


def format_bounds(low: float, high: float, dtype: np.dtype, *, high_inclusive: bool):
    """The smallest ``dtype`` value ``>= low`` and the largest ``<= high`` (``< high`` unless
    ``high_inclusive``), both finite, as floats; ``None`` when there is no such value.

    Example:
        >>> import numpy as np
        >>> format_bounds(0.0, 1.0, np.dtype("float16"), high_inclusive=False)
        (0.0, 0.99951171875)
    """
    finite = float(np.finfo(dtype).max) if dtype.name != "bfloat16" else float.fromhex("0x1.fep127")
    one = np.empty(1, dtype)
    one[0] = max(low, -finite)
    lo = one if float(one[0]) >= low else _step(one, up=True)
    one = np.empty(1, dtype)
    one[0] = min(high, finite)
    hi = one
    if float(hi[0]) > high or (not high_inclusive and float(hi[0]) >= high):
        hi = _step(hi, up=False)
    lo_f, hi_f = float(lo[0]), float(hi[0])
    if not (math.isfinite(lo_f) and math.isfinite(hi_f)) or lo_f > hi_f:
        return None
    return lo_f, hi_f


# --- uniform -------------------------------------------------------------------------------


def check_uniform(low, high, dtype: np.dtype) -> tuple[float, float]:
    """Finite ``low < high``, representable in the compute type, with a ``dtype`` value in [low, high).

    Example:
        >>> import numpy as np
        >>> check_uniform(-1, 1, np.dtype("float32"))
        (-1.0, 1.0)
    """
    low, high = check_real(low, "low"), check_real(high, "high")
    _check_magnitude("low", low, dtype)
    _check_magnitude("high", high, dtype)
    if not low < high:
        raise ArgumentValueError(f"low must be < high (values lie in [low, high)), got low={low}, high={high}")
    if format_bounds(low, high, dtype, high_inclusive=False) is None:
        raise ArgumentValueError(
            f"no {dtype.name} value lies in [low, high) = [{low}, {high}); accepted: an interval "
            f"that holds at least one {dtype.name} value"
        )
    return low, high


def _rounding_cell(value: float, dtype: np.dtype) -> tuple[float, float]:
    # [lower, upper]: the reals that round to ``value`` in ``dtype`` (ties aside), as midpoints
    # to its neighbours; exact in float64 for float16 and bfloat16.
    x = np.array([value], dtype)
    below, above = float(_step(x, up=False)[0]), float(_step(x, up=True)[0])
    return (value + below) / 2, (value + above) / 2


@functools.lru_cache(maxsize=1024)
def _uniform_constants(low: float, high: float, dtype: np.dtype):
    ft = _compute_type(dtype)
    lo, hi = format_bounds(low, high, dtype, high_inclusive=False)
    a, b = low, high
    if dtype.itemsize == 2:
        # Half precisions round a float32 uniform: draw it from the reals that round into
        # [lo, hi] only, so that every value gets its whole rounding cell (within [low, high))
        # and none gets the cell of a value outside as well.
        a = max(low, _rounding_cell(lo, dtype)[0])
        b = min(high, _rounding_cell(hi, dtype)[1])
    h = ft(a / 2)
    w = ft(ft(b / 2) - h)
    return (h, w, ft(lo), ft(hi))


def uniform_constants(low: float, high: float, dtype: np.dtype) -> tuple:
    """``(a/2, b/2 - a/2, first value, last value)`` in the compute type (checked arguments).

    ``[a, b)`` is ``[low, high)``, narrowed for float16 and bfloat16 to the reals that round to
    a value of the format inside it: the values are then the uniform on ``[low, high)``
    rounded to the format, conditioned on landing in ``[low, high)``.

    Example:
        >>> import numpy as np
        >>> [float(c) for c in uniform_constants(-1.0, 1.0, np.dtype("float64"))]
        [-0.5, 1.0, -1.0, 0.9999999999999999]
    """
    return _uniform_constants(low, high, dtype)


# --- orthogonal ----------------------------------------------------------------------------


#: The distributions of orthogonal matrices (see :class:`reprovar.algorithms.PhiloxOrthogonal`).
ORTHOGONAL = ("orthogonal", "orthogonal_last_axis")


def check_orthogonal(scale, shape: tuple[int, ...], dtype: np.dtype) -> float:
    """A finite ``scale`` (the gain; any sign, as torch and Keras allow) whose values fit
    ``dtype`` (every value of an orthogonal matrix lies in [-1, 1]), and a shape of 2 or more
    dimensions.

    Example:
        >>> import numpy as np
        >>> check_orthogonal(2, (3, 4), np.dtype("float32"))
        2.0
        >>> check_orthogonal(1.0, (3,), np.dtype("float32"))
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: an orthogonal variable needs a shape of 2 or more dimensions, got shape=(3,)
    """
    scale = check_real(scale, "gain")
    if len(shape) < 2:
        raise ArgumentValueError(
            f"an orthogonal variable needs a shape of 2 or more dimensions, got shape={tuple(shape)}"
        )
    finite = float.fromhex("0x1.fep127") if dtype.name == "bfloat16" else float(np.finfo(dtype).max)
    if abs(scale) > finite:
        raise ArgumentValueError(
            f"gain={scale} would make values beyond the largest {dtype.name} value; "
            f"accepted: |gain| <= {finite:.7g}"
        )
    return scale


# --- truncated normal ----------------------------------------------------------------------


def check_truncated_normal(mean, scale, low, high, dtype: np.dtype) -> tuple[float, float, float, float]:
    """Finite ``mean``, ``scale > 0``; bounds default to ``mean -+ 2 scale`` and may be infinite;
    ``low < high`` with a ``dtype`` value in [low, high].

    Example:
        >>> import numpy as np
        >>> check_truncated_normal(0, 1, None, float("inf"), np.dtype("float32"))
        (0.0, 1.0, -2.0, inf)
    """
    mean, scale = check_real(mean, "mean"), check_real(scale, "scale")
    _check_magnitude("mean", mean, dtype)
    _check_magnitude("scale", scale, dtype)
    if not scale > 0:
        raise ArgumentValueError(f"scale must be > 0 for a truncated normal, got {scale}")
    low = mean - 2 * scale if low is None else check_real(low, "low", allow_inf=True)
    high = mean + 2 * scale if high is None else check_real(high, "high", allow_inf=True)
    _check_magnitude("low", low, dtype)
    _check_magnitude("high", high, dtype)
    if not low < high:
        raise ArgumentValueError(
            f"low must be < high (the truncation interval [low, high] must not be empty), "
            f"got low={low}, high={high}"
        )
    if format_bounds(low, high, dtype, high_inclusive=True) is None:
        raise ArgumentValueError(
            f"no {dtype.name} value lies in [low, high] = [{low}, {high}]; accepted: an interval "
            f"that holds at least one {dtype.name} value"
        )
    return mean, scale, low, high


def _dec(x: float) -> decimal.Decimal:
    return decimal.Decimal(x)


def _cf_denominator(x: decimal.Decimal) -> decimal.Decimal:
    # Q(x) = phi(x) / (x + 1/(x + 2/(x + 3/(x + ...)))) (Laplace's continued fraction), x >= 6.
    c = _CONTEXT
    d = x
    for k in range(300, 0, -1):
        d = c.add(x, c.divide(k, d))
    return d


def _log_upper_tail(x: decimal.Decimal) -> decimal.Decimal:
    """log Q(x) for x >= 0 (any size), to ~50 digits."""
    c = _CONTEXT
    if x >= 6:
        return c.subtract(c.minus(c.divide(c.multiply(x, x), 2)), c.add(_HALF_LOG_2PI, _cf_denominator(x).ln(c)))
    return _upper_tail(x).ln(c)


def _upper_tail(x: decimal.Decimal) -> decimal.Decimal:
    """Q(x) for x >= 0 (0 for x = inf), to ~50 digits (no underflow: decimal's exponent range)."""
    c = _CONTEXT
    if x.is_infinite():
        return decimal.Decimal(0)
    if x >= 6:
        return c.exp(_log_upper_tail(x))
    # Phi(x) - 1/2 = phi(x) sum_n x^(2n+1) / (2n+1)!!: positive terms, 60 digits leave >= 45 for Q.
    term, total, x2, n = x, x, c.multiply(x, x), 0
    while True:
        n += 1
        term = c.divide(c.multiply(term, x2), 2 * n + 1)
        total = c.add(total, term)
        if term <= total.scaleb(-70):
            break
    phi = c.exp(c.subtract(c.minus(c.divide(x2, 2)), _HALF_LOG_2PI))
    return c.subtract(decimal.Decimal("0.5"), c.multiply(phi, total))


def _series(x: decimal.Decimal, terms: int) -> decimal.Decimal:
    c = _CONTEXT
    w = c.divide(1, c.multiply(x, x))
    s = decimal.Decimal(0)
    for coefficient in reversed(series_coefficients(terms)):
        s = c.add(coefficient, c.multiply(w, s))
    return s


@functools.lru_cache(maxsize=1024)
def _truncnorm_constants(mean: float, scale: float, low: float, high: float, dtype: np.dtype):
    c = _CONTEXT
    ft = _compute_type(dtype)
    lo_t, hi_t = format_bounds(low, high, dtype, high_inclusive=True)
    inf = decimal.Decimal("Infinity")
    m, s = _dec(mean), _dec(scale)
    alpha = -inf if math.isinf(low) else c.divide(c.subtract(_dec(low), m), s)
    beta = inf if math.isinf(high) else c.divide(c.subtract(_dec(high), m), s)
    mirrored = beta <= 0  # the lower side: sample -Z on [-beta, -alpha]
    if mirrored:
        alpha, beta = -beta, -alpha
    sc = -scale if mirrored else scale
    far = FAR_F64 if ft is np.float64 else FAR_F32
    bounds = (ft(lo_t), ft(hi_t))
    if alpha >= far:
        terms = SERIES_TERMS_F64 if ft is np.float64 else SERIES_TERMS_F32
        if beta.is_infinite():
            rho = decimal.Decimal(0)
        else:
            # log(Q(beta) / Q(alpha)) without forming either: exact for narrow intervals too.
            d = c.subtract(beta, alpha)
            log_rho = c.subtract(
                c.minus(c.divide(c.multiply(d, c.add(alpha, beta)), 2)),
                c.divide(_cf_denominator(beta), _cf_denominator(alpha)).ln(c),
            )
            rho = c.exp(log_rho)
        bound = high if mirrored else low
        return "far", (
            ft(rho), ft(c.subtract(1, rho)), ft(alpha), ft(_series(alpha, terms)), ft(bound), ft(sc), *bounds
        )
    if alpha >= 0:
        qa, qb = _upper_tail(alpha), _upper_tail(beta)
        k, log_k = qa, _log_upper_tail(alpha)
        a_lo, b_lo = decimal.Decimal(2), decimal.Decimal(0)  # never the smaller: one side only
        a_hi, b_hi = c.divide(qb, qa), c.divide(c.subtract(qa, qb), qa)
        smallest_p = qb
    else:
        pa, qb = _upper_tail(-alpha), _upper_tail(beta)
        width = c.subtract(c.subtract(1, pa), qb)
        k, log_k = decimal.Decimal(1), decimal.Decimal(0)
        a_lo, b_lo, a_hi, b_hi = pa, width, qb, width
        smallest_p = min(pa, qb)
    central = ft is np.float32 and smallest_p >= decimal.Decimal(CENTRAL_P_MIN)
    return "central" if central else "icdf", tuple(ft(x) for x in (a_lo, b_lo, a_hi, b_hi, k, log_k, _dec(mean), _dec(sc))) + bounds


def truncnorm_constants(mean: float, scale: float, low: float, high: float, dtype: np.dtype) -> tuple[str, tuple]:
    """``(method, constants)`` for the kernels: ``"icdf"`` (inversion), ``"central"`` (inversion
    without logarithms, float32, where every tail probability is >= 0.02) or ``"far"``
    (intervals starting 10 (float32) or 20 (float64) standard deviations or more from the mean).

    Example:
        >>> import numpy as np
        >>> method, prm = truncnorm_constants(0.0, 1.0, -2.0, 2.0, np.dtype("float64"))
        >>> method, round(float(prm[0]), 6)
        ('icdf', 0.02275)
    """
    return _truncnorm_constants(mean, scale, low, high, dtype)
