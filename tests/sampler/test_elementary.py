"""Accuracy of the polynomial ``log`` and ``sincos`` that Box-Muller is built on, in ulps.

Ranges are those Box-Muller feeds: ``log`` of ``w`` in [0.5, 2**32] (float32) or
[0.5, 2**64] (float64), and also of ``u = w / 2**b`` as Box-Muller forms it
(``log_join(k - b, log_m)``); ``sincos_quarter_pi`` of ``f`` in [0, 1].

References: float32 results against float64 ``libm`` (whose error, below 2**-52 relative,
is 2**-29 of a float32 ulp: exact for this purpose), computed inside compiled loops so that
every float32 mantissa can be visited; float64 results against mpmath at 40 digits.
An ulp is that of the exact result's binade (subnormal quantum below the normal range).

Each bound below is the measured maximum rounded up to the next quarter ulp (log: to 3).
"""

from __future__ import annotations

import math

import mpmath
import numba
import numpy as np
import pytest

from reprovar.sampler._jit import f32_from_bits
from reprovar.sampler.transforms.elementary import (
    log_f32,
    log_f64,
    log_join_f32,
    log_join_f64,
    sincos_quarter_pi_f32,
    sincos_quarter_pi_f64,
)

# The wrappers are compiled without an on-disk cache on purpose: they inline reprovar's
# kernels, and a cache keyed to this file alone would keep testing stale machine code after
# an edit of elementary.py. Each compiles in well under a second.

# Measured maxima: float32 over every float of the range (a one-off exhaustive run; the tests
# visit every mantissa of [0.5, 2) and strides elsewhere), float64 over the inputs below.
ULP_LOG_F32 = 3.0  # log(w): 2.845 at w = 1.1317979; log(u = w / 2**32): 2.523
ULP_SIN_F32 = 1.75  # 1.600 at f = 0.0049727447
ULP_COS_F32 = 1.5  # 1.254 at f = 0.99749237
ULP_LOG_F64 = 3.0  # log(w): 2.694 at w = 1.2812591170937646; log(u = w / 2**64): 1.91
ULP_SIN_F64 = 1.5  # 1.330 at f = 0.017740227302713407
ULP_COS_F64 = 1.25  # 1.106 at f = 0.9571357699877335


def f32_bits_of(v: float) -> int:
    return int(np.float32(v).view(np.uint32))


@numba.njit
def _ulp32(t):
    _, e = math.frexp(t)
    return math.ldexp(1.0, max(e - 24, -149))


@numba.njit
def _ulp_error32(y, ref):
    if ref == 0.0:
        return 0.0 if y == 0 else np.inf
    return abs(np.float64(y) - ref) / _ulp32(ref)


@numba.njit
def log32_max_error(lo_bits, hi_bits, stride, shift):
    """Worst ulp error of ``log_join_f32(k - shift, log_m)`` vs ln(x 2**-shift) over x's bits."""
    worst, arg = 0.0, np.float32(0)
    for b in range(lo_bits, hi_bits + 1, stride):
        x = f32_from_bits(np.uint32(b))
        k, log_m = log_f32(x)
        y = log_join_f32(k - np.float32(shift), log_m)
        e = _ulp_error32(y, np.log(np.float64(x)) - shift * math.log(2.0))
        if not e <= worst:  # NaN counts as worst
            worst, arg = e, x
    return worst, arg


@numba.njit
def log32_mantissa_max_error(lo_bits, hi_bits, stride):
    """Worst ulp error of the mantissa part ``log_m`` alone (and k must be exact)."""
    worst, arg = 0.0, np.float32(0)
    for b in range(lo_bits, hi_bits + 1, stride):
        x = f32_from_bits(np.uint32(b))
        k, log_m = log_f32(x)
        m = np.float64(x) / math.ldexp(1.0, int(k))
        if not (math.sqrt(0.5) * (1 - 2**-23) <= m < math.sqrt(2.0)) or k != math.floor(k):
            return np.inf, x
        e = _ulp_error32(log_m, np.log(m))
        if not e <= worst:
            worst, arg = e, x
    return worst, arg


@numba.njit
def sincos32_max_error(lo_bits, hi_bits, stride):
    """Worst ulp errors of sin and cos of f pi/4 over float32 bit patterns of f."""
    ws, fs, wc, fc = 0.0, np.float32(0), 0.0, np.float32(0)
    for b in range(lo_bits, hi_bits + 1, stride):
        f = f32_from_bits(np.uint32(b))
        s, c = sincos_quarter_pi_f32(f)
        a = np.float64(f) * (np.pi / 4)  # exact enough: relative error 2**-53
        es = _ulp_error32(s, np.sin(a))
        ec = _ulp_error32(c, np.cos(a))
        if not es <= ws:
            ws, fs = es, f
        if not ec <= wc:
            wc, fc = ec, f
    return ws, fs, wc, fc


