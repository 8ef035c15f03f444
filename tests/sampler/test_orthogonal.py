"""The orthogonal algorithms: orthogonal to working precision, Haar distributed, the same bits
for any schedule, thread count and x86-64 target, and no fused multiply-add in their code.

Each statistical check is also run on a perturbed sampler (Q without the sign correction, or
a float32-accurate Q offered as float64) and must reject it: a check that passes everything
proves nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from scipy import stats

import reprovar
import reprovar.errors
from reprovar.algorithms import DEFAULT_ALGORITHM, get_algorithm
from reprovar.errors import ArgumentTypeError, ArgumentValueError
from reprovar.sampler.kernels.orthogonal import orthonormal, orthonormal_q

ORTH = get_algorithm("philox4x32-10/orthogonal", 1)
LAST = get_algorithm("philox4x32-10/orthogonal-last-axis", 1)
F32, F64 = np.dtype("float32"), np.dtype("float64")


def gram_error(q: np.ndarray) -> float:
    """max |Q^T Q - I| for a matrix with orthonormal columns, computed in float64."""
    q = q.astype(np.float64)
    return float(np.abs(q.T @ q - np.eye(q.shape[1])).max())


def within_bound(q: np.ndarray, eps: float, c: float = 2.0) -> bool:
    """The orthogonality bound ``||Q^T Q - I||_max <= c n eps`` (n = the columns)."""
    return gram_error(q) <= c * q.shape[1] * eps


# --- orthogonality -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
@pytest.mark.parametrize("shape", [(2, 2), (5, 3), (64, 64), (300, 120), (1024, 1024)], ids=str)
def test_columns_orthonormal_to_working_precision(shape, dtype):
    q = ORTH.generate(shape, dtype, seed=11, scale=1.0)
    assert q.dtype == dtype and q.shape == shape
    assert within_bound(q, float(np.finfo(dtype).eps))


def test_orthogonality_bound_rejects_a_float32_accurate_matrix():
    # The float64 bound is tight enough to tell float64 arithmetic from float32 arithmetic.
    q32 = ORTH.generate((256, 256), F32, seed=11, scale=1.0).astype(np.float64)
    assert not within_bound(q32, float(np.finfo(np.float64).eps))
    assert within_bound(q32, float(np.finfo(np.float32).eps))


@pytest.mark.parametrize(
    "alg, shape, matrix",
    [
        (ORTH, (3, 7), (3, 7)),
        (ORTH, (7, 3), (7, 3)),
        (ORTH, (64, 3, 3, 3), (64, 27)),
        (ORTH, (8, 3, 3, 3), (8, 27)),
        (LAST, (3, 3, 4, 16), (36, 16)),
        (LAST, (3, 3, 2, 64), (18, 64)),
    ],
)
def test_the_matrix_of_each_layout_is_orthogonal_times_the_gain(alg, shape, matrix):
    q = alg.generate(shape, F64, seed=5, scale=-2.5).reshape(matrix)
    rows, cols = matrix
    gram = q @ q.T if rows < cols else q.T @ q
    assert np.abs(gram - 6.25 * np.eye(min(rows, cols))).max() < 1e-12


def test_2d_layouts_are_the_same_bits():
    assert ORTH.generate((6, 9), F32, seed=3, scale=1.0).tobytes() == LAST.generate((6, 9), F32, seed=3, scale=1.0).tobytes()


def test_half_precisions_are_the_float32_values_rounded():
    import ml_dtypes

    q32 = ORTH.generate((40, 24), F32, seed=8, scale=1.5)
    for dt in (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)):
        assert ORTH.generate((40, 24), dt, seed=8, scale=1.5).tobytes() == q32.astype(dt).tobytes()


# --- Haar distribution ---------------------------------------------------------------------------

N, MATRICES = 24, 400


def _ours(n=N, count=MATRICES, dtype=F64):
    return np.stack([ORTH.generate((n, n), dtype, seed=s, scale=1.0) for s in range(count)])


def _without_sign_correction(n=N, count=MATRICES):
    # The perturbed sampler: the same normal matrices and QR, Q taken as the kernel leaves it.
    out = []
    for s in range(count):
        a = DEFAULT_ALGORITHM.generate((n, n), F64, seed=s, mean=0.0, scale=1.0)
        q, d = np.empty_like(a), np.empty(n)
        orthonormal(a, q, d)
        out.append(q)
    return np.stack(out)


def _entry_cdf(x, n=N):
    # One entry of a Haar orthogonal n x n matrix: symmetric, with q^2 ~ Beta(1/2, (n-1)/2).
    return 0.5 + np.sign(x) * stats.beta(0.5, (n - 1) / 2).cdf(np.minimum(np.square(x), 1.0)) / 2


def _entries_pass(qs) -> bool:
    # Entries at several places, each across independent matrices; sqrt(n) q_ij -> N(0, 1).
    places = [(0, 0), (3, 5), (N - 1, N - 1), (7, 0)]
    exact = [stats.kstest(qs[:, i, j], _entry_cdf).pvalue for i, j in places]
    limit = stats.kstest(np.sqrt(N) * qs[:, 2, 1], "norm").pvalue
    return min(exact) > 1e-3 / len(places) and limit > 1e-4


def _traces_pass(qs) -> bool:
    # Diaconis-Shahshahani: for Haar O(n), tr(Q^j) = sum over eigenangles of cos(j theta) has mean
    # 1 (j even) or 0 (j odd) and variance j, and is close to normal for j << n.
    ok = True
    power = np.eye(qs.shape[1])[None].repeat(len(qs), 0)
    for j in range(1, 5):
        power = power @ qs
        t = (np.trace(power, axis1=1, axis2=2) - (1.0 if j % 2 == 0 else 0.0)) / np.sqrt(j)
        ok &= stats.kstest(t, "norm").pvalue > 1e-3 / 4
    return bool(ok)


def _angles(qs):
    a = np.angle(np.linalg.eigvals(qs)).ravel()
    return a[a > 1e-7]  # one of each conjugate pair; the eigenvalues +-1 left out


@pytest.fixture(scope="module")
def haar_samples():
    return _ours(), _without_sign_correction()


def test_entries_follow_the_haar_marginal(haar_samples):
    ours, perturbed = haar_samples
    assert _entries_pass(ours)
    assert not _entries_pass(perturbed)


def test_eigenangles_are_those_of_haar_matrices(haar_samples):
    ours, perturbed = haar_samples
    assert _traces_pass(ours)
    assert not _traces_pass(perturbed)
    # And the eigenangles as a whole, against scipy's Haar sampler (a different construction).
    reference = _angles(stats.ortho_group.rvs(N, size=MATRICES, random_state=20261203))
    assert stats.ks_2samp(_angles(ours), reference).pvalue > 1e-3
    assert stats.ks_2samp(_angles(perturbed), reference).pvalue < 1e-6


def test_wide_matrices_have_haar_rows():
    # (8, 24): rows orthonormal; each entry of a uniformly random 24-vector row: q^2 ~ Beta(1/2, 23/2).
    qs = np.stack([ORTH.generate((8, 24), F64, seed=s, scale=1.0) for s in range(MATRICES)])
    assert stats.kstest(qs[:, 0, 0], lambda x: _entry_cdf(x, 24)).pvalue > 1e-3
    assert stats.kstest(qs[:, 7, 23], lambda x: _entry_cdf(x, 24)).pvalue > 1e-3


# --- the same bits for any schedule, thread count and target --------------------------------------


def _factored(a, **schedule):
    a = a.copy()
    q, d = np.empty_like(a), np.empty(a.shape[1], a.dtype)
    orthonormal(a, q, d, **schedule)
    return q.tobytes() + d.tobytes() + a.tobytes()


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_schedule_does_not_change_the_bits(dtype):
    a = DEFAULT_ALGORITHM.generate((97, 61), dtype, seed=4, mean=0.0, scale=1.0)
    plain = _factored(a, panel=1, chunk=1)  # column by column: the order the module doc states
    for schedule in (dict(), dict(panel=7, chunk=5), dict(panel=64, chunk=3), dict(parallel=True, panel=5, chunk=2),
                     dict(parallel=True), dict(panel=3, chunk=1000), dict(parallel=True, panel=16, chunk=17)):
        assert _factored(a, **schedule) == plain, schedule


@pytest.mark.parametrize("dtype", [F32, F64], ids=str)
def test_orthonormal_q_is_the_q_of_orthonormal_and_leaves_its_input(dtype):
    a = DEFAULT_ALGORITHM.generate((70, 45), dtype, seed=8, mean=0.0, scale=1.0)
    q, d = np.empty_like(a), np.empty(45, dtype)
    orthonormal(a.copy(), q, d)
    kept, d2 = a.copy(), np.empty(45, dtype)
    q2 = orthonormal_q(a, d2, parallel=True)
    assert q2.shape == q.shape and q2.tobytes() == q.tobytes() and d2.tobytes() == d.tobytes()
    assert a.tobytes() == kept.tobytes()


def test_serial_and_parallel_kernels_have_cache_entries_of_their_own():
    # Numba files cached code by function name and line, not by flags: one function built
    # twice would load one build's machine code for both (the parallel QR then ran on one thread).
    from reprovar.sampler.kernels import orthogonal as k

    kernels = (k._factor_serial, k._factor_parallel, k._form_q_serial, k._form_q_parallel)
    assert len({f._cache._cache_file._index_name for f in kernels}) == len(kernels)
    assert [f.targetoptions.get("parallel", False) for f in kernels] == [False, True, False, True]


def test_thread_count_does_not_change_the_bits():
    shape = (640, 400)  # more than PARALLEL_MIN_ELEMENTS: the parallel kernel runs
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = ORTH.generate(shape, F32, seed=2**40 + 1, scale=1.0).tobytes()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        every = ORTH.generate(shape, F32, seed=2**40 + 1, scale=1.0).tobytes()
    finally:
        numba.set_num_threads(before)
    assert one == every


_DIGESTS = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    from reprovar.algorithms import get_algorithm
    out = []
    for name, shape, dtype, seed in json.loads(sys.argv[1]):
        v = get_algorithm(name, 1).generate(tuple(shape), np.dtype(dtype), seed=seed, scale=1.0)
        out.append(hashlib.sha256(v.tobytes()).hexdigest())
    print(json.dumps(out))
    """
)
_CASES = [
    ["philox4x32-10/orthogonal", [640, 400], "float32", 7],
    ["philox4x32-10/orthogonal", [96, 3, 3, 3], "float64", 2**63 + 9],
    ["philox4x32-10/orthogonal-last-axis", [3, 3, 8, 40], "float32", 1],
]


