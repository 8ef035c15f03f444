"""reprovar and a real MLflow (a tracking store in a temporary SQLite file, no network)."""

from __future__ import annotations

import json

import keras
import mlflow
import numpy as np
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import reprovar
import reprovar.keras as rk
import reprovar.mlflow
from reprovar.cli import main
from reprovar.errors import ArgumentValueError, TrackerError, UnknownTrackerRunError
from reprovar.trackers import ARTIFACT_PATH, reprovar_run_of


def model(name="mlp"):
    return keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(5, name="hidden"),
        keras.layers.Dense(2, name="out", bias_initializer="random_normal"),
    ], name=name)


def weights(m):
    return [w.copy() for w in m.get_weights()]


def test_the_active_run_is_linked_when_the_reprovar_run_starts(experiment, mlflow_store, tmp_path):
    led = reprovar.Ledger(tmp_path / "l.db")
    with mlflow.start_run(experiment_id=experiment) as run:
        v = reprovar.random_normal_variable((3,), 0.0, 1.0, name="w", seed=1, ledger=led)
    [link] = led.links(v.record.run_id)
    assert (link.tracker, link.tracker_run_id, link.experiment, link.url) == (
        "mlflow", run.info.run_id, experiment, mlflow_store)
    assert reprovar_run_of(mlflow_run=run.info.run_id, ledger=led) == v.record.run_id
    assert led.verify().ok


def test_runs_started_later_are_linked_by_the_next_transaction(experiment, tmp_path):
    led = reprovar.Ledger(tmp_path / "l.db")
    first = reprovar.random_normal_variable((3,), 0.0, 1.0, name="early", seed=1, ledger=led)
    assert led.links() == []  # no MLflow run was active when the reprovar run started
    ids = []
    for _ in range(2):  # two tracker runs, one after the other, in one reprovar run
        with mlflow.start_run(experiment_id=experiment) as run:
            ids.append(run.info.run_id)
            rk.initialize(model(), seed=4, ledger=led)
    assert [link.tracker_run_id for link in led.links(first.record.run_id)] == ids
    # Linking again (explicitly) adds nothing.
    with mlflow.start_run(run_id=ids[0]):
        assert [link.id for link in reprovar.link_run(ledger=led)] == [led.links()[0].id]
    assert len(led.links()) == 2


def test_log_variables_reads_back_and_restore_by_mlflow_run_is_bit_for_bit(experiment, tmp_path):
    led = reprovar.Ledger(tmp_path / "l.db")
    m = model()
    with mlflow.start_run(experiment_id=experiment) as run:
        initialized = rk.initialize(m, seed=2024, ledger=led, log_to_trackers=True)
    initial = weights(m)
    data = MlflowClient().get_run(run.info.run_id).data
    run_id = reprovar_run_of(mlflow_run=run.info.run_id, ledger=led)
    assert data.params["reprovar.model_seed"] == "2024"
    assert data.tags["reprovar.run_id"] == str(run_id) and data.tags["reprovar.ledger"] == led.location
    path = MlflowClient().download_artifacts(run.info.run_id, ARTIFACT_PATH, str(tmp_path))
    document = json.loads(open(path).read())
    assert document["reprovar_run_id"] == run_id and document["model_seed"] == 2024
    recorded = {r.name: r for r in led.find(run=run_id)}
    assert {v["name"] for v in document["variables"]} == set(recorded) == set(initialized)
    for v in document["variables"]:
        r = recorded[v["name"]]
        assert (v["row_id"], v["version"], v["digest"], v["seed"], v["seal"], v["algorithm"]) == (
            r.id, r.version, r.digest, r.seed, r.seal, r.algorithm)
        assert v["distribution"] == r.distribution and v["params"] == {k: float(x) for k, x in r.params.items()}
    # A sweep: the next MLflow run of this process records later versions of the same names;
    # each MLflow run restores its own.
    other = model()
    with mlflow.start_run(experiment_id=experiment) as second:
        rk.initialize(other, seed=7, ledger=led)
    assert reprovar_run_of(mlflow_run=second.info.run_id, ledger=led) == run_id
    for tracker_run, expected in ((run, initial), (second, weights(other))):
        m.set_weights([w + 1 for w in initial])
        restored = rk.restore(m, mlflow_run=tracker_run.info.run_id, ledger=led)
        assert all(np.array_equal(a, b) for a, b in zip(expected, weights(m)))
        assert {r.version for r in restored.values()} == ({1} if tracker_run is run else {2})


