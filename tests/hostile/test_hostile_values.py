"""Bad values that once slipped through: each is refused up front, with a message naming the
parameter, the same way on every backend and whatever ``on_record_error`` says."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

import reprovar
from reprovar.errors import ArgumentTypeError, ArgumentValueError
from reprovar.ledger.models import variables_table
from reprovar.variable import Provenance, Variable


def rnv(shape=(4,), mean=0.0, scale=1.0, dtype=None, name=None, **kwargs):
    kwargs.setdefault("record", False)
    return reprovar.random_normal_variable(shape, mean, scale, dtype, name, 1, **kwargs)


@pytest.mark.parametrize("dtype, mean, scale, param", [
    ("float16", 1e5, 1.0, "mean"),
    ("float16", 6e4, 1e3, "scale"),
    ("float16", 0.0, 1e4, "scale"),
    ("bfloat16", 0.0, 1e38, "scale"),
    ("float32", 0.0, 3.4e38, "scale"),
    ("float32", -3.4e38, 1e37, "scale"),
    ("float64", 0.0, 1.7e308, "scale"),
])
def test_values_beyond_the_dtype_are_refused(dtype, mean, scale, param):
    with pytest.raises(ArgumentValueError) as info:
        rnv(dtype=dtype, mean=mean, scale=scale)
    assert str(info.value).startswith(f"{param}="), str(info.value)
    assert dtype in str(info.value)
    with pytest.raises(ArgumentValueError, match=param):
        reprovar.random_normal_slice(0, 4, mean, scale, dtype, seed=1)


@pytest.mark.parametrize("dtype, mean, scale", [
    ("float16", 65000.0, 10.0),
    ("float16", -6e4, 500.0),
    ("float32", 0.0, 5e37),
    ("float64", 1e300, 1e300),
])
def test_largest_accepted_values_stay_finite(dtype, mean, scale):
    # Near the limit: accepted, and then every value is finite (the seed covers both signs).
    values = rnv(shape=(4096,), dtype=dtype, mean=mean, scale=scale).numpy()
    assert np.isfinite(values.astype(np.float64)).all()


def test_huge_int_mean_names_the_parameter():
    for param in ("mean", "scale"):
        with pytest.raises(ArgumentValueError, match=rf"^{param} must be a finite number.*1329 bits"):
            rnv(**{param: 10**400})


@pytest.mark.parametrize("shape, kind", [({2: 3}, "dict"), ({2, 3}, "set"), (frozenset({2}), "frozenset"),
                                         (iter((2, 3)), "tuple_iterator"), (np.zeros((2, 2), int), "ndarray"),
                                         (b"\x02", "bytes")])
def test_shapes_that_are_not_sequences_are_refused(shape, kind):
    with pytest.raises(ArgumentTypeError, match=rf"^shape must be a tuple of non-negative ints, got {kind}$"):
        rnv(shape=shape)


def test_zero_d_and_one_d_integer_arrays_are_shapes_as_numpy_reads_them():
    assert rnv(shape=np.array(3)).shape == np.empty(np.array(3)).shape == (3,)
    assert rnv(shape=np.array([2, 3])).shape == (2, 3)
    with pytest.raises(ArgumentTypeError, match="shape"):
        rnv(shape=np.array(2.5))


@pytest.mark.parametrize("shape, fragment", [((0, 2**62, 2**62), "more elements than numpy can index"),
                                             ((0, 2**63), "more elements than numpy can index"),
                                             ((2**32, 2**32, 0), "more elements than numpy can index"),
                                             ((3, 2**63), "bytes one array can hold")])
def test_overflowing_dimension_products_name_shape(shape, fragment):
    with pytest.raises(ArgumentValueError, match=rf"^shape=.*{fragment}"):
        rnv(shape=shape)


@pytest.mark.parametrize("name, fragment", [("w\x00", "NUL"), ("\x00", "NUL"), ("w\udc80", "lone surrogate"),
                                            ("\ud800x", "lone surrogate")])
def test_unstorable_names_are_refused_up_front_on_every_backend(ledger, name, fragment):
    for on_record_error in ("raise", "warn"):
        with pytest.raises(ArgumentValueError, match=rf"^name .*{fragment}"):
            reprovar.random_normal_variable((2,), 0.0, 1.0, name=name, seed=1, ledger=ledger,
                                            on_record_error=on_record_error)
    with pytest.raises(ArgumentValueError, match=rf"^name .*{fragment}"):
        rnv(name=name)  # not recorded: the same refusal
    # A Variable built by other code is refused by the ledger itself, identically.
    made = Variable(np.zeros(2, np.float32), name, Provenance("philox4x32-10/box-muller", 1, seed=1, mean=0.0, scale=1.0))
    with pytest.raises(ArgumentValueError, match=rf"^name .*{fragment}"):
        ledger.record(made)
    with ledger.connect() as c:
        assert c.execute(select(func.count()).select_from(variables_table)).scalar_one() == 0


def test_names_with_other_characters_still_work(ledger):
    for name in ("ünï\nline", "tab\there", "emoji 🎲", "a" * 255):
        v = reprovar.random_normal_variable((2,), 0.0, 1.0, name=name, seed=1, ledger=ledger)
        assert ledger.get(name).id == v.record.id
