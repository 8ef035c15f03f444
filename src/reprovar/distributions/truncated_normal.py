"""The normal truncated to ``[low, high]``: ``philox4x32-10/truncated-normal`` v1
(:mod:`reprovar.sampler.kernels.truncated_normal`).

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

Example:
    >>> import numpy as np
    >>> TRUNCATED_NORMAL.checked({"mean": 0, "scale": 1}, np.dtype("float32"), (3,))
    {'mean': 0.0, 'scale': 1.0, 'low': -2.0, 'high': 2.0}
"""

from __future__ import annotations

import decimal
import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ArgumentValueError
from ..sampler import layout
from ..sampler.blocks import BlockAlgorithm, parallel
from ..sampler.formats import compute_type, dtype_name, format_bounds
from ..sampler.transforms.quantile_regions import (
    CENTRAL_P_MIN,
    FAR_F32,
    FAR_F64,
    SERIES_TERMS_F32,
    SERIES_TERMS_F64,
    series_coefficients,
)
from .base import Distribution, check_magnitude, check_real
from .laws import NORMAL_DRAW_SIGMAS, SQRT2, SQRT2PI, Law, normal_cdf, normal_pdf, normal_ppf

_CONTEXT = decimal.Context(prec=60, Emin=-999999999, Emax=999999999)
_PI = decimal.Decimal("3.14159265358979323846264338327950288419716939937510582097494459")
_HALF_LOG_2PI = (2 * _PI).ln(_CONTEXT) / 2


def check_truncated_normal(mean, scale, low, high, dtype: np.dtype) -> tuple[float, float, float, float]:
    """Finite ``mean``, ``scale > 0``; bounds default to ``mean -+ 2 scale`` and may be infinite;
    ``low < high`` with a ``dtype`` value in [low, high].

    Example:
        >>> import numpy as np
        >>> check_truncated_normal(0, 1, None, float("inf"), np.dtype("float32"))
        (0.0, 1.0, -2.0, inf)
    """
    mean, scale = check_real(mean, "mean"), check_real(scale, "scale")
    check_magnitude("mean", mean, dtype)
    check_magnitude("scale", scale, dtype)
    if not scale > 0:
        raise ArgumentValueError(f"scale must be > 0 for a truncated normal, got {scale}")
    low = mean - 2 * scale if low is None else check_real(low, "low", allow_inf=True)
    high = mean + 2 * scale if high is None else check_real(high, "high", allow_inf=True)
    check_magnitude("low", low, dtype)
    check_magnitude("high", high, dtype)
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
    ft = compute_type(dtype)
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


#: Intervals narrower than this (in standard deviations) are computed in float64 for every
#: output format: float32 arithmetic would resolve them too coarsely.
NARROW_TRUNCATION = 2.0**-6


@dataclass(frozen=True)
class PhiloxTruncatedNormal(BlockAlgorithm):
    """Philox4x32-10 bits, normal truncated to [low, high] by inversion of its distribution function.

    Exact for any interval, however far into a tail: see this module and
    docs/sampler.md. Computed in float32 for float32, float16 and bfloat16 (one 32-bit word per value)
    unless the interval is narrower than :data:`NARROW_TRUNCATION` standard deviations, in
    float64 otherwise (two words per value, float64 blocks); values are clamped to the output
    format's own values in [low, high].
    """

    name: str = "philox4x32-10/truncated-normal"
    version: int = 1
    distribution: str = "truncated_normal"


    def computes_in_float64(self, dtype: np.dtype, mean: float, scale: float, low: float, high: float) -> bool:
        """Whether values of ``dtype`` are computed in float64 (always for float64; narrow intervals)."""
        if dtype == np.float64:
            return True
        return (high - low) < NARROW_TRUNCATION * scale

    def _runner(self, dtype: np.dtype, params: dict):
        mean, scale = float(params["mean"]), float(params["scale"])
        low, high = float(params["low"]), float(params["high"])
        wide = self.computes_in_float64(dtype, mean, scale, low, high)
        method, prm = truncnorm_constants(mean, scale, low, high, dtype)
        if wide and dtype != np.float64:
            # Same bounds (the output format's), float64 constants and arithmetic.
            method, prm64 = truncnorm_constants(mean, scale, low, high, np.dtype(np.float64))
            prm = prm64[:-2] + tuple(np.float64(b) for b in prm[-2:])
        bfloat = dtype_name(dtype) == "bfloat16"

        def run_kernel(target, first_block, n_blocks, key0, key1):
            from ..sampler.kernels import truncated_normal as k  # loads Numba

            on_threads = parallel(target)
            if method == "far":
                fill = k.fill_truncnorm_far_parallel if on_threads else k.fill_truncnorm_far
            elif method == "central":
                fill = k.fill_truncnorm_central_parallel if on_threads else k.fill_truncnorm_central
            else:
                fill = k.fill_truncnorm_icdf_parallel if on_threads else k.fill_truncnorm_icdf
            fill(target, np.uint64(first_block), n_blocks, key0, key1, prm, bfloat)

        if not wide or dtype == np.float64:
            return self.block_size(dtype), run_kernel

        def run_wide(target, first_block, n_blocks, key0, key1):
            # float64 values rounded to the output format, a bounded chunk at a time.
            block = layout.BLOCK_F64
            chunk = 1 << 8  # blocks
            values = np.empty(min(n_blocks, chunk) * block, np.float64)
            for b in range(0, n_blocks, chunk):
                n = min(chunk, n_blocks - b)
                run_kernel(values[: n * block], first_block + b, n, key0, key1)
                target[b * block : (b + n) * block] = values[: n * block].astype(dtype).view(target.dtype)

        return layout.BLOCK_F64, run_wide



