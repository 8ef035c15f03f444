"""``reprovar sql``: the statement the server executes is the one checked, roles count as
privileges, CTE names resolve with their scopes, and the check itself is bounded.

Every probe here once got through (see each test). Roles and databases are throwaway ones,
dropped afterwards; no server setting is changed (session settings travel in the URL).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import reprovar
from reprovar.audit import PrivilegedAccountError, ReadOnlyViolationError, SQLQueryError, read_only_query
from reprovar.audit import sqlguard
from reprovar.audit.sqlguard import check_query
from reprovar.cli import main


def only(backend):
    return pytest.mark.parametrize("ledger_url", [backend], indirect=True)


@pytest.fixture
def rows(ledger):
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=ledger)
    return ledger


@pytest.fixture
def marker(tmp_path):
    os.chmod(tmp_path, 0o777)  # the server, another user, could write here
    return str(tmp_path / f"probe_{secrets.token_hex(4)}")


def as_admin(ledger, statement, **kwargs):
    return read_only_query(ledger.url, statement, allow_privileged=True, **kwargs)


def throwaway_name(kind: str) -> str:
    return f"rpvtest_{kind}_{os.getpid()}_{secrets.token_hex(4)}"


# -- MariaDB executable comments and optimizer hints ---------------------------------------------

@only("mysql")
def test_mariadb_executable_comments_and_hints_are_refused(rows, marker, reader_url, database_servers):
    other = database_servers.create("mysql")
    other_db = sa.engine.make_url(other).database
    try:
        with database_servers.admin_engine("mysql").connect() as c:
            c.execute(sa.text(f"CREATE TABLE {other_db}.secret (s TEXT)"))
            c.execute(sa.text(f"INSERT INTO {other_db}.secret VALUES ('the other database')"))
            c.execute(sa.text(f"GRANT SELECT ON {other_db}.* TO '{sa.engine.make_url(reader_url).username}'@'%'"))
        probes = [
            f"SELECT 1 AS x /*!, (SELECT s FROM {other_db}.secret) AS leaked */",
            "SELECT 1 AS x /*!, @@datadir */",
            "SELECT 1 AS x /*!50000 , SLEEP(3) */",
            "SELECT 1 AS x /*M!100000 , GET_LOCK('rpvtest', 0) */",
            "SELECT 1 AS x /*m!, @@datadir */",
            "/*!SET STATEMENT max_statement_time=0 FOR*/ SELECT 1",
            "SELECT /*+ MAX_EXECUTION_TIME(0) */ 1",
            "SELECT 1 AS x /*!, LOAD_FILE('/etc/hostname') */",
            f"SELECT 1 AS x /*! INTO OUTFILE '{marker}' */",
        ]
        for url in (reader_url, rows.url):
            for probe in probes:
                start = time.monotonic()
                with pytest.raises(ReadOnlyViolationError, match="comment|hint"):
                    read_only_query(url, probe, allow_privileged=True)
                assert time.monotonic() - start < 2, probe
        assert not os.path.exists(marker)
        # Ordinary comments stay comments.
        statement = "SELECT 1 AS x /* a comment */ # another\n, 2 AS y -- and a third\n"
        assert read_only_query(reader_url, statement).rows == [(1, 2)]
    finally:
        database_servers.drop("mysql", other)


@only("mysql")
def test_mariadb_reads_the_statement_text_as_the_check_does(rows):
    """With NO_BACKSLASH_ESCAPES (set by the URL here, by a server's configuration
    elsewhere) MariaDB read ``'a\\'`` as a whole string, where the check read an escaped
    quote: the check saw one string where the server ran @@datadir."""
    url = rows.url.update_query_dict({"init_command": "SET sql_mode = 'NO_BACKSLASH_ESCAPES'"})
    statement = "SELECT 'a\\', @@datadir AS d, ' AS b -- '"
    result = read_only_query(url, statement, allow_privileged=True)
    assert result.columns == ["b"] and result.rows == [("a', @@datadir AS d, ",)], result


@only("postgresql")
def test_postgresql_reads_the_statement_text_as_the_check_does(rows):
    """With standard_conforming_strings off PostgreSQL read ``\\'`` as an escaped quote,
    where the check read a whole string: the server ran what the check saw as a string."""
    url = rows.url.update_query_dict({"options": "-c standard_conforming_strings=off"})
    statement = "SELECT 'a\\' AS b, ' , pg_read_file($$/etc/hostname$$) AS leaked -- '"
    result = read_only_query(url, statement, allow_privileged=True)
    assert result.columns == ["b", "?column?"], result


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_optimizer_hints_are_refused_everywhere(backend):
    with pytest.raises(ReadOnlyViolationError, match="optimizer hints"):
        check_query("SELECT /*+ Set(statement_timeout 0) */ 1", backend, tables=None)
    check_query("SELECT 1 /* an ordinary comment */", backend, tables=None)


# -- privileges held through roles -----------------------------------------------------------

@only("mysql")
def test_a_mariadb_account_with_file_through_its_default_role_is_refused(rows, reader_url, database_servers):
    admin = database_servers.admin_engine("mysql")
    account = sa.engine.make_url(reader_url).username
    outer, inner = throwaway_name("role"), throwaway_name("role")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f"CREATE ROLE {outer}"))
            c.execute(sa.text(f"CREATE ROLE {inner}"))
            c.execute(sa.text(f"GRANT FILE ON *.* TO {inner}"))
            c.execute(sa.text(f"GRANT {inner} TO {outer}"))
            c.execute(sa.text(f"GRANT {outer} TO '{account}'@'%'"))
        # Granted, not enabled: its privileges cannot be read, so it is not taken as harmless.
        with pytest.raises(PrivilegedAccountError, match=rf"has the roles {', '.join(sorted([outer, inner]))}, not enabled"):
            read_only_query(reader_url, "SELECT COUNT(*) FROM reprovar_variables")
        with admin.connect() as c:
            c.execute(sa.text(f"SET DEFAULT ROLE {outer} FOR '{account}'@'%'"))
        with pytest.raises(PrivilegedAccountError, match=rf"FILE \(through role {inner}\)"):
            read_only_query(reader_url, "SELECT COUNT(*) FROM reprovar_variables")
        assert read_only_query(reader_url, "SELECT COUNT(*) FROM reprovar_variables",
                               allow_privileged=True).rows == [(1,)]
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP ROLE IF EXISTS {outer}"))
            c.execute(sa.text(f"DROP ROLE IF EXISTS {inner}"))
    assert read_only_query(reader_url, "SELECT COUNT(*) FROM reprovar_variables").rows == [(1,)]


@only("postgresql")
def test_postgresql_role_memberships_count_as_privileges(rows, reader_url, database_servers):
    admin = database_servers.admin_engine("postgresql")
    account = sa.engine.make_url(reader_url).username
    middle = throwaway_name("role")
    cases = [
        (f"GRANT pg_monitor TO {account}", "is a member of pg_monitor, pg_read_all_settings, pg_read_all_stats, pg_stat_scan_tables"),
        (f"CREATE ROLE {middle} NOLOGIN; GRANT pg_read_server_files TO {middle}; GRANT {middle} TO {account}",
         "is a member of pg_read_server_files"),
        (f"GRANT postgres TO {account}", "is a member of the superuser role postgres"),
        (f"ALTER ROLE {account} CREATEROLE", "can create roles"),
    ]
    undo = [f"REVOKE pg_monitor FROM {account}", f"DROP ROLE {middle}", f"REVOKE postgres FROM {account}",
            f"ALTER ROLE {account} NOCREATEROLE"]
    try:
        for (grant, why), revoke in zip(cases, undo):
            with admin.connect() as c:
                for part in grant.split("; "):
                    c.execute(sa.text(part))
            try:
                with pytest.raises(PrivilegedAccountError, match=why):
                    read_only_query(reader_url, "SELECT COUNT(*) FROM reprovar_variables")
            finally:
                with admin.connect() as c:
                    c.execute(sa.text(revoke))
            assert read_only_query(reader_url, "SELECT COUNT(*) FROM reprovar_variables").rows == [(1,)]
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f"DROP ROLE IF EXISTS {middle}"))


# -- CTE names and their scopes --------------------------------------------------------------

@only("postgresql")
def test_a_cte_named_like_a_catalog_table_does_not_admit_the_table(rows):
    probes = [
        "WITH pg_user AS (SELECT usename, usesuper FROM pg_user) SELECT * FROM pg_user",
        "SELECT * FROM pg_stat_activity, (WITH pg_stat_activity AS (SELECT 1) SELECT 1) q",
        "WITH pg_authid AS (SELECT rolname, rolpassword FROM pg_authid) SELECT * FROM pg_authid",
        'WITH "PG_USER" AS (SELECT 1) SELECT * FROM pg_user',
        "WITH a AS (SELECT * FROM pg_shadow), pg_shadow AS (SELECT 1) SELECT * FROM a",
        "SELECT (WITH pg_roles AS (SELECT 1) SELECT 1), rolname FROM pg_roles",
    ]
    for probe in probes:
        with pytest.raises(SQLQueryError, match="no table 'pg_"):
            as_admin(rows, probe)


@pytest.mark.parametrize("statement", [
    "WITH v AS (SELECT name FROM reprovar_variables) SELECT * FROM v",
    "WITH a AS (SELECT name FROM reprovar_variables), b AS (SELECT name FROM a) SELECT * FROM b",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3) SELECT * FROM c",
    "SELECT * FROM (WITH v AS (SELECT name FROM reprovar_variables) SELECT * FROM v) q",
    "WITH v AS (SELECT name FROM reprovar_variables) SELECT name FROM v UNION SELECT name FROM v",
])
def test_ctes_in_scope_still_read_as_ctes(rows, reader_url, statement):
    assert read_only_query(reader_url, statement).rows


# -- the check itself: bounded, one error ----------------------------------------------------

DEEP = "SELECT " + "(" * 5000 + "1" + ")" * 5000
NOTS = "SELECT " + "NOT " * 5000 + "1"
HUGE_IN = "SELECT 1 WHERE 1 IN (" + ",".join(str(i) for i in range(100_000)) + ")"


def test_deep_or_huge_statements_are_one_error_quickly(rows):
    url = rows.url.render_as_string(hide_password=False)
    limit = getattr(sqlguard, "MAX_STATEMENT_CHARS", None)
    assert len(HUGE_IN) > 500_000 > (limit or 0)
    for statement, why in ((DEEP, "nested too deeply"), (NOTS, "nested too deeply"),
                           (HUGE_IN, f"at most {limit} characters")):
        start = time.monotonic()
        with pytest.raises(SQLQueryError, match=why):
            as_admin(rows, statement)
        assert time.monotonic() - start < 2
        result = CliRunner().invoke(main, ["sql", statement, "--allow-privileged", "--ledger", url])
        assert result.exit_code == 1 and result.output.startswith("Error: SQL error:"), result.output[:300]
        assert len(result.output.strip().splitlines()) == 1


@only("sqlite")
def test_the_parsers_warning_is_not_printed_before_the_error(rows, caplog):
    with pytest.raises(ReadOnlyViolationError):
        check_query("SHOW GRANTS", "postgresql", tables=None)
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]
    # And as a user sees it: one line on stderr.
    done = subprocess.run([sys.executable, "-c", "from reprovar.cli import main; main()", "sql", "SHOW TABLES", "--ledger",
                           rows.url.database], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.startswith("Error: refused:"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
