"""Bad input to the uniform, truncated-normal and variance-scaling makers: a TypeError/ValueError
naming the parameter and what it accepts, raised before anything is made or recorded; and the
cross-process guarantees (thread count, generic CPU target) for every registered algorithm."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import textwrap

import mpmath
import numba
import numpy as np
import pytest

import reprovar
from reprovar import algorithms
from reprovar.algorithms import PARALLEL_MIN_ELEMENTS
from reprovar.errors import ArgumentTypeError, ArgumentValueError, ReprovarError
from reprovar.sampler.transforms.quantile_regions import series_coefficients
from reprovar.sampler.transforms.normal_quantile import (
    tail_offset_f32,
    tail_offset_f64,
    upper_quantile_central_f32,
    upper_quantile_f32,
    upper_quantile_f64,
)

NAN, INF = math.nan, math.inf


def uniform(shape=(2, 3), low=0.0, high=1.0, dtype=None, **kw):
    return reprovar.random_uniform_variable(shape, low, high, dtype, seed=1, **kw)


def truncated(shape=(2, 3), mean=0.0, scale=1.0, dtype=None, **kw):
    return reprovar.truncated_normal_variable(shape, mean, scale, dtype, seed=1, **kw)


def scaled(shape=(2, 3), scale=1.0, mode="fan_in", distribution="truncated_normal", dtype=None, **kw):
    return reprovar.variance_scaling_variable(shape, scale, mode, distribution, dtype, seed=1, **kw)


CASES = [
    (uniform, dict(low=1.0, high=1.0), ArgumentValueError, ["low must be < high", "low=1.0", "high=1.0"]),
    (uniform, dict(low=2.0, high=1.0), ArgumentValueError, ["low must be < high"]),
    (uniform, dict(low=NAN), ArgumentValueError, ["low", "finite", "nan"]),
    (uniform, dict(high=INF), ArgumentValueError, ["high", "finite", "inf"]),
    (uniform, dict(low="0"), ArgumentTypeError, ["low", "real number", "str"]),
    (uniform, dict(high=None), ArgumentTypeError, ["high", "real number", "NoneType"]),
    (uniform, dict(low=1e39, high=2e39), ArgumentValueError, ["low", "float32", "3.402823e+38"]),
    (uniform, dict(low=1.0001, high=1.0002, dtype="float16"), ArgumentValueError, ["no float16 value", "[low, high)"]),
    (truncated, dict(scale=0.0), ArgumentValueError, ["scale", "> 0", "0.0"]),
    (truncated, dict(scale=-1.0), ArgumentValueError, ["scale", "> 0"]),
    (truncated, dict(mean=INF), ArgumentValueError, ["mean", "finite"]),
    (truncated, dict(low=NAN), ArgumentValueError, ["low", "number or +-inf", "nan"]),
    (truncated, dict(low=2.0, high=1.0), ArgumentValueError, ["low must be < high", "must not be empty"]),
    (truncated, dict(low=INF), ArgumentValueError, ["low must be < high", "low=inf"]),
    (truncated, dict(high=-INF), ArgumentValueError, ["low must be < high"]),
    (truncated, dict(low=0.3, high=0.3001, dtype="bfloat16"), ArgumentValueError, ["no bfloat16 value", "[low, high]"]),
    (truncated, dict(low="a"), ArgumentTypeError, ["low", "real number", "+-inf", "str"]),
    (scaled, dict(scale=0.0), ArgumentValueError, ["scale", "positive"]),
    (scaled, dict(scale=NAN), ArgumentValueError, ["scale", "positive"]),
    (scaled, dict(scale="1"), ArgumentTypeError, ["scale", "positive float", "str"]),
    (scaled, dict(mode="fan_sum"), ArgumentValueError, ["mode", "'fan_in'", "'fan_out'", "'fan_avg'", "'fan_sum'"]),
    (scaled, dict(mode=None), ArgumentTypeError, ["mode", "'fan_in'"]),
    (scaled, dict(distribution="gamma"), ArgumentValueError, ["distribution", "'truncated_normal'", "'uniform'", "'gamma'"]),
    (scaled, dict(distribution=3), ArgumentTypeError, ["distribution", "int"]),
    (scaled, dict(shape=(2, -1)), ArgumentValueError, ["shape[1]", "non-negative int"]),
    (uniform, dict(dtype="int8"), ArgumentValueError, ["dtype", "'float32'"]),
    (truncated, dict(on_record_error="ignore"), ArgumentValueError, ["on_record_error", "'raise'", "'warn'"]),
    (uniform, dict(record="yes"), ArgumentTypeError, ["record", "True, False or None"]),
]


@pytest.mark.parametrize("maker,kwargs,error,fragments", CASES, ids=[f"{c[0].__name__}-{c[1]}"[:50] for c in CASES])
def test_bad_input_names_the_parameter_and_nothing_is_made_or_recorded(maker, kwargs, error, fragments, tmp_path, monkeypatch):
    def must_not_run(*args, **kw):
        raise AssertionError("generated before every argument was checked")

    for alg in {a for a in (algorithms.default_algorithm(d) for d in ("normal", "uniform", "truncated_normal"))}:
        monkeypatch.setattr(type(alg), "generate", must_not_run)
    path = tmp_path / "ledger.db"
    with pytest.raises(error) as info:
        maker(**{"ledger": str(path), **kwargs})
    assert isinstance(info.value, ReprovarError)
    assert isinstance(info.value, TypeError if error is ArgumentTypeError else ValueError)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))
    assert not path.exists() or reprovar.Ledger(str(path)).latest(None) == []


def test_the_slices_check_their_arguments():
    with pytest.raises(ArgumentValueError, match="low must be < high"):
        reprovar.random_uniform_slice(0, 5, 1.0, 0.0, seed=1)
    with pytest.raises(ArgumentValueError, match="stop must be >= start"):
        reprovar.truncated_normal_slice(5, 1, 0.0, 1.0, seed=1)
    with pytest.raises(ArgumentTypeError, match="seed"):
        reprovar.truncated_normal_slice(0, 1, 0.0, 1.0, seed=None)


def test_default_algorithm_names_the_distributions():
    with pytest.raises(ArgumentValueError, match="'normal', 'uniform', 'truncated_normal'"):
        algorithms.default_algorithm("poisson")


# --- the quantile functions against mpmath ----------------------------------------------------

mpmath.mp.dps = 40
_q64 = numba.njit(lambda p, L: upper_quantile_f64(p, L))
_q32 = numba.njit(lambda p, L: upper_quantile_f32(p, L))
_c32 = numba.njit(lambda p: upper_quantile_central_f32(p))
_t64 = numba.njit(lambda e, a, s: tail_offset_f64(e, a, s))
_t32 = numba.njit(lambda e, a, s: tail_offset_f32(e, a, s))


def _exact_quantile(log_p):
    # z with log Q(z) = log_p, Q(z) = erfc(z / sqrt 2) / 2, at 40 digits.
    f = lambda z: mpmath.log(mpmath.erfc(z / mpmath.sqrt(2)) / 2) - log_p
    return mpmath.findroot(f, mpmath.sqrt(-2 * log_p) if log_p < -1 else mpmath.mpf(0.1))


# Relative error bounds: the measured maxima over the points below, rounded up.
QUANTILE_F64 = 2e-15  # AS241 PPND16: 1.7e-16 near the center, larger near r = 5 where it changes rational
QUANTILE_F32 = 6e-7  # the float32 rationals: ~2.7e-7 (coefficients rounded to float32)
OFFSET_F64 = 1e-13  # relative to delta, for E of order 1 or more
OFFSET_F32 = 1e-6


def test_upper_quantile_accuracy():
    worst64 = worst32 = worst_central = 0.0
    for log_p in [-0.6931, -0.9, -1.5, -2.58, -2.6, -4.0, -8.0, -12.5, -20.0, -30.0, -45.0, -60.0, -75.0, -200.0, -700.0]:
        z = _exact_quantile(mpmath.mpf(log_p))
        p = float(mpmath.exp(log_p))
        worst64 = max(worst64, abs(_q64(p, -log_p) - float(z)) / float(z) if z > 0.01 else 0.0)
        if log_p >= -75:
            got = float(_q32(np.float32(p), np.float32(-log_p)))
            worst32 = max(worst32, abs(got - float(z)) / float(z) if z > 0.01 else 0.0)
        if p >= 0.02:
            got = float(_c32(np.float32(p)))
            worst_central = max(worst_central, abs(got - float(z)) / float(z) if z > 0.01 else 0.0)
    assert worst64 < QUANTILE_F64 and worst32 < QUANTILE_F32 and worst_central < QUANTILE_F32, (worst64, worst32, worst_central)


def test_tail_offset_accuracy():
    for alpha in (20.0, 35.0, 1e4):
        for e in (0.5, 3.0, 20.0):
            exact = _exact_quantile(mpmath.log(mpmath.erfc(mpmath.mpf(alpha) / mpmath.sqrt(2)) / 2) - e) - alpha
            s64 = float(sum(mpmath.mpf(c) / mpmath.mpf(alpha) ** (2 * k) for k, c in enumerate(series_coefficients(9))))
            assert abs(_t64(e, alpha, s64) - float(exact)) <= OFFSET_F64 * float(exact), (alpha, e)
    for alpha in (10.0, 15.0, 1e3):
        for e in (0.5, 3.0, 20.0):
            exact = _exact_quantile(mpmath.log(mpmath.erfc(mpmath.mpf(alpha) / mpmath.sqrt(2)) / 2) - e) - alpha
            s32 = np.float32(float(sum(mpmath.mpf(c) / mpmath.mpf(alpha) ** (2 * k) for k, c in enumerate(series_coefficients(5)))))
            got = float(_t32(np.float32(e), np.float32(alpha), s32))
            assert abs(got - float(exact)) <= OFFSET_F32 * float(exact) + 2e-7 * alpha, (alpha, e)


# --- other processes: thread count and CPU target ------------------------------------------------

BIG = PARALLEL_MIN_ELEMENTS * 2 + 1234
PROCESS_CASES = [
    ["philox4x32-10/uniform", "float32", {"low": -1.0, "high": 2.0}],
    ["philox4x32-10/uniform", "float64", {"low": -1.0, "high": 2.0}],
    ["philox4x32-10/uniform", "bfloat16", {"low": 0.0, "high": 1.0}],
    ["philox4x32-10/truncated-normal", "float32", {"mean": 0.0, "scale": 1.0, "low": -2.0, "high": 2.0}],
    ["philox4x32-10/truncated-normal", "float16", {"mean": 0.0, "scale": 1.0, "low": 2.5, "high": 4.0}],
    ["philox4x32-10/truncated-normal", "float64", {"mean": 0.0, "scale": 1.0, "low": 2.5, "high": 4.0}],
    ["philox4x32-10/truncated-normal", "float32", {"mean": 0.0, "scale": 1.0, "low": 12.0, "high": 1e300}],
    ["philox4x32-10/truncated-normal", "float64", {"mean": 0.0, "scale": 1.0, "low": 25.0, "high": 26.0}],
    ["philox4x32-10/truncated-normal", "float32", {"mean": 0.0, "scale": 1.0, "low": 0.5, "high": 0.501}],
]
_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np, ml_dtypes
    from reprovar.algorithms import get_algorithm
    out = []
    for name, dtype, params, n, seed in json.loads(sys.argv[1]):
        dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
        a = get_algorithm(name, 1).generate((n,), dt, seed=seed, **params)
        out.append(hashlib.sha256(a.tobytes()).hexdigest())
    print(json.dumps(out))
    """
)


