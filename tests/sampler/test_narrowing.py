"""float32 -> float16 / bfloat16 in the kernels equals numpy's and ml_dtypes' ``astype``, bit for bit.

The kernels narrow inside the block loop (no float32 copy of a half-precision variable),
so these integer bit tricks must round exactly as the references do: to nearest, ties to
even, overflow to infinity, gradual underflow to float16 subnormals, NaN stays NaN.
NaN payloads are the one place the references themselves disagree (numpy keeps payload
bits, ml_dtypes makes a canonical quiet NaN); there the test asks for a quiet NaN of the
same sign. The sampler never produces NaN, so this is only about not producing a number.
"""

from __future__ import annotations

import ml_dtypes
import numba
import numpy as np
import pytest

from reprovar.algorithms import DEFAULT_ALGORITHM
from reprovar.sampler.transforms.narrowing import (
    float32_to_bfloat16_bits,
    float32_to_float16_bits,
    float32_to_float16_bits_portable,
)

BF16 = np.dtype(ml_dtypes.bfloat16)

# Not cached on disk: these inline reprovar's kernels, and a cache keyed to this file would
# keep testing stale code after an edit of narrowing.py. Compiling takes a fraction of a second.


@numba.njit
def to_f16_bits(x):
    out = np.empty(x.size, np.uint16)
    for i in range(x.size):
        out[i] = float32_to_float16_bits(x[i])
    return out


@numba.njit
def to_f16_bits_portable(x):
    # The bit-manipulation version that targets without F16C use (the other one is then
    # one vcvtps2ph): both must equal the reference.
    out = np.empty(x.size, np.uint16)
    for i in range(x.size):
        out[i] = float32_to_float16_bits_portable(x[i])
    return out


@numba.njit
def to_bf16_bits(x):
    out = np.empty(x.size, np.uint16)
    for i in range(x.size):
        out[i] = float32_to_bfloat16_bits(x[i])
    return out


def f32(bits) -> np.ndarray:
    return np.asarray(bits, np.uint64).astype(np.uint32).view(np.float32)


def reference_bits(x: np.ndarray, dtype) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return x.astype(dtype).view(np.uint16)


def assert_same_bits(x: np.ndarray, dtype, ours: np.ndarray) -> None:
    """``ours`` equals ``x.astype(dtype)`` bit for bit, NaNs compared as quiet NaNs of the same sign."""
    ref = reference_bits(x, dtype)
    exp_mask, quiet = (0x7C00, 0x0200) if dtype == np.float16 else (0x7F80, 0x0040)
    ref_nan = ((ref & exp_mask) == exp_mask) & ((ref & (exp_mask ^ 0x7FFF)) != 0)
    our_nan = ((ours & exp_mask) == exp_mask) & ((ours & (exp_mask ^ 0x7FFF)) != 0)
    np.testing.assert_array_equal(our_nan, np.isnan(x))
    np.testing.assert_array_equal(ref_nan, np.isnan(x))
    assert np.all(ours[our_nan] & quiet), "a NaN must come out quiet"
    np.testing.assert_array_equal(ours[our_nan] >> 15, ref[ref_nan] >> 15)
    bad = np.flatnonzero((ours != ref) & ~our_nan)
    if bad.size:
        i = bad[:8]
        raise AssertionError(
            f"{bad.size} of {x.size} differ, e.g. x bits {[hex(b) for b in x[i].view(np.uint32)]}: "
            f"ours {[hex(b) for b in ours[i]]}, reference {[hex(b) for b in ref[i]]}"
        )


def check(x: np.ndarray) -> None:
    x = np.ascontiguousarray(x, np.float32)
    assert_same_bits(x, np.float16, to_f16_bits(x))
    assert_same_bits(x, np.float16, to_f16_bits_portable(x))
    assert_same_bits(x, BF16, to_bf16_bits(x))


def with_signs(bits) -> np.ndarray:
    bits = np.asarray(bits, np.uint64) & 0x7FFFFFFF
    return f32(np.concatenate([bits, bits | 0x80000000]))


# --- specials and boundaries --------------------------------------------------------------

F16_MAX = 65504.0
F16_MIN_NORMAL = 2.0**-14
F16_MIN_SUBNORMAL = 2.0**-24


def test_specials():
    nan_payloads = [0x7F800001, 0x7FC00000, 0x7FC00001, 0x7FBFFFFF, 0x7FFFFFFF, 0x7F802000, 0x7FFFE000]
    x = with_signs(
        [0, 0x7F800000, 0x7F7FFFFF, 1, 0x007FFFFF, 0x00800000]  # 0, inf, float32 max, subnormals, min normal
        + nan_payloads
    )
    check(x)
    # Spot values by meaning, not only by agreement with the references.
    assert to_f16_bits(f32([0x80000000]))[0] == 0x8000  # -0 keeps its sign
    assert to_f16_bits(np.array([np.inf], np.float32))[0] == 0x7C00
    assert to_bf16_bits(np.array([-np.inf], np.float32))[0] == 0xFF80


