"""The hot write path: one variable row per transaction, on one DBAPI connection per process.

Going through SQLAlchemy's ``Connection.execute`` costs several times what the same
transaction costs on the driver (docs/performance.md, "The ledger"). So the statements are
compiled once by SQLAlchemy for the engine's dialect (SQL text, parameter order and each
column type's bind processor: the models stay the single source of truth for conversions),
and executed directly on a pooled DBAPI connection.

Versions: within the write transaction the next version is one more than the name's latest,
whose seal is read in the same query and chained into the new row's seal (see
:mod:`.seal`); the unique (name, version) constraint is the guarantee. On SQLite ``BEGIN IMMEDIATE`` makes
writers take turns, so the race cannot happen; on PostgreSQL and MariaDB two writers may
pick the same number, one gets a unique violation (or a deadlock), rolls back and retries.

Batches (:class:`BatchWriter`, behind ``reprovar.transaction()``): many rows in one
transaction on a connection of their own, committed or rolled back together. The user's
code runs between the rows, so a batch cannot be retried as a whole; instead batches take
turns (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock; MariaDB:
a named lock), which leaves no cycle to deadlock on, and on PostgreSQL and MariaDB each row
is written under a savepoint: a row that loses its version to a single-row writer is rolled
back to the savepoint and written again with the new maximum.

On SQLite a batch holds the database's only write lock from ``BEGIN IMMEDIATE`` to its end,
so nothing else can take a version or an id meanwhile: each row's version (one more than the
name's latest) and id (the one SQLite would give next, read once per batch) are known when it
is recorded, and the rows themselves are sealed and inserted together, up to
:data:`SQLITE_ROWS_PER_WRITE` at a time and at commit, with one ``executemany``, which costs less per
row than sealing and inserting each row as it is recorded (docs/performance.md).
"""

from __future__ import annotations

import zlib
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, func, insert, literal_column, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.compiler import Compiled

from ..errors import LedgerError
from .coltypes import uint64_to_db
from .engine import SQLITE_BUSY_TIMEOUT_MS
from .models import PARAMETER_COLUMNS, variables_table
from .retry import RETRY_FIRST_S, RETRY_MAX_S, WRITE_RETRY_S, is_statement_transient, is_transient, retry
from .seal import SealKey, compute_seal

__all__ = ["BatchWriter", "VariableWriter", "RETRY_FIRST_S", "RETRY_MAX_S", "WRITE_RETRY_S",
           "SQLITE_ROWS_PER_WRITE", "VARIABLE_COLUMNS"]
#: Rows a SQLite batch keeps before writing them (and at commit): bounds the memory a long
#: transaction holds besides SQLite's own.
SQLITE_ROWS_PER_WRITE = 256
#: Largest id SQLite assigns (a signed 64-bit rowid).
_SQLITE_MAX_ROWID = 2**63 - 1

VARIABLE_COLUMNS = (
    "run_id",
    "name",
    "version",
    "shape",
    "dtype",
    "distribution",
    *PARAMETER_COLUMNS,
    "seed",
    "seed_source",
    "algorithm",
    "algorithm_version",
    "digest",
    "nbytes",
    "created",
    "seal",
    "previous_seal",
    "recipe",
)


class _StaleConnection(LedgerError):
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
        self._compile_plan()

    def override(self, key: str, processor) -> None:
        """Use ``processor`` for ``key`` instead of the column type's own."""
        self._plan = [(k, processor if k == key else p) for k, p in self._plan]
        self._compile_plan()

    def _compile_plan(self) -> None:
        # Positional: one C-level gather of every value, then the few that need converting.
        keys = [k for k, _ in self._plan]
        if len(keys) > 1:
            self._gather = itemgetter(*keys)
        else:  # itemgetter of one key returns the value itself, not a tuple
            self._gather = lambda values: tuple(values[k] for k in keys)
        self._convert = [(i, p) for i, (_, p) in enumerate(self._plan) if p is not None]

    def params(self, values: dict[str, Any]):
        # This runs once per recorded variable.
        if self._positional:
            row = self._gather(values)
            if self._convert:
                row = list(row)
                for i, processor in self._convert:
                    row[i] = processor(row[i])
            return row
        return {k: values[k] if p is None else p(values[k]) for k, p in self._plan}


