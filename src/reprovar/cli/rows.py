"""Turning ledger records into the flat rows the shared output (:mod:`.output`) prints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import shlex
from typing import Any

from ..ledger.records import RunRecord, VariableRecord

#: Columns of a variable in a table; --json and --csv carry every field.
VARIABLE_COLUMNS = ("id", "name", "version", "shape", "dtype", "seed", "run_id", "created")
#: Columns of a run in a table; --json and --csv carry every field.
RUN_COLUMNS = ("id", "started", "host", "user", "pid", "variables", "git_commit", "command")


def variable_columns(output_format: str) -> tuple[str, ...]:
    """The table's short list, or every recorded field for machine-readable output.

    Example:
        >>> "digest" in variable_columns("json"), "digest" in variable_columns("table")
        (True, False)
    """
    if output_format == "table":
        return VARIABLE_COLUMNS
    return tuple(f.name for f in dataclasses.fields(VariableRecord))


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
    """A variable as a row: JSON-ready for --json/--csv, native values for the table."""
    return record.to_dict() if output_format != "table" else dict(record.__dict__)


def run_row(run: RunRecord, output_format: str, variables: int | None = None) -> dict[str, Any]:
    """A run as a row, with its command line as one shell-quoted string."""
    row = run.to_dict() if output_format != "table" else dict(run.__dict__)
    row["command"] = shlex.join(run.argv)
    if variables is not None:
        row["variables"] = variables
    return row


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
