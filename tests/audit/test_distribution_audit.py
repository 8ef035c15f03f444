"""The audit side of every distribution, on every backend: variables made through the public
API (normal, uniform, truncated normal with finite, one-sided and default bounds, variance
scaling) are replayed and verified by the CLI, shown with their own parameters (never a
meaningless mean and scale), found by distribution, compared across versions, and exported
to JSON and CSV from which they can be made again."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import reprovar
from reprovar.algorithms import get_algorithm
from reprovar.audit import BadFilterError, changes
from reprovar.cli import main
from reprovar.ledger import digest as digests
from reprovar.validation import resolve_dtype

INF = math.inf


@pytest.fixture
def cli(ledger_url):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, [*args, "--ledger", ledger_url], catch_exceptions=False)

    return run


def _made(ledger):
    """Every distribution, a parameter change per name, a change of distribution; returns
    ``{(name, version): (variable, expected params text)}``."""
    made = {}

    def keep(variable, text):
        made[(variable.name, variable.record.version)] = (variable, text)

    keep(reprovar.random_normal_variable((3, 4), 0.0, 0.05, name="n", seed=1, ledger=ledger), "mean=0 scale=0.05")
    keep(reprovar.random_uniform_variable((3, 4), -0.1, 0.1, name="u", seed=2, ledger=ledger), "low=-0.1 high=0.1")
    keep(reprovar.random_uniform_variable((3, 4), -0.2, 0.2, dtype="float64", name="u", seed=2, ledger=ledger),
         "low=-0.2 high=0.2")
    keep(reprovar.truncated_normal_variable((5,), 0.0, 1.0, name="t", seed=3, low=-2.0, high=INF, ledger=ledger),
         "mean=0 scale=1 low=-2 high=inf")
    keep(reprovar.truncated_normal_variable((5,), 0.0, 1.0, dtype="bfloat16", name="t", seed=3, ledger=ledger),
         "mean=0 scale=1 low=-2 high=2")  # the default bounds, mean ± 2 scale
    keep(reprovar.truncated_normal_variable((6,), 1.0, 0.5, dtype="float16", name="left", seed=4, low=-INF,
                                            high=0.5, ledger=ledger), "mean=1 scale=0.5 low=-inf high=0.5")
    keep(reprovar.variance_scaling_variable((4, 5), 2.0, "fan_avg", "uniform", name="vs/uniform", seed=5,
                                            ledger=ledger), f"low={-math.sqrt(3 * 2.0 / 4.5)!r} high={math.sqrt(3 * 2.0 / 4.5)!r}")
    vs = reprovar.variance_scaling_variable((4, 5), name="vs/truncated", seed=6, ledger=ledger)
    keep(vs, None)
    keep(reprovar.random_normal_variable((2,), 0.0, 1.0, name="switch", seed=7, ledger=ledger), "mean=0 scale=1")
    keep(reprovar.random_uniform_variable((2,), -1.0, 1.0, name="switch", seed=7, ledger=ledger), "low=-1 high=1")
    return made


def test_every_distribution_replays_verifies_and_shows_its_own_parameters(ledger, cli):
    made = _made(ledger)
    for (name, version), (variable, text) in made.items():
        r = cli("replay", name, "--version", str(version))
        assert r.exit_code == 0, r.output
        assert "verified:     yes (digest matches)" in r.stdout
        params_line = next(line for line in r.stdout.splitlines() if line.startswith("params:"))
        if text is not None:
            assert params_line.split(None, 1)[1] == text
        again = ledger.replay(name, version)
        assert again.numpy().tobytes() == variable.numpy().tobytes()
        assert again.provenance.params == variable.provenance.params

        doc = json.loads(cli("replay", name, "--version", str(version), "--json").stdout)
        assert doc["distribution"] == variable.provenance.distribution and doc["verified"] is True
        assert {k: float(v) for k, v in doc["params"].items()} == variable.provenance.params

    r = cli("verify", "--all")
    assert r.exit_code == 0 and f"{len(made)} verified, 0 mismatched, 0 failed" in r.output

    # show: the parameters of the distribution, not the four columns of every one
    table = cli("show", "u").stdout
    assert "params:" in table and "low=-0.2 high=0.2" in table
    assert not any(line.split(":")[0] in ("mean", "scale", "low", "high") for line in table.splitlines())
    doc = json.loads(cli("show", "t", "--version", "1", "--json").stdout)
    assert doc["params"] == {"mean": 0.0, "scale": 1.0, "low": -2.0, "high": "inf"}
    assert (doc["mean"], doc["scale"], doc["low"], doc["high"]) == (0.0, 1.0, -2.0, None)
    doc = json.loads(cli("show", "u", "--json").stdout)
    assert doc["params"] == {"low": -0.2, "high": 0.2} and doc["mean"] is None and doc["scale"] is None
    row = next(csv.DictReader(io.StringIO(cli("show", "left", "--csv").stdout)))
    assert row["params"] == "mean=1 scale=0.5 low=-inf high=0.5" and row["low"] == "" and row["high"] == "0.5"

    # list: one row per name with its own parameters; no "None" for parameters it lacks
    lines = cli("list").stdout.splitlines()
    assert lines[0].split()[5:7] == ["distribution", "params"]
    by_name = {line.split()[1]: line for line in lines[2:]}
    assert "mean=0 scale=1 low=-2 high=2" in by_name["t"] and "low=-1 high=1" in by_name["switch"]
    assert not any("None" in line for line in lines)
    listed = {d["name"]: d for d in json.loads(cli("list", "--json").stdout)}
    assert listed["left"]["params"] == {"mean": 1.0, "scale": 0.5, "low": "-inf", "high": 0.5}
    assert listed["vs/truncated"]["distribution"] == "truncated_normal"


def test_find_by_distribution(ledger, cli):
    _made(ledger)
    expected = {
        "normal": [("n", 1), ("switch", 1)],
        "uniform": [("u", 1), ("u", 2), ("vs/uniform", 1), ("switch", 2)],
        "truncated_normal": [("t", 1), ("t", 2), ("left", 1), ("vs/truncated", 1)],
    }
    for distribution, versions in expected.items():
        assert [(r.name, r.version) for r in ledger.find(distribution=distribution)] == versions
        doc = json.loads(cli("find", "--distribution", distribution, "--json").stdout)
        assert [(d["name"], d["version"]) for d in doc] == versions
        assert {d["distribution"] for d in doc} == {distribution}
    # with the other filters
    assert [r.name for r in ledger.find("vs/*", distribution="uniform")] == ["vs/uniform"]
    table = cli("find", "--distribution", "uniform", "--dtype", "float64").stdout.splitlines()
    assert len(table) == 3 and "low=-0.2 high=0.2" in table[2]

    r = cli("find", "--distribution", "bogus")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.stderr.strip() == "Error: unknown distribution 'bogus'; known: normal, orthogonal, orthogonal_last_axis, truncated_normal, uniform"
    with pytest.raises(BadFilterError, match="known: normal, orthogonal, orthogonal_last_axis, truncated_normal, uniform") as e:
        ledger.find(distribution="Uniform")
    assert isinstance(e.value, ValueError)
    with pytest.raises(BadFilterError, match="distribution must be a str"):
        ledger.find(distribution=1)


def test_history_reports_changed_parameters_and_distributions(ledger, cli):
    _made(ledger)
    lines = cli("history", "u").stdout.splitlines()
    assert lines[0].split() == ["version", "id", "created", "seed", "shape", "dtype", "distribution", "params",
                                "run_id", "changed"]
    assert "low=-0.1 high=0.1" in lines[2] and "(first version)" in lines[2]
    assert lines[3].endswith("dtype float32 -> float64; low -0.1 -> -0.2; high 0.1 -> 0.2")
    doc = json.loads(cli("history", "u", "--json").stdout)
    assert doc[1]["changed"] == {"dtype": ["float32", "float64"], "low": [-0.1, -0.2], "high": [0.1, 0.2]}
    assert doc[1]["params"] == {"low": -0.2, "high": 0.2}

    # an infinite bound that becomes finite
    assert cli("history", "t").stdout.splitlines()[3].endswith("dtype float32 -> bfloat16; high inf -> 2")
    doc = json.loads(cli("history", "t", "--json").stdout)
    assert doc[1]["changed"] == {"dtype": ["float32", "bfloat16"], "high": ["inf", 2.0]}
    old, new = ledger.history("t")
    assert changes(old, new)["high"] == (INF, 2.0) and "low" not in changes(old, new)

    # another distribution: its parameters as a whole, not mean -> None field by field
    line = cli("history", "switch").stdout.splitlines()[3]
    assert line.endswith("distribution normal -> uniform; params mean=0 scale=1 -> low=-1 high=1; "
                         "algorithm philox4x32-10/box-muller -> philox4x32-10/uniform")
    doc = json.loads(cli("history", "switch", "--json").stdout)
    assert doc[1]["changed"] == {
        "distribution": ["normal", "uniform"], "mean": [0.0, None], "scale": [1.0, None],
        "low": [None, -1.0], "high": [None, 1.0],
        "algorithm": ["philox4x32-10/box-muller", "philox4x32-10/uniform"],
    }
    row = list(csv.DictReader(io.StringIO(cli("history", "switch", "--csv").stdout)))[1]
    assert row["params"] == "low=-1 high=1" and row["changed"].startswith("distribution normal -> uniform")


def _strict_json(text):
    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _remade_digest(shape, dtype, algorithm, version, seed, params):
    algo = get_algorithm(algorithm, int(version))
    return digests.digest(algo.generate(tuple(shape), resolve_dtype(dtype), seed=int(seed), **params))


def test_export_round_trip(ledger, cli, tmp_path):
    made = _made(ledger)
    records = {(r.name, r.version): r for r in ledger.find()}
    assert cli("export", "-o", str(tmp_path / "all.json")).exit_code == 0
    assert cli("export", "-o", str(tmp_path / "all.csv")).exit_code == 0

    doc = _strict_json((tmp_path / "all.json").read_text(encoding="utf-8"))  # no Infinity or NaN
    assert len(doc["variables"]) == len(made)
    for v in doc["variables"]:
        record = records[(v["name"], v["version"])]
        params = {k: float(x) for k, x in v["params"].items()}
        assert params == record.params == made[(v["name"], v["version"])][0].provenance.params
        assert [v[k] for k in ("mean", "scale", "low", "high")] == [record.mean, record.scale, record.low, record.high]
        # the export alone makes the variable again
        assert _remade_digest(v["shape"], v["dtype"], v["algorithm"], v["algorithm_version"], v["seed"],
                              params) == v["digest"]

    rows = list(csv.DictReader(io.StringIO((tmp_path / "all.csv").read_text(encoding="utf-8"))))
    assert len(rows) == len(made)
    for row in rows:
        record = records[(row["name"], int(row["version"]))]
        params = {k: float(x) for k, x in (item.split("=") for item in row["params"].split())}
        assert params == record.params
        for key in ("mean", "scale", "low", "high"):
            assert (float(row[key]) if row[key] else None) == getattr(record, key)
        assert _remade_digest(json.loads(row["shape"]), row["dtype"], row["algorithm"], row["algorithm_version"],
                              row["seed"], params) == row["digest"]

    # the filter, in both formats
    doc = _strict_json(cli("export", "--distribution", "truncated_normal").stdout)
    assert doc["filter"] == {"distribution": "truncated_normal"}
    assert {v["name"] for v in doc["variables"]} == {"t", "left", "vs/truncated"}
    rows = list(csv.DictReader(io.StringIO(cli("export", "--format", "csv", "--distribution", "uniform").stdout)))
    assert [(r["name"], r["params"]) for r in rows][:2] == [("u", "low=-0.1 high=0.1"), ("u", "low=-0.2 high=0.2")]


def test_report_and_plot_for_uniform_and_truncated_normal(tmp_path):
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    from reprovar.audit import law_of, plot_variable, write_report

    ledger = reprovar.Ledger(tmp_path / "r.db")
    made = [
        reprovar.random_uniform_variable((20000,), -1.0, 3.0, name="u", seed=1, ledger=ledger),
        reprovar.truncated_normal_variable((20000,), 0.0, 1.0, name="t/one-sided", seed=2, low=1.0, high=INF,
                                           ledger=ledger),
        reprovar.truncated_normal_variable((20000,), 0.5, 2.0, dtype="bfloat16", name="t/default", seed=3,
                                           ledger=ledger),
        reprovar.variance_scaling_variable((200, 100), name="vs", seed=4, ledger=ledger),
    ]
    summary = write_report(ledger, tmp_path / "r.html")
    assert summary.line() == "4 variables: 4 verified, 0 mismatched, 0 failed; 0 shared seeds"
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    for variable in made:
        law = law_of(variable.record)
        assert law.distribution == variable.provenance.distribution
        assert law.describe() in page
        values = variable.numpy().astype(np.float64)
        assert abs(values.mean() - law.mean) < 0.05 * law.std and abs(values.std() / law.std - 1) < 0.05
        lo, hi = law.support()
        assert lo <= values.min() and values.max() <= hi
    assert law_of(made[1].record).support() == (1.0, INF)
    plot_variable(made[1].record, tmp_path / "t.svg")
    assert (tmp_path / "t.svg").read_bytes().startswith(b"<?xml")
