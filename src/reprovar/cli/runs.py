"""``reprovar runs`` and ``reprovar runs show ID``: the processes that recorded variables."""

from __future__ import annotations

import click

from ..audit.query import get_run, variable_counts
from .options import ledger_option, open_ledger
from .output import emit, emit_record, output_options, say
from .rows import link_text, run_columns, run_row, variable_columns, variable_row
from .trackers import tracker_run_options, tracker_runs


@click.group(invoke_without_command=True)
@tracker_run_options
@ledger_option
@output_options
@click.pass_context
def runs(ctx, mlflow_run, wandb_run, ledger_url, output_format):
    """List the runs (processes that recorded variables), oldest first; `runs show ID`
    shows one run and the variables it created. With --mlflow-run ID or --wandb-run PATH,
    shows the run(s) linked to that tracker run and their variables, as `runs show` does.

    \b
    Example:
        reprovar runs
        reprovar runs show 3
        reprovar runs --mlflow-run 3f2a9c0d1e8b4f6a8c7d5e4f3a2b1c0d
        reprovar runs --wandb-run my-team/my-project/1x2y3z4w --json
    """
    if ctx.invoked_subcommand is not None:
        return
    ledger = open_ledger(ledger_url)
    if mlflow_run is not None or wandb_run is not None:
        shown = [_run_with_variables(ledger, run_id, output_format)
                 for run_id in tracker_runs(ledger, mlflow_run, wandb_run)]
        if output_format == "json":
            emit(shown, "json", list(shown[0]))
            return
        for i, row in enumerate(shown):
            if i:
                click.echo()
            _emit_run(row, output_format)
        return
    counts = variable_counts(ledger)
    rows = [run_row(r, output_format, counts.get(r.id, 0)) for r in ledger.runs()]
    emit(rows, output_format, run_columns(output_format))


# Unknown options are taken as the ID: "-1" is a run id out of range, not an option.
@runs.command("show", context_settings={"ignore_unknown_options": True})
@click.argument("run_id", metavar="ID")  # checked by the library: one-line error for "abc"
@ledger_option
@output_options
def show_run(run_id, ledger_url, output_format):
    """Show one run (host, user, command, versions, tracker links) and the variables it created.

    With --csv, prints the run's variables.

    \b
    Example:
        reprovar runs show 3 --json
    """
    ledger = open_ledger(ledger_url)
    _emit_run(_run_with_variables(ledger, get_run(ledger, run_id).id, output_format), output_format)


def _run_with_variables(ledger, run_id: int, output_format: str) -> dict:
    run = ledger.run(run_id)
    variables = [variable_row(r, output_format) for r in ledger.find(run=run.id)]
    row = run_row(run, output_format, len(variables))
    links = ledger.links(run.id)
    if output_format == "table":
        row["tracker_links"] = "; ".join(link_text(link) for link in links) or "none"
    elif output_format == "json":
        row["tracker_links"] = [link.to_dict() for link in links]
    row["variables_created"] = variables
    return row


def _emit_run(row: dict, output_format: str) -> None:
    variables = row.pop("variables_created")
    if output_format == "json":
        row["variables_created"] = variables
        emit_record(row, "json")
    elif output_format == "csv":
        emit(variables, "csv", variable_columns("csv"))
    else:
        emit_record(row, "table")
        say()
        emit(variables, "table", variable_columns("table"))
