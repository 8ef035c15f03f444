"""The Box-Muller transform at its extreme inputs: how far the tails reach, and no NaN anywhere.

The radius is ``sqrt(-2 ln u)`` with ``u = (x + 1/2) / 2**b``, so the largest |z| comes from
radius word(s) ``x = 0`` (``u_min = 2**-(b+1)``) at an angle on an axis:
``sqrt(66 ln 2) = 6.7637`` in float32 (b = 32) and ``sqrt(130 ln 2) = 9.4926`` in float64
(b = 64). The tests below require at least 6.6 and 9.4. For comparison (not tested here):
TensorFlow's float32 ``random.normal`` stops near 5.7 sigma and ``torch.randn`` near 5.8 sigma,
because their uniform u has only about 24 bits. Note that only ``x = 0`` clears 6.6 in float32
(``x = 1`` gives 6.5993) and only ``x = 0`` clears 9.4 in float64 (9.3761 for ``x = 1``).

Angle words nearest the axes, from the octant logic of ``box_muller.py`` (top three bits
pick the octant; odd octants are measured back from their far edge, so their all-ones
in-octant words are the ones next to the following axis). In-octant ``f`` is then
``2**-30`` (float32) or ``2**-62`` (float64), where the polynomial cosine is exactly 1, so
the on-axis output equals the radius exactly, with sign:

==========  ==============  ==========================  =========
theta       float32 ``y``   float64 ``(y_hi, y_lo)``    output
==========  ==============  ==========================  =========
0+          0x00000000      (0x00000000, 0x00000000)    z0 = +r
pi/2-       0x3FFFFFFF      (0x3FFFFFFF, 0xFFFFFFFF)    z1 = +r
pi/2+       0x40000000      (0x40000000, 0x00000000)    z1 = +r
pi-         0x7FFFFFFF      (0x7FFFFFFF, 0xFFFFFFFF)    z0 = -r
pi+         0x80000000      (0x80000000, 0x00000000)    z0 = -r
3pi/2-      0xBFFFFFFF      (0xBFFFFFFF, 0xFFFFFFFF)    z1 = -r
3pi/2+      0xC0000000      (0xC0000000, 0x00000000)    z1 = -r
2pi-        0xFFFFFFFF      (0xFFFFFFFF, 0xFFFFFFFF)    z0 = +r
==========  ==============  ==========================  =========
"""

from __future__ import annotations

import math

import mpmath
import numba
import numpy as np
import pytest

from reprovar.sampler.transforms.box_muller import normal_pair_f32, normal_pair_f64

# Not cached on disk: these inline reprovar's transform, and a cache keyed to this file
# would keep testing stale code after an edit of box_muller.py or elementary.py.


@numba.njit
def pair32(x, y):
    return normal_pair_f32(np.uint32(x), np.uint32(y))


@numba.njit
def pair64(x_hi, x_lo, y_hi, y_lo):
    return normal_pair_f64(np.uint32(x_hi), np.uint32(x_lo), np.uint32(y_hi), np.uint32(y_lo))


@numba.njit
def radii32(xs):
    """The radius for each radius word: z0 at angle word 0, where cos is exactly 1."""
    out = np.empty(xs.size, np.float32)
    for i in range(xs.size):
        out[i] = normal_pair_f32(np.uint32(xs[i]), np.uint32(0))[0]
    return out


@numba.njit
def radii32_range(n):
    out = np.empty(n, np.float32)
    for i in range(n):
        out[i] = normal_pair_f32(np.uint32(i), np.uint32(0))[0]
    return out


@numba.njit
def radii64(x_hi, x_lo):
    out = np.empty(x_hi.size, np.float64)
    for i in range(x_hi.size):
        out[i] = normal_pair_f64(np.uint32(x_hi[i]), np.uint32(x_lo[i]), np.uint32(0), np.uint32(0))[0]
    return out


AXES_F32 = [  # (angle word, output index, sign)
    (0x00000000, 0, +1), (0x3FFFFFFF, 1, +1), (0x40000000, 1, +1), (0x7FFFFFFF, 0, -1),
    (0x80000000, 0, -1), (0xBFFFFFFF, 1, -1), (0xC0000000, 1, -1), (0xFFFFFFFF, 0, +1),
]
AXES_F64 = [  # ((y_hi, y_lo), output index, sign)
    ((y, 0xFFFFFFFF if y & 0x20000000 else 0), i, s) for y, i, s in AXES_F32
]

mpmath.mp.dps = 40
R_MAX_F32 = mpmath.sqrt(66 * mpmath.log(2))  # -2 ln 2**-33
R_MAX_F64 = mpmath.sqrt(130 * mpmath.log(2))  # -2 ln 2**-65


def ulps(value, exact, mantissa_bits):
    return float(abs(mpmath.mpf(float(value)) - exact) / mpmath.ldexp(1, mpmath.frexp(exact)[1] - mantissa_bits))


