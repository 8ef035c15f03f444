"""Dask graphs of a variable: one task per chunk, and one task per group of digest leaves.

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

import itertools
import math

import numpy as np

from ..errors import ArgumentTypeError, ArgumentValueError
from ..ledger import digest as digests
from .tasks import VariableSpec, leaf_digests, make_chunk

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
    """A ``dask.array.Array`` of ``spec``'s variable with the given (normalized) chunks."""
    import dask.array as da
    from dask._task_spec import Task
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    name = f"{CHUNK_PREFIX}-{tokenize(spec, chunks)}"
    starts = [np.cumsum((0,) + c).tolist() for c in chunks]
    graph = {}
    for index in itertools.product(*(range(len(c)) for c in chunks)):
        ranges = tuple((starts[d][i], starts[d][i + 1]) for d, i in enumerate(index))
        key = (name, *index)
        graph[key] = Task(key, make_chunk, spec, ranges)
    layers = HighLevelGraph.from_collections(name, graph, dependencies=())
    meta = np.empty((0,) * len(spec.shape), spec.numpy_dtype())
    return da.Array(layers, name, chunks, meta=meta)


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
