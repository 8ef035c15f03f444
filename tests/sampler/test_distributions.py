"""The uniform and truncated-normal algorithms: layout, pieces, threads, frozen values, bounds in
every format, bits per value, and the variance-scaling resolver."""

from __future__ import annotations

import math

import ml_dtypes
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reprovar
from reprovar.sampler.kernels import truncated_normal as dk, uniform as dku
from reprovar.sampler import layout
from reprovar.algorithms import PARALLEL_MIN_ELEMENTS, get_algorithm
from reprovar.sampler.bits import philox4x32
from reprovar.distributions import truncnorm_constants, uniform_constants
from reprovar.variance_scaling import TRUNCATED_STDDEV, compute_fans, resolve

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
F16, BF16 = np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
DTYPES = [F32, F64, F16, BF16]
UNIFORM = get_algorithm("philox4x32-10/uniform", 1)
TRUNCNORM = get_algorithm("philox4x32-10/truncated-normal", 1)
INF = math.inf

# (algorithm, params) covering every method: uniform; truncated normal central (+-2 sigma),
# general inversion (one-sided far interval, lower side, half line), offset solve (far),
# float64 arithmetic for a narrow interval.
CASES = {
    "uniform": (UNIFORM, {"low": -1.5, "high": 2.25}),
    "tn-central": (TRUNCNORM, {"mean": 0.5, "scale": 2.0, "low": -3.5, "high": 4.5}),
    "tn-icdf-upper": (TRUNCNORM, {"mean": 0.0, "scale": 1.0, "low": 2.5, "high": 4.0}),
    "tn-icdf-lower": (TRUNCNORM, {"mean": 1.0, "scale": 0.5, "low": -INF, "high": 0.25}),
    "tn-far": (TRUNCNORM, {"mean": 0.0, "scale": 1.0, "low": 30.0, "high": INF}),
    "tn-narrow": (TRUNCNORM, {"mean": 0.0, "scale": 1.0, "low": 0.5, "high": 0.5 + 1e-3}),
}


def make(case, n, dtype, seed=2026, start=0):
    alg, params = CASES[case]
    out = np.empty(n, dtype)
    alg.fill(out, start, seed=seed, **params)
    return out


# --- the specification, one element at a time -------------------------------------------------

_elements_f32 = {
    "uniform": numba.njit(lambda x, prm: dku._uniform_f32(x, prm)),
    "icdf": numba.njit(lambda x, prm: dk._truncnorm_icdf_f32(x, prm)),
    "central": numba.njit(lambda x, prm: dk._truncnorm_central_f32(x, prm)),
    "far": numba.njit(lambda x, prm: dk._truncnorm_far_f32(x, prm)),
}
_elements_f64 = {
    "uniform": numba.njit(lambda a, b, prm: dku._uniform_f64(a, b, prm)),
    "icdf": numba.njit(lambda a, b, prm: dk._truncnorm_icdf_f64(a, b, prm)),
    "far": numba.njit(lambda a, b, prm: dk._truncnorm_far_f64(a, b, prm)),
}


def spec_element(case, seed, index, dtype):
    """Element ``index`` from the documented layout with the scalar Philox and one element's math."""
    alg, params = CASES[case]
    key = np.array([seed & 0xFFFFFFFF, seed >> 32], np.uint32)
    if alg is UNIFORM:
        method, prm = "uniform", uniform_constants(params["low"], params["high"], dtype)
        kind32, kind64 = dku.KIND_UNIFORM_F32, dku.KIND_UNIFORM_F64
    else:
        method, prm = truncnorm_constants(*(params[k] for k in ("mean", "scale", "low", "high")), dtype)
        kind32, kind64 = dk.KIND_TRUNCNORM_F32, dk.KIND_TRUNCNORM_F64
        if dtype != F64 and TRUNCNORM.computes_in_float64(dtype, *(params[k] for k in ("mean", "scale", "low", "high"))):
            method, prm64 = truncnorm_constants(*(params[k] for k in ("mean", "scale", "low", "high")), F64)
            prm = prm64[:-2] + tuple(np.float64(b) for b in prm[-2:])
    if isinstance(prm[0], np.float64):
        block, k = divmod(index, layout.BLOCK_F64)
        lane, half = k % layout.LANES, k // layout.LANES
        w = philox4x32(np.array([lane, block & 0xFFFFFFFF, block >> 32, int(kind64)], np.uint32), key)
        x = _elements_f64[method](w[2 * half], w[2 * half + 1], prm)
        return np.asarray(np.float64(x)).astype(dtype)
    block, k = divmod(index, layout.BLOCK_F32)
    lane, word = k % layout.LANES, k // layout.LANES
    w = philox4x32(np.array([lane, block & 0xFFFFFFFF, block >> 32, int(kind32)], np.uint32), key)
    return np.asarray(np.float32(_elements_f32[method](w[word], prm))).astype(dtype)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_element_follows_the_documented_layout(case, dtype):
    seed, n = 0xDEADBEEF12345678, 2100
    whole = make(case, n, dtype, seed=seed)
    for i in [0, 1, 255, 256, 511, 512, 767, 768, 1023, 1024, 2047, 2099]:
        assert whole[i].tobytes() == spec_element(case, seed, i, dtype).tobytes(), i


