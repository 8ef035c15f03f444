"""Database errors seen through reprovar: clear messages, and (from :mod:`.retry`, where the
policy lives) which ones a writer retries."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError

from ..errors import LedgerError, LedgerOpenError, NotALedgerError
from .retry import is_statement_transient as is_statement_retryable_dbapi
from .retry import is_transient as is_retryable_dbapi

__all__ = ["first_line", "is_retryable", "is_retryable_dbapi", "is_statement_retryable_dbapi", "translate"]


def is_retryable(exc: BaseException) -> bool:
    """True for a SQLAlchemy error that means losing a race with another writer (duplicate
    version, deadlock, busy lock; see :mod:`.retry`), unless its connection was lost.

    Example:
        >>> is_retryable(ValueError())
        False
    """
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    return is_retryable_dbapi(exc.orig)


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
    from .writer import WRITE_RETRY_S  # read there: tests shorten the writers' budget

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
