"""reprovar.config: each environment variable's parse, default and refusal of bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reprovar import config
from reprovar.errors import ArgumentValueError, LedgerError

SWITCH_MESSAGE = "is not understood; accepted: 1/0, true/false, yes/no, on/off"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in config.VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_every_variable_read_in_src_is_declared_here():
    # Nothing else in the package names a REPROVAR_ variable in code (docstrings aside).
    src = Path(config.__file__).parent
    declared = set(config.VARIABLES)
    for path in src.rglob("*.py"):
        if path.name == "config.py" or "_migrations" in path.parts:
            continue
        for line in path.read_text().splitlines():
            code = line.split("#")[0]
            if code.lstrip().startswith((">>>", "...")):  # docstring examples set variables
                continue
            if "os.environ" in code or "getenv" in code:
                assert "REPROVAR_" not in code, f"{path}: {line.strip()}"
    assert declared == {"REPROVAR_LEDGER", "REPROVAR_LEDGER_KEY", "REPROVAR_LEDGER_KEY_FILE",
                        "REPROVAR_RECORD", "REPROVAR_LOG_TO_TRACKERS"}


@pytest.mark.parametrize("text, expected", [
    ("1", True), ("true", True), ("YES", True), (" On ", True),
    ("0", False), ("False", False), ("no", False), ("OFF", False),
])
def test_record_switch_words(monkeypatch, text, expected):
    monkeypatch.setenv("REPROVAR_RECORD", text)
    assert config.record_by_default() is expected
    monkeypatch.setenv("REPROVAR_LOG_TO_TRACKERS", text)
    assert config.log_to_trackers() is expected


def test_switch_defaults(monkeypatch):
    assert config.record_by_default() is True
    assert config.log_to_trackers() is False
    monkeypatch.setenv("REPROVAR_RECORD", "")
    monkeypatch.setenv("REPROVAR_LOG_TO_TRACKERS", "  ")
    assert config.record_by_default() is True
    assert config.log_to_trackers() is False


@pytest.mark.parametrize("name, reader", [("REPROVAR_RECORD", config.record_by_default),
                                          ("REPROVAR_LOG_TO_TRACKERS", config.log_to_trackers)])
@pytest.mark.parametrize("bad", ["2", "enabled", "y", "nope"])
def test_switch_refuses_other_words(monkeypatch, name, reader, bad):
    monkeypatch.setenv(name, bad)
    with pytest.raises(ArgumentValueError, match=f"^{name}='{bad}' {SWITCH_MESSAGE}$"):
        reader()


def test_switch_is_read_at_each_call_by_its_users(monkeypatch):
    import reprovar
    from reprovar.trackers import tracker_logging

    monkeypatch.setenv("REPROVAR_RECORD", "off")
    assert reprovar.recording_enabled() is False
    monkeypatch.setenv("REPROVAR_RECORD", "on")
    assert reprovar.recording_enabled() is True
    monkeypatch.setenv("REPROVAR_LOG_TO_TRACKERS", "sometimes")
    with pytest.raises(ArgumentValueError, match="REPROVAR_LOG_TO_TRACKERS='sometimes'"):
        tracker_logging(None)


def test_environment_switch_keeps_its_old_import_path():
    from reprovar.validation import environment_switch

    assert environment_switch is config.environment_switch


def test_ledger_location(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert config.ledger_location() == os.path.join(str(tmp_path), "reprovar.db")
    monkeypatch.setenv("REPROVAR_LEDGER", "")
    assert config.ledger_location() == os.path.join(str(tmp_path), "reprovar.db")
    monkeypatch.setenv("REPROVAR_LEDGER", "postgresql+psycopg://u@h/db")
    assert config.ledger_location() == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("REPROVAR_LEDGER", "runs/x.db")  # as given: Ledger makes it absolute
    assert config.ledger_location() == "runs/x.db"


def test_ledger_location_is_what_the_recorder_and_ledger_use(monkeypatch, tmp_path):
    import reprovar
    from reprovar.ledger.urls import default_target

    path = str(tmp_path / "env.db")
    monkeypatch.setenv("REPROVAR_LEDGER", path)
    assert default_target() == path
    v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1)
    assert v.record is not None and reprovar.current_ledger().location == path
    assert reprovar.Ledger().location == path


def test_ledger_key(monkeypatch):
    assert config.ledger_key() is None
    monkeypatch.setenv("REPROVAR_LEDGER_KEY", "")
    assert config.ledger_key() is None
    monkeypatch.setenv("REPROVAR_LEDGER_KEY", "sixteen bytes ok")
    assert config.ledger_key() == b"sixteen bytes ok"
    monkeypatch.setenv("REPROVAR_LEDGER_KEY", "clé de seize oct")  # 17 bytes in UTF-8
    assert config.ledger_key() == "clé de seize oct".encode()


@pytest.mark.parametrize("bad, length", [("short", 5), ("fifteen bytes!!", 15)])
def test_ledger_key_refuses_short_keys(monkeypatch, bad, length):
    monkeypatch.setenv("REPROVAR_LEDGER_KEY", bad)
    message = f"^REPROVAR_LEDGER_KEY: key must be at least 16 bytes long, got {length}$"
    with pytest.raises(ArgumentValueError, match=message):
        config.ledger_key()
    from reprovar.ledger.seal import key_from_environment

    with pytest.raises(ArgumentValueError, match=message):
        key_from_environment()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX environment bytes")
def test_ledger_key_that_is_not_utf8_is_its_bytes():
    # Run in a child: os.environ cannot hold arbitrary bytes portably in this process.
    code = "from reprovar import config; print(config.ledger_key().hex())"
    env = {k: v for k, v in os.environ.items() if k not in config.VARIABLES}
    out = subprocess.run([sys.executable, "-c", code], env={**env, "REPROVAR_LEDGER_KEY": "x" * 15},
                         capture_output=True, text=True)
    assert "at least 16 bytes long, got 15" in out.stderr
    envb = {k.encode(): v.encode() for k, v in env.items()}
    envb[b"REPROVAR_LEDGER_KEY"] = b"\xff" * 16
    out = subprocess.run([sys.executable, "-c", code], env=envb, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ff" * 16


def test_ledger_key_file(monkeypatch, tmp_path):
    from reprovar.ledger.seal import SealKey, key_from_environment

    assert config.ledger_key_file() is None and key_from_environment() is None
    monkeypatch.setenv("REPROVAR_LEDGER_KEY_FILE", "")
    assert config.ledger_key_file() is None
    key_file = tmp_path / "key"
    key_file.write_bytes(b"a key of sixteen bytes or more\n")
    monkeypatch.setenv("REPROVAR_LEDGER_KEY_FILE", str(key_file))
    assert config.ledger_key_file() == str(key_file)
    assert key_from_environment().id == SealKey(b"a key of sixteen bytes or more").id
    # The key itself wins over the file.
    monkeypatch.setenv("REPROVAR_LEDGER_KEY", "the environment's own key")
    assert key_from_environment().id == SealKey(b"the environment's own key").id


def test_ledger_key_file_refusals(monkeypatch, tmp_path):
    from reprovar.ledger.seal import key_from_environment

    monkeypatch.setenv("REPROVAR_LEDGER_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(LedgerError, match="cannot read the ledger key file .*REPROVAR_LEDGER_KEY_FILE"):
        key_from_environment()
    short = tmp_path / "short"
    short.write_bytes(b"tiny\n")
    monkeypatch.setenv("REPROVAR_LEDGER_KEY_FILE", str(short))
    with pytest.raises(ArgumentValueError, match="REPROVAR_LEDGER_KEY_FILE .*key must be at least 16 bytes long, got 4"):
        key_from_environment()


def test_config_imports_only_the_standard_library():
    import ast

    tree = ast.parse(Path(config.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert imported == {"__future__", "os", ".errors"}
    errors = ast.parse((Path(config.__file__).parent / "errors.py").read_text())
    assert {a.name for n in ast.walk(errors) if isinstance(n, ast.ImportFrom) for a in n.names} == {"annotations"}
