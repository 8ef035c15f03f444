"""``reprovar verify``: make recorded variables again and check every digest."""

from __future__ import annotations

import contextlib
import sys

import click

from ..errors import ArgumentValueError
from .options import cluster_client, ledger_option, open_ledger, scheduler_options
from .output import emit, output_options, say

OUTCOME_COLUMNS = ("status", "name", "version", "id", "detail")


@click.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Verify every variable in the ledger.")
@click.option("--run", "run", metavar="ID", help="Verify the variables of one run.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar on stderr (default: when stderr is a terminal).")
@scheduler_options
@ledger_option
@output_options
def verify(names, all_, run, progress, scheduler, connect_timeout, ledger_url, output_format):
    """Check seals and chains, replay variables and check them against their recorded
    digests: every version of each NAME, the variables of --run ID, or --all.

    Prints the variables that did not verify, then `N verified, N mismatched, N failed`
    (followed by broken seals, broken chains, unchecked keyed seals and broken or unchecked
    tracker-link seals when there are any); the tracker links of the runs checked (all of
    them with --all) have their seals checked too;
    exits 1 unless everything verified. Keyed seals are checked with $REPROVAR_LEDGER_KEY
    or the file $REPROVAR_LEDGER_KEY_FILE names. With --scheduler the digests are computed
    on that Dask cluster, leaf by leaf, without gathering any variable here.

    \b
    Example:
        reprovar verify --all
        reprovar verify dense/kernel dense/bias
        reprovar verify --all --scheduler tcp://10.0.0.5:8786
    """
    if sum((bool(names), all_, run is not None)) != 1:
        raise ArgumentValueError("give NAME..., --all or --run ID (exactly one)")
    ledger = open_ledger(ledger_url)
    if progress is None:
        progress = sys.stderr.isatty()
    keep = output_format != "table"
    with cluster_client(scheduler, connect_timeout) as client:
        if progress:
            summary = _with_bar(ledger, list(names) or None, run, keep, client)
        else:
            summary = ledger.verify(list(names) or None, run=run, keep_verified=keep, client=client)
    outcomes = (summary.outcomes if keep else summary.problems) + [o for o in summary.links if keep or not o.ok]
    if output_format == "json":
        emit([o.to_dict() for o in outcomes], "json")
    elif outcomes:
        emit([o.to_dict() for o in outcomes], output_format, OUTCOME_COLUMNS)
    if output_format == "table":
        say(summary.line())
    else:
        say(summary.line(), err=True)
    if not summary.ok:
        raise SystemExit(1)


def _with_bar(ledger, names, run, keep, client):
    # The bar is made on the first callback, when the total is known.
    with contextlib.ExitStack() as stack:
        bar = None

        def progress(done, total, outcome):
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(click.progressbar(
                    length=total or 0, label="verifying", file=sys.stderr, show_pos=True))
            bar.update(1)

        return ledger.verify(names, run=run, progress=progress, keep_verified=keep, client=client)
