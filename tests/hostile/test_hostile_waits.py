"""Waits that once had no end or no explanation: a FIFO as the ledger, a scheduler that never
answers, a SQLite write lock held by someone else. Each ends in one clear error, in bounded time."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

import reprovar
import reprovar.ledger.writer
from reprovar.errors import ReprovarError

#: Longer than any of these commands needs; a command still running then is hung.
HANG_S = 30
#: The reprovar under test, for the processes these tests start.
ENV = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(reprovar.__file__))}


def _reprovar(*args):
    """Run the CLI in a fresh process; a hang fails the test instead of blocking the suite."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "reprovar", *args], capture_output=True, text=True,
                          timeout=HANG_S, env=ENV)
    return done, time.monotonic() - started


def _one_error(done) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


# --- a FIFO (or another non-regular file) as the ledger --------------------------------------

@pytest.mark.parametrize("command", [["list"], ["verify", "--all"], ["db", "upgrade"]])
def test_a_fifo_as_the_ledger_is_refused_before_it_is_opened(tmp_path, command):
    fifo = tmp_path / "ledger.db"
    os.mkfifo(fifo)
    done, _ = _reprovar(*command, "--ledger", str(fifo))
    line = _one_error(done)
    assert str(fifo) in line and "FIFO" in line and "regular file" in line


def test_a_writer_refuses_a_fifo_ledger(tmp_path):
    fifo = tmp_path / "ledger.db"
    os.mkfifo(fifo)
    script = ("import reprovar\n"
              f"reprovar.random_normal_variable((2,), 0.0, 1.0, name='w', seed=1, ledger={str(fifo)!r})\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG_S, env=ENV)
    assert done.returncode == 1
    assert "FIFO" in done.stderr and "regular file" in done.stderr, done.stderr


def test_a_fifo_beside_the_ledger_is_refused(tmp_path):
    # SQLite opens ledger.db-wal itself; a FIFO there would block it just the same.
    path = tmp_path / "ledger.db"
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=str(path))
    reprovar.recorder.forget_ledgers()
    os.mkfifo(f"{path}-wal")
    done, _ = _reprovar("list", "--ledger", str(path))
    line = _one_error(done)
    assert f"{path}-wal is a FIFO" in line


def test_a_socket_as_the_ledger_is_refused(tmp_path):
    path = tmp_path / "ledger.db"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    try:
        with pytest.raises(ReprovarError, match="it is a socket, not a regular file"):
            reprovar.Ledger(str(path))
    finally:
        sock.close()


# --- verify --scheduler: a listener that never answers, an address that is not one -----------

@pytest.fixture
def silent_listener():
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def ledger_path(tmp_path):
    path = str(tmp_path / "l.db")
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=path)
    return path


def test_verify_gives_up_on_a_scheduler_that_never_answers(silent_listener, ledger_path):
    pytest.importorskip("distributed")
    done, took = _reprovar("verify", "--all", "--scheduler", silent_listener, "--connect-timeout", "1",
                           "--ledger", ledger_path)
    line = _one_error(done)
    assert silent_listener in line and "no answer within 1 s" in line and "--connect-timeout" in line
    assert took < 15


def test_the_connect_timeout_has_a_default_of_a_few_seconds(silent_listener, ledger_path):
    pytest.importorskip("distributed")
    done, took = _reprovar("verify", "--all", "--scheduler", silent_listener, "--ledger", ledger_path)
    assert "no answer within 5 s" in _one_error(done)
    assert took < 20


def test_the_cli_default_is_the_library_default():
    dask = pytest.importorskip("reprovar.dask")
    from reprovar.cli.options import CONNECT_TIMEOUT_S

    assert CONNECT_TIMEOUT_S == dask.DEFAULT_CONNECT_TIMEOUT_S == 5.0


def test_a_connect_timeout_without_a_scheduler_is_refused(ledger_path):
    from click.testing import CliRunner

    from reprovar.cli import main

    result = CliRunner().invoke(main, ["verify", "--all", "--connect-timeout", "2", "--ledger", ledger_path])
    assert result.exit_code == 1 and result.output == "Error: --connect-timeout goes with --scheduler\n"


def test_a_malformed_scheduler_address_is_one_error_line_at_once(ledger_path):
    pytest.importorskip("distributed")
    done, took = _reprovar("verify", "--all", "--scheduler", "garbage:::x", "--ledger", ledger_path)
    line = _one_error(done)  # and nothing else on stderr: no Client.__del__ traceback
    assert "garbage:::x" in line and "Exception ignored" not in done.stderr
    assert took < 15


# --- SQLite: a write lock someone else holds ---------------------------------------------------

def test_a_sqlite_lock_held_past_the_wait_is_an_error_that_names_the_wait(tmp_path, monkeypatch):
    path = str(tmp_path / "l.db")
    with reprovar.Ledger(path) as led:
        reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)  # the run row
        monkeypatch.setattr(reprovar.ledger.writer, "WRITE_RETRY_S", 0.5)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            with pytest.raises(ReprovarError) as raised:
                reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
            waited = time.monotonic() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        message = str(raised.value)
        assert "held the SQLite write lock for longer than reprovar waits for it (0.5 s)" in message
        assert "nothing was written" in message and path in message
        assert waited >= 0.5
        assert [r.version for r in led.history("w")] == [1]
        # Once the lock is free, the same call records.
        assert reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led).record.version == 2
