"""Read-only SQL on a ledger: one statement, on a connection that cannot write.

The guarantee comes from the connection, never from looking at the statement's words:

* SQLite: the file is opened read-only (:func:`reprovar.ledger.engine.connect_sqlite_read_only`,
  which leaves no ``-wal``/``-shm`` files behind) with ``query_only``; ``ATTACH`` is disabled
  (a read-only connection could otherwise attach the same file read-write) and an authorizer
  lets only reads through.
* PostgreSQL: the session's transactions are ``READ ONLY`` and the statement is sent as a
  prepared statement, which the server refuses to hold more than one command in, so a
  ``SET ...; COMMIT; INSERT ...`` string cannot escape the read-only transaction.
* MariaDB/MySQL: ``SET SESSION TRANSACTION READ ONLY`` and ``START TRANSACTION READ ONLY``;
  the driver's multi-statement flag must be off.

Every call uses a fresh connection that is rolled back and closed afterwards, so nothing a
statement changes in the session (a ``SET``) outlives it.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ..ledger.engine import connect_sqlite_read_only
from .errors import ReadOnlyViolationError, SQLQueryError

# What the SQLite authorizer lets through: reading tables, calling functions, recursive CTEs
# and pragmas that only report.
_SQLITE_ALLOWED_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                           sqlite3.SQLITE_RECURSIVE}
_SQLITE_REPORTING_PRAGMAS = {
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "database_list", "collation_list", "function_list", "pragma_list",
    "compile_options",
}
_PG_READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction
_MYSQL_READ_ONLY_ERRNOS = {1792, 1290}  # read-only transaction; --read-only server


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


def read_only_query(url: str | sa.URL, statement: str) -> SQLResult:
    """Run one SQL statement on the ledger at ``url`` through a connection that cannot write.

    Raises :class:`ReadOnlyViolationError` when the statement tries to change anything,
    :class:`SQLQueryError` for any other failure (syntax, unknown table, more than one
    statement).

    Example:
        >>> import sqlite3, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "l.db")
        >>> sqlite3.connect(path).executescript("CREATE TABLE t(x); INSERT INTO t VALUES (1);")  # doctest: +ELLIPSIS
        <sqlite3.Cursor ...>
        >>> read_only_query(f"sqlite:///{path}", "SELECT x FROM t").rows
        [(1,)]
    """
    url = sa.make_url(url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite(url, statement)
    if backend == "postgresql":
        return _postgresql(url, statement)
    if backend in ("mysql", "mariadb"):
        return _mysql(url, statement)
    raise SQLQueryError(f"read-only SQL is not supported for {backend!r} ledgers "
                        "(supported: sqlite, postgresql, mysql/mariadb)")


# -- SQLite -----------------------------------------------------------------------------------

def _sqlite_authorizer(action, arg1, arg2, dbname, trigger):
    if action in _SQLITE_ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or arg1.lower() in _SQLITE_REPORTING_PRAGMAS):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite(url: sa.URL, statement: str) -> SQLResult:
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
        conn.set_authorizer(_sqlite_authorizer)
        try:
            cursor = conn.execute(statement)
            rows = cursor.fetchall()
        except sqlite3.DatabaseError as e:
            text = str(e)
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
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
    except (ImportError, sa.exc.ArgumentError) as e:
        raise SQLQueryError(f"cannot open {url.render_as_string(hide_password=True)}: {e}") from e
    try:
        return engine, engine.raw_connection()
    except sa.exc.SQLAlchemyError as e:
        engine.dispose()
        raise SQLQueryError(f"cannot connect to {url.render_as_string(hide_password=True)}: "
                            f"{getattr(e, 'orig', e)}") from e


def _postgresql(url: sa.URL, statement: str) -> SQLResult:
    if url.get_driver_name() != "psycopg":
        raise SQLQueryError("read-only SQL on PostgreSQL needs the psycopg driver "
                            "(postgresql+psycopg://...; pip install 'reprovar[postgres]')")
    import psycopg

    engine, proxy = _connect_raw(url)
    conn = proxy.driver_connection
    try:
        conn.rollback()
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        conn.commit()
        with conn.cursor() as cursor:
            try:
                # prepare=True: the extended protocol accepts exactly one command.
                cursor.execute(statement, prepare=True)
                rows = cursor.fetchall() if cursor.description else []
            except psycopg.Error as e:
                text = str(e).splitlines()[0] if str(e) else type(e).__name__
                if getattr(e, "sqlstate", None) == _PG_READ_ONLY_SQLSTATE:
                    raise ReadOnlyViolationError(_refusal(text)) from e
                raise SQLQueryError(f"SQL error: {text}") from e
            columns = [d.name for d in cursor.description or ()]
        return SQLResult(columns, [tuple(r) for r in rows])
    finally:
        try:
            conn.rollback()
        finally:
            proxy.invalidate()  # never hand this session back to a pool
            engine.dispose()


def _mysql(url: sa.URL, statement: str) -> SQLResult:
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
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("START TRANSACTION READ ONLY")
            try:
                cursor.execute(statement)  # no args: '%' in the statement is left alone
                rows = cursor.fetchall() if cursor.description else []
            except pymysql.Error as e:
                errno = e.args[0] if e.args and isinstance(e.args[0], int) else None
                text = e.args[1] if len(e.args) > 1 else str(e)
                if errno in _MYSQL_READ_ONLY_ERRNOS:
                    raise ReadOnlyViolationError(_refusal(text)) from e
                raise SQLQueryError(f"SQL error: {text}") from e
            columns = [d[0] for d in cursor.description or ()]
        return SQLResult(columns, [tuple(r) for r in rows])
    finally:
        try:
            conn.rollback()
        finally:
            proxy.invalidate()
            engine.dispose()


def _refusal(detail: str) -> str:
    return f"refused: reprovar sql is read-only and cannot modify the ledger ({detail})"
