"""Dask graphs of a variable: a Blockwise layer of its chunks, and one task per group of digest leaves.

The chunks are one Blockwise layer, so Dask's optimizer fuses it with the blockwise
operations that follow: ``v.array.sum()`` or ``v.array * 2`` runs one task per chunk that
makes the chunk and reduces (or transforms) it at once, keyed by the last fused operation,
and no whole chunk waits in memory for a second task. Computed alone, the array runs one
task per chunk, keyed by the array's own keys.

Keys are named after what they make (``reprovar-chunk-<token>``, ``reprovar-digest-<token>``),
and the token covers everything that determines the values, so two graphs of the same
variable and chunking share their keys and Dask computes them once.

Example:
    >>> from reprovar.dask.tasks import VariableSpec
    >>> spec = VariableSpec("philox4x32-10/box-muller", 1, (10, 4), "float32", 1, (("mean", 0.0), ("scale", 1.0)))
    >>> chunk_array(spec, ((3, 7), (4,))).chunks
    ((3, 7), (4,))
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentTypeError, ArgumentValueError
from ..ledger import digest as digests
from .tasks import VariableSpec, leaf_digests, make_block

CHUNK_PREFIX = "reprovar-chunk"
DIGEST_PREFIX = "reprovar-digest"
#: Leaves hashed by one digest task at most (32 MiB of values): few enough tasks for a
#: 100 GB variable, and small variables still spread over several tasks.
MAX_LEAVES_PER_TASK = 8
#: A variable of at most this many leaves gets one task per leaf.
_SPREAD_LEAVES = 16


def normalize_chunks(chunks, spec: VariableSpec) -> tuple[tuple[int, ...], ...]:
    """Dask's chunk sizes for ``chunks`` (``"auto"``, ints, tuples, irregular tuples, dicts).

    Example:
        >>> from reprovar.dask.tasks import VariableSpec
        >>> spec = VariableSpec("philox4x32-10/box-muller", 1, (5, 4), "float32", 1, ())
        >>> normalize_chunks((2, -1), spec)
        ((2, 2, 1), (4,))
    """
    from dask.array.core import normalize_chunks as dask_normalize

    if chunks is None:
        raise ArgumentTypeError("chunks must be 'auto' or a Dask chunks specification, got None")
    try:
        return dask_normalize(chunks, spec.shape, dtype=spec.numpy_dtype())
    except (ValueError, TypeError) as e:
        raise ArgumentValueError(
            f"chunks={chunks!r} is not a Dask chunks specification for shape={spec.shape}: {e}"
        ) from None


def regular_chunks(chunks: tuple[tuple[int, ...], ...], shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Chunks Zarr accepts: in each dimension one size (the largest given), the last chunk shorter.

    Example:
        >>> regular_chunks(((3, 5, 2), (4,)), (10, 4))
        ((5, 5), (4,))
    """
    out = []
    for sizes, n in zip(chunks, shape):
        size = max(max(sizes, default=0), 1)
        full, rest = divmod(n, size)
        out.append((size,) * full + ((rest,) if rest else ()) or (0,))
    return tuple(out)


def chunk_array(spec: VariableSpec, chunks: tuple[tuple[int, ...], ...]):
    """A ``dask.array.Array`` of ``spec``'s variable with the given (normalized) chunks.

    Its graph is one Blockwise layer: each block runs :func:`~reprovar.dask.tasks.make_block`
    with ``spec`` and its own slices of the array, so blockwise operations that follow
    (elementwise arithmetic, the per-chunk step of ``.sum()`` or ``.mean()``) fuse with it
    into one task per chunk.

    Example:
        >>> from reprovar.dask.tasks import VariableSpec
        >>> spec = VariableSpec("philox4x32-10/box-muller", 1, (5,), "float32", 1, (("mean", 0.0), ("scale", 1.0)))
        >>> a = chunk_array(spec, ((2, 3),))
        >>> a.name.startswith("reprovar-chunk-"), a.__dask_keys__() == chunk_array(spec, ((2, 3),)).__dask_keys__()
        (True, True)
        >>> type(a.dask.layers[a.name]).__name__
        'Blockwise'
    """
    import dask.array as da
    from dask.base import tokenize
    from dask.layers import ArraySliceDep

    name = f"{CHUNK_PREFIX}-{tokenize(spec, chunks)}"
    index = tuple(range(len(chunks)))
    meta = np.empty((0,) * len(chunks), spec.numpy_dtype())
    # ArraySliceDep hands each block its own slices, computed from the chunks when the graph
    # is materialized: a task carries the spec and its slices, never the whole chunking.
    return da.blockwise(
        make_block, index, spec, None, ArraySliceDep(chunks), index,
        name=name, dtype=meta.dtype, meta=meta, align_arrays=False,
    )


def leaf_groups(spec: VariableSpec) -> list[tuple[int, int]]:
    """The leaves ``[first, stop)`` each digest task hashes, in order.

    Example:
        >>> from reprovar.dask.tasks import VariableSpec
        >>> spec = VariableSpec("philox4x32-10/box-muller", 1, (3 << 20,), "float32", 1, ())
        >>> leaf_groups(spec)
        [(0, 1), (1, 2), (2, 3)]
    """
    leaves = digests.leaf_count(spec.nbytes)
    per_task = 1 if leaves <= _SPREAD_LEAVES else min(MAX_LEAVES_PER_TASK, math.ceil(leaves / _SPREAD_LEAVES))
    return [(a, min(leaves, a + per_task)) for a in range(0, leaves, per_task)]


def digest_key_name(spec: VariableSpec) -> str:
    from dask.base import tokenize

    return f"{DIGEST_PREFIX}-{tokenize(spec)}"


def digest_delayed(spec: VariableSpec) -> list:
    """One ``dask.delayed`` per leaf group; their results, joined, are the leaf digests."""
    from dask import delayed

    name = digest_key_name(spec)
    task = delayed(leaf_digests, pure=True)
    return [task(spec, a, b, dask_key_name=(name, i)) for i, (a, b) in enumerate(leaf_groups(spec))]


def submit_digest(client, spec: VariableSpec) -> list:
    """Submit ``spec``'s digest tasks to a ``distributed.Client``; one future per leaf group."""
    name = digest_key_name(spec)
    return [
        client.submit(leaf_digests, spec, a, b, key=f"{name}-{i}", pure=True)
        for i, (a, b) in enumerate(leaf_groups(spec))
    ]


def finish_digest(spec: VariableSpec, parts) -> str:
    """The variable's digest from the results of its digest tasks, in order."""
    return digests.combine(b"".join(parts), spec.nbytes)


def compute_digest(spec: VariableSpec, scheduler=None) -> str:
    """``spec``'s digest, each leaf generated and hashed on a worker (``scheduler``: a
    ``distributed.Client``, a Dask scheduler name, or None for the current default)."""
    import dask

    return finish_digest(spec, dask.compute(*digest_delayed(spec), scheduler=scheduler))
