"""Whole-ledger verification: check every row's seal and chain, make the variables again and
check every digest.

Each record gets one outcome, the first that applies:

* ``broken_seal``: the row's seal does not match its fields (the row was edited after it was
  recorded), it has none, or it was not made with the key given; the row is not replayed;
* ``broken_chain``: the row is intact but the version before it is missing, or is not the one
  this row was chained to (it was deleted, or changed and re-sealed), or the run the row
  names is missing (deleted: ``show`` could not show it);
* ``mismatched``: made again, different digest (the sampler changed, or the row was changed
  and re-sealed by someone who could compute its seal);
* ``failed``: could not be checked at all (a malformed row, unknown algorithm or digest
  scheme, out of memory);
* ``unchecked``: the values verify, but the row is sealed with a key and none was given;
* ``verified``: seal, chain and values all check.

One bad record never stops the others.

The tracker links of the runs checked (all links for the whole ledger) have their seals
checked too (:class:`LinkOutcome`): ``verified``, ``broken_seal``, or ``unchecked`` (sealed
with a key; none given). Any but ``verified`` makes the summary not ``ok``.

With a ``distributed.Client`` the digests are computed on the cluster instead: each 4 MiB
leaf is generated and hashed on a worker and only leaf digests come back, so variables of
any size are verified without ever existing in one place. Seals and chains, which need no
values, are checked here as always. Several records are in flight at once
(:data:`CLUSTER_WINDOW`), so small variables do not wait on one round trip each.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Container, Iterable, Iterator, Literal

from ..errors import DigestMismatchError
from ..ledger.links import LinkRecord
from ..ledger.records import MalformedRow, VariableRecord
from ..ledger.seal import SealKey, check_seal

Status = Literal["verified", "mismatched", "failed", "broken_seal", "broken_chain", "unchecked"]
#: Where a version's predecessor is absent from the ledger (see :func:`verify_record`).
MISSING = object()
#: The default of :func:`verify_record`: the chain is not checked.
NOT_LOOKED_UP = object()
#: Called after each record: ``progress(done, total, outcome)``; ``total`` may be None.
ProgressCallback = Callable[[int, "int | None", "VerifyOutcome"], None]
#: Records whose digest tasks are on the cluster at once.
CLUSTER_WINDOW = 32
#: Seal states that stop a record before its values are made.
_BROKEN_SEALS = ("broken", "wrong_key", "unkeyed")


@dataclass(frozen=True)
class VerifyOutcome:
    """How one record fared.

    Example:
        >>> VerifyOutcome(None, "verified").ok
        True
    """

    record: VariableRecord | MalformedRow
    status: Status
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    def to_dict(self) -> dict:
        """JSON-ready: the record's name, version, id and digest, the status and its detail."""
        r = self.record
        return {"id": r.id, "name": r.name, "version": r.version, "digest": r.digest,
                "status": self.status, "detail": self.detail, "seconds": round(self.seconds, 6)}


@dataclass(frozen=True)
class LinkOutcome:
    """How one tracker link's seal fared: ``verified``, ``broken_seal`` or ``unchecked``.

    Example:
        >>> import datetime as dt
        >>> link = LinkRecord(1, 1, "mlflow", "3f2a", "0", None, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), None, "")
        >>> LinkOutcome(link, "broken_seal", "the row has no seal").to_dict()["name"]
        'link mlflow:3f2a'
    """

    link: LinkRecord
    status: Literal["verified", "broken_seal", "unchecked"]
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    def to_dict(self) -> dict:
        """JSON-ready, with the keys of :meth:`VerifyOutcome.to_dict` (no version or digest)."""
        link = self.link
        return {"id": link.id, "name": f"link {link.tracker}:{link.path}", "version": None, "digest": None,
                "status": self.status, "detail": f"run {link.run_id}: {self.detail}" if self.detail else "",
                "seconds": 0.0}


def check_links(links, key: SealKey | None) -> list[LinkOutcome]:
    """Check each link row's seal with ``key`` (see :func:`reprovar.ledger.links.check_link_seal`).

    Example:
        >>> check_links([], None)
        []
    """
    from ..ledger.links import check_link_seal

    out = []
    for link in links:
        seal = check_link_seal(link.__dict__, link.seal, key)
        if seal.status == "ok":
            out.append(LinkOutcome(link, "verified"))
        elif seal.status == "no_key":
            out.append(LinkOutcome(link, "unchecked", seal.detail))
        else:
            out.append(LinkOutcome(link, "broken_seal", seal.detail))
    return out


