"""Secrets and files: no credentials recorded or printed, and ``-o`` never replaces or writes
through anything but a regular file, ``--force`` or not."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import update

import reprovar
from reprovar.cli import main
from reprovar.ledger.models import runs_table
from reprovar.ledger.redaction import MASK, redact_argv

SECRETS = ["s3cr3t-pw", "tok-123456", "key-abcdef", "hydra-pw", "query-tok", "libpq-pw", "env-pw"]
ARGV = [
    "train.py",
    "--ledger", "postgresql+psycopg://me:s3cr3t-pw@dbhost:5432/ledger",
    "--token", "tok-123456",
    "--api-key=key-abcdef",
    "db.password=hydra-pw",
    "--url=https://example.org/data?user=me&access_token=query-tok",
    "host=dbhost user=me password=libpq-pw",
    "PGPASSWORD=env-pw",
    "--lr", "0.1", "--name=dense",
]


def test_redaction_keeps_everything_but_the_secrets():
    out = redact_argv(ARGV)
    assert not any(secret in " ".join(out) for secret in SECRETS), out
    assert out[:2] == ["train.py", "--ledger"] and out[2] == f"postgresql+psycopg://me:{MASK}@dbhost:5432/ledger"
    assert out[3:5] == ["--token", MASK]
    assert out[-4:] == ["PGPASSWORD=***", "--lr", "0.1", "--name=dense"]
    assert out[8] == "host=dbhost user=me password=***"
    assert redact_argv(["x", "postgresql://me@host/db", "--author=me", "--no-token-cache", "data"]) == \
        ["x", "postgresql://me@host/db", "--author=me", "--no-token-cache", "data"]


def _record_from_script(tmp_path, ledger_url: str) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import sys, reprovar\n"
        f"reprovar.random_normal_variable((2,), 0.0, 1.0, name='w', seed=1, ledger={ledger_url!r})\n"
    )
    done = subprocess.run([sys.executable, str(script), *ARGV[1:]], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def _every_output(ledger_url: str, tmp_path) -> str:
    runner = CliRunner()
    out = []
    for args in (["runs"], ["runs", "--json"], ["runs", "show", "1"], ["runs", "show", "1", "--json"],
                 ["show", "w"], ["show", "w", "--json"], ["export"], ["export", "--format", "csv"]):
        result = runner.invoke(main, [*args, "--ledger", ledger_url], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out.append(result.output)
    html = tmp_path / "report.html"
    result = runner.invoke(main, ["report", "--no-verify", "--force", "-o", str(html), "--ledger", ledger_url])
    assert result.exit_code == 0, result.output
    out.append(html.read_text(encoding="utf-8"))
    return "\n".join(out)


def test_recorded_command_lines_hold_no_secrets(tmp_path):
    url = str(tmp_path / "l.db")
    _record_from_script(tmp_path, url)
    with reprovar.Ledger(url) as led:
        with led.connect() as c:  # the stored row itself
            stored = c.execute(runs_table.select()).one()._mapping["argv"]
        run = led.runs()[0]
    assert not any(secret in stored for secret in SECRETS), stored
    assert "--lr" in run.argv and MASK in run.argv
    printed = _every_output(url, tmp_path)
    assert not any(secret in printed for secret in SECRETS)
    assert "dbhost" in printed and "--name=dense" in printed


def test_rows_recorded_before_redaction_are_redacted_when_read(tmp_path):
    url = str(tmp_path / "old.db")
    with reprovar.Ledger(url) as led:
        reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
        with led.engine.begin() as c:  # as an older reprovar recorded it: verbatim
            c.execute(update(runs_table).values(argv=json.dumps(ARGV)))
        assert led.run(1).argv == tuple(redact_argv(ARGV))
    printed = _every_output(url, tmp_path)
    assert not any(secret in printed for secret in SECRETS)


# --- special files ---------------------------------------------------------------------------

@pytest.fixture
def ledger_path(tmp_path):
    path = str(tmp_path / "l.db")
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=path)
    return path


def _specials(tmp_path, suffix):
    target = tmp_path / f"target{suffix}"
    target.write_bytes(b"precious")
    (tmp_path / f"link{suffix}").symlink_to(target)
    (tmp_path / f"dangling{suffix}").symlink_to(tmp_path / "nowhere")
    (tmp_path / f"dirlink{suffix}").symlink_to(tmp_path)
    os.mkfifo(tmp_path / f"fifo{suffix}")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / f"sock{suffix}"))
    specials = {f"{tmp_path}/{name}{suffix}": kind for name, kind in (
        ("link", "symbolic link"), ("dangling", "symbolic link"), ("dirlink", "symbolic link"),
        ("fifo", "FIFO"), ("sock", "socket"))}
    if not suffix:  # commands that take the format from the name need one
        specials["/dev/null"] = "character device"
    return sock, target, specials


@pytest.mark.parametrize("command, suffix", [(["replay", "w"], ""), (["export"], ""),
                                             (["plot", "w"], ".svg"), (["report", "--no-verify"], ".html")])
def test_output_never_replaces_or_writes_through_a_special_file(tmp_path, ledger_path, command, suffix):
    sock, target, specials = _specials(tmp_path, suffix)
    try:
        for path, kind in specials.items():
            before = os.lstat(path)
            for force in ([], ["--force"]):
                result = CliRunner().invoke(main, [*command, "-o", path, *force, "--ledger", ledger_path])
                assert result.exit_code == 1, (path, force, result.output)
                lines = result.output.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("Error: ") and kind in lines[0], lines
                assert "regular file" in lines[0]
            after = os.lstat(path)
            assert (after.st_mode, after.st_ino, after.st_dev) == (before.st_mode, before.st_ino, before.st_dev)
        assert target.read_bytes() == b"precious"
        assert not (tmp_path / "nowhere").exists()
        assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    finally:
        sock.close()
    # A regular file is still replaced with --force.
    result = CliRunner().invoke(main, [*command, "-o", str(target), "--force", "--ledger", ledger_path])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() != b"precious"
