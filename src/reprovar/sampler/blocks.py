"""Filling any slice of a variable from whole blocks and partial ones: what every elementwise
Philox algorithm shares (see :mod:`.layout` for the blocks).

A distribution's algorithm (in :mod:`reprovar.distributions`) subclasses :class:`BlockAlgorithm`
and says only how one run of whole blocks is made (``_runner``): its constants and its kernel.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentValueError, OutOfMemoryError
from . import layout
from .formats import FORMATS, dtype_name

#: Below this many elements one thread fills the variable: loading and starting the
#: parallel kernel costs more than it saves (its values are the same either way).
PARALLEL_MIN_ELEMENTS = 1 << 17

# Threads: the parallel kernel runs only where the calling thread may use more than one
# Numba thread (``numba.get_num_threads()``, a per-thread setting). Code that brings its own
# parallelism, such as a Dask task, calls ``numba.set_num_threads(1)`` and so gets the serial
# kernel: no Numba pool under each of its threads, and no concurrent launches of one pool.


def parallel(target: np.ndarray) -> bool:
    # Large outputs on all threads; a child forked after the parent's threads started runs
    # serially, and so does a thread allowed one Numba thread: the same bits either way.
    if target.size < PARALLEL_MIN_ELEMENTS:  # first: the pieces of a region are many and small
        return False
    from numba import get_num_threads

    from ._jit import parallel_allowed

    return parallel_allowed() and get_num_threads() > 1


def check_out(out: np.ndarray, start: int) -> None:
    # What fill() and a filler's fill need of their output, checked before anything is written.
    if out.ndim != 1 or not out.flags.c_contiguous or not out.flags.writeable:
        raise ArgumentValueError("out must be a writeable, C-contiguous 1-D array")
    if not out.dtype.isnative:  # the kernels write this machine's byte order
        raise ArgumentValueError(
            f"out must be in this machine's byte order, got dtype {out.dtype.str!r}; "
            "accepted: native float64, float32, float16 or bfloat16"
        )
    if start < 0:
        raise ArgumentValueError(f"start must be >= 0, got {start}")


def check_format(dtype: np.dtype, param: str) -> None:
    if dtype_name(dtype) not in FORMATS:
        raise ArgumentValueError(f"{param}={dtype} is not supported; accepted: {', '.join(FORMATS)}")


class BlockAlgorithm:
    """What every Philox block algorithm shares: allocation, and filling any slice of the
    flat variable from whole blocks (made straight into the output) and partial ones (made in
    scratch, then copied). Subclasses say how one run of whole blocks is made."""

    name: str
    version: int
    distribution: str
    #: Every element is made on its own: any piece can be made (``fill``).
    elementwise = True

    def block_size(self, dtype: np.dtype) -> int:
        """Elements per block: the unit in which values are computed."""
        return layout.BLOCK_F64 if dtype == np.float64 else layout.BLOCK_F32

    def generate(self, shape: tuple[int, ...], dtype: np.dtype, *, seed: int, **params) -> np.ndarray:
        """A new C-ordered array of ``shape`` and ``dtype`` (arguments already validated).

        Example:
            >>> import numpy as np
            >>> from reprovar.distributions import get_algorithm
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> alg.generate((3,), np.dtype("float32"), seed=1, mean=0.0, scale=1.0).dtype
            dtype('float32')
        """
        try:
            out = np.empty(shape, dtype)
        except MemoryError:
            nbytes = math.prod(shape) * dtype.itemsize
            raise OutOfMemoryError(
                f"could not allocate {nbytes} bytes for shape={shape} dtype={dtype.name}"
            ) from None
        self.fill(out.reshape(-1), 0, seed=seed, **params)
        return out

    def fill(self, out: np.ndarray, start: int, *, seed: int, **params) -> None:
        """Write elements ``[start, start + out.size)`` of the flat (C-order) variable into ``out``.

        Equal bit for bit to the same slice of the whole variable, for any ``start``; this
        is how a variable can be made in pieces (on several workers, say).

        Example:
            >>> import numpy as np
            >>> from reprovar.distributions import get_algorithm
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> whole = alg.generate((10,), np.dtype("float32"), seed=3, mean=0.0, scale=1.0)
            >>> piece = np.empty(4, np.float32)
            >>> alg.fill(piece, 5, seed=3, mean=0.0, scale=1.0)
            >>> bool((piece == whole[5:9]).all())
            True
        """
        check_out(out, start)
        check_format(out.dtype, "out.dtype")
        self._fill_blocks(out, start, seed, self._runner(out.dtype, params))

    def filler(self, dtype: np.dtype, *, seed: int, **params):
        """``fill(out, start)``, equal to :meth:`fill` with these arguments for ``out`` of
        ``dtype``, with the per-call set-up (the parameters' constants) done once: for
        making many pieces of one variable, such as the rows of a column chunk.

        Example:
            >>> import numpy as np
            >>> from reprovar.distributions import get_algorithm
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> fill = alg.filler(np.dtype("float32"), seed=3, mean=0.0, scale=1.0)
            >>> a, b = np.empty(4, np.float32), np.empty(4, np.float32)
            >>> fill(a, 5); alg.fill(b, 5, seed=3, mean=0.0, scale=1.0)
            >>> bool((a == b).all())
            True
        """
        dtype = np.dtype(dtype)
        check_format(dtype, "dtype")
        plan = self._runner(dtype, params)

        def fill(out: np.ndarray, start: int) -> None:
            if out.dtype != dtype:
                raise ArgumentValueError(f"out must be a {dtype} array (this filler's dtype), got {out.dtype}")
            check_out(out, start)
            self._fill_blocks(out, start, seed, plan)

        return fill

    def make_into(self, out: np.ndarray, *, seed: int, **params) -> None:
        """Write the whole variable of ``out.shape`` and ``out.dtype`` into ``out`` (C-contiguous).

        Example:
            >>> import numpy as np
            >>> from reprovar.distributions import get_algorithm
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> out = np.empty((2, 2), np.float32)
            >>> alg.make_into(out, seed=3, mean=0.0, scale=1.0)
            >>> bool((out == alg.generate((2, 2), np.dtype("float32"), seed=3, mean=0.0, scale=1.0)).all())
            True
        """
        self.fill(out.reshape(-1), 0, seed=seed, **params)

    def _fill_blocks(self, out: np.ndarray, start: int, seed: int, plan) -> None:
        # plan: (block size, run(dst, first_block, n_blocks, key0, key1)); half precisions are
        # written as their bits (uint16), the kernels compute them in float32 or float64.
        block, run_blocks = plan
        # Of the formats fill() accepts, the half precisions are the 2-byte ones (numpy
        # computes dtype.name in Python: costly for the many small pieces of a region).
        target = out.view(np.uint16) if out.dtype.itemsize == 2 else out
        key0, key1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
        end = start + out.size
        if -(-end // block) > 2**64:
            raise ArgumentValueError(f"start + size = {end} lies beyond the stream's 2**64 blocks")

        def run(dst, first_block, n_blocks):
            run_blocks(dst, first_block, n_blocks, key0, key1)

        def part(lo, hi):  # [lo, hi) within one block: make the block in scratch, copy the part
            b = lo // block
            scratch = np.empty(block, target.dtype)
            run(scratch, b, 1)
            target[lo - start : hi - start] = scratch[lo - b * block : hi - b * block]

        inner_lo, inner_hi = -(-start // block), end // block  # the whole blocks inside [start, end)
        if inner_lo > inner_hi:  # start and end fall in the same block
            part(start, end)
            return
        if start < inner_lo * block:
            part(start, inner_lo * block)
        if inner_lo < inner_hi:  # the bulk goes straight into `out`
            run(target[inner_lo * block - start : inner_hi * block - start], inner_lo, inner_hi - inner_lo)
        if inner_hi * block < end:
            part(inner_hi * block, end)

    def _runner(self, dtype: np.dtype, params: dict):
        raise NotImplementedError
