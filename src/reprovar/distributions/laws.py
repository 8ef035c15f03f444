"""What a variable's values should look like: the density, distribution function, quantiles
and moments of a distribution (a :class:`Law`), for the audit's report, plots and checks. Each
distribution's own law lives in its module (``NormalLaw`` in :mod:`.normal`, ...); what they
share is here: the base class and the standard normal's functions.

Only ``math`` and numpy: no scipy at run time. The normal quantile is Acklam's rational
approximation (relative error below 1.2e-9) polished by one Halley step on ``math.erfc``,
which brings it to double precision; the tests compare everything here with scipy.

Example:
    >>> float(normal_cdf(0.0)), round(float(normal_ppf(0.975)), 6)
    (0.5, 1.959964)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

SQRT2 = math.sqrt(2.0)
SQRT2PI = math.sqrt(2.0 * math.pi)
#: The normal density is drawn over mean ± this many standard deviations.
NORMAL_DRAW_SIGMAS = 4.0

_ERFC_OBJECT = np.frompyfunc(math.erfc, 1, 1)


def _erfc(x: np.ndarray) -> np.ndarray:
    """math.erfc elementwise (numpy has no erfc of its own)."""
    return np.asarray(_ERFC_OBJECT(x), dtype=np.float64)


def normal_cdf(x: Any) -> np.ndarray:
    """The standard normal distribution function Φ, accurate in both tails (via erfc).

    Example:
        >>> float(normal_cdf(0.0)), round(float(normal_cdf(-8.0)) * 1e16, 6)
        (0.5, 6.220961)
    """
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * _erfc(-x / SQRT2)


def normal_pdf(x: Any) -> np.ndarray:
    """The standard normal density φ.

    Example:
        >>> round(float(normal_pdf(0.0)), 12)
        0.398942280401
    """
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * x * x) / SQRT2PI


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
        e = 0.5 * _erfc(-xf / SQRT2) - q[finite]
        u = e * SQRT2PI * np.exp(0.5 * xf * xf)
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
        >>> from reprovar.distributions.normal import NormalLaw
        >>> law = NormalLaw("normal", {"mean": 2.0, "scale": 0.5})
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
        inner = ", ".join(f"{k}={short(v)}" for k, v in self.params.items())
        return f"{self.distribution}({inner})"


def short(value: float) -> str:
    """A parameter as people write it: ``0``, ``0.05``, ``-inf``, ``1e-06``."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"
