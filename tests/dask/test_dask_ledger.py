"""Replay and verification on a real two-process cluster: Ledger.verify(client=...), the CLI's
--scheduler, tampered rows, and Zarr stores written by the workers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr
from click.testing import CliRunner
from sqlalchemy import delete, update

import reprovar
import reprovar.dask
from reprovar.cli import main
from reprovar.errors import DigestMismatchError
from reprovar.ledger.models import variables_table
from reprovar.ledger.seal import compute_seal


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "ledger.db")


@pytest.fixture
def address(client):
    return client.scheduler.address


def _tamper(path, name, reseal=True, **values):
    # Edit a row behind reprovar's back; with reseal, recompute its (unkeyed) seal too, as
    # someone who can write the database can: then only the values give it away.
    led = reprovar.Ledger(path)
    t = variables_table
    with led.engine.begin() as c:
        c.execute(update(t).where(t.c.name == name).values(**values))
    if reseal:
        record = led.get(name)
        with led.engine.begin() as c:
            c.execute(update(t).where(t.c.id == record.id).values(
                seal=compute_seal(record.__dict__, record.previous_seal, None)))
    led.close()


def _cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_replay_in_any_chunks(client, path):
    v = reprovar.random_normal_variable((31, 9), 1.0, 3.0, name="w", seed=4, dtype="float16", ledger=path)
    for chunks in ("auto", 4, ((30, 1), (2, 7)), (1, 9)):
        a = reprovar.dask.replay("w", ledger=path, chunks=chunks)
        assert a.compute().tobytes() == v.numpy().tobytes() and a.dtype == v.dtype
    a = reprovar.dask.replay(id=v.record.id, ledger=path, chunks=5, verify=True, client=client)
    assert a.compute().tobytes() == v.numpy().tobytes()


def test_replay_of_every_distribution(client, path):
    made = [
        reprovar.random_uniform_variable((30, 8), -1.0, 1.0, name="u", seed=1, dtype="bfloat16", ledger=path),
        reprovar.truncated_normal_variable((30, 8), 0.0, 1.0, name="t", seed=2, high=float("inf"), low=3.0, ledger=path),
        reprovar.variance_scaling_variable((30, 8), 1.0, "fan_in", "untruncated_normal", name="n", seed=3, ledger=path),
    ]
    for v in made:
        a = reprovar.dask.replay(v.name, ledger=path, chunks=(7, 3), verify=True)
        assert a.compute().tobytes() == v.numpy().tobytes()


def test_replay_of_a_dask_variable_equals_it(client, path):
    v = reprovar.dask.random_normal_variable((1000, 1100), 0.0, 1.0, name="big", seed=2, chunks=(300, 700), ledger=path)
    replayed = reprovar.replay("big", ledger=path)  # in memory, checked against the cluster's digest
    assert replayed.numpy().tobytes() == v.array.compute().tobytes()
    assert replayed.record.digest == v.record.digest


def test_verify_on_the_cluster_counts_each_outcome(client, path):
    for i, dtype in enumerate(("float32", "float64", "float16", "bfloat16")):
        reprovar.random_normal_variable((50, 3 + i), 0.0, 1.0, name=f"w{i}", seed=i, dtype=dtype, ledger=path)
    reprovar.dask.random_normal_variable((1100, 1000), 0.0, 1.0, name="big", seed=9, chunks=(512, 999), ledger=path)
    reprovar.dask.random_uniform_variable((40, 7), -2.0, 2.0, name="u", seed=3, chunks=5, ledger=path)
    reprovar.truncated_normal_variable((40, 7), 1.0, 0.5, name="t", seed=4, low=1.2, ledger=path)
    led = reprovar.Ledger(path)
    calls = []
    summary = led.verify(client=client, progress=lambda done, total, o: calls.append((done, total, o.status)))
    assert summary.line() == "7 verified, 0 mismatched, 0 failed"
    assert calls == [(i, 7, "verified") for i in range(1, 8)]
    _tamper(path, "w1", seed=99)
    _tamper(path, "w2", algorithm="no-such-algorithm")
    _tamper(path, "w3", digest="md4:00")
    _tamper(path, "big", reseal=False, mean=0.5)
    summary = led.verify(client=client)
    assert (summary.verified, summary.mismatched, summary.failed, summary.broken_seal) == (3, 1, 2, 1)
    by_name = {o.record.name: o for o in summary.outcomes}
    assert "does not match" in by_name["w1"].detail and by_name["w1"].status == "mismatched"
    assert "no-such-algorithm" in by_name["w2"].detail and "md4" in by_name["w3"].detail
    assert by_name["big"].status == "broken_seal"
    local = led.verify()  # the same outcomes as verifying here
    assert [(o.record.name, o.status) for o in local.outcomes] == [(o.record.name, o.status) for o in summary.outcomes]
    with pytest.raises(DigestMismatchError):
        reprovar.dask.replay("w1", ledger=path, verify=True)
    reprovar.random_normal_variable((5,), 0.0, 1.0, name="c", seed=1, ledger=path)
    reprovar.random_normal_variable((5,), 0.0, 1.0, name="c", seed=2, ledger=path)
    with led.engine.begin() as c:
        c.execute(delete(variables_table).where(variables_table.c.name == "c", variables_table.c.version == 1))
    [outcome] = led.verify(["c"], client=client).outcomes
    assert outcome.status == "broken_chain" and "missing" in outcome.detail
    led.close()


def test_cli_verify_with_scheduler_reports_a_tampered_row(client, path, address):
    reprovar.random_normal_variable((64, 64), 0.0, 1.0, name="a", seed=1, ledger=path)
    reprovar.random_normal_variable((64, 64), 0.0, 1.0, name="b", seed=2, ledger=path)
    r = _cli("verify", "--all", "--scheduler", address, "--ledger", path)
    assert r.exit_code == 0 and r.stdout.strip() == "2 verified, 0 mismatched, 0 failed"
    _tamper(path, "b", mean=0.5)
    r = _cli("verify", "--all", "--scheduler", address, "--ledger", path, "--json")
    assert r.exit_code == 1
    outcomes = {o["name"]: o["status"] for o in json.loads(r.stdout)}
    assert outcomes == {"a": "verified", "b": "mismatched"}


def test_zarr_round_trip_through_the_cli(client, path, address, tmp_path):
    v = reprovar.random_normal_variable((700, 300), 0.0, 1.0, name="emb", seed=5, dtype="float64", ledger=path)
    store = str(tmp_path / "emb.zarr")
    r = _cli("replay", "emb", "--zarr", store, "--chunks", "256,-1", "--scheduler", address, "--ledger", path, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["zarr"] == store
    z = zarr.open_array(store, mode="r")
    assert z.chunks == (256, 300) and z.dtype == np.float64
    assert z[:].tobytes() == v.numpy().tobytes()
    assert z.attrs["reprovar"]["digest"] == v.record.digest
    again = CliRunner().invoke(main, ["replay", "emb", "--zarr", store, "--ledger", path])
    assert again.exit_code == 1 and "already exists" in again.output
    _tamper(path, "emb", seed=6)
    bad = CliRunner().invoke(main, ["replay", "emb", "--zarr", str(tmp_path / "bad.zarr"), "--ledger", path,
                                    "--scheduler", address])
    assert bad.exit_code == 1 and "does not match" in bad.output
    assert not (tmp_path / "bad.zarr").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_zarr_gets_regular_chunks_from_irregular_ones(client, path, tmp_path):
    v = reprovar.random_normal_variable((10, 4), 0.0, 1.0, name="w", seed=5, ledger=path)
    reprovar.dask.write_zarr("w", tmp_path / "w.zarr", ledger=path, chunks=((3, 5, 2), (1, 3)), client=client)
    z = zarr.open_array(str(tmp_path / "w.zarr"), mode="r")
    assert z.chunks == (5, 3) and z[:].tobytes() == v.numpy().tobytes()