def test_unknown_mlflow_run_is_a_clear_error_and_changes_nothing(experiment, tmp_path):
    led = reprovar.Ledger(tmp_path / "l.db")
    m = model()
    rk.initialize(m, seed=1, ledger=led)
    before, links, count = weights(m), led.links(), led.count()
    unknown = "0123456789abcdef0123456789abcdef"
    with pytest.raises(UnknownTrackerRunError, match=rf"MLflow run '{unknown}' was not found .*nothing was linked"):
        reprovar.link_run(mlflow_run=unknown, ledger=led)
    with pytest.raises(UnknownTrackerRunError, match="not found"):
        reprovar.mlflow.log_variables(unknown, ledger=led)
    with pytest.raises(UnknownTrackerRunError, match=rf"no reprovar run in ledger .* is linked to MLflow run '{unknown}'"):
        rk.restore(m, mlflow_run=unknown, ledger=led)
    assert led.links() == links and led.count() == count
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(m)))
    out = CliRunner().invoke(main, ["replay", "mlp/hidden/kernel", "--mlflow-run", unknown, "--ledger", led.location])
    assert out.exit_code == 1 and out.output.startswith("Error: no reprovar run in ledger"), out.output


def test_a_tracker_that_fails_while_logging_leaves_the_ledger_consistent(experiment, tmp_path, monkeypatch):
    led = reprovar.Ledger(tmp_path / "l.db")

    def broken(self, run_id, text, artifact_file):
        raise OSError("artifact store is full")

    monkeypatch.setattr(MlflowClient, "log_text", broken)
    m = model()
    with mlflow.start_run(experiment_id=experiment) as run:
        with pytest.raises(TrackerError) as failure:
            rk.initialize(m, seed=5, ledger=led, log_to_trackers=True)
    message = str(failure.value)
    assert "failed at artifact reprovar/variables.json (OSError: artifact store is full)" in message
    assert "logged: tags reprovar.ledger, reprovar.run_id, param reprovar.model_seed; not logged: artifact" in message
    assert "is consistent: no variable row changed, and run 1 is linked to MLflow run" in message
    data = MlflowClient().get_run(run.info.run_id).data
    assert data.params["reprovar.model_seed"] == "5" and data.tags["reprovar.run_id"] == "1"
    summary = led.verify()
    assert summary.ok and summary.total == 3 and len(summary.links) == 1


def test_switches_for_automatic_logging(experiment, tmp_path, monkeypatch):
    led = reprovar.Ledger(tmp_path / "l.db")
    m = model()
    before = weights(m)
    with pytest.raises(ArgumentValueError, match="log_to_trackers=True, but no MLflow or W&B run is active"):
        rk.initialize(m, seed=1, ledger=led, log_to_trackers=True)
    assert led.count() == 0 and all(np.array_equal(a, b) for a, b in zip(before, weights(m)))
    monkeypatch.setenv("REPROVAR_LOG_TO_TRACKERS", "1")
    with mlflow.start_run(experiment_id=experiment) as run:
        rk.initialize(m, seed=9, ledger=led)
        rk.initialize(model("other"), seed=9, ledger=led, log_to_trackers=False)
    assert MlflowClient().get_run(run.info.run_id).data.params["reprovar.model_seed"] == "9"
    document = json.loads(open(MlflowClient().download_artifacts(run.info.run_id, ARTIFACT_PATH, str(tmp_path))).read())
    assert {v["name"].split("/")[0] for v in document["variables"]} == {"mlp"}
    monkeypatch.setenv("REPROVAR_LOG_TO_TRACKERS", "maybe")
    with pytest.raises(ArgumentValueError, match="REPROVAR_LOG_TO_TRACKERS='maybe' is not understood"):
        rk.initialize(m, seed=1, ledger=led)


def test_cli_from_the_mlflow_run_back_to_the_variables(experiment, tmp_path):
    led = reprovar.Ledger(tmp_path / "l.db")
    with mlflow.start_run(experiment_id=experiment) as run:
        rk.initialize(model(), seed=3, ledger=led)
    with mlflow.start_run(experiment_id=experiment) as second:
        rk.initialize(model(), seed=4, ledger=led)  # version 2 of each name, in the same reprovar run
    rid = run.info.run_id
    runner = CliRunner()
    shown = json.loads(runner.invoke(main, ["runs", "--mlflow-run", rid, "--json", "--ledger", led.location]).output)
    assert [r["id"] for r in shown] == [1]
    assert [link["tracker_run_id"] for link in shown[0]["tracker_links"]] == [rid, second.info.run_id]
    assert len(shown[0]["variables_created"]) == 6  # the whole reprovar run, both MLflow runs
    found = json.loads(runner.invoke(main, ["find", "--run-of", f"mlflow:{rid}", "--name", "mlp/hidden/*",
                                            "--json", "--ledger", led.location]).output)
    assert [(r["name"], r["version"]) for r in found] == [("mlp/hidden/kernel", 1)]  # the MLflow run's own
    out = runner.invoke(main, ["replay", "mlp/out/kernel", "--mlflow-run", rid, "--json", "--ledger", led.location])
    assert out.exit_code == 0 and json.loads(out.output)["version"] == 1, out.output
    table = runner.invoke(main, ["runs", "show", "1", "--ledger", led.location]).output
    assert f"mlflow {rid} (experiment {experiment}" in table


