"""The sampler's output is N(mean, scale): goodness of fit, moments, and independence.

Every sample comes from a fixed seed, so these tests are deterministic: a threshold that
passes today passes always. Each was checked against deliberately wrong samples (made in a
scratch script with the functions below). At 10^6 samples: KS and A^2 reject a mean off by
0.005 scale and a scale off by 1 % (A^2 also 0.5 %); chi-square a mean off by 0.02 scale and a
scale off by 1 %; the discrete KS a float16 mean off by 0.005 scale and a bfloat16 one off by
0.01, and bfloat16 truncated instead of rounded; the moment tests a mean off by 6 standard
errors and a variance off by 6; the correlation tests 1 % of a neighbour (lag 1, 256, 1024)
or of the other seed's variable mixed in, and a volatility shared by pairs (squares). At
10^8: KS rejects a scale off by 0.1 % and a mean off by 0.05 % of the scale (p <= 2.3e-5).

Which Anderson-Darling: ``scipy.stats.anderson(x, 'norm')`` estimates the mean and standard
deviation from the sample (Stephens' "case 3") and its critical values are for that case.
It would therefore accept a sampler with the wrong mean or scale. Here the distribution is
fully specified, N(mean, scale) as the user asked, so A^2 is computed against that CDF
("case 0") and its p-value taken from the asymptotic distribution of A^2 (Marsaglia and
Marsaglia 2004, ``ADinf``), which is accurate to a few 1e-6 for the n used here.

Half precisions are discrete: a float16 or bfloat16 value v is what every float32 result
between the rounding boundaries around v becomes, so the true CDF is a step function with
``F(v) = Phi((upper boundary of v - mean) / scale)``. A plain continuous KS test would
reject a correct bfloat16 sampler (shown below); the discrete-aware KS compares the ECDF
with that step function at every observed value and just before it. Its p-value from the
continuous KS distribution is conservative for a discrete null (the statistic is
stochastically smaller), so a correct sampler passes at least as often as nominal.
"""

from __future__ import annotations

import functools
import math

import ml_dtypes
import numpy as np
import pytest
from scipy import special, stats

from reprovar.algorithms import DEFAULT_ALGORITHM

N = 1_000_000
# Smallest p-value accepted from a goodness-of-fit test. With these seeds the smallest seen
# are 0.22 (KS), 0.14 (A^2), 0.59 (discrete KS), 0.051 (chi-square); 0.146 and 0.135 at 10^8.
P_MIN = 1e-3
# Moment and correlation tests: |deviation| / standard error. Largest seen: 2.4 (float16
# variance), 3.2 (correlation of squares at lag 768), 2.9 (squares of float32 quarter-blocks).
Z_MAX = 5.0

F32, F64, F16 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16)
BF16 = np.dtype(ml_dtypes.bfloat16)
CONTINUOUS = [F32, F64]
HALF = [F16, BF16]
PARAMS = [(0.0, 1.0), (-3.5, 0.25), (1000.0, 40.0)]  # (mean, scale)


@functools.lru_cache(maxsize=None)
def sample(dtype: np.dtype, mean: float, scale: float, seed: int, n: int = N) -> np.ndarray:
    x = DEFAULT_ALGORITHM.generate((n,), dtype, seed=seed, mean=mean, scale=scale)
    x.flags.writeable = False
    return x


def seed_for(dtype: np.dtype, mean: float, scale: float) -> int:
    # Fixed, distinct per case, and far apart in both key words.
    return 0x9E3779B97F4A7C15 * (1 + PARAMS.index((mean, scale)) + 7 * [F32, F64, F16, BF16].index(dtype)) % 2**64


def case_ids(params):
    return [f"mean={m:g},scale={s:g}" for m, s in params]


# --- statistics (plain functions so that a scratch script can feed them perturbed samples) ----


def ks_continuous(x: np.ndarray, mean: float, scale: float) -> tuple[float, float]:
    res = stats.kstest(np.asarray(x, np.float64), "norm", args=(mean, scale))
    return float(res.statistic), float(res.pvalue)


def ad_inf_cdf(z: float) -> float:
    """P(A^2 <= z) in the limit n -> inf for a fully specified continuous null (Marsaglia 2004)."""
    if z <= 0:
        return 0.0
    if z < 2:
        return math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z
        )
    return math.exp(-math.exp(1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z))


