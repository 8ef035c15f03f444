"""Seed audit: seeds shared by different variables, and variables whose seed came from the OS.

Two differently named variables made with one seed are usually an accident (a seed copied
between layers makes their values identical or correlated). Versions of one name that reuse
a seed are not reported: that is the same variable made again. A seed drawn from the OS
(``seed=None``) is recorded, so those variables replay, but the script alone would not make
them again; the audit lists them so that they can be pinned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from ..ledger.models import variables_table
from ..ledger.records import VariableRecord
from .query import Records

if TYPE_CHECKING:
    from ..ledger import Ledger

_V = variables_table.c


@dataclass(frozen=True)
class SharedSeed:
    """One seed and the records, of at least two different names, that used it.

    Example:
        >>> SharedSeed(7, ()).names
        []
    """

    seed: int
    records: tuple[VariableRecord, ...]

    @property
    def names(self) -> list[str]:
        """The distinct names, in order of first use."""
        return list(dict.fromkeys(r.name for r in self.records))

    def to_dict(self) -> dict:
        return {"seed": self.seed, "names": self.names, "variables": [r.to_dict() for r in self.records]}


@dataclass(frozen=True)
class SeedAudit:
    """The result of :func:`audit_seeds`.

    ``os_drawn`` is None when the ledger cannot tell (a schema without the ``seed_source``
    column); ``unknown_origin`` counts rows recorded before the column existed.

    Example:
        >>> SeedAudit(shared=[], os_drawn=Records()).clean
        True
    """

    shared: list[SharedSeed]
    os_drawn: Records | None
    unknown_origin: int = 0

    @property
    def clean(self) -> bool:
        """No seed is shared by different names."""
        return not self.shared

    def to_dict(self) -> dict:
        return {
            "shared_seeds": [s.to_dict() for s in self.shared],
            "os_drawn": None if self.os_drawn is None else self.os_drawn.to_dicts(),
            "unknown_origin": self.unknown_origin,
        }


def audit_seeds(ledger: Ledger) -> SeedAudit:
    """Seeds used by more than one name, and variables whose seed was drawn from the OS.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> for name in ("a", "b"):
        ...     _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name=name, seed=42, ledger=led)
        >>> [(s.seed, s.names) for s in audit_seeds(led).shared]
        [(42, ['a', 'b'])]
    """
    # Group by seed in SQL (index on seed), then compare names exactly in Python: MariaDB's
    # binary collation still pads, so COUNT(DISTINCT name) alone could miss "a" vs "a ".
    candidates = (
        select(_V.seed).group_by(_V.seed).having(func.count(_V.id) > 1).subquery()
    )
    stmt = (
        select(variables_table)
        .where(_V.seed.in_(select(candidates.c.seed)))
        .order_by(_V.seed, _V.id)
    )
    shared: list[SharedSeed] = []
    with ledger.connect() as connection:
        rows = connection.execute(stmt).all()
    group: list[VariableRecord] = []
    for record in map(VariableRecord.from_row, rows):
        if group and group[0].seed != record.seed:
            _close(group, shared)
            group = []
        group.append(record)
    _close(group, shared)
    shared.sort(key=lambda s: s.seed)  # stored as signed 64-bit, so SQL order is not numeric
    os_drawn, unknown = _os_drawn(ledger)
    return SeedAudit(shared, os_drawn, unknown)


def _close(group: list[VariableRecord], out: list[SharedSeed]) -> None:
    if len({r.name for r in group}) > 1:
        out.append(SharedSeed(group[0].seed, tuple(group)))


def _os_drawn(ledger: Ledger) -> tuple[Records | None, int]:
    if "seed_source" not in _V:  # a reprovar whose ledger does not keep the seed's origin
        return None, 0
    with ledger.connect() as connection:
        rows = connection.execute(
            select(variables_table).where(_V.seed_source == "os").order_by(_V.id)
        ).all()
        unknown = connection.execute(
            select(func.count()).select_from(variables_table).where(_V.seed_source.is_(None))
        ).scalar_one()
    return Records(map(VariableRecord.from_row, rows)), unknown
