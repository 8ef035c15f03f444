"""Row seals and chains: any edit, deletion or forgery of a row is reported by verify, apart
from value mismatches; keyed seals need the key; migrations seal existing rows alike."""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, update

import reprovar
from reprovar.cli import main
from reprovar import Ledger
from reprovar.ledger.models import runs_table, variables_table
from reprovar.ledger.runinfo import collect_run_info
from reprovar.ledger.schema import migrations_dir
from reprovar.ledger.seal import KEY_ENV, KEY_FILE_ENV, SealKey, compute_seal

DATA = Path(__file__).parent.parent / "data"
KEY = "a team secret, long enough"


def _outcomes(summary):
    return {(o.record.name, o.record.version): o for o in summary.outcomes}


def test_editing_any_sealed_field_breaks_the_seal(ledger, make, tamper):
    """The probe: shape [2,3] -> [3,2] or [6], or nbytes, verified before seals existed."""
    with ledger.engine.begin() as c:
        other_run = c.execute(insert(runs_table).values(collect_run_info())).inserted_primary_key[0]
    edits = {
        "shape-swapped": {"shape": "[3, 2]"},
        "shape-flat": {"shape": "[6]"},
        "nbytes": {"nbytes": 48},
        "dtype": {"dtype": "float64"},
        "seed": {"seed": 12345},
        "seed-source": {"seed_source": "os"},
        "mean": {"mean": 0.5},
        "scale": {"scale": 3.0},
        "low": {"low": -1.0},
        "distribution": {"distribution": "other"},
        "algorithm-version": {"algorithm_version": 2},
        "digest": {"digest": "xxh3-128-tree4m:" + "0" * 32},
        "created": {"created": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)},
        "run": {"run_id": other_run},
        "name": {"name": "renamed"},
        "version": {"version": 7},
        "seal": {"seal": "rs1:sha256:" + "0" * 64},
    }
    ids = {name: make(name, seed=i).record.id for i, name in enumerate(edits)}
    make("untouched", seed=99)
    for name, values in edits.items():
        tamper(ids[name], **values)
    summary = ledger.verify()
    assert summary.line() == f"1 verified, 0 mismatched, 0 failed, {len(edits)} broken seals"
    assert not summary.ok
    by_id = {o.record.id: o for o in summary.outcomes}
    for name in edits:
        outcome = by_id[ids[name]]
        assert outcome.status == "broken_seal", (name, outcome)
        assert "does not match the row's fields" in outcome.detail and "not replayed" in outcome.detail


def test_deleting_or_resealing_a_version_breaks_the_chain(ledger, make, tamper):
    for seed in (1, 2, 3):
        make("deleted", seed=seed)
    for seed in (1, 2, 3):
        make("forged", seed=seed)
    make("first", seed=1)
    with ledger.engine.begin() as c:
        t = variables_table
        c.execute(delete(t).where(t.c.name == "deleted", t.c.version == 2))
    # Someone who can edit the database changes version 1 and re-seals it (no key needed).
    tamper(ledger.get("forged", 1).id, reseal=True, seed=7)
    # A version 1 that claims a predecessor, re-sealed so that its own seal holds.
    tamper(ledger.get("first", 1).id, reseal=True, previous_seal="rs1:sha256:" + "1" * 64)
    summary = ledger.verify()
    assert summary.line() == "2 verified, 1 mismatched, 0 failed, 3 broken chains"
    found = _outcomes(summary)
    assert found[("deleted", 3)].status == "broken_chain"
    assert "version 2 of this name is missing" in found[("deleted", 3)].detail
    assert found[("forged", 1)].status == "mismatched"  # its seal holds; its values do not
    assert found[("forged", 2)].status == "broken_chain"
    assert "changed and re-sealed" in found[("forged", 2)].detail
    assert found[("first", 1)].status == "broken_chain"
    # Verifying by name checks the chain too.
    assert ledger.verify(["deleted"]).broken_chain == 1