@dataclass
class VerifySummary:
    """Counts and outcomes of a verification; ``ok`` only when nothing mismatched or failed.

    Example:
        >>> s = VerifySummary()
        >>> s.ok, s.line()
        (True, '0 verified, 0 mismatched, 0 failed')
    """

    outcomes: list[VerifyOutcome] = field(default_factory=list)
    verified: int = 0
    mismatched: int = 0
    failed: int = 0
    broken_seal: int = 0
    broken_chain: int = 0
    unchecked: int = 0
    nbytes: int = 0
    seconds: float = 0.0
    #: The tracker links checked (see :class:`LinkOutcome`).
    links: list[LinkOutcome] = field(default_factory=list)

    @property
    def broken_links(self) -> int:
        return sum(1 for o in self.links if o.status == "broken_seal")

    @property
    def unchecked_links(self) -> int:
        return sum(1 for o in self.links if o.status == "unchecked")

    @property
    def total(self) -> int:
        return (self.verified + self.mismatched + self.failed + self.broken_seal
                + self.broken_chain + self.unchecked)

    @property
    def ok(self) -> bool:
        return self.total == self.verified and all(o.ok for o in self.links)

    @property
    def problems(self) -> list[VerifyOutcome]:
        """The outcomes that are not ``verified``."""
        return [o for o in self.outcomes if not o.ok]

    def line(self) -> str:
        """The summary line the CLI prints; seal counts appear when not zero."""
        line = f"{self.verified} verified, {self.mismatched} mismatched, {self.failed} failed"
        if self.broken_seal:
            line += f", {self.broken_seal} broken seal{'s' if self.broken_seal != 1 else ''}"
        if self.broken_chain:
            line += f", {self.broken_chain} broken chain{'s' if self.broken_chain != 1 else ''}"
        if self.unchecked:
            line += f", {self.unchecked} unchecked (sealed with a key; none given)"
        if self.broken_links:
            line += f", {self.broken_links} broken link seal{'s' if self.broken_links != 1 else ''}"
        if self.unchecked_links:
            line += f", {self.unchecked_links} unchecked link{'s' if self.unchecked_links != 1 else ''} (sealed with a key; none given)"
        return line

    def add(self, outcome: VerifyOutcome, keep: bool) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        if outcome.ok:
            self.nbytes += outcome.record.nbytes or 0
        if keep or not outcome.ok:
            self.outcomes.append(outcome)


def verify_record(
    record: VariableRecord, *, key: SealKey | None = None, previous_seal: object = NOT_LOOKED_UP,
    runs: Container[int] | None = None,
) -> VerifyOutcome:
    """Check ``record``'s seal and chain, make it again and compare digests; never raises for a bad record.

    Args:
        key: the key seals are checked with (None: keyed seals are ``unchecked``).
        previous_seal: the seal the ledger holds for the version before ``record`` (None for
            version 1; :data:`MISSING` when that version is absent), as :func:`verify_selection`
            looks it up; by default the chain is not checked.
        runs: the ids of the runs the ledger holds (None: not checked); a record whose run
            is not among them is a ``broken_chain``.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "v.db"))
        >>> v = reprovar.random_normal_variable((3,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> verify_record(v.record).status
        'verified'
    """
    from ..ledger.replay import replay_record

    start = time.perf_counter()
    seal = check_seal(record.__dict__, record.previous_seal, record.seal, key)
    if seal.status in _BROKEN_SEALS:
        return VerifyOutcome(record, "broken_seal", f"{seal.detail} (not replayed)", time.perf_counter() - start)
    chain = _links(record, previous_seal, runs)
    try:
        replay_record(record)
    except DigestMismatchError as e:
        values = ("mismatched", str(e))
    except Exception as e:  # any reason it cannot be made again (MemoryError too) is a failure
        values = _failure(e)
    else:
        values = ("verified", "")
    return _outcome(record, seal, chain, values, start)


def _failure(error: BaseException) -> tuple[str, str]:
    return "failed", f"{type(error).__name__}: {error}".splitlines()[0]


def _outcome(record: VariableRecord, seal, chain: str, values: tuple[str, str], start: float) -> VerifyOutcome:
    # The first outcome that applies, once the seal held and the values were checked.
    def outcome(status: Status, detail: str = "") -> VerifyOutcome:
        return VerifyOutcome(record, status, detail, time.perf_counter() - start)

    if chain:
        return outcome("broken_chain", chain + ("" if values[0] == "verified" else f"; {values[1]}"))
    if values[0] != "verified":
        return outcome(*values)
    if seal.status == "no_key":
        return outcome("unchecked", seal.detail)
    return outcome("verified")


