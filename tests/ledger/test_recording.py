"""What a record holds, on every backend, and the switches around recording."""

from __future__ import annotations

import json
import os
import warnings
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import reprovar
from reprovar.errors import (
    ArgumentTypeError,
    ArgumentValueError,
    RecordingError,
    RecordingWarning,
)
from reprovar import Ledger
from reprovar.ledger.models import variables_table
from reprovar.recorder import check_recording_options, record_variable
from reprovar.ledger.runinfo import git_commit


def test_record_holds_everything_needed_to_make_the_variable_again(ledger, make):
    before = datetime.now(timezone.utc)
    v = make("dense/kernel", (3, 4), seed=42, mean=0.5, scale=0.25, dtype="float64")
    r = v.record
    assert (r.name, r.version, r.shape, r.dtype) == ("dense/kernel", 1, (3, 4), "float64")
    assert (r.distribution, r.mean, r.scale, r.seed) == ("normal", 0.5, 0.25, 42)
    assert (r.algorithm, r.algorithm_version) == (v.provenance.algorithm, v.provenance.algorithm_version)
    assert r.digest.startswith("xxh3-128-tree4m:") and r.nbytes == 96
    assert r.created.tzinfo is not None and r.created.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= r.created <= datetime.now(timezone.utc) + timedelta(seconds=1)
    stored = ledger.get("dense/kernel")
    assert stored == r  # read back identical, created time to the microsecond included


@pytest.mark.parametrize("seed", [0, 1, 2**63 - 1, 2**63, 2**64 - 1])
def test_seeds_round_trip_exactly_and_are_found_by_value(ledger, make, seed):
    make("s", seed=seed)
    make("other", seed=seed ^ 1)
    assert ledger.get("s").seed == seed
    with ledger.connect() as conn:  # the column type converts the filter value too
        names = conn.execute(select(variables_table.c.name).where(variables_table.c.seed == seed)).scalars().all()
    assert names == ["s"]


def test_versions_count_per_name(ledger, make):
    versions = [make(n, seed=i).record.version for i, n in enumerate("abacab")]
    assert versions == [1, 1, 2, 1, 3, 2]
    assert [ledger.get("a", k).seed for k in (1, 2, 3)] == [0, 2, 4]


@pytest.mark.parametrize("name", [
    "dense/kernel:0", "with 'quotes' and \"double\"", "'); DROP TABLE variables; --",
    "line\nbreak\ttab", "unicode é 数据 🎲", "W", "w", "trailing ", "x" * 255,
])
def test_names_are_stored_intact_and_distinct(ledger, make, name):
    make(name, seed=5)
    make(name.upper() if name != name.upper() else name.lower(), seed=6)
    assert ledger.get(name).name == name and ledger.get(name).version == 1
    assert ledger.get(name).seed == 5


def test_name_longer_than_the_column_is_refused_before_anything_is_made(ledger, make):
    with pytest.raises(ArgumentValueError, match="at most 255"):
        make("x" * 256)
    assert ledger.latest(10) == []


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_every_dtype_records_and_replays(ledger, make, dtype):
    v = make("d", (5, 3), seed=3, dtype=dtype)
    assert ledger.get("d").dtype == dtype
    assert reprovar.replay("d", ledger=ledger).numpy().tobytes() == v.numpy().tobytes()


def test_mean_and_scale_round_trip_exactly(ledger):
    # One shared test database for all examples: cheap, and versions keep them apart.
    seen = []

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.floats(min_value=-1e30, max_value=1e30, allow_nan=False, allow_subnormal=True),
        st.floats(min_value=0, max_value=1e30, allow_nan=False),
    )
    def check(mean, scale):
        v = reprovar.random_normal_variable((2,), mean, scale, name="p", seed=1, ledger=ledger)
        r = ledger.get("p", v.record.version)
        assert (r.mean, r.scale) == (mean, scale)
        seen.append(r.version)

    check()
    assert seen == list(range(1, len(seen) + 1))