@numba.njit
def log64_many(x, shift):
    out = np.empty(x.size, np.float64)
    parts = np.empty((x.size, 2), np.float64)
    for i in range(x.size):
        k, log_m = log_f64(x[i])
        parts[i, 0], parts[i, 1] = k, log_m
        out[i] = log_join_f64(k - shift, log_m)
    return out, parts


@numba.njit
def sincos64_many(f):
    s = np.empty(f.size, np.float64)
    c = np.empty(f.size, np.float64)
    for i in range(f.size):
        s[i], c[i] = sincos_quarter_pi_f64(f[i])
    return s, c


@numba.njit
def sincos32_one(f):
    return sincos_quarter_pi_f32(f)


def ulp_errors64(values: np.ndarray, exact: list) -> np.ndarray:
    """Errors of float64 ``values`` in ulps of the mpmath ``exact`` results."""
    errs = np.empty(len(values))
    for i, (v, t) in enumerate(zip(values, exact)):
        if t == 0:
            errs[i] = 0.0 if v == 0 else np.inf
            continue
        ulp = mpmath.ldexp(1, max(mpmath.frexp(t)[1] - 53, -1074))
        errs[i] = float(abs(mpmath.mpf(float(v)) - t) / ulp)
    return errs


def dense_around(points, n=64, dtype=np.float64):
    """``n`` consecutive floats on each side of every point."""
    out = []
    for p in np.asarray(points, dtype):
        up, down = [p], [p]
        for _ in range(n):
            up.append(np.nextafter(up[-1], dtype(np.inf)))
            down.append(np.nextafter(down[-1], dtype(0)))
        out += up + down
    return np.array(out, dtype)


# --- float32 log --------------------------------------------------------------------------


def test_log_f32_every_mantissa():
    """All 2**24 floats of [0.5, 2): every mantissa path of log_f32, k = -1 and 0."""
    worst, arg = log32_max_error(f32_bits_of(0.5), f32_bits_of(2.0) - 1, 1, 0)
    assert worst <= ULP_LOG_F32, f"log_f32 error {worst:.3f} ulp at {arg!r}"
    worst_m, arg_m = log32_mantissa_max_error(f32_bits_of(0.5), f32_bits_of(2.0) - 1, 1)
    assert worst_m <= ULP_LOG_F32, f"log_m error {worst_m:.3f} ulp at {arg_m!r}"


@pytest.mark.parametrize("shift", [0, 32], ids=["log(w)", "log(u=w/2**32)"])
def test_log_f32_whole_range(shift):
    """Every binade of [0.5, 2**32], strided over mantissas, as log(w) and as Box-Muller's log(u)."""
    lo, hi = f32_bits_of(0.5), f32_bits_of(2.0**32)
    worst, arg = log32_max_error(lo, hi, 13, shift)  # 13 is odd: all low-bit residues occur
    assert worst <= ULP_LOG_F32, f"error {worst:.3f} ulp at {arg!r}"
    # The binade edges and the sqrt(1/2) switch of the mantissa range, 64 floats either side.
    edges = [2.0**e for e in range(-1, 33)] + [math.sqrt(0.5) * 2.0**e for e in range(0, 33)]
    for x in dense_around(edges, 64, np.float32):
        if 0.5 <= x <= 2.0**32:
            b = int(x.view(np.uint32))
            w, a = log32_max_error(b, b, 1, shift)
            assert w <= ULP_LOG_F32, f"error {w:.3f} ulp at {a!r}"


def test_log_f32_box_muller_endpoints():
    """u = 1 gives exactly 0 (radius 0, not NaN); u_min = 2**-33 gives -33 ln 2."""
    lo = f32_bits_of(2.0**32)
    worst, _ = log32_max_error(lo, lo, 1, 32)
    assert worst == 0.0
    b = f32_bits_of(0.5)
    worst, _ = log32_max_error(b, b, 1, 32)
    assert worst <= 1.0


# --- float32 sin and cos ------------------------------------------------------------------


def test_sincos_f32_upper_binades_exhaustive():
    """Every float32 f in [2**-3, 1]: where sin and cos vary most."""
    ws, fs, wc, fc = sincos32_max_error(f32_bits_of(0.125), f32_bits_of(1.0), 1)
    assert ws <= ULP_SIN_F32, f"sin error {ws:.3f} ulp at f={fs!r}"
    assert wc <= ULP_COS_F32, f"cos error {wc:.3f} ulp at f={fc!r}"


