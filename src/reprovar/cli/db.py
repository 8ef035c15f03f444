"""``reprovar db``: schema maintenance."""

from __future__ import annotations

import click

from ..audit.ledger import Ledger
from ..ledger.schema import head_revision
from .options import ledger_option


@click.group()
def db():
    """Ledger schema maintenance.

    \b
    Example:
        reprovar db upgrade --ledger postgresql+psycopg://me@dbhost/ledger
    """


@db.command()
@click.option("--share", is_flag=True,
              help="Create the ledger even in a database that holds other applications' tables "
                   "(they are left alone).")
@ledger_option
def upgrade(share, ledger_url):
    """Create the ledger at the newest schema, or migrate an older one to it.

    Safe to run while other processes use the ledger, and from several processes at once.
    A database that is neither empty nor a reprovar ledger is refused, unless --share: then
    reprovar's tables (reprovar_runs, reprovar_variables, reprovar_tracker_links,
    reprovar_schema_version) are
    created beside the others, which are never touched.

    \b
    Example:
        reprovar db upgrade --ledger runs/reprovar.db
        reprovar db upgrade --share --ledger postgresql+psycopg://me@dbhost/mlflow
    """
    ledger = Ledger(ledger_url, create=True, upgrade=True, share=share)
    before, head = ledger.opened_at_revision, head_revision()
    if before is None:
        click.echo(f"created ledger {ledger.location} at schema revision {head}")
    elif before == head:
        click.echo(f"ledger {ledger.location} is already at schema revision {head} (newest)")
    else:
        click.echo(f"upgraded ledger {ledger.location} from schema revision {before} to {head}")
    ledger.close()
