"""The :class:`Ledger`: one database of runs and variables, opened once per process."""

from __future__ import annotations

import difflib
import math
import os
import sys
import threading
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..errors import (
    ArgumentTypeError,
    ArgumentValueError,
    LedgerError,
    LedgerOpenError,
    MalformedRecordError,
    RecordingError,
    UnknownRunError,
    UnknownVariableError,
)
from ..validation import check_name_characters, dtype_name
from . import digest as digests
from . import links as _links
from .locks import ForkSafeLock
from .dberrors import is_retryable, translate
from .engine import WRITE, check_sqlite_location, create_ledger_engine
from .models import MAX_NAME_LENGTH, PARAMETER_COLUMNS, runs_table, variables_table
from .records import MalformedRow, RunRecord, VariableRecord
from .retry import WRITE_RETRY_S, retry
from .runinfo import collect_run_info
from .schema import current_revision, ensure_schema
from .seal import SealKey, resolve_key
from .urls import default_target, display, to_url
from .transaction import _Batch, _batches, _inherited_connections, open_batch, record_in  # noqa: F401
from .transaction import transaction as ledger_transaction
from .writer import BatchWriter, VariableWriter  # noqa: F401  (BatchWriter: its old import path)

if TYPE_CHECKING:
    from .vouch import Vouched
    from ..variable import Variable

T = TypeVar("T")

_INSERT_RUN = insert(runs_table)


