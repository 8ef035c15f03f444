"""The command line: replay, list, db upgrade; one-line errors and exit codes; help everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import update

import reprovar
from reprovar.cli import main
from reprovar import Ledger
from reprovar.ledger.schema import head_revision
from reprovar.ledger.models import variables_table
from reprovar.ledger.schema import head_revision


@pytest.fixture
def run():
    runner = CliRunner()

    def _run(*args):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        return result

    return _run


@pytest.fixture
def filled(ledger_url):
    with Ledger(ledger_url) as led:
        for name, seed in [("dense/kernel", 1), ("dense/kernel", 2**64 - 1), ("dense/bias", 0)]:
            reprovar.random_normal_variable((3, 4), 0.0, 1.0, name=name, seed=seed, ledger=led)
    return ledger_url


def test_replay_prints_the_summary_and_exits_zero(run, filled):
    result = run("replay", "dense/kernel", "--ledger", filled)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.strip().splitlines())
    assert lines["name"].strip() == "dense/kernel" and lines["version"].strip() == "2"
    assert lines["shape"].strip() == "(3, 4)" and lines["dtype"].strip() == "float32"
    assert lines["seed"].strip() == str(2**64 - 1)
    assert lines["digest"].strip().startswith("xxh3-128-tree4m:")
    assert lines["verified"].strip().startswith("yes")


def test_replay_json_by_version_and_id(run, filled):
    data = json.loads(run("replay", "dense/kernel", "--version", 1, "--json", "--ledger", filled).output)
    assert (data["version"], data["seed"], data["verified"]) == (1, 1, True)
    by_id = json.loads(run("replay", "--id", data["id"], "--json", "--ledger", filled).output)
    assert by_id["digest"] == data["digest"]


def test_replay_writes_npy_atomically_and_refuses_to_overwrite(run, filled, tmp_path):
    out = tmp_path / "k.npy"
    assert run("replay", "dense/kernel", "-o", out, "--ledger", filled).exit_code == 0
    expected = Ledger(filled).replay("dense/kernel").numpy()
    assert np.load(out).tobytes() == expected.tobytes()
    before = out.read_bytes()
    result = run("replay", "dense/kernel", "--version", 1, "-o", out, "--ledger", filled)
    assert result.exit_code == 1 and result.output.strip().endswith("already exists; use --force (force=True) to overwrite it")
    assert out.read_bytes() == before
    assert run("replay", "dense/kernel", "--version", 1, "-o", out, "--force", "--ledger", filled).exit_code == 0
    assert out.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_replay_errors_are_one_line(run, filled, tmp_path):
    cases = [
        (("replay", "dense/kernal", "--ledger", filled), "did you mean 'dense/kernel'"),
        (("replay", "dense/bias", "--version", 9, "--ledger", filled), "no version 9"),
        (("replay", "--ledger", filled), "give a variable NAME or --id ID"),
        (("replay", "--id", 1, "--version", 1, "--ledger", filled), "--version goes with NAME"),
        (("replay", "x", "--ledger", tmp_path / "absent.db"), "no ledger at"),
        (("replay", "x", "--ledger", "nosuch://a/b"), "SQLAlchemy has no backend"),
        (("replay", "dense/bias", "-o", tmp_path / "no" / "x.npy", "--ledger", filled), "does not exist"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1 and message in result.output, result.output
        assert result.output.startswith("Error: ")


def test_replay_of_a_tampered_record_fails(run, filled):
    with Ledger(filled) as led, led.engine.begin() as conn:
        conn.execute(update(variables_table).where(variables_table.c.name == "dense/bias").values(mean=0.5))
    result = run("replay", "dense/bias", "--ledger", filled)
    assert result.exit_code == 1 and "does not match its record" in result.output


def test_not_a_ledger_file_is_one_line(run, tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("hello")
    result = run("list", "--ledger", bad)
    assert result.exit_code == 1 and result.output == f"Error: {bad} is not a SQLite database, so not a reprovar ledger\n"


def test_list_table_json_and_csv(run, filled):
    table = run("list", "--ledger", filled).output.splitlines()
    assert table[0].split() == ["id", "name", "version", "shape", "dtype", "seed", "created"]
    assert len(table) == 4  # header, rule, two names
    data = json.loads(run("list", "--json", "--ledger", filled).output)
    assert [(d["name"], d["version"], d["seed"]) for d in data] == [("dense/bias", 1, 0), ("dense/kernel", 2, 2**64 - 1)]
    csv_lines = run("list", "--csv", "--ledger", filled).output.splitlines()
    assert csv_lines[0] == "id,name,version,shape,dtype,seed,created" and len(csv_lines) == 3
    assert json.loads(run("list", "-n", 1, "--json", "--ledger", filled).output)[0]["name"] == "dense/bias"


def test_list_escapes_control_characters_in_the_table(run, tmp_path):
    path = tmp_path / "odd.db"
    reprovar.random_normal_variable((1,), 0.0, 1.0, name="a\nb", ledger=path)
    out = run("list", "--ledger", path).output
    assert "a\\nb" in out and len(out.splitlines()) == 3
    assert json.loads(run("list", "--json", "--ledger", path).output)[0]["name"] == "a\nb"


def test_db_upgrade_creates_then_reports_head(run, ledger_url):
    first = run("db", "upgrade", "--ledger", ledger_url)
    assert first.exit_code == 0 and "created ledger" in first.output and head_revision() in first.output
    again = run("db", "upgrade", "--ledger", ledger_url)
    assert f"already at schema revision {head_revision()}" in again.output


def test_passwords_are_not_printed(run):
    result = run("list", "--ledger", "postgresql+psycopg://u:s3cret@127.0.0.1:1/x?connect_timeout=1")
    assert result.exit_code == 1 and "s3cret" not in result.output and "***" in result.output


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


def test_every_command_has_help_with_an_example(run):
    for path, command in [((), main), *_commands(main)]:
        result = run(*path, "--help")
        assert result.exit_code == 0
        assert command.help and "Example:" in result.output, path


def test_python_dash_m_and_the_console_script(tmp_path):
    path = tmp_path / "m.db"
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="m", seed=4, ledger=path)
    out = subprocess.run([sys.executable, "-m", "reprovar", "replay", "m", "--ledger", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)["seed"] == 4
    script = os.path.join(os.path.dirname(sys.executable), "reprovar")
    out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "reprovar" in out.stdout


def test_example_training_script_then_replay(tmp_path, monkeypatch):
    """The README's first command: run the example, then replay one variable with the CLI."""
    monkeypatch.delenv("REPROVAR_LEDGER")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, os.path.join(root, "examples", "train.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "reprovar.db").is_file()
    out = subprocess.run([sys.executable, "-m", "reprovar", "replay", "dense_1/kernel"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "verified: yes" in out.stdout and "shape:    (784, 256)" in out.stdout
