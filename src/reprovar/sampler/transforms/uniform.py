"""Uniform variates on [0, 1) from Philox words: 24 random bits per float32, 53 per float64.

``u = k / 2**24`` (float32) or ``k / 2**53`` (float64) with ``k`` the top bits of the words:
every value is exact (no rounding), so the 2**24 or 2**53 values are equally likely and
``u < 1`` always.
"""

from __future__ import annotations

import numpy as np

from .._jit import inline_kernel

_TWO_POW_M24_F32 = np.float32(2.0**-24)
_TWO_POW_26 = 67108864.0
_TWO_POW_M53 = 2.0**-53


@inline_kernel
def unit_f32(x):
    """``(x >> 8) / 2**24`` as float32, for a uint32 word ``x``: in [0, 1), exactly."""
    return np.float32(x >> np.uint32(8)) * _TWO_POW_M24_F32


@inline_kernel
def unit_f64(hi, lo):
    """``((hi >> 5) 2**26 + (lo >> 6)) / 2**53`` as float64, for uint32 words: in [0, 1), exactly."""
    return (np.float64(hi >> np.uint32(5)) * _TWO_POW_26 + np.float64(lo >> np.uint32(6))) * _TWO_POW_M53
