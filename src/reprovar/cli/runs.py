"""``reprovar runs`` and ``reprovar runs show ID``: the processes that recorded variables."""

from __future__ import annotations

import click

from ..audit.query import get_run, variable_counts
from .options import ledger_option, open_ledger
from .output import emit, emit_record, output_options, say
from .rows import run_columns, run_row, variable_columns, variable_row


@click.group(invoke_without_command=True)
@ledger_option
@output_options
@click.pass_context
def runs(ctx, ledger_url, output_format):
    """List the runs (processes that recorded variables), oldest first; `runs show ID`
    shows one run and the variables it created.

    \b
    Example:
        reprovar runs
        reprovar runs show 3
    """
    if ctx.invoked_subcommand is not None:
        return
    ledger = open_ledger(ledger_url)
    counts = variable_counts(ledger)
    rows = [run_row(r, output_format, counts.get(r.id, 0)) for r in ledger.runs()]
    emit(rows, output_format, run_columns(output_format))


# Unknown options are taken as the ID: "-1" is a run id out of range, not an option.
@runs.command("show", context_settings={"ignore_unknown_options": True})
@click.argument("run_id", metavar="ID")  # checked by the library: one-line error for "abc"
@ledger_option
@output_options
def show_run(run_id, ledger_url, output_format):
    """Show one run (host, user, command, versions) and the variables it created.

    With --csv, prints the run's variables.

    \b
    Example:
        reprovar runs show 3 --json
    """
    ledger = open_ledger(ledger_url)
    run = get_run(ledger, run_id)
    variables = [variable_row(r, output_format) for r in ledger.find(run=run.id)]
    row = run_row(run, output_format, len(variables))
    if output_format == "json":
        row["variables_created"] = variables
        emit_record(row, "json")
    elif output_format == "csv":
        emit(variables, "csv", variable_columns("csv"))
    else:
        emit_record(row, "table")
        say()
        emit(variables, "table", variable_columns("table"))