def test_float16_range_boundaries():
    values = np.array(
        [F16_MAX, 65519.0, 65520.0, 65536.0, F16_MIN_NORMAL, F16_MIN_SUBNORMAL,
         F16_MIN_NORMAL - F16_MIN_SUBNORMAL, F16_MIN_SUBNORMAL / 2, F16_MIN_SUBNORMAL * 1.5,
         2.0**-25, 2.0**-26, 2.0**-149, 1.0, 2.0, 0.5, 1.5 * 2.0**16, 2.0**17, 1.0e10],
        np.float32,
    )
    near = np.concatenate([values.view(np.uint32).astype(np.int64) + d for d in range(-3, 4)])
    x = with_signs(near)
    check(x)
    # The exact overflow boundary: 65520 (half-way to 2**16) rounds to inf, one float32 below does not.
    just_below = np.nextafter(np.float32(65520.0), np.float32(0))
    assert to_f16_bits(np.array([65520.0], np.float32))[0] == 0x7C00
    assert to_f16_bits(np.array([just_below], np.float32))[0] == 0x7BFF
    # Half the smallest subnormal ties to even (0); just above it rounds up to the subnormal.
    assert to_f16_bits(np.array([2.0**-25], np.float32))[0] == 0x0000
    assert to_f16_bits(np.array([np.nextafter(np.float32(2.0**-25), np.float32(1))], np.float32))[0] == 0x0001


@pytest.mark.parametrize("exponent", [-24, -20, -15, -14, -13, -1, 0, 1, 7, 14, 15])
def test_float16_ties_to_even(exponent):
    """Exact half-way cases between neighbouring float16 values, both parities, subnormal ties too."""
    step = 2.0 ** max(exponent - 10, -24)  # float16 spacing at 2**exponent
    base = 2.0**exponent
    ks = np.arange(0, 64)
    ties = (base + (ks + 0.5) * step).astype(np.float32)
    assert np.all(ties.astype(np.float64) == base + (ks + 0.5) * step), "ties must be exact in float32"
    x = np.concatenate([ties, np.nextafter(ties, np.float32(0)), np.nextafter(ties, np.float32(np.inf))])
    check(np.concatenate([x, -x]))
    got = to_f16_bits(ties).astype(np.int64)
    assert np.all(got % 2 == 0), "a tie must round to the even neighbour"


@pytest.mark.parametrize("exponent", [-126, -100, -1, 0, 1, 50, 127])
def test_bfloat16_ties_to_even(exponent):
    base = 2.0**exponent
    step = base * 2.0**-7
    ks = np.arange(0, 64)
    ties = (base + (ks + 0.5) * step).astype(np.float32)
    x = np.concatenate([ties, np.nextafter(ties, np.float32(0)), np.nextafter(ties, np.float32(np.inf))])
    check(np.concatenate([x, -x]))
    assert np.all(to_bf16_bits(ties) % 2 == 0)


# --- bulk -----------------------------------------------------------------------------------


def test_random_bit_patterns():
    """2**22 uniformly random float32 bit patterns: every exponent, NaNs and infinities included."""
    bits = np.random.default_rng(16).integers(0, 2**32, 2**22, dtype=np.uint64)
    check(f32(bits))


def test_every_exponent_of_float16_range_strided():
    """Each float32 binade from 2**-26 (rounds to 0) to 2**16 (overflows), a stride over mantissas.

    The stride is odd and each binade starts at a different offset, so every residue of the
    13 bits that float16 rounds away (and of bfloat16's 16) occurs in many binades.
    """
    stride = 61
    chunks = []
    for e in range(-26, 17):
        first = (e + 127) << 23
        chunks.append(np.arange(first + (e % stride), first + 2**23, stride, dtype=np.uint64))
        chunks.append(np.arange(first, first + 256, dtype=np.uint64))  # smallest mantissas
        chunks.append(np.arange(first + 2**23 - 256, first + 2**23, dtype=np.uint64))  # largest
    bits = np.concatenate(chunks)
    check(f32(bits))
    check(f32(bits | 0x80000000))


# --- end to end: a half-precision variable is its float32 variable, correctly rounded -----------------


@pytest.mark.parametrize(
    "mean, scale",
    [(0.0, 1.0), (-2.5, 0.1), (1.0e4, 2.0e4), (0.0, 1.0e-6), (3.0, 7.0e4)],
    ids=["standard", "narrow", "overflows-f16", "subnormal-f16", "mostly-inf-f16"],
)
@pytest.mark.parametrize("n", [100_003, 300_001], ids=["serial", "parallel"])
def test_half_variable_is_rounded_float32_variable(mean, scale, n):
    seed = 0x5EED_0000_0000_0001 + n
    x32 = DEFAULT_ALGORITHM.generate((n,), np.dtype(np.float32), seed=seed, mean=mean, scale=scale)
    for dtype in (np.dtype(np.float16), BF16):
        half = DEFAULT_ALGORITHM.generate((n,), dtype, seed=seed, mean=mean, scale=scale)
        assert half.dtype == dtype
        np.testing.assert_array_equal(half.view(np.uint16), reference_bits(x32, dtype))


def test_half_piece_is_rounded_float32_piece():
    """Piece-wise fill at an offset that is not a block boundary narrows the same way."""
    seed, start, n = 77, 1000, 5000
    x32 = np.empty(n, np.float32)
    DEFAULT_ALGORITHM.fill(x32, start, seed=seed, mean=0.25, scale=3.0)
    for dtype in (np.dtype(np.float16), BF16):
        piece = np.empty(n, dtype)
        DEFAULT_ALGORITHM.fill(piece, start, seed=seed, mean=0.25, scale=3.0)
        np.testing.assert_array_equal(piece.view(np.uint16), reference_bits(x32, dtype))
