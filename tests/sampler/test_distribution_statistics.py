"""The uniform and truncated-normal samplers have the distributions they claim.

Kolmogorov-Smirnov at 10**6 values per dtype against scipy's ``uniform`` and ``truncnorm``.
Float16 and bfloat16 values are the rounded float32 ones, so their reference is the
continuous CDF read at each value's rounding boundary (the midpoint to the next value of
the format); the KS p-value for a continuous distribution is then conservative. Each test
also runs on a perturbed sampler (parameters off by a little) and must reject it there, so
none of them can pass by construction. Seeds are fixed: the outcomes are deterministic.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
import scipy.stats as st
from scipy import special

import reprovar
from reprovar.algorithms import get_algorithm
from reprovar.sampler.formats import next_value as _step

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
F16, BF16 = np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
DTYPES = [F32, F64, F16, BF16]
N = 10**6
ACCEPT, REJECT = 1e-3, 1e-6
INF = math.inf
UNIFORM = get_algorithm("philox4x32-10/uniform", 1)
TRUNCNORM = get_algorithm("philox4x32-10/truncated-normal", 1)


def ks_pvalue(x: np.ndarray, cdf) -> float:
    """KS p-value of ``x`` against ``cdf``; for half precisions, against the rounded distribution."""
    if x.dtype in (F32, F64):
        return st.kstest(x.astype(np.float64), cdf).pvalue
    values, counts = np.unique(x, return_counts=True)
    upper = np.array([_step(np.array([v], x.dtype), up=True)[0] for v in values], np.float64)
    v64 = values.astype(np.float64)
    boundary = np.where(np.isfinite(upper), (v64 + upper) / 2, np.inf)
    ecdf = np.cumsum(counts) / x.size
    ecdf_before = ecdf - counts / x.size
    f = cdf(boundary)
    f_before = np.concatenate([[0.0], f[:-1]])
    d = max(np.abs(ecdf - f).max(), np.abs(ecdf_before - f_before).max())
    return float(st.kstwo.sf(d, x.size))


# --- uniform --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("perturbed", [False, True], ids=["sampler", "perturbed"])
def test_uniform_against_scipy(dtype, perturbed):
    low, high = -1.5, 2.25
    made_high = high + (0.01 if perturbed else 0.0)  # the perturbed sampler's interval is 0.3% too long
    x = UNIFORM.generate((N,), dtype, seed=11, low=low, high=made_high)
    a, b = low, high
    if dtype in (F16, BF16):
        # The reference: the uniform on [low, high) rounded to the format, conditioned on
        # the result lying in [low, high) (the last value's rounding cell ends below high).
        last = float(_step(np.array([high], dtype), up=False)[0])
        b = (last + high) / 2
    p = ks_pvalue(x, st.uniform(a, b - a).cdf)
    assert (p < REJECT) if perturbed else (p > ACCEPT), p


# --- truncated normal -------------------------------------------------------------------------


def truncnorm_cdf(mean, scale, low, high):
    """The CDF of ``scipy.stats.truncnorm`` for these bounds, vectorized on ``scipy.special.ndtr``
    (``truncnorm.cdf`` takes seconds per 10**6 points): on the upper side through the survival
    function, so that far tails keep their precision. Checked against ``truncnorm`` below."""
    a, b = (low - mean) / scale, (high - mean) / scale
    if a >= 0:
        qa, qb = special.ndtr(-a), special.ndtr(-b)
        return lambda x: np.clip((qa - special.ndtr(-(np.asarray(x, np.float64) - mean) / scale)) / (qa - qb), 0, 1)
    pa, pb = special.ndtr(a), special.ndtr(b)
    return lambda x: np.clip((special.ndtr((np.asarray(x, np.float64) - mean) / scale) - pa) / (pb - pa), 0, 1)


#: (mean, scale, low, high): Keras' +-2 sigma; a far one-sided interval [mean + 2.5 sigma,
#: mean + 4 sigma]; a half line; a narrow interval; the float32 far-tail method; the float64 one.
BOUNDS = {
    "two-sigma": (0.5, 2.0, -3.5, 4.5),
    "far-one-sided": (1.0, 3.0, 1.0 + 7.5, 1.0 + 12.0),
    "half-line": (0.0, 1.0, -INF, -1.0),
    "narrow": (0.0, 1.0, 0.3, 0.31),
    "tail-12": (0.0, 1.0, 12.0, INF),
    "tail-25": (0.0, 1.0, 25.0, 26.0),
}
HALF_SKIPS = {"tail-12", "tail-25", "narrow"}  # a few representable values: nothing to test there


def _cases():
    for name in BOUNDS:
        for dtype in DTYPES:
            if dtype in (F16, BF16) and name in HALF_SKIPS:
                continue
            if name == "tail-25" and dtype != F64:
                continue  # float32 resolves [25, 26] only to ~2e-6 of a value near 25
            yield name, dtype


@pytest.mark.parametrize("name", BOUNDS)
def test_the_fast_cdf_is_scipy_truncnorm(name):
    mean, scale, low, high = BOUNDS[name]
    ref = st.truncnorm((low - mean) / scale, (high - mean) / scale, loc=mean, scale=scale)
    lo = low if math.isfinite(low) else mean - 8 * scale
    hi = high if math.isfinite(high) else low + 3 * scale
    x = np.linspace(lo, hi, 1001)
    np.testing.assert_allclose(truncnorm_cdf(mean, scale, low, high)(x), ref.cdf(x), rtol=1e-9, atol=1e-12)


# Perturbed samplers are run for one format of each kind (float32 and bfloat16): the test is
# the same for every dtype.
@pytest.mark.parametrize(
    "name,dtype,perturbed",
    [(n, d, False) for n, d in _cases()] + [(n, d, True) for n, d in _cases() if d in (F32, BF16) or n == "tail-25"],
    ids=lambda v: str(v),
)
def test_truncated_normal_against_scipy_truncnorm(name, dtype, perturbed):
    mean, scale, low, high = BOUNDS[name]
    # The perturbed sampler draws from a normal whose mean is off by 5% of the scale (in the
    # far tails: by 1% of the distance to the interval), or, for the narrow interval (nearly
    # flat there), from an interval 2% longer.
    made_mean, made_high = mean, high
    if perturbed:
        if name.startswith("tail"):
            made_mean = mean - 0.01 * (low - mean)
        elif name == "narrow":
            made_high = high + 0.02 * (high - low)
        else:
            made_mean = mean + 0.05 * scale
    x = TRUNCNORM.generate((N,), dtype, seed=12, mean=made_mean, scale=scale, low=low, high=made_high)
    assert x.astype(np.float64).min() >= low and x.astype(np.float64).max() <= made_high
    p = ks_pvalue(x, truncnorm_cdf(mean, scale, low, high))
    assert (p < REJECT) if perturbed else (p > ACCEPT), p


# --- variance scaling: std and limits against Keras' formulas -----------------------------------

SHAPE = (5, 5, 256, 256)  # fan_in = fan_out = 6400 (the receptive field times 256)


@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
@pytest.mark.parametrize("perturbed", [False, True], ids=["sampler", "perturbed"])
def test_variance_scaling_std_and_limits(distribution, perturbed):
    scale, n = 2.0, 6400.0
    # The perturbed check expects Keras' value for n from a wrong fan (fan_in of a
    # 3x3 kernel with the same channels): the made values must not match it.
    expected_n = 9 * 256 if perturbed else n
    v = reprovar.variance_scaling_variable(SHAPE, scale, "fan_avg", distribution, "float64", seed=13, record=False)
    x = v.numpy().reshape(-1)
    std = math.sqrt(scale / expected_n)
    se = std / math.sqrt(2 * x.size) * (1.2 if distribution != "untruncated_normal" else 1.0)
    ok_std = abs(x.std() - std) < 5 * se
    if distribution == "uniform":
        limit = math.sqrt(3 * scale / expected_n)
        ok = ok_std and -limit <= x.min() and x.max() < limit and ks_pvalue(x, st.uniform(-limit, 2 * limit).cdf) > ACCEPT
    elif distribution == "truncated_normal":
        sd = std / 0.87962566103423978
        ok = ok_std and -2 * sd <= x.min() and x.max() <= 2 * sd and ks_pvalue(x, truncnorm_cdf(0.0, sd, -2 * sd, 2 * sd)) > ACCEPT
    else:
        ok = ok_std and ks_pvalue(x, st.norm(scale=std).cdf) > ACCEPT
    assert ok != perturbed


# --- bounds at 10**8 ------------------------------------------------------------------------------

BOUNDS_AT_1E8 = [
    (UNIFORM, F16, {"low": 0.0, "high": 1.0}),
    (UNIFORM, BF16, {"low": -0.3, "high": 0.7}),
    (TRUNCNORM, BF16, {"mean": 0.0, "scale": 1.0, "low": -2.0, "high": 2.0}),
    (TRUNCNORM, F32, {"mean": 1.0, "scale": 3.0, "low": 8.5, "high": 13.0}),
    (TRUNCNORM, F16, {"mean": 0.0, "scale": 1.0, "low": 12.0, "high": INF}),
]


@pytest.mark.slow
@pytest.mark.parametrize("alg,dtype,params", BOUNDS_AT_1E8, ids=lambda v: str(v)[:40])
def test_bounds_hold_at_1e8(alg, dtype, params):
    x = alg.generate((10**8,), dtype, seed=14, **params)
    lo, hi = float(x.min()), float(x.max())
    assert lo >= params["low"]
    assert hi < params["high"] if alg is UNIFORM else hi <= params["high"]
    assert math.isfinite(lo) and math.isfinite(hi)
