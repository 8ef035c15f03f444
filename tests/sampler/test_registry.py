"""The distribution registry: what every distribution declares, and the proof that one added to
the registry alone is made, sliced, recorded, replayed, verified, chunked and planned."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import reprovar
from reprovar.distributions import REGISTRY, Distribution, get, registry
from reprovar.distributions.uniform import PhiloxUniform
from reprovar.errors import ArgumentValueError, UnknownAlgorithmError
from reprovar.ledger.models import PARAMETER_COLUMNS, variables_table

import frozen_digests  # tests/sampler/frozen_digests.py


def test_every_parameter_is_a_ledger_column():
    for d in REGISTRY.values():
        assert set(d.parameters) <= set(PARAMETER_COLUMNS), d.name
        assert set(d.optional) <= set(d.parameters) and set(d.stored_none) <= set(d.parameters)
    assert set(PARAMETER_COLUMNS) <= set(variables_table.c.keys())


def test_every_algorithm_belongs_to_its_distribution_and_has_frozen_digests():
    frozen = {(c.algorithm, c.version) for c in frozen_digests.FROZEN}
    for d in REGISTRY.values():
        for a in d.algorithms:
            assert a.distribution == d.name
            assert registry.get_algorithm(a.name, a.version) is a
            assert (a.name, a.version) in frozen, f"{a.name} v{a.version} has no frozen digests"


def test_an_unknown_distribution_names_the_known_ones():
    with pytest.raises(ArgumentValueError, match="distribution must be one of 'normal', 'uniform'"):
        get("cauchy")
    with pytest.raises(ArgumentValueError, match="distribution must be one of"):
        reprovar.random_variable("cauchy", (2,), record=False)
    with pytest.raises(UnknownAlgorithmError, match="this reprovar knows: philox4x32-10/box-muller v1"):
        registry.get_algorithm("philox4x32-10/box-muller", 2)


@pytest.mark.parametrize("params, message", [
    ({"mean": 0.0}, "normal takes parameters mean, scale; missing scale"),
    ({"mean": 0.0, "scale": 1.0, "sd": 1.0}, "normal takes parameters mean, scale; got unknown sd"),
])
def test_parameters_are_exactly_the_distributions(params, message):
    with pytest.raises(ArgumentValueError, match=message):
        reprovar.random_variable("normal", (2,), record=False, **params)


def test_the_generic_maker_equals_the_named_makers():
    pairs = [
        (reprovar.random_variable("normal", (3, 5), mean=1.0, scale=2.0, seed=4, record=False),
         reprovar.random_normal_variable((3, 5), 1.0, 2.0, seed=4, record=False)),
        (reprovar.random_variable("truncated_normal", (7,), mean=0.0, scale=1.0, seed=4, record=False),
         reprovar.truncated_normal_variable((7,), 0.0, 1.0, seed=4, record=False)),
        (reprovar.random_variable("orthogonal", (4, 6), scale=2.0, dtype="float64", seed=4, record=False),
         reprovar.orthogonal_variable((4, 6), 2.0, "float64", seed=4, record=False)),
    ]
    for a, b in pairs:
        assert a.provenance == b.provenance
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_a_whole_matrix_distribution_has_no_slices_and_no_chunks(tmp_path):
    with pytest.raises(ArgumentValueError, match="orthogonal variable's values depend on the whole variable"):
        reprovar.random_slice("orthogonal", 0, 4, scale=1.0, seed=1)
    pytest.importorskip("dask")
    from reprovar import dask as reprovar_dask

    path = tmp_path / "none.db"
    with pytest.raises(ArgumentValueError, match="cannot be made in chunks"):
        reprovar_dask.random_variable("orthogonal", (4, 4), scale=1.0, seed=1, ledger=str(path))
    assert not path.exists()  # refused before anything was recorded


def test_huge_ints_are_value_errors_for_every_distribution():
    for maker, args in [
        (reprovar.random_uniform_variable, (10**400, 10**401)),
        (reprovar.random_normal_variable, (10**400, 1.0)),
        (reprovar.truncated_normal_variable, (0.0, 10**400)),
    ]:
        with pytest.raises(ArgumentValueError, match="an int of .* bits, beyond float64's range"):
            maker((2,), *args, record=False)
    with pytest.raises(ArgumentValueError, match="gain must be a finite number, got an int"):
        reprovar.orthogonal_variable((2, 2), 10**400, record=False)


# --- a distribution added to the registry alone --------------------------------------------


@dataclasses.dataclass(frozen=True)
class _TestUniform(PhiloxUniform):
    # The uniform kernel under another name: what a new distribution module would register.
    name: str = "test/uniform-copy"
    version: int = 1
    distribution: str = "test_uniform"


def _check(params, dtype, shape):
    return get("uniform").checked(params, dtype, shape)


@pytest.fixture
def added(monkeypatch):
    d = Distribution(name="test_uniform", parameters=("low", "high"), check=_check, default=_TestUniform(),
                     summary="a test distribution")
    monkeypatch.setitem(registry.REGISTRY, d.name, d)
    monkeypatch.setitem(registry._ALGORITHMS, (d.default.name, d.default.version), d.default)
    return d


def test_a_distribution_added_to_the_registry_alone_is_made_recorded_replayed_and_verified(added, tmp_path):
    led = reprovar.Ledger(str(tmp_path / "added.db"))
    v = reprovar.random_variable("test_uniform", (4, 300), low=-2.0, high=3.0, name="t", seed=9, ledger=led)
    same = reprovar.random_uniform_variable((4, 300), -2.0, 3.0, seed=9, record=False)
    assert v.numpy().tobytes() == same.numpy().tobytes()
    assert v.provenance.distribution == "test_uniform" and v.provenance.params == {"low": -2.0, "high": 3.0}
    piece = reprovar.random_slice("test_uniform", 250, 950, low=-2.0, high=3.0, seed=9)
    assert piece.tobytes() == v.numpy().reshape(-1)[250:950].tobytes()
    record = led.get("t")
    assert (record.distribution, record.algorithm) == ("test_uniform", "test/uniform-copy")
    assert record.params == {"low": -2.0, "high": 3.0}
    assert reprovar.replay("t", ledger=led).numpy().tobytes() == v.numpy().tobytes()
    assert [r.name for r in led.find(distribution="test_uniform")] == ["t"]
    summary = led.verify()
    assert summary.ok and (summary.verified, summary.mismatched, summary.failed) == (1, 0, 0), summary.line()
    led.close()


def test_a_distribution_added_to_the_registry_alone_is_chunked_by_dask(added):
    pytest.importorskip("dask")
    import dask

    import reprovar.dask

    v = reprovar.dask.random_variable("test_uniform", (5, 7), low=0.0, high=1.0, seed=2, chunks=3, record=False)
    with dask.config.set(scheduler="synchronous"):  # the registry entry lives in this process only
        values = v.array.compute()
    assert values.tobytes() == reprovar.random_uniform_variable((5, 7), 0.0, 1.0, seed=2, record=False).numpy().tobytes()


def test_a_distribution_added_to_the_registry_alone_is_planned_by_the_adapters(added):
    from reprovar.recipes import Draw

    try:
        from reprovar.adapter import Planned, check_planned, generate
    except ImportError:  # before the adapters' base had its name
        from reprovar.modelinit import Planned, check_planned, generate

    draw = Draw("test_uniform", {"low": -1.0, "high": 1.0})
    planned = Planned("w", (3, 4), np.dtype("float32"), draw)
    check_planned(planned)
    [made] = generate([planned], seed=5)
    assert made.values.min() >= -1.0 and made.values.max() < 1.0
    with pytest.raises(ArgumentValueError, match="low must be < high"):
        check_planned(Planned("w", (3, 4), np.dtype("float32"), Draw("test_uniform", {"low": 1.0, "high": 0.0})))


def test_the_audit_has_no_density_for_a_distribution_without_a_law(added):
    from reprovar.audit.densities import make_law
    from reprovar.errors import ReprovarError

    assert added.law is None
    with pytest.raises(ReprovarError, match="no density for distribution 'test_uniform'; known: normal, truncated_normal, uniform"):
        make_law("test_uniform", {"low": 0.0, "high": 1.0})
    assert math.isclose(make_law("uniform", {"low": 0.0, "high": 2.0}).mean, 1.0)


def test_documented_import_paths_are_kept():
    # The layout moved these; their documented paths re-export the same objects.
    import reprovar.adapter
    import reprovar.audit.errors
    import reprovar.algorithms
    import reprovar.distributions.variance_scaling
    import reprovar.modelinit
    import reprovar.region
    import reprovar.sampler.region
    import reprovar.validation
    import reprovar.variance_scaling

    assert reprovar.algorithms.get_algorithm is registry.get_algorithm
    assert reprovar.algorithms.DEFAULT_ALGORITHM is get("normal").default
    assert reprovar.region.make_region is reprovar.sampler.region.make_region
    assert reprovar.variance_scaling.resolve is reprovar.distributions.variance_scaling.resolve
    assert reprovar.modelinit.Planned is reprovar.adapter.Planned
    assert reprovar.validation.check_location_scale is reprovar.distributions.check_location_scale
    assert reprovar.audit.errors.MissingExtraError is reprovar.errors.MissingExtraError
