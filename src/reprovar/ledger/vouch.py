"""Vouching: the key holder seals, with the key, rows that carry unkeyed seals.

Sealing at upgrade cannot vouch for anything: the migration that added seals (revision 0004)
seals the rows it finds as they are, and whoever could write the database before could have
changed them (for instance by downgrading the schema with reprovar's own migrations). So
those rows always get unkeyed seals, whatever key the upgrading process holds, and a keyed
``verify`` reports them as broken seals ("sealed without a key").

:func:`vouch` is the explicit step that turns them into keyed seals. It is a statement by
the key holder: "these rows, as they stand now, are what was recorded". Run it only after
checking the rows, and only on a ledger nobody else could write meanwhile; it never runs by
itself. It refuses, and changes nothing, when any row's seal does not match the row, when a
row was sealed with another key, or when a chain is broken: those rows were changed after
they were sealed, and vouching would hide that.

Versions after a vouched row carry its seal in ``previous_seal`` and in their own seal:
they are chained again to the new seal (they verified with the key before, and do after).
Run it while no process records into the ledger: a row recorded meanwhile may be chained to
a seal that is then replaced (``verify`` reports that as a broken chain).

Example:
    >>> import reprovar, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "v.db")
    >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=reprovar.Ledger(path))
    >>> led = reprovar.Ledger(path, key="a key of sixteen bytes or more")
    >>> led.verify().broken_seal
    1
    >>> [(r.name, r.version) for r in led.vouch()], led.verify().ok
    ([('w', 1)], True)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import Engine

from ..errors import LedgerError, MalformedRecordError
from .engine import WRITE
from .models import variables_table as _V
from .records import VariableRecord
from .seal import SealKey, check_seal, compute_seal

#: Rows named in a refusal, at most.
SHOWN = 5


@dataclass(frozen=True)
class Vouched:
    """One row :func:`vouch` sealed with the key (``rechained``: only chained again, because
    the version before it was vouched).

    Example:
        >>> Vouched(3, "w", 1, False).label
        'w v1 (id 3)'
    """

    id: int
    name: str
    version: int
    rechained: bool

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version} (id {self.id})"


def vouch(engine: Engine, key: SealKey | None, location: str, *, dry_run: bool = False) -> list[Vouched]:
    """Seal every row that carries an unkeyed seal with ``key``; return the rows vouched for,
    then those only chained again (see the module). ``dry_run``: change nothing, only say
    which rows it would seal.

    Raises :class:`~reprovar.errors.LedgerError` without changing anything when there is no
    key, or when any row's seal or chain does not check (naming the rows).
    """
    if key is None:
        raise LedgerError(f"vouching for rows needs the ledger's key (REPROVAR_LEDGER_KEY or "
                          f"REPROVAR_LEDGER_KEY_FILE, or Ledger(..., key=)); ledger {location} has none")
    dialect = engine.dialect.name
    with engine.connect() as connection:
        if dialect == "sqlite":
            connection = connection.execution_options(**WRITE)  # BEGIN IMMEDIATE: writers wait
        with connection.begin():
            if dialect == "postgresql":  # inserts wait until this transaction ends
                connection.execute(text(f"LOCK TABLE {_V.name} IN EXCLUSIVE MODE"))
            query = select(_V).order_by(_V.c.name, _V.c.version, _V.c.id)
            if dialect in ("mysql", "mariadb"):
                query = query.with_for_update()
            rows = connection.execute(query).all()
            plan, problems = _plan(rows, key)
            if problems:
                shown = "; ".join(problems[:SHOWN]) + (
                    f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")
                raise LedgerError(
                    f"refused to vouch for the rows of ledger {location}: {len(problems)} "
                    f"row{'s' if len(problems) != 1 else ''} cannot be trusted ({shown}); nothing was "
                    "changed (`reprovar verify --all` reports them)")
            if plan and not dry_run:
                statement = (update(_V).where(_V.c.id == bindparam("row_id"))
                             .values(seal=bindparam("new_seal"), previous_seal=bindparam("new_previous")))
                connection.execute(statement, [
                    {"row_id": done.id, "new_seal": seal, "new_previous": previous}
                    for done, seal, previous in plan])
    found = [done for done, _, _ in plan]
    return [v for v in found if not v.rechained] + [v for v in found if v.rechained]


def _plan(rows, key: SealKey) -> tuple[list[tuple[Vouched, str, str | None]], list[str]]:
    # (row, new seal, new previous seal) for each row to change; why each untrusted row is so.
    plan, problems = [], []
    name, old_previous, new_previous, expected_version = None, None, None, 1
    for row in rows:
        try:
            record = VariableRecord.from_row(row)
        except MalformedRecordError as e:
            problems.append(e.row.message())
            name = None
            continue
        label = f"{record.name} v{record.version} (id {record.id})"
        if record.name != name:
            name, old_previous, new_previous, expected_version = record.name, None, None, 1
        if record.version != expected_version or record.previous_seal != old_previous:
            problems.append(f"{label}: its chain to the version before it is broken")
        expected_version = record.version + 1
        old_previous = record.seal
        values = record.__dict__
        keyed = check_seal(values, record.previous_seal, record.seal, key)
        if keyed.status == "unkeyed":
            unkeyed = check_seal(values, record.previous_seal, record.seal, None)
            if not unkeyed.ok:
                problems.append(f"{label}: {unkeyed.detail}")
                continue
            rechained = False
        elif keyed.ok:
            if new_previous == record.previous_seal:
                new_previous = record.seal
                continue  # sealed with the key, and its predecessor keeps its seal
            rechained = True
        else:
            problems.append(f"{label}: {keyed.detail}")
            continue
        seal = compute_seal(values, new_previous, key)
        plan.append((Vouched(record.id, record.name, record.version, rechained), seal, new_previous))
        new_previous = seal
    return plan, problems
