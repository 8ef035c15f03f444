"""``reprovar find``: recorded variables that match filters."""

from __future__ import annotations

import click

from .options import Integer, ledger_option, open_ledger
from .output import emit, output_options
from .params import filter_options
from .rows import variable_columns, variable_row


@click.command()
@filter_options
@click.option("-n", "--limit", type=Integer(min=0), default=0, help="Show at most this many (0: all).")
@ledger_option
@output_options
def find(filters, limit, ledger_url, output_format):
    """Find recorded variables (every version) matching all the given filters, oldest first.

    Times are ISO 8601 dates or date-times; a time without an offset is UTC. --since is
    inclusive, --until exclusive (a bare date includes that whole day).

    \b
    Example:
        reprovar find --name 'dense_*' --since 2026-11-01 --dtype float32
    """
    records = open_ledger(ledger_url).find(**filters, limit=limit or None)
    emit([variable_row(r, output_format) for r in records], output_format, variable_columns(output_format))