def _links(record: VariableRecord, previous_seal: object, runs: Container[int] | None) -> str:
    # Why the record does not link to its previous version or to its run ("" when it does).
    problems = [] if previous_seal is NOT_LOOKED_UP else [check_chain(record, previous_seal)]
    if runs is not None and record.run_id not in runs:
        problems.append(f"its run (id {record.run_id}) is missing from the ledger (deleted)")
    return "; ".join(p for p in problems if p)


def check_chain(record: VariableRecord, previous_seal: object) -> str:
    """Why ``record`` does not link to the version before it (whose seal the ledger holds
    as ``previous_seal``, or :data:`MISSING`); empty when it does.

    Example:
        >>> r = VariableRecord(1, "w", 2, (1,), "float32", "normal", 0.0, 1.0, 1, "a", 1, "d", 4,
        ...                    None, 1, previous_seal="rs1:sha256:00")
        >>> check_chain(r, MISSING)
        'version 1 of this name is missing from the ledger (deleted)'
    """
    if record.version == 1:
        if record.previous_seal is not None:
            return "version 1 is chained to a previous seal, but no version comes before it"
        return ""
    if previous_seal is MISSING:
        return f"version {record.version - 1} of this name is missing from the ledger (deleted)"
    if record.previous_seal != previous_seal:
        return (f"version {record.version - 1} is not the row this version was chained to "
                "(it was changed and re-sealed, or replaced)")
    return ""


def verify_records(
    records: Iterable[VariableRecord | MalformedRow],
    *,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    keep_verified: bool = True,
    key: SealKey | None = None,
    previous_seals: Callable[[VariableRecord], object] | None = None,
    runs: Container[int] | None = None,
    client=None,
) -> VerifySummary:
    """Verify each record; return the counts and outcomes.

    Args:
        records: any iterable, e.g. a streaming query (verified one at a time, so memory
            holds one variable at most); a :class:`~reprovar.ledger.records.MalformedRow`
            in it is a ``failed`` outcome that gives the reason.
        key: the key seals are checked with (None: keyed seals are ``unchecked``).
        previous_seals: gives the seal the ledger holds for a record's previous version
            (see :func:`verify_record`); None: chains are not checked.
        runs: the ids of the ledger's runs (see :func:`verify_record`); None: not checked.
        total: how many records there are, for progress reporting.
        progress: called after each record as ``progress(done, total, outcome)``.
        keep_verified: keep the outcomes of verified records too (mismatches and failures are
            always kept); turn off for very large ledgers.
        client: a ``distributed.Client``: compute the digests on its workers, leaf by leaf
            (needs ``reprovar[dask]``); None: make each variable here, one at a time.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "vs.db"))
        >>> for s in range(3):
        ...     _ = reprovar.random_normal_variable((4,), 0.0, 1.0, name=f"w{s}", seed=s, ledger=led)
        >>> verify_records(led.find()).line()
        '3 verified, 0 mismatched, 0 failed'
    """
    def checked(record) -> VerifyOutcome:
        if isinstance(record, MalformedRow):
            return VerifyOutcome(record, "failed", f"malformed row: {record.reason}")
        previous = NOT_LOOKED_UP if previous_seals is None else previous_seals(record)
        return verify_record(record, key=key, previous_seal=previous, runs=runs)

    summary = VerifySummary()
    start = time.perf_counter()
    if client is None:
        outcomes = map(checked, records)
    else:
        outcomes = _verify_on_cluster(records, client, key, previous_seals, runs)
    for done, outcome in enumerate(outcomes, 1):
        summary.add(outcome, keep_verified)
        if progress is not None:
            progress(done, total, outcome)
    summary.seconds = time.perf_counter() - start
    return summary


def ledger_checks(ledger) -> dict:
    """The ``key``, ``previous_seals`` and ``runs`` keywords of :func:`verify_records` that
    check ``ledger``'s rows fully: seals with the ledger's key, each version's chain to the
    version before it, and that each row's run is in the ledger.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "lc.db"))
        >>> sorted(ledger_checks(led))
        ['key', 'previous_seals', 'runs']
    """
    from .query import seal_of

    def previous_seals(record: VariableRecord) -> object:
        if record.version <= 1:
            return None
        found = seal_of(ledger, record.name, record.version - 1)
        return MISSING if found is None else found

    return {"key": ledger.key, "previous_seals": previous_seals, "runs": _RunIds(ledger)}