def sorted_statistics(xs: np.ndarray, mean: float, scale: float, chunk: int = 1 << 22) -> tuple[float, float]:
    """KS ``D`` and Anderson-Darling ``A^2`` of an already sorted sample against N(mean, scale).

    Works in chunks, so a 10^8 sample needs only its own memory plus a few chunk-sized temporaries.
    A^2 = -n - (1/n) sum_j [(2j - 1) ln F(x_j) + (2n + 1 - 2j) ln(1 - F(x_j))], with the
    logarithms from ``log_ndtr`` so the far tails keep their precision.
    """
    n = xs.size
    d, s = 0.0, []
    for a in range(0, n, chunk):
        z = (np.asarray(xs[a : a + chunk], np.float64) - mean) / scale
        j = np.arange(a + 1, a + z.size + 1, dtype=np.float64)
        cdf = special.ndtr(z)
        d = max(d, float(np.max(j / n - cdf)), float(np.max(cdf - (j - 1) / n)))
        s.append(float(np.dot(2 * j - 1, special.log_ndtr(z))))
        s.append(float(np.dot(2 * n + 1 - 2 * j, special.log_ndtr(-z))))
    a2 = -n - math.fsum(s) / n
    return d, a2


def ad_known(x: np.ndarray, mean: float, scale: float) -> tuple[float, float]:
    """A^2 of ``x`` against the fully specified N(mean, scale) and its asymptotic p-value."""
    _, a2 = sorted_statistics(np.sort(np.asarray(x, np.float64)), mean, scale)
    return a2, 1.0 - ad_inf_cdf(a2)


@functools.lru_cache(maxsize=None)
def half_grid(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """All finite values of ``dtype`` (ascending, one zero) and the rounding boundary above each.

    The last boundary is the overflow threshold (half a step above the largest finite value);
    the boundary below ``values[0]`` is minus that threshold.
    """
    with np.errstate(invalid="ignore"):  # the NaN bit patterns
        v = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(dtype).astype(np.float64)
    v = np.unique(v[np.isfinite(v)])  # -0 and +0 compare equal: one zero
    top = v[-1] + (v[-1] - v[-2]) / 2  # exact in float64
    upper = np.append((v[:-1] + v[1:]) / 2, top)  # midpoints are exact in float64
    return v, upper


def ks_discrete(x: np.ndarray, mean: float, scale: float) -> tuple[float, float]:
    """KS distance between the ECDF of half-precision ``x`` and the CDF of the rounded normal."""
    values, upper = half_grid(x.dtype)
    lower = np.concatenate([[-upper[-1]], upper[:-1]])
    u, counts = np.unique(np.asarray(x, np.float64), return_counts=True)
    assert np.all(np.isfinite(u)), "no infinities expected at these parameters"
    idx = np.searchsorted(values, u)
    assert np.all(values[idx] == u)
    ecdf = np.cumsum(counts) / x.size
    ecdf_before = np.concatenate([[0.0], ecdf[:-1]])
    cdf_at = special.ndtr((upper[idx] - mean) / scale)
    cdf_before = special.ndtr((lower[idx] - mean) / scale)
    d = max(np.max(np.abs(ecdf - cdf_at)), np.max(np.abs(ecdf_before - cdf_before)))
    return float(d), float(stats.kstwo.sf(d, x.size))


def half_moments(dtype: np.dtype, mean: float, scale: float) -> tuple[float, float]:
    """Exact mean and variance of N(mean, scale) rounded to ``dtype`` (sum over every value)."""
    values, upper = half_grid(dtype)
    lower = np.concatenate([[-upper[-1]], upper[:-1]])
    p = special.ndtr((upper - mean) / scale) - special.ndtr((lower - mean) / scale)
    keep = p > 0
    v, p = values[keep], p[keep]
    m = math.fsum(v * p) / math.fsum(p)
    var = math.fsum((v - m) ** 2 * p) / math.fsum(p)
    return m, var


def chi_square(x: np.ndarray, mean: float, scale: float, bins: int = 1000) -> tuple[float, float]:
    """Pearson's chi-square on ``bins`` equiprobable bins of N(mean, scale).

    For half precisions each bin edge is moved to the nearest rounding boundary (a value
    never sampled, being between two representable values) and the expected counts are the
    exact probabilities of the bins so made.
    """
    edges = mean + scale * special.ndtri(np.arange(1, bins) / bins)
    if x.dtype in HALF:
        _, upper = half_grid(x.dtype)
        k = np.clip(np.searchsorted(upper, edges), 1, upper.size - 1)
        edges = np.where(edges - upper[k - 1] < upper[k] - edges, upper[k - 1], upper[k])
        edges = np.unique(edges)
    probs = np.diff(np.concatenate([[0.0], special.ndtr((edges - mean) / scale), [1.0]]))
    observed = np.bincount(np.searchsorted(edges, np.asarray(x, np.float64)), minlength=edges.size + 1)
    expected = probs * x.size
    assert expected.min() >= 5, "bins too small for the chi-square approximation"
    res = stats.chisquare(observed, expected * (observed.sum() / expected.sum()))
    return float(res.statistic), float(res.pvalue)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64) - np.mean(a, dtype=np.float64)
    b = np.asarray(b, np.float64) - np.mean(b, dtype=np.float64)
    return float(np.dot(a, b) / math.sqrt(np.dot(a, a) * np.dot(b, b)))


