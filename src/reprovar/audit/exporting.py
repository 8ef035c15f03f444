"""Export the ledger, or a query's result, as JSON or CSV; files are written atomically.

JSON keeps the structure: ``{"format": "reprovar-ledger-export", "format_version": 1,
"ledger": ..., "exported": ..., "filter": ..., "variables": [...], "runs": [...]}`` with the
runs the exported variables belong to. CSV is one row per variable with its run's fields as
``run_*`` columns. Seeds are exact decimal integers in both; times are ISO 8601 in UTC.

Each variable carries its distribution's parameters twice: as the ledger's typed columns
``mean``, ``scale``, ``low``, ``high`` (null in JSON, empty in CSV, where the distribution has
no such parameter and for a truncated normal's infinite bound, as the ledger stores it), and
as ``params``, exactly the distribution's own parameters: in JSON an object whose infinite
bound is the string ``"inf"`` or ``"-inf"`` (JSON has no infinity), in CSV the text
``mean=0 scale=1 low=-2 high=inf``. Every value reads back exactly with ``float()``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
from typing import TYPE_CHECKING, Callable, TextIO

from ..atomic_file import write_atomically
from ..display import visible_json
from ..errors import ReprovarError
from ..ledger.records import MalformedRow, RunRecord, VariableRecord, format_params
from .errors import ExportError
from .query import VariableFilter, iter_variables, runs

if TYPE_CHECKING:
    from ..ledger import Ledger

FORMATS = ("json", "csv")
FORMAT_NAME = "reprovar-ledger-export"
FORMAT_VERSION = 1

_VARIABLE_FIELDS = [f.name for f in dataclasses.fields(VariableRecord)]
_VARIABLE_FIELDS.insert(_VARIABLE_FIELDS.index("distribution") + 1, "params")
_RUN_FIELDS = [f.name for f in dataclasses.fields(RunRecord) if f.name != "id"]


def check_format(fmt: str) -> str:
    """``fmt`` lower-cased if it is a known export format, else :class:`ExportError`.

    Example:
        >>> check_format("CSV")
        'csv'
    """
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    return fmt.lower()


def export(
    ledger: Ledger,
    target: str | os.PathLike | TextIO,
    *,
    format: str = "json",
    filter: VariableFilter | None = None,
    force: bool = False,
    on_malformed: Callable[[MalformedRow], None] | None = None,
) -> int:
    """Write the variables ``filter`` selects (default: all) to ``target``; return how many.

    ``target`` is a path, written atomically (a temporary file in the same directory, then
    renamed), refused if it exists unless ``force``; or an open text file.

    A row that cannot be read as a record raises
    :class:`~reprovar.errors.MalformedRecordError` (nothing is written to a path), or, given
    ``on_malformed``, is handed to it and left out; JSON then lists it under ``"malformed"``.

    Example:
        >>> import reprovar, tempfile, os, json
        >>> d = tempfile.mkdtemp()
        >>> led = reprovar.Ledger(os.path.join(d, "e.db"))
        >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> export(led, os.path.join(d, "out.json"))
        1
        >>> json.load(open(os.path.join(d, "out.json")))["variables"][0]["name"]
        'w'
    """
    fmt = check_format(format)
    flt = filter or VariableFilter()
    writer = _write_json if fmt == "json" else _write_csv
    counted: list[int] = []

    def write(f: TextIO) -> None:
        counted.append(writer(ledger, flt, f, on_malformed))

    if hasattr(target, "write"):
        write(target)
    else:
        atomic_write(target, write, force=force)
    return counted[0]


def atomic_write(path: str | os.PathLike, write: Callable[[TextIO], None], *, force: bool = False) -> None:
    """Call ``write`` on a temporary text file next to ``path``, then move it into place.

    :func:`reprovar.atomic_file.write_atomically` with the export's error class.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "out.txt")
        >>> atomic_write(p, lambda f: f.write("hi"))
        >>> atomic_write(p, lambda f: f.write("again"))
        Traceback (most recent call last):
        ...
        reprovar.errors.ExportError: ... already exists; use --force (force=True) to overwrite it
    """
    try:
        write_atomically(path, write, force=force, text=True)
    except ExportError:
        raise
    except ReprovarError as e:
        raise ExportError(str(e)) from e


def _filter_dict(flt: VariableFilter) -> dict | None:
    d = {k: v for k, v in dataclasses.asdict(flt).items() if v is not None}
    for k in ("since", "until"):
        if k in d:
            d[k] = d[k].isoformat()
    if "shape" in d:
        d["shape"] = list(d["shape"])
    return d or None


def _write_json(ledger: Ledger, flt: VariableFilter, f: TextIO, on_malformed) -> int:
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "ledger": ledger.location,
        "exported": dt.datetime.now(dt.timezone.utc).isoformat(),
        "filter": _filter_dict(flt),
    }
    # Streamed by hand so a large ledger never sits in memory as one document.
    f.write("{\n")
    for key, value in header.items():
        f.write(f"  {json.dumps(key)}: {visible_json(value, indent=None)},\n")
    f.write('  "variables": [')
    run_ids: set[int] = set()
    malformed: list[MalformedRow] = []

    def report(row: MalformedRow) -> None:
        malformed.append(row)
        on_malformed(row)

    n = 0
    for record in iter_variables(ledger, flt, on_malformed=None if on_malformed is None else report):
        f.write(",\n    " if n else "\n    ")
        f.write(visible_json(record.to_dict(), indent=None))
        run_ids.add(record.run_id)
        n += 1
    f.write("\n  ],\n" if n else "],\n")
    selected = [r for r in runs(ledger) if flt == VariableFilter() or r.id in run_ids]
    f.write('  "runs": [')
    for i, run in enumerate(selected):
        f.write(",\n    " if i else "\n    ")
        f.write(visible_json(run.to_dict(), indent=None))
    f.write("\n  ]" if selected else "]")
    if malformed:
        f.write(',\n  "malformed": [')
        for i, row in enumerate(malformed):
            f.write(",\n    " if i else "\n    ")
            f.write(visible_json(row.to_dict(), indent=None, default=str))
        f.write("\n  ]")
    f.write("\n}\n")
    return n


def _write_csv(ledger: Ledger, flt: VariableFilter, f: TextIO, on_malformed) -> int:
    by_id = {r.id: r.to_dict() for r in runs(ledger)}
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(_VARIABLE_FIELDS + [f"run_{name}" for name in _RUN_FIELDS])
    n = 0
    for record in iter_variables(ledger, flt, on_malformed=on_malformed):
        d = record.to_dict()
        if d["params"] is not None:
            d["params"] = format_params(record.params)
        run = by_id.get(record.run_id, {})
        row = [_cell(d[k]) for k in _VARIABLE_FIELDS]
        row += [_cell(run.get(k)) for k in _RUN_FIELDS]
        writer.writerow(row)
        n += 1
    return n


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