# The generic target compiles every kernel from scratch (minutes on 2 cores for all of them):
# one case per kernel method and arithmetic, with the serial kernels (the parallel ones run
# the same inlined element code, and 7 threads are checked on the host target above).
GENERIC_CASES = [0, 2, 3, 4, 5, 6, 7]


def _cases(n=BIG, which=None):
    chosen = PROCESS_CASES if which is None else [PROCESS_CASES[i] for i in which]
    return [[name, dtype, params, n, 2**40 + 3] for name, dtype, params in chosen]


def _in_subprocess(env_extra, cases):
    env = {**os.environ, **env_extra}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(cases)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _here(cases):
    import ml_dtypes

    out = []
    for name, dtype, params, n, seed in cases:
        dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
        out.append(hashlib.sha256(algorithms.get_algorithm(name, 1).generate((n,), dt, seed=seed, **params).tobytes()).hexdigest())
    return out


def test_process_cases_cover_every_new_algorithm():
    # The orthogonal algorithms make whole matrices, not 1-D pieces: test_orthogonal.py runs
    # the same cross-process checks for them.
    elementwise = {n for n, v in algorithms.registered_algorithms() if algorithms.get_algorithm(n, v).elementwise}
    assert {c[0] for c in PROCESS_CASES} | {"philox4x32-10/box-muller"} == elementwise


@pytest.mark.slow
def test_seven_threads_and_the_generic_cpu_target_give_the_same_bits(tmp_path):
    # Generic x86-64: no AVX, no FMA; a fresh cache so that the kernels compile for it.
    assert _in_subprocess({"NUMBA_NUM_THREADS": "7"}, _cases()) == _here(_cases())
    generic = _cases(20_000, GENERIC_CASES)
    env = {"NUMBA_CPU_NAME": "generic", "NUMBA_CPU_FEATURES": "", "NUMBA_CACHE_DIR": str(tmp_path)}
    assert _in_subprocess(env, generic) == _here(generic)
