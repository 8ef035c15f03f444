"""Seals against someone who can write the database but does not hold the key.

The forger downgrades the schema with reprovar's own migrations (below the revision that
added seals), edits a row so that its values still match its digest, and waits for a key
holder's process to upgrade the ledger. Sealing at upgrade must not vouch for that row.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import reprovar
from reprovar import Ledger
from reprovar.cli import main
from reprovar.ledger.digest import digest
from reprovar.ledger.schema import alembic_config
from reprovar.ledger.seal import KEY_ENV, KEY_FILE_ENV, SealKey, compute_seal

KEY = "the team's ledger key, long enough"


def _downgrade(url, revision: str) -> None:
    from alembic import command

    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def _forge_below_the_seals(url) -> None:
    """What the forger does: downgrade to 0003 and set w's seed to 666, with the real digest
    of seed 666, so that replaying the row gives its digest."""
    _downgrade(url, "0003")
    real = reprovar.random_normal_variable((4,), 0.0, 1.0, seed=666, record=False)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE variables SET seed = 666, digest = :d WHERE name = 'w'"),
                               {"d": digest(real.numpy())})
    finally:
        engine.dispose()


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


def test_an_upgrade_by_a_key_holder_does_not_vouch_for_rows_forged_below_the_seals(ledger_url, keyed):
    led = Ledger(ledger_url)
    reprovar.random_normal_variable((4,), 0.0, 1.0, name="w", seed=10, ledger=led)
    reprovar.random_normal_variable((4,), 0.0, 1.0, name="b", seed=11, ledger=led)
    assert led.verify().line() == "2 verified, 0 mismatched, 0 failed"
    url = led.url.render_as_string(hide_password=False)
    led.close()
    _forge_below_the_seals(url)

    # The next keyed process records something: it upgrades the ledger on open.
    led = Ledger(url)
    assert led.opened_at_revision == "0003"
    reprovar.random_normal_variable((4,), 0.0, 1.0, name="later", seed=12, ledger=led)
    assert led.get("w").seed == 666
    summary = led.verify()
    # The rows the upgrade sealed are not trusted with the key: neither the forged one nor
    # the honest one beside it (nothing tells them apart); the row recorded since is.
    assert summary.line() == "1 verified, 0 mismatched, 0 failed, 2 broken seals"
    problems = {o.record.name: o.detail for o in summary.problems}
    assert set(problems) == {"w", "b"}
    assert all("sealed without a key" in d and "db vouch" in d for d in problems.values()), problems
    led.close()
    result = CliRunner().invoke(main, ["verify", "--all", "--ledger", url])
    assert result.exit_code == 1 and "2 broken seals" in result.output, result.output


def test_vouching_seals_the_unkeyed_rows_with_the_key_and_says_so(ledger_url, keyed, monkeypatch):
    led = Ledger(ledger_url)
    reprovar.random_normal_variable((4,), 0.0, 1.0, name="w", seed=10, ledger=led)
    url = led.url.render_as_string(hide_password=False)
    led.close()
    _forge_below_the_seals(url)
    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade", "--ledger", url])
    assert result.exit_code == 0 and "sealed without a key" in result.output, result.output
    led = Ledger(url)
    reprovar.random_normal_variable((4,), 0.0, 1.0, name="w", seed=13, ledger=led)  # version 2
    reprovar.random_normal_variable((4,), 0.0, 1.0, name="w", seed=14, ledger=led)  # version 3
    assert led.verify().line() == "2 verified, 0 mismatched, 0 failed, 1 broken seal"
    led.close()

    # Refused without confirmation; nothing changes.
    result = runner.invoke(main, ["db", "vouch", "--ledger", url], input="n\n")
    assert result.exit_code == 1 and "1 row" in result.output, result.output
    with Ledger(url) as led:
        assert led.verify().broken_seal == 1
    result = runner.invoke(main, ["db", "vouch", "--yes", "--ledger", url])
    assert result.exit_code == 0, result.output
    assert "w v1" in result.output and "w v2" not in result.output
    assert "vouched for 1 row with key" in result.output and "2 later versions chained" in result.output
    with Ledger(url) as led:
        assert led.verify().line() == "3 verified, 0 mismatched, 0 failed"
        history = led.history("w")
        assert history[1].previous_seal == history[0].seal and history[2].previous_seal == history[1].seal
        assert history[0].seal.startswith(f"rs1:hmac-sha256:{SealKey.from_text(KEY).id}:")

    # Without a key there is nothing to vouch with.
    monkeypatch.delenv(KEY_ENV)
    result = runner.invoke(main, ["db", "vouch", "--yes", "--ledger", url])
    assert result.exit_code == 1 and "needs the ledger's key" in result.output, result.output


def test_vouching_refuses_rows_whose_seal_is_broken(ledger, monkeypatch, tamper):
    """An unkeyed seal that does not even match its row, or a keyed one that does not: vouch
    refuses the whole ledger, naming them, and changes nothing."""
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="u", seed=1, ledger=ledger)
    with Ledger(ledger.url, key=KEY) as keyed_ledger:
        v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="k", seed=2, ledger=keyed_ledger)
        tamper(v.record.id, seed=3)
        with pytest.raises(reprovar.errors.LedgerError, match=r"k v1 .*does not match"):
            keyed_ledger.vouch()
        assert keyed_ledger.get("u").seal.startswith("rs1:sha256:")


# -- Cases decided (docs/seals.md, "What a seal proves") ---------------------------------------

def test_a_fake_keyed_seal_on_an_unkeyed_ledger_is_never_verified(ledger, tamper, monkeypatch):
    """Without the key, a keyed seal cannot be checked: a malformed one is a broken seal; a
    well-formed one (which anyone can write) is ``unchecked``, never ``verified``, and
    verify exits 1 naming the key it claims."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    a = reprovar.random_normal_variable((2,), 0.0, 1.0, name="a", seed=1, ledger=ledger).record
    b = reprovar.random_normal_variable((2,), 0.0, 1.0, name="b", seed=2, ledger=ledger).record
    tamper(a.id, seal="rs1:hmac-sha256:" + "0" * 16)
    tamper(b.id, seal="rs1:hmac-sha256:0123456789abcdef:" + "ab" * 32)
    summary = ledger.verify()
    assert summary.line() == ("0 verified, 0 mismatched, 0 failed, 1 broken seal, "
                              "1 unchecked (sealed with a key; none given)")
    details = {o.record.name: (o.status, o.detail) for o in summary.problems}
    assert details["a"][0] == "broken_seal" and "malformed keyed seal" in details["a"][1]
    assert details["b"][0] == "unchecked" and "0123456789abcdef" in details["b"][1]


