"""Kernels that fill arrays with normal samples, block by block, serially or in parallel.

The block layout (:mod:`..layout`) is part of the algorithm; threads and tasks only choose
which blocks to compute, never what is in them.
"""

from __future__ import annotations

import numpy as np
from numba import prange, types
from numba.extending import overload

from .._jit import JIT_POLICY, inline_kernel, kernel, parallel_kernel
from ..bits.philox import philox4x32_lanes
from ..layout import BLOCK_F32, BLOCK_F64, BLOCKS_PER_TASK, LANES
from ..transforms.box_muller import normal_pair_f32, normal_pair_f64
from ..transforms.narrowing import float32_to_bfloat16_bits, float32_to_float16_bits


#: Counter word 3 of this algorithm's blocks (see ..layout): keeps the float32 and float64
#: streams of a seed apart, and apart from every other algorithm's.
KIND_F32 = np.uint64(1)
KIND_F64 = np.uint64(2)

_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


@inline_kernel
def _lane_buffers():
    return (
        np.empty(LANES, np.uint32),
        np.empty(LANES, np.uint32),
        np.empty(LANES, np.uint32),
        np.empty(LANES, np.uint32),
    )


@inline_kernel
def _four_normals_f32(j, mean, scale, x0, x1, x2, x3):
    # Lane j's four words make the elements at j, LANES + j, 2 LANES + j and 3 LANES + j.
    a, b = normal_pair_f32(x0[j], x1[j])
    c, d = normal_pair_f32(x2[j], x3[j])
    return mean + scale * a, mean + scale * b, mean + scale * c, mean + scale * d


@inline_kernel
def _block_f32(block, k0, k1, mean, scale, x0, x1, x2, x3, dst, bfloat):
    philox4x32_lanes(block & _LOW32, block >> _SHIFT32, KIND_F32, k0, k1, x0, x1, x2, x3)
    for j in range(LANES):
        a, b, c, d = _four_normals_f32(j, mean, scale, x0, x1, x2, x3)
        dst[j], dst[LANES + j], dst[2 * LANES + j], dst[3 * LANES + j] = a, b, c, d


@inline_kernel
def _block_half(block, k0, k1, mean, scale, x0, x1, x2, x3, dst, bfloat):
    # The float32 values are rounded as they are made: no float32 copy, not even of a block.
    # One loop per format, the choice outside: a branch inside would stop vectorization.
    philox4x32_lanes(block & _LOW32, block >> _SHIFT32, KIND_F32, k0, k1, x0, x1, x2, x3)
    if bfloat:
        for j in range(LANES):
            a, b, c, d = _four_normals_f32(j, mean, scale, x0, x1, x2, x3)
            dst[j] = float32_to_bfloat16_bits(a)
            dst[LANES + j] = float32_to_bfloat16_bits(b)
            dst[2 * LANES + j] = float32_to_bfloat16_bits(c)
            dst[3 * LANES + j] = float32_to_bfloat16_bits(d)
    else:
        for j in range(LANES):
            a, b, c, d = _four_normals_f32(j, mean, scale, x0, x1, x2, x3)
            dst[j] = float32_to_float16_bits(a)
            dst[LANES + j] = float32_to_float16_bits(b)
            dst[2 * LANES + j] = float32_to_float16_bits(c)
            dst[3 * LANES + j] = float32_to_float16_bits(d)


@inline_kernel
def _block_f64(block, k0, k1, mean, scale, x0, x1, x2, x3, dst, bfloat):
    philox4x32_lanes(block & _LOW32, block >> _SHIFT32, KIND_F64, k0, k1, x0, x1, x2, x3)
    for j in range(LANES):
        a, b = normal_pair_f64(x0[j], x1[j], x2[j], x3[j])
        dst[j] = mean + scale * a
        dst[LANES + j] = mean + scale * b


def _fill_task(out, first_block, b0, b1, k0, k1, mean, scale, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` (whose block 0 is stream block ``first_block``).

    Typed by ``out``: float64, float32, or uint16 holding float16 (``bfloat=False``) or
    bfloat16 (``bfloat=True``) bits; ``bfloat`` matters only for uint16. Implemented per
    type by the overload below.
    """
    raise NotImplementedError("only callable from compiled code")


def _whole_blocks(make_block, block_size):
    # The task body for one output type: ``make_block`` writes one block of ``block_size``.
    def fill(out, first_block, b0, b1, k0, k1, mean, scale, bfloat):
        x0, x1, x2, x3 = _lane_buffers()
        for b in range(b0, b1):
            dst = out[b * block_size : (b + 1) * block_size]
            make_block(first_block + np.uint64(b), k0, k1, mean, scale, x0, x1, x2, x3, dst, bfloat)

    return fill


@overload(_fill_task, jit_options=JIT_POLICY)
def _fill_task_impl(out, first_block, b0, b1, k0, k1, mean, scale, bfloat):
    if out.dtype == types.float64:
        return _whole_blocks(_block_f64, BLOCK_F64)
    if out.dtype == types.float32:
        return _whole_blocks(_block_f32, BLOCK_F32)
    if out.dtype == types.uint16:  # float16 or bfloat16 bits
        return _whole_blocks(_block_half, BLOCK_F32)
    return None


@kernel
def fill_blocks(out, first_block, n_blocks, k0, k1, mean, scale, bfloat):
    """Fill ``out`` (``n_blocks`` whole blocks) serially; see :func:`fill_blocks_parallel`."""
    _fill_task(out, first_block, 0, n_blocks, k0, k1, mean, scale, bfloat)


@parallel_kernel
def fill_blocks_parallel(out, first_block, n_blocks, k0, k1, mean, scale, bfloat):
    """Fill ``out`` (a whole number of blocks) with tasks of ``BLOCKS_PER_TASK`` blocks on all threads.

    ``out`` is a contiguous 1-D float64, float32 or uint16 (half-precision bits) array of
    ``n_blocks`` blocks; its block 0 is block ``first_block`` of the stream keyed by ``(k0, k1)``.
    """
    n_tasks = (n_blocks + BLOCKS_PER_TASK - 1) // BLOCKS_PER_TASK
    for t in prange(n_tasks):
        b0 = t * BLOCKS_PER_TASK
        b1 = min(n_blocks, b0 + BLOCKS_PER_TASK)
        _fill_task(out, first_block, b0, b1, k0, k1, mean, scale, bfloat)
