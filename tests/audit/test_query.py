"""The query API on every backend: each filter selects exactly what it says, names are exact."""

from __future__ import annotations

import datetime as dt

import pytest

from reprovar.audit import BadFilterError, VariableFilter, changes, parse_shape
from reprovar.errors import UnknownRunError, UnknownVariableError

#: Names that break naive SQL, LIKE patterns, CSV or table output.
AWKWARD = [
    "it's \"quoted\"",
    "x'; DROP TABLE variables; --",
    "line\nbreak\ttab",
    "ünïcødé/権重/🎲",
    "100%_done!",
    "back\\slash",
    "[bracket]",
]


def test_exact_name_is_case_sensitive_and_exact(ledger, make):
    make("w", 1)
    make("W", 2)
    make("w ", 3)  # MariaDB's "=" ignores trailing spaces; the API must not
    make("w", 4)
    assert [(r.name, r.version, r.seed) for r in ledger.find("w")] == [("w", 1, 1), ("w", 2, 4)]
    assert [r.seed for r in ledger.find("W")] == [2]
    assert [r.seed for r in ledger.find("w ")] == [3]


def test_awkward_names_are_stored_and_found_intact(ledger, make):
    make("decoy", 0)
    made = {name: make(name, 5) for name in AWKWARD}
    for name, rec in made.items():
        assert [(r.id, r.name) for r in ledger.find(name)] == [(rec.id, name)]
        assert [r.name for r in ledger.find(name[:2] + "*")] == [name]  # the prefix path too
        assert ledger.history(name)[0].name == name


def test_glob_wildcards_and_like_metacharacters(ledger, make):
    for i, n in enumerate(["dense_1/kernel", "dense_1/bias", "denseX1/kernel", "dense%1/kernel",
                           "Dense_1/kernel", "dense_12/kernel", "a!b", "a\\b", "axb"]):
        make(n, i)
    names = lambda pattern: sorted(r.name for r in ledger.find(pattern))  # noqa: E731
    # "_" and "%" in a pattern are literal: only "*" and "?" are wildcards.
    assert names("dense_1/*") == ["dense_1/bias", "dense_1/kernel"]
    assert names("dense%1/*") == ["dense%1/kernel"]
    assert names("dense?1/kernel") == sorted(["dense%1/kernel", "denseX1/kernel", "dense_1/kernel"])
    assert names("*/kernel") == sorted(["Dense_1/kernel", "dense%1/kernel", "denseX1/kernel",
                                        "dense_12/kernel", "dense_1/kernel"])
    assert names("dense_1?/kernel") == ["dense_12/kernel"]
    assert names("a!b") == ["a!b"]  # the LIKE escape character itself
    assert names("a\\b") == ["a\\b"]
    assert names("a?b") == sorted(["a!b", "a\\b", "axb"])
    assert names("*") == sorted(r.name for r in ledger.find())


def test_seed_run_dtype_algorithm_shape_filters(ledger, make):
    a = make("a", 2**64 - 1, shape=(2, 3))
    b = make("b", 2**63, shape=(3, 2), dtype="float64")
    c = make("c", 0, shape=(), dtype="bfloat16")
    assert [r.id for r in ledger.find(seed=2**64 - 1)] == [a.id]
    assert [r.id for r in ledger.find(seed=2**63)] == [b.id]
    assert [r.id for r in ledger.find(seed=0)] == [c.id]
    assert [r.id for r in ledger.find(dtype="float64")] == [b.id]
    assert [r.id for r in ledger.find(shape="3x2")] == [b.id]
    assert [r.id for r in ledger.find(shape=())] == [c.id]
    assert [r.id for r in ledger.find(run=a.run_id)] == [a.id, b.id, c.id]
    assert [r.id for r in ledger.find(algorithm=a.algorithm)] == [a.id, b.id, c.id]
    assert ledger.find(algorithm="no-such-algorithm") == []
    assert [r.id for r in ledger.find(name="?", dtype="float32", shape=(2, 3))] == [a.id]
    assert [r.id for r in ledger.find(limit=2)] == [a.id, b.id]


