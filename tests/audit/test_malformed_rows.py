"""Rows edited with raw SQL into values reprovar never writes: verify, list and export report
each one as failed, with the reason, and process the rest (never a traceback)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from reprovar.cli import main
from reprovar.errors import MalformedRecordError


def _edit(ledger, sql, **params):
    with ledger.engine.begin() as c:
        c.execute(text(sql), params)


@pytest.fixture
def damaged(ledger, make, ledger_url):
    """A ledger with good rows and rows whose values cannot be records: on SQLite a
    non-numeric seed and a garbage time too (the servers' column types refuse those)."""
    for name in ("good", "shape", "negative", "seed", "time"):
        make(name, 1)
    bad = {"shape": "shape '[2, 3' is not a list of sizes",
           "negative": "shape '[-1]' is not a list of sizes"}
    _edit(ledger, "UPDATE reprovar_variables SET shape = '[2, 3' WHERE name = 'shape'")
    _edit(ledger, "UPDATE reprovar_variables SET shape = '[-1]' WHERE name = 'negative'")
    if ledger.engine.dialect.name == "sqlite":
        _edit(ledger, "UPDATE reprovar_variables SET seed = 'abc' WHERE name = 'seed'")
        _edit(ledger, "UPDATE reprovar_variables SET created = 'yesterday' WHERE name = 'time'")
        bad["seed"] = "seed 'abc' is not an integer in [0, 2**64)"
        bad["time"] = "created 'yesterday' is not a time"
    return ledger, bad


def _cli(ledger, *args):
    return CliRunner().invoke(main, [*args, "--ledger", ledger.url.render_as_string(False)],
                              catch_exceptions=False)


def test_verify_reports_each_malformed_row_as_failed(damaged):
    ledger, bad = damaged
    summary = ledger.verify()
    good = 5 - len(bad)
    assert summary.line() == f"{good} verified, 0 mismatched, {len(bad)} failed"
    failed = {o.record.name: o.detail for o in summary.problems}
    assert failed == {name: f"malformed row: {reason}" for name, reason in bad.items()}
    r = _cli(ledger, "verify", "--all")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.stdout.strip().splitlines()[-1] == summary.line()
    assert ledger.verify(["shape"]).failed == 1  # by name too


def test_list_and_export_report_malformed_rows_and_keep_the_rest(damaged, tmp_path):
    ledger, bad = damaged
    good = {"good", "seed", "time"} - set(bad)
    r = _cli(ledger, "list", "--json")
    assert r.exit_code == 1
    assert {row["name"] for row in json.loads(r.stdout)} == good
    errors = r.stderr.strip().splitlines()
    assert len(errors) == len(bad) and all(e.startswith("Error: row id ") for e in errors)
    for name, reason in bad.items():
        assert any(f"('{name}' version 1) is malformed: {reason}" in e for e in errors)

    out = tmp_path / "export.json"
    r = _cli(ledger, "export", "-o", str(out))
    assert r.exit_code == 1 and f"exported {len(good)} variables" in r.stderr
    doc = json.loads(out.read_text())
    assert {v["name"] for v in doc["variables"]} == good
    assert {m["name"]: m["malformed"] for m in doc["malformed"]} == bad
    r = _cli(ledger, "export", "--format", "csv")
    assert r.exit_code == 1 and len(r.stdout.strip().splitlines()) == 1 + len(good)

    # The library: an error naming the row, unless the caller takes malformed rows.
    with pytest.raises(MalformedRecordError, match=r"row id \d+ \('shape' version 1\) is malformed"):
        ledger.get("shape")
    with pytest.raises(MalformedRecordError):
        ledger.find()
    seen = []
    assert len(ledger.latest(on_malformed=seen.append)) == len(good)
    assert sorted(row.name for row in seen) == sorted(bad)
