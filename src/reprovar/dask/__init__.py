"""Variables larger than one machine: chunk-invariant Dask arrays, recorded and verified on a cluster.

``reprovar.dask.random_normal_variable``, ``random_uniform_variable``,
``truncated_normal_variable`` and ``variance_scaling_variable`` take the arguments of the
in-memory functions plus any Dask ``chunks`` (irregular too, default ``"auto"``) and return a
:class:`DaskVariable`. Its ``.array`` computes to the in-memory variable
bit for bit, for every dtype and chunking: each chunk is made from its global index ranges
alone (:mod:`reprovar.region`), so no chunk depends on another or on the chunking.

Recording never gathers the variable: its ``xxh3-128-tree4m`` digest is computed on the
workers, each 4 MiB leaf generated and hashed where it is made (only 16-byte leaf digests
travel, memory per task stays at one leaf), and the row is written when the variable is
created. Dask uses its current scheduler: the default ``distributed.Client`` if there is
one, else its local threads.

Threads: tasks run the serial kernels; Dask's workers and threads are the parallelism
(see :mod:`reprovar.dask.tasks`). A task run twice (a worker died) returns the same bytes,
so a lost worker changes neither the values nor the digest.

Needs the ``dask`` extra (``pip install 'reprovar[dask]'``; ``reprovar[zarr]`` for Zarr).

Example:
    >>> import numpy as np, reprovar, reprovar.dask
    >>> v = reprovar.dask.random_normal_variable((6, 5), 0.0, 1.0, seed=1, chunks=(4, 2), record=False)
    >>> w = reprovar.random_normal_variable((6, 5), 0.0, 1.0, seed=1, record=False)
    >>> bool((v.array.compute() == w.numpy()).all())
    True
"""

from __future__ import annotations

try:
    import dask.array  # noqa: F401  (the extra's presence, checked once)
except ImportError as e:  # pragma: no cover - depends on the environment
    from ..errors import MissingExtraError

    raise MissingExtraError(
        "reprovar.dask needs Dask: pip install 'reprovar[dask]' (dask[array] and distributed)"
    ) from e

from .client import DEFAULT_CONNECT_TIMEOUT_S, connect
from .variable import (
    DaskVariable,
    digest,
    random_normal_variable,
    random_uniform_variable,
    random_variable,
    replay,
    truncated_normal_variable,
    variance_scaling_variable,
    write_zarr,
)

__all__ = [
    "DaskVariable",
    "connect",
    "digest",
    "random_normal_variable",
    "random_uniform_variable",
    "random_variable",
    "replay",
    "truncated_normal_variable",
    "variance_scaling_variable",
    "write_zarr",
]
