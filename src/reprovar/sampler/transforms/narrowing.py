"""Correctly rounded float32 -> float16 and float32 -> bfloat16, as integer bit operations.

Round to nearest, ties to even, with overflow to infinity, gradual underflow to float16
subnormals and NaN kept quiet: the same results as numpy's and ml_dtypes' ``astype``
(tested against both), computed inside the kernels so no float32 copy of a
half-precision variable is ever allocated.
"""

from __future__ import annotations

import numpy as np

from .._jit import f32_bits, f32_from_bits, f32_to_f16_bits_hardware, inline_kernel, target_has_feature

_SIGN = np.uint32(0x80000000)
_F32_INF = np.uint32(0x7F800000)
_F16_OVERFLOW = np.uint32((127 + 16) << 23)  # 2**16: rounds to inf in float16
_F16_MIN_NORMAL = np.uint32((127 - 14) << 23)  # 2**-14
# Adding 0.5 (as float32) shifts a float16-subnormal magnitude so that float32's own
# rounding rounds it at float16's subnormal quantum; the low bits are then the result.
_SUBNORMAL_MAGIC = np.uint32((127 - 1) << 23)
_REBIAS = np.uint32(((15 - 127) << 23) & 0xFFFFFFFF)  # float32 -> float16 exponent bias, mod 2**32
_HALF_ULP_MINUS_ONE = np.uint32(0xFFF)


@inline_kernel
def float32_to_float16_bits_portable(x):
    """The IEEE binary16 bits (as uint16) nearest to float32 ``x``, ties to even."""
    # All three cases are computed and one is selected: branch-free, so the loop vectorizes.
    bits = f32_bits(x)
    sign = bits & _SIGN
    mag = np.uint32(bits ^ sign)
    odd = (mag >> np.uint32(13)) & np.uint32(1)
    normal = np.uint32(mag + _REBIAS + _HALF_ULP_MINUS_ONE + odd) >> np.uint32(13)
    subnormal = np.uint32(f32_bits(f32_from_bits(mag) + f32_from_bits(_SUBNORMAL_MAGIC)) - _SUBNORMAL_MAGIC)
    overflow = np.uint32(0x7E00) if mag > _F32_INF else np.uint32(0x7C00)  # NaN stays NaN, else inf
    out = subnormal if mag < _F16_MIN_NORMAL else normal
    out = overflow if mag >= _F16_OVERFLOW else out
    return np.uint16(out | (sign >> np.uint32(16)))


@inline_kernel
def _float32_to_float16_bits_f16c(x):
    return f32_to_f16_bits_hardware(x)


# The same bits either way (IEEE round to nearest even; tested against each other and numpy);
# F16C does it in one instruction where the target has it.
float32_to_float16_bits = (
    _float32_to_float16_bits_f16c if target_has_feature("f16c") else float32_to_float16_bits_portable
)


@inline_kernel
def float32_to_bfloat16_bits(x):
    """The bfloat16 bits (as uint16) nearest to float32 ``x``, ties to even."""
    bits = f32_bits(x)
    if (bits & np.uint32(0x7FFFFFFF)) > _F32_INF:
        return np.uint16((bits >> np.uint32(16)) | np.uint32(0x40))  # quiet NaN
    odd = (bits >> np.uint32(16)) & np.uint32(1)
    return np.uint16((bits + np.uint32(0x7FFF) + odd) >> np.uint32(16))
