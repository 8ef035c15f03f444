"""The hot write path: one variable row per transaction, on one DBAPI connection per process.

Measured on SQLite, going through SQLAlchemy's ``Connection.execute`` costs ~300 µs per
recorded variable, against ~60 µs for the same transaction on the driver. So the statements
are compiled once by SQLAlchemy for the engine's dialect (SQL text, parameter order and each
column type's bind processor: the models stay the single source of truth for conversions),
and executed directly on a pooled DBAPI connection.

Versions: within the write transaction the next version is one more than the name's latest,
whose seal is read in the same query and chained into the new row's seal (see
:mod:`.seal`); the unique (name, version) constraint is the guarantee. On SQLite ``BEGIN IMMEDIATE`` makes
writers take turns, so the race cannot happen; on PostgreSQL and MariaDB two writers may
pick the same number, one gets a unique violation (or a deadlock), rolls back and retries.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, insert, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.compiler import Compiled

from .dberrors import is_retryable_dbapi
from .models import variables_table
from .seal import SealKey, compute_seal

#: How long a writer keeps retrying after losing races (duplicate version, deadlock, busy).
WRITE_RETRY_S = 120.0
#: Backoff bounds between retries, in seconds.
RETRY_FIRST_S = 0.0002
RETRY_MAX_S = 0.01

VARIABLE_COLUMNS = (
    "run_id",
    "name",
    "version",
    "shape",
    "dtype",
    "distribution",
    "mean",
    "scale",
    "seed",
    "seed_source",
    "algorithm",
    "algorithm_version",
    "digest",
    "nbytes",
    "created",
    "seal",
    "previous_seal",
)


class _StaleConnection(Exception):
    """The connection was found dead before the transaction wrote anything."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


class _Statement:
    """A statement compiled for one dialect, ready for ``cursor.execute`` with a dict of values."""

    def __init__(self, compiled: Compiled, engine: Engine, types: dict[str, Any]):
        dialect = engine.dialect
        self.sql = compiled.string
        keys = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        processors = {}
        for key, type_ in types.items():
            processor = type_.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[key] = processor
        self._plan = [(key, processors.get(key)) for key in keys]
        self._positional = compiled.positional

    def override(self, key: str, processor) -> None:
        """Use ``processor`` for ``key`` instead of the column type's own."""
        self._plan = [(k, processor if k == key else p) for k, p in self._plan]

    def params(self, values: dict[str, Any]):
        # One pass, no intermediate copies: this runs once per recorded variable.
        if self._positional:
            return tuple(values[k] if p is None else p(values[k]) for k, p in self._plan)
        return {k: values[k] if p is None else p(values[k]) for k, p in self._plan}


def _sqlite_utc_text(value: datetime) -> str:
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


