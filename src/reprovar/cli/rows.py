"""Turning ledger records into the flat rows the shared output (:mod:`.output`) prints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import shlex
from typing import Any

from ..ledger.models import PARAMETER_COLUMNS
from ..ledger.records import RunRecord, VariableRecord, format_params

#: Columns of a variable in a table; --json and --csv carry every field. A table shows a
#: distribution's parameters as one ``params`` cell (``low=-0.1 high=0.1``), never the
#: mean and scale columns of a distribution that has none.
VARIABLE_COLUMNS = ("id", "name", "version", "shape", "dtype", "distribution", "params", "seed", "run_id",
                    "created")
# The parameter columns of a ledger row (PARAMETER_COLUMNS): --json and --csv keep them (null
# or empty where the distribution has no such parameter, and for an infinite bound) beside
# ``params``.
#: Columns of a run in a table; --json and --csv carry every field.
RUN_COLUMNS = ("id", "started", "host", "user", "pid", "variables", "git_commit", "command")


def variable_columns(output_format: str) -> tuple[str, ...]:
    """The table's short list, or every recorded field (and ``params``, after
    ``distribution``) for machine-readable output.

    Example:
        >>> "digest" in variable_columns("json"), "digest" in variable_columns("table")
        (True, False)
        >>> variable_columns("csv")[5:8]
        ('distribution', 'params', 'mean')
    """
    if output_format == "table":
        return VARIABLE_COLUMNS
    columns: list[str] = []
    for f in dataclasses.fields(VariableRecord):
        columns.append(f.name)
        if f.name == "distribution":
            columns.append("params")
    return tuple(columns)


def run_columns(output_format: str) -> tuple[str, ...]:
    """The table's short list, or every recorded field (plus counts) for --json and --csv.

    Example:
        >>> "cwd" in run_columns("csv"), "cwd" in run_columns("table")
        (True, False)
    """
    if output_format == "table":
        return RUN_COLUMNS
    return (*(f.name for f in dataclasses.fields(RunRecord)), "command", "variables")


def variable_row(record: VariableRecord, output_format: str) -> dict[str, Any]:
    """A variable as a row: JSON-ready for --json (``params`` an object, an infinite bound
    ``"inf"``), the same for --csv with ``params`` as text, native values for the table,
    where ``params`` (text) replaces the parameter columns.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "vr.db"))
        >>> r = reprovar.random_uniform_variable((2,), -0.1, 0.1, seed=1, ledger=led).record
        >>> variable_row(r, "json")["params"], variable_row(r, "csv")["params"]
        ({'low': -0.1, 'high': 0.1}, 'low=-0.1 high=0.1')
        >>> row = variable_row(r, "table")
        >>> row["params"], "mean" in row
        ('low=-0.1 high=0.1', False)
    """
    if output_format == "json":
        return record.to_dict()
    if output_format == "csv":
        row = record.to_dict()
        row["params"] = params_text(record)
        return row
    row = {}
    constant = _constant_of(record)
    for key, value in record.__dict__.items():
        if key in PARAMETER_COLUMNS:
            continue
        row[key] = recipe_text(record) if key == "recipe" else value
        if key == "distribution":
            row["params"] = params_text(record)
            if constant is not None:  # its row shows a point mass; people read a constant
                row["distribution"], row["params"] = "constant", f"value={constant!r}"
    return row


def _constant_of(record: VariableRecord):
    if record.recipe is None or '"base"' not in record.recipe:
        return None
    from ..recipes import Recipe

    try:
        recipe = Recipe.from_json(record.recipe)
    except ValueError:
        return None
    return recipe.base.value if recipe.base is not None and not recipe.steps else None


def recipe_text(record: VariableRecord) -> str | None:
    """The record's recipe for people (``constant 1.0``, ``draw, then 1 constant write``),
    None for a variable that is its draw alone; the JSON text where this reprovar cannot
    read it.

    Example:
        >>> import reprovar, tempfile, os, reprovar.torch as rt, torch
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "rt.db"))
        >>> w = rt.ones_(torch.empty(3), name="ln.weight", seed=1, ledger=led)
        >>> recipe_text(led.get("ln.weight")), variable_row(led.get("ln.weight"), "table")["params"]
        ('constant 1.0', 'value=1.0')
    """
    if record.recipe is None:
        return None
    from ..recipes import Recipe

    try:
        return Recipe.from_json(record.recipe).describe()
    except ValueError:
        return record.recipe


def params_text(record: VariableRecord) -> str:
    """The record's parameters as one line (``mean=0 scale=0.05``); for a distribution this
    version does not know, its stored parameter columns that are set.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "pt.db"))
        >>> params_text(reprovar.random_normal_variable((2,), 0.0, 0.05, seed=1, ledger=led).record)
        'mean=0 scale=0.05'
    """
    try:
        params = record.params
    except ValueError:
        params = {k: getattr(record, k) for k in PARAMETER_COLUMNS if getattr(record, k) is not None}
    return format_params(params)


def run_row(run: RunRecord, output_format: str, variables: int | None = None) -> dict[str, Any]:
    """A run as a row, with its command line as one shell-quoted string."""
    row = run.to_dict() if output_format != "table" else dict(run.__dict__)
    row["command"] = shlex.join(run.argv)
    if variables is not None:
        row["variables"] = variables
    return row


def link_text(link) -> str:
    """A tracker link as one table cell.

    Example:
        >>> import datetime as dt
        >>> from reprovar.ledger.links import LinkRecord
        >>> link_text(LinkRecord(1, 2, "mlflow", "3f2a", "0", "sqlite:///m.db", dt.datetime.now(dt.timezone.utc), None, ""))
        'mlflow 3f2a (experiment 0, sqlite:///m.db)'
    """
    where = "experiment " + link.experiment if link.tracker == "mlflow" and link.experiment else ""
    extra = ", ".join(x for x in (where, link.url or "") if x)
    return f"{link.tracker} {link.path}" + (f" ({extra})" if extra else "")


def prefixed(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``row`` with ``prefix`` before every key (a run's fields beside a variable's).

    Example:
        >>> prefixed({"host": "a"}, "run_")
        {'run_host': 'a'}
    """
    return {f"{prefix}{k}": v for k, v in row.items()}


def plain(value: Any) -> Any:
    """A value any output format can print: database types (Decimal, bytes, dates) made plain.

    Example:
        >>> import decimal
        >>> plain(decimal.Decimal("3")), plain(decimal.Decimal("0.5")), plain(bytes([1, 255]))
        (3, 0.5, '01ff')
    """
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (dt.date, dt.time)) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value
