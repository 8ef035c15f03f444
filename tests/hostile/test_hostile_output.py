"""What the ledger keeps and what the CLI and the report show: no secret recorded in the clear,
no ledger text acted on by a terminal or reordered by a browser, no link written through,
and an out-of-range option is one ``Error:`` line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import reprovar
from reprovar.cli import main
from reprovar.ledger.models import runs_table
from reprovar.ledger.redaction import MASK, redact_argv

# --- secrets in recorded command lines ---------------------------------------------------------

#: Each form once recorded in the clear, and the secret in it.
SECRET_FORMS = [
    (["--ledger", "postgresql://me:S16ab/cd@dbhost/db"], "S16ab/cd"),
    (["--password", "-Xpw99"], "-Xpw99"),
    (["REPROVAR_LEDGER_KEY=envledgerkey0123456"], "envledgerkey0123456"),
    (["--ledger-key", "optledgerkey0123456"], "optledgerkey0123456"),
    (["--signing-key=signkey0123456"], "signkey0123456"),
    (["--pw", "pwshort99"], "pwshort99"),
    (["-H", "Authorization: Bearer bearertok99"], "bearertok99"),
    (["https://urltoken99@github.com/me/repo.git"], "urltoken99"),
    (["--url=https://acct.blob.core.windows.net/c/f?sv=2020-10&sig=sigvalue99&se=2027"], "sigvalue99"),
    (["https://maps.example.com/api?key=keyvalue99&q=1"], "keyvalue99"),
    (['--config={"db": {"db_password": "jsonpw99"}, "lr": 0.1}'], "jsonpw99"),
]
ARGV = [arg for args, _ in SECRET_FORMS for arg in args] + ["--lr", "0.1", "--name=dense"]
SECRETS = [secret for _, secret in SECRET_FORMS]


@pytest.mark.parametrize("args, secret", SECRET_FORMS, ids=[s for _, s in SECRET_FORMS])
def test_each_secret_form_is_masked_and_the_rest_kept(args, secret):
    out = redact_argv(["train.py", *args, "-v"])
    assert secret not in " ".join(out) and MASK in " ".join(out), out
    assert out[0] == "train.py" and out[-1] == "-v"


def test_masking_keeps_what_is_not_a_secret():
    out = redact_argv(ARGV)
    assert out[:2] == ["--ledger", f"postgresql://me:{MASK}@dbhost/db"]
    assert "Authorization: Bearer ***" in out and f"https://{MASK}@github.com/me/repo.git" in out
    assert "--url=https://acct.blob.core.windows.net/c/f?sv=2020-10&sig=***&se=2027" in out
    config = next(arg for arg in out if arg.startswith("--config="))
    assert json.loads(config.split("=", 1)[1]) == {"db": {"db_password": MASK}, "lr": 0.1}
    assert out[-3:] == ["--lr", "0.1", "--name=dense"]
    kept = ["postgresql://me@host/db", "ssh://git@host/repo", "https://example.org/a?q=1&page=2",
            "--password-file", "/run/secrets/pw", "REPROVAR_LEDGER_KEY_FILE=/run/k", "--author=me"]
    assert redact_argv(kept) == kept


def test_no_secret_form_is_recorded_or_shown_on_any_backend(tmp_path, ledger_url):
    script = tmp_path / "train.py"
    script.write_text("import reprovar\n"
                      f"reprovar.random_normal_variable((2,), 0.0, 1.0, name='w', seed=1, ledger={ledger_url!r})\n")
    # The reprovar under test, wherever the script runs.
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(reprovar.__file__))}
    done = subprocess.run([sys.executable, str(script), *ARGV], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    with reprovar.Ledger(ledger_url) as led:
        with led.connect() as c:
            stored = c.execute(runs_table.select()).one()._mapping["argv"]
    assert not [s for s in SECRETS if s in stored], stored
    assert "--name=dense" in stored
    runner = CliRunner()
    for args in (["runs", "show", "1"], ["runs", "--json"], ["show", "w"], ["export"]):
        result = runner.invoke(main, [*args, "--ledger", ledger_url], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert not [s for s in SECRETS if s in result.output], result.output


# --- ledger text that a terminal or a browser would act on --------------------------------------

ESCAPE = "\x1b]0;PWNED\x07"
BIDI = "weights_\u202egnp.exe"
RAW = ("\x1b", "\x07", "\u202e")


@pytest.fixture
def hostile_ledger(tmp_path):
    path = str(tmp_path / "hostile.db")
    for name in (ESCAPE, BIDI):  # the same seed: `audit seeds` lists both
        reprovar.random_normal_variable((3,), 0.0, 1.0, name=name, seed=7, ledger=path)
    return path


def _outputs(ledger, tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("jinja2")
    runner = CliRunner()
    commands = [["list"], ["list", "--json"], ["find"], ["show", "--id", "1"], ["show", "--id", "2", "--json"],
                ["history", ESCAPE], ["replay", "--id", "1"], ["replay", "--id", "2", "--json"],
                ["runs", "show", "1"], ["audit", "seeds"], ["audit", "seeds", "--json"], ["export"],
                ["verify", ESCAPE, BIDI, "--json"], ["sql", "SELECT name FROM reprovar_variables"],
                ["sql", "SELECT name FROM reprovar_variables", "--json"],
                ["plot", "--id", "1", "-o", str(tmp_path / "p.svg")], ["plot", "--id", "2", "-o", str(tmp_path / "q.png")],
                ["report", "--no-verify", "-o", str(tmp_path / "r.html")],
                ["show", ESCAPE + "x"], ["replay", BIDI + "x"]]
    for args in commands:
        result = runner.invoke(main, [*args, "--ledger", ledger])
        yield args, result


def test_every_cli_output_escapes_what_a_terminal_would_act_on(hostile_ledger, tmp_path):
    escaped = ("\\x1b]0;PWNED\\x07", "\\u001b]0;PWNED\\u0007", "weights_\\u202egnp.exe")
    for args, result in _outputs(hostile_ledger, tmp_path):
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        for stream in (result.stdout, result.stderr):
            assert not [c for c in RAW if c in stream], (args, stream)
        if args[0] not in ("report", "history"):  # the name is printed, escaped, not left out
            assert any(e in result.output for e in escaped), (args, result.output)


def test_json_output_escapes_and_still_reads_back_exactly(hostile_ledger):
    result = CliRunner().invoke(main, ["list", "--json", "--ledger", hostile_ledger])
    assert {row["name"] for row in json.loads(result.stdout)} == {ESCAPE, BIDI}
    export = CliRunner().invoke(main, ["export", "--ledger", hostile_ledger])
    assert {v["name"] for v in json.loads(export.stdout)["variables"]} == {ESCAPE, BIDI}
    assert "\u202e" not in result.stdout + export.stdout and "\\u202e" in result.stdout + export.stdout


def test_the_report_shows_bidi_controls_escaped(hostile_ledger, tmp_path):
    pytest.importorskip("jinja2")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--no-verify", "-o", str(out), "--ledger", hostile_ledger])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert not [c for c in RAW if c in page]
    assert "weights_\\u202egnp.exe" in page and "\\x1b]0;PWNED\\x07" in page


# --- replay --zarr onto a link -----------------------------------------------------------------

@pytest.mark.parametrize("force", [[], ["--force"]])
def test_replay_zarr_refuses_a_link_as_o_does(tmp_path, force):
    pytest.importorskip("zarr")
    pytest.importorskip("dask")
    ledger = str(tmp_path / "z.db")
    reprovar.random_normal_variable((4, 2), 0.0, 1.0, name="w", seed=1, ledger=ledger)
    target = tmp_path / "real.zarr"
    target.mkdir()
    (target / "precious").write_text("kept")
    (tmp_path / "live.zarr").symlink_to(target)
    (tmp_path / "dangling.zarr").symlink_to(tmp_path / "nowhere")
    for name in ("live.zarr", "dangling.zarr"):
        link = tmp_path / name
        before = os.readlink(link)
        result = CliRunner().invoke(main, ["replay", "w", "--zarr", str(link), *force, "--ledger", ledger])
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "symbolic link" in lines[0], lines
        assert os.readlink(link) == before
    assert (target / "precious").read_text() == "kept" and not (tmp_path / "nowhere").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# --- out-of-range options ------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["replay", "w", "--version", "0"], ["--version", "0", "x>=1"]),
    (["replay", "--id", "abc"], ["--id", "'abc'", "not a valid integer"]),
    (["show", "--id", "0"], ["--id", "x>=1"]),
    (["plot", "w", "--version", "-3", "-o", "x.png"], ["--version", "-3"]),
    (["runs", "show", "-1"], ["run id", "-1"]),
    (["find", "--limit", "-1"], ["--limit", "-1", "x>=0"]),
    (["list", "--limit", "many"], ["--limit", "'many'"]),
    (["sql", "--timeout", "0", "SELECT 1"], ["--timeout", "x>0"]),
    (["verify", "--all", "--connect-timeout", "0"], ["--connect-timeout", "x>0"]),
    (["replay", "w", "--frobnicate"], ["--frobnicate"]),
])
def test_an_out_of_range_option_is_one_error_line_and_exit_1(tmp_path, args, words):
    ledger = str(tmp_path / "l.db")
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=ledger)
    result = CliRunner().invoke(main, [*args, "--ledger", ledger])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Usage:" not in result.output
    assert all(w in lines[0] for w in words), lines[0]
