"""``reprovar list``: the latest variables in a ledger."""

from __future__ import annotations

import click

from .options import Integer, MalformedRows, ledger_option, open_ledger
from .output import emit, output_options
from .rows import variable_columns, variable_row

#: The table's columns; --json and --csv carry every field, as ``find`` does.
COLUMNS = ("id", "name", "version", "shape", "dtype", "distribution", "params", "seed", "created")


@click.command("list")
@click.option(
    "-n", "--limit", type=Integer(min=0), default=20, show_default=True,
    help="How many variables to show (0: all).",
)
@ledger_option
@output_options
def list_(limit, ledger_url, output_format):
    """List the latest version of each variable, most recently created first.

    \b
    Example:
        reprovar list --limit 5 --json
    """
    malformed = MalformedRows()
    records = open_ledger(ledger_url).latest(limit or None, on_malformed=malformed)
    columns = COLUMNS if output_format == "table" else variable_columns(output_format)
    emit([variable_row(r, output_format) for r in records], output_format, columns)
    malformed.report()
