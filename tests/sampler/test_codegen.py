"""The kernels compile to packed AVX2 code on hosts that have it (speed rests on it, so guard it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from reprovar._jit import target_has_feature

SCRIPT = textwrap.dedent(
    r"""
    import json, re
    import numpy as np
    from reprovar.kernels import fill_blocks
    k = (np.uint64(1), np.uint64(0))
    fill_blocks(np.empty(2048, np.float32), np.uint64(0), 2, *k, np.float32(0), np.float32(1), False)
    fill_blocks(np.empty(2048, np.float64), np.uint64(0), 4, *k, 0.0, 1.0, False)
    fill_blocks(np.empty(2048, np.uint16), np.uint64(0), 2, *k, np.float32(0), np.float32(1), False)
    found = {}
    for sig, asm in fill_blocks.inspect_asm().items():
        found[str(sig[0].dtype)] = sorted(set(re.findall(r"\b(v\w+)\s+[^\n]*%ymm", asm)))
    print(json.dumps(found))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not target_has_feature("avx2"), reason="packed 256-bit code needs an AVX2 host")
def test_kernels_use_packed_256_bit_instructions(tmp_path):
    # A fresh cache directory: Numba only shows the assembly of code it has just compiled.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    ymm = json.loads(proc.stdout.strip().splitlines()[-1])
    for dtype in ("float32", "float64", "uint16"):
        assert "vpmuludq" in ymm[dtype], f"Philox rounds are not vectorized for {dtype}"
    assert {"vsqrtps", "vdivps", "vmulps"} <= set(ymm["float32"])
    assert {"vsqrtpd", "vdivpd", "vmulpd"} <= set(ymm["float64"])
    if target_has_feature("f16c"):
        assert "vcvtps2ph" in ymm["uint16"]
