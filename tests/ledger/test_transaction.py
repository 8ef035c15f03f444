"""reprovar.transaction(): one database transaction for many variables, on every backend."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select

import reprovar
import reprovar.algorithms
from reprovar import Ledger
from reprovar.errors import RecordingError
from reprovar.ledger.models import variables_table
from reprovar.variable import Provenance, Variable


def _small(name: str, seed: int = 1, **kw):
    return reprovar.random_normal_variable((2, 3), 0.0, 1.0, name=name, seed=seed, **kw)


def _rows_seen_by_another_connection(url: str) -> list[tuple[str, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            t = variables_table
            return [tuple(r) for r in conn.execute(select(t.c.name, t.c.version).order_by(t.c.id))]
    finally:
        engine.dispose()


def test_rows_are_committed_together_at_exit(ledger, ledger_url):
    with reprovar.transaction(ledger) as led:
        assert led is ledger
        made = [_small("w", seed=i) for i in range(3)] + [_small("b")]
        assert [v.record.version for v in made] == [1, 2, 3, 1]
        assert _rows_seen_by_another_connection(ledger_url) == []  # not committed yet
    assert _rows_seen_by_another_connection(ledger_url) == [("w", 1), ("w", 2), ("w", 3), ("b", 1)]
    assert [ledger.get(id=v.record.id).seed for v in made] == [0, 1, 2, 1]
    ledger.replay("w", 2)


def test_an_exception_rolls_every_row_back_and_unsets_the_records(ledger, ledger_url):
    with pytest.raises(ZeroDivisionError):
        with reprovar.transaction(ledger):
            made = [_small("w", seed=i) for i in range(4)]
            assert made[-1].record.version == 4
            1 / 0
    assert [v.record for v in made] == [None] * 4
    assert _rows_seen_by_another_connection(ledger_url) == []
    assert _small("w", ledger=ledger).record.version == 1  # no gap left behind


def test_records_made_inside_the_block_equal_the_committed_rows(ledger):
    """Ids, versions, seals and their chain, across the points where a SQLite batch writes
    the rows it holds (every SQLITE_ROWS_PER_WRITE rows, then at commit)."""
    from reprovar.ledger.writer import SQLITE_ROWS_PER_WRITE

    _small("w0", ledger=ledger)  # a name with an earlier version, chained into the batch
    count = 2 * SQLITE_ROWS_PER_WRITE + 37
    with reprovar.transaction(ledger):
        made = [_small(f"w{i % 7}", seed=i) for i in range(count)]
        made.append(reprovar.random_uniform_variable((3,), -1.0, 1.0, name="u", seed=1))
    stored = [ledger.get(id=v.record.id) for v in made]
    assert [v.record for v in made] == stored
    assert all(r.seal is not None for r in stored)
    chain = ledger.history("w3")
    assert [r.previous_seal for r in chain[1:]] == [r.seal for r in chain[:-1]]
    assert ledger.verify().line() == f"{count + 2} verified, 0 mismatched, 0 failed"


def _declare_autoincrement(ledger) -> None:
    # Not what reprovar creates: the variables table rebuilt with AUTOINCREMENT ids.
    with ledger.engine.begin() as conn:
        ddl = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'reprovar_variables'").scalar_one()
        assert "AUTOINCREMENT" not in ddl
        conn.exec_driver_sql("ALTER TABLE reprovar_variables RENAME TO old_variables")
        ddl = re.sub(r"^(\s*)id INTEGER NOT NULL", r"\1id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", ddl, flags=re.M)
        ddl = re.sub(r"CONSTRAINT pk_reprovar_variables PRIMARY KEY \(id\),\s*", "", ddl)
        conn.exec_driver_sql(ddl.replace("CONSTRAINT uq_reprovar_variables_name_version", "CONSTRAINT uq_nv"))
        conn.exec_driver_sql("DROP TABLE old_variables")


@pytest.mark.parametrize("autoincrement, expected_id", [(False, 3), (True, 4)], ids=["rowid", "autoincrement"])
def test_sqlite_batch_ids_are_the_ones_sqlite_would_give(tmp_path, autoincrement, expected_id):
    """After the newest row is deleted, SQLite gives its id again, unless the table is
    AUTOINCREMENT (which never reuses one): a batch takes the same id."""
    ledger = Ledger(tmp_path / "ids.db")
    if autoincrement:
        _declare_autoincrement(ledger)
    for i in range(3):
        _small("a", seed=i, ledger=ledger)
    with ledger.engine.begin() as conn:
        conn.execute(variables_table.delete().where(variables_table.c.id == 3))
    with reprovar.transaction(ledger):
        v = _small("b")
    assert v.record.id == expected_id and ledger.get(id=expected_id) == v.record
    ledger.close()


def test_sqlite_a_row_the_database_refuses_when_written_rolls_everything_back(tmp_path):
    """On SQLite rows are written at commit (and every SQLITE_ROWS_PER_WRITE rows): a row the
    database refuses then fails the whole transaction, and no record survives."""
    from reprovar.errors import LedgerError
    from reprovar.ledger.writer import SQLITE_ROWS_PER_WRITE

    path = tmp_path / "refuse.db"
    ledger = Ledger(path)
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON reprovar_variables WHEN NEW.name = 'bad' "
            "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
        )
    with pytest.raises(LedgerError, match="refused by a trigger"):
        with reprovar.transaction(ledger):
            made = [_small("a"), _small("bad"), _small("c")]
    assert [v.record for v in made] == [None] * 3
    made = []
    with pytest.raises(RecordingError, match="refused by a trigger"):
        with reprovar.transaction(ledger):
            made.append(_small("bad"))
            for i in range(SQLITE_ROWS_PER_WRITE):  # the last one makes the batch write, and fails
                made.append(_small(f"n{i}"))
    assert len(made) == SQLITE_ROWS_PER_WRITE
    assert all(v.record is None for v in made)
    assert ledger.count() == 0
    assert _small("a", ledger=ledger).record.version == 1
    ledger.close()


def test_nested_blocks_join_the_outermost(ledger):
    with reprovar.transaction(ledger):
        a = _small("a")
        with reprovar.transaction(ledger):
            b = _small("a")
        assert ledger.count() == 0 or ledger.engine.dialect.name == "sqlite"
    assert (a.record.version, b.record.version) == (1, 2)
    assert ledger.count() == 2


def test_an_exception_caught_between_nested_blocks_still_rolls_back_all(ledger):
    with pytest.raises(RecordingError, match="rolled back"):
        with reprovar.transaction(ledger):
            a = _small("a")
            try:
                with reprovar.transaction(ledger):
                    _small("a")
                    raise KeyError("inner")
            except KeyError:
                pass
    assert a.record is None and ledger.count() == 0


def test_inside_the_block_its_ledger_is_the_current_one(tmp_path):
    path = str(tmp_path / "scoped.db")
    other = Ledger(tmp_path / "other.db")
    with reprovar.transaction(path) as led:
        assert reprovar.current_ledger() is led
        v = _small("v")
        elsewhere = _small("x", ledger=other)  # another ledger: recorded on its own, now
        assert other.count() == 1
    assert reprovar.current_ledger() is not led
    assert v.record.version == 1 and led.get("v").id == v.record.id
    assert elsewhere.record is not None
    other.close()


def test_other_threads_record_on_their_own_and_keep_their_rows(ledger):
    """A thread started inside the block is not part of it: a rollback leaves its row."""
    done = []

    def worker():
        done.append(_small("thread", ledger=ledger))

    with pytest.raises(RuntimeError):
        with reprovar.transaction(ledger):
            _small("main")
            t = threading.Thread(target=worker)
            t.start()
            if ledger.engine.dialect.name != "sqlite":  # SQLite: it waits for the block
                t.join()
            raise RuntimeError("roll back")
    t.join()
    assert done[0].record is not None
    assert [r.name for r in ledger.find()] == ["thread"]


# Batches and single-row writers racing on shared names, each with its own Ledger (engine
# and connections), as separate processes would. Values are made once by the real sampler.
WRITERS = 4
PER_WRITER = 60
BATCH = 15


def _write(url: str, index: int, values: np.ndarray, claimed: list, errors: list) -> None:
    algorithm = reprovar.algorithms.DEFAULT_ALGORITHM
    try:
        with Ledger(url) as led:
            batched = index % 2 == 0
            for start in range(0, PER_WRITER, BATCH):
                with led.transaction() if batched else _nothing():
                    for i in range(start, start + BATCH):
                        provenance = Provenance(algorithm.name, algorithm.version, seed=i,
                                                mean=0.0, scale=1.0)
                        record = led.record(Variable(values[i], f"shared/{i % 5}", provenance))
                        claimed.append((record.name, record.version))
    except BaseException as e:  # reported by the test
        errors.append(e)


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_batches_and_single_writers_get_gapless_unique_versions(ledger_url):
    Ledger(ledger_url).close()
    values = np.stack([_small("v", seed=i, record=False).numpy() for i in range(PER_WRITER)])
    claimed, errors = [], []
    threads = [threading.Thread(target=_write, args=(ledger_url, k, values, claimed, errors))
               for k in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert errors == []
    assert len(claimed) == len(set(claimed)) == WRITERS * PER_WRITER
    rows = _rows_seen_by_another_connection(ledger_url)
    assert sorted(rows) == sorted(claimed)
    for name, n in Counter(name for name, _ in rows).items():
        assert sorted(v for m, v in rows if m == name) == list(range(1, n + 1)), name


FORKED = textwrap.dedent(
    """
    import os, sys, time
    import reprovar
    from reprovar.errors import RecordingError
    led = reprovar.Ledger(sys.argv[1])
    with reprovar.transaction(led):
        for i in range(300):
            reprovar.random_normal_variable((2,), 0.0, 1.0, name=f"p{i % 5}", seed=i)
        pid = os.fork()
        if pid == 0:
            start = time.monotonic()
            try:
                v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="child", seed=1)
                print("child recorded", v.record.version, flush=True)
            except RecordingError as e:
                print(f"child refused after {time.monotonic() - start:.1f} s: {e}", flush=True)
        else:
            reprovar.random_normal_variable((2,), 0.0, 1.0, name="parent", seed=1)
    if pid == 0:  # the child's copy of the block ended without committing the parent's
        os._exit(0)
    os.waitpid(pid, 0)
    print("parent", led.count(), led.verify().line(), flush=True)
    """
)


def test_a_child_forked_inside_a_transaction_leaves_the_parents_alone(ledger_url):
    """The child's copy of the block neither commits nor rolls back the parent's transaction,
    and never closes its connection; on SQLite the child cannot take the write lock its
    parent's transaction holds in inherited memory, and says so at once."""
    Ledger(ledger_url).close()
    proc = subprocess.run([sys.executable, "-c", FORKED, ledger_url], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    if ledger_url.startswith("sqlite"):
        assert lines[0].startswith("child refused after 0.") and "forked while a reprovar.transaction()" in lines[0]
        assert lines[1] == "parent 301 301 verified, 0 mismatched, 0 failed"
    else:
        assert lines == ["child recorded 1", "parent 302 302 verified, 0 mismatched, 0 failed"]


KILLED = textwrap.dedent(
    """
    import sys, time
    import reprovar
    url, count, finish = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "finish"
    with reprovar.transaction(url):
        for i in range(count):
            reprovar.random_normal_variable((2, 3), 0.0, 1.0, name=f"k{i % 3}", seed=i)
        if not finish:
            print("recorded", flush=True)
            time.sleep(600)  # killed here: rows written (SQLite: the last ones still in memory), none committed
    print("committed", flush=True)
    time.sleep(600)  # killed here, after the commit
    """
)


@pytest.mark.parametrize("finish", [False, True], ids=["mid-transaction", "after-commit"])
def test_sigkill_leaves_all_rows_or_none(ledger_url, finish):
    Ledger(ledger_url).close()
    count = 600  # more rows than a SQLite batch holds before writing them
    proc = subprocess.Popen([sys.executable, "-c", KILLED, ledger_url, str(count),
                             "finish" if finish else "stop"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line == ("committed" if finish else "recorded")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    with Ledger(ledger_url) as led:
        assert led.count() == (count if finish else 0)
        with led.connect() as conn:
            n = conn.execute(select(func.count()).select_from(variables_table)).scalar_one()
        assert n == (count if finish else 0)
        if finish:
            assert [r.version for r in led.history("k0")] == list(range(1, count // 3 + 1))
            led.replay("k2", 13)