def test_a_row_copied_between_ledgers_that_share_a_key_verifies(tmp_path):
    """Seals do not name their ledger (the canonical form is frozen): a row copied into
    another ledger sealed with the same key verifies there, and not with another key. Hence
    one key per ledger (docs/seals.md)."""
    from reprovar.ledger.models import runs_table, variables_table

    source = Ledger(tmp_path / "a.db", key=KEY)
    record = reprovar.random_normal_variable((3,), 0.0, 1.0, name="w", seed=4, ledger=source).record
    with source.connect() as c:
        row = dict(c.execute(sa.select(variables_table).where(variables_table.c.id == record.id)).one()._mapping)
        run = dict(c.execute(sa.select(runs_table).where(runs_table.c.id == record.run_id)).one()._mapping)
    source.close()
    for key, expected in ((KEY, "1 verified, 0 mismatched, 0 failed"),
                          ("another ledger's own key", "0 verified, 0 mismatched, 0 failed, 1 broken seal")):
        target = Ledger(tmp_path / f"b-{len(key)}.db", key=key)
        with target.engine.begin() as c:
            c.execute(sa.insert(runs_table).values(**run))
            c.execute(sa.insert(variables_table).values(**row))
        assert target.verify().line() == expected
        target.close()


def _delete_run(ledger, run_id: int) -> None:
    # What someone who can write the database does; servers need their foreign keys off.
    backend = ledger.engine.dialect.name
    with ledger.engine.begin() as c:
        if backend == "postgresql":
            c.execute(sa.text("SET LOCAL session_replication_role = replica"))
        elif backend in ("mysql", "mariadb"):
            c.execute(sa.text("SET FOREIGN_KEY_CHECKS = 0"))
        c.execute(sa.text("DELETE FROM reprovar_runs WHERE id = :i"), {"i": run_id})
        if backend in ("mysql", "mariadb"):
            c.execute(sa.text("SET FOREIGN_KEY_CHECKS = 1"))


def test_a_variable_whose_run_was_deleted_is_a_broken_chain(ledger):
    record = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=ledger).record
    url = ledger.url.render_as_string(hide_password=False)
    ledger.close()
    _delete_run(ledger, record.run_id)
    summary = ledger.verify()
    assert summary.line() == "0 verified, 0 mismatched, 0 failed, 1 broken chain"
    assert f"its run (id {record.run_id}) is missing" in summary.problems[0].detail
    runner = CliRunner()
    result = runner.invoke(main, ["verify", "--all", "--ledger", url])
    assert result.exit_code == 1 and "1 broken chain" in result.output, result.output
    result = runner.invoke(main, ["show", "w", "--ledger", url])
    assert result.exit_code == 1, result.output
    assert "seed" in result.output and f"run {record.run_id}, which recorded 'w' version 1, is missing" in result.output
