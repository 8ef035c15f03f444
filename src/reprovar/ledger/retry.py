"""The one retry policy of the ledger's writers: which database errors are transient, and how
long and how often a write is tried again.

A write loses a race, rather than fails, when the database says another writer got there
first: SQLite's write lock is taken (``database is locked``, ``database table is locked``;
writers fail fast, with ``busy_timeout = 0``, and wait here instead), PostgreSQL reports a
serialization failure (40001), deadlock (40P01) or lock not available (55P03), MariaDB a
deadlock (1213) or lock wait timeout (1205), or a unique (name, version) violation
(PostgreSQL 23505, MariaDB 1062, SQLite ``UNIQUE constraint failed``) says another writer
took the version first. :func:`is_transient` names these; :func:`is_statement_transient`
the subset after which only the failed statement is undone (a unique violation; MariaDB's
lock wait timeout), so a writer in a longer transaction can roll back to a savepoint and go
on.

:func:`retry` tries again for up to :data:`WRITE_RETRY_S` seconds, sleeping between attempts
a uniformly random time up to a ceiling that starts at :data:`RETRY_FIRST_S` and doubles up
to :data:`RETRY_MAX_S` ("full jitter"): a write transaction lasts well under a millisecond,
so waiting long only leaves the lock idle, and random waits keep competing writers from
retrying in step. Any other error, or a transient one past the deadline, propagates.

Example:
    >>> attempts = []
    >>> def flaky():
    ...     attempts.append(1)
    ...     if len(attempts) < 3:
    ...         raise RuntimeError("database is locked")
    ...     return "written"
    >>> retry(flaky, transient=lambda e: "locked" in str(e), errors=RuntimeError), len(attempts)
    ('written', 3)
"""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

T = TypeVar("T")

#: How long a writer keeps retrying after losing races (duplicate version, deadlock, busy).
WRITE_RETRY_S = 120.0
#: Backoff bounds between retries, in seconds: the first ceiling and the largest.
RETRY_FIRST_S = 0.0002
RETRY_MAX_S = 0.01

# PostgreSQL SQLSTATEs and MariaDB error numbers that mean "another writer got there first".
_PG_RETRY = {"23505", "40001", "40P01", "55P03"}  # unique, serialization, deadlock, lock
_MYSQL_RETRY = {1062, 1205, 1213}  # duplicate key, lock wait timeout, deadlock
_SQLITE_RETRY = ("database is locked", "database table is locked", "UNIQUE constraint failed")
# The subset that undoes only the failed statement, not the whole transaction.
_PG_STATEMENT_RETRY = {"23505"}  # unique
_MYSQL_STATEMENT_RETRY = {1062, 1205}  # duplicate key, lock wait timeout


def is_transient(error: BaseException) -> bool:
    """True for a driver's error that means a lost race with another writer (see the module
    doc); :func:`reprovar.ledger.dberrors.is_retryable` is the same test for SQLAlchemy's
    wrapped errors.

    Example:
        >>> import sqlite3
        >>> is_transient(sqlite3.OperationalError("database is locked"))
        True
        >>> is_transient(sqlite3.OperationalError("no such table: t"))
        False
    """
    args = getattr(error, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL: (errno, message); it also sets sqlstate
        return args[0] in _MYSQL_RETRY
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        return sqlstate in _PG_RETRY
    return any(text in str(error) for text in _SQLITE_RETRY)


def is_statement_transient(error: BaseException) -> bool:
    """True for a lost race that undid only the failed statement (PostgreSQL, MariaDB): the
    transaction may roll back to a savepoint and write the row again.

    Example:
        >>> is_statement_transient(ValueError("deadlock"))
        False
    """
    args = getattr(error, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_STATEMENT_RETRY
    return getattr(error, "sqlstate", None) in _PG_STATEMENT_RETRY


def retry(
    attempt: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool] = is_transient,
    errors: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    budget_s: float = WRITE_RETRY_S,
    before_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """``attempt()``, called again after each of ``errors`` that ``transient`` accepts, for up
    to ``budget_s`` seconds from the first call, with jittered exponential backoff (see the
    module doc). ``before_retry(error)`` runs before each wait (rolling back to a savepoint).

    ``attempt`` must leave nothing behind when it raises (its transaction rolled back), so
    that trying again writes each row once.
    """
    deadline = time.monotonic() + budget_s
    ceiling = RETRY_FIRST_S
    while True:
        try:
            return attempt()
        except errors as error:
            if not transient(error) or time.monotonic() >= deadline:
                raise
            if before_retry is not None:
                before_retry(error)
        time.sleep(random.uniform(0, ceiling))
        ceiling = min(ceiling * 2, RETRY_MAX_S)
