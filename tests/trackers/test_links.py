"""Tracker links in the ledger: schema, seals, verification, lookups and the CLI (no tracker needed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text, update

import reprovar
from reprovar.cli import main
from reprovar.errors import ArgumentValueError, UnknownRunError, UnknownTrackerRunError
from reprovar.ledger.links import LINK_CANONICAL_PREFIX, TrackerRun, link_canonical
from reprovar.ledger.models import links_table
from reprovar.ledger.schema import alembic_config, head_revision
from reprovar.ledger.seal import CANONICAL_PREFIX
from reprovar.trackers import reprovar_run_of, reprovar_runs_of, tracker_selection

KEY = "correct horse battery staple"


def test_links_are_sealed_and_verify_finds_an_edited_one(ledger):
    v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=ledger)
    [a, b] = ledger.link([TrackerRun("mlflow", "3f2a", "0", "sqlite:///m.db"), TrackerRun("wandb", "x1", "me/proj")])
    assert [link.run_id for link in ledger.links()] == [v.record.run_id] * 2
    summary = ledger.verify()
    assert summary.ok and [o.status for o in summary.links] == ["verified", "verified"]
    with ledger.engine.begin() as c:
        c.execute(update(links_table).where(links_table.c.id == b.id).values(tracker_run_id="x2"))
    summary = ledger.verify()
    assert not summary.ok and summary.line() == "1 verified, 0 mismatched, 0 failed, 1 broken link seal"
    [broken] = [o for o in summary.links if not o.ok]
    assert broken.link.id == b.id and "changed after it was recorded" in broken.detail
    out = CliRunner().invoke(main, ["verify", "--all", "--json", "--ledger", ledger.url.render_as_string(hide_password=False)])
    assert out.exit_code == 1
    [shown] = [o for o in json.loads(out.stdout) if o["status"] != "verified"]
    assert shown["name"] == "link wandb:me/proj/x2" and shown["id"] == b.id
    # verify --run checks that run's links too.
    assert ledger.verify(run=v.record.run_id).broken_links == 1


def test_keyed_link_seals_need_the_key(tmp_path):
    path = tmp_path / "k.db"
    keyed = reprovar.Ledger(path, key=KEY)
    [link] = keyed.link([TrackerRun("mlflow", "3f2a")])
    assert link.seal.startswith("rl1:hmac-sha256:") and keyed.verify().ok
    keyed.close()
    unkeyed = reprovar.Ledger(path, key=None)
    summary = unkeyed.verify()
    assert not summary.ok and summary.unchecked_links == 1 and "unchecked link" in summary.line()
    unkeyed.close()
    other = reprovar.Ledger(path, key="another key of sixteen bytes")
    assert other.verify().broken_links == 1


def test_a_link_seal_cannot_pass_for_a_variable_seal(tmp_path):
    led = reprovar.Ledger(tmp_path / "s.db")
    v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
    [link] = led.link([TrackerRun("mlflow", "3f2a")])
    assert LINK_CANONICAL_PREFIX != CANONICAL_PREFIX and link_canonical(link.__dict__).startswith(LINK_CANONICAL_PREFIX)
    with led.engine.begin() as c:
        c.execute(update(links_table).values(seal=v.record.seal))
    assert led.verify().broken_links == 1


def test_migration_from_0006_adds_the_table_and_downgrades(ledger_url):
    engine = create_engine(ledger_url)
    with engine.begin() as c:
        command.upgrade(alembic_config(c), "0006")
    with engine.connect() as c:
        assert "reprovar_tracker_links" not in inspect(c).get_table_names()
    led = reprovar.Ledger(ledger_url)  # upgrades on open
    assert led.opened_at_revision == "0006" and led.schema_revision == head_revision()
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
    led.link([TrackerRun("mlflow", "3f2a")])
    assert led.verify().ok
    led.close()
    with engine.begin() as c:
        c.execute(text("DELETE FROM reprovar_tracker_links"))
        command.downgrade(alembic_config(c), "0006")
    with engine.connect() as c:
        assert "reprovar_tracker_links" not in inspect(c).get_table_names()
    engine.dispose()


def test_lookups_from_a_tracker_run(tmp_path):
    led = reprovar.Ledger(tmp_path / "l.db")
    led.link([TrackerRun("wandb", "abc", "team/proj"), TrackerRun("mlflow", "3f2a")])
    with pytest.raises(UnknownTrackerRunError, match=r"linked to MLflow run '3f2b'; did you mean '3f2a'\?"):
        reprovar_run_of(mlflow_run="3f2b", ledger=led)
    with pytest.raises(UnknownTrackerRunError, match="no W&B links"):
        reprovar_run_of(wandb_run="abc", ledger=reprovar.Ledger(tmp_path / "empty.db"))
    for path in ("abc", "proj/abc", "team/proj/abc", "/team/proj/abc/"):
        assert reprovar_run_of(wandb_run=path, ledger=led) == 1
    for path in ("other/proj/abc", "team/other/abc"):
        with pytest.raises(UnknownTrackerRunError):
            reprovar_run_of(wandb_run=path, ledger=led)
    with pytest.raises(ArgumentValueError, match="exactly one"):
        reprovar_run_of(mlflow_run="3f2a", wandb_run="abc", ledger=led)
    with pytest.raises(UnknownRunError):
        led.link([TrackerRun("mlflow", "3f2a")], run_id=99)
    # A tracker run linked to two reprovar runs (two processes): listing gives both; one
    # run is an error naming them.
    led.close()
    second = reprovar.Ledger(tmp_path / "l.db")
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=second)  # a second run... of this process
    assert second.run_id == 2
    second.link([TrackerRun("mlflow", "3f2a")])
    assert reprovar_runs_of(mlflow_run="3f2a", ledger=second) == [1, 2]
    with pytest.raises(ArgumentValueError, match=r"linked to reprovar runs 1, 2; pass run="):
        reprovar_run_of(mlflow_run="3f2a", ledger=second)
    assert tracker_selection(mlflow_run="3f2a", ledger=second) == [(1, 0, None), (2, 1, None)]


def test_cli_errors_for_tracker_runs(tmp_path):
    path = str(tmp_path / "c.db")
    led = reprovar.Ledger(path)
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
    led.link([TrackerRun("wandb", "abc", "team/proj")], after_variable_id=None)
    runner = CliRunner()
    for args, message in [
        (["runs", "--mlflow-run", "nope"], "Error: no reprovar run in ledger"),
        (["runs", "--mlflow-run", "a", "--wandb-run", "b"], "Error: give --mlflow-run or --wandb-run, not both"),
        (["find", "--run-of", "neptune:abc"], "Error: --run-of must be mlflow:RUN_ID or wandb:ENTITY/PROJECT/RUN_ID"),
        (["find", "--run-of", "wandb:abc", "--run", "1"], "Error: give --run or --run-of, not both"),
        (["replay", "w", "--version", "1", "--wandb-run", "abc"], "Error: --mlflow-run and --wandb-run go with NAME"),
        (["replay", "v", "--wandb-run", "abc"], "Error: reprovar run 1 for W&B run 'abc' recorded no variable named 'v'"),
    ]:
        out = runner.invoke(main, [*args, "--ledger", path])
        assert out.exit_code != 0 and out.output.startswith(message), (args, out.output)
    found = json.loads(runner.invoke(main, ["find", "--run-of", "wandb:team/proj/abc", "--json", "--ledger", path]).output)
    assert [r["name"] for r in found] == ["w"]  # linked with after_variable_id=None: the whole run
    shown = runner.invoke(main, ["runs", "--wandb-run", "proj/abc", "--ledger", path]).output
    assert re.search(r"^tracker_links: +wandb team/proj/abc$", shown, flags=re.M), shown


def test_import_and_recording_import_no_tracker(tmp_path):
    script = f"""
import sys
import reprovar, reprovar.trackers, reprovar.mlflow, reprovar.wandb
led = reprovar.Ledger({str(tmp_path / 'i.db')!r})
with reprovar.transaction(led):
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1)
reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
assert led.links() == [] and led.verify().ok
print(sorted(m for m in sys.modules if m.split(".")[0] in ("mlflow", "wandb")))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
