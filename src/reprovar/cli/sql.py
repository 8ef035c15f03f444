"""``reprovar sql``: one read-only SQL statement, for what the other commands do not cover."""

from __future__ import annotations

import click

from ..audit.readonly import DEFAULT_TIMEOUT_S, read_only_query
from ..ledger.urls import default_target, to_url
from .options import Seconds, ledger_option
from .output import emit, output_options, say
from .rows import plain


@click.command()
@click.argument("statement")
@click.option("--timeout", type=Seconds(), default=DEFAULT_TIMEOUT_S,
              show_default=True, metavar="SECONDS", help="Stop the statement after this many seconds.")
@click.option("--allow-privileged", is_flag=True,
              help="Run even on a superuser or FILE-privileged account (not recommended).")
@ledger_option
@output_options
def sql(statement, timeout, allow_privileged, ledger_url, output_format):
    """Run one read-only query on the ledger.

    The query is checked before it is sent: one SELECT (WITH, UNION, VALUES; on SQLite a
    reporting PRAGMA) over the ledger's own tables, with ordinary functions only; writes,
    COPY, INTO OUTFILE, SET, file and admin functions, MariaDB executable comments and
    optimizer hints are refused. It then runs on a read-only connection
    (SQLite opened read-only, PostgreSQL and MariaDB in read-only transactions). A superuser
    or FILE-privileged account (roles included) is refused: use a read-only account
    (docs/sql.md). Tables: reprovar_runs, reprovar_variables (seeds at or above
    2**63 read as seed - 2**64), reprovar_tracker_links.

    \b
    Example:
        reprovar sql "SELECT dtype, COUNT(*) AS n FROM reprovar_variables GROUP BY dtype"
    """
    result = read_only_query(to_url(ledger_url or default_target()), statement, timeout=timeout,
                             allow_privileged=allow_privileged)
    columns = _unique(result.columns)
    rows = [{c: plain(v) for c, v in zip(columns, row)} for row in result.rows]
    if not columns:
        say("(statement returned no rows)")
        return
    emit(rows, output_format, columns)


def _unique(columns: list[str]) -> list[str]:
    # "SELECT a.id, b.id" names two columns "id"; rows are dicts, so keep both apart.
    seen: dict[str, int] = {}
    out = []
    for c in columns:
        seen[c] = seen.get(c, 0) + 1
        out.append(c if seen[c] == 1 else f"{c}_{seen[c]}")
    return out
