"""Reproducibility is the product: the same bits for any thread count, chunking, CPU target and run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import ml_dtypes
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprovar.sampler import layout
from reprovar.sampler.kernels import normal as kernels
from reprovar.algorithms import DEFAULT_ALGORITHM, PARALLEL_MIN_ELEMENTS, registered_algorithms
from reprovar.sampler.bits import philox4x32
from reprovar.sampler.transforms.box_muller import normal_pair_f32, normal_pair_f64

import frozen_digests  # tests/sampler/frozen_digests.py, the table tools/check_aarch64.sh shares

DTYPES = [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]
BIG = PARALLEL_MIN_ELEMENTS * 4 + 1234  # takes the parallel path, with partial blocks


def make(n, dtype, seed=2026, mean=0.5, scale=2.0, start=0):
    out = np.empty(n, dtype)
    DEFAULT_ALGORITHM.fill(out, start, seed=seed, mean=mean, scale=scale)
    return out


# --- the specification, evaluated one element at a time --------------------------------------

pair_f32 = numba.njit(lambda x, y: normal_pair_f32(x, y))
pair_f64 = numba.njit(lambda a, b, c, d: normal_pair_f64(a, b, c, d))


def spec_element(seed: int, index: int, dtype: np.dtype, mean: float, scale: float):
    """Element ``index`` computed from the documented layout, with the scalar Philox."""
    key = np.array([seed & 0xFFFFFFFF, seed >> 32], np.uint32)
    if dtype == np.float64:
        block, k = divmod(index, layout.BLOCK_F64)
        lane, half = k % layout.LANES, k // layout.LANES
        w = philox4x32(np.array([lane, block & 0xFFFFFFFF, block >> 32, 2], np.uint32), key)
        z = pair_f64(w[0], w[1], w[2], w[3])[half]
        return np.float64(mean) + np.float64(scale) * z
    block, k = divmod(index, layout.BLOCK_F32)
    lane, quarter = k % layout.LANES, k // layout.LANES
    w = philox4x32(np.array([lane, block & 0xFFFFFFFF, block >> 32, 1], np.uint32), key)
    z = pair_f32(w[0], w[1])[quarter] if quarter < 2 else pair_f32(w[2], w[3])[quarter - 2]
    return (np.float32(mean) + np.float32(scale) * z).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_element_follows_the_documented_layout(dtype):
    seed, n = 0xDEADBEEF12345678, 3000
    whole = make(n, dtype, seed=seed)
    for i in [0, 1, 255, 256, 511, 512, 767, 768, 1023, 1024, 2047, 2999]:
        assert whole[i].tobytes() == np.asarray(spec_element(seed, i, dtype, 0.5, 2.0), dtype).tobytes(), i


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_pieces_far_into_the_stream_follow_the_layout(dtype):
    # Block indices above 2**32 use counter word 2; a piece there needs no memory for what precedes it.
    start = 2**45 + 1021
    piece = make(8, dtype, seed=7, start=start)
    for i in range(8):
        assert piece[i].tobytes() == np.asarray(spec_element(7, start + i, dtype, 0.5, 2.0), dtype).tobytes()


# --- threads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_one_thread_equals_all_threads(dtype):
    all_threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = make(BIG, dtype)
    finally:
        numba.set_num_threads(all_threads)
    assert all_threads == numba.config.NUMBA_NUM_THREADS
    assert make(BIG, dtype).tobytes() == one.tobytes()


def test_one_numba_thread_means_the_serial_kernel(monkeypatch):
    # Dask tasks rely on this: with one thread allowed, no parallel region is ever launched.
    from reprovar.sampler.kernels import normal as kernels

    all_threads = numba.get_num_threads()
    expected = make(BIG, np.dtype("float32"))

    def refuse(*args):
        raise AssertionError("the parallel kernel ran with numba.set_num_threads(1)")

    monkeypatch.setattr(kernels, "fill_blocks_parallel", refuse)
    try:
        numba.set_num_threads(1)
        one = make(BIG, np.dtype("float32"))
    finally:
        numba.set_num_threads(all_threads)
    assert one.tobytes() == expected.tobytes()


def _digests_in_subprocess(env_extra: dict, cases: list) -> list[str]:
    script = textwrap.dedent(
        """
        import hashlib, json, sys
        import numpy as np, ml_dtypes
        from reprovar.algorithms import DEFAULT_ALGORITHM
        out = []
        for n, dtype, seed in json.loads(sys.argv[1]):
            dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
            a = DEFAULT_ALGORITHM.generate((n,), dt, seed=seed, mean=0.5, scale=2.0)
            out.append(hashlib.sha256(a.tobytes()).hexdigest())
        print(json.dumps(out))
        """
    )
    env = {**os.environ, **env_extra}
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(cases)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


CROSS_PROCESS_CASES = [[BIG, d.name, 2026] for d in DTYPES] + [[777, "float32", 2**64 - 1], [777, "float64", 0]]


def _local_digests():
    return [
        hashlib.sha256(make(n, np.dtype(ml_dtypes.bfloat16) if d == "bfloat16" else np.dtype(d), seed=s).tobytes()).hexdigest()
        for n, d, s in CROSS_PROCESS_CASES
    ]


@pytest.mark.slow
def test_seven_threads_on_two_cores_in_a_fresh_process():
    assert _digests_in_subprocess({"NUMBA_NUM_THREADS": "7"}, CROSS_PROCESS_CASES) == _local_digests()


def _host_features() -> list[str]:
    from numba.core.codegen import get_host_cpu_features

    return get_host_cpu_features().split(",")


def _without_avx512(features: list[str]) -> str:
    wide = ("avx512", "avx10", "evex512", "amx")
    return ",".join("-" + f[1:] if f[1:].startswith(wide) else f for f in features)


CHECK_FROZEN = Path(__file__).resolve().parents[2] / "tools" / "check_frozen_digests.py"

_AVX512_NEEDS = {"avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd"}

# label -> (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES, host features it needs to run). Named targets
# keep the host's feature list (minus AVX-512 for the AVX2 one), so their code runs here; a
# target the host cannot execute is skipped, and covered on the hosts that can.
CPU_TARGETS = {
    "generic": ("generic", "", set()),
    "avx2": ("haswell", _without_avx512(_host_features()), {"avx2", "fma", "f16c"}),
    "avx512-intel": ("skylake-avx512", ",".join(_host_features()), _AVX512_NEEDS),
    "avx512-amd": ("znver4", ",".join(_host_features()), _AVX512_NEEDS),
}


def _missing_on_host(needs: set[str]) -> set[str]:
    return {f for f in needs if f"+{f}" not in _host_features()}


@pytest.fixture(scope="module")
def target_digests(tmp_path_factory):
    from concurrent.futures import ThreadPoolExecutor

    def run(label):
        cpu, features, _ = CPU_TARGETS[label]
        env = {"NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": features, "NUMBA_CACHE_DIR": str(tmp_path_factory.mktemp(label))}
        digests = _digests_in_subprocess(env, CROSS_PROCESS_CASES)
        # Every registered algorithm's frozen digests, compiled for the same target (the
        # normal kernels come from the cache the first run filled).
        frozen = subprocess.run(
            [sys.executable, str(CHECK_FROZEN)], env={**os.environ, **env}, capture_output=True, text=True, timeout=900
        )
        return label, (digests, frozen.returncode, frozen.stdout + frozen.stderr)

    runnable = [label for label, (_, _, needs) in CPU_TARGETS.items() if not _missing_on_host(needs)]
    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(run, runnable))


@pytest.mark.slow
@pytest.mark.parametrize("target", list(CPU_TARGETS))
def test_cpu_target_equals_host_target(target, target_digests):
    # Generic x86-64 has no AVX and no FMA; the AVX2 and AVX-512 targets vectorize at 256 and
    # 512 bits with their own tuning. Equal bits show that no instruction-set feature (vector
    # width, fused multiply-add, libm) leaks into the values.
    missing = _missing_on_host(CPU_TARGETS[target][2])
    if missing:
        pytest.skip(f"this host cannot run {target} code (lacks {', '.join(sorted(missing))})")
    digests, frozen_status, frozen_output = target_digests[target]
    assert digests == _local_digests()
    assert frozen_status == 0, frozen_output  # every algorithm's frozen digests, on this target


# --- chunking ----------------------------------------------------------------------------------

WHOLE = {d.name: make(20_000, d, seed=99) for d in DTYPES}


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from([d.name for d in DTYPES]),
    cuts=st.lists(st.integers(0, 20_000), max_size=12),
)
def test_pieces_at_arbitrary_offsets_equal_the_whole(dtype, cuts):
    whole = WHOLE[dtype]
    bounds = sorted({0, 20_000, *cuts})
    for lo, hi in zip(bounds, bounds[1:]):
        assert make(hi - lo, whole.dtype, seed=99, start=lo).tobytes() == whole[lo:hi].tobytes(), (lo, hi)


def test_large_piece_in_the_parallel_path_equals_the_slice():
    whole = make(3 * BIG, np.dtype(np.float32), seed=5)
    start = BIG // 3 + 17
    assert make(BIG, np.dtype(np.float32), seed=5, start=start).tobytes() == whole[start : start + BIG].tobytes()


@numba.njit(parallel=True)
def _user_prange_fill_backwards(out, k0, k1, mean, scale):
    # A user's own parallel loop, taking blocks in reverse order, one kernel call per block.
    n_blocks = out.shape[0] // layout.BLOCK_F32
    for t in numba.prange(n_blocks):
        b = n_blocks - 1 - t
        kernels.fill_blocks(
            out[b * layout.BLOCK_F32 : (b + 1) * layout.BLOCK_F32], np.uint64(b), 1, k0, k1, mean, scale, False
        )


def test_kernel_called_from_a_users_parallel_function():
    n = 64 * layout.BLOCK_F32
    out = np.empty(n, np.float32)
    seed = 123456789012345
    _user_prange_fill_backwards(out, np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32), np.float32(0.5), np.float32(2.0))
    assert out.tobytes() == make(n, np.dtype(np.float32), seed=seed).tobytes()


# --- runs and versions -------------------------------------------------------------------------


def test_same_arguments_same_bits_and_seeds_differ():
    a = make(5000, np.dtype(np.float32), seed=1)
    assert make(5000, np.dtype(np.float32), seed=1).tobytes() == a.tobytes()
    assert (make(5000, np.dtype(np.float32), seed=2) != a).mean() > 0.99


# Frozen digests of every registered algorithm, in the table that tools/check_aarch64.sh also
# checks on aarch64. A failure here means released values changed: that must be a new
# algorithm version, never an edit of a released one.


@pytest.mark.parametrize("case", frozen_digests.FROZEN, ids=frozen_digests.FrozenCase.label)
def test_frozen_digests(case):
    assert frozen_digests.digest(case) == case.sha256


def test_every_registered_algorithm_has_frozen_digests():
    missing = frozen_digests.uncovered(registered_algorithms())
    assert not missing, f"add FrozenCase rows to tests/sampler/frozen_digests.py for {missing}"


def test_frozen_cases_are_well_formed():
    for case in frozen_digests.FROZEN:
        assert (case.algorithm, case.version) in registered_algorithms(), case.label()
        assert case.dtype in {d.name for d in DTYPES}, case.label()
        assert all(isinstance(v, float) for v in case.params.values()), case.label()
        assert 0 <= case.seed < 2**64 and len(case.sha256) == 64, case.label()
    assert len({c.label() for c in frozen_digests.FROZEN}) == len(frozen_digests.FROZEN), "duplicate case"
