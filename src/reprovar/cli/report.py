"""``reprovar report``: a self-contained HTML report on the selected variables."""

from __future__ import annotations

import click

from ..audit.query import VariableFilter
from .options import ledger_option, open_ledger
from .output import say
from .params import filter_options


@click.command()
@filter_options
@click.option("-o", "--output", required=True, type=click.Path(),
              help="The HTML file to write (atomically).")
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Make every variable again and check its digest (the ✓/✗ column).")
@ledger_option
def report(filters, output, force, verify, ledger_url):
    """Write one self-contained HTML file about the variables the filters select (default:
    all): the runs that made them, a table with each variable's distribution, seed, digest
    and ✓/✗ verification, seeds shared between names, and per variable a histogram under
    the recorded density with sample and expected mean and standard deviation.

    No scripts, fonts or images are fetched from anywhere: the page works offline. Variables
    of more than 10^6 elements are summarized from their first 10^6 elements (C order).
    Needs the report extra: pip install 'reprovar[report]'.

    \b
    Example:
        reprovar report -o ledger.html
        reprovar report --run 3 --no-verify -o run3.html --force
    """
    from ..audit.report import require_report_extra, write_report

    require_report_extra()  # before the ledger is opened: the message is the first thing seen
    flt = VariableFilter.create(**filters)
    ledger = open_ledger(ledger_url)
    summary = write_report(ledger, output, filter=flt, verify=verify, force=force)
    say(f"wrote {output}: {summary.line()}", err=True)
