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
    assert [r.id for r in audit.os_drawn] == [drawn.id] and audit.unknown_origin == 0
    assert drawn.seed_source == "os" and ledger.get("pinned").seed_source == "user"
    assert ledger.replay("drawn").provenance.seed_source == "os"


def test_rows_without_a_recorded_origin_are_counted(ledger, make):
    from sqlalchemy import update

    from reprovar.ledger.models import variables_table

    old = make("old", 1)
    with ledger.engine.begin() as c:  # as a row recorded before the column existed
        c.execute(update(variables_table).where(variables_table.c.id == old.id).values(seed_source=None))
    audit = ledger.audit_seeds()
    assert audit.os_drawn == [] and audit.unknown_origin == 1