class _RunIds:
    """The ids of ``ledger``'s runs, read when first asked (run rows are few beside variables)."""

    def __init__(self, ledger):
        self._ledger, self._ids = ledger, None

    def __contains__(self, run_id: object) -> bool:
        if self._ids is None:
            from sqlalchemy import select

            from ..ledger.models import runs_table

            with self._ledger.connect() as connection:
                self._ids = frozenset(connection.execute(select(runs_table.c.id)).scalars())
        return run_id in self._ids


def _verify_on_cluster(records, client, key, previous_seals, runs) -> Iterator[VerifyOutcome]:
    # Outcomes in the records' order; up to CLUSTER_WINDOW records computing meanwhile.
    from ..dask.graph import finish_digest, submit_digest
    from ..dask.tasks import spec_of_record
    from ..ledger.digest import SCHEME, scheme_of
    from ..ledger.replay import mismatch_message

    def submit(record) -> Callable[[], VerifyOutcome]:
        # Seal and chain here; the values on the cluster. Returns what finishes the record.
        start = time.perf_counter()
        if isinstance(record, MalformedRow):
            outcome = VerifyOutcome(record, "failed", f"malformed row: {record.reason}")
            return lambda: outcome
        if record.recipe is not None:  # a model's constant or partial writes: small, made here
            outcome = verify_record(record, key=key,
                                    previous_seal=NOT_LOOKED_UP if previous_seals is None else previous_seals(record))
            return lambda: outcome
        seal = check_seal(record.__dict__, record.previous_seal, record.seal, key)
        if seal.status in _BROKEN_SEALS:
            outcome = VerifyOutcome(record, "broken_seal", f"{seal.detail} (not replayed)", time.perf_counter() - start)
            return lambda: outcome
        previous = NOT_LOOKED_UP if previous_seals is None else previous_seals(record)
        chain = _links(record, previous, runs)
        try:
            scheme = scheme_of(record.digest)
            if scheme != SCHEME:
                raise ValueError(f"digest scheme {scheme!r} cannot be computed on a cluster")
            spec = spec_of_record(record)
            futures = submit_digest(client, spec)
        except Exception as e:  # any reason it cannot be made again is a failure of this record
            outcome = _outcome(record, seal, chain, _failure(e), start)
            return lambda: outcome

        def finish() -> VerifyOutcome:
            try:
                actual = finish_digest(spec, client.gather(futures))
            except Exception as e:  # a task that failed on its worker
                return _outcome(record, seal, chain, _failure(e), start)
            if actual != record.digest:
                return _outcome(record, seal, chain, ("mismatched", mismatch_message(record, actual)), start)
            return _outcome(record, seal, chain, ("verified", ""), start)

        return finish

    pending: deque = deque()
    for record in records:
        pending.append(submit(record))
        if len(pending) >= CLUSTER_WINDOW:
            yield pending.popleft()()
    while pending:
        yield pending.popleft()()


def verify_selection(
    ledger,
    names: list[str] | None = None,
    *,
    run: int | None = None,
    progress: ProgressCallback | None = None,
    keep_verified: bool = True,
    client=None,
) -> VerifySummary:
    """Verify every version of ``names``, or the variables of ``run``, or the whole ledger:
    seals (with the ledger's key), chains and values.

    Unknown names and runs raise before anything is verified. ``client``: the values are
    checked on that Dask cluster (see :func:`verify_records`).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "sel.db"))
        >>> verify_selection(led).total
        0
    """
    from ..errors import ArgumentValueError
    from .query import VariableFilter, count, history_rows, iter_rows

    if names and run is not None:
        raise ArgumentValueError("verify either names or a run, not both")
    options = dict(progress=progress, keep_verified=keep_verified, client=client, **ledger_checks(ledger))
    if names:
        selected = [row for name in dict.fromkeys(names) for row in history_rows(ledger, name)]
        summary = verify_records(selected, total=len(selected), **options)
        run_ids = {r.run_id for r in selected if isinstance(r, VariableRecord)}
    else:
        flt = VariableFilter.create(run=run)
        total = count(ledger, flt)
        summary = verify_records(iter_rows(ledger, flt), total=total, **options)
        run_ids = None if run is None else [flt.run]
    summary.links = check_links(_links_of(ledger, run_ids), ledger.key)
    return summary


def _links_of(ledger, run_ids) -> list[LinkRecord]:
    from ..ledger.links import links_of_runs

    with ledger.connect() as connection:
        return links_of_runs(connection, run_ids)
