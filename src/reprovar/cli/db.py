"""``reprovar db``: schema maintenance."""

from __future__ import annotations

import click

from ..audit.ledger import Ledger
from ..ledger.schema import SEALING_REVISION, head_revision, upgrade_runs
from .options import ledger_option
from .output import say


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
    reprovar_schema_version) are created beside the others, which are never touched. An
    upgrade through revision 0004 seals the rows it finds without a key, and says so: a
    keyed verify trusts them only once the key holder runs 'reprovar db vouch'.

    \b
    Example:
        reprovar db upgrade --ledger runs/reprovar.db
        reprovar db upgrade --share --ledger postgresql+psycopg://me@dbhost/mlflow
    """
    ledger = Ledger(ledger_url, create=True, upgrade=True, share=share)
    before, head = ledger.opened_at_revision, head_revision()
    if before is None:
        say(f"created ledger {ledger.location} at schema revision {head}")
    elif before == head:
        say(f"ledger {ledger.location} is already at schema revision {head} (newest)")
    else:
        say(f"upgraded ledger {ledger.location} from schema revision {before} to {head}")
        if upgrade_runs(before, SEALING_REVISION):
            say(f"rows recorded before revision {SEALING_REVISION} were sealed without a key: "
                       "a keyed `reprovar verify` reports them as broken seals until the key holder "
                       "has checked them and run `reprovar db vouch`")
    ledger.close()


@db.command()
@click.option("--yes", is_flag=True, help="Vouch without asking for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only list the rows it would seal; change nothing.")
@ledger_option
def vouch(yes, dry_run, ledger_url):
    """Seal, with the ledger's key, the rows that carry unkeyed seals: the key holder's
    statement that they are what was recorded.

    Rows sealed by a schema upgrade (revision 0004) always get unkeyed seals, because the
    upgrade cannot know who wrote them: someone without the key may have changed them
    first. A keyed `reprovar verify` reports them as broken seals until you vouch for them.
    Check them first (`reprovar verify --all` replays their values, but a row whose seed and
    digest were both changed still replays), and run this only while nothing records into
    the ledger. Refused, changing nothing, when any row's seal or chain does not check. The
    key comes from $REPROVAR_LEDGER_KEY (or the file $REPROVAR_LEDGER_KEY_FILE names).

    \b
    Example:
        reprovar db vouch --dry-run --ledger runs/reprovar.db
        reprovar db vouch --yes --ledger runs/reprovar.db
    """
    ledger = Ledger(ledger_url, create=False, upgrade=False)
    try:
        found = ledger.vouch(dry_run=True)
        if not found:
            say(f"nothing to vouch for: every row of {ledger.location} is sealed with key {ledger.key.id}")
            return
        vouched = [v for v in found if not v.rechained]
        listed = ", ".join(v.label for v in vouched[:20]) + (
            f" and {len(vouched) - 20} more" if len(vouched) > 20 else "")
        rows = f"{len(vouched)} row{'s' if len(vouched) != 1 else ''}"
        say(f"rows with unkeyed seals in {ledger.location}: {listed}")
        if dry_run:
            say(f"would vouch for {rows} with key {ledger.key.id} (dry run; nothing changed)")
            return
        if not yes and not click.confirm(f"vouch for {rows}, as they stand now, with key {ledger.key.id}?"):
            raise click.ClickException("nothing vouched for (not confirmed)")
        done = ledger.vouch()
        chained = sum(v.rechained for v in done)
        vouched = [v for v in done if not v.rechained]
        say(f"vouched for {len(vouched)} row{'s' if len(vouched) != 1 else ''} with key "
                   f"{ledger.key.id}" + (f"; {chained} later version{'s' if chained != 1 else ''} "
                                         "chained to the new seals" if chained else ""))
    finally:
        ledger.close()