class VariableWriter:
    """Inserts variable rows through a DBAPI connection borrowed from ``engine``'s pool.

    Not thread-safe: the owning :class:`~reprovar.ledger.Ledger` serializes calls.
    """

    def __init__(self, engine: Engine, key: SealKey | None = None):
        self._engine = engine
        self._key = key
        dialect = engine.dialect
        self._sqlite = dialect.name == "sqlite"
        self._lastrowid = bool(dialect.postfetch_lastrowid)
        t = variables_table
        columns = {name: t.c[name].type for name in VARIABLE_COLUMNS}
        stmt = insert(t)
        if not self._lastrowid:
            stmt = stmt.returning(t.c.id)
        self._insert = _Statement(
            stmt.compile(dialect=dialect, column_keys=list(VARIABLE_COLUMNS)), engine, columns
        )
        if self._sqlite:
            # SQLAlchemy's SQLite DATETIME formatter costs ~6 us a row; isoformat writes the
            # same "YYYY-MM-DD HH:MM:SS.ffffff" text (read back by the same type) in ~0.5 us.
            self._insert.override("created", _sqlite_utc_text)
        self._latest = _Statement(
            # The name's latest version and its seal, from the (name, version) index.
            select(t.c.version, t.c.seal)
            .where(t.c.name == bindparam("name"))
            .order_by(t.c.version.desc())
            # Literal constants: the only parameter is the name.
            .limit(literal_column("1"))
            .offset(literal_column("0"))
            .compile(dialect=dialect),
            engine,
            {"name": t.c.name.type},
        )
        self._connection = None  # a pool-proxied DBAPI connection

    def insert(self, values: dict[str, Any]) -> tuple[int, int]:
        """Insert ``values`` (all of :data:`VARIABLE_COLUMNS` but ``version`` and the seals,
        which it sets); return (id, version).

        Retries lost races for up to :data:`WRITE_RETRY_S`; any other DBAPI error propagates
        after the transaction is rolled back.
        """
        deadline = time.monotonic() + WRITE_RETRY_S
        delay = RETRY_FIRST_S
        reconnected = False
        while True:
            try:
                return self._insert_once(values)
            except _StaleConnection as stale:
                # The server dropped the idle connection (restart, idle timeout) before this
                # transaction wrote anything: safe to retry once on a fresh one.
                if reconnected:
                    raise stale.error from None
                reconnected = True
                continue
            except self._engine.dialect.loaded_dbapi.Error as e:
                if is_retryable_dbapi(e) and time.monotonic() < deadline:
                    # Full jitter, short ceiling: a write transaction lasts well under a
                    # millisecond, so waiting long only leaves the lock idle.
                    time.sleep(random.uniform(0, delay))
                    delay = min(delay * 2, RETRY_MAX_S)
                    continue
                raise

    def _insert_once(self, values: dict[str, Any]) -> tuple[int, int]:
        connection = self._connection
        if connection is None:
            connection = self._connection = self._engine.raw_connection()
            if self._sqlite:
                # SQLite's own busy handler sleeps 1, 2, 5 ... 100 ms between attempts;
                # with many writers the lock then sits idle most of the time. Fail fast
                # instead and retry with the short jittered backoff in insert().
                connection.driver_connection.execute("PRAGMA busy_timeout = 0")
        if self._sqlite:
            return self._insert_once_sqlite(connection, values)
        cursor = None
        wrote = False
        try:
            cursor = connection.cursor()
            cursor.execute(self._latest.sql, self._latest.params({"name": values["name"]}))
            version = self._chain(values, cursor.fetchone())
            wrote = True  # from here on a lost connection may or may not have committed
            cursor.execute(self._insert.sql, self._insert.params(values))
            row_id = cursor.lastrowid if self._lastrowid else cursor.fetchone()[0]
            connection.commit()
            return row_id, version
        except BaseException as e:
            if self._rollback(connection, e) and not wrote:
                raise _StaleConnection(e) from e
            raise
        finally:
            if cursor is not None:
                try:
                    cursor.close()
                except Exception:
                    pass

    def _insert_once_sqlite(self, connection, values: dict[str, Any]) -> tuple[int, int]:
        # The same transaction on the sqlite3 connection itself: its implicit cursors save
        # ~10 us of a ~100 us record (measured interleaved with variable creation).
        sqlite = connection.driver_connection
        wrote = False
        try:
            sqlite.execute("BEGIN IMMEDIATE")
            version = self._chain(values, sqlite.execute(self._latest.sql, self._latest.params({"name": values["name"]})).fetchone())
            wrote = True
            row_id = sqlite.execute(self._insert.sql, self._insert.params(values)).lastrowid
            sqlite.execute("COMMIT")
            return row_id, version
        except BaseException as e:
            if self._rollback(connection, e) and not wrote:
                raise _StaleConnection(e) from e
            raise

    def _chain(self, values: dict[str, Any], latest) -> int:
        """Set the version after ``latest`` (the name's newest (version, seal) row, or None)
        and the seals; return the version."""
        version, previous = (1, None) if latest is None else (latest[0] + 1, latest[1])
        values["version"] = version
        values["previous_seal"] = previous
        values["seal"] = compute_seal(values, previous, self._key)
        return version

    def _rollback(self, connection, error: BaseException) -> bool:
        """Roll back after ``error``; True when the connection was lost (and is dropped)."""
        dialect = self._engine.dialect
        try:
            if self._sqlite:
                if connection.driver_connection.in_transaction:
                    connection.driver_connection.execute("ROLLBACK")
            else:
                connection.rollback()
        except Exception:
            pass
        try:
            lost = isinstance(error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
                error, connection.driver_connection, None
            )
        except Exception:
            lost = False
        if lost:
            # The server went away: drop this connection, the next insert takes a fresh one.
            try:
                connection.invalidate(error)
            except Exception:
                pass
            self._connection = None
        return lost

    def close(self) -> None:
        """Return the connection to the pool."""
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = None

    def forget(self) -> None:
        """Drop the connection without touching it (after fork it belongs to the parent)."""
        self._connection = None
