"""Kernels for the uniform and truncated-normal algorithms, block by block, serially or in parallel.

The blocks, lanes and task split are those of :mod:`.kernels` (see :mod:`.layout`); each
distribution reads its own Philox counter kind. Every element is a function of its own
words and the variable's constants ``prm`` (a tuple of floats in the compute type, made by
:mod:`.distributions`), then clamped to the output format's own bounds ``prm[-2], prm[-1]``
(values of that format, so rounding to float16 or bfloat16 afterwards cannot leave them:
rounding is monotone and the bounds round to themselves).
"""

from __future__ import annotations

import numpy as np
from numba import prange, types
from numba.extending import overload

from ._jit import JIT_POLICY, inline_kernel, kernel, parallel_kernel
from .bits.philox import philox4x32_lanes
from .kernels import BLOCKS_PER_TASK
from .layout import (
    BLOCK_F32,
    BLOCK_F64,
    KIND_TRUNCNORM_F32,
    KIND_TRUNCNORM_F64,
    KIND_UNIFORM_F32,
    KIND_UNIFORM_F64,
    LANES,
)
from .transforms.narrowing import float32_to_bfloat16_bits, float32_to_float16_bits
from .transforms.normal_quantile import (
    log_f32_joined,
    log_f64_joined,
    tail_offset_f32,
    tail_offset_f64,
    upper_quantile_central_f32,
    upper_quantile_f32,
    upper_quantile_f64,
)
from .transforms.uniform import unit_f32, unit_f64

_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_ALL_ONES = np.uint32(0xFFFFFFFF)
_HALF_F32 = np.float32(0.5)
_TWO_F32 = np.float32(2)
_TWO_POW_M32_F32 = np.float32(2.0**-32)
_TWO_POW_32 = 4294967296.0
_TWO_POW_M64 = 2.0**-64


@inline_kernel
def _clamp(x, lo, hi):
    return min(max(x, lo), hi)


# --- per-element transforms: (words, constants) -> value in the compute type ----------------


@inline_kernel
def _uniform_f32(x, prm):
    # 2 (low/2 + u (high/2 - low/2)): the halves keep high - low from overflowing.
    h, w, lo, hi = prm
    return _clamp((h + unit_f32(x) * w) * _TWO_F32, lo, hi)


@inline_kernel
def _uniform_f64(x_hi, x_lo, prm):
    h, w, lo, hi = prm
    return _clamp((h + unit_f64(x_hi, x_lo) * w) * 2.0, lo, hi)


@inline_kernel
def _open_units_f32(x):
    # u = (x + 1/2) / 2**32 and 1 - u, both from the word (the complement), never 0.
    u = (np.float32(x) + _HALF_F32) * _TWO_POW_M32_F32
    v = (np.float32(x ^ _ALL_ONES) + _HALF_F32) * _TWO_POW_M32_F32
    return u, v


@inline_kernel
def _open_units_f64(x_hi, x_lo):
    u = (np.float64(x_hi) * _TWO_POW_32 + (np.float64(x_lo) + 0.5)) * _TWO_POW_M64
    v = (np.float64(x_hi ^ _ALL_ONES) * _TWO_POW_32 + (np.float64(x_lo ^ _ALL_ONES) + 0.5)) * _TWO_POW_M64
    return u, v


@inline_kernel
def _icdf(u, v, prm, log, upper_quantile):
    # The side of the interval each u falls on is inverted in its own tail: p is the
    # probability beyond z on that side, never 1 - (something near 1).
    a_lo, b_lo, a_hi, b_hi, k, log_k, loc, sc, lo, hi = prm
    t_lo = a_lo + u * b_lo
    t_hi = a_hi + v * b_hi
    lower = t_lo < t_hi
    t = t_lo if lower else t_hi
    z = upper_quantile(k * t, -(log_k + log(t)))
    return _clamp(loc + sc * (-z if lower else z), lo, hi)


@inline_kernel
def _truncnorm_icdf_f32(x, prm):
    u, v = _open_units_f32(x)
    return _icdf(u, v, prm, log_f32_joined, upper_quantile_f32)


@inline_kernel
def _truncnorm_icdf_f64(x_hi, x_lo, prm):
    u, v = _open_units_f64(x_hi, x_lo)
    return _icdf(u, v, prm, log_f64_joined, upper_quantile_f64)


@inline_kernel
def _truncnorm_central_f32(x, prm):
    # _icdf for intervals whose every p is >= CENTRAL_P_MIN: no logarithm, no square root.
    a_lo, b_lo, a_hi, b_hi, k, log_k, loc, sc, lo, hi = prm
    u, v = _open_units_f32(x)
    t_lo = a_lo + u * b_lo
    t_hi = a_hi + v * b_hi
    lower = t_lo < t_hi
    z = upper_quantile_central_f32(k * (t_lo if lower else t_hi))
    return _clamp(loc + sc * (-z if lower else z), lo, hi)


@inline_kernel
def _truncnorm_far_f32(x, prm):
    rho, c, alpha, s_alpha, bound, sc, lo, hi = prm
    u, v = _open_units_f32(x)
    delta = tail_offset_f32(-log_f32_joined(rho + v * c), alpha, s_alpha)
    return _clamp(bound + sc * delta, lo, hi)


@inline_kernel
def _truncnorm_far_f64(x_hi, x_lo, prm):
    rho, c, alpha, s_alpha, bound, sc, lo, hi = prm
    u, v = _open_units_f64(x_hi, x_lo)
    delta = tail_offset_f64(-log_f64_joined(rho + v * c), alpha, s_alpha)
    return _clamp(bound + sc * delta, lo, hi)


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