class Ledger:
    """A reproducibility ledger: a SQLite file or any SQLAlchemy database URL.

    This class opens, records and reads single rows; the public :class:`reprovar.Ledger`
    (:class:`reprovar.audit.Ledger`) adds the queries, verification, export and read-only SQL.

    Opening creates the schema at head, or upgrades an older ledger; a ledger written by a
    newer reprovar raises :class:`~reprovar.errors.LedgerTooNewError`. One engine and one
    writing connection serve the whole process; a forked child gets its own (and its own
    run). Safe to share between threads.

    Args:
        url: a path (``"runs/reprovar.db"``), a SQLAlchemy URL
            (``"postgresql+psycopg://user@host/db"``), or None for the default:
            ``$REPROVAR_LEDGER``, else ``reprovar.db`` in the working directory.
        create: create a new ledger if there is none (else raise; read-only tools pass False
            so that a mistyped path is an error, not a new empty ledger).
        upgrade: upgrade an out-of-date schema on open (else raise, naming the command).
        read_only: open for reading only: nothing is created, migrated or written (SQLite
            files in read-only directories too, leaving no ``-wal``/``-shm`` files behind;
            PostgreSQL and MariaDB in read-only transactions); an out-of-date ledger is
            refused with the command that upgrades it. Recording raises.
        share: create a new ledger even in a database that holds other applications' tables
            (its tables are named ``reprovar_*`` and its schema version is kept in
            ``reprovar_schema_version``, so theirs are never touched). Without it, only an
            empty database or a reprovar ledger is opened; anything else raises
            :class:`~reprovar.errors.NotALedgerError`.
        key: the secret that keys row seals (str or bytes, at least 16 bytes), or None for
            ``$REPROVAR_LEDGER_KEY``, else the file ``$REPROVAR_LEDGER_KEY_FILE`` names, else
            no key (unkeyed seals; see :mod:`reprovar.ledger.seal`). An upgrade that seals
            existing rows seals them without it (see :meth:`vouch`).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "example.db"))
        >>> v = reprovar.random_normal_variable((2, 3), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> led.get("w").version, led.get("w").seed
        (1, 1)
        >>> bool((led.replay("w").numpy() == v.numpy()).all())
        True
    """

    def __init__(
        self,
        url: str | os.PathLike | URL | None = None,
        *,
        create: bool = True,
        upgrade: bool = True,
        key: str | bytes | SealKey | None = None,
        read_only: bool = False,
        share: bool = False,
    ):
        self._url = to_url(default_target() if url is None else url)
        self._key = resolve_key(key)
        self.location: str = display(self._url)
        #: The schema revision found when opening (None: the ledger was created now).
        self.opened_at_revision: str | None = None
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._writer: Connection | None = None  # run rows, through SQLAlchemy
        self._variables: VariableWriter | None = None  # variable rows, the hot path
        self._run_id: int | None = None
        #: (tracker, tracker run id) pairs this process's run is known to be linked to.
        self._linked: set[tuple[str, str]] = set()
        self._batch_statements: VariableWriter | None = None  # compiled once, for batches
        self._batches_open = 0  # transactions open on this ledger, in any thread
        # Its own lock: a single-row writer holds self._lock while it waits for a SQLite
        # transaction to end, and ending the transaction must not wait for that writer.
        self._batches_lock = threading.Lock()
        #: Set in a child forked while a SQLite transaction was open: why it cannot write.
        self._cannot_write: str | None = None
        #: Opened with ``read_only=True``: nothing can be written through this ledger.
        self.read_only = bool(read_only)
        if not create or read_only:
            self._check_exists()
        self._engine = self._create_engine()
        try:
            self.opened_at_revision, _ = ensure_schema(
                self._engine, self.location, upgrade=upgrade, create=create,
                read_only=self.read_only, share=share,
            )
        except SQLAlchemyError as e:
            self._engine.dispose()
            raise translate(e, self.location, "open") from e
        except BaseException:
            self._engine.dispose()
            raise

    # --- connections ------------------------------------------------------------------

    def _check_exists(self) -> None:
        database = self._url.database
        if self._url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
            if not os.path.exists(database):
                raise LedgerOpenError(f"no ledger at {database}: the file does not exist")

    def _create_engine(self) -> Engine:
        if self._url.get_backend_name() == "sqlite" and self._url.database not in (None, "", ":memory:"):
            check_sqlite_location(self._url.database)
        return create_ledger_engine(self._url, read_only=self.read_only)

    @property
    def url(self) -> URL:
        """The SQLAlchemy URL (``str(ledger.url)`` masks any password)."""
        return self._url

    @property
    def key(self) -> SealKey | None:
        """The key this ledger seals and checks rows with (None: unkeyed seals)."""
        return self._key

    @property
    def engine(self) -> Engine:
        """This process's engine, for queries the API does not cover (read with care)."""
        self._check_pid()
        return self._engine

    def _check_pid(self) -> None:
        if self._pid != os.getpid():
            # A forked child: the parent's connections (and lock state) are the parent's.
            # Drop them without closing the parent's sockets; the child starts its own run.
            self._engine.dispose(close=False)
            self._lock = threading.RLock()
            self._writer = None
            if self._variables is not None:
                self._variables.forget()
            self._variables = None
            self._run_id = None
            self._linked = set()
            if self._batches_open and self._engine.dialect.name == "sqlite":
                # The parent's open transaction holds SQLite's write lock, and this process
                # inherited its connection, whose lock SQLite keeps in per-process memory:
                # no connection of this process could ever take the lock again.
                self._cannot_write = (
                    f"this process was forked while a reprovar.transaction() on ledger "
                    f"{self.location} was open in its parent, so it cannot write that SQLite "
                    "file; record in the parent, or fork (start the pool) outside the transaction"
                )
            self._batches_open = 0
            self._batches_lock = threading.Lock()
            self._pid = os.getpid()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading; SQLAlchemy errors come out as :class:`LedgerError`.

        Example:
            >>> import reprovar, tempfile, os
            >>> from sqlalchemy import text
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "c.db"))
            >>> with led.connect() as conn:
            ...     conn.execute(text("SELECT COUNT(*) FROM reprovar_variables")).scalar_one()
            0
        """
        self._check_pid()
        try:
            with self._engine.connect() as connection:
                yield connection
        except SQLAlchemyError as e:
            raise translate(e, self.location, "read") from e

    def _write(self, action: str, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retrying (:func:`.retry.retry`) when a
        concurrent writer wins a race.

        The unique (name, version) constraint is what guarantees versions; retries only turn
        a lost race into a fresh attempt with the new maximum.
        """
        def attempt() -> T:
            if self._writer is None or self._writer.closed or self._writer.invalidated:
                self._writer = self._engine.connect().execution_options(**WRITE)
            connection = self._writer
            try:
                with connection.begin():
                    return work(connection)
            except SQLAlchemyError:
                if connection.invalidated:  # lost: the next attempt (or call) reconnects
                    connection.close()
                    self._writer = None
                raise

        try:
            return retry(attempt, transient=is_retryable, errors=SQLAlchemyError, budget_s=WRITE_RETRY_S)
        except SQLAlchemyError as e:
            raise translate(e, self.location, action) from e

    # --- recording --------------------------------------------------------------------

    def record(self, variable: Variable, *, digest: str | None = None) -> VariableRecord:
        """Record ``variable`` as the next version of its name; return its record.

        The row is written in one transaction after the variable is complete, so a crash
        leaves either no row or a row that replays. The first record of a process also
        writes its run row.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "r.db"))
            >>> v = reprovar.random_normal_variable((4,), 0.0, 1.0, name="b", seed=5, record=False)
            >>> led.record(v).version, led.record(v).version
            (1, 2)
        """
        if self.read_only:
            raise RecordingError(f"ledger {self.location} was opened read-only; open it with "
                                 "read_only=False to record variables")
        name = variable.name
        if len(name) > MAX_NAME_LENGTH:
            raise RecordingError(
                f"variable name is {len(name)} characters long; the ledger keeps names of "
                f"at most {MAX_NAME_LENGTH}"
            )
        check_name_characters(name)  # the same refusal on every backend (NUL, lone surrogates)
        self._check_pid()
        if self._cannot_write is not None:
            raise RecordingError(self._cannot_write)
        provenance = variable.provenance
        shape = variable.shape
        values: dict[str, Any] = {
            "name": name,
            "shape": _shape_text(shape),
            "dtype": dtype_name(variable.dtype),
            "distribution": provenance.distribution,
            **_parameter_columns(provenance.params),
            "seed": int(provenance.seed),
            "seed_source": provenance.seed_source,
            "algorithm": provenance.algorithm,
            "algorithm_version": int(provenance.algorithm_version),
            "digest": digest if digest is not None else digests.digest(variable.numpy()),
            "nbytes": int(variable.nbytes),
            "recipe": provenance.recipe,
        }
        batch = open_batch(self)
        if batch is not None:
            values["run_id"] = self._run_id
            values["created"] = datetime.now(timezone.utc)
            return record_in(batch, values, variable)
        with self._lock:
            self._ensure_run()
            values["run_id"] = self._run_id
            values["created"] = datetime.now(timezone.utc)
            if self._variables is None:
                self._variables = VariableWriter(self._engine, self._key)
            try:
                row_id, version = self._variables.insert(values)
            except self._engine.dialect.loaded_dbapi.Error as e:
                raise translate(e, self.location, "record a variable in") from e
        values["shape"] = tuple(shape)
        values["id"] = row_id
        return VariableRecord._from_values(values)

    def _ensure_run(self) -> None:
        if self._run_id is None:
            active = _active_tracker_runs()
            self._run_id = self._write("start a run in", lambda c: self._insert_run(c, active))
            self._linked.update((r.tracker, r.run_id) for r in active)

    def _insert_run(self, connection: Connection, active: list) -> int:
        # The run row and its links to the tracker runs active now: one transaction.
        run_id = _insert_run(connection)
        if active:
            try:
                _links.link_writer_for(self._engine).insert(connection.connection, run_id, active, self._key,
                                                            new_run=True)
            except self._engine.dialect.loaded_dbapi.Error as e:
                raise translate(e, self.location, "link a run in") from e
        return run_id

    def link(self, tracker_runs, *, run_id: int | None = None, after_variable_id: Any = _links.NOW
             ) -> list[_links.LinkRecord]:
        """Link reprovar run ``run_id`` (default: this process's run, started now if it has
        none) to each :class:`~reprovar.ledger.links.TrackerRun`; return the links (one that
        exists already is returned as it is). All links are written in one transaction.

        A new link's tracker run owns the variables the run records from now on, up to its
        next link to the same tracker (``after_variable_id``: the largest id of the run's
        rows it does not own; None: it owns them all; see :mod:`reprovar.ledger.links`).

        The run rows of this process link the tracker runs active when they start, and
        :func:`reprovar.transaction` blocks link those started later; this is for the rest
        (see :func:`reprovar.link_run`).

        Example:
            >>> import reprovar, tempfile, os
            >>> from reprovar.ledger.links import TrackerRun
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "link.db"))
            >>> [(r.tracker, r.tracker_run_id) for r in led.link([TrackerRun("mlflow", "3f2a", "0")])]
            [('mlflow', '3f2a')]
        """
        if self.read_only:
            raise RecordingError(f"ledger {self.location} was opened read-only; it cannot link runs")
        tracker_runs = list(tracker_runs)
        if after_variable_id is not _links.NOW and after_variable_id is not None:
            _check_int(after_variable_id, "after_variable_id")
        for tr in tracker_runs:
            if not isinstance(tr, _links.TrackerRun):
                raise ArgumentTypeError(f"tracker_runs must hold TrackerRun objects, got {type(tr).__name__}")
        self._check_pid()
        if self._cannot_write is not None:
            raise RecordingError(self._cannot_write)
        with self._lock:
            if run_id is None:
                self._ensure_run()
                own = True
                run_id = self._run_id
            else:
                self.run(run_id)  # UnknownRunError before anything is written
                own = run_id == self._run_id
            links = self._write("link a run in", lambda c: _links.insert_links(
                c, run_id, tracker_runs, self._key, after=after_variable_id))
            if own:
                self._linked.update((r.tracker, r.tracker_run_id) for r in links)
        return links

    def links(self, run_id: int | None = None) -> list[_links.LinkRecord]:
        """The tracker links of run ``run_id`` (of every run when None), oldest first.

        Example:
            >>> import reprovar, tempfile, os
            >>> reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "links.db")).links()
            []
        """
        if run_id is not None:
            _check_int(run_id, "run_id")
        with self.connect() as connection:
            return _links.links_of_runs(connection, None if run_id is None else [run_id])

    def _open_batch(self) -> _Batch | None:
        """This thread's (task's) open transaction on this ledger, if any."""
        return open_batch(self)

    def transaction(self) -> AbstractContextManager[Ledger]:
        """Record every variable this thread (or async task) records in this ledger inside the
        block in one database transaction: committed when the block ends, all rolled back if
        it raises.

        Versions are assigned as the rows are written, with the same rule as single records
        (the next version of each name), and other writers keep getting gapless, unique
        versions: on SQLite they wait for the commit; on PostgreSQL and MariaDB they keep
        writing, and transactions take turns with each other.

        Inside the block, ``variable.record`` is the record the row will have once committed
        (its id and version included), though no other connection sees the row yet. On
        SQLite the rows are sealed and written together, every
        :data:`~reprovar.ledger.writer.SQLITE_ROWS_PER_WRITE` rows and at the commit: a
        record's ``seal`` and ``previous_seal`` are None until then, and a row the database
        refuses fails the transaction when it is written. If the
        block raises, every row is rolled back and each such variable's ``record`` is reset
        to None. Nested blocks join the outermost one: an exception that leaves an inner
        block rolls back the whole transaction, even if the outer block catches it (the
        outer block then ends with :class:`~reprovar.errors.RecordingError`). Other threads
        record as usual, each variable on its own.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "t.db"))
            >>> with led.transaction():
            ...     a = reprovar.random_normal_variable((2,), 0.0, 1.0, name="a", ledger=led)
            ...     b = reprovar.random_normal_variable((2,), 0.0, 1.0, name="a", ledger=led)
            >>> a.record.version, b.record.version, len(led.latest())
            (1, 2, 1)
        """
        return ledger_transaction(self)

    @property
    def run_id(self) -> int | None:
        """This process's run id in this ledger, once it has recorded a variable."""
        return self._run_id if self._pid == os.getpid() else None

    # --- reading ----------------------------------------------------------------------

    def get(self, name: str | None = None, version: int | None = None, *, id: int | None = None) -> VariableRecord:
        """The record of ``name`` (its latest version unless ``version``), or of row ``id``.

        Raises :class:`~reprovar.errors.UnknownVariableError`, suggesting close names.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "g.db"))
            >>> _ = reprovar.random_normal_variable((1,), 0.0, 1.0, name="kernel", seed=1, ledger=led)
            >>> led.get("kernal")
            Traceback (most recent call last):
            ...
            reprovar.errors.UnknownVariableError: no variable named 'kernal' in ledger ...; did you mean 'kernel'?
        """
        t = variables_table
        if id is not None:
            if name is not None or version is not None:
                raise ArgumentValueError("give either name (and version) or id, not both")
            _check_int(id, "id")
            stmt = select(t).where(t.c.id == id)
        elif name is None:
            raise ArgumentValueError("give a variable name or an id")
        elif not isinstance(name, str):
            raise ArgumentTypeError(f"name must be a str, got {type(name).__name__}")
        elif version is None:
            stmt = select(t).where(t.c.name == name).order_by(t.c.version.desc()).limit(1)
        else:
            _check_int(version, "version")
            stmt = select(t).where(t.c.name == name, t.c.version == version)
        with self.connect() as connection:
            row = connection.execute(stmt).first()
            if row is None:
                raise UnknownVariableError(self._unknown(connection, name, version, id))
        return VariableRecord.from_row(row)

    def _unknown(self, connection: Connection, name, version, id) -> str:
        t = variables_table
        if id is not None:
            return f"no variable with id {id} in ledger {self.location}"
        latest = connection.execute(select(func.max(t.c.version)).where(t.c.name == name)).scalar()
        if latest is not None:
            return f"variable {name!r} has versions 1..{latest} in ledger {self.location}; no version {version}"
        names = connection.execute(select(t.c.name).distinct()).scalars().all()
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        if not names:
            hint = " (it has no variables yet)"
        return f"no variable named {name!r} in ledger {self.location}{hint}"

    def latest(
        self, limit: int | None = 20, *, on_malformed: Callable[[MalformedRow], None] | None = None
    ) -> list[VariableRecord]:
        """The latest version of each name, most recently created first (all when ``limit`` is None).

        A row that cannot be read as a record raises
        :class:`~reprovar.errors.MalformedRecordError`, or, given ``on_malformed``, is handed
        to it and left out.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "l.db"))
            >>> for s in (1, 2):
            ...     _ = reprovar.random_normal_variable((1,), 0.0, 1.0, name="w", seed=s, ledger=led)
            >>> [(r.name, r.version, r.seed) for r in led.latest()]
            [('w', 2, 2)]
        """
        if limit is not None:
            _check_int(limit, "limit")
        t = variables_table
        newest = (
            select(t.c.name, func.max(t.c.version).label("version")).group_by(t.c.name).subquery()
        )
        stmt = (
            select(t)
            .join(newest, (t.c.name == newest.c.name) & (t.c.version == newest.c.version))
            .order_by(t.c.created.desc(), t.c.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.connect() as connection:
            rows = connection.execute(stmt).all()
        records = []
        for row in rows:
            try:
                records.append(VariableRecord.from_row(row))
            except MalformedRecordError as e:
                if on_malformed is None:
                    raise
                on_malformed(e.row)
        return records

    def run(self, run_id: int) -> RunRecord:
        """The run with id ``run_id``; raises :class:`~reprovar.errors.UnknownRunError`.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "u.db"))
            >>> v = reprovar.random_normal_variable((1,), 0.0, 1.0, seed=1, ledger=led)
            >>> led.run(v.record.run_id).host == __import__("socket").gethostname()
            True
        """
        _check_int(run_id, "run_id")
        with self.connect() as connection:
            row = connection.execute(select(runs_table).where(runs_table.c.id == run_id)).first()
        if row is None:
            raise UnknownRunError(f"no run with id {run_id} in ledger {self.location}")
        return RunRecord.from_row(row)

    def replay(self, name: str | None = None, version: int | None = None, *, id: int | None = None) -> Variable:
        """Make a recorded variable again and check it against its digest; see :func:`reprovar.replay`."""
        from .replay import replay_record

        return replay_record(self.get(name, version, id=id))

    # --- schema -----------------------------------------------------------------------

    @property
    def schema_revision(self) -> str | None:
        """The ledger's schema revision (Alembic revision id)."""
        with self.connect() as connection:
            return current_revision(connection)

    def upgrade(self) -> tuple[str | None, str]:
        """Migrate the schema to head (a no-op at head); return (revision before, after).

        Example:
            >>> import reprovar, tempfile, os
            >>> from reprovar.ledger.schema import head_revision
            >>> before, after = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "m.db")).upgrade()
            >>> before == after == head_revision()  # a new ledger is made at head
            True
        """
        self._check_pid()
        if self.read_only:
            raise LedgerError(f"ledger {self.location} was opened read-only; it cannot be upgraded")
        try:
            return ensure_schema(self._engine, self.location, upgrade=True)
        except SQLAlchemyError as e:
            raise translate(e, self.location, "upgrade") from e

    def vouch(self, *, dry_run: bool = False) -> list[Vouched]:
        """Seal with this ledger's key every row that carries an unkeyed seal (rows sealed by
        a schema upgrade, or recorded without the key): the key holder's statement that they
        are what was recorded. See :mod:`reprovar.ledger.vouch`; it refuses, changing nothing,
        when a row's seal or chain does not check. ``dry_run``: only list the rows.

        Example:
            >>> import reprovar, tempfile, os
            >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "vo.db"), key="sixteen bytes or more")
            >>> led.vouch()  # every row already sealed with the key
            []
        """
        from .vouch import vouch

        self._check_pid()
        if self.read_only:
            raise LedgerError(f"ledger {self.location} was opened read-only; rows cannot be vouched for")
        try:
            return vouch(self._engine, self._key, self.location, dry_run=dry_run)
        except SQLAlchemyError as e:
            raise translate(e, self.location, "vouch for the rows of") from e

    # --- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Release this process's connections (the ledger may be used again: it reconnects)."""
        with self._lock:
            if self._pid != os.getpid():
                self._check_pid()
                return
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._variables is not None:
                self._variables.close()
                self._variables = None
            self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __reduce__(self):
        # Send the location (and the seal key), not the connections, to other processes
        # (multiprocessing); the receiving process opens it once, however many tasks carry it.
        return (_open_in_this_process, (type(self), self._url.render_as_string(hide_password=False),
                                        self._key, self.read_only))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


_received: dict[tuple[type, str], Ledger] = {}
_received_lock = ForkSafeLock()


def _open_in_this_process(cls: type, url: str, key: SealKey | None = None, read_only: bool = False) -> Ledger:
    """What an unpickled ledger becomes: one :class:`Ledger` per class and URL in each process,
    so a ``multiprocessing`` Pool whose tasks carry a ledger gives one engine and one run per
    worker process, not per task. A forked child reuses its parent's object, which starts its
    own connections and run there.
    """
    which = (cls, url, None if key is None else key.id, read_only)
    with _received_lock:
        found = _received.get(which)
        if found is None:
            found = _received[which] = cls(url, key=key, read_only=read_only)
        return found


def _active_tracker_runs() -> list:
    # Only trackers the process imported itself are asked (see .links).
    if "mlflow" not in sys.modules and "wandb" not in sys.modules:
        return []
    return _links.active_tracker_runs()


def _insert_run(connection: Connection) -> int:
    return connection.execute(_INSERT_RUN, collect_run_info()).inserted_primary_key[0]


def _shape_text(shape: tuple[int, ...]) -> str:
    # Same text as json.dumps(list(shape)), at a fraction of its cost.
    return "[" + ", ".join(map(str, shape)) + "]"


#: Largest id, version or limit: what every backend's 64-bit integer columns can compare with.
_INT64_MAX = 2**63 - 1


def _check_int(value: Any, param: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{param} must be an int, got {type(value).__name__}")
    if not 0 <= value <= _INT64_MAX:
        raise ArgumentValueError(f"{param} must be in [0, 2**63 - 1], got {value}")


def _parameter_columns(params: dict[str, float]) -> dict[str, float | None]:
    # Every parameter column, NULL where the distribution has no such parameter and where a
    # bound is infinite (MariaDB's DOUBLE holds no infinity; NULL bounds read back as inf).
    columns = dict.fromkeys(PARAMETER_COLUMNS)
    for key, value in params.items():
        columns[key] = float(value) if math.isfinite(value) else None
    return columns