def _digests_here():
    return [
        hashlib.sha256(get_algorithm(n, 1).generate(tuple(s), np.dtype(d), seed=seed, scale=1.0).tobytes()).hexdigest()
        for n, s, d, seed in _CASES
    ]


def _digests_in(env_extra):
    proc = subprocess.run([sys.executable, "-c", _DIGESTS, json.dumps(_CASES)], env={**os.environ, **env_extra},
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_seven_threads_and_the_generic_cpu_target_give_the_same_bits(tmp_path):
    # Generic x86-64 has no AVX and no FMA; a fresh cache so that the kernels compile for it.
    # (The AVX2 and AVX-512 targets: the frozen digests, in test_reproducibility's target runs.)
    assert _digests_in({"NUMBA_NUM_THREADS": "7"}) == _digests_here()
    generic = {"NUMBA_CPU_NAME": "generic", "NUMBA_CPU_FEATURES": "", "NUMBA_CACHE_DIR": str(tmp_path)}
    assert _digests_in(generic) == _digests_here()


# The kernels compiled (not run: this host may lack the target's instructions) for targets
# that have FMA: an AVX2 one and two AVX-512 ones.
# Whatever this host is, the code made for each of them must hold no fused multiply-add, in
# the LLVM IR (no fma/fmuladd intrinsics, no contraction flags) nor in the machine code.
_ASM = textwrap.dedent(
    r"""
    import json, re
    import numpy as np
    from reprovar.sampler.kernels import orthogonal as k
    from numba import types
    from reprovar.sampler._jit import target_has_feature
    # compiled only: code made for a target this host lacks must not run here
    i64 = types.int64
    for dt in (types.float32, types.float64):
        mat, vec = types.Array(dt, 2, "C"), types.Array(dt, 1, "C")
        for f in (k._factor_serial, k._factor_parallel):
            f.compile((mat, i64, vec, vec, i64, i64, i64))
        for f in (k._form_q_serial, k._form_q_parallel):
            f.compile((mat, i64, vec, mat, i64, i64, i64))
    found = {"fma_feature": target_has_feature("fma"), "ir": [], "asm": [], "functions": 0}
    for f in (k._reflector, k._apply_run, k._dot_rows, k._update_rows, k._update_dot_rows,
              k._factor_serial, k._factor_parallel, k._form_q_serial, k._form_q_parallel):
        for sig, ir in f.inspect_llvm().items():
            found["functions"] += 1
            found["ir"] += re.findall(r"llvm\.fma\.|llvm\.fmuladd\.|\bf(?:mul|add|sub)\s+(?:[a-z]+\s+)*(?:contract|fast)\b", ir)
        for sig, asm in f.inspect_asm().items():
            found["asm"] += re.findall(r"^\s+(v?f(?:n?m(?:add|sub)|maddsub|msubadd)\w*)", asm, re.M)
    # A control: the same search finds the FMA that LLVM makes once contraction is allowed.
    from numba import njit

    @njit(fastmath=True)
    def axpy(a, x, y):
        for i in range(x.size):
            y[i] = y[i] + a * x[i]

    axpy.compile((types.float32, types.Array(types.float32, 1, "C"), types.Array(types.float32, 1, "C")))
    asm = "".join(axpy.inspect_asm().values())
    found["control"] = re.findall(r"^\s+(v?f(?:n?m(?:add|sub)|maddsub|msubadd)\w*)", asm, re.M)
    print(json.dumps(found))
    """
)
_AVX2 = "+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+popcnt,+sse4.1,+sse4.2,+ssse3,+sse3"
_FMA_TARGETS = {
    "avx2": ("haswell", _AVX2),
    "avx512-intel": ("skylake-avx512", _AVX2 + ",+avx512f,+avx512dq,+avx512bw,+avx512vl,+avx512cd"),
    "avx512-amd": ("znver4", _AVX2 + ",+avx512f,+avx512dq,+avx512bw,+avx512vl,+avx512cd"),
}


@pytest.mark.slow
@pytest.mark.parametrize("target", list(_FMA_TARGETS))
def test_no_fused_multiply_add_on_targets_that_have_it(target, tmp_path):
    cpu, features = _FMA_TARGETS[target]
    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": features, "NUMBA_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", _ASM], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["fma_feature"], f"{target} was compiled without FMA: the check would prove nothing"
    assert found["functions"] >= 9, found
    assert found["control"], f"{target}: the search missed the FMA of a fastmath kernel: {found}"
    assert found["ir"] == [] and found["asm"] == [], f"{target}: fused multiply-add in the kernels: {found}"


# --- the public maker ----------------------------------------------------------------------------


def test_orthogonal_variable_is_recorded_and_replays(tmp_path):
    led = reprovar.Ledger(str(tmp_path / "o.db"))
    v = reprovar.orthogonal_variable((128, 512), gain=2.0, name="w", seed=9, ledger=led)
    assert (v.record.distribution, v.record.scale, v.record.algorithm) == ("orthogonal", 2.0, ORTH.name)
    assert v.record.params == {"scale": 2.0}
    assert reprovar.replay("w", ledger=led).numpy().tobytes() == v.numpy().tobytes()
    k = reprovar.orthogonal_variable((3, 3, 4, 16), layout="last_axis", name="k", seed=9, ledger=led)
    assert k.record.distribution == "orthogonal_last_axis"
    assert reprovar.replay("k", ledger=led).numpy().tobytes() == k.numpy().tobytes()


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(shape=(5,)), ArgumentValueError, ["2 or more dimensions", "(5,)"]),
        (dict(gain=float("nan")), ArgumentValueError, ["gain", "finite"]),
        (dict(gain="1"), ArgumentTypeError, ["gain", "real number"]),
        (dict(gain=1e5, dtype="float16"), ArgumentValueError, ["gain", "float16", "65504"]),
        (dict(layout="rows"), ArgumentValueError, ["layout", "'first_axis'", "'last_axis'"]),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_recorded(tmp_path, kwargs, error, words):
    led = reprovar.Ledger(str(tmp_path / "bad.db"))
    args = dict(shape=(4, 4), name="w", seed=1, ledger=led) | kwargs
    with pytest.raises(error) as e:
        reprovar.orthogonal_variable(**args)
    assert all(w in str(e.value) for w in words), str(e.value)
    with pytest.raises(reprovar.errors.UnknownVariableError):
        led.get("w")


