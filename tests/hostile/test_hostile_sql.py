"""``reprovar sql`` against what an attacker tries first, on the real servers.

Each probe once succeeded through the documented superuser URL. Now the statement check
refuses it before it reaches the server, even for a superuser that allows it
(``allow_privileged=True``); a privileged account is refused unless allowed; a read-only
account (docs/sql.md's recipe) refuses the probes on its own; every statement has a time
limit. Probes that could stop a server (``SHUTDOWN``) are only ever sent as the read-only
account, whose missing privilege the test checks first.
"""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from reprovar.audit import PrivilegedAccountError, ReadOnlyViolationError, SQLQueryError, read_only_query
from reprovar.audit.readonly import _run
from reprovar.cli import main

INFINITE = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT MAX(x) FROM c"
# MariaDB stops recursion itself (max_recursive_iterations); 10**12 joined rows do not stop.
ENDLESS = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
           "SELECT COUNT(*) FROM c a, c b, c d, c e")


@pytest.fixture
def backend(ledger):
    return ledger.engine.dialect.name


def only(backend):
    """Run a test on ``backend``'s ledger only."""
    return pytest.mark.parametrize("ledger_url", [backend], indirect=True)


@pytest.fixture
def marker(tmp_path):
    """A path a successful file-writing probe would create (world-writable directory, so a
    server running as another user could)."""
    os.chmod(tmp_path, 0o777)
    return str(tmp_path / f"probe_{secrets.token_hex(4)}")


def superuser_sql(ledger, statement, **kwargs):
    return read_only_query(ledger.url, statement, allow_privileged=True, **kwargs)


def snapshot(ledger):
    with ledger.connect() as c:
        return c.execute(sa.text("SELECT id, name, seed, digest FROM reprovar_variables ORDER BY id")).all()


@pytest.fixture
def ledger_with_rows(ledger):
    import reprovar

    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=ledger)
    return ledger


@only("postgresql")
def test_postgresql_probes_are_refused(ledger_with_rows, marker, reader_url):
    ledger = ledger_with_rows
    before = snapshot(ledger)
    probes = [
        f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'",
        "COPY (SELECT 1) TO PROGRAM 'psql -c \"DELETE FROM reprovar_variables\"'",
        f"COPY reprovar_variables TO '{marker}'",
        f"COPY reprovar_variables FROM '{marker}'",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT * FROM pg_read_file('/etc/passwd')",
        "SELECT pg_read_binary_file('/etc/passwd')",
        "SELECT * FROM pg_ls_dir('.')",
        "SELECT pg_stat_file('/etc/passwd')",
        "SELECT pg_terminate_backend(0)",
        "SELECT pg_cancel_backend(0)",
        "SELECT pg_reload_conf()",
        "SELECT pg_rotate_logfile()",
        "SELECT lo_import('/etc/passwd')",
        f"SELECT lo_export(1, '{marker}')",
        "SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)",
        "SELECT set_config('statement_timeout', '0', false)",
        "SELECT current_setting('data_directory')",
        "SET statement_timeout = 0",
        "ALTER SYSTEM SET work_mem = '1GB'",
        "SELECT * FROM pg_authid",
        "SELECT * FROM pg_catalog.pg_shadow",
        "SELECT public.lower(name) FROM reprovar_variables",
        "SELECT pg_catalog.pg_read_file('/etc/passwd')",
        "SELECT query FROM pg_stat_activity",
        "SELECT name FROM reprovar_variables FOR UPDATE",
        "WITH d AS (DELETE FROM reprovar_variables RETURNING *) SELECT * FROM d",
        "SELECT name INTO stolen FROM reprovar_variables",
        "SELECT pg_sleep(100)",
        "EXPLAIN ANALYZE DELETE FROM reprovar_variables",
        "DO $$ BEGIN PERFORM pg_reload_conf(); END $$",
        "CALL anything()",
    ]
    for probe in probes:
        with pytest.raises(SQLQueryError) as info:
            superuser_sql(ledger, probe)
        assert "\n" not in str(info.value), probe
    assert not os.path.exists(marker)
    assert snapshot(ledger) == before
    # The read-only account refuses the worst of them even without the statement check.
    for probe in (f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "SELECT pg_read_file('/etc/passwd')",
                  f"COPY reprovar_variables TO '{marker}'", "SELECT pg_reload_conf()"):
        with pytest.raises(SQLQueryError, match="permission denied|must be superuser|privileges of"):
            _run(reader_url, probe, timeout=60, allow_privileged=False, check=False)
    assert not os.path.exists(marker)


