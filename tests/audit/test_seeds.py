"""Seed audit on every backend."""

from __future__ import annotations

import reprovar


def test_shared_seeds_across_names_not_versions(ledger, make):
    make("layer1/w", 42)
    make("layer2/w", 42)  # an accident: two layers, one seed
    make("again", 7)
    make("again", 7)  # the same variable made again: not reported
    make("big1", 2**64 - 1)
    make("big2", 2**64 - 1)
    make("alone", 3)
    audit = ledger.audit_seeds()
    assert [(s.seed, s.names) for s in audit.shared] == [(42, ["layer1/w", "layer2/w"]),
                                                        (2**64 - 1, ["big1", "big2"])]
    assert not audit.clean
    assert audit.to_dict()["shared_seeds"][0]["variables"][0]["name"] == "layer1/w"


def test_clean_ledger(ledger, make):
    make("a", 1)
    make("b", 2)
    assert ledger.audit_seeds().clean


def test_os_drawn_seeds_are_listed(ledger, make):
    make("pinned", 5)
    drawn = reprovar.random_normal_variable((2,), 0.0, 1.0, name="drawn", ledger=ledger).record
    audit = ledger.audit_seeds()
    if audit.os_drawn is None:
        import pytest

        pytest.xfail("the ledger does not record whether a seed was drawn from the OS yet")
    assert [r.id for r in audit.os_drawn] == [drawn.id]
