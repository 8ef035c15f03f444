"""Shared output for CLI commands: a readable table (default), ``--json`` or ``--csv``.

Commands take the format with one decorator and hand their rows (dicts) to :func:`emit`;
messages go through :func:`say`. Both escape what a terminal would act on with
:func:`reprovar.display.visible`, the one escaping every output path shares:

    @click.command()
    @output_options
    def things(output_format):
        emit([{"name": "w", "version": 1}], output_format)
"""

from __future__ import annotations

import csv
import functools
import sys
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

import click

from ..display import visible, visible_json

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
    JSON writes them as ``\\u`` escapes, and CSV keeps values intact.
    """
    rows = list(rows)
    out = file or sys.stdout
    if columns is None:
        columns = list(rows[0]) if rows else []
    if output_format == "json":
        data = [{c: _json_value(r.get(c)) for c in columns} for r in rows]
        out.write(visible_json(data) + "\n")
    elif output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_json_value(r.get(c)) if not isinstance(r.get(c), (list, tuple)) else _text(r.get(c)) for c in columns])
    elif output_format == "table":
        if not rows:
            out.write("(no rows)\n")
            return
        cells = [[visible(_text(r.get(c))) for c in columns] for r in rows]
        header = [visible(c) for c in columns]  # `sql` column names are the statement's text
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(header)]
        out.write("  ".join(c.ljust(w) for c, w in zip(header, widths)).rstrip() + "\n")
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
        out.write(visible_json(data) + "\n")
        return
    if output_format != "table":
        emit([record], output_format, file=out)
        return
    keys = {key: visible(key) for key in record}
    width = max((len(k) for k in keys.values()), default=0) + 1
    for key, value in record.items():
        out.write(f"{(keys[key] + ':').ljust(width)} {visible(_text(value))}\n")


def say(message: str = "", *, err: bool = False) -> None:
    r"""Print one message line (stderr with ``err``), its ledger text escaped like table cells.

    Example:
        >>> say("wrote x: \x1b]0;PWNED\x07 v1")
        wrote x: \x1b]0;PWNED\x07 v1
    """
    click.echo(visible(message), err=err)
