"""``reprovar sql``: one read-only SQL statement, for what the other commands do not cover."""

from __future__ import annotations

import click

from ..audit.readonly import read_only_query
from ..ledger.urls import default_target, to_url
from .options import ledger_option
from .output import emit, output_options
from .rows import plain


@click.command()
@click.argument("statement")
@ledger_option
@output_options
def sql(statement, ledger_url, output_format):
    """Run one SQL statement on a read-only connection to the ledger.

    The database itself refuses writes (SQLite opened read-only, PostgreSQL and MariaDB in
    read-only transactions), so INSERT, UPDATE, DELETE, DDL and PRAGMA writes fail with an
    error and change nothing. Tables: runs, variables (seeds at or above 2**63 read as
    seed - 2**64).

    \b
    Example:
        reprovar sql "SELECT dtype, COUNT(*) AS n FROM variables GROUP BY dtype"
    """
    result = read_only_query(to_url(ledger_url or default_target()), statement)
    columns = _unique(result.columns)
    rows = [{c: plain(v) for c, v in zip(columns, row)} for row in result.rows]
    if not columns:
        click.echo("(statement returned no rows)")
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
