"""SQLAlchemy engines tuned per backend, and the checks that turn bad locations into clear errors.

SQLite: WAL (readers never block the writer; switched on by :mod:`.schema` once the file is
known to be a reprovar ledger, never on someone else's file), ``synchronous=NORMAL`` (a
commit survives a process crash; only an OS crash may lose the last commits, never corrupt
the file), a busy timeout, and ``BEGIN IMMEDIATE`` for write transactions so that concurrent
writers queue on the lock up front instead of failing with "database is locked" when they
upgrade a read lock. MariaDB: ``utf8mb4`` and READ COMMITTED, which avoids gap-lock
deadlocks between writers.

Read-only engines (``read_only=True``) cannot write: SQLite connections are opened by
:func:`connect_sqlite_read_only`; PostgreSQL and MariaDB sessions are set to read-only
transactions.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import urllib.parse
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.pool import StaticPool

from ..errors import LedgerOpenError, MissingDriverError, NotALedgerError
from .urls import display, driver_hint

#: How long a SQLite writer waits for the lock before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 60_000
#: Execution option that makes a SQLite transaction start with ``BEGIN IMMEDIATE``.
WRITE = {"reprovar_write": True}

_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_sqlite_location(path: str) -> None:
    """Refuse, with a clear message, SQLite paths that cannot hold a ledger.

    Example:
        >>> check_sqlite_location("/nonexistent-dir/reprovar.db")
        Traceback (most recent call last):
        ...
        reprovar.errors.LedgerOpenError: cannot create ledger /nonexistent-dir/reprovar.db: directory /nonexistent-dir does not exist
    """
    p = Path(path)
    if p.is_dir():
        raise LedgerOpenError(f"cannot open ledger {path}: it is a directory")
    for name in (path, *(path + suffix for suffix in _SQLITE_SIDE_FILES)):
        # Before anything opens it: opening a FIFO blocks until a writer appears, forever.
        kind = _special_kind(name)
        if kind is not None:
            which = "it" if name == path else name
            raise LedgerOpenError(f"cannot open ledger {path}: {which} is {kind}, not a regular file")
    if p.exists():
        if not os.access(p, os.R_OK):
            raise LedgerOpenError(f"cannot open ledger {path}: permission denied")
        with open(p, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
        if head and head != _SQLITE_MAGIC:
            raise NotALedgerError(f"{path} is not a SQLite database, so not a reprovar ledger")
        return
    parent = p.parent
    for ancestor in [parent, *parent.parents]:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise LedgerOpenError(
                    f"cannot create ledger {path}: {ancestor} is a file, not a directory"
                )
            break
    if not parent.exists():
        raise LedgerOpenError(f"cannot create ledger {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LedgerOpenError(f"cannot create ledger {path}: directory {parent} is not writable")


#: The files SQLite opens beside a database: its WAL, the WAL index and the rollback journal.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
_SPECIAL_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                  (stat.S_ISDIR, "a directory"))


def _special_kind(path: str) -> str | None:
    """What ``path`` is when it exists and is not a regular file (a link is followed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing, a dangling link, or unreadable: SQLite says so itself
        return None
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _SPECIAL_KINDS if test(mode)), "not a regular file")


def connect_sqlite_read_only(path: str, **kwargs) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` that cannot write to it and leaves nothing behind.

    SQLite's ``mode=ro`` is not enough: a read-only connection to a WAL database creates the
    ``-wal`` and ``-shm`` files and cannot remove them when it closes (they stay behind, with
    the file's permissions, and can block later writers). So:

    * where this process may write the file and its directory, an ordinary connection with
      ``PRAGMA query_only``: it cannot change the database, and the last one to close
      removes the ``-wal``/``-shm`` files like any connection does;
    * elsewhere, with a ``-wal`` file present (a writer is at work): ``mode=ro``, which uses
      the files that are there;
    * elsewhere, without one: ``immutable=1``; nobody with this process's rights can write
      the file, and SQLite then needs no side files at all.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "r.db")
        >>> sqlite3.connect(path).execute("CREATE TABLE t(x)").connection.close()
        >>> connect_sqlite_read_only(path).execute("INSERT INTO t VALUES (1)")
        Traceback (most recent call last):
        ...
        sqlite3.OperationalError: attempt to write a readonly database
    """
    quoted = urllib.parse.quote(os.path.abspath(path))
    directory = os.path.dirname(os.path.abspath(path))
    if os.access(path, os.W_OK) and os.access(directory, os.W_OK | os.X_OK):
        connection = sqlite3.connect(f"file:{quoted}?mode=rw", uri=True, **kwargs)
        connection.execute("PRAGMA query_only = ON")
        return connection
    mode = "mode=ro" if os.path.exists(path + "-wal") else "immutable=1"
    return sqlite3.connect(f"file:{quoted}?{mode}", uri=True, **kwargs)


def create_ledger_engine(url: URL, *, read_only: bool = False) -> Engine:
    """An engine for ``url`` with reprovar's per-backend settings (see the module docstring).

    Raises :class:`MissingDriverError` naming the pip extra when the driver is not installed.

    Example:
        >>> from reprovar.ledger.urls import to_url
        >>> create_ledger_engine(to_url("sqlite://")).dialect.name
        'sqlite'
    """
    backend = url.get_backend_name()
    shown = display(url)
    try:
        if backend == "sqlite":
            return _sqlite_engine(url, read_only)
        if backend in ("mysql", "mariadb"):
            if "charset" not in url.query:
                url = url.update_query_dict({"charset": "utf8mb4"})
            engine = create_engine(
                url, isolation_level="READ COMMITTED", pool_pre_ping=True, pool_recycle=3600
            )
        else:
            engine = create_engine(url, pool_pre_ping=True)
        if read_only:
            _read_only_sessions(engine)
        return engine
    except NoSuchModuleError as e:
        raise LedgerOpenError(
            f"cannot open ledger {shown}: SQLAlchemy has no backend {url.drivername!r}"
        ) from e
    except ImportError as e:
        raise MissingDriverError(
            f"cannot open ledger {shown}: its database driver is not installed "
            f"(no module {e.name or e}); {driver_hint(url)}"
        ) from e


def _read_only_sessions(engine: Engine) -> None:
    statement = {
        "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        "mysql": "SET SESSION TRANSACTION READ ONLY",
        "mariadb": "SET SESSION TRANSACTION READ ONLY",
    }.get(engine.dialect.name)
    if statement is None:
        raise LedgerOpenError(f"cannot open a {engine.dialect.name} ledger read-only")

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()


def _sqlite_engine(url: URL, read_only: bool) -> Engine:
    memory = url.database in (None, "", ":memory:")
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    extra = {}
    if read_only and not memory:
        path = url.database
        extra["creator"] = lambda: connect_sqlite_read_only(path, **connect_args)
    engine = create_engine(
        url,
        # One in-memory database must be one connection; files get a small pool.
        poolclass=StaticPool if memory else None,
        connect_args=connect_args,
        **extra,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN; pysqlite's own implicit
        # transactions would start deferred and would commit before DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        if connection.get_execution_options().get("reprovar_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")

    return engine
