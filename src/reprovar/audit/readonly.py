"""Read-only SQL on a ledger: one query, checked, on a connection that cannot write.

Three walls, each enough on its own for what it covers:

1. The statement is checked before it is sent (:mod:`.sqlguard`): exactly one read-only
   query over the ledger's own tables, with allowed functions only. ``COPY``, ``INTO
   OUTFILE``, ``LOAD_FILE``, ``pg_read_file``, ``pg_terminate_backend``, ``SET``,
   ``SHUTDOWN``, ... never reach the server.
2. The connection cannot write:

   * SQLite: the file is opened read-only (:func:`reprovar.ledger.engine.connect_sqlite_read_only`:
     no ``-wal``/``-shm`` files left behind) with ``query_only``; ``ATTACH`` is disabled
     (a read-only connection could otherwise attach the same file read-write) and an
     authorizer lets only reads through.
   * PostgreSQL: the session's transactions are ``READ ONLY`` and the statement is sent as a
     prepared statement, which the server refuses to hold more than one command in.
   * MariaDB/MySQL: ``SET SESSION TRANSACTION READ ONLY`` and ``START TRANSACTION READ
     ONLY``; the driver's multi-statement flag must be off.

3. The account: a PostgreSQL superuser, or a member (directly or through other roles) of a
   superuser role or of a predefined role that reaches outside the ledger
   (:data:`PG_PRIVILEGED_ROLES`: server files and programs, all data, all settings and
   statistics, signalling backends, ...), or one that can create roles; and a MariaDB/MySQL
   account that holds FILE, SUPER, SHUTDOWN or another administrative privilege, itself or
   through a role it has (its default role included; a role granted but not enabled, whose
   privileges the session cannot read, counts as privileged), are refused unless
   ``allow_privileged=True``: such an account can reach outside the database through
   anything the first two walls miss. docs/sql.md gives read-only
   account recipes.

The session reads the statement as the check did: PostgreSQL's
``standard_conforming_strings`` is on, and MariaDB/MySQL's ``sql_mode`` drops the modes that
change how text is read (``NO_BACKSLASH_ESCAPES``, ``ANSI_QUOTES`` and the modes that imply
it).

Every statement runs under a time limit (``timeout``, default 60 s): ``statement_timeout``
on PostgreSQL, ``max_statement_time`` on MariaDB (``max_execution_time`` on MySQL), a
progress handler on SQLite. Every call uses a fresh connection that is rolled back and
closed afterwards, so nothing a statement changes in the session outlives it.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ..errors import ArgumentTypeError, ArgumentValueError, ReprovarError
from ..ledger.engine import connect_sqlite_read_only
from ..ledger.urls import to_url
from .errors import PrivilegedAccountError, ReadOnlyViolationError, SQLQueryError
from .sqlguard import check_parsed, parse_query

#: Default time limit of one statement, in seconds.
DEFAULT_TIMEOUT_S = 60.0
#: How long connecting to a server may take, in seconds.
CONNECT_TIMEOUT_S = 10
#: The account name the read-only recipes of docs/sql.md create.
READER_ACCOUNT = "reprovar_reader"

# What the SQLite authorizer lets through: reading tables, calling functions, recursive CTEs
# and pragmas that only report.
_SQLITE_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           sqlite3.SQLITE_RECURSIVE}
_SQLITE_REPORTING_PRAGMAS = {
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "database_list", "collation_list", "function_list", "pragma_list",
    "compile_options",
}
#: SQLite's schema tables: readable in any ledger file.
_SQLITE_SCHEMA_TABLES = ("sqlite_master", "sqlite_schema")
#: VM instructions between two looks at the clock on SQLite.
_SQLITE_PROGRESS_STEPS = 10_000
_PG_READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction
_PG_CANCELED_SQLSTATE = "57014"  # query_canceled, which statement_timeout raises
_MYSQL_READ_ONLY_ERRNOS = {1792, 1290}  # read-only transaction; --read-only server
_MYSQL_TIMEOUT_ERRNOS = {1969, 3024}  # MariaDB max_statement_time; MySQL max_execution_time
#: PostgreSQL predefined roles whose members reach outside the ledger's tables: server files
#: and programs, every table's data, every setting and session statistic, signalling other
#: backends, checkpoints, subscriptions (those a server lacks are simply not held).
PG_PRIVILEGED_ROLES = (
    "pg_read_server_files", "pg_write_server_files", "pg_execute_server_program",
    "pg_read_all_data", "pg_write_all_data", "pg_read_all_settings", "pg_read_all_stats",
    "pg_stat_scan_tables", "pg_monitor", "pg_signal_backend", "pg_signal_autovacuum_worker",
    "pg_checkpoint", "pg_create_subscription", "pg_maintain",
)
_PG_ACCOUNT = (
    "SELECT current_user, r.rolsuper, r.rolcreaterole, "
    "ARRAY(SELECT s.rolname::text FROM pg_roles s WHERE s.rolsuper AND s.rolname <> current_user "
    "      AND pg_has_role(current_user, s.oid, 'MEMBER') ORDER BY 1), "
    "ARRAY(SELECT p.rolname::text FROM pg_roles p WHERE p.rolname = ANY(%s) "
    "      AND pg_has_role(current_user, p.oid, 'MEMBER') ORDER BY 1) "
    "FROM pg_roles r WHERE r.rolname = current_user"
)
#: MariaDB/MySQL global privileges that reach outside the database or change the server.
_MYSQL_PRIVILEGED = {
    "FILE", "SUPER", "SHUTDOWN", "RELOAD", "PROCESS", "CREATE USER", "SET USER",
    "CONNECTION ADMIN", "READ_ONLY ADMIN", "BINLOG ADMIN", "REPLICATION MASTER ADMIN",
    "REPLICATION SLAVE ADMIN", "FEDERATED ADMIN", "SYSTEM_VARIABLES_ADMIN", "ALL PRIVILEGES", "ALL",
}
#: A line of SHOW GRANTS that grants privileges: "GRANT FILE, PROCESS ON *.* TO `r`".
_MYSQL_GRANT = re.compile(r"GRANT\s+(.+?)\s+ON\s+(\S+)\s+TO\s+(.+?)(?:\s+IDENTIFIED\b.*|\s+WITH\b.*)?$",
                          re.IGNORECASE | re.DOTALL)
#: sql_mode flags that change how statement text is read (the check reads it without them).
_MYSQL_LEXICAL_MODES = {"NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "ANSI", "ORACLE", "MSSQL", "DB2",
                        "POSTGRESQL", "MAXDB"}
# The global privileges of the account the session runs as. CURRENT_USER() is user@host;
# USER_PRIVILEGES names it 'user'@'host'.
_MYSQL_GLOBAL_PRIVILEGES = (
    "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = "
    "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', "
    "SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')"
)

Guard = Callable[[Optional[Iterable[str]]], None]


@dataclass(frozen=True)
class SQLResult:
    """Column names and rows of a read-only query.

    Example:
        >>> r = SQLResult(columns=["n"], rows=[(1,)])
        >>> r.as_dicts()
        [{'n': 1}]
    """

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row)) for row in self.rows]


def read_only_query(
    url: str | os.PathLike | sa.URL,
    statement: str,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    allow_privileged: bool = False,
) -> SQLResult:
    """Run one read-only query on the ledger at ``url`` (a path or a SQLAlchemy URL; see the
    module for the three walls).

    Raises :class:`ReadOnlyViolationError` when the statement is not a read-only query or
    tries to change anything, :class:`PrivilegedAccountError` for a privileged account
    without ``allow_privileged``, :class:`SQLQueryError` for any other failure (syntax,
    unknown table, more than one statement, unreachable server, ``timeout`` seconds passed).

    Example:
        >>> import sqlite3, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "l.db")
        >>> sqlite3.connect(path).executescript("CREATE TABLE t(x); INSERT INTO t VALUES (1);")  # doctest: +ELLIPSIS
        <sqlite3.Cursor ...>
        >>> read_only_query(f"sqlite:///{path}", "SELECT x FROM t").rows
        [(1,)]
    """
    return _run(url, statement, timeout=timeout, allow_privileged=allow_privileged, check=True)


def _run(url, statement: str, *, timeout: float, allow_privileged: bool, check: bool) -> SQLResult:
    # check=False skips the statement check, so that tests can show the connection's own wall.
    timeout = _check_timeout(timeout)
    if not isinstance(allow_privileged, bool):
        raise ArgumentTypeError(f"allow_privileged must be a bool, got {type(allow_privileged).__name__}")
    try:
        url = to_url(url)
    except (ReprovarError, sa.exc.ArgumentError) as e:
        raise SQLQueryError(f"not a ledger location: {e}") from e
    backend = url.get_backend_name()
    runner = {"sqlite": _sqlite, "postgresql": _postgresql, "mysql": _mysql, "mariadb": _mysql}.get(backend)
    if runner is None:
        raise SQLQueryError(f"read-only SQL is not supported for {backend!r} ledgers "
                            "(supported: sqlite, postgresql, mysql/mariadb)")

    parsed = parse_query(statement, backend) if check else None

    def guard(tables: Iterable[str] | None) -> None:
        if parsed is not None:
            check_parsed(parsed, tables=tables)

    guard(None)  # a refused statement never opens a connection
    return runner(url, statement, timeout, allow_privileged, guard)


def _check_timeout(timeout) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise ArgumentTypeError(f"timeout must be a number of seconds, got {type(timeout).__name__}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ArgumentValueError(f"timeout must be a finite number of seconds > 0, got {timeout}")
    return float(timeout)


def _timed_out(timeout: float) -> SQLQueryError:
    return SQLQueryError(f"the statement ran longer than the {timeout:g} s timeout and was "
                         "stopped (reprovar sql --timeout SECONDS)")


# -- SQLite -----------------------------------------------------------------------------------

def _sqlite_authorizer(action, arg1, arg2, dbname, trigger):
    if action in _SQLITE_ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or arg1.lower() in _SQLITE_REPORTING_PRAGMAS):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite(url: sa.URL, statement: str, timeout: float, allow_privileged: bool, guard: Guard) -> SQLResult:
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise SQLQueryError("read-only SQL needs a SQLite ledger file path, "
                            f"not {url.render_as_string(hide_password=True)!r}")
    if not os.path.isfile(path):
        raise SQLQueryError(f"cannot open {path!r} read-only: no such file")
    try:
        # Read-only, in read-only directories too, and no -wal/-shm files left behind.
        conn = connect_sqlite_read_only(path, isolation_level=None)
    except sqlite3.Error as e:
        raise SQLQueryError(f"cannot open {path!r} read-only: {e}") from e
    try:
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.execute("PRAGMA query_only = ON")
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        except sqlite3.DatabaseError as e:
            raise SQLQueryError(f"cannot read {path!r}: {e}") from e
        guard([*tables, *_SQLITE_SCHEMA_TABLES])
        conn.set_authorizer(_sqlite_authorizer)
        deadline = time.monotonic() + timeout
        conn.set_progress_handler(lambda: time.monotonic() > deadline, _SQLITE_PROGRESS_STEPS)
        try:
            cursor = conn.execute(statement)
            rows = cursor.fetchall()
        except sqlite3.DatabaseError as e:
            text = str(e)
            if text == "interrupted" and time.monotonic() > deadline:
                raise _timed_out(timeout) from e
            if "not authorized" in text or "authorization denied" in text:
                text = "only statements that read are allowed"
            if "readonly" in text or "only statements that read" in text:
                raise ReadOnlyViolationError(_refusal(text)) from e
            raise SQLQueryError(f"SQL error: {text}") from e
        except (sqlite3.ProgrammingError, sqlite3.Warning) as e:  # e.g. more than one statement
            raise SQLQueryError(f"SQL error: {e}") from e
        columns = [d[0] for d in cursor.description or ()]
        return SQLResult(columns, [tuple(r) for r in rows])
    finally:
        conn.close()


# -- Server databases -------------------------------------------------------------------------

def _connect_raw(url: sa.URL):
    shown = url.render_as_string(hide_password=True)
    try:
        engine = sa.create_engine(url, poolclass=NullPool,
                                  connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    except (ImportError, sa.exc.ArgumentError) as e:
        raise SQLQueryError(f"cannot open {shown}: {e}") from e
    try:
        return engine, engine.raw_connection()
    except (sa.exc.SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as e:
        engine.dispose()
        reason = " ".join(str(getattr(e, "orig", None) or e).split())
        raise SQLQueryError(f"cannot connect to {shown}: {reason}") from e


def _privileged_refusal(account: str, why: str, scheme: str) -> PrivilegedAccountError:
    return PrivilegedAccountError(
        f"refused: the account {account} {why}, so a query could reach outside the ledger's "
        "database; connect as a read-only account instead (docs/sql.md, 'Read-only "
        f"accounts': --ledger {scheme}://{READER_ACCOUNT}@HOST/DATABASE), or pass "
        "--allow-privileged (allow_privileged=True) to use this account anyway"
    )


def _postgresql(url: sa.URL, statement: str, timeout: float, allow_privileged: bool, guard: Guard) -> SQLResult:
    if url.get_driver_name() != "psycopg":
        raise SQLQueryError("read-only SQL on PostgreSQL needs the psycopg driver "
                            "(postgresql+psycopg://...; pip install 'reprovar[postgres]')")
    import psycopg

    engine, proxy = _connect_raw(url)
    conn = proxy.driver_connection
    try:
        conn.rollback()
        try:
            user, superuser, createrole, super_roles, held = conn.execute(
                _PG_ACCOUNT, (list(PG_PRIVILEGED_ROLES),)).fetchone()
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
            conn.rollback()
        except psycopg.Error as e:
            raise SQLQueryError(f"cannot read the account's privileges: {_pg_text(e)}") from e
        if not allow_privileged:
            why = ("is a PostgreSQL superuser" if superuser else
                   f"is a member of the superuser role {', '.join(super_roles)}" if super_roles else
                   f"is a member of {', '.join(held)}" if held else
                   "can create roles (CREATEROLE), and so grant itself others" if createrole else None)
            if why:
                raise _privileged_refusal(user, why, "postgresql+psycopg")
        guard(tables)
        conn.execute("SET standard_conforming_strings = on")  # '\' reads as the check read it
        conn.execute(f"SET statement_timeout = {max(1, round(timeout * 1000))}")
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        conn.commit()
        with conn.cursor() as cursor:
            try:
                # prepare=True: the extended protocol accepts exactly one command.
                cursor.execute(statement, prepare=True)
                rows = cursor.fetchall() if cursor.description else []
            except psycopg.Error as e:
                state = getattr(e, "sqlstate", None)
                if state == _PG_CANCELED_SQLSTATE:
                    raise _timed_out(timeout) from e
                if state == _PG_READ_ONLY_SQLSTATE:
                    raise ReadOnlyViolationError(_refusal(_pg_text(e))) from e
                raise SQLQueryError(f"SQL error: {_pg_text(e)}") from e
            columns = [d.name for d in cursor.description or ()]
        return SQLResult(columns, [tuple(r) for r in rows])
    finally:
        try:
            conn.rollback()
        finally:
            proxy.invalidate()  # never hand this session back to a pool
            engine.dispose()


def _pg_text(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _mysql(url: sa.URL, statement: str, timeout: float, allow_privileged: bool, guard: Guard) -> SQLResult:
    if url.get_driver_name() != "pymysql":
        raise SQLQueryError("read-only SQL on MariaDB/MySQL needs the PyMySQL driver "
                            "(mysql+pymysql://...; pip install 'reprovar[mysql]')")
    import pymysql
    from pymysql.constants import CLIENT

    engine, proxy = _connect_raw(url)
    conn = proxy.driver_connection
    try:
        if conn.client_flag & CLIENT.MULTI_STATEMENTS:
            raise SQLQueryError("read-only SQL refuses a MySQL connection with multi-statements on")
        conn.rollback()
        with conn.cursor() as cursor:
            try:  # execute() without args: '%' and quotes are sent as written
                cursor.execute("SELECT CURRENT_USER(), VERSION()")
                user, version = cursor.fetchone()
                privileges, unreadable = _mysql_global_privileges(cursor, user, version)
                cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
                tables = [r[0] for r in cursor.fetchall()]
            except pymysql.Error as e:
                raise SQLQueryError(f"cannot read the account's privileges: {_mysql_text(e)}") from e
            held = sorted(set(privileges) & _MYSQL_PRIVILEGED)
            if held and not allow_privileged:
                shown = ", ".join(p + ("" if privileges[p] is None else f" (through role {privileges[p]})")
                                  for p in held)
                raise _privileged_refusal(user, f"has the global privileges {shown}", "mysql+pymysql")
            if unreadable and not allow_privileged:
                raise _privileged_refusal(
                    user, f"has the role{'s' if len(unreadable) > 1 else ''} {', '.join(unreadable)}, "
                          "not enabled, whose privileges it cannot read (so they may include FILE)",
                    "mysql+pymysql")
            guard(tables)
            cursor.execute("SELECT @@SESSION.sql_mode")
            modes = [m for m in str(cursor.fetchone()[0] or "").split(",")
                     if m and m.upper() not in _MYSQL_LEXICAL_MODES]
            cursor.execute(f"SET SESSION sql_mode = '{','.join(modes)}'")  # names: [A-Z_] only
            if "mariadb" in str(version).lower():
                cursor.execute(f"SET SESSION max_statement_time = {timeout:.6f}")
            else:
                cursor.execute(f"SET SESSION max_execution_time = {max(1, round(timeout * 1000))}")
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("START TRANSACTION READ ONLY")
            try:
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.description else []
            except pymysql.Error as e:
                errno = e.args[0] if e.args and isinstance(e.args[0], int) else None
                if errno in _MYSQL_TIMEOUT_ERRNOS:
                    raise _timed_out(timeout) from e
                if errno in _MYSQL_READ_ONLY_ERRNOS:
                    raise ReadOnlyViolationError(_refusal(_mysql_text(e))) from e
                raise SQLQueryError(f"SQL error: {_mysql_text(e)}") from e
            columns = [d[0] for d in cursor.description or ()]
        return SQLResult(columns, [tuple(r) for r in rows])
    finally:
        try:
            conn.rollback()
        finally:
            proxy.invalidate()
            engine.dispose()


def _mysql_global_privileges(cursor, user: str, version: str) -> tuple[dict[str, str | None], list[str]]:
    """The global privileges the session holds, each mapped to the role it comes through
    (None: the account's own), and the roles granted to it whose privileges it cannot read.

    Counted: its own grants, those of its enabled roles (the default role and the roles
    granted to it: MariaDB's SHOW GRANTS lists them) and those of every other role granted
    to it, where the account may read them (a role not enabled it may not, on MariaDB)."""
    import pymysql

    def grants(statement: str) -> list[str]:
        try:
            cursor.execute(statement)
        except pymysql.MySQLError:  # a role whose grants it may not read (nested in another)
            return []
        return [str(r[0]) for r in cursor.fetchall()]

    cursor.execute("SHOW GRANTS")  # its own: must be readable
    lines = [str(r[0]) for r in cursor.fetchall()]
    if "mariadb" not in str(version).lower():
        cursor.execute("SELECT CURRENT_ROLE()")
        current = str(cursor.fetchone()[0] or "NONE")
        if current.upper() != "NONE":
            lines += grants(f"SHOW GRANTS FOR CURRENT_USER() USING {current}")
    cursor.execute("SELECT ROLE_NAME FROM information_schema.APPLICABLE_ROLES")
    applicable = list(dict.fromkeys(str(r[0]) for r in cursor.fetchall()))
    enabled = set(_column(cursor, "SELECT ROLE_NAME FROM information_schema.ENABLED_ROLES"))
    unreadable = []
    for role in applicable:
        found = grants(f"SHOW GRANTS FOR `{role.replace('`', '``')}`")
        if not found and role not in enabled:
            unreadable.append(role)
        lines += found
    account = str(user).split("@", 1)[0]
    held: dict[str, str | None] = {}
    for line in lines:
        found = _MYSQL_GRANT.match(line.strip())
        if found is None or found.group(2).replace("`", "") != "*.*":
            continue
        grantee = found.group(3).split("@", 1)[0].strip("`'\"")
        via = None if grantee == account else grantee
        for privilege in re.sub(r"\([^)]*\)", "", found.group(1)).split(","):
            privilege = " ".join(privilege.split()).upper()
            if privilege and (privilege not in held or via is None):
                held[privilege] = via
    cursor.execute(_MYSQL_GLOBAL_PRIVILEGES)
    for (privilege,) in cursor.fetchall():
        held[str(privilege).upper()] = None
    return held, sorted(unreadable)


def _column(cursor, statement: str) -> list[str]:
    import pymysql

    try:
        cursor.execute(statement)
    except pymysql.MySQLError:  # a server without that table
        return []
    return [str(r[0]) for r in cursor.fetchall()]


def _mysql_text(e: Exception) -> str:
    return str(e.args[1]) if len(e.args) > 1 else str(e)


def _refusal(detail: str) -> str:
    return f"refused: reprovar sql is read-only and cannot modify the ledger ({detail})"
