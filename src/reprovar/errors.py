"""The exception hierarchy: every error reprovar raises derives from :class:`ReprovarError`.

Argument errors also derive from the matching built-in (``TypeError`` or ``ValueError``)
so that callers who catch the built-ins keep working. Every class is defined here, once:
:mod:`reprovar.audit.errors` re-exports the audit layer's classes, which are the same
objects, so ``except reprovar.errors.MissingExtraError`` catches a missing ``matplotlib``
(``reprovar[report]``) as well as a missing ``distributed`` (``reprovar[dask]``).

Example:
    >>> import reprovar.audit.errors
    >>> reprovar.audit.errors.MissingExtraError is MissingExtraError
    True
    >>> issubclass(ReadOnlyViolationError, ReprovarError)
    True
"""

from __future__ import annotations


class ReprovarError(Exception):
    """Root of every exception raised by reprovar."""


class ArgumentTypeError(ReprovarError, TypeError):
    """An argument has the wrong type; the message names the parameter and the accepted types."""


class ArgumentValueError(ReprovarError, ValueError):
    """An argument has an unacceptable value; the message names the parameter and the accepted values."""


class UnknownAlgorithmError(ReprovarError, LookupError):
    """No sampler algorithm is registered under the requested name and version."""


class ShapeMismatchError(ReprovarError, ValueError):
    """Recorded values cannot go where they are asked to: the shapes differ (``restore``)."""


class OutputExistsError(ReprovarError, FileExistsError):
    """An output file exists and overwriting it was not asked for (``--force``, ``force=True``)."""


class MissingExtraError(ReprovarError, ImportError):
    """A feature needs an optional dependency that is not installed (``reprovar[report]``,
    ``reprovar[dask]``, ``reprovar[zarr]``, ...); the message names the extra."""


class UnreproducibleError(ReprovarError, ValueError):
    """A model's init code did something reprovar cannot make again (torch's global generator,
    an in-place change after a draw, an unsupported random op, values it never set); the
    message names each parameter and the operation. Raised before anything is changed or
    recorded."""


class OutOfMemoryError(ReprovarError, MemoryError):
    """The variable's array could not be allocated; the message gives its size in bytes."""


# --- ledger -------------------------------------------------------------------------------


class LedgerError(ReprovarError):
    """A ledger could not be opened, read or written; the message says which and why."""


class LedgerOpenError(LedgerError):
    """The ledger location is unusable: missing or read-only directory, server unreachable, ..."""


class NotALedgerError(LedgerError):
    """The location holds something that is not a reprovar ledger (e.g. not a SQLite file)."""


class MissingDriverError(LedgerError, ImportError):
    """The ledger URL needs a database driver that is not installed; the message names the extra."""


class LedgerTooNewError(LedgerError):
    """The ledger's schema was written by a newer reprovar than the one installed."""


class RecordingError(LedgerError):
    """A variable was made but could not be recorded in the ledger."""


class UnknownVariableError(LedgerError, LookupError):
    """No recorded variable has the requested name, version or id; the message suggests close names."""


class UnknownRunError(LedgerError, LookupError):
    """No run has the requested id."""


class MalformedRecordError(LedgerError):
    """A ledger row cannot be read as a record (a garbage shape, seed or time, written behind
    reprovar's back); ``.row`` (a :class:`reprovar.ledger.records.MalformedRow`) says which and why."""

    def __init__(self, message: str, row=None):
        super().__init__(message)
        self.row = row


class DigestMismatchError(LedgerError):
    """A replayed variable's bytes do not match the digest recorded when it was first made."""


class RecordingWarning(UserWarning):
    """A variable was kept without being recorded, because the caller chose ``on_record_error="warn"``."""


# --- audit -------------------------------------------------------------------------------
# Unknown names and run ids are the ledger's own UnknownVariableError and UnknownRunError.


class AuditError(ReprovarError):
    """Root of the audit layer's errors (queries, verification, export, read-only SQL)."""


class BadFilterError(AuditError, ValueError):
    """A query filter is malformed: a time that is not ISO 8601, a bad shape, a negative seed."""


class ExportError(AuditError):
    """An export could not be written: unknown format, existing file without ``force``, I/O error."""


class SQLQueryError(AuditError):
    """A read-only SQL statement failed: syntax, unknown table, more than one statement."""


class ReadOnlyViolationError(SQLQueryError):
    """A SQL statement was refused as not read-only: by reprovar's statement check (writes,
    server commands, file and admin functions, other databases' tables) or by the read-only
    connection."""


class PrivilegedAccountError(SQLQueryError):
    """Read-only SQL was asked of an account that can reach outside the database (a
    PostgreSQL superuser or server-file role, a MariaDB/MySQL account with FILE, SUPER, ...);
    the message names the account and the read-only account to use instead."""


class ReportError(AuditError):
    """A report or plot could not be made: bad output format, existing file without ``force``."""


class UnknownDistributionError(AuditError, LookupError):
    """A record names a distribution this reprovar has no density for."""


# --- experiment trackers ------------------------------------------------------------------


class TrackerError(ReprovarError):
    """Logging to an experiment tracker (MLflow, W&B) failed; the message says what was and was
    not logged, and what the reprovar ledger holds."""


class UnknownTrackerRunError(TrackerError, LookupError):
    """A tracker run id is unknown: to the tracker, or (for lookups) to every link in the ledger."""