@pytest.mark.parametrize("case", ["uniform", "tn-central"])
def test_pieces_far_into_the_stream_follow_the_layout(case):
    start = 2**45 + 1021
    for dtype in (F32, F64):
        piece = make(case, 8, dtype, seed=7, start=start)
        for i in range(8):
            assert piece[i].tobytes() == spec_element(case, 7, start + i, dtype).tobytes()


def test_streams_of_different_algorithms_never_share_counters():
    # Every kernel file's counter kinds (its KIND_* constants), found, not listed: a new
    # kernel file that reuses another's kind fails here.
    import importlib
    import pkgutil

    import reprovar.sampler.kernels as package

    claimed = {}
    for module in pkgutil.iter_modules(package.__path__):
        kernels = importlib.import_module(f"{package.__name__}.{module.name}")
        for attr in dir(kernels):
            if attr.startswith("KIND_"):
                claimed.setdefault(int(getattr(kernels, attr)), []).append(f"{module.name}.{attr}")
    assert len(claimed) >= 6 and {1, 2, 3, 4, 5, 6} <= set(claimed)
    assert {k: v for k, v in claimed.items() if len(v) > 1} == {}


# --- pieces and threads ------------------------------------------------------------------------

WHOLE = {(c, d.name): make(c, 6000, d, seed=99) for c in CASES for d in DTYPES}


@settings(max_examples=40, deadline=None)
@given(
    case=st.sampled_from(list(CASES)),
    dtype=st.sampled_from(DTYPES),
    cuts=st.lists(st.integers(0, 6000), max_size=8),
)
def test_pieces_at_arbitrary_offsets_equal_the_whole(case, dtype, cuts):
    whole = WHOLE[case, dtype.name]
    bounds = sorted({0, 6000, *cuts})
    for lo, hi in zip(bounds, bounds[1:]):
        assert make(case, hi - lo, dtype, seed=99, start=lo).tobytes() == whole[lo:hi].tobytes(), (lo, hi)


BIG = PARALLEL_MIN_ELEMENTS * 2 + 1234  # the parallel path, with partial blocks


@pytest.mark.parametrize("case", CASES)
def test_one_thread_equals_all_threads_and_big_pieces_equal_the_slice(case):
    for dtype in (F32, F64, BF16):
        all_threads = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            one = make(case, BIG, dtype)
        finally:
            numba.set_num_threads(all_threads)
        whole = make(case, BIG, dtype)
        assert whole.tobytes() == one.tobytes()
        start = 777
        assert make(case, BIG - start, dtype, start=start).tobytes() == whole[start:].tobytes()


def test_slices_equal_the_variables():
    v = reprovar.random_uniform_variable((3, 700), -2.0, 3.0, "float16", seed=5, record=False)
    assert reprovar.random_uniform_slice(100, 1999, -2.0, 3.0, "float16", seed=5).tobytes() == \
        v.numpy().reshape(-1)[100:1999].tobytes()
    t = reprovar.truncated_normal_variable((3, 700), 1.0, 0.5, "bfloat16", seed=5, low=0.0, record=False)
    assert reprovar.truncated_normal_slice(100, 1999, 1.0, 0.5, "bfloat16", seed=5, low=0.0).tobytes() == \
        t.numpy().reshape(-1)[100:1999].tobytes()


# --- frozen values -----------------------------------------------------------------------------

