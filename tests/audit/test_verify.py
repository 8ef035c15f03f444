"""Verification on every backend: each outcome is counted right and one bad row stops nothing."""

from __future__ import annotations

import pytest

from reprovar.audit import verify_records
from reprovar.errors import UnknownRunError, UnknownVariableError


def test_all_verified_with_progress(ledger, make):
    for i in range(5):
        make(f"w{i}", i, dtype=("float32", "float64", "bfloat16", "float16", None)[i])
    calls = []
    summary = ledger.verify(progress=lambda done, total, outcome: calls.append((done, total, outcome.status)))
    assert summary.line() == "5 verified, 0 mismatched, 0 failed" and summary.ok
    assert calls == [(i, 5, "verified") for i in range(1, 6)]
    assert summary.nbytes == sum(r.nbytes for r in ledger.find())


def test_mismatch_and_failure_are_counted_and_explained(ledger, make, tamper):
    good = make("good", 1)
    changed = make("changed", 2)
    broken = make("broken", 3)
    unknown_scheme = make("scheme", 4)
    # Edited and re-sealed: the seals hold, the values tell.
    tamper(changed.id, reseal=True, seed=99)  # the row no longer describes the bytes it recorded
    tamper(broken.id, reseal=True, algorithm="no-such-algorithm")
    tamper(unknown_scheme.id, reseal=True, digest="md4:00")
    summary = ledger.verify()
    assert (summary.verified, summary.mismatched, summary.failed) == (1, 1, 2)
    assert not summary.ok
    by_name = {o.record.name: o for o in summary.outcomes}
    assert by_name["good"].status == "verified" and by_name["good"].record.id == good.id
    assert by_name["changed"].status == "mismatched" and "does not match" in by_name["changed"].detail
    assert by_name["broken"].status == "failed" and "no-such-algorithm" in by_name["broken"].detail
    assert by_name["scheme"].status == "failed" and "md4" in by_name["scheme"].detail
    assert [o.record.name for o in summary.problems] == ["changed", "broken", "scheme"]


def test_select_by_names_and_run(ledger, make):
    make("a", 1)
    make("a", 2)
    make("b", 3)
    run = ledger.find()[0].run_id
    assert ledger.verify(["a"]).verified == 2  # every version of a name
    assert ledger.verify(["a", "b", "a"]).verified == 3  # each record once
    assert ledger.verify(run=run).verified == 3
    with pytest.raises(UnknownVariableError, match="'c'"):
        ledger.verify(["a", "c"])
    with pytest.raises(UnknownRunError):
        ledger.verify(run=run + 100)


def test_keep_verified_false_keeps_only_problems(ledger, make, tamper):
    make("a", 1)
    bad = make("b", 2)
    tamper(bad.id, reseal=True, mean=5.0)
    summary = verify_records(ledger.query(), keep_verified=False)
    assert summary.line() == "1 verified, 1 mismatched, 0 failed"
    assert [o.record.name for o in summary.outcomes] == ["b"]
