"""Read-only SQL on every backend: every kind of write is refused (by the statement check, and
by the connection on its own), the ledger is unchanged, and reads (with quotes, ``%`` and
unicode) work. Statements run through a read-only account, as docs/sql.md recommends."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from reprovar.audit import ReadOnlyViolationError, SQLQueryError, read_only_query
from reprovar.audit.readonly import _run

#: Statements that would change the ledger; each must be refused by the database.
WRITES = [
    "INSERT INTO reprovar_variables (name) VALUES ('x')",
    "UPDATE reprovar_variables SET seed = 1",
    "DELETE FROM reprovar_variables",
    "DROP TABLE reprovar_variables",
    "CREATE TABLE sneaky (x INTEGER)",
    "CREATE INDEX sneaky ON reprovar_variables (dtype)",
    "ALTER TABLE reprovar_variables ADD COLUMN sneaky INTEGER",
    "UPDATE reprovar_schema_version SET version_num = 'x'",
]
SERVER_ONLY_WRITES = [
    "TRUNCATE TABLE reprovar_variables",
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
        rows = c.execute(text("SELECT id, name, seed, digest FROM reprovar_variables ORDER BY id")).all()
        tables = sorted(ledger.engine.dialect.get_table_names(c))
        revision = c.execute(text("SELECT version_num FROM reprovar_schema_version")).all()
    return rows, tables, revision


@pytest.fixture
def filled(ledger, make):
    make("it's 100% \"quoted\"", 1)
    make("ünï\nline", 2)
    return ledger


@pytest.fixture
def sql(filled, reader_url):
    """``sql(statement)``: read-only SQL through the read-only account."""
    return lambda statement: read_only_query(reader_url, statement)


def test_reads_work(filled, sql):
    result = sql("SELECT name, version FROM reprovar_variables WHERE name LIKE '%100!%%' ESCAPE '!' ORDER BY id")
    assert result.columns == ["name", "version"]
    assert result.rows == [("it's 100% \"quoted\"", 1)]
    assert sql("SELECT name FROM reprovar_variables WHERE name LIKE 'ünï%'").rows == [("ünï\nline",)]


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "connection-only"])
def test_writes_are_refused_and_ledger_unchanged(filled, checked):
    """Refused by the statement check, and by the read-only connection alone (even for a
    superuser): the second wall holds without the first."""
    before = _snapshot(filled)
    statements = list(WRITES)
    if filled.engine.dialect.name == "sqlite":
        statements += [s.format(path=filled.url.database) for s in SQLITE_ONLY_WRITES]
    else:
        statements += SERVER_ONLY_WRITES
    for statement in statements:
        with pytest.raises(ReadOnlyViolationError, match="read-only") as info:
            _run(filled.url, statement, timeout=60, allow_privileged=True, check=checked)
        assert "\n" not in str(info.value)
    assert _snapshot(filled) == before


def test_session_tricks_do_not_escape(filled, sql):
    """A statement cannot turn read-only off and then write: one statement per connection."""
    before = _snapshot(filled)
    dialect = filled.engine.dialect.name
    tricks = {
        "sqlite": ["PRAGMA query_only = OFF; DELETE FROM reprovar_variables", "SELECT 1; DELETE FROM reprovar_variables"],
        "postgresql": ["SET default_transaction_read_only = off; COMMIT; DELETE FROM reprovar_variables",
                       "COMMIT; BEGIN READ WRITE; DELETE FROM reprovar_variables"],
        "mysql": ["SET SESSION TRANSACTION READ WRITE; DELETE FROM reprovar_variables",
                  "COMMIT; DELETE FROM reprovar_variables"],
    }[dialect]
    for statement in tricks:
        with pytest.raises(SQLQueryError):
            sql(statement)
        with pytest.raises(SQLQueryError):  # the connection alone refuses them too
            _run(filled.url, statement, timeout=60, allow_privileged=True, check=False)
    # Each call gets a fresh read-only connection, whatever an earlier one did to its session.
    for first in {"postgresql": ["SET default_transaction_read_only = off", "COMMIT"],
                  "mysql": ["COMMIT"], "sqlite": ["PRAGMA query_only = OFF"]}[dialect]:
        try:
            _run(filled.url, first, timeout=60, allow_privileged=True, check=False)
        except ReadOnlyViolationError:  # SQLite refuses even that
            pass
        with pytest.raises(ReadOnlyViolationError):
            _run(filled.url, "DELETE FROM reprovar_variables", timeout=60, allow_privileged=True, check=False)
    assert _snapshot(filled) == before


def test_bad_sql_is_one_clear_error(sql):
    with pytest.raises(SQLQueryError, match="SQL error") as info:
        sql("SELEC 1")
    assert not isinstance(info.value, ReadOnlyViolationError)
    with pytest.raises(SQLQueryError, match="no table 'no_such_table'"):
        sql("SELECT * FROM no_such_table")
