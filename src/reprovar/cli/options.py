"""Options shared by CLI commands."""

from __future__ import annotations

import click

from ..errors import ArgumentValueError
from ..audit.ledger import Ledger

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


def check_variable_choice(name: str | None, version: int | None, row_id: int | None) -> None:
    """A command that names one variable takes ``NAME [--version N]`` or ``--id ID``."""
    if (name is None) == (row_id is None):
        raise ArgumentValueError("give a variable NAME or --id ID (not both)")
    if row_id is not None and version is not None:
        raise ArgumentValueError("--version goes with NAME, not with --id")
