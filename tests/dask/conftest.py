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
    # The serial kernels of every distribution and dtype, compiled (or loaded) here first.
    import reprovar

    for dtype in DTYPES:
        reprovar.random_normal_variable((4,), 0.0, 1.0, dtype=dtype, seed=1, record=False)
        reprovar.random_uniform_variable((4,), 0.0, 1.0, dtype=dtype, seed=1, record=False)
        reprovar.truncated_normal_variable((4,), 0.0, 1.0, dtype=dtype, seed=1, record=False)


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
