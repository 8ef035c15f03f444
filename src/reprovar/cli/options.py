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


def open_ledger(ledger_url: str | None) -> Ledger:
    """Open the ledger a reading command works on, read-only: it never creates, migrates or
    writes anything (an out-of-date ledger is refused with the `reprovar db upgrade` command)."""
    ledger = Ledger(ledger_url, read_only=True)
    context = click.get_current_context(silent=True)
    if context is not None:
        # Close when the command ends, so that SQLite's -wal/-shm files go with the connections.
        context.call_on_close(ledger.close)
    return ledger


class MalformedRows:
    """Collects rows a command could not read (pass it as ``on_malformed``); :meth:`report`
    prints one ``Error:`` line each and exits 1 once the command has done the rest."""

    def __init__(self):
        self.rows = []

    def __call__(self, row) -> None:
        self.rows.append(row)

    def report(self) -> None:
        for row in self.rows:
            click.echo(f"Error: {' '.join(row.message().split())}", err=True)
        if self.rows:
            raise SystemExit(1)


def check_variable_choice(name: str | None, version: int | None, row_id: int | None) -> None:
    """A command that names one variable takes ``NAME [--version N]`` or ``--id ID``."""
    if (name is None) == (row_id is None):
        raise ArgumentValueError("give a variable NAME or --id ID (not both)")
    if row_id is not None and version is not None:
        raise ArgumentValueError("--version goes with NAME, not with --id")