def _sqlite_utc_text(value: datetime) -> str:
    if value.tzinfo is timezone.utc:  # what the writers make: "YYYY-MM-DD HH:MM:SS.ffffff+00:00"
        return value.isoformat(" ", "microseconds")[:26]
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
        self._insert_with_id = None
        if self._sqlite:
            # SQLAlchemy's SQLite DATETIME formatter formats each field in Python; isoformat
            # writes the same "YYYY-MM-DD HH:MM:SS.ffffff" text (read back by the same type)
            # in one C call, a visible share of recording a small variable.
            self._insert.override("created", _sqlite_utc_text)
            # The rows come from Ledger.record: parameters are floats or None already, seeds
            # ints; the column types' own conversions, less the checks (and two call layers).
            for column in PARAMETER_COLUMNS:
                self._insert.override(column, None)
            self._insert.override("seed", uint64_to_db)
            # Batches write rows whose ids they assigned (see the module doc).
            self._insert_with_id = _Statement(
                insert(t).compile(dialect=dialect, column_keys=["id", *VARIABLE_COLUMNS]),
                engine, {"id": t.c.id.type, **columns},
            )
            self._insert_with_id.override("created", _sqlite_utc_text)
            # The rows a batch writes come from Ledger.record: parameters are floats or None
            # already, seeds ints; the column types' own conversions, less the checks.
            for column in PARAMETER_COLUMNS:
                self._insert_with_id.override(column, None)
            self._insert_with_id.override("seed", uint64_to_db)
            self._largest_id_sql = select(func.max(t.c.id)).compile(dialect=dialect).string
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
        self._sqlite_connection = None  # SQLite: its sqlite3 connection, looked up once

    def insert(self, values: dict[str, Any]) -> tuple[int, int]:
        """Insert ``values`` (all of :data:`VARIABLE_COLUMNS` but ``version`` and the seals,
        which it sets); return (id, version).

        Retries lost races (:func:`.retry.retry`, for up to :data:`WRITE_RETRY_S`); any
        other DBAPI error propagates after the transaction is rolled back.
        """
        once = self._insert_once_sqlite if self._sqlite else self._insert_once
        reconnected = False

        def attempt() -> tuple[int, int]:
            nonlocal reconnected
            try:
                return once(values)
            except _StaleConnection as stale:
                # The server dropped the idle connection (restart, idle timeout) before this
                # transaction wrote anything: safe to try once more on a fresh one.
                if reconnected:
                    raise stale.error from None
                reconnected = True
            try:
                return once(values)
            except _StaleConnection as stale:
                raise stale.error from None

        # WRITE_RETRY_S read at each call: tests shorten it.
        return retry(attempt, transient=is_transient, errors=self._engine.dialect.loaded_dbapi.Error,
                     budget_s=WRITE_RETRY_S)

    def _insert_once(self, values: dict[str, Any]) -> tuple[int, int]:
        connection = self._connection
        if connection is None:
            connection = self._connection = self._engine.raw_connection()
        cursor = None
        wrote = False
        try:
            cursor = connection.cursor()
            version = self._next_version_of(cursor, values)
            wrote = True  # from here on a lost connection may or may not have committed
            row_id = self._insert_row(cursor, values, version)
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

    def _connect_sqlite(self):
        connection = self._connection = self._engine.raw_connection()
        sqlite = self._sqlite_connection = connection.driver_connection
        # SQLite's own busy handler sleeps 1, 2, 5 ... 100 ms between attempts; with many
        # writers the lock then sits idle most of the time. Fail fast instead and retry with
        # the short jittered backoff of .retry.
        sqlite.execute("PRAGMA busy_timeout = 0")
        return sqlite

    def _insert_once_sqlite(self, values: dict[str, Any]) -> tuple[int, int]:
        # The same transaction on the sqlite3 connection itself: its implicit cursors cost
        # less than a DBAPI cursor per statement, a measurable share of a small record.
        sqlite = self._sqlite_connection
        if sqlite is None:
            sqlite = self._connect_sqlite()
        wrote = False
        execute = sqlite.execute
        try:
            execute("BEGIN IMMEDIATE")
            version = self._chain(values, execute(self._latest.sql, (values["name"],)).fetchone())
            row_id = execute(self._insert.sql, self._insert.params(values)).lastrowid
            wrote = True
            execute("COMMIT")
            return row_id, version
        except BaseException as e:
            if self._rollback(self._connection, e) and not wrote:
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

    # --- one row, inside a transaction the caller owns ---------------------------------
    # Every variable row, alone or in a batch, takes its version and seals from _chain
    # (the version rule in one place); on SQLite a single row's statements are written out
    # in _insert_once_sqlite, where each call saved shows.

    def _next_version_of(self, cursor, values: dict[str, Any]) -> int:
        """The next version of the name; sets it and the seals in ``values``."""
        cursor.execute(self._latest.sql, self._latest.params({"name": values["name"]}))
        return self._chain(values, cursor.fetchone())

    def _insert_row(self, cursor, values: dict[str, Any], version: int) -> int:
        values["version"] = version
        cursor.execute(self._insert.sql, self._insert.params(values))
        return cursor.lastrowid if self._lastrowid else cursor.fetchone()[0]

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
            self._connection = self._sqlite_connection = None
        return lost

    def close(self) -> None:
        """Return the connection to the pool."""
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                pass
            self._connection = self._sqlite_connection = None

    def forget(self) -> None:
        """Drop the connection without touching it (after fork it belongs to the parent)."""
        self._connection = self._sqlite_connection = None


