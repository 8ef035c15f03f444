"""Numba's on-disk cache, shared by processes: an entry filed under the wrong signature is a miss.

Two processes compiling one kernel at once can leave its index naming, for one signature, a
data file that holds another signature's machine code (Numba reads the index, picks a file
name, writes the index, then the data, with nothing taking turns). The test builds that
state on purpose, by swapping two data files, and checks that a new process makes the same
values as before instead of running float64 code on float32 arrays.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

VALUES = """
import hashlib, numpy as np
from reprovar.algorithms import default_algorithm
out = []
for dtype in (np.float64, np.float32):
    v = np.empty(20000, dtype)
    default_algorithm("truncated_normal").fill(v, 0, seed=11, mean=0.0, scale=1.0, low=3.0, high=5.0)
    out.append(hashlib.sha256(v.tobytes()).hexdigest())
print(" ".join(out))
"""


def _values(cache: Path) -> str:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", VALUES], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_data_file_of_another_signature_is_compiled_again_not_run(tmp_path):
    cache = tmp_path / "cache"
    expected = _values(cache)  # compiles both signatures into the cache
    [index] = cache.rglob("truncated_normal.fill_truncnorm_icdf-*.nbi")
    data = sorted(index.parent.glob(index.name[: -len(".nbi")] + ".*.nbc"))
    assert len(data) == 2, data
    # The state a race between two writers leaves: each entry names the other's machine code.
    first, second = data
    swap = first.with_suffix(".swap")
    first.rename(swap)
    second.rename(first)
    swap.rename(second)
    assert _values(cache) == expected
    assert _values(cache) == expected  # and the entries were rewritten, not left to miss forever


def test_the_cache_key_covers_every_file_of_the_sampler_package(tmp_path, monkeypatch):
    # Numba keys a cached kernel to its own file; reprovar's key is every .py file under
    # sampler/, so a new kernel module, or an edit of a shared one, makes stale code a miss.
    import shutil

    from reprovar.sampler import _jit

    copy = tmp_path / "sampler"
    shutil.copytree(Path(_jit.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_jit, "_PACKAGE_DIR", copy)
    stamps = [_jit._kernel_source_stamp()]
    (copy / "kernels" / "new_distribution.py").write_text("X = 1\n")
    stamps.append(_jit._kernel_source_stamp())
    words = copy / "kernels" / "words.py"
    words.write_text(words.read_text() + "\n# an edit\n")
    stamps.append(_jit._kernel_source_stamp())
    (copy / "transforms" / "box_muller.py").rename(copy / "transforms" / "box_muller_moved.py")
    stamps.append(_jit._kernel_source_stamp())
    assert len(set(stamps)) == 4
    assert _jit._kernel_source_stamp() == stamps[-1]  # and it is a function of the files alone


def test_one_function_cannot_be_built_as_two_kernels_sharing_a_cache_entry():
    import pytest

    from reprovar.sampler._jit import kernel, parallel_kernel

    def twice(out):  # never compiled: the refusal comes at decoration
        out[0] = 1

    kernel(twice)
    kernel(twice)  # the same build again is the same entry
    with pytest.raises(RuntimeError, match="built as a serial and a parallel kernel"):
        parallel_kernel(twice)