@dataclass(frozen=True)
class TruncatedNormalLaw(Law):
    """normal(mean, scale) restricted to [low, high] (either bound may be infinite).

    Example:
        >>> law = TruncatedNormalLaw("truncated_normal", {"mean": 0.0, "scale": 1.0, "low": 0.0, "high": math.inf})
        >>> round(law.mean, 6), round(law.std, 6)   # the half-normal
        (0.797885, 0.60281)
    """

    keys: ClassVar[tuple[str, ...]] = ("mean", "scale", "low", "high")

    def _standard(self) -> tuple[float, float, float, float]:
        # The standardized bounds (alpha, beta), the mean and the scale.
        m, s = self.params["mean"], self.params["scale"]
        return (self.params["low"] - m) / s, (self.params["high"] - m) / s, m, s

    @staticmethod
    def _mass(alpha: float, beta: float) -> float:
        # Φ(β) − Φ(α), taken in the lower tail where it is precise.
        if alpha > 0:
            return 0.5 * (math.erfc(alpha / SQRT2) - math.erfc(beta / SQRT2))
        return 0.5 * (math.erfc(-beta / SQRT2) - math.erfc(-alpha / SQRT2))

    @staticmethod
    def _phi(z: float) -> float:
        return 0.0 if math.isinf(z) else math.exp(-0.5 * z * z) / SQRT2PI

    @property
    def mean(self) -> float:
        if self.params["scale"] == 0.0:
            return self.params["mean"]
        alpha, beta, m, s = self._standard()
        z = self._mass(alpha, beta)
        return m + s * (self._phi(alpha) - self._phi(beta)) / z

    @property
    def std(self) -> float:
        if self.params["scale"] == 0.0 or self.params["low"] == self.params["high"]:
            return 0.0
        alpha, beta, m, s = self._standard()
        z = self._mass(alpha, beta)
        pa, pb = self._phi(alpha), self._phi(beta)
        apa = 0.0 if math.isinf(alpha) else alpha * pa
        bpb = 0.0 if math.isinf(beta) else beta * pb
        variance = 1.0 + (apa - bpb) / z - ((pa - pb) / z) ** 2
        return s * math.sqrt(max(variance, 0.0))

    def support(self) -> tuple[float, float]:
        return (self.params["low"], self.params["high"])

    def draw_range(self) -> tuple[float, float]:
        # Finite bounds as they are; an infinite side stops where a normal would stop being
        # drawn (the same tail mass as mean ± 4 scale), counted in the truncated law itself.
        lo, hi = self.support()
        if self.point_mass:
            return (self.mean, self.mean)
        tail = float(normal_cdf(-NORMAL_DRAW_SIGMAS))
        if math.isinf(lo):
            lo = float(self.ppf(tail))
        if math.isinf(hi):
            hi = float(self.ppf(1.0 - tail))
        return (lo, hi)

    def pdf(self, x: Any) -> np.ndarray:
        alpha, beta, m, s = self._standard()
        x = np.asarray(x, dtype=np.float64)
        inside = (x >= self.params["low"]) & (x <= self.params["high"])
        return np.where(inside, normal_pdf((x - m) / s) / (s * self._mass(alpha, beta)), 0.0)

    def cdf(self, x: Any) -> np.ndarray:
        alpha, beta, m, s = self._standard()
        z = np.clip((np.asarray(x, dtype=np.float64) - m) / s, alpha, beta)
        if alpha > 0:  # upper tail: count from the top, where erfc is precise
            return 1.0 - np.vectorize(self._mass)(z, beta) / self._mass(alpha, beta)
        return np.vectorize(self._mass)(alpha, z) / self._mass(alpha, beta)

    def ppf(self, p: Any) -> np.ndarray:
        alpha, beta, m, s = self._standard()
        p = np.asarray(p, dtype=np.float64)
        if alpha > 0:  # mirror into the lower tail, where Φ and Φ⁻¹ keep their digits
            lower = normal_cdf(-beta)
            z = -normal_ppf(lower + (1.0 - p) * self._mass(alpha, beta))
        else:
            lower = normal_cdf(alpha)
            z = normal_ppf(lower + p * self._mass(alpha, beta))
        out = m + s * np.clip(z, alpha, beta)
        return np.where((p >= 0) & (p <= 1), out, np.nan)


def _check(params, dtype: np.dtype, shape: tuple[int, ...]) -> dict[str, float]:
    mean, scale, low, high = check_truncated_normal(
        params["mean"], params["scale"], params.get("low"), params.get("high"), dtype
    )
    return {"mean": mean, "scale": scale, "low": low, "high": high}


TRUNCATED_NORMAL = Distribution(
    name="truncated_normal",
    parameters=("mean", "scale", "low", "high"),
    optional=("low", "high"),
    check=_check,
    default=PhiloxTruncatedNormal(),
    summary="normal(mean, scale) truncated to [low, high], default mean -+ 2 scale",
    # The ledger stores an infinite bound as NULL.
    stored_none={"low": -math.inf, "high": math.inf},
    law=TruncatedNormalLaw,
)
