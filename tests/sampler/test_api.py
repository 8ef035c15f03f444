"""The public entry point: Keras' signature and meaning, a numpy-backed Variable, OS-drawn seeds."""

from __future__ import annotations

import random

import ml_dtypes
import numpy as np
import pytest

import reprovar
from reprovar.algorithms import DEFAULT_ALGORITHM


def rnv(*args, **kwargs):
    return reprovar.random_normal_variable(*args, record=False, **kwargs)


def test_keras_signature_and_defaults():
    v = rnv(shape=(2, 3), mean=0.0, scale=1.0, seed=11)
    assert isinstance(v, reprovar.Variable)
    assert v.shape == (2, 3) and v.dtype == np.float32  # Keras' floatx
    assert v.numpy().shape == (2, 3) and v.numpy().dtype == np.float32
    assert np.asarray(v).tobytes() == v.numpy().tobytes()
    assert v.seed == 11 and v.size == 6 and v.nbytes == 24


def test_positional_arguments_in_keras_order():
    v = reprovar.random_normal_variable((4,), 3.0, 0.0, "float64", "pos", 5, record=False)
    assert v.name == "pos" and v.dtype == np.float64 and v.seed == 5
    assert (v.numpy() == 3.0).all()  # scale 0: every element is the mean


def test_values_equal_the_algorithm_with_mean_and_scale_applied():
    v = rnv((7, 9), -2.0, 3.0, dtype="float64", seed=8)
    expected = DEFAULT_ALGORITHM.generate((7, 9), np.dtype("float64"), seed=8, mean=-2.0, scale=3.0)
    assert v.numpy().tobytes() == expected.tobytes()
    z = DEFAULT_ALGORITHM.generate((7, 9), np.dtype("float64"), seed=8, mean=0.0, scale=1.0)
    assert v.numpy().tobytes() == (-2.0 + 3.0 * z).tobytes()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", np.float32, np.dtype("float64"), ml_dtypes.bfloat16])
def test_dtypes_by_name_or_object(dtype):
    v = rnv((3, 5), 0.0, 1.0, dtype=dtype, seed=1)
    assert v.dtype == np.dtype(dtype)
    assert np.isfinite(v.numpy().astype(np.float64)).all()


def test_repr_in_the_spirit_of_keras():
    v = rnv((2, 3), 0.0, 1.0, name="w", seed=3)
    text = repr(v)
    assert text.startswith("<reprovar.Variable 'w' shape=(2, 3) dtype=float32, numpy=")
    assert str(v.numpy()[0, 0])[:5] in text


def test_unnamed_variables_get_unique_keras_style_names():
    names = [rnv((1,), 0.0, 1.0, seed=1).name for _ in range(3)]
    assert len(set(names)) == 3
    assert all(n == "Variable" or n.startswith("Variable_") for n in names)


def test_seed_none_draws_a_64_bit_seed_without_touching_global_random_state():
    np_state = np.random.get_state()
    py_state = random.getstate()
    seeds = {rnv((4,), 0.0, 1.0).seed for _ in range(20)}
    assert np.random.get_state()[1].tobytes() == np_state[1].tobytes()
    assert random.getstate() == py_state
    assert len(seeds) == 20 and all(0 <= s < 2**64 for s in seeds)
    assert max(seeds) >= 2**60  # drawn from all 64 bits, not from a 32-bit source


def test_seed_none_variable_is_remade_by_its_recorded_seed():
    v = rnv((100,), 1.0, 2.0)
    again = rnv((100,), 1.0, 2.0, seed=v.seed)
    assert again.numpy().tobytes() == v.numpy().tobytes()


def test_provenance_names_the_algorithm_and_parameters():
    v = rnv((5,), 0.25, 4.0, seed=99)
    p = v.provenance
    assert (p.algorithm, p.algorithm_version) == (DEFAULT_ALGORITHM.name, DEFAULT_ALGORITHM.version)
    assert (p.seed, p.mean, p.scale, p.distribution, p.seed_source) == (99, 0.25, 4.0, "normal", "user")
    assert rnv((5,), 0.25, 4.0).provenance.seed_source == "os"


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), 5, [2, 2], (np.int64(3), 2)])
def test_shapes_numpy_accepts(shape):
    v = rnv(shape, 0.0, 1.0, seed=1)
    assert v.shape == np.empty(shape).shape


def test_numpy_integer_and_float_parameters():
    v = rnv((3,), np.float32(1.5), np.int64(2), seed=np.uint64(2**64 - 1))
    assert v.seed == 2**64 - 1
    assert v.numpy().tobytes() == rnv((3,), 1.5, 2.0, seed=2**64 - 1).numpy().tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_slice_equals_the_same_elements_of_the_whole_variable(dtype):
    whole = rnv((37, 101), -1.0, 3.0, dtype=dtype, seed=2**63 + 5).numpy().reshape(-1)
    for start, stop in [(0, 0), (0, 1), (1000, 1024), (1023, 3737), (17, 3737)]:
        piece = reprovar.random_normal_slice(start, stop, -1.0, 3.0, dtype, seed=2**63 + 5)
        assert piece.dtype == whole.dtype and piece.tobytes() == whole[start:stop].tobytes()
