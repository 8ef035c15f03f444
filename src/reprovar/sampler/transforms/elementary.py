"""Logarithm and sine/cosine built from correctly rounded basic operations.

libm's ``log``/``sin``/``cos`` differ between platforms in the last bit and do not
vectorize; these use only +, -, *, / and bit manipulation, so on any IEEE-754 machine they
give the same bits, and LLVM turns them into packed AVX code. The ranges are exactly those
the Box-Muller transform needs (no special cases for 0, negatives, inf or NaN).

Coefficients are near-minimax fits made by ``tools/derive_polynomials.py`` and frozen here as
exact hex literals: the sampler's values depend on every bit of them, so they are never
edited, only superseded by a new algorithm version. Accuracy is within a few ulp over the
stated ranges (``tests/sampler/test_elementary.py`` measures it against ``math``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._jit import f32_bits, f32_from_bits, f64_bits, f64_from_bits, inline_kernel



def _coefficients(*hex_literals: str) -> tuple[float, ...]:
    return tuple(float.fromhex(h) for h in hex_literals)


# log(m) = 2 s P(s^2) with s = (m - 1) / (m + 1), |s| <= 0.1716.
# sin(f pi/4) = f S(f^2) and cos(f pi/4) = C(f^2) for f in [0, 1].
_LOG_F64 = _coefficients(
    "0x1.0000000000000p+0",
    "0x1.5555555555594p-2",
    "0x1.999999997f82bp-3",
    "0x1.249249422d9ddp-3",
    "0x1.c71c51e179a1ap-4",
    "0x1.746645c99a26dp-4",
    "0x1.39a121b17dfb7p-4",
    "0x1.2f0aae214549ep-4",
)  # max relative error 1.47e-18
_SIN_F64 = _coefficients(
    "0x1.921fb54442d18p-1",
    "-0x1.4abbce625be09p-4",
    "0x1.466bc67754fb3p-9",
    "-0x1.32d2ccdfe460cp-15",
    "0x1.50782d5a86f91p-22",
    "-0x1.e2fe730f4d310p-30",
    "0x1.e356a802efd92p-38",
)  # max relative error 3.9e-17
_COS_F64 = _coefficients(
    "0x1.0000000000000p+0",
    "-0x1.3bd3cc9be45dep-2",
    "0x1.03c1f081b5aaep-6",
    "-0x1.55d3c7e3c91e5p-12",
    "0x1.e1f506835afeap-19",
    "-0x1.a6d1ec755a8dbp-26",
    "0x1.f9cc3ab56f5a3p-34",
    "-0x1.b26223b5715b3p-42",
)  # max relative error 2.49e-17
_LOG_F32 = _coefficients(
    "0x1.0000000000000p+0",
    "0x1.55557a0000000p-2",
    "0x1.995e4c0000000p-3",
    "0x1.31ec500000000p-3",
)  # max relative error 1.12e-9
_SIN_F32 = _coefficients(
    "0x1.921fb60000000p-1",
    "-0x1.4abc1c0000000p-4",
    "0x1.468dfe0000000p-9",
    "-0x1.3e20180000000p-15",
    "0x1.e668220000000p-21",
)  # max relative error 2.78e-8
_COS_F32 = _coefficients(
    "0x1.0000000000000p+0",
    "-0x1.3bd3cc0000000p-2",
    "0x1.03c1de0000000p-6",
    "-0x1.55c5c60000000p-12",
    "0x1.d9cf320000000p-19",
)  # max relative error 1.1e-8

_LOG_F64 = tuple(np.float64(c) for c in _LOG_F64)
_SIN_F64 = tuple(np.float64(c) for c in _SIN_F64)
_COS_F64 = tuple(np.float64(c) for c in _COS_F64)
_LOG_F32 = tuple(np.float32(c) for c in _LOG_F32)  # exactly representable: fitted in float32
_SIN_F32 = tuple(np.float32(c) for c in _SIN_F32)
_COS_F32 = tuple(np.float32(c) for c in _COS_F32)

# ln 2 split so that k * hi is exact for the exponents k that occur (|k| < 2**7).
_LN2 = Fraction(float.fromhex("0x1.62e42fefa39efp-1"))  # the double nearest ln 2
_LN2_HI_F32 = np.float32(Fraction(round(_LN2 * 2**16), 2**16))
_LN2_LO_F32 = np.float32(_LN2 - Fraction(round(_LN2 * 2**16), 2**16))
_LN2_HI_F64 = np.float64(Fraction(round(_LN2 * 2**32), 2**32))
_LN2_LO_F64 = np.float64(_LN2 - Fraction(round(_LN2 * 2**32), 2**32))

# Mantissas are taken from [sqrt(1/2), sqrt(2)) so that |s| <= 0.172.
_SQRT_HALF_BITS_F32 = np.uint32(0x3F3504F3)
_ONE_BITS_F32 = np.uint32(0x3F800000)
_SQRT_HALF_BITS_F64 = np.uint64(0x3FE6A09E667F3BCD)
_ONE_BITS_F64 = np.uint64(0x3FF0000000000000)


@inline_kernel
def log_f32(x):
    """Natural log of a positive, finite, normal float32 ``x``, as ``(k, log(m))`` with log x = k ln2 + log m.

    Returned split so callers can fold the exponent into exact arithmetic; ``log_join_f32``
    adds the parts.
    """
    ix = np.uint32(f32_bits(x) + (_ONE_BITS_F32 - _SQRT_HALF_BITS_F32))
    k = np.float32(np.int32(ix >> np.uint32(23))) - np.float32(127)
    m = f32_from_bits(np.uint32((ix & np.uint32(0x007FFFFF)) + _SQRT_HALF_BITS_F32))
    f = m - np.float32(1)
    s = f / (np.float32(2) + f)
    z = s * s
    p = _LOG_F32[3]
    p = _LOG_F32[2] + z * p
    p = _LOG_F32[1] + z * p
    p = _LOG_F32[0] + z * p
    return k, np.float32(2) * s * p


@inline_kernel
def log_f64(x):
    """Natural log of a positive, finite, normal float64 ``x``, as ``(k, log(m))``; see :func:`log_f32`."""
    ix = f64_bits(x) + (_ONE_BITS_F64 - _SQRT_HALF_BITS_F64)
    k = np.float64(np.int32(ix >> np.uint64(52))) - np.float64(1023)  # via int32: packed conversion on AVX2
    m = f64_from_bits((ix & np.uint64(0x000FFFFFFFFFFFFF)) + _SQRT_HALF_BITS_F64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    p = _LOG_F64[7]
    for i in range(6, -1, -1):
        p = _LOG_F64[i] + z * p
    return k, 2.0 * s * p


@inline_kernel
def log_join_f32(k, log_m):
    """``k ln2 + log_m`` with ``k ln2`` carried in two parts."""
    return k * _LN2_HI_F32 + (k * _LN2_LO_F32 + log_m)


@inline_kernel
def log_join_f64(k, log_m):
    """``k ln2 + log_m`` with ``k ln2`` carried in two parts."""
    return k * _LN2_HI_F64 + (k * _LN2_LO_F64 + log_m)


@inline_kernel
def sincos_quarter_pi_f32(f):
    """``(sin(f pi/4), cos(f pi/4))`` in float32 for ``f`` in [0, 1]."""
    z = f * f
    s = _SIN_F32[4]
    for i in range(3, -1, -1):
        s = _SIN_F32[i] + z * s
    c = _COS_F32[4]
    for i in range(3, -1, -1):
        c = _COS_F32[i] + z * c
    return f * s, c


@inline_kernel
def sincos_quarter_pi_f64(f):
    """``(sin(f pi/4), cos(f pi/4))`` in float64 for ``f`` in [0, 1]."""
    z = f * f
    s = _SIN_F64[6]
    for i in range(5, -1, -1):
        s = _SIN_F64[i] + z * s
    c = _COS_F64[7]
    for i in range(6, -1, -1):
        c = _COS_F64[i] + z * c
    return f * s, c
