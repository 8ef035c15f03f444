"""What the kernels of one value per Philox word (or word pair) share: blocks, tasks, clamping.

The blocks, lanes and task split are those of :mod:`.normal` (see :mod:`..layout`); each
distribution reads its own Philox counter kind. Every element is a function of its own
words and the variable's constants ``prm`` (a tuple of floats in the compute type, made by
the distribution's module in :mod:`reprovar.distributions`), then clamped to the output
format's own bounds ``prm[-2], prm[-1]`` (values of that format, so rounding to float16 or
bfloat16 afterwards cannot leave them: rounding is monotone and the bounds round to themselves).

A distribution's kernel file defines its per-element transforms ``(words, prm) -> value``
and registers its task with :func:`task_overload`.
"""

from __future__ import annotations

import numpy as np
from numba import types

from .._jit import inline_kernel
from ..bits.philox import philox4x32_lanes
from ..layout import BLOCK_F32, BLOCK_F64, LANES
from ..transforms.narrowing import float32_to_bfloat16_bits, float32_to_float16_bits

_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_ALL_ONES = np.uint32(0xFFFFFFFF)
_HALF_F32 = np.float32(0.5)
_TWO_POW_M32_F32 = np.float32(2.0**-32)
_TWO_POW_32 = 4294967296.0
_TWO_POW_M64 = 2.0**-64


@inline_kernel
def clamp(x, lo, hi):
    return min(max(x, lo), hi)


@inline_kernel
def open_units_f32(x):
    # u = (x + 1/2) / 2**32 and 1 - u, both from the word (the complement), never 0.
    u = (np.float32(x) + _HALF_F32) * _TWO_POW_M32_F32
    v = (np.float32(x ^ _ALL_ONES) + _HALF_F32) * _TWO_POW_M32_F32
    return u, v


@inline_kernel
def open_units_f64(x_hi, x_lo):
    u = (np.float64(x_hi) * _TWO_POW_32 + (np.float64(x_lo) + 0.5)) * _TWO_POW_M64
    v = (np.float64(x_hi ^ _ALL_ONES) * _TWO_POW_32 + (np.float64(x_lo ^ _ALL_ONES) + 0.5)) * _TWO_POW_M64
    return u, v


# --- blocks and tasks ---------------------------------------------------------------------


@inline_kernel
def _identity(x):
    return x


def _block_f32(element, kind, store):
    # Lane j's four words make the elements at j, LANES + j, 2 LANES + j and 3 LANES + j.
    @inline_kernel
    def block(b, k0, k1, prm, x0, x1, x2, x3, dst):
        philox4x32_lanes(b & _LOW32, b >> _SHIFT32, kind, k0, k1, x0, x1, x2, x3)
        for j in range(LANES):
            dst[j] = store(element(x0[j], prm))
            dst[LANES + j] = store(element(x1[j], prm))
            dst[2 * LANES + j] = store(element(x2[j], prm))
            dst[3 * LANES + j] = store(element(x3[j], prm))

    return block


def _block_f64(element, kind):
    # Lane j's words 0-1 make the element at j, words 2-3 the one at LANES + j.
    @inline_kernel
    def block(b, k0, k1, prm, x0, x1, x2, x3, dst):
        philox4x32_lanes(b & _LOW32, b >> _SHIFT32, kind, k0, k1, x0, x1, x2, x3)
        words = (x0, x1, x2, x3)
        for h in range(2):
            hi, lo = words[2 * h], words[2 * h + 1]
            part = dst[h * LANES : (h + 1) * LANES]
            for j in range(LANES):
                part[j] = element(hi[j], lo[j], prm)

    return block


def _whole_blocks(make_block, block_size):
    def fill(out, first_block, b0, b1, k0, k1, prm, bfloat):
        x0 = np.empty(LANES, np.uint32)
        x1 = np.empty(LANES, np.uint32)
        x2 = np.empty(LANES, np.uint32)
        x3 = np.empty(LANES, np.uint32)
        for b in range(b0, b1):
            make_block(first_block + np.uint64(b), k0, k1, prm, x0, x1, x2, x3,
                       out[b * block_size : (b + 1) * block_size])

    return fill


def _half_blocks(f16_block, bf16_block):
    # One loop per format, the choice outside: a branch inside would stop vectorization.
    def fill(out, first_block, b0, b1, k0, k1, prm, bfloat):
        x0 = np.empty(LANES, np.uint32)
        x1 = np.empty(LANES, np.uint32)
        x2 = np.empty(LANES, np.uint32)
        x3 = np.empty(LANES, np.uint32)
        if bfloat:
            for b in range(b0, b1):
                bf16_block(first_block + np.uint64(b), k0, k1, prm, x0, x1, x2, x3,
                           out[b * BLOCK_F32 : (b + 1) * BLOCK_F32])
        else:
            for b in range(b0, b1):
                f16_block(first_block + np.uint64(b), k0, k1, prm, x0, x1, x2, x3,
                          out[b * BLOCK_F32 : (b + 1) * BLOCK_F32])

    return fill


def task_overload(element_f32, element_f64, kind_f32, kind_f64):
    f32 = _whole_blocks(_block_f32(element_f32, kind_f32, _identity), BLOCK_F32)
    f64 = _whole_blocks(_block_f64(element_f64, kind_f64), BLOCK_F64)
    half = _half_blocks(
        _block_f32(element_f32, kind_f32, float32_to_float16_bits),
        _block_f32(element_f32, kind_f32, float32_to_bfloat16_bits),
    )

    def impl(out, first_block, b0, b1, k0, k1, prm, bfloat):
        if out.dtype == types.float64:
            return f64
        if out.dtype == types.float32:
            return f32
        if out.dtype == types.uint16:  # float16 or bfloat16 bits
            return half
        return None

    return impl
