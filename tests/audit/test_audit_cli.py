"""The audit commands on every backend: output formats, exit codes, and bad input as one
``Error:`` line (never a traceback)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from reprovar.cli import main


@pytest.fixture
def cli(ledger_url):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, [*args, "--ledger", ledger_url], catch_exceptions=False)

    return run


@pytest.fixture
def filled(ledger, make):
    make("w", 1)
    make("w", 2)
    make("w", 2, shape=(4,), mean=1.0)
    make("dense_1/kernel", 42)
    make("dense_1/bias", 42)
    make("it's \"q\"; DROP TABLE variables;--", 3)
    make("line\nbreak", 4)
    return ledger


def one_error_line(result, *fragments):
    """A failed command printed exactly one ``Error: ...`` line mentioning ``fragments``."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def test_show(cli, filled):
    r = cli("show", "w")
    assert r.exit_code == 0
    assert "version:" in r.stdout and "run_host:" in r.stdout and "seed:" in r.stdout
    doc = json.loads(cli("show", "w", "--version", "1", "--json").stdout)
    assert doc["version"] == 1 and doc["seed"] == 1 and doc["shape"] == [2, 3]
    one_error_line(cli("show", "ww"), "no variable named 'ww'", "did you mean 'w'")
    one_error_line(cli("show", "w", "--version", "9"), "no version 9")


def test_history_says_what_changed(cli, filled):
    r = cli("history", "w")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert "(first version)" in lines[2] and "seed 1 -> 2" in lines[3]
    assert "shape (2, 3) -> (4,)" in lines[4] and "mean 0 -> 1" in lines[4]
    doc = json.loads(cli("history", "w", "--json").stdout)
    assert [v["version"] for v in doc] == [1, 2, 3]
    assert doc[1]["changed"] == {"seed": [1, 2]} and doc[2]["changed"]["shape"] == [[2, 3], [4]]


def test_find_filters_and_formats(cli, filled):
    doc = json.loads(cli("find", "--name", "dense_1/*", "--json").stdout)
    assert sorted(v["name"] for v in doc) == ["dense_1/bias", "dense_1/kernel"]
    assert [v["name"] for v in json.loads(cli("find", "--seed", "0x2a", "--json").stdout)] == \
        ["dense_1/kernel", "dense_1/bias"]
    rows = list(csv.DictReader(io.StringIO(cli("find", "--name", "*DROP*", "--csv").stdout)))
    assert [r["name"] for r in rows] == ["it's \"q\"; DROP TABLE variables;--"]
    assert len(json.loads(cli("find", "--since", "2000-01-01", "--until", "2999-12-31T23:59Z",
                              "--dtype", "float32", "--json").stdout)) == 7
    assert cli("find", "--name", "nothing").stdout == "(no rows)\n"
    assert next(csv.reader(io.StringIO(cli("find", "--name", "nothing", "--csv").stdout)))[:3] == \
        ["id", "name", "version"]  # a header even without rows
    assert {"digest", "seed_source", "mean"} <= set(json.loads(cli("find", "--json").stdout)[0])


def test_table_output_escapes_newlines_json_keeps_them(cli, filled):
    table = cli("find", "--name", "line*").stdout
    assert "line\\nbreak" in table and len(table.splitlines()) == 3
    assert json.loads(cli("find", "--name", "line*", "--json").stdout)[0]["name"] == "line\nbreak"


BAD_INPUT = [
    (("find", "--since", "yesterday"), "malformed time 'yesterday'"),
    (("find", "--until", "2026-02-30"), "malformed time"),
    (("find", "--seed", "-5"), "seed must be"),
    (("find", "--seed", "abc"), "seed must be an integer"),
    (("find", "--dtype", "float8"), "unknown dtype 'float8'"),
    (("find", "--run", "999"), "no run with id 999"),
    (("find", "--run", "x"), "run id must be an integer"),
    (("runs", "show", "999"), "no run with id 999"),
    (("runs", "show", "abc"), "run id must be an integer"),
    (("export", "--format", "xml"), "unknown export format 'xml'"),
    (("verify",), "exactly one"),
    (("verify", "w", "--all"), "exactly one"),
    (("verify", "nope"), "no variable named 'nope'"),
    (("verify", "--run", "999"), "no run with id 999"),
    (("sql", "SELEC 1"), "SQL error"),
]


def test_bad_input_is_one_error_line(cli, filled):
    for args, fragment in BAD_INPUT:
        one_error_line(cli(*args), fragment)


