"""Kernels for ``philox4x32-10/uniform``: uniforms on [low, high), block by block, serially or in parallel.

Each value is made from one 32-bit word (float32 and the half precisions) or two (float64),
with the constants of :func:`reprovar.distributions.uniform.uniform_constants`; the blocks and
tasks are those of :mod:`.words`.
"""

from __future__ import annotations

import numpy as np
from numba import prange
from numba.extending import overload

from .._jit import JIT_POLICY, inline_kernel, kernel, parallel_kernel
from ..layout import BLOCKS_PER_TASK
from ..transforms.uniform import unit_f32, unit_f64
from .words import clamp, task_overload

#: Counter word 3 of this algorithm's blocks (see ..layout).
KIND_UNIFORM_F32 = np.uint64(3)
KIND_UNIFORM_F64 = np.uint64(4)

_TWO_F32 = np.float32(2)


@inline_kernel
def _uniform_f32(x, prm):
    # 2 (low/2 + u (high/2 - low/2)): the halves keep high - low from overflowing.
    h, w, lo, hi = prm
    return clamp((h + unit_f32(x) * w) * _TWO_F32, lo, hi)


@inline_kernel
def _uniform_f64(x_hi, x_lo, prm):
    h, w, lo, hi = prm
    return clamp((h + unit_f64(x_hi, x_lo) * w) * 2.0, lo, hi)


def _uniform_task(out, first_block, b0, b1, k0, k1, prm, bfloat):
    """Fill blocks ``[b0, b1)`` of ``out`` with uniforms (implemented per output type below)."""
    raise NotImplementedError("only callable from compiled code")


overload(_uniform_task, jit_options=JIT_POLICY)(
    task_overload(_uniform_f32, _uniform_f64, KIND_UNIFORM_F32, KIND_UNIFORM_F64)
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
