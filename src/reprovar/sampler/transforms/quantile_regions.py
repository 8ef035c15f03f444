"""Where the normal quantile changes method, and the tail series' coefficients.

Shared by the quantile kernels (:mod:`.normal_quantile`) and the per-variable constants
computed in Python (:mod:`reprovar.distributions`); kept apart from the kernels so that
reading it does not load Numba, and so that ``import reprovar`` does not either.
"""

from __future__ import annotations

#: The smallest p :func:`~.normal_quantile.upper_quantile_central_f32` accepts.
CENTRAL_P_MIN = 0.02

#: Intervals whose standardized lower end is at least this far out use ``tail_offset``.
FAR_F32 = 10.0
FAR_F64 = 20.0
#: Terms of the asymptotic series S kept (k = 0 .. SERIES_TERMS - 1).
SERIES_TERMS_F32 = 5
SERIES_TERMS_F64 = 9
#: Fixed-point iterations of ``tail_offset``: each gains a factor >= FAR**2.
ITERATIONS_F32 = 4
ITERATIONS_F64 = 6


def series_coefficients(terms: int) -> tuple[int, ...]:
    """``(-1)^k (2k-1)!!`` for k < ``terms``: the coefficients of S in powers of ``1/x**2``.

    Example:
        >>> series_coefficients(4)
        (1, -1, 3, -15)
    """
    out, double_factorial = [], 1
    for k in range(terms):
        out.append((-1) ** k * double_factorial)
        double_factorial *= 2 * k + 1
    return tuple(out)
