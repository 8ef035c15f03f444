"""Processes: children forked after the parent's threads started still make variables (the
same bits), and a ledger handed to Pool workers is one engine and one run per process."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import reprovar

SCRIPT = Path(__file__).with_name("fork_children.py")


def test_forked_and_spawned_children_make_the_same_variables():
    # A fresh interpreter: the parent's threading layer must have started before the forks.
    env = dict(os.environ)
    env.pop("NUMBA_THREADING_LAYER", None)
    env["NUMBA_NUM_THREADS"] = "2"
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Terminating" not in done.stderr, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    parent = out["parent"]
    assert [d for d, _, _ in out["fork_pool"]] == parent
    assert [d for d, _, _ in out["spawn_pool"]] == parent
    assert out["bare_fork_status"] == 0
    assert [d for d, _, _ in out["bare_fork"]] == [parent[1], parent[2]]
    # Spawned workers start their own threads; forked ones go serial only where they must.
    assert all(allowed for _, allowed, _ in out["spawn_pool"])
    unsafe = out["layer"] not in ("tbb", "workqueue")
    assert all(allowed is not unsafe for _, allowed, _ in out["fork_pool"] + out["bare_fork"])


def record_one(ledger, seed):
    v = reprovar.random_normal_variable((2,), 0.0, 1.0, name=f"task/{seed % 7}", seed=seed, ledger=ledger)
    return os.getpid(), v.record.run_id, id(ledger)


def count_connections(url: str) -> int:
    """Connections to this test database, seen by the server."""
    admin = sa.create_engine(sa.make_url(url).set(database="postgres"), poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as c:
            return c.execute(sa.text("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = :d"),
                             {"d": sa.make_url(url).database}).scalar_one()
    finally:
        admin.dispose()


@pytest.mark.parametrize("ledger_url, method, tasks", [
    ("sqlite", "fork", 200), ("postgresql", "fork", 200), ("mysql", "fork", 200),
    ("postgresql", "spawn", 60),
], indirect=["ledger_url"])
def test_a_ledger_passed_to_pool_workers_is_one_run_and_engine_per_process(ledger, method, tasks):
    workers = 3
    before = count_connections(str(ledger.url.render_as_string(False))) if ledger.engine.dialect.name == "postgresql" else 0
    with mp.get_context(method).Pool(workers) as pool:
        results = pool.starmap(record_one, [(ledger, seed) for seed in range(tasks)], chunksize=1)
        if ledger.engine.dialect.name == "postgresql":
            during = count_connections(ledger.url.render_as_string(False)) - before
            assert during <= 2 * workers, f"{during} connections from {workers} workers"
    pids = {pid for pid, _, _ in results}
    runs = {run for _, run, _ in results}
    assert len(runs) == len(pids) <= workers
    for pid in pids:  # one ledger object, one run, in each worker
        assert len({(run, obj) for p, run, obj in results if p == pid}) == 1
    assert len(ledger.runs()) == len(runs)
    assert {r.pid for r in ledger.runs()} == pids
    assert len(ledger.find()) == tasks


def test_a_fork_safe_lock_held_by_another_thread_at_fork_is_free_in_the_child():
    import threading

    from reprovar.ledger.locks import ForkSafeLock

    lock, held, release = ForkSafeLock(), threading.Event(), threading.Event()

    def hold():
        with lock:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        pid = os.fork()
        if pid == 0:  # the child: the holder thread does not exist here
            got = lock._lock.acquire(timeout=5)
            os._exit(0 if got else 3)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        thread.join()
    assert os.waitstatus_to_exitcode(status) == 0