def test_one_run_row_per_process_written_lazily(ledger, make, tmp_path):
    assert ledger.run_id is None
    a, b = make("a"), make("b")
    assert a.record.run_id == b.record.run_id == ledger.run_id
    run = ledger.run(ledger.run_id)
    assert run.pid == os.getpid() and run.user and run.host
    assert run.argv and run.cwd == os.getcwd()
    assert run.reprovar_version == reprovar.__version__ and run.numpy_version == np.__version__
    assert run.python_version.count(".") == 2 and run.numba_version
    assert run.started <= a.record.created
    assert run.git_commit == git_commit(os.getcwd())


def test_git_commit_is_read_from_the_repository(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / "sub").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert git_commit(repo / "sub") is None  # no commits yet
    (repo / ".git" / "packed-refs").write_text("# pack-refs\n" + "a" * 40 + " refs/heads/main\n")
    assert git_commit(repo / "sub") == "a" * 40
    (repo / ".git" / "refs" / "heads" / "main").write_text("b" * 40 + "\n")
    assert git_commit(repo / "sub") == "b" * 40
    (repo / ".git" / "HEAD").write_text("c" * 40 + "\n")  # detached
    assert git_commit(repo) == "c" * 40
    assert git_commit(tmp_path) is None


def test_fork_starts_a_new_run_with_its_own_connections(ledger, make):
    parent = make("before").record
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's connections or run
        try:
            child = reprovar.random_normal_variable((2,), 0.0, 1.0, name="child", seed=1, ledger=ledger)
            ok = child.record.run_id != parent.run_id and ledger.run(child.record.run_id).pid == os.getpid()
            os._exit(0 if ok else 3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    after = make("after").record  # the parent's connections still work
    assert after.run_id == parent.run_id
    assert ledger.get("child").run_id != parent.run_id


def test_threads_share_a_ledger(ledger):
    from concurrent.futures import ThreadPoolExecutor

    def work(i):
        return reprovar.random_normal_variable((3,), 0.0, 1.0, name=f"t{i % 3}", seed=i, ledger=ledger).record

    with ThreadPoolExecutor(4) as pool:
        records = list(pool.map(work, range(60)))
    for n in ("t0", "t1", "t2"):
        assert sorted(r.version for r in records if r.name == n) == list(range(1, 21))


# --- switches -----------------------------------------------------------------------


def test_record_false_and_switches_write_nothing(tmp_path):
    path = tmp_path / "switch.db"
    led = Ledger(path)
    kw = dict(name="x", seed=1, ledger=led)
    assert reprovar.random_normal_variable((2,), 0.0, 1.0, record=False, **kw).record is None
    reprovar.disable_recording()
    assert reprovar.random_normal_variable((2,), 0.0, 1.0, **kw).record is None
    assert reprovar.random_normal_variable((2,), 0.0, 1.0, record=True, **kw).record.version == 1
    reprovar.enable_recording()
    with reprovar.recording(False):
        assert reprovar.random_normal_variable((2,), 0.0, 1.0, **kw).record is None
        with reprovar.recording(True):
            assert reprovar.random_normal_variable((2,), 0.0, 1.0, **kw).record.version == 2
    assert reprovar.random_normal_variable((2,), 0.0, 1.0, **kw).record.version == 3


def test_environment_switch(monkeypatch, tmp_path):
    led = Ledger(tmp_path / "env.db")
    monkeypatch.setenv("REPROVAR_RECORD", "0")
    assert reprovar.random_normal_variable((2,), 0.0, 1.0, ledger=led).record is None
    monkeypatch.setenv("REPROVAR_RECORD", "off")
    assert not reprovar.recording_enabled()
    monkeypatch.setenv("REPROVAR_RECORD", "1")
    assert reprovar.random_normal_variable((2,), 0.0, 1.0, ledger=led).record is not None
    monkeypatch.setenv("REPROVAR_RECORD", "maybe")
    with pytest.raises(ArgumentValueError, match="REPROVAR_RECORD='maybe'.*1/0"):
        reprovar.random_normal_variable((2,), 0.0, 1.0, ledger=led)


def test_default_ledger_is_reprovar_db_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("REPROVAR_LEDGER")
    monkeypatch.chdir(tmp_path)
    v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="here")
    assert (tmp_path / "reprovar.db").is_file()
    assert reprovar.current_ledger().location == str(tmp_path / "reprovar.db")
    assert reprovar.replay("here").seed == v.seed