@only("mysql")
def test_mariadb_probes_are_refused(ledger_with_rows, marker, reader_url, database_servers):
    ledger = ledger_with_rows
    before = snapshot(ledger)
    admin = database_servers.admin_engine("mysql")
    with admin.connect() as c:
        connections = c.execute(sa.text("SELECT @@GLOBAL.max_connections")).scalar_one()
    harmless_if_run = [
        f"SELECT 1 INTO OUTFILE '{marker}'",
        f"SELECT name FROM reprovar_variables INTO DUMPFILE '{marker}'",
        f"SELECT name INTO OUTFILE '{marker}' FROM reprovar_variables",
        "SELECT LOAD_FILE('/etc/passwd')",
        "SELECT * FROM mysql.user",
        "SELECT mysql.lower(name) FROM reprovar_variables",
        "SELECT @@GLOBAL.secure_file_priv",
        "SELECT @x := 1",
        f"SET GLOBAL max_connections = {connections}",
        f"SET @@GLOBAL.max_connections = {connections}",
        "SELECT SLEEP(100)",
        "SELECT BENCHMARK(1000000000, MD5('x'))",
        "SELECT name FROM reprovar_variables FOR UPDATE",
        "SELECT name FROM reprovar_variables LOCK IN SHARE MODE",
        f"LOAD DATA INFILE '{marker}' INTO TABLE reprovar_variables",
        "HANDLER reprovar_variables OPEN",
        "DO SLEEP(100)",
        "FLUSH PRIVILEGES",
        "KILL CONNECTION_ID()",
    ]
    for probe in harmless_if_run:
        with pytest.raises(SQLQueryError) as info:
            superuser_sql(ledger, probe)
        assert "\n" not in str(info.value), probe
    assert not os.path.exists(marker)
    assert snapshot(ledger) == before
    # SHUTDOWN only ever goes out as the read-only account, checked to lack the privilege.
    reader = sa.make_url(reader_url)
    with admin.connect() as c:
        grants = " ".join(r[0] for r in c.execute(sa.text(f"SHOW GRANTS FOR '{reader.username}'@'%'")))
    assert "SHUTDOWN" not in grants and "ALL PRIVILEGES ON *.*" not in grants, grants
    for probe in ("SHUTDOWN", "shutdown", "/* x */ SHUTDOWN"):
        with pytest.raises(ReadOnlyViolationError, match="not a query"):
            read_only_query(reader_url, probe)
    with admin.connect() as c:
        assert c.execute(sa.text("SELECT @@GLOBAL.max_connections")).scalar_one() == connections
    # The read-only account's own refusals, without the statement check.
    assert _run(reader_url, "SELECT LOAD_FILE('/etc/passwd')", timeout=60, allow_privileged=False,
                check=False).rows == [(None,)]
    with pytest.raises(SQLQueryError, match="denied"):
        _run(reader_url, f"SELECT 1 INTO OUTFILE '{marker}'", timeout=60, allow_privileged=False, check=False)
    with pytest.raises(SQLQueryError, match="denied|SUPER"):
        _run(reader_url, f"SET GLOBAL max_connections = {connections}", timeout=60, allow_privileged=False,
             check=False)
    assert not os.path.exists(marker)


@only("sqlite")
def test_sqlite_probes_are_refused(ledger_with_rows, tmp_path):
    ledger = ledger_with_rows
    before = snapshot(ledger)
    other = tmp_path / "other.db"
    for probe in [f"ATTACH DATABASE '{other}' AS o", "SELECT load_extension('/tmp/x.so')",
                  f"SELECT writefile('{other}', 'x')", f"SELECT readfile('{ledger.url.database}')",
                  f"VACUUM INTO '{other}'", "PRAGMA writable_schema = ON", "PRAGMA query_only = OFF",
                  "SELECT randomblob(1000000000)", "SELECT zeroblob(1000000000)"]:
        with pytest.raises(SQLQueryError):
            read_only_query(ledger.url, probe)
    assert not other.exists()
    assert snapshot(ledger) == before


