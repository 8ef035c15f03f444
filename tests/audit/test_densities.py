"""Densities, distribution functions, quantiles and moments of the recorded distributions,
against scipy (a test dependency only; the library computes them with math and numpy)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from reprovar.audit.densities import make_law, law_of, normal_ppf, record_law_inputs
from reprovar.audit.errors import AuditError, UnknownDistributionError
from reprovar.audit.samples import density_curve, qq_points, summarize

INF = math.inf


def test_normal_quantile_to_double_precision():
    p = np.concatenate([np.linspace(0.0, 1.0, 20001), [1e-300, 1e-100, 1e-20, 1e-10, 0.02425,
                                                        0.97575, 1 - 1e-10, 1 - 1e-16]])
    ref, got = stats.norm.ppf(p), normal_ppf(p)
    finite = np.isfinite(ref)
    assert np.array_equal(got[~finite], ref[~finite])  # -inf at 0, inf at 1
    assert np.max(np.abs(got[finite] - ref[finite]) / np.maximum(1.0, np.abs(ref[finite]))) < 4e-15
    assert np.isnan(normal_ppf([-0.1, 1.1, np.nan])).all()


def _scipy(distribution, params):
    if distribution == "normal":
        return stats.norm(params["mean"], params["scale"])
    if distribution == "uniform":
        return stats.uniform(params["low"], params["high"] - params["low"])
    m, s = params["mean"], params["scale"]
    return stats.truncnorm((params["low"] - m) / s, (params["high"] - m) / s, loc=m, scale=s)


LAWS = [
    ("normal", {"mean": 0.0, "scale": 1.0}),
    ("normal", {"mean": -3.5, "scale": 0.02}),
    ("uniform", {"low": -1.0, "high": 1.0}),
    ("uniform", {"low": 2.0, "high": 2.5}),
    ("truncated_normal", {"mean": 0.0, "scale": 0.05, "low": -0.1, "high": 0.1}),  # Keras' default bounds
    ("truncated_normal", {"mean": 1.0, "scale": 2.0, "low": 1.0, "high": INF}),    # half-normal
    ("truncated_normal", {"mean": 0.0, "scale": 1.0, "low": -INF, "high": -1.0}),
    ("truncated_normal", {"mean": 0.0, "scale": 1.0, "low": 3.0, "high": 5.0}),     # far in a tail
    ("truncated_normal", {"mean": 0.0, "scale": 1.0, "low": -9.0, "high": -7.5}),
    ("truncated_normal", {"mean": 0.0, "scale": 1.0, "low": -INF, "high": INF}),
]


@pytest.mark.parametrize("distribution, params", LAWS, ids=[f"{d}-{i}" for i, (d, _) in enumerate(LAWS)])
def test_law_matches_scipy(distribution, params):
    law, ref = make_law(distribution, params), _scipy(distribution, params)
    assert law.mean == pytest.approx(ref.mean(), rel=1e-9, abs=1e-12 * ref.std())
    assert law.std == pytest.approx(ref.std(), rel=1e-8)
    lo, hi = law.draw_range()
    assert math.isfinite(lo) and math.isfinite(hi) and lo < hi
    x = np.linspace(lo - (hi - lo) / 4, hi + (hi - lo) / 4, 401)
    np.testing.assert_allclose(law.pdf(x), ref.pdf(x), rtol=1e-10, atol=1e-12 * ref.pdf(x).max())
    np.testing.assert_allclose(law.cdf(x), ref.cdf(x), rtol=1e-9, atol=1e-14)
    p = np.linspace(0.0005, 0.9995, 401)
    np.testing.assert_allclose(law.ppf(p), ref.ppf(p), rtol=1e-9, atol=1e-9 * ref.std())
    support = law.support()
    assert support == (ref.support()[0], ref.support()[1])
    assert ref.cdf(hi) - ref.cdf(lo) > 0.999  # the drawn range holds nearly all the mass


def test_point_masses_have_no_spread():
    assert make_law("normal", {"mean": 3.0, "scale": 0.0}).point_mass
    assert make_law("uniform", {"low": 1.0, "high": 1.0}).point_mass
    assert make_law("truncated_normal", {"mean": 0.0, "scale": 0.0, "low": -1.0, "high": 1.0}).point_mass
    assert not make_law("normal", {"mean": 3.0, "scale": 1e-30}).point_mass


def test_unknown_distribution_and_missing_parameters():
    with pytest.raises(UnknownDistributionError, match="known: normal, truncated_normal, uniform"):
        make_law("gamma", {"shape": 2.0})
    with pytest.raises(AuditError, match="missing high"):
        make_law("uniform", {"low": 0.0})


def test_record_params_are_read_in_one_place():
    # Rows with a params mapping (every distribution) and rows with only mean/scale (normal).
    with_params = SimpleNamespace(distribution="uniform", params={"low": -2, "high": 2}, mean=None, scale=None)
    assert record_law_inputs(with_params) == ("uniform", {"low": -2.0, "high": 2.0})
    assert law_of(with_params).std == pytest.approx(4 / math.sqrt(12))
    # The ledger keeps an infinite bound as NULL.
    half = SimpleNamespace(distribution="truncated_normal", params={"mean": 0, "scale": 1, "low": 0, "high": None})
    assert record_law_inputs(half) == ("truncated_normal", {"mean": 0.0, "scale": 1.0, "low": 0.0, "high": INF})
    plain = SimpleNamespace(distribution="normal", mean=0.5, scale=2.0)
    assert record_law_inputs(plain) == ("normal", {"mean": 0.5, "scale": 2.0})


def test_summary_and_curves():
    law = make_law("truncated_normal", {"mean": 0.0, "scale": 1.0, "low": -1.0, "high": 2.0})
    values = law.ppf((np.arange(10_000) + 0.5) / 10_000)
    s = summarize(values, total=20_000, law=law)
    assert (s.n, s.total, s.partial) == (10_000, 20_000, True)
    assert s.mean == pytest.approx(law.mean, abs=1e-3) and s.std == pytest.approx(law.std, rel=1e-3)
    assert s.edges[0] == -1.0 and s.edges[-1] == 2.0 and s.counts.sum() == 10_000
    assert np.sum(s.densities() * np.diff(s.edges)) == pytest.approx(1.0)
    x, y = density_curve(law, s.edges[0], s.edges[-1])
    assert (x[0], y[0], x[-1], y[-1]) == (-1.0, 0.0, 2.0, 0.0)  # drops to 0 at both bounds
    assert np.trapezoid(y, x) == pytest.approx(1.0, rel=1e-3)
    theory, sample = qq_points(values, law, points=100)
    np.testing.assert_allclose(theory, sample, atol=2e-3)

    empty = summarize(np.empty(0), total=0, law=law)
    assert (empty.n, empty.mean, empty.std) == (0, None, None)
    one = summarize(np.array([np.float16(2.0)]), total=1)
    assert (one.mean, one.std, one.edges[0] < 2.0 < one.edges[-1]) == (2.0, None, True)
    nonfinite = summarize(np.array([1.0, np.nan, np.inf, 3.0]))
    assert (nonfinite.n, nonfinite.nonfinite, nonfinite.mean) == (2, 2, 2.0)
