"""Replay: the recorded algorithm version makes the same bytes, checked against the digest."""

from __future__ import annotations

import pytest
from sqlalchemy import update

import reprovar
from reprovar.errors import ArgumentValueError, DigestMismatchError, UnknownVariableError
from reprovar.ledger.models import variables_table


def test_replay_returns_the_same_variable(ledger, make):
    v = make("w", (4, 5), seed=2**64 - 1, mean=-3.0, scale=0.5)
    w = reprovar.replay("w", ledger=ledger)
    assert w.numpy().tobytes() == v.numpy().tobytes()
    assert (w.name, w.seed, w.provenance) == (v.name, v.seed, v.provenance)
    assert w.record == ledger.get("w")


def test_replay_by_version_and_id(ledger, make):
    v1, v2 = make("w", seed=1), make("w", seed=2)
    assert ledger.replay("w", 1).numpy().tobytes() == v1.numpy().tobytes()
    assert ledger.replay("w").numpy().tobytes() == v2.numpy().tobytes()
    assert ledger.replay(id=v1.record.id).seed == 1
    with pytest.raises(ArgumentValueError, match="either name"):
        ledger.replay("w", id=v1.record.id)


def test_tampered_record_raises_digest_mismatch(ledger, make):
    make("w", seed=1)
    with ledger.engine.begin() as conn:
        conn.execute(update(variables_table).values(seed=2))
    with pytest.raises(DigestMismatchError, match="replayed 'w' version 1 does not match its record"):
        reprovar.replay("w", ledger=ledger)


def test_unknown_names_suggest_close_ones(ledger, make):
    make("dense/kernel")
    make("dense/bias")
    with pytest.raises(UnknownVariableError, match=r"no variable named 'dense/kernal'.*did you mean 'dense/kernel'"):
        ledger.replay("dense/kernal")
    with pytest.raises(UnknownVariableError, match=r"'dense/bias' has versions 1..1.*no version 4"):
        ledger.replay("dense/bias", 4)
    with pytest.raises(UnknownVariableError, match="no variable with id 999"):
        ledger.replay(id=999)


def test_empty_ledger_says_so(ledger):
    with pytest.raises(UnknownVariableError, match="has no variables yet"):
        ledger.get("anything")


def test_latest_lists_the_newest_version_of_each_name(ledger, make):
    for name, seed in [("a", 1), ("b", 2), ("a", 3)]:
        make(name, seed=seed)
    assert [(r.name, r.version, r.seed) for r in ledger.latest()] == [("a", 2, 3), ("b", 1, 2)]
    assert len(ledger.latest(1)) == 1
