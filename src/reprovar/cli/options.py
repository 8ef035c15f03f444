"""Options shared by CLI commands."""

from __future__ import annotations

import click

from ..ledger import Ledger

ledger_option = click.option(
    "--ledger",
    "ledger_url",
    metavar="URL",
    default=None,
    help="Ledger path or SQLAlchemy URL (default: $REPROVAR_LEDGER, else ./reprovar.db).",
)


def open_ledger(ledger_url: str | None, *, create: bool = False) -> Ledger:
    """Open the ledger a command works on; read-only commands never create one by mistake."""
    return Ledger(ledger_url, create=create)
