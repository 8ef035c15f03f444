"""Bad input gets a clear error naming the parameter and what it accepts; good input a correct variable."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reprovar
from reprovar.algorithms import DEFAULT_ALGORITHM
from reprovar.errors import ArgumentTypeError, ArgumentValueError, ReprovarError
from reprovar.validation import SUPPORTED_DTYPES, physical_memory_bytes, resolve_dtype


def rnv(shape=(2, 3), mean=0.0, scale=1.0, dtype=None, name=None, seed=1):
    return reprovar.random_normal_variable(shape, mean, scale, dtype, name, seed, record=False)


CASES = [
    # (arguments, error class, fragments the message must contain)
    (dict(shape=(2, -1)), ArgumentValueError, ["shape[1]", "non-negative int", "-1"]),
    (dict(shape=(2, 1.5)), ArgumentTypeError, ["shape[1]", "non-negative int", "float"]),
    (dict(shape=(True, 2)), ArgumentTypeError, ["shape[0]", "bool"]),
    (dict(shape="23"), ArgumentTypeError, ["shape", "tuple of non-negative ints", "str"]),
    (dict(shape=None), ArgumentTypeError, ["shape", "NoneType"]),
    (dict(shape=(2**40, 2**40)), ArgumentValueError, ["shape", "4835703278458516698824704 bytes"]),
    (dict(mean=float("nan")), ArgumentValueError, ["mean", "finite", "nan"]),
    (dict(mean=float("inf")), ArgumentValueError, ["mean", "finite", "inf"]),
    (dict(scale=float("-inf")), ArgumentValueError, ["scale", "finite"]),
    (dict(scale=-0.5), ArgumentValueError, ["scale", ">= 0", "-0.5"]),
    (dict(mean="0"), ArgumentTypeError, ["mean", "real number", "str"]),
    (dict(scale=None), ArgumentTypeError, ["scale", "real number", "NoneType"]),
    (dict(mean=True), ArgumentTypeError, ["mean", "bool"]),
    (dict(mean=1e39, dtype="float32"), ArgumentValueError, ["mean", "float32", "3.402823e+38"]),
    (dict(scale=1e39, dtype="bfloat16"), ArgumentValueError, ["scale", "float32"]),
    (dict(dtype="int32"), ArgumentValueError, ["dtype", "'int32'", "'float32'", "'float64'", "'float16'", "'bfloat16'"]),
    (dict(dtype="float8"), ArgumentValueError, ["dtype", "supported"]),
    (dict(dtype=3.5), ArgumentTypeError, ["dtype", "supported"]),
    (dict(seed=-1), ArgumentValueError, ["seed", "[0, 2**64)", "-1"]),
    (dict(seed=2**64), ArgumentValueError, ["seed", "[0, 2**64)"]),
    (dict(seed=True), ArgumentTypeError, ["seed", "bool"]),
    (dict(seed=1.0), ArgumentTypeError, ["seed", "int", "float"]),
    (dict(seed="7"), ArgumentTypeError, ["seed", "str"]),
    (dict(name=7), ArgumentTypeError, ["name", "str", "int"]),
    (dict(name=""), ArgumentValueError, ["name", "non-empty"]),
]


@pytest.mark.parametrize("kwargs,error,fragments", CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_bad_input_names_the_parameter_and_what_is_accepted(kwargs, error, fragments):
    with pytest.raises(error) as info:
        rnv(**kwargs)
    assert isinstance(info.value, ReprovarError)
    assert isinstance(info.value, TypeError if error is ArgumentTypeError else ValueError)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_size_beyond_this_machines_memory_is_refused_before_allocating():
    ram = physical_memory_bytes()
    n = ram // 8 + 1  # float64: one element more than fits in RAM, far less than intp's limit
    with pytest.raises(ArgumentValueError) as info:
        rnv(shape=(n,), dtype="float64")
    assert f"{n * 8} bytes" in str(info.value) and "memory" in str(info.value)


def test_recording_switch_and_error_policy_are_validated():
    with pytest.raises(ReprovarError) as info:
        reprovar.random_normal_variable((2,), 0.0, 1.0, seed=1, on_record_error="ignore")
    assert "on_record_error" in str(info.value)


# --- fuzzing: every input either makes a correct variable or raises one of those errors ---------

small_dims = st.integers(-2, 40)
bad_dims = st.one_of(st.floats(allow_nan=True), st.text(max_size=2), st.none(), st.booleans())
shapes = st.one_of(
    st.lists(small_dims, max_size=4).map(tuple),
    st.lists(st.one_of(small_dims, bad_dims), min_size=1, max_size=3).map(tuple),
    st.tuples(st.just(2**33), st.just(2**33), st.integers(1, 3)),  # too large to exist
    st.integers(-3, 50),
    st.one_of(st.none(), st.text(max_size=3), st.floats()),
)
reals = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**40), 10**40),
    st.booleans(),
    st.none(),
    st.text(max_size=2),
)
dtypes = st.one_of(st.none(), st.sampled_from([*SUPPORTED_DTYPES, "int8", "float128", "F", "", "complex64"]), st.integers())
names = st.one_of(st.none(), st.text(max_size=20), st.integers(), st.binary(max_size=3))
seeds = st.one_of(st.none(), st.integers(-(2**70), 2**70), st.booleans(), st.floats(), st.text(max_size=3))


@settings(max_examples=400, deadline=None)
@given(shape=shapes, mean=reals, scale=reals, dtype=dtypes, name=names, seed=seeds)
def test_fuzzed_arguments_make_a_correct_variable_or_a_named_error(shape, mean, scale, dtype, name, seed):
    try:
        v = rnv(shape, mean, scale, dtype, name, seed)
    except (ArgumentTypeError, ArgumentValueError) as error:
        message = str(error)
        assert any(p in message for p in ("shape", "mean", "scale", "dtype", "name", "seed")), message
        return
    # Accepted: then it must be exactly what the algorithm makes for these arguments.
    expected_dtype = resolve_dtype(dtype)
    assert v.dtype == expected_dtype
    assert v.shape == np.empty(shape if not isinstance(shape, int) else (shape,), np.uint8).shape
    assert v.seed == (seed if seed is not None else v.seed)
    assert name is None or v.name == name
    assert math.isfinite(float(mean)) and float(scale) >= 0
    expected = DEFAULT_ALGORITHM.generate(v.shape, expected_dtype, seed=v.seed, mean=float(mean), scale=float(scale))
    assert v.numpy().tobytes() == expected.tobytes()


def test_name_longer_than_any_ledger_index_is_refused_before_making():
    with pytest.raises(ArgumentValueError) as info:
        rnv(name="x" * 256)
    assert "name" in str(info.value) and "255" in str(info.value)
    assert rnv(name="x" * 255).name == "x" * 255


def test_recording_options_are_checked_before_the_variable_is_made(monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("generated before the arguments were checked")

    monkeypatch.setattr(DEFAULT_ALGORITHM.__class__, "generate", must_not_run)
    for kwargs in (dict(record="yes"), dict(on_record_error="ignore"), dict(ledger=3.5)):
        with pytest.raises(ReprovarError):
            reprovar.random_normal_variable((2,), 0.0, 1.0, seed=1, **kwargs)
    with pytest.raises(ArgumentValueError, match="on_record_error"):
        reprovar.random_normal_variable((2,), 0.0, 1.0, seed=1, record=False, on_record_error="x")


@pytest.mark.parametrize(
    "start,stop,error,fragment",
    [(-1, 5, ArgumentValueError, "start"), (5, 2, ArgumentValueError, "stop must be >= start"), (0, 2.0, ArgumentTypeError, "stop")],
)
def test_slice_bounds_are_checked(start, stop, error, fragment):
    with pytest.raises(error, match=fragment):
        reprovar.random_normal_slice(start, stop, 0.0, 1.0, seed=1)


def test_slice_needs_an_explicit_seed():
    with pytest.raises(ArgumentTypeError, match="seed"):
        reprovar.random_normal_slice(0, 4, 0.0, 1.0, seed=None)
