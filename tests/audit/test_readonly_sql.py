"""Read-only SQL on every backend: the connection refuses every kind of write, the ledger is
unchanged, and reads (with quotes, ``%`` and unicode) work."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from reprovar.audit import ReadOnlyViolationError, SQLQueryError

#: Statements that would change the ledger; each must be refused by the database.
WRITES = [
    "INSERT INTO variables (name) VALUES ('x')",
    "UPDATE variables SET seed = 1",
    "DELETE FROM variables",
    "DROP TABLE variables",
    "CREATE TABLE sneaky (x INTEGER)",
    "CREATE INDEX sneaky ON variables (dtype)",
    "ALTER TABLE variables ADD COLUMN sneaky INTEGER",
    "UPDATE reprovar_schema_version SET version_num = 'x'",
]
SERVER_ONLY_WRITES = [
    "TRUNCATE TABLE variables",
    "CREATE TEMPORARY TABLE sneaky (x INTEGER)",
]
SQLITE_ONLY_WRITES = [
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = DELETE",
    "ATTACH DATABASE '{path}' AS w",  # would reopen the ledger read-write
    "VACUUM",
    "REINDEX",
]


def _snapshot(ledger):
    with ledger.connect() as c:
        rows = c.execute(text("SELECT id, name, seed, digest FROM variables ORDER BY id")).all()
        tables = sorted(ledger.engine.dialect.get_table_names(c))
        revision = c.execute(text("SELECT version_num FROM reprovar_schema_version")).all()
    return rows, tables, revision


@pytest.fixture
def filled(ledger, make):
    make("it's 100% \"quoted\"", 1)
    make("ünï\nline", 2)
    return ledger


def test_reads_work(filled):
    result = filled.sql("SELECT name, version FROM variables WHERE name LIKE '%100!%%' ESCAPE '!' ORDER BY id")
    assert result.columns == ["name", "version"]
    assert result.rows == [("it's 100% \"quoted\"", 1)]
    assert filled.sql("SELECT name FROM variables WHERE name LIKE 'ünï%'").rows == [("ünï\nline",)]


def test_writes_are_refused_and_ledger_unchanged(filled):
    before = _snapshot(filled)
    statements = list(WRITES)
    if filled.engine.dialect.name == "sqlite":
        statements += [s.format(path=filled.url.database) for s in SQLITE_ONLY_WRITES]
    else:
        statements += SERVER_ONLY_WRITES
    for statement in statements:
        with pytest.raises(ReadOnlyViolationError, match="read-only") as info:
            filled.sql(statement)
        assert "\n" not in str(info.value)
    assert _snapshot(filled) == before


def test_session_tricks_do_not_escape(filled):
    """A statement cannot turn read-only off and then write: one statement per connection."""
    before = _snapshot(filled)
    dialect = filled.engine.dialect.name
    tricks = {
        "sqlite": ["PRAGMA query_only = OFF; DELETE FROM variables", "SELECT 1; DELETE FROM variables"],
        "postgresql": ["SET default_transaction_read_only = off; COMMIT; DELETE FROM variables",
                       "COMMIT; BEGIN READ WRITE; DELETE FROM variables"],
        "mysql": ["SET SESSION TRANSACTION READ WRITE; DELETE FROM variables",
                  "COMMIT; DELETE FROM variables"],
    }[dialect]
    for statement in tricks:
        with pytest.raises(SQLQueryError):
            filled.sql(statement)
    # Each call gets a fresh read-only connection, whatever an earlier one did to its session.
    for first in {"postgresql": ["SET default_transaction_read_only = off", "COMMIT"],
                  "mysql": ["COMMIT"], "sqlite": ["PRAGMA query_only = OFF"]}[dialect]:
        try:
            filled.sql(first)
        except ReadOnlyViolationError:  # SQLite refuses even that
            pass
        with pytest.raises(ReadOnlyViolationError):
            filled.sql("DELETE FROM variables")
    assert _snapshot(filled) == before


def test_bad_sql_is_one_clear_error(filled):
    with pytest.raises(SQLQueryError, match="SQL error") as info:
        filled.sql("SELEC 1")
    assert not isinstance(info.value, ReadOnlyViolationError)
    with pytest.raises(SQLQueryError):
        filled.sql("SELECT * FROM no_such_table")