# --- bounds and bits -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F16, BF16], ids=str)
def test_uniform_never_reaches_high_even_where_rounding_would(dtype):
    # With high = 1 a float32 value above 1 - ulp/2 of the format rounds to 1: the clamp
    # keeps it at the largest value below 1, and that value does occur.
    x = UNIFORM.generate((1 << 20,), dtype, seed=1, low=0.0, high=1.0).astype(np.float64)
    below = 1 - 2.0**-11 if dtype == F16 else 1 - 2.0**-8
    assert x.min() >= 0 and x.max() == below


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_uniform_bounds_that_the_format_cannot_hold(dtype):
    # 0.1 and 0.3 are not float16/bfloat16 values: the first and last values are those of
    # the format inside [0.1, 0.3).
    x = UNIFORM.generate((1 << 18,), dtype, seed=2, low=0.1, high=0.3).astype(np.float64)
    assert x.min() >= 0.1 and x.max() < 0.3


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case", [c for c in CASES if c != "uniform"])
def test_truncated_normal_values_lie_within_the_bounds(case, dtype):
    params = CASES[case][1]
    x = make(case, 1 << 17, dtype, seed=3).astype(np.float64)
    assert np.isfinite(x).all()
    assert x.min() >= params["low"] and x.max() <= params["high"]


def test_uniform_uses_24_bits_per_float32_and_53_per_float64():
    x = UNIFORM.generate((1 << 20,), F32, seed=4, low=0.0, high=1.0).astype(np.float64) * 2.0**24
    assert (x == np.floor(x)).all() and (x % 2 == 1).any()  # multiples of 2**-24, odd ones too
    y = UNIFORM.generate((1 << 20,), F64, seed=4, low=0.0, high=1.0)
    k = (y * 2.0**53).astype(np.uint64)
    assert (k.astype(np.float64) == y * 2.0**53).all() and (k % 2 == 1).any() and (k >= 2**52).any()


# --- variance scaling against Keras' formulas ------------------------------------------------------


@pytest.mark.parametrize(
    "shape,fans",
    [((), (1, 1)), ((7,), (7, 7)), ((0, 5), (0, 5)), ((3, 4), (3, 4)), ((3, 3, 16, 32), (144, 288)),
     ((2, 5, 5, 8, 4), (400, 200))],
)
def test_fans_as_keras_computes_them(shape, fans):
    assert compute_fans(shape) == fans


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
def test_resolved_parameters_follow_keras_formulas(mode):
    shape = (3, 3, 16, 32)
    fan_in, fan_out = 144, 288
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    assert resolve(shape, 2.0, mode, "uniform") == ("uniform", {"low": -math.sqrt(6 / n), "high": math.sqrt(6 / n)})
    assert resolve(shape, 2.0, mode, "untruncated_normal") == ("normal", {"mean": 0.0, "scale": math.sqrt(2 / n)})
    sd = math.sqrt(2 / n) / 0.87962566103423978
    expected = ("truncated_normal", {"mean": 0.0, "scale": sd, "low": -2 * sd, "high": 2 * sd})
    assert resolve(shape, 2.0, mode, "truncated_normal") == expected == resolve(shape, 2.0, mode, "Normal")
    assert TRUNCATED_STDDEV == 0.87962566103423978


def test_zero_size_and_scalar_shapes_use_a_fan_of_at_least_one():
    assert resolve((0, 0), 1.0, "fan_avg", "uniform")[1]["high"] == math.sqrt(3.0)
    v = reprovar.variance_scaling_variable((0, 3), seed=1, record=False)
    assert v.shape == (0, 3) and v.provenance.distribution == "truncated_normal"
    s = reprovar.variance_scaling_variable((), 1.0, "fan_in", "uniform", seed=1, record=False)
    assert s.shape == () and -math.sqrt(3) <= float(s.numpy()) < math.sqrt(3)


def test_variance_scaling_variable_is_the_resolved_distribution_bit_for_bit():
    v = reprovar.variance_scaling_variable((64, 32), 2.0, "fan_avg", "uniform", "float16", seed=9, record=False)
    name, params = resolve((64, 32), 2.0, "fan_avg", "uniform")
    w = reprovar.random_uniform_variable((64, 32), params["low"], params["high"], "float16", seed=9, record=False)
    assert v.provenance.distribution == name and v.provenance.params == params
    assert v.provenance.algorithm == "philox4x32-10/uniform"
    assert v.numpy().tobytes() == w.numpy().tobytes()
