"""Shared output for CLI commands: a readable table (default), ``--json`` or ``--csv``.

Commands take the format with one decorator and hand their rows (dicts) to :func:`emit`:

    @click.command()
    @output_options
    def things(output_format):
        emit([{"name": "w", "version": 1}], output_format)
"""

from __future__ import annotations

import csv
import functools
import json
import sys
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

import click

FORMATS = ("table", "json", "csv")


def output_options(command: Callable) -> Callable:
    """Add ``--table`` (default), ``--json`` and ``--csv``; the command receives ``output_format``."""

    @click.option(
        "--json", "output_format", flag_value="json", help="Output JSON (a list of objects)."
    )
    @click.option("--csv", "output_format", flag_value="csv", help="Output CSV with a header row.")
    @click.option(
        "--table",
        "output_format",
        flag_value="table",
        default=True,
        help="Output a readable table (the default).",
    )
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        return command(*args, **kwargs)

    return wrapper


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def emit(
    rows: Iterable[dict[str, Any]],
    output_format: str = "table",
    columns: Sequence[str] | None = None,
    *,
    file=None,
) -> None:
    """Write ``rows`` in ``output_format``; ``columns`` picks and orders the keys.

    Table cells escape control characters (a name with a newline stays on one line);
    JSON and CSV keep values intact.
    """
    rows = list(rows)
    out = file or sys.stdout
    if columns is None:
        columns = list(rows[0]) if rows else []
    if output_format == "json":
        data = [{c: _json_value(r.get(c)) for c in columns} for r in rows]
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_json_value(r.get(c)) if not isinstance(r.get(c), (list, tuple)) else _text(r.get(c)) for c in columns])
    elif output_format == "table":
        if not rows:
            out.write("(no rows)\n")
            return
        cells = [[_one_line(_text(r.get(c))) for c in columns] for r in rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for row in cells:
            out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
    else:
        raise click.BadParameter(f"unknown output format {output_format!r}; accepted: {', '.join(FORMATS)}")


def emit_record(record: dict[str, Any], output_format: str = "table", *, file=None) -> None:
    """Write one record: ``key: value`` lines as a table, a JSON object, or a one-row CSV."""
    out = file or sys.stdout
    if output_format == "json":
        data = {k: _json_value(v) for k, v in record.items()}
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    if output_format != "table":
        emit([record], output_format, file=out)
        return
    width = max((len(k) for k in record), default=0) + 1
    for key, value in record.items():
        out.write(f"{(key + ':').ljust(width)} {_one_line(_text(value))}\n")


def _one_line(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