def test_time_filters_accept_iso_dates_and_times_naive_as_utc(ledger, make, backdate):
    old = make("old", 1)
    mid = make("mid", 2)
    new = make("new", 3)
    backdate(old.id, 2026, 1, 1, 12)
    backdate(mid.id, 2026, 6, 15, 23, 30)
    backdate(new.id, 2026, 11, 1, 8)
    ids = lambda **kw: [r.id for r in ledger.find(**kw)]  # noqa: E731
    assert ids(since="2026-06-01") == [mid.id, new.id]
    assert ids(until="2026-06-15") == [old.id, mid.id]  # a bare date includes its whole day
    assert ids(until="2026-06-15T23:30") == [old.id]  # until is exclusive
    assert ids(since="2026-06-15T23:30:00Z", until="2026-06-15T23:30:00.000001Z") == [mid.id]
    # 2026-06-16T01:00+02:00 is 23:00 UTC on the 15th: before "mid"
    assert ids(since="2026-06-16T01:00+02:00", until="2026-07-01") == [mid.id]
    assert ids(since=dt.date(2026, 11, 1)) == [new.id]
    assert ids(since=dt.datetime(2026, 11, 1, 8)) == [new.id]  # naive datetime = UTC


@pytest.mark.parametrize("kwargs, message", [
    ({"since": "yesterday"}, "malformed time 'yesterday'"),
    ({"until": "2026-13-01"}, "malformed time"),
    ({"seed": -1}, "seed must be"),
    ({"seed": 2**64}, "seed must be"),
    ({"dtype": "float8"}, "unknown dtype 'float8'"),
    ({"shape": "2xthree"}, "malformed shape"),
    ({"run": "x"}, "run id must be an integer"),
    ({"run": 1.5}, "run must be an int"),
])
def test_bad_filters_raise_one_clear_error(kwargs, message):
    with pytest.raises(BadFilterError, match=message):
        VariableFilter.create(**kwargs)


def test_unknown_run_raises(ledger, make):
    make("a", 1)
    with pytest.raises(UnknownRunError, match="no run with id 999"):
        ledger.find(run=999)


def test_history_lists_versions_and_what_changed(ledger, make):
    make("w", 1, shape=(2, 3))
    make("other", 1)
    make("w", 1, shape=(2, 3))
    make("w", 7, shape=(4,), mean=1.5)
    versions = ledger.history("w")
    assert [(r.version, r.seed, r.shape) for r in versions] == [(1, 1, (2, 3)), (2, 1, (2, 3)), (3, 7, (4,))]
    assert changes(versions[0], versions[1]) == {}
    diff = changes(versions[1], versions[2])
    assert diff["seed"] == (1, 7) and diff["shape"] == ((2, 3), (4,)) and diff["mean"] == (0.0, 1.5)
    with pytest.raises(UnknownVariableError, match="did you mean 'w'"):
        ledger.history("ww")


def test_runs_and_counts(ledger, make):
    rec = make("a", 1)
    make("b", 2)
    runs = ledger.runs()
    assert [r.id for r in runs] == [rec.run_id]
    assert ledger.count() == 2 and ledger.count(VariableFilter.create(name="?")) == 2
    assert ledger.count(VariableFilter.create(name="a")) == 1


def test_text_values_as_a_command_line_passes_them():
    f = VariableFilter.create(seed="0x2a", run="7", shape="2x3")
    assert (f.seed, f.run, f.shape) == (42, 7, (2, 3))


def test_parse_shape_forms():
    assert parse_shape("2x3") == parse_shape("2,3") == parse_shape("(2, 3)") == parse_shape([2, 3]) == (2, 3)
    assert parse_shape("()") == parse_shape("") == ()


def test_dataframe(ledger, make):
    pd = pytest.importorskip("pandas")
    make("big-seed", 2**64 - 1)
    make("line\nbreak", 3)
    df = ledger.find().to_dataframe()
    assert list(df["name"]) == ["big-seed", "line\nbreak"]
    assert int(df["seed"][0]) == 2**64 - 1 and str(df["seed"].dtype) == "uint64"
    assert isinstance(df["created"].dtype, pd.DatetimeTZDtype)
    empty = ledger.find("nothing").to_dataframe()
    assert len(empty) == 0 and "seed" in empty.columns
    runs = ledger.runs().to_dataframe()
    assert list(runs["id"]) == [ledger.find()[0].run_id] and "host" in runs.columns
