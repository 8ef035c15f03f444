"""Errors raised by the audit layer; all derive from :class:`reprovar.ReprovarError`.

Unknown names and run ids are the ledger's own :class:`~reprovar.errors.UnknownVariableError`
and :class:`~reprovar.errors.UnknownRunError`.
"""

from __future__ import annotations

from ..errors import ReprovarError


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


class MissingExtraError(AuditError, ImportError):
    """A feature needs optional packages that are not installed; the message names the extra."""


class UnknownDistributionError(AuditError, LookupError):
    """A record names a distribution this reprovar has no density for."""