def _task_overload(element_f32, element_f64, kind_f32, kind_f64):
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


def _uniform_task(out, first_block, b0, b1, k0, k1, prm, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` with uniforms (implemented per output type below)."""
    raise NotImplementedError("only callable from compiled code")


def _truncnorm_icdf_task(out, first_block, b0, b1, k0, k1, prm, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` with truncated normals by inversion."""
    raise NotImplementedError("only callable from compiled code")


def _truncnorm_central_task(out, first_block, b0, b1, k0, k1, prm, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` with truncated normals by inversion without logarithms."""
    raise NotImplementedError("only callable from compiled code")


def _truncnorm_far_task(out, first_block, b0, b1, k0, k1, prm, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` with truncated normals of a far interval."""
    raise NotImplementedError("only callable from compiled code")


overload(_uniform_task, jit_options=JIT_POLICY)(
    _task_overload(_uniform_f32, _uniform_f64, KIND_UNIFORM_F32, KIND_UNIFORM_F64)
)
overload(_truncnorm_icdf_task, jit_options=JIT_POLICY)(
    _task_overload(_truncnorm_icdf_f32, _truncnorm_icdf_f64, KIND_TRUNCNORM_F32, KIND_TRUNCNORM_F64)
)
overload(_truncnorm_central_task, jit_options=JIT_POLICY)(
    # Float32 arithmetic only: a float64 computation always takes the general inversion.
    _task_overload(_truncnorm_central_f32, _truncnorm_icdf_f64, KIND_TRUNCNORM_F32, KIND_TRUNCNORM_F64)
)
overload(_truncnorm_far_task, jit_options=JIT_POLICY)(
    _task_overload(_truncnorm_far_f32, _truncnorm_far_f64, KIND_TRUNCNORM_F32, KIND_TRUNCNORM_F64)
)


# The top-level kernels: out is float64, float32, or uint16 holding float16 (bfloat=False)
# or bfloat16 (bfloat=True) bits, a whole number of blocks; its block 0 is stream block
# ``first_block``; ``prm`` is the variable's tuple of constants.


@kernel
def fill_uniform(out, first_block, n_blocks, k0, k1, prm, bfloat):
    """Fill ``out`` with uniforms serially."""
    _uniform_task(out, first_block, 0, n_blocks, k0, k1, prm, bfloat)


@parallel_kernel
def fill_uniform_parallel(out, first_block, n_blocks, k0, k1, prm, bfloat):
    """Fill ``out`` with uniforms, ``BLOCKS_PER_TASK`` blocks per task on all threads."""
    for t in prange((n_blocks + BLOCKS_PER_TASK - 1) // BLOCKS_PER_TASK):
        b0 = t * BLOCKS_PER_TASK
        _uniform_task(out, first_block, b0, min(n_blocks, b0 + BLOCKS_PER_TASK), k0, k1, prm, bfloat)


@kernel
def fill_truncnorm_icdf(out, first_block, n_blocks, k0, k1, prm, bfloat):
    """Fill ``out`` with truncated normals (inversion) serially."""
    _truncnorm_icdf_task(out, first_block, 0, n_blocks, k0, k1, prm, bfloat)


@parallel_kernel
def fill_truncnorm_icdf_parallel(out, first_block, n_blocks, k0, k1, prm, bfloat):
    """Fill ``out`` with truncated normals (inversion) on all threads."""
    for t in prange((n_blocks + BLOCKS_PER_TASK - 1) // BLOCKS_PER_TASK):
        b0 = t * BLOCKS_PER_TASK
        _truncnorm_icdf_task(out, first_block, b0, min(n_blocks, b0 + BLOCKS_PER_TASK), k0, k1, prm, bfloat)


@kernel
def fill_truncnorm_central(out, first_block, n_blocks, k0, k1, prm, bfloat):
    """Fill ``out`` with truncated normals (inversion without logarithms) serially."""
    _truncnorm_central_task(out, first_block, 0, n_blocks, k0, k1, prm, bfloat)


@parallel_kernel
def fill_truncnorm_central_parallel(out, first_block, n_blocks, k0, k1, prm, bfloat):
    """Fill ``out`` with truncated normals (inversion without logarithms) on all threads."""
    for t in prange((n_blocks + BLOCKS_PER_TASK - 1) // BLOCKS_PER_TASK):
        b0 = t * BLOCKS_PER_TASK
        _truncnorm_central_task(out, first_block, b0, min(n_blocks, b0 + BLOCKS_PER_TASK), k0, k1, prm, bfloat)


@kernel
def fill_truncnorm_far(out, first_block, n_blocks, k0, k1, prm, bfloat):
    """Fill ``out`` with truncated normals of a far interval serially."""
    _truncnorm_far_task(out, first_block, 0, n_blocks, k0, k1, prm, bfloat)


@parallel_kernel
def fill_truncnorm_far_parallel(out, first_block, n_blocks, k0, k1, prm, bfloat):
    """Fill ``out`` with truncated normals of a far interval on all threads."""
    for t in prange((n_blocks + BLOCKS_PER_TASK - 1) // BLOCKS_PER_TASK):
        b0 = t * BLOCKS_PER_TASK
        _truncnorm_far_task(out, first_block, b0, min(n_blocks, b0 + BLOCKS_PER_TASK), k0, k1, prm, bfloat)
