"""Database errors seen through reprovar: which ones a writer retries, and clear messages for the rest."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError

from ..errors import LedgerError, LedgerOpenError, NotALedgerError

# PostgreSQL SQLSTATEs and MariaDB error numbers that mean "another writer got there first".
_PG_RETRY = {"23505", "40001", "40P01", "55P03"}  # unique, serialization, deadlock, lock
_MYSQL_RETRY = {1062, 1205, 1213}  # duplicate key, lock wait timeout, deadlock
_SQLITE_RETRY = ("database is locked", "database table is locked", "UNIQUE constraint failed")
# The subset that undoes only the failed statement, not the whole transaction: a writer in
# a longer transaction can roll back to a savepoint and try again.
_PG_STATEMENT_RETRY = {"23505"}  # unique
_MYSQL_STATEMENT_RETRY = {1062, 1205}  # duplicate key, lock wait timeout


def is_retryable(exc: BaseException) -> bool:
    """True for losing a race with another writer (duplicate version, deadlock, busy lock).

    Example:
        >>> is_retryable(ValueError())
        False
    """
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    return is_retryable_dbapi(exc.orig)


def is_retryable_dbapi(orig: BaseException) -> bool:
    """:func:`is_retryable` for an exception raised by the driver itself."""
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL: (errno, message); it also sets sqlstate
        return args[0] in _MYSQL_RETRY
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        return sqlstate in _PG_RETRY
    return any(text in str(orig) for text in _SQLITE_RETRY)


def is_statement_retryable_dbapi(orig: BaseException) -> bool:
    """True for a lost race that undid only the failed statement (PostgreSQL, MariaDB).

    Example:
        >>> is_statement_retryable_dbapi(ValueError("deadlock"))
        False
    """
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_STATEMENT_RETRY
    return getattr(orig, "sqlstate", None) in _PG_STATEMENT_RETRY


def first_line(exc: BaseException) -> str:
    """The driver's own message, first line only (SQLAlchemy appends SQL and a link)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    if isinstance(orig, Exception) and len(getattr(orig, "args", ())) >= 2 and isinstance(orig.args[0], int):
        text = str(orig.args[1])  # PyMySQL: (errno, message)
    return text.splitlines()[0] if text else type(orig).__name__


def translate(exc: BaseException, where: str, action: str) -> LedgerError:
    """A :class:`~reprovar.errors.LedgerError` for ``exc`` that says what failed where.

    ``exc`` is a SQLAlchemy error or a driver's own. ``where`` is the ledger as shown to people, ``action`` what was being done
    ("open", "record a variable in", ...).

    Example:
        >>> from sqlalchemy.exc import SQLAlchemyError
        >>> translate(SQLAlchemyError("boom"), "x.db", "read").args[0]
        'cannot read ledger x.db: boom'
    """
    message = first_line(exc)
    lowered = message.lower()
    if "file is not a database" in lowered or "malformed" in lowered:
        return NotALedgerError(f"{where} is not a readable SQLite database ({message})")
    if "unable to open database file" in lowered:
        return LedgerOpenError(
            f"cannot {action} ledger {where}: unable to open the database file "
            "(is its directory writable?)"
        )
    if "readonly database" in lowered or "read-only" in lowered:
        return LedgerOpenError(f"cannot {action} ledger {where}: it is read-only ({message})")
    if "database is locked" in lowered:
        return LedgerError(
            f"cannot {action} ledger {where}: another connection held the SQLite write lock for "
            f"longer than reprovar waits for it ({_lock_wait_s(action):g} s), so nothing was "
            "written (database is locked); a long reprovar.transaction() in another process, or "
            "a tool holding the file open in a transaction, keeps it"
        )
    if isinstance(exc, DBAPIError) and exc.connection_invalidated or _is_connect_failure(lowered):
        return LedgerOpenError(f"cannot connect to ledger {where}: {message}")
    if isinstance(exc, IntegrityError):
        return LedgerError(f"cannot {action} ledger {where}: constraint violated ({message})")
    return LedgerError(f"cannot {action} ledger {where}: {message}")


def _lock_wait_s(action: str) -> float:
    # Opening waits SQLite's busy timeout once; writes retry for the writer's whole budget.
    from .engine import SQLITE_BUSY_TIMEOUT_MS
    from .writer import WRITE_RETRY_S

    return SQLITE_BUSY_TIMEOUT_MS / 1000 if action == "open" else WRITE_RETRY_S


def _is_connect_failure(lowered: str) -> bool:
    return any(
        s in lowered
        for s in (
            "connection refused",
            "can't connect",
            "could not connect",
            "connection failed",
            "unknown database",
            "does not exist",
            "access denied",
            "authentication failed",
            "name or service not known",
        )
    )
