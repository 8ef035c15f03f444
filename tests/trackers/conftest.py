"""Real trackers without a network: an MLflow tracking store in a temporary SQLite file, and
W&B in offline mode in a temporary directory."""

from __future__ import annotations

import os
import struct

import pytest


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory):
    """A module's MLflow tracking store (``sqlite:///...``): creating one costs a second or two."""
    mlflow = pytest.importorskip("mlflow")
    directory = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{directory / 'mlflow.db'}"
    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
    if before:
        mlflow.set_tracking_uri(before)


@pytest.fixture
def experiment(mlflow_store, tmp_path):
    """A new MLflow experiment whose artifacts go under ``tmp_path``; its id."""
    import mlflow

    experiment_id = mlflow.create_experiment(f"exp-{tmp_path.name}", artifact_location=(tmp_path / "artifacts").as_uri())
    yield experiment_id
    while mlflow.active_run() is not None:
        mlflow.end_run("FAILED")


@pytest.fixture
def wandb_offline(tmp_path, monkeypatch):
    """W&B in offline mode, everything under ``tmp_path``; yields the ``wandb`` module."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    for name in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR", "WANDB_CONFIG_DIR", "WANDB_ARTIFACT_DIR"):
        path = tmp_path / name.lower()
        path.mkdir()
        monkeypatch.setenv(name, str(path))
    wandb = pytest.importorskip("wandb")
    yield wandb
    if wandb.run is not None:
        wandb.run.finish()


@pytest.fixture
def wandb_log():
    """Reads an offline run's ``run-<id>.wandb`` file: ``wandb_log(path)`` gives its records."""
    return wandb_records


def wandb_records(path):
    """The protobuf records of an offline run's ``run-<id>.wandb`` file (LevelDB log format:
    a 7-byte file header, then 32 KiB blocks of records with a 7-byte header each)."""
    from wandb.proto import wandb_internal_pb2

    data = open(path, "rb").read()
    assert data[:4] == b":W&B", data[:8]
    block, pos, pending, out = 32768, 7, b"", []
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # the block's tail is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        pending += chunk
        if kind in (1, 4):  # FULL or LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out
