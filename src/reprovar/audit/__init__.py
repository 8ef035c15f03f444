"""The audit layer: ask the ledger questions and check its answers.

* :mod:`.query`: filters (:class:`VariableFilter`), ``find``, ``history``, ``runs``;
* :mod:`.seeds`: seeds shared by different variables, seeds drawn from the OS;
* :mod:`.verify`: make variables again and check digests, with progress;
* :mod:`.export`: JSON and CSV, written atomically;
* :mod:`.readonly`: SQL on a connection that cannot write;
* :mod:`.methods`: all of it as :class:`reprovar.Ledger` methods.

Example:
    >>> import reprovar, tempfile, os
    >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "audit.db"))
    >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
    >>> [r.name for r in led.find(seed=1)], led.verify().ok
    (['w'], True)
"""

from .errors import (
    AuditError,
    BadFilterError,
    ExportError,
    PrivilegedAccountError,
    ReadOnlyViolationError,
    SQLQueryError,
)
from .export import FORMATS, atomic_write, export
from .query import Records, RunRecords, VariableFilter, changes, find, history, parse_shape, runs
from .readonly import SQLResult, read_only_query
from .seeds import SeedAudit, SharedSeed, audit_seeds
from .times import parse_time
from .verify import VerifyOutcome, VerifySummary, verify_record, verify_records, verify_selection

__all__ = [
    "AuditError", "BadFilterError", "ExportError", "PrivilegedAccountError", "ReadOnlyViolationError",
    "SQLQueryError",
    "FORMATS", "atomic_write", "export",
    "Records", "RunRecords", "VariableFilter", "changes", "find", "history", "parse_shape", "runs",
    "SQLResult", "read_only_query",
    "SeedAudit", "SharedSeed", "audit_seeds",
    "parse_time",
    "VerifyOutcome", "VerifySummary", "verify_record", "verify_records", "verify_selection",
]
