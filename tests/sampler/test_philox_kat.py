"""Philox4x32-10 against Random123's published known-answer vectors, and the lane kernel against it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reprovar.sampler.bits import philox4x32, philox4x32_lanes

KAT_FILE = Path(__file__).parents[1] / "data" / "random123_kat_philox4x32.txt"


def _kat_vectors():
    for line in KAT_FILE.read_text().splitlines():
        if line.startswith("philox4x32 10 "):
            words = [int(w, 16) for w in line.split()[2:]]
            yield words[:4], words[4:6], words[6:]


KAT = list(_kat_vectors())


def test_kat_file_has_the_three_published_vectors():
    assert len(KAT) == 3


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_philox4x32_10_matches_random123(counter, key, expected):
    out = philox4x32(np.array(counter, np.uint32), np.array(key, np.uint32))
    assert [int(w) for w in out] == expected


def test_lanes_equal_the_scalar_generator():
    rng = np.random.default_rng(20261129)
    for _ in range(20):
        c1, c2, c3, k0, k1 = (int(v) for v in rng.integers(0, 2**32, 5, dtype=np.uint64))
        x = [np.empty(300, np.uint32) for _ in range(4)]
        philox4x32_lanes(*(np.uint64(v) for v in (c1, c2, c3, k0, k1)), *x)
        for j in (0, 1, 2, 255, 256, 299):
            expected = philox4x32(np.array([j, c1, c2, c3], np.uint32), np.array([k0, k1], np.uint32))
            assert [int(w[j]) for w in x] == [int(w) for w in expected]
