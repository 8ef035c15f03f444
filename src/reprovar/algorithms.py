"""Named, versioned sampler algorithms: what a ledger row names and ``replay`` looks up.

An algorithm is a pure function (seed, element index, mean, scale, dtype) -> value. Its
name and version are recorded with every variable, and once released an algorithm's
values never change: a change of values is a new version, registered beside the old one
so that recorded variables replay bit for bit.

Example:
    >>> import numpy as np
    >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
    >>> x = alg.generate((2, 3), np.dtype("float64"), seed=5, mean=0.0, scale=1.0)
    >>> x.shape
    (2, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import layout
from .errors import ArgumentValueError, OutOfMemoryError, UnknownAlgorithmError

#: Below this many elements one thread fills the variable: loading and starting the
#: parallel kernel costs more than it saves (its values are the same either way).
PARALLEL_MIN_ELEMENTS = 1 << 17


@dataclass(frozen=True)
class PhiloxBoxMuller:
    """Philox4x32-10 bits, Box-Muller normals, block layout of :mod:`reprovar.layout`.

    Float32, float16 and bfloat16 values are computed in float32 arithmetic (half
    precisions are the correctly rounded float32 value); float64 values in float64.
    """

    name: str = "philox4x32-10/box-muller"
    version: int = 1

    def block_size(self, dtype: np.dtype) -> int:
        """Elements per block: the unit in which values are computed."""
        return layout.BLOCK_F64 if dtype == np.float64 else layout.BLOCK_F32

    def generate(self, shape: tuple[int, ...], dtype: np.dtype, *, seed: int, mean: float, scale: float) -> np.ndarray:
        """A new C-ordered array of ``shape`` and ``dtype`` (arguments already validated).

        Example:
            >>> import numpy as np
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
        self.fill(out.reshape(-1), 0, seed=seed, mean=mean, scale=scale)
        return out

    def fill(self, out: np.ndarray, start: int, *, seed: int, mean: float, scale: float) -> None:
        """Write elements ``[start, start + out.size)`` of the flat (C-order) variable into ``out``.

        Equal bit for bit to the same slice of the whole variable, for any ``start``; this
        is how a variable can be made in pieces (on several workers, say).

        Example:
            >>> import numpy as np
            >>> alg = get_algorithm("philox4x32-10/box-muller", 1)
            >>> whole = alg.generate((10,), np.dtype("float32"), seed=3, mean=0.0, scale=1.0)
            >>> piece = np.empty(4, np.float32)
            >>> alg.fill(piece, 5, seed=3, mean=0.0, scale=1.0)
            >>> bool((piece == whole[5:9]).all())
            True
        """
        if out.ndim != 1 or not out.flags.c_contiguous or not out.flags.writeable:
            raise ArgumentValueError("out must be a writeable, C-contiguous 1-D array")
        if start < 0:
            raise ArgumentValueError(f"start must be >= 0, got {start}")
        dtype = out.dtype
        target, m, s = self._kernel_view(out, mean, scale)
        key0, key1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
        block = self.block_size(dtype)
        end = start + out.size
        if -(-end // block) > 2**64:
            raise ArgumentValueError(f"start + size = {end} lies beyond the stream's 2**64 blocks")

        def run(dst, first_block, n_blocks):
            self._run(dst, first_block, n_blocks, key0, key1, m, s, dtype)

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

    @staticmethod
    def _kernel_view(out: np.ndarray, mean: float, scale: float):
        # Half precisions are written as their bits; the kernels compute them in float32.
        if out.dtype == np.float64:
            return out, np.float64(mean), np.float64(scale)
        if out.dtype == np.float32:
            return out, np.float32(mean), np.float32(scale)
        if out.dtype.name in ("float16", "bfloat16"):
            return out.view(np.uint16), np.float32(mean), np.float32(scale)
        raise ArgumentValueError(f"out.dtype={out.dtype} is not supported")

    @staticmethod
    def _run(target, first_block, n_blocks, key0, key1, mean, scale, dtype):
        from . import kernels  # loads Numba: deferred so that `import reprovar` (and the CLI) stays light
        from ._jit import parallel_allowed

        bfloat = dtype.name == "bfloat16"
        # A child forked after the parent's threads started runs serially: the same bits.
        parallel = target.size >= PARALLEL_MIN_ELEMENTS and parallel_allowed()
        fill = kernels.fill_blocks_parallel if parallel else kernels.fill_blocks
        fill(target, np.uint64(first_block), n_blocks, key0, key1, mean, scale, bfloat)


_REGISTRY = {(a.name, a.version): a for a in (PhiloxBoxMuller(),)}

#: The algorithm new variables are made with.
DEFAULT_ALGORITHM = _REGISTRY[("philox4x32-10/box-muller", 1)]


def get_algorithm(name: str, version: int):
    """The registered algorithm ``name`` at ``version``.

    Example:
        >>> get_algorithm("philox4x32-10/box-muller", 1).version
        1
    """
    try:
        return _REGISTRY[(name, version)]
    except KeyError:
        known = ", ".join(f"{n} v{v}" for n, v in registered_algorithms())
        raise UnknownAlgorithmError(
            f"no sampler algorithm {name!r} version {version}; this reprovar knows: {known}"
        ) from None


def registered_algorithms() -> list[tuple[str, int]]:
    """(name, version) of every algorithm this reprovar can replay.

    Example:
        >>> registered_algorithms()
        [('philox4x32-10/box-muller', 1)]
    """
    return sorted(_REGISTRY)
