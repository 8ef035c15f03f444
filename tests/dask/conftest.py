"""A real ``dask.distributed`` cluster: two worker processes of one thread each, one per module.

Workers are spawned processes: they import reprovar afresh and load its kernels from the
Numba cache that this process fills first (the in-tree cache, or ``$NUMBA_CACHE_DIR``,
which they inherit), so no worker spends its first task compiling.
"""

from __future__ import annotations

import logging

import pytest

DTYPES = ("float32", "float64", "float16", "bfloat16")


def _warm_kernels() -> None:
    from reprovar.dask.tasks import VariableSpec, make_chunk

    for dtype in DTYPES:
        make_chunk(VariableSpec("philox4x32-10/box-muller", 1, (4,), dtype, 1, (("mean", 0.0), ("scale", 1.0))), ((0, 4),))


@pytest.fixture(scope="module")
def client():
    """A ``distributed.Client`` on a fresh two-process ``LocalCluster``, the default scheduler meanwhile."""
    import distributed

    _warm_kernels()
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
