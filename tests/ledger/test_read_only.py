"""Reading never writes, and reprovar never touches a database that is not its own.

Read commands open the ledger read-only: they work on read-only files and directories, leave
no ``-wal``/``-shm`` files behind, never migrate (an old schema is refused with the exact
``reprovar db upgrade`` command), and a database that is neither empty nor reprovar's is
refused before anything in it changes (no WAL switch, no tables).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

import reprovar
from reprovar import Ledger
from reprovar.cli import main
from reprovar.errors import LedgerError, NotALedgerError, RecordingError
from reprovar.ledger.schema import VERSION_TABLE, alembic_config, head_revision

DATA = Path(__file__).parent.parent / "data"
READ_COMMANDS = [
    ["list"], ["show", "w"], ["history", "w"], ["find", "--seed", "1"], ["runs"],
    ["verify", "--all"], ["export", "--format", "csv"], ["replay", "w"], ["audit", "seeds"],
    ["sql", "SELECT COUNT(*) AS n FROM reprovar_variables"],
]

# Runs each read command through the CLI in one process; prints {command: [exit, output]}.
READER = textwrap.dedent(
    """
    import json, sys
    from click.testing import CliRunner
    from reprovar.cli import main
    ledger, commands = sys.argv[1], json.loads(sys.argv[2])
    out = {}
    for args in commands:
        r = CliRunner().invoke(main, [*args, "--ledger", ledger])
        out[" ".join(args)] = [r.exit_code, r.output + (repr(r.exception) if r.exit_code else "")]
    print(json.dumps(out))
    """
)


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _side_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def _make_ledger(path: Path) -> None:
    with Ledger(path) as led:
        reprovar.random_normal_variable((2, 3), 0.0, 1.0, name="w", seed=1, ledger=led)


def _without_root_override():
    """In the child: drop root's power to write what its permissions forbid (the DAC override
    capabilities leave the bounding set, so the exec'd process never has them)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_read_commands_work_on_a_read_only_file_in_a_read_only_directory(tmp_path):
    """Every read command, by a process that can write neither the file nor its directory."""
    directory = tmp_path / "ledgers"
    directory.mkdir()
    path = directory / "ledger.db"
    _make_ledger(path)
    assert _side_files(path) == []
    before = _fingerprint(path)
    path.chmod(0o444)
    directory.chmod(0o555)
    try:
        out = subprocess.run(
            [sys.executable, "-c", READER, str(path), json.dumps(READ_COMMANDS)],
            capture_output=True, text=True, timeout=300,
            preexec_fn=_without_root_override if os.geteuid() == 0 else None,
        )
    finally:
        directory.chmod(0o755)
        path.chmod(0o644)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    for args, (code, output) in results.items():
        assert code == 0, (args, output)
    assert "1 verified" in results["verify --all"][1]
    assert _fingerprint(path) == before
    assert _side_files(path) == []


def test_read_commands_never_migrate_and_name_the_upgrade_command(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(DATA / "ledger-schema-0001.db", path)
    before = _fingerprint(path)
    for args in (["list"], ["verify", "--all"], ["show", "dense/bias"], ["export"]):
        r = _cli(*args, "--ledger", str(path))
        assert r.exit_code == 1, (args, r.output)
        assert f"run `reprovar db upgrade --ledger {path}`" in r.output
        assert "Traceback" not in r.output
    assert _fingerprint(path) == before and _side_files(path) == []
    with pytest.raises(LedgerError, match=r"schema revision '0001', not '\d+': run `reprovar db upgrade"):
        Ledger(path, read_only=True)
    assert _cli("db", "upgrade", "--ledger", str(path)).exit_code == 0
    r = _cli("list", "--ledger", str(path))
    assert r.exit_code == 0 and "dense/kernel" in r.output
    assert _side_files(path) == []  # the reader's connections took their -wal/-shm with them


def test_a_read_only_ledger_cannot_record(ledger_url):
    Ledger(ledger_url).close()
    with Ledger(ledger_url, read_only=True) as led:
        with pytest.raises(RecordingError, match="opened read-only"):
            reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
        with pytest.raises(Exception, match="(?i)read.only|readonly"):  # the database refuses too
            with led.engine.begin() as c:
                c.execute(text("DELETE FROM reprovar_variables"))
        assert led.find() == []


def test_an_old_server_ledger_is_refused_not_migrated_by_readers(ledger_url):
    engine = create_engine(ledger_url)
    with engine.begin() as c:
        command.upgrade(alembic_config(c), "0001")
    with pytest.raises(LedgerError, match=r"run `reprovar db upgrade --ledger "):
        Ledger(ledger_url, read_only=True)
    with engine.connect() as c:
        assert c.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "0001"
    engine.dispose()


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE variables (name TEXT, value REAL)")
        c.execute("INSERT INTO variables VALUES ('x', 1.0)")
    c.close()
    before = _fingerprint(path)
    for read_only in (False, True):
        with pytest.raises(NotALedgerError, match=r"is not a reprovar ledger: it holds other tables "
                                                  r"\(variables\).*changed nothing"):
            Ledger(path, read_only=read_only)
    r = _cli("list", "--ledger", str(path))
    assert r.exit_code == 1 and "not a reprovar ledger" in r.output
    with pytest.raises(Exception, match="not a reprovar ledger"):
        reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=str(path))
    assert _fingerprint(path) == before  # still in rollback-journal mode: no WAL switch
    with sqlite3.connect(path) as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    c.close()
    assert _side_files(path) == []


