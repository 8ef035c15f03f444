"""Dask variables on a real two-process cluster: the in-memory bits for every dtype,
distribution and chunking; digests computed on the workers; a worker killed mid-computation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import cloudpickle
import dask
import dask.array as da
import numpy as np
import psutil
import pytest
from dask.core import flatten
from distributed import WorkerPlugin, get_task_stream

import reprovar
import reprovar.dask
from reprovar.ledger.digest import LEAF_BYTES
from reprovar.ledger.digest import digest as in_memory_digest

DTYPES = ("float32", "float64", "float16", "bfloat16")

# Functions and plugins of this file run on the workers, which need not be able to import it.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

# Each distribution: the in-memory constructor, the Dask one, and parameters.
DISTRIBUTIONS = {
    "normal": (reprovar.random_normal_variable, reprovar.dask.random_normal_variable, (0.5, 2.0)),
    "uniform": (reprovar.random_uniform_variable, reprovar.dask.random_uniform_variable, (-1.5, 3.0)),
    "truncated_normal": (reprovar.truncated_normal_variable, reprovar.dask.truncated_normal_variable, (0.5, 2.0)),
    "variance_scaling": (reprovar.variance_scaling_variable, reprovar.dask.variance_scaling_variable,
                         (2.0, "fan_avg", "truncated_normal")),
}

SHAPE = (23, 17)
CHUNKINGS = {
    "regular": (4, 5),
    "irregular": ((3, 11, 9), (1, 7, 9)),
    "one-wide": (23, 1),
    "single": -1,
}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def pair(distribution, shape, dtype, seed, chunks, **kwargs):
    memory, dask_made, params = DISTRIBUTIONS[distribution]
    expected = memory(shape, *params, dtype=dtype, seed=seed, record=False).numpy()
    return expected, dask_made(shape, *params, dtype=dtype, seed=seed, chunks=chunks, **kwargs)


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("chunking", sorted(CHUNKINGS))
def test_every_chunking_gives_the_in_memory_bits(client, distribution, dtype, chunking):
    expected, v = pair(distribution, SHAPE, dtype, 11, CHUNKINGS[chunking], record=False)
    assert same_bits(v.array.compute(), expected)
    assert (v.shape, v.dtype, v.record) == (SHAPE, expected.dtype, None)


@pytest.mark.parametrize("shape, chunks", [
    ((), "auto"),
    ((0, 5), 2),
    ((3000,), ((1, 999, 1000, 1000),)),
    ((5, 6, 7), ((2, 3), (1, 5), (3, 4))),
    ((5, 6, 7), (5, 6, 1)),
])
def test_odd_shapes_and_chunks(client, shape, chunks):
    expected, v = pair("normal", shape, "float32", 3, chunks, record=False)
    assert same_bits(v.array.compute(), expected)


def test_each_chunk_is_made_by_a_worker_task(client):
    expected, v = pair("normal", (40, 40), "float64", 1, (10, 16), record=False)
    with get_task_stream(client) as stream:
        assert same_bits(v.array.compute(), expected)
    made = {str(t["key"]) for t in stream.data if str(t["key"]).startswith("('reprovar-chunk")}
    assert made == {str(k) for k in flatten(v.array.__dask_keys__())}
    workers = set(client.scheduler_info()["workers"])
    assert {t["worker"] for t in stream.data} <= workers


def _chunks_made(node) -> int:
    # How many chunks a graph node makes: make_block calls, nested fused subgraphs included.
    from dask._task_spec import DataNode, Task

    from reprovar.dask.tasks import make_block

    if isinstance(node, Task):
        return (node.func is make_block) + _chunks_made(node.args) + _chunks_made(node.kwargs)
    if isinstance(node, DataNode):
        return _chunks_made(node.value)
    if isinstance(node, dict):
        return sum(_chunks_made(v) for v in node.values())
    if isinstance(node, (tuple, list)):
        return sum(_chunks_made(v) for v in node)
    return 0


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_a_reduction_fuses_with_chunk_generation(client, reduction):
    # Full-width row chunks: each block of the in-memory reference is contiguous like a made
    # chunk, so NumPy sums both in the same order and the results can be compared bit for bit.
    expected, v = pair("normal", (60, 40), "float32", 4, (7, -1), record=False)
    reduced = getattr(v.array, reduction)()
    # Each chunk is made inside a task that also reduces it: no task makes a chunk alone, and
    # none makes two. Blockwise fusion does it, with Dask's low-level fusion off too.
    for low_level_fusion in (True, False):
        with dask.config.set({"optimization.fuse.active": low_level_fusion}):
            (optimized,) = dask.optimize(reduced)
        graph = dict(optimized.__dask_graph__())
        assert not any(str(k).startswith("('reprovar-chunk") for k in graph)
        made = [n for n in map(_chunks_made, graph.values()) if n]
        assert made == [1] * v.array.npartitions
    with get_task_stream(client) as stream:
        got = reduced.compute()
    assert not any(str(t["key"]).startswith("('reprovar-chunk") for t in stream.data)
    reference = getattr(da.from_array(expected, chunks=v.array.chunks), reduction)().compute()
    assert same_bits(np.asarray(got), np.asarray(reference))


def _refuse_parallel_kernels(refuse: bool) -> int:
    # Runs in each worker: replace (or restore) every parallel kernel with one that raises.
    import importlib

    from reprovar.algorithms import PARALLEL_MIN_ELEMENTS  # noqa: F401  (loads the module)

    count = 0
    for name in ("reprovar.sampler.kernels.normal", "reprovar.sampler.kernels.uniform",
                 "reprovar.sampler.kernels.truncated_normal", "reprovar.sampler.kernels.orthogonal"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        saved = module.__dict__.setdefault("_reprovar_test_saved_kernels", {})
        for attr in [a for a in dir(module) if a.endswith("_parallel") and not a.startswith("_")]:
            if refuse:
                saved.setdefault(attr, getattr(module, attr))

                def raising(*args, _attr=attr):
                    raise AssertionError(f"{_attr} ran inside a Dask task")

                setattr(module, attr, raising)
                count += 1
            elif attr in saved:
                setattr(module, attr, saved[attr])
    return count


def test_tasks_run_the_serial_kernels(client):
    # Chunks far above the parallel threshold: made on workers whose parallel kernels raise.
    from reprovar.algorithms import PARALLEL_MIN_ELEMENTS

    assert all(n > 0 for n in client.run(_refuse_parallel_kernels, True).values())
    try:
        for distribution in sorted(DISTRIBUTIONS):
            expected, v = pair(distribution, (4, PARALLEL_MIN_ELEMENTS * 2), "float32", 8, (1, -1), record=False)
            assert same_bits(v.array.compute(), expected)
            assert reprovar.dask.digest(v) == in_memory_digest(expected)
    finally:
        client.run(_refuse_parallel_kernels, False)


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_digest_on_the_workers_equals_the_in_memory_digest(client, tmp_path, distribution):
    # > 4 MiB, with chunk edges that fall inside leaves (and rows that straddle them).
    shape = (1101, 1203)
    assert 4 * shape[0] * shape[1] > LEAF_BYTES
    expected, v = pair(distribution, shape, "float32", 7, (333, 500), name="big", ledger=str(tmp_path / "l.db"))
    assert v.record.digest == in_memory_digest(expected)
    assert v.record.digest == reprovar.Ledger(str(tmp_path / "l.db")).get("big").digest
    assert reprovar.dask.digest(v, client=client) == v.record.digest
    assert v.record.nbytes == expected.nbytes and v.record.shape == shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_digest_for_every_dtype_across_leaves(client, dtype):
    expected, v = pair("normal", (3, 700_001), dtype, 5, "auto", record=False)
    assert reprovar.dask.digest(v) == in_memory_digest(expected)


def test_unrecorded_when_recording_is_off(client):
    with reprovar.recording(False):
        _, v = pair("normal", (4,), "float32", 1, 2)
    assert v.record is None


def test_bad_chunks_name_the_parameter(client):
    with pytest.raises(ValueError, match="chunks="):
        reprovar.dask.random_normal_variable((4, 4), 0.0, 1.0, seed=1, chunks=((1, 2), (4,)), record=False)


# --- a worker process killed mid-computation ---------------------------------------------------


class KillOnce(WorkerPlugin):
    """Kills its worker process (SIGKILL) as the first task whose key starts with ``prefix``
    begins, once for the whole cluster: the marker file records the pid."""

    name = "kill-once"

    def __init__(self, prefix: str, marker: str):
        self.prefix, self.marker = prefix, marker

    def transition(self, key, start, finish, **kwargs):
        name = key[0] if isinstance(key, tuple) else key
        if finish != "executing" or not str(name).startswith(self.prefix):
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
def kill_once(client, tmp_path):
    marker = tmp_path / "killed"
    pids_before = set(client.run(os.getpid).values())

    def arm(prefix):
        client.register_plugin(KillOnce(prefix, str(marker)))
        return marker

    yield arm
    client.unregister_worker_plugin(KillOnce.name)
    client.wait_for_workers(2, timeout=60)
    killed = int(marker.read_text())
    assert killed in pids_before
    assert killed not in client.run(os.getpid).values()
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == psutil.STATUS_ZOMBIE


def test_a_killed_worker_changes_no_value(client, kill_once):
    expected, v = pair("normal", (400, 300), "float32", 21, (37, 300), record=False)
    marker = kill_once("reprovar-chunk")
    assert same_bits(v.array.compute(), expected)
    assert marker.exists()


def test_a_killed_worker_changes_no_digest(client, kill_once, tmp_path):
    expected, v = pair("normal", (3, 1_000_003), "float32", 22, "auto", record=False)
    marker = kill_once("reprovar-digest")
    assert reprovar.dask.digest(v) == in_memory_digest(expected)
    assert marker.exists()


@pytest.mark.parametrize("bad", [
    dict(shape=(2, -1)), dict(scale=-1.0), dict(dtype="int8"), dict(seed=-1), dict(name=""),
    dict(record="yes"), dict(on_record_error="ignore"),
])
def test_bad_arguments_fail_as_in_memory(bad):
    args = dict(shape=(2, 3), mean=0.0, scale=1.0, seed=1, record=False) | bad
    with pytest.raises(Exception) as in_memory:
        reprovar.random_normal_variable(**args)
    with pytest.raises(type(in_memory.value)) as on_dask:
        reprovar.dask.random_normal_variable(**args, chunks=1)
    assert str(on_dask.value) == str(in_memory.value)


def test_reprovar_alone_never_imports_dask():
    script = (
        "import sys, reprovar\n"
        "reprovar.random_normal_variable((3,), 0.0, 1.0, seed=1, record=False)\n"
        "import reprovar.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'zarr')))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
