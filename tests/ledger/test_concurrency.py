"""Many processes, one ledger: no lost or duplicated versions, no "database is locked", crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import func, select

import reprovar
import reprovar.algorithms
from reprovar import Ledger
from reprovar.ledger.schema import head_revision
from reprovar.ledger.models import variables_table
from reprovar.ledger.schema import head_revision

PROCESSES = 8
PER_PROCESS = 500

# Each worker: open the ledger, wait for the common start, record variables whose names are
# partly shared by all workers (reused names) and partly its own; print what it got. The
# values are made by the parent with the real sampler (workers skip loading its kernels,
# which would dominate the run time), so every row is genuine and replays.
WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np
    from reprovar import Ledger
    from reprovar.variable import Provenance, Variable
    url, index, count, go, values, algorithm, version = sys.argv[1:8]
    index, count, version = int(index), int(count), int(version)
    ledger = Ledger(url)
    values = np.load(values)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.005)
    got = []
    for i in range(count):
        name = f"shared/{i % 7}" if i % 2 else f"own/{index}/{i % 50}"
        seed = index * count + i
        provenance = Provenance(algorithm, version, seed=seed, mean=0.0, scale=1.0)
        record = ledger.record(Variable(values[i], name, provenance))
        got.append([record.name, record.version])
    print(json.dumps(got))
    """
)


@pytest.mark.slow
def test_processes_writing_one_ledger_lose_and_duplicate_nothing(ledger_url, tmp_path):
    Ledger(ledger_url).close()  # created first: the race on creation has its own test
    go = tmp_path / "go"
    algorithm = reprovar.algorithms.DEFAULT_ALGORITHM
    procs = []
    for i in range(PROCESSES):
        values = tmp_path / f"values-{i}.npy"
        np.save(values, np.stack([
            reprovar.random_normal_variable((3,), 0.0, 1.0, seed=i * PER_PROCESS + k, record=False).numpy()
            for k in range(PER_PROCESS)
        ]))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, ledger_url, str(i), str(PER_PROCESS), str(go),
             str(values), algorithm.name, str(algorithm.version)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    for p in procs:  # all started and warm: time only the writing
        assert p.stdout.readline().strip() == "ready", p.communicate()[1]
    start = time.monotonic()
    go.touch()
    results = [p.communicate(timeout=600) for p in procs]
    elapsed = time.monotonic() - start
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert "locked" not in err
    claimed = [tuple(x) for out, _ in results for x in json.loads(out)]
    assert len(claimed) == len(set(claimed)) == PROCESSES * PER_PROCESS

    with Ledger(ledger_url) as led, led.connect() as conn:
        t = variables_table
        rows = conn.execute(select(t.c.name, t.c.version)).all()
        assert len(rows) == PROCESSES * PER_PROCESS
        assert set(map(tuple, rows)) == set(claimed)
        counts = Counter(name for name, _ in rows)
        for name, n in counts.items():
            versions = sorted(v for m, v in rows if m == name)
            assert versions == list(range(1, n + 1)), name
        runs = conn.execute(select(func.count(func.distinct(t.c.run_id)))).scalar_one()
        assert runs == PROCESSES
        for name in ("shared/1", "own/3/2"):  # genuine rows: they replay and verify
            led.replay(name, 1)
        # Racing writers of one name still chain each version to the one before it.
        sealed = conn.execute(select(t.c.name, t.c.version, t.c.seal, t.c.previous_seal)).all()
        seals = {(name, version): seal for name, version, seal, _ in sealed}
        for name, version, _, previous in sealed:
            assert previous == seals.get((name, version - 1)), (name, version)
        assert led.verify(["shared/1"]).line() == f"{counts['shared/1']} verified, 0 mismatched, 0 failed"
    print(f"\n{ledger_url.split(':')[0]}: {PROCESSES}x{PER_PROCESS} variables in {elapsed:.2f}s")


OPENER = textwrap.dedent(
    """
    import sys, time, os
    from reprovar import Ledger
    go = sys.argv[2]
    while not os.path.exists(go):
        time.sleep(0.002)
    led = Ledger(sys.argv[1])
    print(led.opened_at_revision)
    """
)


def test_processes_opening_a_new_ledger_at_once_do_not_race(ledger_url, tmp_path):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", OPENER, ledger_url, str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    time.sleep(0.3)
    go.touch()
    outcomes = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outcomes):
        assert p.returncode == 0, err
    # Exactly one process created the schema; the others found it at head.
    assert sorted(out.strip() for out, _ in outcomes).count("None") == 1
    with Ledger(ledger_url) as led:
        assert led.schema_revision == head_revision()


KILLED = textwrap.dedent(
    """
    import sys, itertools
    import reprovar
    ledger = reprovar.Ledger(sys.argv[1])
    for i in itertools.count():
        shape = (1 + i % 5, 20_000 + 3 * i)  # up to 400 KB: generation takes a while
        reprovar.random_normal_variable(shape, 0.0, 1.0, name=f"k{i % 3}", ledger=ledger)
        print(i, flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_while_creating_leaves_a_ledger_whose_rows_all_replay(ledger_url):
    Ledger(ledger_url).close()
    proc = subprocess.Popen([sys.executable, "-c", KILLED, ledger_url], stdout=subprocess.PIPE, text=True)
    for _ in range(25):  # let it record a few, then kill it at an arbitrary point
        proc.stdout.readline()
    time.sleep(0.013)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    with Ledger(ledger_url) as led, led.connect() as conn:
        ids = conn.execute(select(variables_table.c.id)).scalars().all()
        assert len(ids) >= 25
        for row_id in ids:
            led.replay(id=row_id)  # raises on any digest mismatch