def _mlflow_like(url: str) -> set[str]:
    """A database as MLflow leaves it: its own ``runs`` and Alembic ``alembic_version``."""
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256))"))
        c.execute(text("CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name VARCHAR(250))"))
        c.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        c.execute(text("INSERT INTO alembic_version VALUES ('97727af70f4d')"))
        c.execute(text("INSERT INTO runs VALUES ('abc', 'mlflow run')"))
        tables = set(inspect(c).get_table_names())
    engine.dispose()
    return tables


def test_another_applications_database_is_not_adopted(ledger_url):
    """MLflow's alembic_version and runs: reprovar refuses and creates nothing there."""
    tables = _mlflow_like(ledger_url)
    for read_only in (False, True):
        with pytest.raises(NotALedgerError, match="is not a reprovar ledger"):
            Ledger(ledger_url, read_only=read_only)
    engine = create_engine(ledger_url)
    with engine.connect() as c:
        assert set(inspect(c).get_table_names()) == tables
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "97727af70f4d"
    engine.dispose()


def test_an_empty_database_is_initialized(ledger_url):
    with Ledger(ledger_url) as led:
        assert led.opened_at_revision is None and led.schema_revision == head_revision()


def _snapshot(url: str) -> tuple:
    engine = create_engine(url)
    with engine.connect() as c:
        state = (sorted(c.execute(text("SELECT run_uuid, name FROM runs")).all()),
                 c.execute(text("SELECT version_num FROM alembic_version")).all())
    engine.dispose()
    return state


def test_a_ledger_shares_a_database_with_another_application(ledger_url):
    """Asked to (--share), reprovar creates its own tables beside MLflow's and touches none
    of theirs; from then on it is identified by its own version table."""
    theirs = _mlflow_like(ledger_url)
    before = _snapshot(ledger_url)
    with pytest.raises(NotALedgerError, match=r"run `reprovar db upgrade --share --ledger "):
        Ledger(ledger_url)
    r = _cli("db", "upgrade", "--share", "--ledger", ledger_url)
    assert r.exit_code == 0 and "created ledger" in r.output, r.output
    with Ledger(ledger_url) as led:
        for seed in (1, 2):
            reprovar.random_normal_variable((2, 3), 0.0, 1.0, name="w", seed=seed, ledger=led)
        assert led.verify().line() == "2 verified, 0 mismatched, 0 failed"
    engine = create_engine(ledger_url)
    with engine.connect() as c:
        assert set(inspect(c).get_table_names()) == theirs | {
            "reprovar_runs", "reprovar_variables", "reprovar_tracker_links", VERSION_TABLE}
    engine.dispose()
    assert _snapshot(ledger_url) == before  # their rows and their Alembic version, untouched
    r = _cli("sql", "SELECT name, version FROM reprovar_variables ORDER BY version", "--json",
             "--allow-privileged", "--ledger", ledger_url)
    assert r.exit_code == 0 and [row["version"] for row in json.loads(r.stdout)] == [1, 2], r.output
    r = _cli("list", "--ledger", ledger_url)
    assert r.exit_code == 0 and "w" in r.output
