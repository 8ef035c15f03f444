"""Schema versioning: a new ledger at head, models equal to migrations, old ones upgrade, newer refused."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, column, create_engine, insert, inspect, table, text

import reprovar
from reprovar.errors import LedgerError, LedgerTooNewError
from reprovar import Ledger
from reprovar.ledger.digest import digest
from reprovar.ledger.models import NAME_PATTERN_INDEX, metadata, variables_table
from reprovar.ledger.schema import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
    migrations_dir,
    revision_graph,
)

DATA = Path(__file__).parent.parent / "data"
FROZEN_0001 = DATA / "ledger-schema-0001.db"
FROZEN_0002 = DATA / "ledger-schema-0002.db"


def test_new_ledger_is_created_at_head(ledger):
    assert ledger.schema_revision == head_revision()
    assert ledger.opened_at_revision is None
    with ledger.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {"reprovar_runs", "reprovar_variables", VERSION_TABLE} <= tables


def test_models_match_the_migrations(ledger_url):
    """The live models (which create new ledgers) and the migrations (which upgrade old
    ones) describe the same schema on every backend."""
    engine = create_engine(ledger_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        diff = compare_metadata(context, metadata)
    engine.dispose()
    # MariaDB reports its implicit FK index; the name pattern index is PostgreSQL's only.
    # Nothing else may differ.
    dialect = engine.dialect.name
    assert [d for d in diff if not _is_mysql_fk_index(d) and not _is_other_backends_index(d, dialect)] == []


def _is_other_backends_index(d, dialect: str) -> bool:
    return (isinstance(d, tuple) and d[0] == "add_index" and d[1].name == NAME_PATTERN_INDEX.name
            and dialect != "postgresql")


def _is_mysql_fk_index(d) -> bool:
    return isinstance(d, tuple) and d[0] == "remove_index" and d[1].name.startswith("fk_")


def test_migrations_import_nothing_from_reprovar():
    for path in migrations_dir().rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "reprovar" for n in names), (path, names)


def test_ledger_newer_than_the_package_is_refused(ledger_url):
    Ledger(ledger_url).close()
    engine = create_engine(ledger_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(LedgerTooNewError, match=r"revision '9999', newer than this reprovar .* upgrade reprovar"):
        Ledger(ledger_url)


def test_out_of_date_ledger_without_upgrade_names_the_command(ledger_url):
    _create_at_first_revision(ledger_url)
    with pytest.raises(LedgerError, match=r"run `reprovar db upgrade --ledger "):
        Ledger(ledger_url, upgrade=False)


def _create_at_first_revision(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    engine.dispose()


def test_ledger_at_first_revision_upgrades_on_open_and_keeps_its_rows(ledger_url):
    """Rows written by the first schema (by any backend) survive the upgrade and replay."""
    _create_at_first_revision(ledger_url)
    engine = create_engine(ledger_url)
    v = reprovar.random_normal_variable((3, 4), 1.0, 2.0, name="old", seed=2**64 - 1, record=False)
    # Written as the first schema's SQL would be, without the live models.
    runs = table("runs", *(column(c) for c in (
        "started", "host", "user", "pid", "argv", "cwd", "git_commit", "python_version",
        "reprovar_version", "numpy_version", "numba_version")))
    variables = table("variables", *(column(c) for c in (
        "run_id", "name", "version", "shape", "dtype", "distribution", "mean", "scale", "seed",
        "algorithm", "algorithm_version", "digest", "nbytes", "created")))
    with engine.begin() as conn:
        conn.execute(insert(runs).values(
            started="2026-01-01 00:00:00", host="h", user="u", pid=1, argv="[]", cwd="/",
            git_commit=None, python_version="3", reprovar_version="0.1.0", numpy_version="2",
            numba_version="0.6",
        ))
        run_id = conn.execute(text("SELECT MAX(id) FROM runs")).scalar_one()
        conn.execute(insert(variables).values(
            run_id=run_id, name="old", version=1, shape="[3, 4]", dtype="float32",
            distribution="normal", mean=1.0, scale=2.0, seed=-1,  # 2**64 - 1, two's complement
            algorithm=v.provenance.algorithm, algorithm_version=v.provenance.algorithm_version,
            digest=digest(v.numpy()), nbytes=48, created="2026-01-01 00:00:00",
        ))
    engine.dispose()
    led = Ledger(ledger_url)
    try:
        assert led.opened_at_revision == "0001" and led.schema_revision == head_revision()
        record = led.get("old")
        assert record.seed == 2**64 - 1 and record.shape == (3, 4)
        assert led.replay("old").numpy().tobytes() == v.numpy().tobytes()
        assert led.run(record.run_id).platform is None  # column added by 0002
        assert led.verify().line() == "1 verified, 0 mismatched, 0 failed"  # sealed by 0004
    finally:
        led.close()


@pytest.mark.parametrize(
    "frozen,revision,n_rows",
    [(FROZEN_0001, "0001", 5), (FROZEN_0002, "0002", 6)],
    ids=["schema-0001", "schema-0002"],
)
def test_frozen_schema_file_upgrades_to_head_and_replays(tmp_path, frozen, revision, n_rows):
    """A ledger file written by reprovar at an older schema, kept as made, upgrades and replays."""
    path = tmp_path / "old.db"
    shutil.copy(frozen, path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision() == revision
    engine.dispose()
    led = Ledger(path)
    try:
        assert led.opened_at_revision == revision and led.schema_revision == head_revision()
        with led.connect() as conn:
            ids = conn.execute(select(variables_table.c.id)).scalars().all()
        records = [led.get(id=i) for i in ids]
        assert len(records) == n_rows
        for record in records:
            v = led.replay(id=record.id)  # raises DigestMismatchError on any difference
            assert v.record.digest == record.digest
            # Old rows are normals: their parameters are as written, the new bounds empty.
            assert record.distribution == "normal" and record.low is None and record.high is None
            assert record.params == {"mean": record.mean, "scale": record.scale}
        assert {r.seed for r in records} >= {0, 2**63, 2**64 - 1}
        assert {r.dtype for r in records} == {"float32", "float64", "float16", "bfloat16"}
        # The upgraded ledger keeps recording, continuing the versions.
        w = reprovar.random_normal_variable((2,), 0.0, 1.0, name="dense/kernel", seed=3, ledger=led)
        assert w.record.version == 3
        # The upgrade sealed every old row; the new version chains onto the old ones.
        assert w.record.previous_seal == led.get("dense/kernel", 2).seal
        assert led.verify().line() == f"{n_rows + 1} verified, 0 mismatched, 0 failed"
    finally:
        led.close()


def test_db_upgrade_command_migrates_the_frozen_file(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(FROZEN_0001, path)
    out = subprocess.run(
        [sys.executable, "-m", "reprovar", "db", "upgrade", "--ledger", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"from schema revision 0001 to {head_revision()}" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "reprovar", "db", "upgrade", "--ledger", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    assert f"already at schema revision {head_revision()}" in out.stdout


def test_revisions_read_from_the_files_equal_alembics():
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == scripts.get_current_head()
    assert revision_graph() == {
        s.revision: tuple(s._normalized_down_revisions) for s in scripts.walk_revisions()
    }


def test_current_revision_equals_alembics(ledger, ledger_url):
    engine = create_engine(ledger_url)
    try:
        with engine.connect() as conn:
            theirs = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
            assert current_revision(conn) == theirs == head_revision()
            conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
            assert current_revision(conn) is None
            conn.rollback()
    finally:
        engine.dispose()


def test_opening_a_ledger_at_head_loads_no_alembic(tmp_path):
    path = tmp_path / "head.db"
    Ledger(path).close()
    script = (
        "import sys, reprovar\n"
        f"led = reprovar.Ledger({str(path)!r}); assert led.opened_at_revision is not None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_recipes_revision_keeps_old_seals_and_refuses_a_downgrade_that_would_lose_recipes(ledger_url):
    """Revision 0007 adds the recipe column: rows without a recipe keep the first seal form
    (rs1), rows with one get the second (rs2, which covers the recipe), both verify; going
    back below 0007 is refused while a recipe row exists, and allowed without one."""
    import torch

    import reprovar.torch as rt
    from reprovar.audit.verify import verify_record

    led = Ledger(ledger_url)
    plain = reprovar.random_normal_variable((3,), 0.0, 1.0, name="plain", seed=1, ledger=led).record
    rt.ones_(torch.empty(3), name="ln.weight", seed=1, ledger=led)
    made = led.get("ln.weight")
    assert plain.recipe is None and plain.seal.startswith("rs1:") and made.seal.startswith("rs2:")
    assert all(verify_record(r).status == "verified" for r in (plain, made))
    led.close()
    engine = create_engine(ledger_url)
    with engine.begin() as conn:
        with pytest.raises(RuntimeError, match="cannot downgrade below revision 0007: 1 variables have recipes"):
            command.downgrade(alembic_config(conn), "0006")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM reprovar_variables WHERE recipe IS NOT NULL"))
        command.downgrade(alembic_config(conn), "0006")
        assert "recipe" not in {c["name"] for c in inspect(conn).get_columns("reprovar_variables")}
        command.upgrade(alembic_config(conn), "head")
    engine.dispose()
    again = Ledger(ledger_url)
    assert verify_record(again.get("plain")).status == "verified"
    again.close()
