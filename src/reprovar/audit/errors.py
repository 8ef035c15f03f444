"""The audit layer's errors: re-exported from :mod:`reprovar.errors`, where every reprovar
exception is defined (these names are the same classes, not copies).

Unknown names and run ids are the ledger's own :class:`~reprovar.errors.UnknownVariableError`
and :class:`~reprovar.errors.UnknownRunError`; a missing optional package is
:class:`~reprovar.errors.MissingExtraError`, the one class for every extra.

Example:
    >>> import reprovar.errors
    >>> MissingExtraError is reprovar.errors.MissingExtraError
    True
"""

from __future__ import annotations

from ..errors import (
    AuditError,
    BadFilterError,
    ExportError,
    MissingExtraError,
    PrivilegedAccountError,
    ReadOnlyViolationError,
    ReportError,
    SQLQueryError,
    UnknownDistributionError,
)

__all__ = [
    "AuditError",
    "BadFilterError",
    "ExportError",
    "MissingExtraError",
    "PrivilegedAccountError",
    "ReadOnlyViolationError",
    "ReportError",
    "SQLQueryError",
    "UnknownDistributionError",
]
