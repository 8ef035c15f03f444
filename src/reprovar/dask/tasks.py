"""What runs inside Dask tasks: a chunk from its global index ranges, digests of whole leaves.

Everything a task needs travels in a small :class:`VariableSpec` (algorithm name and
version, shape, dtype, seed, parameters); the algorithm itself is looked up on the worker,
so tasks are tiny to send and their results depend on nothing but their arguments. A task
that is run again (a worker died, a result was lost) returns the same bytes.

Threads: each task runs the algorithm's serial kernel (``numba.set_num_threads(1)`` for its
duration, see :mod:`reprovar.algorithms`); the parallelism is Dask's, one task per worker
thread. So Numba never starts a pool under each Dask thread, and the total number of busy
threads is the cluster's own.

Example:
    >>> import numpy as np
    >>> spec = VariableSpec("philox4x32-10/box-muller", 1, (4, 6), "float32", 3, (("mean", 0.0), ("scale", 1.0)))
    >>> make_chunk(spec, ((1, 3), (2, 5))).shape
    (2, 3)
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..ledger import digest as digests
from ..sampler.region import make_region


@dataclass(frozen=True)
class VariableSpec:
    """Everything that determines a variable's values, small enough to send with every task.

    Example:
        >>> spec = VariableSpec("philox4x32-10/box-muller", 1, (3,), "float64", 1, (("mean", 0.0), ("scale", 2.0)))
        >>> spec.size, spec.nbytes, spec.params
        (3, 24, {'mean': 0.0, 'scale': 2.0})
    """

    algorithm: str
    algorithm_version: int
    shape: tuple[int, ...]
    dtype: str
    seed: int
    param_items: tuple[tuple[str, float], ...]

    @property
    def params(self) -> dict[str, float]:
        return dict(self.param_items)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.numpy_dtype().itemsize

    def numpy_dtype(self) -> np.dtype:
        from ..validation import resolve_dtype

        return resolve_dtype(self.dtype)

    def implementation(self):
        """The registered algorithm (raises :class:`~reprovar.errors.UnknownAlgorithmError`)."""
        from ..distributions import get_algorithm

        return get_algorithm(self.algorithm, self.algorithm_version)


def spec_of_record(record) -> VariableSpec:
    """What a ledger row says about its values; raises if this reprovar lacks its algorithm.

    Example:
        >>> import reprovar, reprovar.dask, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> v = reprovar.random_normal_variable((2,), 1.0, 2.0, name="w", seed=5, ledger=led)
        >>> spec_of_record(v.record).params
        {'mean': 1.0, 'scale': 2.0}
    """
    from ..distributions import get_algorithm
    from ..errors import ArgumentValueError

    if record.recipe is not None:
        raise ArgumentValueError(
            f"{record.name!r} version {record.version} has a recipe (a model's constant, tie or "
            "partial writes): it is made in memory (reprovar.replay), not as a Dask array"
        )
    if not get_algorithm(record.algorithm, record.algorithm_version).elementwise:
        raise ArgumentValueError(
            f"{record.name!r} version {record.version} is made by {record.algorithm}, whose values "
            "depend on the whole matrix: it is made in memory (reprovar.replay), not as a Dask array"
        )
    params = record.params
    return VariableSpec(
        record.algorithm, int(record.algorithm_version), tuple(record.shape), record.dtype,
        int(record.seed), tuple(params.items()),
    )


@contextmanager
def serial_kernels() -> Iterator[None]:
    """Run the algorithm's serial kernel in this thread for the duration (see the module doc).

    Example:
        >>> import numba
        >>> with serial_kernels():
        ...     numba.get_num_threads()
        1
    """
    import numba

    before = numba.get_num_threads()
    if before == 1:
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def make_chunk(spec: VariableSpec, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The chunk of ``spec``'s variable at the global index ``ranges`` (one ``(lo, hi)`` per dimension)."""
    with serial_kernels():
        return make_region(spec.implementation(), spec.shape, ranges, spec.numpy_dtype(), seed=spec.seed, **spec.params)


def make_block(spec: VariableSpec, slices: tuple[slice, ...]) -> np.ndarray:
    """The chunk of ``spec``'s variable at ``slices`` (one ``slice(lo, hi)`` per dimension): what
    a block of the variable's Dask array runs, handed its place in the array by Dask.

    Example:
        >>> spec = VariableSpec("philox4x32-10/box-muller", 1, (4, 6), "float32", 3, (("mean", 0.0), ("scale", 1.0)))
        >>> bool((make_block(spec, (slice(1, 3), slice(2, 5))) == make_chunk(spec, ((1, 3), (2, 5)))).all())
        True
    """
    return make_chunk(spec, tuple((s.start, s.stop) for s in slices))


def leaf_digests(spec: VariableSpec, first: int, stop: int) -> bytes:
    """The digests of leaves ``[first, stop)`` of ``spec``'s variable, concatenated (16 bytes each).

    Each leaf is generated into one reused buffer and hashed at once: memory stays at one
    leaf, whatever the number of leaves.

    Example:
        >>> spec = VariableSpec("philox4x32-10/box-muller", 1, (5,), "float32", 3, (("mean", 0.0), ("scale", 1.0)))
        >>> len(leaf_digests(spec, 0, 1))
        16
    """
    algorithm, dtype, params = spec.implementation(), spec.numpy_dtype(), spec.params
    per_leaf = digests.LEAF_BYTES // dtype.itemsize
    size = spec.size
    buffer = np.empty(min(per_leaf, size), dtype)
    out = bytearray()
    with serial_kernels():
        for leaf in range(first, stop):
            lo = leaf * per_leaf
            piece = buffer[: max(0, min(size, lo + per_leaf) - lo)]
            if piece.size:
                algorithm.fill(piece, lo, seed=spec.seed, **params)
            out += digests.leaf_digest(piece.view(np.uint8))
    return bytes(out)
