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
@ledger_option
def upgrade(ledger_url):
    """Create the ledger at the newest schema, or migrate an older one to it.

    Safe to run while other processes use the ledger, and from several processes at once.

    \b
    Example:
        reprovar db upgrade --ledger runs/reprovar.db
    """
    ledger = Ledger(ledger_url, create=True, upgrade=True)
    before, head = ledger.opened_at_revision, head_revision()
    if before is None:
        click.echo(f"created ledger {ledger.location} at schema revision {head}")
    elif before == head:
        click.echo(f"ledger {ledger.location} is already at schema revision {head} (newest)")
    else:
        click.echo(f"upgraded ledger {ledger.location} from schema revision {before} to {head}")
    ledger.close()
