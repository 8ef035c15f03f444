"""Whole-ledger verification: make recorded variables again and check every digest.

Each record gets one of three outcomes: ``verified`` (same bytes), ``mismatched`` (made
again, different digest: the sampler changed or the row was tampered with) or ``failed``
(could not be made again at all: unknown algorithm, unknown digest scheme, out of memory).
One bad record never stops the others.

With a ``distributed.Client`` the digests are computed on the cluster instead: each 4 MiB
leaf is generated and hashed on a worker and only leaf digests come back, so variables of
any size are verified without ever existing in one place. Several records are in flight at
once (:data:`CLUSTER_WINDOW`), so small variables do not wait on one round trip each.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Literal

from ..errors import DigestMismatchError
from ..ledger.records import VariableRecord

Status = Literal["verified", "mismatched", "failed"]
#: Called after each record: ``progress(done, total, outcome)``; ``total`` may be None.
ProgressCallback = Callable[[int, "int | None", "VerifyOutcome"], None]
#: Records whose digest tasks are on the cluster at once.
CLUSTER_WINDOW = 32


@dataclass(frozen=True)
class VerifyOutcome:
    """How one record fared.

    Example:
        >>> VerifyOutcome(None, "verified").ok
        True
    """

    record: VariableRecord
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
    nbytes: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.verified + self.mismatched + self.failed

    @property
    def ok(self) -> bool:
        return self.mismatched == 0 and self.failed == 0

    @property
    def problems(self) -> list[VerifyOutcome]:
        """The outcomes that are not ``verified``."""
        return [o for o in self.outcomes if not o.ok]

    def line(self) -> str:
        """The summary line the CLI prints."""
        return f"{self.verified} verified, {self.mismatched} mismatched, {self.failed} failed"

    def add(self, outcome: VerifyOutcome, keep: bool) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        if outcome.ok:
            self.nbytes += outcome.record.nbytes
        if keep or not outcome.ok:
            self.outcomes.append(outcome)


def verify_record(record: VariableRecord) -> VerifyOutcome:
    """Make ``record`` again and compare digests; never raises for a bad record.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "v.db"))
        >>> v = reprovar.random_normal_variable((3,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> verify_record(v.record).status
        'verified'
    """
    from ..ledger.replay import replay_record

    start = time.perf_counter()
    try:
        replay_record(record)
    except DigestMismatchError as e:
        return VerifyOutcome(record, "mismatched", str(e), time.perf_counter() - start)
    except Exception as e:  # any reason it cannot be made again (MemoryError too) is a failure
        detail = f"{type(e).__name__}: {e}".splitlines()[0]
        return VerifyOutcome(record, "failed", detail, time.perf_counter() - start)
    return VerifyOutcome(record, "verified", "", time.perf_counter() - start)


def verify_records(
    records: Iterable[VariableRecord],
    *,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    keep_verified: bool = True,
    client=None,
) -> VerifySummary:
    """Verify each record; return the counts and outcomes.

    Args:
        records: any iterable, e.g. a streaming query (verified one at a time, so memory
            holds one variable at most).
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
    summary = VerifySummary()
    start = time.perf_counter()
    outcomes = map(verify_record, records) if client is None else _verify_on_cluster(records, client)
    for done, outcome in enumerate(outcomes, 1):
        summary.add(outcome, keep_verified)
        if progress is not None:
            progress(done, total, outcome)
    summary.seconds = time.perf_counter() - start
    return summary


def _verify_on_cluster(records: Iterable[VariableRecord], client) -> Iterator[VerifyOutcome]:
    # Outcomes in the records' order; up to CLUSTER_WINDOW records computing meanwhile.
    from ..dask.graph import finish_digest, submit_digest
    from ..dask.tasks import spec_of_record
    from ..ledger.digest import SCHEME, scheme_of
    from ..ledger.replay import mismatch_message

    pending: deque = deque()

    def submit(record):
        started = time.perf_counter()
        try:
            scheme = scheme_of(record.digest)
            if scheme != SCHEME:
                raise ValueError(f"digest scheme {scheme!r} cannot be computed on a cluster")
            spec = spec_of_record(record)
            return record, spec, submit_digest(client, spec), started
        except Exception as e:  # any reason it cannot be made again is a failure of this record
            return record, None, _failed(record, e, started), started

    def finish(record, spec, futures, started) -> VerifyOutcome:
        if spec is None:
            return futures  # the failure outcome made at submission
        try:
            actual = finish_digest(spec, client.gather(futures))
        except Exception as e:
            return _failed(record, e, started)
        if actual != record.digest:
            return VerifyOutcome(record, "mismatched", mismatch_message(record, actual), time.perf_counter() - started)
        return VerifyOutcome(record, "verified", "", time.perf_counter() - started)

    for record in records:
        pending.append(submit(record))
        if len(pending) >= CLUSTER_WINDOW:
            yield finish(*pending.popleft())
    while pending:
        yield finish(*pending.popleft())


def _failed(record: VariableRecord, error: BaseException, started: float) -> VerifyOutcome:
    detail = f"{type(error).__name__}: {error}".splitlines()[0]
    return VerifyOutcome(record, "failed", detail, time.perf_counter() - started)


def verify_selection(
    ledger,
    names: list[str] | None = None,
    *,
    run: int | None = None,
    progress: ProgressCallback | None = None,
    keep_verified: bool = True,
    client=None,
) -> VerifySummary:
    """Verify every version of ``names``, or the variables of ``run``, or the whole ledger.

    Unknown names and runs raise before anything is verified. ``client``: verify on a Dask
    cluster (see :func:`verify_records`).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "sel.db"))
        >>> verify_selection(led).total
        0
    """
    from ..errors import ArgumentValueError
    from .query import VariableFilter, count, history, iter_variables

    if names and run is not None:
        raise ArgumentValueError("verify either names or a run, not both")
    if names:
        selected = [record for name in dict.fromkeys(names) for record in history(ledger, name)]
        return verify_records(selected, total=len(selected), progress=progress,
                              keep_verified=keep_verified, client=client)
    flt = VariableFilter.create(run=run)
    total = count(ledger, flt)
    return verify_records(iter_variables(ledger, flt), total=total, progress=progress,
                          keep_verified=keep_verified, client=client)