def assert_uncorrelated(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """|r| < 5/sqrt(n) for the values and for their squares (which sees shared radii)."""
    n = a.size
    bound = Z_MAX / math.sqrt(n)
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    for label, (p, q) in {"values": (a64, b64), "squares": (a64**2, b64**2)}.items():
        r = correlation(p, q)
        assert abs(r) < bound, f"{what}: correlation of {label} r={r:.3g}, bound {bound:.3g} (n={n})"


def assert_moments(x: np.ndarray, mean: float, scale: float, var: float | None = None) -> None:
    """Sample mean and variance within Z_MAX standard errors of ``mean`` and ``var`` (default scale**2)."""
    n = x.size
    var = scale**2 if var is None else var
    x64 = np.asarray(x, np.float64)
    m = math.fsum(x64) / n
    s2 = math.fsum((x64 - m) ** 2) / (n - 1)
    assert abs(m - mean) < Z_MAX * math.sqrt(var / n), f"mean {m!r} vs {mean!r}"
    # Var(s^2) = 2 sigma^4 / (n - 1) for a normal sample.
    assert abs(s2 - var) < Z_MAX * var * math.sqrt(2 / (n - 1)), f"variance {s2!r} vs {var!r}"


# --- goodness of fit -------------------------------------------------------------------------


@pytest.mark.parametrize("mean, scale", PARAMS, ids=case_ids(PARAMS))
@pytest.mark.parametrize("dtype", CONTINUOUS, ids=str)
def test_kolmogorov_smirnov(dtype, mean, scale):
    x = sample(dtype, mean, scale, seed_for(dtype, mean, scale))
    d, p = ks_continuous(x, mean, scale)
    assert p > P_MIN, f"KS D={d:.3g} p={p:.3g}"


@pytest.mark.parametrize("mean, scale", PARAMS, ids=case_ids(PARAMS))
@pytest.mark.parametrize("dtype", CONTINUOUS, ids=str)
def test_anderson_darling_known_parameters(dtype, mean, scale):
    x = sample(dtype, mean, scale, seed_for(dtype, mean, scale))
    a2, p = ad_known(x, mean, scale)
    assert p > P_MIN, f"A^2={a2:.4g} p={p:.3g}"


def test_anderson_darling_statistic_and_pvalue_are_right():
    """Our A^2 equals scipy's fully specified one; ADinf reproduces Stephens' case-0 table."""
    x = np.random.default_rng(3).normal(0.2, 1.3, 300)
    ours, _ = ad_known(x, 0.0, 1.0)
    ref = stats.goodness_of_fit(
        stats.norm, x, known_params={"loc": 0.0, "scale": 1.0}, statistic="ad", n_mc_samples=9,
        rng=np.random.default_rng(0),
    )
    assert ours == pytest.approx(ref.statistic, rel=1e-9)
    for critical, level in [(1.933, 0.90), (2.492, 0.95), (3.070, 0.975), (3.857, 0.99)]:
        assert ad_inf_cdf(critical) == pytest.approx(level, abs=1e-3)


def test_fitted_anderson_darling_would_miss_a_wrong_mean_and_scale():
    """Why not ``scipy.stats.anderson``: it fits the parameters, so a sampler with the wrong ones passes."""
    x = DEFAULT_ALGORITHM.generate((N,), F64, seed=99, mean=0.01, scale=1.02)
    fitted = stats.anderson(x, "norm", method="interpolate")
    _, p_known = ad_known(x, 0.0, 1.0)
    assert fitted.pvalue > 0.05 and p_known < 1e-9


@pytest.mark.parametrize("mean, scale", PARAMS, ids=case_ids(PARAMS))
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_discrete_kolmogorov_smirnov_half(dtype, mean, scale):
    x = sample(dtype, mean, scale, seed_for(dtype, mean, scale))
    d, p = ks_discrete(x, mean, scale)
    assert p > P_MIN, f"discrete KS D={d:.3g} p={p:.3g}"


def test_plain_ks_would_wrongly_reject_bfloat16():
    """Why the discrete-aware KS: bfloat16's rounding alone fails the continuous test."""
    # bfloat16 steps are 1/16 of the scale near -3.5 here, so the ECDF is visibly a staircase.
    x = sample(BF16, -3.5, 0.25, seed_for(BF16, -3.5, 0.25))
    _, p_plain = ks_continuous(x, -3.5, 0.25)
    _, p_discrete = ks_discrete(x, -3.5, 0.25)
    assert p_plain < 1e-6 < P_MIN < p_discrete


@pytest.mark.parametrize("mean, scale", PARAMS, ids=case_ids(PARAMS))
@pytest.mark.parametrize("dtype", CONTINUOUS + HALF, ids=str)
def test_chi_square_equiprobable_bins(dtype, mean, scale):
    x = sample(dtype, mean, scale, seed_for(dtype, mean, scale))
    chi2, p = chi_square(x, mean, scale)
    assert p > P_MIN, f"chi2={chi2:.1f} p={p:.3g}"


# --- moments -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mean, scale", PARAMS, ids=case_ids(PARAMS))
@pytest.mark.parametrize("dtype", CONTINUOUS + HALF, ids=str)
def test_mean_and_variance(dtype, mean, scale):
    """Within 5 standard errors; half precisions against the exact moments of the rounded normal."""
    x = sample(dtype, mean, scale, seed_for(dtype, mean, scale))
    if dtype in HALF:
        exact_mean, exact_var = half_moments(dtype, mean, scale)
        assert_moments(x, exact_mean, scale, var=exact_var)
    else:
        assert_moments(x, mean, scale)


# --- independence ------------------------------------------------------------------------------

LAGS = [1, 2, 255, 256, 257, 512, 768, 1024]  # 256: the lane stride; 512 / 1024: block sizes


@pytest.mark.parametrize("dtype", CONTINUOUS, ids=str)
def test_neighbouring_elements_uncorrelated(dtype):
    x = sample(dtype, 0.0, 1.0, seed_for(dtype, 0.0, 1.0))
    for lag in LAGS:
        assert_uncorrelated(x[:-lag], x[lag:], f"{dtype} lag {lag}")


def test_float32_quarter_blocks_uncorrelated():
    """Elements j, 256 + j, 512 + j, 768 + j of a block share one Philox call: no correlation."""
    x = sample(F32, 0.0, 1.0, seed_for(F32, 0.0, 1.0))
    q = x[: x.size // 1024 * 1024].reshape(-1, 4, 256)
    for a in range(4):
        for b in range(a + 1, 4):
            assert_uncorrelated(q[:, a].ravel(), q[:, b].ravel(), f"quarters {a} and {b}")


def test_float64_half_blocks_uncorrelated():
    x = sample(F64, 0.0, 1.0, seed_for(F64, 0.0, 1.0))
    h = x[: x.size // 512 * 512].reshape(-1, 2, 256)
    assert_uncorrelated(h[:, 0].ravel(), h[:, 1].ravel(), "halves of a float64 block")


SEED_PAIRS = [(0, 1), (2**32 - 1, 2**32), (2**63 - 1, 2**63), (2**64 - 2, 2**64 - 1)]


@pytest.mark.parametrize("seeds", SEED_PAIRS, ids=[f"{a:#x}/{b:#x}" for a, b in SEED_PAIRS])
@pytest.mark.parametrize("dtype", CONTINUOUS, ids=str)
def test_adjacent_seeds_uncorrelated(dtype, seeds):
    a, b = (sample(dtype, 0.0, 1.0, s) for s in seeds)
    assert_uncorrelated(a, b, f"seeds {seeds}")


def test_float32_and_float64_streams_of_one_seed_uncorrelated():
    """The kind word of the counter keeps a seed's float32 and float64 streams apart."""
    seed = 12345
    assert_uncorrelated(sample(F32, 0.0, 1.0, seed), sample(F64, 0.0, 1.0, seed), "float32 vs float64")


# --- at scale ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dtype", CONTINUOUS, ids=str)
def test_kolmogorov_smirnov_and_anderson_darling_at_1e8(dtype):
    """10^8 samples: KS rejects a scale off by 0.1 % or a mean off by 0.05 % of the scale.

    Measured: correct float32 D = 1.14e-4 (p 0.15), A^2 1.70; float64 D = 5.2e-5 (p 0.95),
    A^2 0.42. Scale x 1.001: D = 3.4e-4 / 2.4e-4, A^2 = 37 / 23 (float32 / float64).

    Memory: the sample itself (0.8 GB in float64), sorted in place, plus chunk temporaries.
    """
    n = 10**8
    mean, scale = 0.5, 2.0
    x = DEFAULT_ALGORITHM.generate((n,), dtype, seed=0x1E8_5EED, mean=mean, scale=scale)
    x.sort()
    d, a2 = sorted_statistics(x, mean, scale)
    del x
    p_ks = float(stats.kstwobign.sf(d * math.sqrt(n)))
    p_ad = 1.0 - ad_inf_cdf(a2)
    assert p_ks > P_MIN, f"KS D={d:.3g} p={p_ks:.3g}"
    assert p_ad > P_MIN, f"A^2={a2:.4g} p={p_ad:.3g}"
