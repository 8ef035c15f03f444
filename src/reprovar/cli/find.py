"""``reprovar find``: recorded variables that match filters."""

from __future__ import annotations

import click

from ..errors import ArgumentValueError
from .options import Integer, ledger_option, open_ledger
from .output import emit, output_options
from .params import filter_options
from .rows import variable_columns, variable_row
from ..trackers import tracker_selection
from .trackers import parse_run_of


@click.command()
@filter_options
@click.option("--run-of", "run_of", metavar="TRACKER:RUN",
              help="Variables of the reprovar run(s) linked to a tracker run: mlflow:RUN_ID or "
                   "wandb:ENTITY/PROJECT/RUN_ID.")
@click.option("-n", "--limit", type=Integer(min=0), default=0, help="Show at most this many (0: all).")
@ledger_option
@output_options
def find(filters, run_of, limit, ledger_url, output_format):
    """Find recorded variables (every version) matching all the given filters, oldest first.

    Times are ISO 8601 dates or date-times; a time without an offset is UTC. --since is
    inclusive, --until exclusive (a bare date includes that whole day). --run-of selects the
    variables recorded for an MLflow or W&B run (by the reprovar run linked to it, from its
    link to the next link to the same tracker) instead of --run.

    \b
    Example:
        reprovar find --name 'dense_*' --since 2026-11-01 --dtype float32
        reprovar find --run-of mlflow:3f2a9c0d1e8b4f6a8c7d5e4f3a2b1c0d
    """
    ledger = open_ledger(ledger_url)
    if run_of is None:
        records = ledger.find(**filters, limit=limit or None)
    else:
        if filters["run"] is not None:
            raise ArgumentValueError("give --run or --run-of, not both")
        mlflow_run, wandb_run = parse_run_of(run_of)
        records = []
        for run_id, low, high in tracker_selection(mlflow_run=mlflow_run, wandb_run=wandb_run, ledger=ledger):
            records += [r for r in ledger.find(**{**filters, "run": run_id})
                        if r.id > low and (high is None or r.id <= high)]
        records.sort(key=lambda r: r.id)
        if limit:
            records = records[:limit]
    emit([variable_row(r, output_format) for r in records], output_format, variable_columns(output_format))
