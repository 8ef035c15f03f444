"""Upper-tail quantiles of the standard normal, for truncated normals by inversion.

``upper_quantile(p, L)`` is the ``z`` with ``Q(z) = p``, where ``Q(z) = P(Z > z)`` and the
caller passes ``L = -log p`` as well (computed in log space, so that ``p`` may lie far below
the smallest float). In float64 it is Wichura's algorithm AS241 (PPND16, Applied Statistics 37, 1988):
a rational function of ``q = p - 1/2`` for ``p >= 0.075``, else of ``r = sqrt(L)`` (one for
``r <= 5``, one beyond), relative error about 1e-16 for ``r <= 27``. In float32 two
rationals of degree 4/3 fitted for this library (``tools/fit_normal_quantile_f32.py``) do
the same with relative error below 1e-8 before rounding (a few float32 ulp after): one in
the same central variable, one in ``r - 1.6`` for ``1.6 <= r <= 9.6``, which covers every
``p`` the float32 sampler can produce; and where every ``p`` of an interval is at least 0.02
(Keras' truncation at 2 sigma, say), one rational of degree 5/4 in ``1/4 - q**2`` alone,
without the logarithm. Each element evaluates one Horner chain whose
coefficients are selected per region, so the loop stays branch-free and vectorizes.

``tail_offset(E, alpha, s_alpha)`` serves intervals that start far out, ``alpha >= 10``
(float32) or ``>= 20`` (float64). It returns ``delta >= 0`` with
``Q(alpha + delta) = Q(alpha) exp(-E)``, from the asymptotic expansion
``Q(x) = phi(x) / x * S(x)``, ``S(x) = sum_k (-1)^k (2k-1)!! / x^(2k)``: taking logs,

    delta (2 alpha + delta) / 2 = E - log(1 + delta/alpha) + log(S(alpha + delta) / S(alpha)),

solved by fixed-point iteration on the right side ``g``: ``delta = 2 g / (alpha +
sqrt(alpha**2 + 2 g))`` (the quadratic's stable root), starting from ``g = E``; ``g`` depends
on ``delta`` only through terms of order ``delta/alpha**2``, so each iteration gains a
factor of at least ``alpha**2`` (>= 100) in accuracy. Working with ``delta`` instead of
``z = alpha + delta`` keeps full relative precision however large ``alpha`` is (``z**2``
would swamp ``E``). The series is cut at ``k = 4`` (float32) or ``8`` (float64); its
truncation error cancels in the ratio ``S(alpha + delta) / S(alpha)`` to below the
format's precision at these thresholds.

Only +, -, *, /, sqrt and the portable :mod:`.elementary` logarithm are used, so the bits
are the same on any IEEE-754 machine.
"""

from __future__ import annotations

import numpy as np

from .._jit import inline_kernel
from .elementary import log_f32, log_f64, log_join_f32, log_join_f64
from .quantile_regions import (
    ITERATIONS_F32,
    ITERATIONS_F64,
    SERIES_TERMS_F32,
    SERIES_TERMS_F64,
    series_coefficients,
)


def _coefficients(*hex_literals: str) -> tuple[float, ...]:
    return tuple(float.fromhex(h) for h in hex_literals)


# AS241 PPND16, lowest degree first: A/B for the central region, C/D for r <= 5 (in r - 1.6),
# E/F for r > 5 (in r - 5). The published decimal coefficients, rounded to float64.
_A = _coefficients(
    "0x1.b18d91e9eef75p+1", "0x1.0a4888b1a436ep+7", "0x1.ece5d2213c0ccp+10", "0x1.ad1d8cd4ee71dp+13",
    "0x1.66c3e869b752ap+15", "0x1.06c1c55b78f20p+16", "0x1.052d26b2e45e4p+15", "0x1.39a296f7d925ep+11",
)
_B = _coefficients(
    "0x1.0000000000000p+0", "0x1.5281b386e1ab5p+5", "0x1.5797efdc8b3f7p+9", "0x1.512322e75c89fp+12",
    "0x1.4b772d5d65266p+14", "0x1.3317caa64f4bep+15", "0x1.c0e457cb1ae76p+14", "0x1.46a7eca984b69p+12",
)
_C = _coefficients(
    "0x1.6c665fde9526ap+0", "0x1.2857748cab19bp+2", "0x1.713f71462256ap+2", "0x1.d2ecb1a3d02c4p+1",
    "0x1.453cc085375b2p+0", "0x1.ef2abb9b85c37p-3", "0x1.744eb6c45ec67p-6", "0x1.9615ac0b7ace9p-11",
)
_D = _coefficients(
    "0x1.0000000000000p+0", "0x1.06cefbb46a449p+1", "0x1.ad278e6526633p+0", "0x1.61292f23385c9p-1",
    "0x1.2f5123394f040p-3", "0x1.f207a7eab17bfp-7", "0x1.1f18cbfdf2728p-11", "0x1.20d3f686439e4p-30",
)
_E = _coefficients(
    "0x1.aa1b1c13ee526p+2", "0x1.5daea6e875003p+2", "0x1.c8ea6461fa445p+0", "0x1.2fad9315255cfp-2",
    "0x1.b2b41193b4ee7p-6", "0x1.45c1908425345p-10", "0x1.c6ec6cc59e02ap-16", "0x1.afb74d693bf93p-23",
)
_F = _coefficients(
    "0x1.0000000000000p+0", "0x1.331d34fc7d77fp-1", "0x1.186eb183443fbp-3", "0x1.e76f93215462ap-7",
    "0x1.9c8bc979dc5d7p-11", "0x1.35c2c496374bfp-16", "0x1.31446f740b9e0p-23", "0x1.269bff1f8c190p-49",
)

