"""The ledger's one retry policy: what is transient on each backend, the deadline, the hook."""

from __future__ import annotations

import sqlite3
import time

import pytest

from reprovar.ledger import dberrors, retry as policy
from reprovar.ledger.retry import is_statement_transient, is_transient, retry


class PgError(Exception):
    def __init__(self, sqlstate):
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


class MyError(Exception):  # PyMySQL's shape: (errno, message)
    pass


@pytest.mark.parametrize("error, transient, statement", [
    (sqlite3.OperationalError("database is locked"), True, False),
    (sqlite3.OperationalError("database table is locked"), True, False),
    (sqlite3.IntegrityError("UNIQUE constraint failed: reprovar_variables.name"), True, False),
    (sqlite3.OperationalError("disk I/O error"), False, False),
    (PgError("40001"), True, False),  # serialization failure
    (PgError("40P01"), True, False),  # deadlock
    (PgError("55P03"), True, False),  # lock not available
    (PgError("23505"), True, True),  # unique violation: only the statement is undone
    (PgError("42P01"), False, False),  # undefined table
    (MyError(1213, "Deadlock found"), True, False),
    (MyError(1205, "Lock wait timeout exceeded"), True, True),
    (MyError(1062, "Duplicate entry"), True, True),
    (MyError(1146, "Table doesn't exist"), False, False),
])
def test_transient_errors_per_backend(error, transient, statement):
    assert is_transient(error) is transient
    assert is_statement_transient(error) is statement
    # The old names are the same functions.
    assert dberrors.is_retryable_dbapi is is_transient
    assert dberrors.is_statement_retryable_dbapi is is_statement_transient


def test_retry_tries_again_only_for_transient_errors():
    calls = []

    def fails(error, times):
        def attempt():
            calls.append(1)
            if len(calls) <= times:
                raise error
            return "ok"
        return attempt

    assert retry(fails(sqlite3.OperationalError("database is locked"), 3), errors=sqlite3.Error) == "ok"
    assert len(calls) == 4
    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        retry(fails(sqlite3.OperationalError("disk I/O error"), 3), errors=sqlite3.Error)
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(ValueError):  # not one of ``errors``: never retried
        retry(fails(ValueError("database is locked"), 3), errors=sqlite3.Error)
    assert len(calls) == 1


def test_retry_stops_at_the_deadline_with_short_jittered_waits():
    calls = []

    def always_locked():
        calls.append(time.monotonic())
        raise sqlite3.OperationalError("database is locked")

    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError):
        retry(always_locked, errors=sqlite3.Error, budget_s=0.2)
    took = time.monotonic() - started
    assert 0.2 <= took < 2.0
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    assert len(calls) > 10  # waits of at most RETRY_MAX_S, not one long sleep
    assert max(gaps) < policy.RETRY_MAX_S + 0.1


def test_before_retry_runs_before_each_wait_but_not_when_giving_up():
    undone, calls = [], []

    def attempt():
        calls.append(1)
        raise PgError("23505")

    with pytest.raises(PgError):
        retry(attempt, transient=is_statement_transient, errors=PgError, budget_s=0.05,
              before_retry=undone.append)
    assert len(undone) == len(calls) - 1 and len(calls) > 1
