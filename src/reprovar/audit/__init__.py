"""The audit layer: ask the ledger questions and check its answers.

* :mod:`.ledger`: :class:`Ledger`, the public :class:`reprovar.Ledger`: the ledger layer's
  :class:`reprovar.ledger.Ledger` with all of the below as methods;
* :mod:`.query`: filters (:class:`VariableFilter`), ``find``, ``history``, ``runs``;
* :mod:`.seeds`: seeds shared by different variables, seeds drawn from the OS;
* :mod:`.verify`: make variables again and check digests, with progress;
* :mod:`.exporting`: ``export`` to JSON and CSV, written atomically;
* :mod:`.readonly`: SQL on a connection that cannot write;
* :mod:`.report`: the self-contained HTML report, with :mod:`.plots` (matplotlib),
  :mod:`.densities` (what each recorded distribution should look like) and :mod:`.samples`
  (the fixed piece of each variable that is drawn).

The audit layer builds on :mod:`reprovar.ledger`, never the reverse. Its names load with
their module on first use, so that opening a ledger to record variables costs no audit code.

Example:
    >>> import reprovar, tempfile, os
    >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "audit.db"))
    >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
    >>> [r.name for r in led.find(seed=1)], led.verify().ok
    (['w'], True)
"""

from __future__ import annotations

import importlib

#: Each public name and the submodule that defines it. No submodule is named like a public
#: name: importing a submodule sets the package attribute of its name to the module.
_SOURCES = {
    "Ledger": "ledger",
    **dict.fromkeys(
        ("AuditError", "BadFilterError", "ExportError", "PrivilegedAccountError", "ReadOnlyViolationError",
         "SQLQueryError", "ReportError", "MissingExtraError", "UnknownDistributionError"),
        "errors",
    ),
    **dict.fromkeys(("ReportSummary", "write_report"), "report"),
    "plot_variable": "plots",
    **dict.fromkeys(("law_of", "make_law"), "densities"),
    **dict.fromkeys(("FORMATS", "atomic_write", "export"), "exporting"),
    **dict.fromkeys(
        ("Records", "RunRecords", "VariableFilter", "changes", "find", "history", "parse_shape", "runs"),
        "query",
    ),
    **dict.fromkeys(("SQLResult", "read_only_query"), "readonly"),
    **dict.fromkeys(("SeedAudit", "SharedSeed", "audit_seeds"), "seeds"),
    "parse_time": "times",
    **dict.fromkeys(
        ("VerifyOutcome", "VerifySummary", "verify_record", "verify_records", "verify_selection"),
        "verify",
    ),
}

__all__ = list(_SOURCES)


def __getattr__(name: str):
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'reprovar.audit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{source}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