def test_automatic_links_on_every_backend(experiment, ledger):
    """The run row's link and a later block's link are written by the two write paths
    (the run's transaction, and a transaction() block's own) on each backend."""
    with mlflow.start_run(experiment_id=experiment) as first:
        v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=ledger)
    with mlflow.start_run(experiment_id=experiment) as second:
        with reprovar.transaction(ledger):
            w = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=2)
    links = ledger.links()
    assert [(link.tracker_run_id, link.after_variable_id) for link in links] == [
        (first.info.run_id, None), (second.info.run_id, v.record.id)]
    assert ledger.verify().ok
    assert reprovar.trackers.restore_selection(None, second.info.run_id, None, ledger)[1] == (v.record.id, None)
    assert reprovar.trackers.restore_selection(None, first.info.run_id, None, ledger)[1] == (0, v.record.id)
    assert w.record.run_id == v.record.run_id


def test_secrets_in_the_tracking_uri_are_masked(experiment, tmp_path, monkeypatch):
    led = reprovar.Ledger(tmp_path / "l.db")
    with mlflow.start_run(experiment_id=experiment):
        monkeypatch.setattr(mlflow, "get_tracking_uri", lambda: "https://me:s3cret@mlflow.example/?token=abc&x=1")
        reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
    [link] = led.links()
    assert link.url == "https://me:***@mlflow.example/?token=***&x=1"


def test_a_tracker_that_cannot_be_read_does_not_stop_recording(tmp_path, monkeypatch, mlflow_store):
    led = reprovar.Ledger(tmp_path / "l.db")

    def broken():
        raise RuntimeError("tracking state is corrupt")

    monkeypatch.setattr(mlflow, "active_run", broken)
    with pytest.warns(reprovar.errors.RecordingWarning, match="could not read the active MLflow run .*corrupt"):
        v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
    assert v.record is not None and led.links() == [] and led.verify().ok


def test_a_name_recorded_twice_for_one_tracker_run_is_not_guessed(experiment, tmp_path):
    led = reprovar.Ledger(tmp_path / "l.db")
    m = model()
    with mlflow.start_run(experiment_id=experiment) as run:
        rk.initialize(m, seed=1, ledger=led)
    rk.initialize(m, seed=2, ledger=led)  # after the MLflow run ended; no other tracker run linked
    before, count = weights(m), led.count()
    with pytest.raises(ArgumentValueError, match=r"recorded several versions of 3 name\(s\) \('mlp/hidden/kernel' "
                                                 r"versions 1, 2.*nothing was changed"):
        rk.restore(m, mlflow_run=run.info.run_id, ledger=led)
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(m))) and led.count() == count
    out = CliRunner().invoke(main, ["replay", "mlp/out/kernel", "--mlflow-run", run.info.run_id, "--ledger", led.location])
    assert out.exit_code == 1 and "several versions of 1 name(s) ('mlp/out/kernel' versions 1, 2)" in out.output


def test_a_torch_model_built_under_mlflow_runs_is_restored_by_each_run(experiment, tmp_path):
    import torch

    import reprovar.torch as rt

    led = reprovar.Ledger(tmp_path / "l.db")
    states, ids = [], []
    for seed in (1, 2):  # a sweep: one model per MLflow run, the same names
        with mlflow.start_run(experiment_id=experiment) as run:
            net = rt.build(lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3)), seed=seed,
                           ledger=led, log_to_trackers=True)
        ids.append(run.info.run_id)
        states.append({k: v.clone() for k, v in net.state_dict().items()})
        assert MlflowClient().get_run(run.info.run_id).data.params["reprovar.model_seed"] == str(seed)
    for run_id, state in zip(ids, states):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(1.0)
        rt.restore_module(net, ledger=led, mlflow_run=run_id)
        assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(UnknownTrackerRunError):
        rt.restore_module(net, ledger=led, mlflow_run="0" * 32)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
