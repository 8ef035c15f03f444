"""The ``reprovar`` command line: a thin layer over the library.

Each command parses its arguments, calls the library, and prints; library errors become
one ``Error: ...`` line and exit status 1 (see :mod:`.errors`). Output formats are shared
(:mod:`.output`).

Example:
    $ reprovar replay w --version 1 -o w.npy
    $ reprovar list --json
"""

from __future__ import annotations

import click

from .db import db
from .errors import ReprovarGroup
from .listing import list_
from .replay import replay
from . import audit, export, find, plot, report, runs, show, sql, verify  # commands over reprovar.audit


@click.group(cls=ReprovarGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reprovar", prog_name="reprovar")
def main():
    """reprovar: random variables that can always be made again.

    Every variable is recorded in a ledger (default ./reprovar.db, or $REPROVAR_LEDGER);
    these commands list, replay and maintain it.

    \b
    Example:
        reprovar list
        reprovar replay dense/kernel
    """


main.add_command(replay)
main.add_command(list_)
main.add_command(db)
main.add_command(show.show)
main.add_command(show.history)
main.add_command(find.find)
main.add_command(runs.runs)
main.add_command(audit.audit)
main.add_command(verify.verify)
main.add_command(export.export)
main.add_command(sql.sql)
main.add_command(report.report)
main.add_command(plot.plot)

__all__ = ["main"]