#: Key of the PostgreSQL advisory lock that batches take turns on.
_PG_BATCH_LOCK = zlib.crc32(b"reprovar-batch")


class BatchWriter(VariableWriter):
    """One write transaction that many variable rows join: :meth:`begin`, :meth:`insert`
    any number of times, then :meth:`commit` or :meth:`rollback`.

    It has a DBAPI connection of its own, so that single-row writers of the same ledger
    (other threads) never write into it. Used by one thread at a time.
    """

    def __init__(self, engine: Engine, like: VariableWriter | None = None):
        if like is None:
            super().__init__(engine)
        else:  # reuse the compiled statements
            self.__dict__.update(like.__dict__)
            self._connection = self._sqlite_connection = None
        self._lock_name: str | None = None
        # SQLite: rows recorded but not yet written, each (values, latest, record); the
        # newest of them for each name, as (version, values); the next id.
        self._pending: list[list[Any]] = []
        self._names: dict[str, tuple[int, dict[str, Any]]] = {}
        self._next_id: int | None = None

    def begin(self) -> None:
        """Start the transaction, waiting (up to :data:`WRITE_RETRY_S`) for other batches."""
        connection = self._connection = self._engine.raw_connection()
        try:
            if self._sqlite:
                sqlite = connection.driver_connection
                sqlite.execute("PRAGMA busy_timeout = 0")  # retried below, as in insert()
                self._retrying(lambda: sqlite.execute("BEGIN IMMEDIATE"))
                return
            cursor = connection.cursor()
            try:
                if self._engine.dialect.name == "postgresql":
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_BATCH_LOCK,))
                elif self._engine.dialect.name in ("mysql", "mariadb"):
                    cursor.execute("SELECT DATABASE()")
                    name = f"reprovar-batch:{cursor.fetchone()[0]}"[:64]
                    cursor.execute("SELECT GET_LOCK(%s, %s)", (name, int(WRITE_RETRY_S)))
                    if cursor.fetchone()[0] != 1:
                        raise LedgerError(
                            f"waited {WRITE_RETRY_S:.0f}s for another reprovar.transaction() "
                            "on this ledger to finish"
                        )
                    self._lock_name = name
                    connection.commit()  # GET_LOCK is per session; the batch starts after it
            finally:
                cursor.close()
        except BaseException:
            self._finish(commit=False)
            raise

    def insert(self, values: dict[str, Any]) -> tuple[int, int]:
        """Add one row to the open transaction; return (id, version).

        On SQLite the row is sealed and written later (see the module doc): ``values`` is
        kept, and its ``seal`` and ``previous_seal`` are set then, as are those of the record
        passed to :meth:`track`.
        """
        if self._sqlite:
            return self._defer_row_sqlite(values)
        cursor = self._connection.cursor()

        def attempt() -> tuple[int, int]:
            cursor.execute("SAVEPOINT reprovar_row")
            version = self._next_version_of(cursor, values)
            row_id = self._insert_row(cursor, values, version)
            cursor.execute("RELEASE SAVEPOINT reprovar_row")
            return row_id, version

        def undo_row(_error: BaseException) -> None:
            # A single-row writer took this version first: only this row is undone.
            cursor.execute("ROLLBACK TO SAVEPOINT reprovar_row")

        try:
            return retry(attempt, transient=is_statement_transient, budget_s=WRITE_RETRY_S,
                         errors=self._engine.dialect.loaded_dbapi.Error, before_retry=undo_row)
        finally:
            cursor.close()

    def _defer_row_sqlite(self, values: dict[str, Any]) -> tuple[int, int]:
        # BEGIN IMMEDIATE holds the write lock: no other writer can take a version or an id.
        if len(self._pending) >= SQLITE_ROWS_PER_WRITE:
            self.flush()  # before this row, so that track() still finds it
        sqlite = self._connection.driver_connection
        name = values["name"]
        latest = self._names.get(name)
        if latest is None:
            latest = sqlite.execute(self._latest.sql, (name,)).fetchone()
        if self._next_id is None:
            self._next_id = self._first_free_id(sqlite)
        row_id = self._next_id
        if row_id > _SQLITE_MAX_ROWID:
            raise LedgerError(f"the ledger's ids are exhausted (largest {_SQLITE_MAX_ROWID})")
        version = 1 if latest is None else latest[0] + 1
        self._next_id = row_id + 1
        values["id"] = row_id
        values["version"] = version
        self._pending.append([values, latest, None])
        self._names[name] = (version, values)
        return row_id, version

    def _first_free_id(self, sqlite) -> int:
        # The id SQLite would give the next row: one more than the largest, or than the
        # largest ever given where the table was declared AUTOINCREMENT (sqlite_sequence).
        largest = sqlite.execute(self._largest_id_sql).fetchone()[0] or 0
        if sqlite.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            row = sqlite.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                 (variables_table.name,)).fetchone()
            if row is not None and isinstance(row[0], int):
                largest = max(largest, row[0])
        return largest + 1

    def track(self, record) -> None:
        """``record`` (the newest row's record) gets its seals when the row is written."""
        if self._pending:
            self._pending[-1][2] = record

    def flush(self) -> None:
        """Seal and write the rows recorded so far (SQLite; nothing to do elsewhere)."""
        pending = self._pending
        if not pending:
            return
        key, params = self._key, self._insert_with_id.params
        rows = []
        for entry in pending:
            values, latest, record = entry
            # The previous version's seal: read with it, or that of a row held with this one
            # (sealed earlier in this loop).
            previous = None if latest is None else latest[1]
            if type(previous) is dict:
                previous = previous["seal"]
            values["previous_seal"] = previous
            values["seal"] = seal = compute_seal(values, previous, key)
            if record is not None:
                record.__dict__["seal"] = seal
                record.__dict__["previous_seal"] = previous
            rows.append(params(values))
        # Written rows are read back by the next lookup of their name (this connection sees
        # its own uncommitted rows): only held rows are remembered, so memory stays bounded
        # however many names a transaction records.
        self._pending, self._names = [], {}
        self._connection.driver_connection.executemany(self._insert_with_id.sql, rows)

    def abandon(self):
        """Drop the connection and the rows held without touching either (in a forked child
        they are the parent's); return the connection."""
        connection, self._connection, self._sqlite_connection = self._connection, None, None
        self._pending, self._names, self._next_id = [], {}, None
        return connection

    def commit(self) -> None:
        """Commit every row; on failure nothing is committed and the error propagates."""
        self._finish(commit=True)

    def rollback(self) -> None:
        """Undo every row (also safe after a failed begin or commit)."""
        self._finish(commit=False)

    def _finish(self, *, commit: bool) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            if commit:
                if self._sqlite:
                    self.flush()
                    connection.driver_connection.execute("COMMIT")
                else:
                    connection.commit()
        except BaseException:
            commit = False
            raise
        finally:
            self._pending, self._names, self._next_id = [], {}, None
            if not commit:
                self._rollback(connection, RuntimeError("batch rolled back"))
            if self._sqlite and self._connection is not None:
                try:  # back to the engine's setting before the pool hands it out again
                    connection.driver_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                except Exception:
                    pass
            if self._lock_name is not None:
                try:
                    cursor = connection.cursor()
                    cursor.execute("SELECT RELEASE_LOCK(%s)", (self._lock_name,))
                    cursor.close()
                    connection.commit()
                except Exception:
                    pass  # a lost connection released it
                self._lock_name = None
            self.close()

    def _retrying(self, action) -> None:
        retry(action, transient=is_transient, errors=self._engine.dialect.loaded_dbapi.Error,
              budget_s=WRITE_RETRY_S)
