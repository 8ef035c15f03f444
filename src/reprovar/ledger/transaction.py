"""``Ledger.transaction()``: many variable rows in one database transaction.

A :class:`_Batch` is one open block: its :class:`~reprovar.ledger.writer.BatchWriter` (a
connection of its own, see :mod:`.writer` for how batches take turns with other writers) and
the variables recorded in it, whose records are reset to None if it rolls back. The open
batches of a thread (or async task) are kept in a context variable, innermost last; a
nested block joins the outermost one. :class:`~reprovar.ledger.Ledger` calls these: the
public API is :meth:`reprovar.ledger.Ledger.transaction` and :func:`reprovar.transaction`.

Fork: a batch remembers its process. A forked child's copy of an open block neither commits
nor rolls back its parent's transaction (its connection is the parent's, kept referenced
and untouched), and on SQLite the child cannot write at all (:meth:`Ledger._check_pid`).

Example:
    >>> import reprovar, tempfile, os
    >>> led = reprovar.ledger.Ledger(os.path.join(tempfile.mkdtemp(), "tx.db"))
    >>> with transaction(led):
    ...     open_batch(led) is not None
    True
    >>> open_batch(led) is None
    True
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import RecordingError
from . import links as _links
from .dberrors import translate
from .records import VariableRecord
from .writer import BatchWriter, VariableWriter

if TYPE_CHECKING:
    from ..variable import Variable
    from .ledger import Ledger


class _Batch:
    """An open :meth:`Ledger.transaction`: its writer, and the variables recorded in it."""

    __slots__ = ("ledger", "writer", "thread", "pid", "variables", "failed")

    def __init__(self, ledger: Ledger, writer: BatchWriter):
        self.ledger = ledger
        self.writer = writer
        self.thread = threading.get_ident()
        self.pid = os.getpid()
        self.variables: list[weakref.ref] = []
        self.failed = False  # an inner block raised: the whole transaction rolls back

    def forget_records(self) -> None:
        # The rows are gone: no variable may keep pointing at one.
        for ref in self.variables:
            variable = ref()
            if variable is not None:
                variable.record = None
        self.variables.clear()


#: The open batches of this thread / async task, innermost last (normally none or one).
_batches: ContextVar[tuple[_Batch, ...]] = ContextVar("reprovar_batches", default=())
#: Connections a forked child inherited inside an open transaction: never used, never closed.
_inherited_connections: list[Any] = []


def open_batch(ledger: Ledger) -> _Batch | None:
    """This thread's (task's) open transaction on ``ledger``, if any."""
    batches = _batches.get()
    if not batches:  # the common case, checked for every recorded variable
        return None
    for batch in batches:
        if batch.ledger is ledger and batch.thread == threading.get_ident() and batch.pid == ledger._pid:
            return batch
    return None


def record_in(batch: _Batch, values: dict[str, Any], variable: Variable) -> VariableRecord:
    """Add the row ``values`` (run id and time set) to ``batch``; return its record."""
    ledger = batch.ledger
    try:
        row_id, _version = batch.writer.insert(values)
    except ledger._engine.dialect.loaded_dbapi.Error as e:
        batch.failed = True
        raise translate(e, ledger.location, "record a variable in") from e
    # The writer may keep ``values`` until it writes the row: the record gets a copy.
    record = VariableRecord._from_values({**values, "shape": tuple(variable.shape), "id": row_id})
    batch.writer.track(record)
    batch.variables.append(weakref.ref(variable))
    return record


@contextmanager
def transaction(ledger: Ledger) -> Iterator[Ledger]:
    """The block behind :meth:`reprovar.ledger.Ledger.transaction` (see there)."""
    ledger._check_pid()
    if ledger._cannot_write is not None:
        raise RecordingError(ledger._cannot_write)
    outer = open_batch(ledger)
    if outer is not None:
        try:
            yield ledger
        except BaseException:
            outer.failed = True
            raise
        return
    engine = ledger._engine
    with ledger._lock:
        ledger._ensure_run()  # before the batch holds a write lock the run row would need
        # Tracker runs started after this run did: linked inside the block's transaction.
        new_links = []
        if "mlflow" in sys.modules or "wandb" in sys.modules:
            new_links = [r for r in _links.active_tracker_runs() if (r.tracker, r.run_id) not in ledger._linked]
        if ledger._batch_statements is None:
            ledger._batch_statements = VariableWriter(engine, ledger._key)
        batch = _Batch(ledger, BatchWriter(engine, like=ledger._batch_statements))
    try:
        batch.writer.begin()
        if new_links:
            _links.link_writer_for(engine).insert(batch.writer._connection, ledger._run_id, new_links, ledger._key)
    except engine.dialect.loaded_dbapi.Error as e:
        batch.writer.rollback()
        raise translate(e, ledger.location, "begin a transaction in") from e
    with ledger._batches_lock:
        ledger._batches_open += 1
    token = _batches.set(_batches.get() + (batch,))
    try:
        yield ledger
    except BaseException:
        _batches.reset(token)
        if not _leave_forked(ledger, batch):
            batch.writer.rollback()
            batch.forget_records()
        raise
    _batches.reset(token)
    if _leave_forked(ledger, batch):
        return
    if batch.failed:
        batch.writer.rollback()
        batch.forget_records()
        raise RecordingError(
            f"transaction on ledger {ledger.location} rolled back: an inner transaction "
            "block or a record inside it failed"
        )
    try:
        batch.writer.commit()
    except engine.dialect.loaded_dbapi.Error as e:
        batch.forget_records()
        raise translate(e, ledger.location, "commit a transaction in") from e
    except BaseException:
        batch.forget_records()
        raise
    batch.variables.clear()
    ledger._linked.update((r.tracker, r.run_id) for r in new_links)


def _leave_forked(ledger: Ledger, batch: _Batch) -> bool:
    """End ``batch``'s block for ``ledger``'s count; True in a forked child, whose copy of
    the block must neither commit nor roll back its parent's transaction."""
    if batch.pid == os.getpid():
        with ledger._batches_lock:
            ledger._batches_open -= 1
        return False
    # The connection is the parent's: kept referenced for the life of this process, as
    # closing it here could end the parent's session (a server connection) or its lock.
    _inherited_connections.append(batch.writer.abandon())
    return True