def test_keyed_seals_need_the_key_and_cannot_be_forged_without_it(tmp_path, monkeypatch):
    path = tmp_path / "keyed.db"
    keyed = Ledger(path, key=KEY)
    for seed in (1, 2):
        reprovar.random_normal_variable((3,), 0.0, 1.0, name="w", seed=seed, ledger=keyed)
    record = keyed.get("w", 2)
    assert record.seal.startswith(f"rs1:hmac-sha256:{SealKey.from_text(KEY).id}:")
    assert keyed.verify().line() == "2 verified, 0 mismatched, 0 failed"
    keyed.close()

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    plain = Ledger(path)
    summary = plain.verify()
    assert summary.line() == "0 verified, 0 mismatched, 0 failed, 2 unchecked (sealed with a key; none given)"
    assert not summary.ok and "give the key" in summary.outcomes[0].detail
    # A forger without the key re-seals an edited row: with the key, that is a broken seal.
    with plain.engine.begin() as c:
        c.execute(update(variables_table).where(variables_table.c.id == record.id).values(seed=5))
    edited = plain.get(id=record.id)
    with plain.engine.begin() as c:
        c.execute(update(variables_table).where(variables_table.c.id == record.id).values(
            seal=compute_seal(edited.__dict__, edited.previous_seal, None)))
    plain.close()

    key_file = tmp_path / "ledger.key"
    key_file.write_text(KEY + "\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(key_file))
    with Ledger(path) as led:
        assert led.key.id == SealKey.from_text(KEY).id
        summary = led.verify()
        assert summary.line() == "1 verified, 0 mismatched, 0 failed, 1 broken seal"
        assert "sealed without a key" in _outcomes(summary)[("w", 2)].detail
    with Ledger(path, key="another key, also long") as led:
        assert "not with the given key" in _outcomes(led.verify())[("w", 1)].detail

    result = CliRunner().invoke(main, ["verify", "--all", "--ledger", str(path)])
    assert result.exit_code == 1 and "1 broken seal" in result.output


def test_short_keys_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="key must be at least 16 bytes"):
        Ledger(tmp_path / "k.db", key="short")
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ValueError, match=f"{KEY_ENV}: key must be at least 16 bytes"):
        Ledger(tmp_path / "k.db")


def _migration_0004():
    path = next(migrations_dir().glob("versions/0004_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0004", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("key", [None, KEY.encode()])
def test_the_migration_seals_rows_as_the_live_code_does(key):
    """Revision 0004 carries a frozen copy of the canonical form: both must agree."""
    migration = _migration_0004()
    rows = [
        dict(name="dense/kernel", version=1, shape="[3, 4]", dtype="float32", distribution="normal",
             mean=0.0, scale=0.05, seed=0, seed_source=None, algorithm="philox4x32-10/box-muller",
             algorithm_version=1, digest="xxh3-128-tree4m:00", nbytes=48, run_id=1, low=None,
             high=None, created=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)),
        dict(name="t", version=2, shape="[5]", dtype="float64", distribution="truncated_normal",
             mean=0.5, scale=2.0, low=None, high=1.25, seed=2**63, seed_source="user",
             algorithm="b", algorithm_version=1, digest="d", nbytes=40, run_id=3,
             created=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)),
        dict(name="embed 'é' \u2603", version=12, shape="[]", dtype="bfloat16", distribution="normal",
             mean=-1e300, scale=math.ulp(0.0), seed=-1, seed_source="os", algorithm="a",
             algorithm_version=3, digest="d", nbytes=2, run_id=2**31 - 1, low=-1.5, high=2.5,
             created=dt.datetime(2026, 6, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))),
    ]
    # Rows edited behind reprovar's back still seal alike (verify then reports them).
    rows.append(dict(rows[0], name='q"\\\n\u2603\U0001f3b2', shape='[{"b": 1, "a": [2.5]}]', seed="abc",
                     created="yesterday", mean=True, version=2.0, low=-math.inf, high=math.nan))
    rows.append(dict(rows[0], shape=(3, 4), seed=-5, mean=1,
                     created=dt.datetime(2026, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=3)))))
    live_key = None if key is None else SealKey(key)
    for row in rows:
        for previous in (None, "rs1:sha256:" + "a" * 64):
            assert migration.compute_seal(row, previous, key) == compute_seal(row, previous, live_key)
    # A row's seal is the same whether its seed reads as the stored signed integer or not.
    assert compute_seal(rows[2], None, None) == compute_seal(dict(rows[2], seed=2**64 - 1), None, None)


