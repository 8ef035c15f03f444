"""``reprovar export``: the ledger, or what filters select, as JSON or CSV."""

from __future__ import annotations

import sys

import click

from ..audit.exporting import check_format
from ..audit.query import VariableFilter
from .options import MalformedRows, ledger_option, open_ledger
from .output import say
from .params import filter_options


@click.command()
@click.option("--format", "fmt", metavar="json|csv",
              help="Output format (default: from the -o suffix, else json).")
@click.option("-o", "--output", type=click.Path(), help="Write to this file, a regular file (default: stdout).")
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@filter_options
@ledger_option
def export(fmt, output, force, filters, ledger_url):
    """Export the whole ledger, or the variables the filters select, as JSON (variables and
    their runs) or CSV (one row per variable, its run's fields as run_* columns).

    The file is written atomically and an existing one is refused without --force. A row
    that cannot be read (edited behind reprovar's back) is left out and reported as an
    Error line (JSON lists it under "malformed"); the exit status is then 1.

    \b
    Example:
        reprovar export -o ledger.json
        reprovar export --format csv --name 'dense_*' -o dense.csv
    """
    if fmt is None:
        fmt = "csv" if output and output.lower().endswith(".csv") else "json"
    fmt = check_format(fmt)
    flt = VariableFilter.create(**filters)
    ledger = open_ledger(ledger_url)
    malformed = MalformedRows()
    if output is None:
        ledger.export(sys.stdout, format=fmt, filter=flt, on_malformed=malformed)
    else:
        n = ledger.export(output, format=fmt, filter=flt, force=force, on_malformed=malformed)
        say(f"exported {n} variables to {output} ({fmt})", err=True)
    malformed.report()