def test_environment_and_use_ledger_override_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("REPROVAR_LEDGER", str(tmp_path / "env.db"))
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="e")
    assert Ledger(tmp_path / "env.db").get("e").version == 1
    led = reprovar.use_ledger(tmp_path / "chosen.db")
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="c")
    assert led.get("c").version == 1 and reprovar.current_ledger() is led
    reprovar.use_ledger(None)
    assert reprovar.current_ledger().location == str(tmp_path / "env.db")


def test_ledger_url_in_environment(monkeypatch, ledger_url):
    monkeypatch.setenv("REPROVAR_LEDGER", ledger_url)
    v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="via-env")
    assert reprovar.replay("via-env").numpy().tobytes() == v.numpy().tobytes()


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"record": "yes"}, ArgumentTypeError, "record must be True, False or None"),
    ({"record": 1}, ArgumentTypeError, "record must be True, False or None"),
    ({"on_record_error": "ignore"}, ArgumentValueError, "on_record_error must be one of 'raise', 'warn'"),
    ({"ledger": 3.5}, ArgumentTypeError, "ledger must be a reprovar.Ledger, a path"),
])
def test_invalid_recording_arguments_name_the_parameter(kwargs, error, pattern):
    full = {"record": None, "ledger": None, "on_record_error": "raise", **kwargs}
    with pytest.raises(error, match=pattern):
        check_recording_options(**full)
    with pytest.raises(error, match=pattern):
        reprovar.random_normal_variable((2,), 0.0, 1.0, **kwargs)


def test_recording_failure_raises_by_default_and_warns_when_asked(tmp_path):
    bad = tmp_path / "missing-dir" / "l.db"
    with pytest.raises(RecordingError, match="created but not recorded.*does not exist"):
        reprovar.random_normal_variable((2,), 0.0, 1.0, name="x", ledger=bad)
    with pytest.warns(RecordingWarning, match="created but not recorded"):
        v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="x", ledger=bad, on_record_error="warn")
    assert v.record is None and v.shape == (2,)


def test_record_variable_directly(tmp_path):
    v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="direct", seed=9, record=False)
    assert record_variable(v, ledger=tmp_path / "d.db").version == 1
    assert record_variable(v, record=False) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert record_variable(v, ledger=tmp_path / "d.db").version == 2


def test_ledger_pickles_as_its_location(ledger):
    import pickle

    clone = pickle.loads(pickle.dumps(ledger))
    try:
        assert clone.location == ledger.location and clone is not ledger
    finally:
        clone.close()


def test_writer_reconnects_when_the_server_dropped_its_connection(ledger, make, database_servers):
    """A long training job outlives its connection (server restart, idle timeout)."""
    make("first")
    from sqlalchemy import text

    if ledger.engine.dialect.name == "sqlite":  # no server: close the writer's handle under it
        ledger._variables._connection.driver_connection.close()
        assert make("second").record.version == 1
        return

    admin = database_servers.admin_engine("postgresql" if ledger.engine.dialect.name == "postgresql" else "mysql")
    database = ledger.url.database
    with admin.connect() as conn:
        if ledger.engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": database})
        else:
            ids = conn.execute(text("SELECT id FROM information_schema.processlist WHERE db = :d"),
                               {"d": database}).scalars().all()
            for i in ids:
                conn.execute(text(f"KILL {int(i)}"))
    assert make("second").record.version == 1
    assert ledger.get("second").name == "second"
