"""Options shared by CLI commands."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Callable, Iterator

import click

from ..errors import ArgumentValueError
from ..audit.ledger import Ledger
from .errors import one_line
from .output import say

ledger_option = click.option(
    "--ledger",
    "ledger_url",
    metavar="URL",
    default=None,
    help="Ledger path or SQLAlchemy URL (default: $REPROVAR_LEDGER, else ./reprovar.db).",
)


class Integer(click.IntRange):
    """An integer option, optionally bounded (``Integer(min=1)``); a value it refuses is the
    CLI's one ``Error:`` line (see :mod:`.errors`).

    Example:
        >>> Integer(min=1).convert("3", None, None)
        3
    """

    name = "integer"  # click's IntRange says "not a valid integer range" for 'abc'


class Seconds(click.FloatRange):
    """A duration in seconds, more than zero.

    Example:
        >>> Seconds().convert("2.5", None, None)
        2.5
    """

    name = "number of seconds"

    def __init__(self):
        super().__init__(min=0, min_open=True)


version_option = click.option("--version", "version", type=Integer(min=1),
                              help="Version of NAME (default: latest).")
id_option = click.option("--id", "row_id", type=Integer(min=1), help="Ledger row id instead of NAME.")


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
            say(f"Error: {one_line(row.message())}", err=True)
        if self.rows:
            raise SystemExit(1)


def check_variable_choice(name: str | None, version: int | None, row_id: int | None) -> None:
    """A command that names one variable takes ``NAME [--version N]`` or ``--id ID``."""
    if (name is None) == (row_id is None):
        raise ArgumentValueError("give a variable NAME or --id ID (not both)")
    if row_id is not None and version is not None:
        raise ArgumentValueError("--version goes with NAME, not with --id")


#: How long ``--scheduler`` waits for the scheduler to answer, by default (seconds): a
#: scheduler on a reachable host answers within milliseconds, so a few seconds of silence
#: means a wrong address or a hung scheduler. The same as ``reprovar.dask.connect``'s
#: default, kept here so that the CLI does not import Dask to show its help.
CONNECT_TIMEOUT_S = 5.0


def scheduler_options(command: Callable) -> Callable:
    """Add ``--scheduler ADDRESS`` and ``--connect-timeout SECONDS``; the command receives
    ``scheduler`` and ``connect_timeout``. A --connect-timeout without --scheduler is refused."""

    @functools.wraps(command)
    def checked(*args, scheduler, connect_timeout, **kwargs):
        given = click.get_current_context().get_parameter_source("connect_timeout")
        if scheduler is None and given not in (None, click.core.ParameterSource.DEFAULT):
            raise ArgumentValueError("--connect-timeout goes with --scheduler")
        return command(*args, scheduler=scheduler, connect_timeout=connect_timeout, **kwargs)

    with_timeout = click.option(
        "--connect-timeout", "connect_timeout", type=Seconds(), default=CONNECT_TIMEOUT_S,
        show_default=True, metavar="SECONDS",
        help="How long to wait for the --scheduler to answer before giving up.")(checked)
    return click.option(
        "--scheduler", "scheduler", metavar="ADDRESS", default=None,
        help="Dask scheduler address (tcp://host:8786): compute on that cluster (needs reprovar[dask]).",
    )(with_timeout)


@contextmanager
def cluster_client(address: str | None, timeout: float = CONNECT_TIMEOUT_S) -> Iterator[object]:
    """A ``distributed.Client`` for ``--scheduler ADDRESS`` (None when no address), closed after;
    a scheduler that has not answered within ``timeout`` seconds is one error."""
    if address is None:
        yield None
        return
    from ..dask import connect

    client = connect(address, timeout=timeout)
    try:
        yield client
    finally:
        client.close()
