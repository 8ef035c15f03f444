"""Box-Muller: two uniform 32-bit words (float32) or two 64-bit pairs (float64) to two normals.

Each pair of normals uses a fixed number of bits, so element i is a pure function of the
bits drawn for it. The radius comes from ``u = (x + 1/2) / 2**b`` with every bit of ``x``
kept, so the smallest ``u`` is ``2**-(b+1)`` and the largest radius is
``sqrt(2 (b+1) ln 2)``: 6.76 sigma for float32 (b = 32), 9.49 sigma for float64 (b = 64).

The angle ``theta = 2 pi (y + 1/2) / 2**b`` is split by integer arithmetic: the top three
bits of ``y`` pick the octant, the rest a point inside it; odd octants are measured from
their far edge (exactly, by flipping bits), so sine and cosine are only ever evaluated on
[0, pi/4] and the 2**b angles stay exactly symmetric.
"""

from __future__ import annotations

import numpy as np

from .._jit import inline_kernel
from .elementary import (
    log_f32,
    log_f64,
    log_join_f32,
    log_join_f64,
    sincos_quarter_pi_f32,
    sincos_quarter_pi_f64,
)

_OCTANT_MASK = np.uint32(0x1FFFFFFF)  # the 29 bits below the octant
_ALL_ONES = np.uint32(0xFFFFFFFF)
_TWO_POW_M29_F32 = np.float32(2.0**-29)
_TWO_POW_M30_F32 = np.float32(2.0**-30)
_TWO_POW_M29 = 2.0**-29
_TWO_POW_M61 = 2.0**-61
_TWO_POW_32 = 4294967296.0


@inline_kernel
def _rotate(octant, s, c):
    # (cos, sin) of octant * pi/4 + phi, given sin and cos of the in-octant angle.
    odd = (octant & np.uint32(1)) != 0
    cos_t = s if odd else c
    sin_t = c if odd else s
    if (octant & np.uint32(2)) != 0:  # + pi/2
        cos_t, sin_t = -sin_t, cos_t
    if (octant & np.uint32(4)) != 0:  # + pi
        cos_t, sin_t = -cos_t, -sin_t
    return cos_t, sin_t


@inline_kernel
def normal_pair_f32(x, y):
    """Two standard normals in float32 from two uint32 words (``x``: radius, ``y``: angle).

    Example (inside a kernel):
        z0, z1 = normal_pair_f32(np.uint32(0), np.uint32(0))   # z0 = 6.76..., the largest radius
    """
    w = np.float32(x) + np.float32(0.5)  # u * 2**32, exactly for x < 2**23
    k, log_m = log_f32(w)
    r = np.sqrt(np.float32(-2) * log_join_f32(k - np.float32(32), log_m))
    octant = y >> np.uint32(29)
    flip = _OCTANT_MASK if (octant & np.uint32(1)) != 0 else np.uint32(0)
    f = np.float32((y & _OCTANT_MASK) ^ flip) * _TWO_POW_M29_F32 + _TWO_POW_M30_F32
    s, c = sincos_quarter_pi_f32(f)
    cos_t, sin_t = _rotate(octant, s, c)
    return r * cos_t, r * sin_t


@inline_kernel
def normal_pair_f64(x_hi, x_lo, y_hi, y_lo):
    """Two standard normals in float64 from four uint32 words (``x``: radius, ``y``: angle, 64 bits each)."""
    w = np.float64(x_hi) * _TWO_POW_32 + (np.float64(x_lo) + 0.5)  # one rounding
    k, log_m = log_f64(w)
    r = np.sqrt(-2.0 * log_join_f64(k - 64.0, log_m))
    octant = y_hi >> np.uint32(29)
    odd = (octant & np.uint32(1)) != 0
    hi = (y_hi & _OCTANT_MASK) ^ (_OCTANT_MASK if odd else np.uint32(0))
    lo = y_lo ^ (_ALL_ONES if odd else np.uint32(0))
    f = np.float64(hi) * _TWO_POW_M29 + (np.float64(lo) + 0.5) * _TWO_POW_M61  # one rounding
    s, c = sincos_quarter_pi_f64(f)
    cos_t, sin_t = _rotate(octant, s, c)
    return r * cos_t, r * sin_t
