"""Unusable ledger locations give one clear error each, never a raw driver traceback."""

from __future__ import annotations

import sys

import pytest

from reprovar.errors import (
    LedgerError,
    LedgerOpenError,
    MissingDriverError,
    NotALedgerError,
)
from reprovar import Ledger


def test_missing_directory(tmp_path):
    with pytest.raises(LedgerOpenError, match=r"directory .*nope does not exist"):
        Ledger(tmp_path / "nope" / "l.db")


def test_path_under_a_regular_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(LedgerOpenError, match=r"file\S* is a file, not a directory"):
        Ledger(tmp_path / "file" / "sub" / "l.db")


def test_directory_where_no_file_can_be_created():
    # Tests run as root, which ignores permission bits; /proc refuses new files to everyone
    # although access() says it is writable, so this exercises the database's own refusal.
    with pytest.raises(LedgerOpenError, match=r"cannot open ledger /proc/reprovar-test.db: unable to open"):
        Ledger("/proc/reprovar-test.db")


def test_unwritable_directory_is_refused_up_front(tmp_path, monkeypatch):
    # What a non-root user sees for a read-only directory (root bypasses the mode bits).
    monkeypatch.setattr("os.access", lambda path, mode: False)
    with pytest.raises(LedgerOpenError, match="is not writable"):
        Ledger(tmp_path / "l.db")


def test_path_that_is_a_directory(tmp_path):
    with pytest.raises(LedgerOpenError, match="it is a directory"):
        Ledger(tmp_path)


def test_file_that_is_not_sqlite(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 10)
    with pytest.raises(NotALedgerError, match="is not a SQLite database"):
        Ledger(path)
    assert path.read_text().startswith("these are my notes")  # untouched


def test_corrupt_sqlite_file(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(NotALedgerError):
        Ledger(path)


@pytest.mark.parametrize("url, module, extra", [
    ("postgresql+psycopg://u@127.0.0.1/db", "psycopg", "reprovar[postgres]"),
    ("mysql+pymysql://root@127.0.0.1/test", "pymysql", "reprovar[mysql]"),
    ("mariadb+pymysql://root@127.0.0.1/test", "pymysql", "reprovar[mysql]"),
])
def test_missing_driver_names_the_extra(monkeypatch, url, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(MissingDriverError, match=rf"driver is not installed \(no module {module}\); pip install '{extra}'".replace("[", r"\[").replace("]", r"\]")):
        Ledger(url)


def test_other_driver_for_a_supported_backend_points_to_ours(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    with pytest.raises(MissingDriverError, match=r"use postgresql\+psycopg:// URLs and pip install 'reprovar\[postgres\]'"):
        Ledger("postgresql+psycopg2://u@127.0.0.1/db")


def test_unknown_backend_and_bad_url():
    with pytest.raises(LedgerOpenError, match="SQLAlchemy has no backend 'nosuch'"):
        Ledger("nosuch://x/y")
    with pytest.raises(LedgerError, match="cannot parse ledger URL"):
        Ledger("postgresql+psycopg://u@h:notaport/db")


def test_unreachable_server():
    with pytest.raises(LedgerOpenError, match="cannot connect to ledger postgresql"):
        Ledger("postgresql+psycopg://postgres@127.0.0.1:1/postgres?connect_timeout=2")


def test_missing_ledger_is_not_created_when_asked_not_to(tmp_path):
    with pytest.raises(LedgerOpenError, match="no ledger at .*typo.db: the file does not exist"):
        Ledger(tmp_path / "typo.db", create=False)
    assert not (tmp_path / "typo.db").exists()


def test_database_without_a_ledger_is_not_created_when_asked_not_to(ledger_url):
    if ledger_url.startswith("sqlite"):
        open(ledger_url.removeprefix("sqlite:///"), "wb").close()  # exists, but empty
    with pytest.raises(LedgerError, match="no reprovar ledger in"):
        Ledger(ledger_url, create=False)
