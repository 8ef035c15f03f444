"""reprovar and a real W&B in offline mode (``WANDB_MODE=offline``, no network)."""

from __future__ import annotations

import glob
import json
import os

import keras
import numpy as np
import pytest

import reprovar
import reprovar.keras as rk
import reprovar.wandb
from reprovar.trackers import ARTIFACT_PATH, reprovar_run_of


def test_offline_run_is_linked_and_holds_the_config_and_the_artifact(wandb_offline, wandb_log, tmp_path):
    wandb = wandb_offline
    led = reprovar.Ledger(tmp_path / "l.db")
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")], name="net")
    run = wandb.init(project="proj")
    initialized = rk.initialize(m, seed=11, ledger=led, log_to_trackers=True)
    run_id, run_dir = run.id, os.path.dirname(run.dir)
    run.finish()
    [link] = led.links()
    assert (link.tracker, link.tracker_run_id, link.experiment) == ("wandb", run_id, "proj")
    assert reprovar_run_of(wandb_run=f"proj/{run_id}", ledger=led) == link.run_id
    assert reprovar_run_of(wandb_run=f"some-team/proj/{run_id}", ledger=led) == link.run_id  # synced later
    assert led.verify().ok

    # The run file, as `wandb sync` uploads it.
    document = json.loads(open(os.path.join(run_dir, "files", *ARTIFACT_PATH.split("/"))).read())
    assert document["model_seed"] == 11 and document["reprovar_run_id"] == link.run_id
    assert [(v["name"], v["row_id"], v["digest"]) for v in document["variables"]] == [
        (r.name, r.id, r.digest) for r in initialized.values()]
    # The config and the artifact, in the run's own log.
    [log] = glob.glob(os.path.join(run_dir, "run-*.wandb"))
    records = wandb_log(log)
    config = {}
    for r in records:  # config updates, and the run record's config (updates may be folded into it)
        kind = r.WhichOneof("record_type")
        items = r.config.update if kind == "config" else r.run.config.update if kind == "run" else []
        config.update({item.key: json.loads(item.value_json) for item in items})
    assert config.get("reprovar") == {"ledger": led.location, "run_id": link.run_id, "model_seed": 11}
    artifacts = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    [artifact] = [a for a in artifacts if a.type == reprovar.wandb.ARTIFACT_TYPE]
    assert artifact.name == f"reprovar-variables-{run_id}"
    assert [entry.path for entry in artifact.manifest.contents] == [ARTIFACT_PATH]


def test_restore_by_wandb_run_and_a_failing_tracker(wandb_offline, tmp_path, monkeypatch):
    wandb = wandb_offline
    led = reprovar.Ledger(tmp_path / "l.db")
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")], name="net")
    run = wandb.init(project="proj")
    rk.initialize(m, seed=3, ledger=led)  # linked when its transaction began
    initial = [w.copy() for w in m.get_weights()]

    def refuse(*args, **kwargs):
        raise RuntimeError("W&B refused the artifact")

    monkeypatch.setattr(run, "log_artifact", refuse)
    with pytest.raises(reprovar.errors.TrackerError) as failure:
        reprovar.wandb.log_variables(ledger=led)
    assert ("logged: config reprovar.ledger, reprovar.run_id, run file reprovar/variables.json; "
            f"not logged: artifact reprovar-variables-{run.id}") in str(failure.value)
    path = f"{run.id}"
    run.finish()
    assert led.verify().ok and len(led.links()) == 1
    m.set_weights([w * 0 for w in initial])
    rk.restore(m, wandb_run=path, ledger=led)
    assert all(np.array_equal(a, b) for a, b in zip(initial, m.get_weights()))