def test_pieces_are_refused_with_a_reason():
    with pytest.raises(ArgumentValueError, match="depend on the whole matrix"):
        ORTH.fill(np.empty(4, np.float32), 0, seed=1, scale=1.0)


def test_replay_and_verify_commands_remake_an_orthogonal_variable(tmp_path):
    from click.testing import CliRunner

    from reprovar.cli import main

    led = str(tmp_path / "cli.db")
    v = reprovar.orthogonal_variable((64, 3, 3, 3), 1.5, name="w", seed=5, ledger=led)
    out = tmp_path / "w.npy"
    runner = CliRunner()
    replayed = runner.invoke(main, ["replay", "w", "--ledger", led, "--output", str(out)], catch_exceptions=False)
    assert replayed.exit_code == 0 and "digest matches" in replayed.output, replayed.output
    assert np.load(out).tobytes() == v.numpy().tobytes()
    verified = runner.invoke(main, ["verify", "--all", "--ledger", led], catch_exceptions=False)
    assert verified.exit_code == 0 and "1 verified, 0 mismatched, 0 failed" in verified.output, verified.output


def test_a_dask_array_of_an_orthogonal_record_is_refused_with_the_reason(tmp_path):
    from reprovar.dask.tasks import spec_of_record

    v = reprovar.orthogonal_variable((8, 8), name="w", seed=5, ledger=str(tmp_path / "d.db"))
    with pytest.raises(ArgumentValueError, match="depend on the whole matrix.*reprovar.replay"):
        spec_of_record(v.record)
