"""Command-line input that once ended in a traceback: one ``Error:`` line and exit status 1."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import reprovar
from reprovar.cli import main

HUGE = str(10**23)


@pytest.fixture
def ledger_path(tmp_path):
    path = tmp_path / "l.db"
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=str(path))
    return str(path)


def one_error_line(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.mark.parametrize("args, param", [
    (["show", "w", "--version", HUGE], "version"),
    (["show", "--id", HUGE], "id"),
    (["replay", "w", "--version", HUGE], "version"),
    (["replay", "--id", HUGE], "id"),
    (["list", "--limit", HUGE], "limit"),
    (["find", "--run", HUGE], "run"),
    (["export", "--run", HUGE], "run"),
    (["runs", "show", HUGE], "run id"),
])
def test_huge_integers_are_one_error_line(ledger_path, args, param):
    assert f"{param} must be in [0, " in one_error_line([*args, "--ledger", ledger_path])


def test_largest_integer_is_just_not_found(ledger_path):
    line = one_error_line(["show", "w", "--version", str(2**63 - 1), "--ledger", ledger_path])
    assert "no version" in line


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/x",
                                 "mysql+pymysql://nobody@127.0.0.1:1/x"])
def test_unreachable_server_for_sql_is_one_error_line(url):
    line = one_error_line(["sql", "SELECT 1", "--ledger", url])
    assert "cannot connect" in line and "127.0.0.1" in line
