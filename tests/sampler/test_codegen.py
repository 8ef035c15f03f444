"""The kernels compile to packed SIMD code at the width each x86-64 target offers.

Speed rests on it, so it is guarded, but for every target rather than for the host alone: the
kernels are compiled (never run) for a generic SSE2 target, an AVX2 target and two AVX-512
targets, which any x86-64 host can do, so the same assertions hold on AVX2 and AVX-512 hosts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from reprovar.sampler._jit import target_has_feature

# Compiles the three kernel specializations without running them, then lists, per output
# type, the vector registers (xmm, ymm, zmm) each instruction operates on.
SCRIPT = textwrap.dedent(
    r"""
    import collections, json, re
    from numba import types
    from reprovar.sampler._jit import target_has_feature
    from reprovar.sampler.kernels.normal import fill_blocks
    u64 = types.uint64
    for out, param in ((types.float32, types.float32), (types.float64, types.float64), (types.uint16, types.float32)):
        fill_blocks.compile((out[::1], u64, types.int64, u64, u64, param, param, types.boolean))
    found = {}
    for sig, asm in fill_blocks.inspect_asm().items():
        regs = collections.defaultdict(set)
        for op, operands in re.findall(r"^\s+([a-z][a-z0-9]*)\s+([^\n]*)$", asm, re.M):
            regs[op].update(re.findall(r"%([xyz]mm)\d", operands))
        found[str(sig[0].dtype)] = {op: sorted(r) for op, r in regs.items() if r}
    print(json.dumps({"f16c": target_has_feature("f16c"), "asm": found}))
    """
)

WIDTH = {"xmm": 128, "ymm": 256, "zmm": 512}
AVX2 = "+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+popcnt,+sse4.1,+sse4.2,+ssse3,+sse3"
AVX512 = AVX2 + ",+avx512f,+avx512dq,+avx512bw,+avx512vl,+avx512cd"

# (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES, the narrowest packed width the Philox rounds may use).
# LLVM may keep float arithmetic at 256 bits on AVX-512 targets (Intel tuning prefers it),
# so widths are lower bounds, not exact.
TARGETS = {
    "generic-sse2": ("generic", "", 128),
    "avx2": ("haswell", AVX2, 256),
    "avx512-intel": ("skylake-avx512", AVX512, 512),
    "avx512-amd": ("znver4", AVX512, 512),
}

# Packed instructions: Philox's 32x32->64 multiplies, and the float arithmetic of Box-Muller.
PHILOX_MULTIPLY = {"pmuludq", "vpmuludq", "vpmullq"}
PACKED_FLOAT = {
    "float32": ({"mulps", "vmulps"}, {"divps", "vdivps"}),
    "float64": ({"mulpd", "vmulpd"}, {"divpd", "vdivpd"}),
    "uint16": ({"mulps", "vmulps"}, {"divps", "vdivps"}),
}


def _compile_for(cpu_name: str, features: str, cache_dir: str) -> dict:
    # A fresh cache directory: Numba only shows the assembly of code it has just compiled.
    env = {**os.environ, "NUMBA_CPU_NAME": cpu_name, "NUMBA_CPU_FEATURES": features, "NUMBA_CACHE_DIR": cache_dir}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    # Each target compiles in its own process (the target is fixed when Numba starts); two at a time.
    def one(item):
        label, (cpu, features, _) = item
        return label, _compile_for(cpu, features, str(tmp_path_factory.mktemp(label)))

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(one, TARGETS.items()))


def _widest(ops: dict, names: set[str]) -> int:
    return max((WIDTH[r] for op in names & set(ops) for r in ops[op]), default=0)


@pytest.mark.slow
@pytest.mark.parametrize("target", list(TARGETS))
def test_philox_rounds_are_packed_at_the_targets_width(compiled, target):
    min_width = TARGETS[target][2]
    for dtype, ops in compiled[target]["asm"].items():
        width = _widest(ops, PHILOX_MULTIPLY)
        assert width >= min_width, f"{target}: Philox multiplies for {dtype} are {width}-bit, want >= {min_width}"


@pytest.mark.slow
@pytest.mark.parametrize("target", list(TARGETS))
def test_box_muller_arithmetic_is_packed(compiled, target):
    float_min = min(TARGETS[target][2], 256)  # see TARGETS: float code may stay at 256 bits
    for dtype, ops in compiled[target]["asm"].items():
        for names in PACKED_FLOAT[dtype]:
            width = _widest(ops, names)
            assert width >= float_min, f"{target}: {sorted(names)} for {dtype} is {width}-bit, want >= {float_min}"
        if target != "generic-sse2":  # SSE2 has packed sqrt, but LLVM keeps it scalar there
            sqrt = {"vsqrtpd"} if dtype == "float64" else {"vsqrtps"}
            assert _widest(ops, sqrt) >= 256, f"{target}: sqrt for {dtype} is not packed"


@pytest.mark.slow
@pytest.mark.parametrize("target", [t for t in TARGETS if t != "generic-sse2"])
def test_half_precision_uses_f16c_where_the_target_has_it(compiled, target):
    result = compiled[target]
    assert result["f16c"], f"{target} was compiled without F16C"
    assert "vcvtps2ph" in result["asm"]["uint16"]


@pytest.mark.slow
def test_host_target_is_packed_at_the_hosts_width(tmp_path):
    # The host's own target (no NUMBA_CPU_* override): at least 256-bit on any AVX2 or AVX-512
    # host, packed 128-bit SSE2 otherwise.
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    asm = json.loads(proc.stdout.strip().splitlines()[-1])["asm"]
    min_width = 256 if target_has_feature("avx2") else 128
    for dtype, ops in asm.items():
        assert _widest(ops, PHILOX_MULTIPLY) >= min_width, f"host: Philox rounds are not packed for {dtype}"