# Float32: central numerator/denominator in 0.180625 - q**2, tail ones in r - 1.6; exact
# float32 values (the denominators' degree-4 coefficient is 0, for one Horner loop).
_CN32 = _coefficients("0x1.b18d92p+1", "0x1.d684e0p+5", "0x1.edfaccp+7", "0x1.5dc8a2p+7", "-0x1.a6a6f0p+4")
_CD32 = _coefficients("0x1p+0", "0x1.45e94ep+4", "0x1.c050b0p+6", "0x1.26ab70p+7", "0x0p+0")
_TN32 = _coefficients("0x1.6c6660p+0", "0x1.907478p+1", "0x1.fdb6ecp+0", "0x1.d1bcfap-2", "0x1.f0a164p-6")
_TD32 = _coefficients("0x1p+0", "0x1.ff0dc2p-1", "0x1.269de4p-2", "0x1.5f176ap-6", "0x0p+0")

# Float32, p in [0.02, 1/2] (|z| <= 2.0537, which covers Keras' truncation at 2 sigma): one
# rational of degree 5/4 in 0.25 - q**2, no logarithm; relative error 1.9e-8 before rounding.
_MN32 = _coefficients(
    "0x1.98040cp+2", "0x1.703444p+10", "0x1.822966p+15", "0x1.398d1ep+18", "0x1.0abf16p+18", "-0x1.40f44ep+15",
)
_MD32 = _coefficients("0x1p+0", "0x1.32f470p+8", "0x1.a9e228p+13", "0x1.f49b2ep+16", "0x1.ae84c4p+17")


def _make(ft, log_split, log_join, terms, iterations):
    A, B, C, D, E, F = (tuple(ft(c) for c in t) for t in (_A, _B, _C, _D, _E, _F))
    CN, CD, TN, TD = (tuple(ft(c) for c in t) for t in (_CN32, _CD32, _TN32, _TD32))
    S = tuple(ft(c) for c in series_coefficients(terms))
    half, one, two = ft(0.5), ft(1), ft(2)
    central_limit, central_r = ft(0.075), ft(0.180625)
    near_limit, near_shift, far_shift = ft(5), ft(1.6), ft(5)

    @inline_kernel
    def log(x):
        k, log_m = log_split(x)
        return log_join(k, log_m)

    @inline_kernel
    def upper_quantile_two_regions(p, L):
        q = p - half
        central = p >= central_limit
        s = central_r - q * q if central else np.sqrt(L) - near_shift
        num = CN[4] if central else TN[4]
        den = CD[4] if central else TD[4]
        for i in range(3, -1, -1):
            num = (CN[i] if central else TN[i]) + s * num
            den = (CD[i] if central else TD[i]) + s * den
        return num / den * (-q if central else one)

    @inline_kernel
    def upper_quantile(p, L):
        q = p - half
        r = np.sqrt(L)
        central = p >= central_limit
        near = r <= near_limit
        s = central_r - q * q if central else (r - near_shift if near else r - far_shift)
        num = A[7] if central else (C[7] if near else E[7])
        den = B[7] if central else (D[7] if near else F[7])
        for i in range(6, -1, -1):
            num = (A[i] if central else (C[i] if near else E[i])) + s * num
            den = (B[i] if central else (D[i] if near else F[i])) + s * den
        return num / den * (-q if central else one)

    @inline_kernel
    def series(x):
        w = one / (x * x)
        s = S[terms - 1]
        for i in range(terms - 2, -1, -1):
            s = S[i] + w * s
        return s

    @inline_kernel
    def root(g, alpha):
        # delta (2 alpha + delta) / 2 = g, without cancellation; 0 where alpha**2 overflows.
        return two * g / (alpha + np.sqrt(alpha * alpha + two * g))

    @inline_kernel
    def tail_offset(e, alpha, s_alpha):
        delta = root(e, alpha)
        for _ in range(iterations):
            delta = root(e - log(one + delta / alpha) + log(series(alpha + delta) / s_alpha), alpha)
        return delta

    return log, (upper_quantile_two_regions if ft is np.float32 else upper_quantile), tail_offset


log_f32_joined, upper_quantile_f32, tail_offset_f32 = _make(
    np.float32, log_f32, log_join_f32, SERIES_TERMS_F32, ITERATIONS_F32
)
log_f64_joined, upper_quantile_f64, tail_offset_f64 = _make(
    np.float64, log_f64, log_join_f64, SERIES_TERMS_F64, ITERATIONS_F64
)
_MN32_F = tuple(np.float32(c) for c in _MN32)
_MD32_F = tuple(np.float32(c) for c in _MD32)
_QUARTER_F32 = np.float32(0.25)
_HALF_F32 = np.float32(0.5)


@inline_kernel
def upper_quantile_central_f32(p):
    """Upper-tail quantile z with Q(z) = p for p in [CENTRAL_P_MIN, 1/2], float32, without a logarithm."""
    q = p - _HALF_F32
    s = _QUARTER_F32 - q * q
    num = _MN32_F[5]
    for i in range(4, -1, -1):
        num = _MN32_F[i] + s * num
    den = _MD32_F[4]
    for i in range(3, -1, -1):
        den = _MD32_F[i] + s * den
    return -q * num / den


upper_quantile_f32.__doc__ = "Upper-tail quantile z with Q(z) = p, given p and L = -log p (float32)."
upper_quantile_f64.__doc__ = "Upper-tail quantile z with Q(z) = p, given p and L = -log p (float64)."
