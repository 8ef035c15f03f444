"""``reprovar list``: the latest variables in a ledger."""

from __future__ import annotations

import click

from .options import MalformedRows, ledger_option, open_ledger
from .output import emit, output_options

COLUMNS = ("id", "name", "version", "shape", "dtype", "seed", "created")


@click.command("list")
@click.option(
    "-n", "--limit", type=click.IntRange(min=0), default=20, show_default=True,
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
    emit([r.to_dict() if output_format != "table" else r.__dict__ for r in records], output_format, COLUMNS)
    malformed.report()