@pytest.mark.parametrize("ledger_url", ["postgresql", "mysql"], indirect=True)
def test_privileged_accounts_are_refused_naming_the_account_to_use(ledger_with_rows, backend, reader_url):
    ledger = ledger_with_rows
    account = {"postgresql": "postgres", "mysql": "root"}[backend]
    with pytest.raises(PrivilegedAccountError) as info:
        read_only_query(ledger.url, "SELECT COUNT(*) FROM reprovar_variables")
    message = str(info.value)
    assert account in message and "reprovar_reader" in message and "--allow-privileged" in message
    if backend == "mysql":
        assert "FILE" in message and "SUPER" in message
    assert superuser_sql(ledger, "SELECT COUNT(*) FROM reprovar_variables").rows == [(1,)]
    assert read_only_query(reader_url, "SELECT COUNT(*) FROM reprovar_variables").rows == [(1,)]
    result = CliRunner().invoke(main, ["sql", "SELECT 1", "--ledger", str(ledger.url.render_as_string(False))])
    assert result.exit_code == 1 and result.output.startswith("Error: refused: the account"), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_endless_query_stops_at_the_timeout(ledger_with_rows, backend, reader_url):
    for statement in [ENDLESS] + ([INFINITE] if backend != "mysql" else []):
        with pytest.raises(SQLQueryError, match=r"ran longer than the 0\.5 s timeout"):
            read_only_query(reader_url, statement, timeout=0.5)
    # Nothing is left running: the next query answers at once.
    assert read_only_query(reader_url, "SELECT COUNT(*) FROM reprovar_variables", timeout=5).rows == [(1,)]
    result = CliRunner().invoke(main, ["sql", ENDLESS, "--timeout", "0.5", "--ledger", reader_url])
    assert result.exit_code == 1 and "timeout" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


@only("sqlite")  # checked before any connection
@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "60", True])
def test_timeout_is_checked(ledger, timeout):
    with pytest.raises((TypeError, ValueError), match="timeout"):
        ledger.sql("SELECT 1", timeout=timeout)


# --- what the check lets through ---------------------------------------------------------------

ORDINARY = {
    "sqlite": [
        "SELECT json_extract(argv, '$[0]'), strftime('%Y', created), printf('%d', r.id), typeof(seed), "
        "instr(name, 'w') FROM reprovar_runs r JOIN reprovar_variables v ON v.run_id = r.id",
        "PRAGMA table_info(reprovar_variables)",
        "SELECT name FROM sqlite_master WHERE type = 'table'",
        "SELECT datetime(created), julianday('now') - julianday(created), round(avg(nbytes), 1), "
        "total(nbytes), group_concat(name, ';'), iif(seed > 0, 1, 0), abs(seed), hex(seed) FROM reprovar_variables",
    ],
    "postgresql": [
        "SELECT name, shape::text, created AT TIME ZONE 'UTC', (argv::json)->>0 FROM reprovar_variables v "
        "JOIN reprovar_runs r ON r.id = v.run_id WHERE name ~ 'w' AND name ILIKE '%W%' LIMIT 3 OFFSET 0",
        "SELECT count(*) FILTER (WHERE seed > 0), string_agg(name, ','), date_trunc('day', created), "
        "extract(year FROM created) FROM reprovar_variables GROUP BY 3, 4",
        "SELECT * FROM generate_series(1, 3)",
    ],
    "mysql": [
        "SELECT JSON_EXTRACT(argv, '$[0]'), DATE_FORMAT(started, '%Y'), GROUP_CONCAT(host SEPARATOR ',') FROM reprovar_runs",
        "SELECT name, CAST(seed AS UNSIGNED), IF(seed < 0, 1, 0), IFNULL(seed_source, 'x'), CONCAT(name, '/', version), "
        "TIMESTAMPDIFF(SECOND, created, NOW()) FROM reprovar_variables WHERE name LIKE 'w%' ORDER BY id DESC LIMIT 5",
    ],
}
COMMON = [
    "SELECT dtype, COUNT(*) AS n FROM reprovar_variables GROUP BY dtype",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT MAX(x) FROM c",
    "SELECT name, ROW_NUMBER() OVER (PARTITION BY name ORDER BY version DESC) AS k FROM reprovar_variables",
    "SELECT name FROM reprovar_variables v WHERE EXISTS (SELECT 1 FROM reprovar_runs r WHERE r.id = v.run_id) ORDER BY name DESC",
    "SELECT COALESCE(seed_source, '?'), CASE WHEN seed < 0 THEN 1 ELSE 0 END, LOWER(name), LENGTH(name), "
    "SUBSTR(name, 1, 3) FROM reprovar_variables",
    "SELECT a.id, b.id FROM reprovar_variables a JOIN reprovar_variables b ON a.name = b.name AND a.version <= b.version",
    "SELECT name FROM reprovar_variables UNION SELECT host FROM reprovar_runs",
]


def test_ordinary_queries_run_through_the_read_only_account(ledger_with_rows, backend, reader_url):
    for statement in COMMON + ORDINARY[backend]:
        assert read_only_query(reader_url, statement).rows, statement