@pytest.mark.parametrize("y, index, sign", AXES_F32, ids=[f"{y:#010x}" for y, _, _ in AXES_F32])
def test_float32_tail_reaches_6_6_sigma_on_every_axis(y, index, sign):
    z = pair32(0, y)
    assert np.all(np.isfinite(z))
    assert sign * z[index] >= 6.6, f"float32 tail stops at {z[index]!r}"
    assert ulps(sign * z[index], R_MAX_F32, 24) <= 1.0, f"{z[index]!r} vs {R_MAX_F32}"
    assert abs(z[1 - index]) < 1e-7  # the other output is r sin(2**-30 pi/4), tiny


@pytest.mark.parametrize("y, index, sign", AXES_F64, ids=[f"{y[0]:#010x}" for y, _, _ in AXES_F64])
def test_float64_tail_reaches_9_4_sigma_on_every_axis(y, index, sign):
    z = pair64(0, 0, *y)
    assert np.all(np.isfinite(z))
    assert sign * z[index] >= 9.4, f"float64 tail stops at {z[index]!r}"
    assert ulps(sign * z[index], R_MAX_F64, 53) <= 1.0, f"{z[index]!r} vs {R_MAX_F64}"
    assert abs(z[1 - index]) < 1e-17


def test_float32_small_radius_words_follow_the_analytic_tail():
    """x = 0 .. 2**16: radius equals sqrt(-2 ln((x + 1/2) / 2**32)) within 1.5 ulp (exact w here)."""
    xs = np.arange(2**16, dtype=np.uint64)
    r = radii32(xs)
    exact = np.sqrt(-2 * (np.log(xs + 0.5) - 32 * math.log(2)))  # float64: exact for float32 ulps
    err = np.abs(r - exact) / np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert err.max() <= 1.5, f"{err.max():.3f} ulp at x={int(np.argmax(err))}"


def test_float64_small_radius_words_follow_the_analytic_tail():
    lo = np.concatenate([np.arange(512), np.arange(512) * 9973 + 512]).astype(np.uint64)
    hi = np.concatenate([np.zeros(1024), np.arange(1, 1025)]).astype(np.uint64)
    x_hi, x_lo = np.concatenate([np.zeros(1024, np.uint64), hi]), np.concatenate([lo, lo])
    r = radii64(x_hi, x_lo)
    for rv, h, l in zip(r, x_hi, x_lo):
        u = (mpmath.mpf(int(h)) * 2**32 + int(l) + mpmath.mpf(0.5)) / mpmath.mpf(2) ** 64
        exact = mpmath.sqrt(-2 * mpmath.log(u))
        assert ulps(rv, exact, 53) <= 1.5, f"x=({h}, {l}): {rv!r} vs {exact}"


def test_largest_radius_words_give_tiny_finite_radii():
    """u -> 1: radius 0 at the very top (u rounds to 1), tiny just below; never NaN or inf."""
    top = np.arange(2**32 - 4096, 2**32, dtype=np.uint64)
    r = radii32(top)
    assert np.all(np.isfinite(r)) and np.all(r >= 0) and r.max() < 2e-3
    assert r[-1] == 0.0  # x = 2**32 - 1: w rounds to 2**32 in float32, ln u = 0
    for y in (0, 0x3FFFFFFF, 0x9ABCDEF0, 0xFFFFFFFF):
        z = pair32(0xFFFFFFFF, y)
        assert np.all(np.isfinite(z)) and z[0] == 0 and z[1] == 0

    lo = np.arange(2**32 - 65536, 2**32, 7, dtype=np.uint64)
    r = radii64(np.full(lo.size, 0xFFFFFFFF, np.uint64), lo)
    assert np.all(np.isfinite(r)) and np.all(r >= 0) and r.max() < 1e-4
    assert r[-1] == 0.0
    z = pair64(0xFFFFFFFF, 0xFFFFFFFF, 0x12345678, 0x9ABCDEF0)
    assert np.all(np.isfinite(z)) and z[0] == 0 and z[1] == 0


def test_float32_radius_sweep_is_finite_and_monotone():
    """All 2**16 high halves of the radius word (low half 0 and 0xFFFF), and every word below 2**24.

    Radii must be finite, non-negative and non-increasing in the word: a larger u never
    gives a larger radius, across binade edges and the sqrt(1/2) switch of the log's
    mantissa range included.
    """
    high = np.arange(2**16, dtype=np.uint64) << np.uint64(16)
    xs = np.sort(np.concatenate([high, high | np.uint64(0xFFFF)]))
    for r in (radii32(xs), radii32_range(2**24)):
        assert np.all(np.isfinite(r)) and np.all(r >= 0)
        rises = np.flatnonzero(np.diff(r) > 0)
        assert rises.size == 0, f"radius rises after word {rises[:5]}: {r[rises[:5]]} -> {r[rises[:5] + 1]}"


def test_float64_radius_sweep_is_finite_and_monotone():
    """All 2**16 high halves of the high radius word, with low words 0 and all ones."""
    hi = np.repeat(np.arange(2**16, dtype=np.uint64) << np.uint64(16), 3)
    hi[2::3] |= np.uint64(0xFFFF)
    lo = np.tile(np.array([0, 0xFFFFFFFF, 0xFFFFFFFF], np.uint64), 2**16)
    r = radii64(hi, lo)
    assert np.all(np.isfinite(r)) and np.all(r >= 0)
    rises = np.flatnonzero(np.diff(r) > 0)
    assert rises.size == 0, f"radius rises after sweep point {rises[:5]}"
