"""What a recorded variable's values should look like: density, distribution function,
quantiles and moments of each distribution the ledger records.

A ledger row names its distribution and parameters (``normal``: mean, scale; ``uniform``:
low, high; ``truncated_normal``: mean, scale, low, high, a bound possibly infinite). The
report draws the density over each histogram and puts the expected mean and standard
deviation beside the sample's; ``reprovar plot`` adds a Q-Q plot, which needs quantiles.

Only ``math`` and numpy: no scipy at run time. The normal quantile is Acklam's rational
approximation (relative error below 1.2e-9) polished by one Halley step on ``math.erfc``,
which brings it to double precision; the tests compare everything here with scipy.

Example:
    >>> law = make_law("uniform", {"low": -1.0, "high": 3.0})
    >>> law.mean, round(law.std, 6)
    (1.0, 1.154701)
    >>> float(law.ppf(0.25))
    0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import numpy as np

from .errors import AuditError, UnknownDistributionError

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
#: The normal density is drawn over mean ± this many standard deviations.
NORMAL_DRAW_SIGMAS = 4.0

_erfc_object = np.frompyfunc(math.erfc, 1, 1)


def _erfc(x: np.ndarray) -> np.ndarray:
    """math.erfc elementwise (numpy has no erfc of its own)."""
    return np.asarray(_erfc_object(x), dtype=np.float64)


def record_law_inputs(record: Any) -> tuple[str, dict[str, float]]:
    """A ledger record's distribution name and parameters, as the distribution contract has them.

    The one place that reads them off a record: rows with a ``params`` mapping give it (a
    bound given as None is infinite); rows without one are normal rows, described by their
    ``mean`` and ``scale``.

    Example:
        >>> from types import SimpleNamespace
        >>> record_law_inputs(SimpleNamespace(distribution="normal", mean=0.0, scale=2.0))
        ('normal', {'mean': 0.0, 'scale': 2.0})
    """
    params = getattr(record, "params", None)
    if params is not None:
        return record.distribution, {k: _param(k, v) for k, v in params.items() if _param(k, v) is not None}
    return record.distribution, {"mean": float(record.mean), "scale": float(record.scale)}


def _param(key: str, value: Any) -> float | None:
    # The ledger stores an infinite bound as NULL; a missing bound is an unbounded side.
    if value is None:
        return {"low": -math.inf, "high": math.inf}.get(key)
    return float(value)


def law_of(record: Any) -> Law:
    """The :class:`Law` a ledger record says its values follow.

    Example:
        >>> from types import SimpleNamespace
        >>> law_of(SimpleNamespace(distribution="normal", mean=1.0, scale=0.5)).std
        0.5
    """
    return make_law(*record_law_inputs(record))


def make_law(distribution: str, params: Mapping[str, float]) -> Law:
    """The law of ``distribution`` with ``params``; :class:`UnknownDistributionError` if unknown.

    Example:
        >>> make_law("normal", {"mean": 0.0, "scale": 1.0}).describe()
        'normal(mean=0, scale=1)'
        >>> make_law("cauchy", {})
        Traceback (most recent call last):
        ...
        reprovar.errors.UnknownDistributionError: no density for distribution 'cauchy'; known: normal, truncated_normal, uniform
    """
    try:
        cls = _LAWS[distribution]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_LAWS))
        raise UnknownDistributionError(
            f"no density for distribution {distribution!r}; known: {known}"
        ) from None
    missing = [k for k in cls.keys if k not in params]
    if missing:
        raise AuditError(f"{distribution} needs parameters {', '.join(cls.keys)}; missing {', '.join(missing)}")
    return cls(distribution, {k: float(params[k]) for k in cls.keys})


def normal_cdf(x: Any) -> np.ndarray:
    """The standard normal distribution function Φ, accurate in both tails (via erfc).

    Example:
        >>> float(normal_cdf(0.0)), round(float(normal_cdf(-8.0)) * 1e16, 6)
        (0.5, 6.220961)
    """
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * _erfc(-x / _SQRT2)


def normal_pdf(x: Any) -> np.ndarray:
    """The standard normal density φ.

    Example:
        >>> round(float(normal_pdf(0.0)), 12)
        0.398942280401
    """
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * x * x) / _SQRT2PI


# Acklam's rational approximation of the normal quantile: central region and tails.
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425


def _poly(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    for c in coefficients:
        out = out * x + c
    return out


def normal_ppf(p: Any) -> np.ndarray:
    """The standard normal quantile Φ⁻¹(p) for p in [0, 1] (±inf at 0 and 1, nan outside).

    Example:
        >>> [round(float(v), 9) for v in normal_ppf([0.025, 0.5, 0.975])]
        [-1.959963985, 0.0, 1.959963985]
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.minimum(p, 1.0 - p)  # the smaller tail; the sign is put back at the end
    x = np.full_like(p, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        central = q >= _P_LOW
        r = (q - 0.5)[central]
        s = r * r
        x[central] = _poly(_A, s) * r / (_poly(_B, s) * s + 1.0)
        tail = (q > 0) & (q < _P_LOW)
        t = np.sqrt(-2.0 * np.log(q[tail]))
        x[tail] = _poly(_C, t) / (_poly(_D, t) * t + 1.0)
        # One Halley step on the lower-tail probability q: Acklam's 1e-9 to full precision.
        finite = q > 0
        xf = x[finite]
        e = 0.5 * _erfc(-xf / _SQRT2) - q[finite]
        u = e * _SQRT2PI * np.exp(0.5 * xf * xf)
        x[finite] = xf - u / (1.0 + 0.5 * xf * u)
        x[q == 0] = -np.inf
    x = np.where(p > 0.5, -x, x)  # x was the quantile of the lower tail q = min(p, 1 - p)
    x[(p < 0) | (p > 1) | np.isnan(p)] = np.nan
    return x


@dataclass(frozen=True)
class Law:
    """A distribution with its parameters: density, distribution function, quantiles, moments.

    Subclasses implement one distribution each. ``std == 0`` is a point mass (scale 0, or
    equal bounds): it has no density to draw.

    Example:
        >>> law = make_law("normal", {"mean": 2.0, "scale": 0.5})
        >>> law.support(), law.draw_range()
        ((-inf, inf), (0.0, 4.0))
    """

    distribution: str
    params: dict[str, float] = field(default_factory=dict)
    keys: ClassVar[tuple[str, ...]] = ()

    @property
    def mean(self) -> float:
        raise NotImplementedError

    @property
    def std(self) -> float:
        raise NotImplementedError

    @property
    def point_mass(self) -> bool:
        """No spread: every value is the same number."""
        return self.std == 0.0

    def support(self) -> tuple[float, float]:
        """Where the values can lie (bounds may be infinite)."""
        raise NotImplementedError

    def draw_range(self) -> tuple[float, float]:
        """The finite interval over which the density is worth drawing."""
        raise NotImplementedError

    def pdf(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    def cdf(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    def ppf(self, p: Any) -> np.ndarray:
        raise NotImplementedError

    def describe(self) -> str:
        """``name(key=value, ...)`` with values in short form."""
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{self.distribution}({inner})"


@dataclass(frozen=True)
class NormalLaw(Law):
    """normal(mean, scale): scale is the standard deviation.

    Example:
        >>> law = make_law("normal", {"mean": 1.0, "scale": 2.0})
        >>> round(float(law.pdf(1.0)), 6), float(law.cdf(1.0)), float(law.ppf(0.5))
        (0.199471, 0.5, 1.0)
    """

    keys: ClassVar[tuple[str, ...]] = ("mean", "scale")

    @property
    def mean(self) -> float:
        return self.params["mean"]

    @property
    def std(self) -> float:
        return self.params["scale"]

    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def draw_range(self) -> tuple[float, float]:
        m, s = self.mean, self.std
        return (m - NORMAL_DRAW_SIGMAS * s, m + NORMAL_DRAW_SIGMAS * s)

    def pdf(self, x: Any) -> np.ndarray:
        m, s = self.mean, self.std
        return normal_pdf((np.asarray(x, dtype=np.float64) - m) / s) / s

    def cdf(self, x: Any) -> np.ndarray:
        return normal_cdf((np.asarray(x, dtype=np.float64) - self.mean) / self.std)

    def ppf(self, p: Any) -> np.ndarray:
        return self.mean + self.std * normal_ppf(p)


@dataclass(frozen=True)
class UniformLaw(Law):
    """uniform(low, high) on [low, high).

    Example:
        >>> law = make_law("uniform", {"low": 0.0, "high": 4.0})
        >>> float(law.pdf(1.0)), float(law.cdf(1.0)), float(law.ppf(0.75))
        (0.25, 0.25, 3.0)
    """

    keys: ClassVar[tuple[str, ...]] = ("low", "high")

    @property
    def mean(self) -> float:
        return 0.5 * (self.params["low"] + self.params["high"])

    @property
    def std(self) -> float:
        return (self.params["high"] - self.params["low"]) / math.sqrt(12.0)

    def support(self) -> tuple[float, float]:
        return (self.params["low"], self.params["high"])

    def draw_range(self) -> tuple[float, float]:
        return self.support()

    def pdf(self, x: Any) -> np.ndarray:
        a, b = self.support()
        x = np.asarray(x, dtype=np.float64)
        return np.where((x >= a) & (x <= b), 1.0 / (b - a), 0.0)

    def cdf(self, x: Any) -> np.ndarray:
        a, b = self.support()
        return np.clip((np.asarray(x, dtype=np.float64) - a) / (b - a), 0.0, 1.0)

    def ppf(self, p: Any) -> np.ndarray:
        a, b = self.support()
        p = np.asarray(p, dtype=np.float64)
        return np.where((p >= 0) & (p <= 1), a + p * (b - a), np.nan)


@dataclass(frozen=True)
class TruncatedNormalLaw(Law):
    """normal(mean, scale) restricted to [low, high] (either bound may be infinite).

    Example:
        >>> law = make_law("truncated_normal", {"mean": 0.0, "scale": 1.0, "low": 0.0, "high": math.inf})
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
            return 0.5 * (math.erfc(alpha / _SQRT2) - math.erfc(beta / _SQRT2))
        return 0.5 * (math.erfc(-beta / _SQRT2) - math.erfc(-alpha / _SQRT2))

    @staticmethod
    def _phi(z: float) -> float:
        return 0.0 if math.isinf(z) else math.exp(-0.5 * z * z) / _SQRT2PI

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


_LAWS: dict[str, type[Law]] = {
    "normal": NormalLaw,
    "uniform": UniformLaw,
    "truncated_normal": TruncatedNormalLaw,
}


def _short(value: float) -> str:
    """A parameter as people write it: ``0``, ``0.05``, ``-inf``, ``1e-06``."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"