def test_runs(cli, filled):
    runs = json.loads(cli("runs", "--json").stdout)
    assert len(runs) == 1 and runs[0]["variables"] == 7
    run_id = runs[0]["id"]
    shown = json.loads(CliRunner().invoke(main, ["runs", "show", str(run_id), "--json",
                                                 "--ledger", filled.url.render_as_string(False)]).stdout)
    assert shown["id"] == run_id and len(shown["variables_created"]) == 7
    table = cli("runs").stdout
    assert "variables" in table.splitlines()[0]


def test_audit_seeds(cli, filled):
    r = cli("audit", "seeds")
    assert r.exit_code == 0
    assert "shared seed  42    dense_1/kernel" in r.stdout
    assert "1 shared seeds (2 names)" in r.stdout
    doc = json.loads(cli("audit", "seeds", "--json").stdout)
    assert doc["shared_seeds"][0]["seed"] == 42 and doc["shared_seeds"][0]["names"] == ["dense_1/kernel", "dense_1/bias"]
    assert cli("audit", "seeds", "--strict").exit_code == 1


def test_verify(cli, filled, tamper):
    r = cli("verify", "--all")
    assert r.exit_code == 0 and r.stdout.strip().splitlines()[-1] == "7 verified, 0 mismatched, 0 failed"
    assert cli("verify", "w", "dense_1/kernel").stdout.strip() == "4 verified, 0 mismatched, 0 failed"
    run_id = filled.find()[0].run_id
    assert cli("verify", "--run", str(run_id)).exit_code == 0
    bias = filled.get("dense_1/bias")
    tamper(bias.id, scale=2.0)  # a naive edit: the seal breaks
    r = cli("verify", "--all")
    assert r.exit_code == 1
    assert r.stdout.strip().splitlines()[-1] == "6 verified, 0 mismatched, 0 failed, 1 broken seal"
    assert "broken_seal  dense_1/bias" in r.stdout and "changed after it was recorded" in r.stdout
    tamper(bias.id, reseal=True)  # re-sealed (no key): the values still tell
    r = cli("verify", "--all", "--progress")
    assert r.exit_code == 1
    assert r.stdout.strip().splitlines()[-1] == "6 verified, 1 mismatched, 0 failed"
    assert "mismatched  dense_1/bias" in r.stdout
    assert "verifying" in r.stderr  # the progress bar
    doc = json.loads(cli("verify", "--all", "--json").stdout)
    assert sorted(o["status"] for o in doc).count("verified") == 6


def test_export(cli, filled, tmp_path):
    out = tmp_path / "ledger.json"
    r = cli("export", "-o", str(out))
    assert r.exit_code == 0 and "exported 7 variables" in r.stderr
    assert len(json.loads(out.read_text(encoding="utf-8"))["variables"]) == 7
    before = out.read_bytes()
    one_error_line(cli("export", "-o", str(out)), "already exists", "--force")
    assert out.read_bytes() == before
    assert cli("export", "-o", str(out), "--force", "--name", "w").exit_code == 0
    assert [v["version"] for v in json.loads(out.read_text())["variables"]] == [1, 2, 3]
    csv_out = tmp_path / "x.csv"  # the format follows the suffix
    assert cli("export", "-o", str(csv_out)).exit_code == 0
    assert len(list(csv.DictReader(io.StringIO(csv_out.read_text(encoding="utf-8"))))) == 7
    stdout = cli("export", "--format", "csv", "--seed", "42").stdout
    assert [r["name"] for r in csv.DictReader(io.StringIO(stdout))] == ["dense_1/kernel", "dense_1/bias"]


def test_sql(filled, reader_url):
    def cli(*args):  # through a read-only account, as docs/sql.md recommends
        return CliRunner().invoke(main, [*args, "--ledger", reader_url], catch_exceptions=False)

    doc = json.loads(cli("sql", "SELECT name, version FROM reprovar_variables WHERE name = 'w' ORDER BY version", "--json").stdout)
    assert doc == [{"name": "w", "version": 1}, {"name": "w", "version": 2}, {"name": "w", "version": 3}]
    one_error_line(cli("sql", "DELETE FROM reprovar_variables"), "read-only")
    one_error_line(cli("sql", "DROP TABLE reprovar_runs"), "read-only")
    assert len(filled.find()) == 7


def test_missing_ledger_is_one_error_line(tmp_path):
    r = CliRunner().invoke(main, ["find", "--ledger", str(tmp_path / "absent.db")])
    one_error_line(r)
    assert not (tmp_path / "absent.db").exists()
