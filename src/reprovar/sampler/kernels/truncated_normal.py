"""Kernels for ``philox4x32-10/truncated-normal``: inversion of the normal's distribution function.

Three methods (chosen per variable by :func:`reprovar.distributions.truncated_normal.truncnorm_constants`):
the general inversion in log space, a central one without logarithms, and a far-tail one;
one value per 32-bit word (float32) or word pair (float64). Blocks and tasks are those of :mod:`.words`.
"""

from __future__ import annotations

import numpy as np
from numba import prange
from numba.extending import overload

from .._jit import JIT_POLICY, inline_kernel, kernel, parallel_kernel
from ..layout import BLOCKS_PER_TASK
from ..transforms.normal_quantile import (
    log_f32_joined,
    log_f64_joined,
    tail_offset_f32,
    tail_offset_f64,
    upper_quantile_central_f32,
    upper_quantile_f32,
    upper_quantile_f64,
)
from .words import clamp, open_units_f32, open_units_f64, task_overload

#: Counter word 3 of this algorithm's blocks (see ..layout).
KIND_TRUNCNORM_F32 = np.uint64(5)
KIND_TRUNCNORM_F64 = np.uint64(6)


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
    return clamp(loc + sc * (-z if lower else z), lo, hi)


@inline_kernel
def _truncnorm_icdf_f32(x, prm):
    u, v = open_units_f32(x)
    return _icdf(u, v, prm, log_f32_joined, upper_quantile_f32)


@inline_kernel
def _truncnorm_icdf_f64(x_hi, x_lo, prm):
    u, v = open_units_f64(x_hi, x_lo)
    return _icdf(u, v, prm, log_f64_joined, upper_quantile_f64)


@inline_kernel
def _truncnorm_central_f32(x, prm):
    # _icdf for intervals whose every p is >= CENTRAL_P_MIN: no logarithm, no square root.
    a_lo, b_lo, a_hi, b_hi, k, log_k, loc, sc, lo, hi = prm
    u, v = open_units_f32(x)
    t_lo = a_lo + u * b_lo
    t_hi = a_hi + v * b_hi
    lower = t_lo < t_hi
    z = upper_quantile_central_f32(k * (t_lo if lower else t_hi))
    return clamp(loc + sc * (-z if lower else z), lo, hi)


@inline_kernel
def _truncnorm_far_f32(x, prm):
    rho, c, alpha, s_alpha, bound, sc, lo, hi = prm
    u, v = open_units_f32(x)
    delta = tail_offset_f32(-log_f32_joined(rho + v * c), alpha, s_alpha)
    return clamp(bound + sc * delta, lo, hi)


@inline_kernel
def _truncnorm_far_f64(x_hi, x_lo, prm):
    rho, c, alpha, s_alpha, bound, sc, lo, hi = prm
    u, v = open_units_f64(x_hi, x_lo)
    delta = tail_offset_f64(-log_f64_joined(rho + v * c), alpha, s_alpha)
    return clamp(bound + sc * delta, lo, hi)


def _truncnorm_icdf_task(out, first_block, b0, b1, k0, k1, prm, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` with truncated normals by inversion."""
    raise NotImplementedError("only callable from compiled code")


def _truncnorm_central_task(out, first_block, b0, b1, k0, k1, prm, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` with truncated normals by inversion without logarithms."""
    raise NotImplementedError("only callable from compiled code")


def _truncnorm_far_task(out, first_block, b0, b1, k0, k1, prm, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` with truncated normals of a far interval."""
    raise NotImplementedError("only callable from compiled code")


overload(_truncnorm_icdf_task, jit_options=JIT_POLICY)(
    task_overload(_truncnorm_icdf_f32, _truncnorm_icdf_f64, KIND_TRUNCNORM_F32, KIND_TRUNCNORM_F64)
)
overload(_truncnorm_central_task, jit_options=JIT_POLICY)(
    # Float32 arithmetic only: a float64 computation always takes the general inversion.
    task_overload(_truncnorm_central_f32, _truncnorm_icdf_f64, KIND_TRUNCNORM_F32, KIND_TRUNCNORM_F64)
)
overload(_truncnorm_far_task, jit_options=JIT_POLICY)(
    task_overload(_truncnorm_far_f32, _truncnorm_far_f64, KIND_TRUNCNORM_F32, KIND_TRUNCNORM_F64)
)


# The top-level kernels: out is float64, float32, or uint16 holding float16 (bfloat=False)
# or bfloat16 (bfloat=True) bits, a whole number of blocks; its block 0 is stream block
# ``first_block``; ``prm`` is the variable's tuple of constants.


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