def test_sincos_f32_whole_range():
    """[0, 1] strided over all bit patterns (subnormal f included), and the exact ends."""
    ws, fs, wc, fc = sincos32_max_error(0, f32_bits_of(1.0), 31)
    assert ws <= ULP_SIN_F32, f"sin error {ws:.3f} ulp at f={fs!r}"
    assert wc <= ULP_COS_F32, f"cos error {wc:.3f} ulp at f={fc!r}"
    s0, c0 = sincos32_one(np.float32(0))
    assert s0 == 0 and c0 == 1
    # Box-Muller's smallest in-octant angle, f = 2**-30: cos rounds to exactly 1.
    s, c = sincos32_one(np.float32(2.0**-30))
    assert c == 1 and abs(float(s) - math.sin(2.0**-30 * math.pi / 4)) <= 0.5 * 2.0**-54


def test_sincos_f32_octant_boundary_continuity():
    """At f = 1 (angle pi/4) sine and cosine meet: the octant switch leaves at most a 1-ulp step."""
    s, c = sincos32_one(np.float32(1.0))
    assert abs(float(s) - float(c)) <= float(np.spacing(np.float32(math.sqrt(0.5))))


# --- float64, against mpmath --------------------------------------------------------------

mpmath.mp.dps = 40


def log64_inputs():
    rng = np.random.default_rng(20261129)
    specials = [0.5, 1.0, 1.5, 2.0, 2.0**64, math.sqrt(0.5), math.sqrt(2.0), 0.5 + 2**-53]
    specials += [2.0**e for e in range(-1, 65)] + [math.sqrt(0.5) * 2.0**e for e in range(0, 65)]
    x = np.concatenate([
        rng.uniform(0.5, 2.0, 4000),  # every mantissa region, k = -1 and 0
        np.exp2(rng.uniform(-1.0, 64.0, 4000)),  # all binades of Box-Muller's w
        np.arange(4000, dtype=np.float64) + 0.5,  # the exact small w of small radius words
        dense_around([1.0, math.sqrt(0.5), math.sqrt(2.0), 0.5, 2.0**64], 256),
        dense_around(specials, 2),
    ])
    return x[(x >= 0.5) & (x <= 2.0**64)]


@pytest.mark.parametrize("shift", [0, 64], ids=["log(w)", "log(u=w/2**64)"])
def test_log_f64(shift):
    x = log64_inputs()
    y, parts = log64_many(x, float(shift))
    exact = [mpmath.log(mpmath.mpf(float(v))) - shift * mpmath.log(2) for v in x]
    errs = ulp_errors64(y, exact)
    i = int(np.argmax(errs))
    assert errs[i] <= ULP_LOG_F64, f"log_f64 error {errs[i]:.3f} ulp at {x[i]!r}"
    # The split is exact in k: x / 2**k lies in [sqrt(1/2), sqrt(2)).
    m = x / np.exp2(parts[:, 0])
    assert np.all(parts[:, 0] == np.round(parts[:, 0]))
    assert np.all((m >= math.sqrt(0.5) * (1 - 2**-52)) & (m < math.sqrt(2.0)))


def test_log_f64_box_muller_endpoints():
    y, _ = log64_many(np.array([2.0**64, 0.5]), 64.0)
    assert y[0] == 0.0
    assert abs(y[1] - float(-65 * mpmath.log(2))) <= abs(np.spacing(y[1]))


def sincos64_inputs():
    rng = np.random.default_rng(4)
    return np.concatenate([
        rng.uniform(0.0, 1.0, 6000),
        np.exp2(rng.uniform(-62.0, 0.0, 2000)),  # Box-Muller's f starts at 2**-62
        dense_around([1.0, 0.5, 0.25, 2.0**-62], 256),
        [0.0],
    ])


def test_sincos_f64():
    f = sincos64_inputs()
    f = f[(f >= 0) & (f <= 1)]
    s, c = sincos64_many(f)
    quarter_pi = mpmath.pi / 4
    es = ulp_errors64(s, [mpmath.sin(mpmath.mpf(float(v)) * quarter_pi) for v in f])
    ec = ulp_errors64(c, [mpmath.cos(mpmath.mpf(float(v)) * quarter_pi) for v in f])
    i, j = int(np.argmax(es)), int(np.argmax(ec))
    assert es[i] <= ULP_SIN_F64, f"sin error {es[i]:.3f} ulp at f={f[i]!r}"
    assert ec[j] <= ULP_COS_F64, f"cos error {ec[j]:.3f} ulp at f={f[j]!r}"
    s1, c1 = sincos64_many(np.array([1.0, 0.0]))
    assert abs(s1[0] - c1[0]) <= np.spacing(math.sqrt(0.5))
    assert s1[1] == 0.0 and c1[1] == 1.0
