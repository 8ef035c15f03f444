"""``reprovar audit``: checks across the whole ledger (``audit seeds``)."""

from __future__ import annotations

import click

from .options import ledger_option, open_ledger
from ..display import visible_json
from .output import emit, output_options, say
from .rows import variable_row

SEED_COLUMNS = ("finding", "seed", "name", "version", "id", "run_id", "created")


@click.group()
def audit():
    """Checks across the whole ledger.

    \b
    Example:
        reprovar audit seeds
    """


@audit.command()
@click.option("--strict", is_flag=True, help="Exit with status 1 if any seed is shared by different names.")
@ledger_option
@output_options
def seeds(strict, ledger_url, output_format):
    """List seeds shared by different variables (usually an accident: the values are
    identical or correlated) and variables whose seed was drawn from the OS (seed=None).

    Versions of one name that reuse its seed are the same variable made again, not a finding.

    \b
    Example:
        reprovar audit seeds --strict
    """
    result = open_ledger(ledger_url).audit_seeds()
    if output_format == "json":
        click.echo(visible_json(result.to_dict()))  # escaped as JSON
    else:
        rows = []
        for shared in result.shared:
            for record in shared.records:
                rows.append({"finding": "shared seed", **variable_row(record, output_format)})
        for record in result.os_drawn or ():
            rows.append({"finding": "seed drawn from OS", **variable_row(record, output_format)})
        emit(rows, output_format, SEED_COLUMNS)
    if result.os_drawn is None:
        say("note: this ledger does not record whether seeds were drawn from the OS", err=True)
    elif result.unknown_origin:
        say(f"note: {result.unknown_origin} variables were recorded before the ledger kept "
                   "whether their seed was drawn from the OS", err=True)
    if output_format == "table":
        names = sum(len(s.names) for s in result.shared)
        say(f"{len(result.shared)} shared seeds ({names} names), "
                   f"{len(result.os_drawn or ())} variables with OS-drawn seeds")
    if strict and result.shared:
        raise SystemExit(1)
