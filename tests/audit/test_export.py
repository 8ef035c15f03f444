"""Export on every backend: values survive the round trip; files are written atomically."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

from reprovar.audit import ExportError, VariableFilter, atomic_write

NAMES = ["plain", "it's \"q\"; DROP TABLE runs;--", "line\nbreak,comma", "ünï/🎲"]


def _fill(make):
    return [make(n, 2**64 - 1 - i) for i, n in enumerate(NAMES)]


def test_json_round_trip(ledger, make, tmp_path):
    records = _fill(make)
    out = tmp_path / "ledger.json"
    assert ledger.export(out) == len(NAMES)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format"] == "reprovar-ledger-export" and doc["filter"] is None
    assert doc["variables"] == [r.to_dict() for r in records]
    assert [r["id"] for r in doc["runs"]] == [records[0].run_id]
    assert doc["runs"][0] == ledger.run(records[0].run_id).to_dict()


def test_csv_round_trip(ledger, make, tmp_path):
    records = _fill(make)
    out = tmp_path / "ledger.csv"
    assert ledger.export(out, format="CSV") == len(NAMES)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == NAMES
    assert [int(r["seed"]) for r in rows] == [r.seed for r in records]
    assert json.loads(rows[0]["shape"]) == [2, 3]
    assert rows[0]["run_host"] == ledger.run(records[0].run_id).host


def test_export_of_a_query(ledger, make):
    _fill(make)
    buf = io.StringIO()
    assert ledger.export(buf, filter=VariableFilter.create(name="line*")) == 1
    doc = json.loads(buf.getvalue())
    assert [v["name"] for v in doc["variables"]] == ["line\nbreak,comma"]
    assert doc["filter"] == {"name": "line*"}


def test_empty_ledger_exports_valid_documents(ledger):
    buf = io.StringIO()
    assert ledger.export(buf) == 0
    assert json.loads(buf.getvalue())["variables"] == []


def test_existing_file_refused_without_force(ledger, make, tmp_path):
    _fill(make)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "x.json"
    out.write_text("keep me")
    with pytest.raises(ExportError, match="already exists; use --force"):
        ledger.export(out)
    assert out.read_text() == "keep me"
    ledger.export(out, force=True)
    assert json.loads(out.read_text())["variables"]
    assert os.listdir(tmp_path / "out") == ["x.json"]  # no temporary file left behind


def test_unknown_format_and_bad_places(ledger, tmp_path):
    with pytest.raises(ExportError, match="unknown export format 'xml'; known: json, csv"):
        ledger.export(tmp_path / "x.xml", format="xml")
    with pytest.raises(ExportError, match="does not exist"):
        ledger.export(tmp_path / "missing" / "x.json")
    with pytest.raises(ExportError, match="is a directory"):
        ledger.export(tmp_path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"

    def fail(f):
        f.write("partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert os.listdir(tmp_path) == []
    target.write_text("old")
    with pytest.raises(RuntimeError):
        atomic_write(target, fail, force=True)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.json"]