def test_the_frozen_first_schema_file_is_sealed_by_the_upgrade(tmp_path, monkeypatch):
    """The upgrade seals old rows without a key, whatever key the process holds: a keyed
    verify trusts them only once the key holder has vouched for them."""
    for key in (None, KEY):
        path = tmp_path / f"old-{key is None}.db"
        shutil.copy(DATA / "ledger-schema-0001.db", path)
        if key is None:
            monkeypatch.delenv(KEY_ENV, raising=False)
        else:
            monkeypatch.setenv(KEY_ENV, key)
        with Ledger(path) as led:
            assert led.opened_at_revision == "0001"
            kernel = led.history("dense/kernel")
            assert kernel[0].previous_seal is None and kernel[1].previous_seal == kernel[0].seal
            assert kernel[0].seal.startswith("rs1:sha256:")
            summary = led.verify()
            if key is None:
                assert summary.line() == "5 verified, 0 mismatched, 0 failed"
                continue
            assert summary.line() == "0 verified, 0 mismatched, 0 failed, 5 broken seals"
            assert len(led.vouch()) == 5
            assert led.verify().line() == "5 verified, 0 mismatched, 0 failed"
            kernel = led.history("dense/kernel")
            assert kernel[0].seal.startswith("rs1:hmac-sha256:") and kernel[1].previous_seal == kernel[0].seal


def test_versions_written_in_one_transaction_are_chained(ledger):
    with reprovar.transaction(ledger=ledger):
        for seed in (1, 2, 3):
            reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=seed, ledger=ledger)
    history = ledger.history("w")
    assert [r.previous_seal for r in history] == [None, history[0].seal, history[1].seal]
    assert ledger.verify().line() == "3 verified, 0 mismatched, 0 failed"


def test_the_fast_canonical_text_equals_the_migrations_json():
    """The live code writes the canonical text by hand for the values writers record and falls
    back to a general path for anything else: both must give the migration's bytes."""
    import random

    from reprovar.ledger.seal import canonical

    migration = _migration_0004()
    rng = random.Random(7)
    utc = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.timezone.utc)
    for _ in range(2000):
        name = "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0xA0, 0x2000), 0x1F3B2, 34, 92, 10]))
                       for _ in range(rng.randrange(1, 8)))
        row = dict(
            name=name, version=rng.choice([1, 7, 2**31 - 1]),
            shape=rng.choice(["[]", "[0]", "[3, 4]", (), (5,), (2, 3, 4), "[1,2]", "[01]", "garbage"]),
            seed=rng.choice([0, 1, -1, 2**63, -(2**63), 2**64 - 1]), seed_source=rng.choice([None, "user", "os"]),
            mean=rng.choice([None, 0.0, -0.0, 1e300, math.inf, 0.1]), scale=rng.choice([None, 2.0, 5e-324]),
            low=rng.choice([None, -1.5]), high=rng.choice([None, 2.0]),
            # Rows of one kind share a template: kinds that compare equal but write differently
            # (1, 1.0, True) and constants holding "%" must not mix.
            algorithm=rng.choice(["a", "x%sy", 'q"%%']), algorithm_version=rng.choice([1, 1, 1.0, True]),
            dtype=rng.choice(["float32", "%d"]), distribution=rng.choice(["normal", "%"]),
            digest="d:00", nbytes=rng.choice([24, True]), run_id=rng.choice([1, 99, True]),
            created=rng.choice([utc, utc.astimezone(dt.timezone(dt.timedelta(hours=-2)))]),
        )
        previous = rng.choice([None, "rs1:sha256:" + "c" * 64])
        assert canonical(row, previous) == migration.canonical(row, previous), row
