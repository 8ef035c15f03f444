"""Regions from global index ranges: the same bits as the slice of the whole, at a region's cost."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from reprovar.sampler import region
from reprovar.algorithms import DEFAULT_ALGORITHM
from reprovar.errors import ArgumentValueError

DTYPES = [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_random_regions_equal_slices_of_the_whole(dtype):
    rng = np.random.default_rng(dtype.itemsize)
    for _ in range(60):
        ndim = int(rng.integers(0, 4))
        high = {0: 1, 1: 5000, 2: 90, 3: 25}[ndim]
        shape = tuple(int(n) for n in rng.integers(0, high, ndim))
        whole = DEFAULT_ALGORITHM.generate(shape, dtype, seed=5, mean=1.0, scale=2.0)
        ranges = [tuple(sorted(int(x) for x in rng.integers(0, n + 1, 2))) for n in shape]
        part = region.make_region(DEFAULT_ALGORITHM, shape, ranges, dtype, seed=5, mean=1.0, scale=2.0)
        expected = whole[tuple(slice(lo, hi) for lo, hi in ranges)]
        assert part.tobytes() == np.ascontiguousarray(expected).tobytes(), (shape, ranges)


@pytest.mark.parametrize("ranges", [((0, 3000), (7, 8)), ((5, 2995), (0, 40)), ((0, 3000), (1, 1500))])
def test_narrow_and_wide_column_regions(ranges):
    # Short runs take the shared-blocks path, long ones the in-place path.
    shape = (3000, 1501)
    whole = DEFAULT_ALGORITHM.generate(shape, np.dtype(np.float32), seed=9, mean=0.0, scale=1.0)
    part = region.make_region(DEFAULT_ALGORITHM, shape, ranges, np.dtype(np.float32), seed=9, mean=0.0, scale=1.0)
    assert part.tobytes() == np.ascontiguousarray(whole[tuple(slice(*r) for r in ranges)]).tobytes()


class CountingAlgorithm:
    """The default algorithm, counting the elements it is asked to make."""

    def __init__(self):
        self.made = 0

    def block_size(self, dtype):
        return DEFAULT_ALGORITHM.block_size(dtype)

    def fill(self, out, start, **kwargs):
        self.made += out.size
        DEFAULT_ALGORITHM.fill(out, start, **kwargs)


def test_a_column_costs_its_rows_blocks_never_the_whole_variable():
    shape = (200, 100_000)  # rows far longer than a block
    counting = CountingAlgorithm()
    region.make_region(counting, shape, ((0, 200), (500, 501)), np.dtype(np.float32), seed=1, mean=0.0, scale=1.0)
    assert counting.made <= 200 * DEFAULT_ALGORITHM.block_size(np.dtype(np.float32))
    counting = CountingAlgorithm()
    region.make_region(counting, (20_000, 50), ((0, 20_000), (10, 11)), np.dtype(np.float32), seed=1, mean=0.0, scale=1.0)
    block = DEFAULT_ALGORITHM.block_size(np.dtype(np.float32))
    assert counting.made <= 20_000 * 50 + 2 * block  # rows shorter than a block: each block made once


ALGORITHM_CASES = [
    ("philox4x32-10/box-muller", dict(mean=0.5, scale=2.0)),
    ("philox4x32-10/uniform", dict(low=-1.0, high=3.0)),
    ("philox4x32-10/truncated-normal", dict(mean=0.0, scale=1.0, low=-2.0, high=2.0)),
    ("philox4x32-10/truncated-normal", dict(mean=0.0, scale=1.0, low=2.5, high=4.0)),
    ("philox4x32-10/truncated-normal", dict(mean=0.0, scale=1.0, low=0.0, high=0.01)),  # float64 arithmetic
]


@pytest.mark.parametrize("name, params", ALGORITHM_CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_a_filler_equals_fill_and_a_region_sets_up_once(name, params, dtype, monkeypatch):
    from reprovar.algorithms import get_algorithm

    algorithm = get_algorithm(name, 1)
    dtype = np.dtype(dtype)
    fill = algorithm.filler(dtype, seed=5, **params)
    rng = np.random.default_rng(1)
    for start, size in [(0, 1), (3, 5000), *((int(rng.integers(0, 2**40)), int(rng.integers(1, 3000))) for _ in range(5))]:
        a, b = np.empty(size, dtype), np.empty(size, dtype)
        fill(a, start)
        algorithm.fill(b, start, seed=5, **params)
        assert a.tobytes() == b.tobytes(), (start, size)
    with pytest.raises(ArgumentValueError, match="out must be"):
        fill(np.empty(3, np.float64 if dtype != np.float64 else np.float32), 0)
    # A column region of 300 rows: the algorithm's per-variable set-up runs once.
    calls = []
    runner = type(algorithm)._runner
    monkeypatch.setattr(type(algorithm), "_runner", lambda self, *a: calls.append(1) or runner(self, *a))
    shape = (300, 2000)
    part = region.make_region(algorithm, shape, ((0, 300), (7, 9)), dtype, seed=5, **params)
    assert len(calls) == 1
    whole = algorithm.generate(shape, dtype, seed=5, **params)
    assert part.tobytes() == np.ascontiguousarray(whole[:, 7:9]).tobytes()


def test_runs_and_bad_ranges():
    starts, length = region.runs((4, 5, 6), ((1, 3), (0, 5), (0, 6)))
    assert starts.tolist() == [30] and length == 60
    starts, length = region.runs((4, 5, 6), ((1, 3), (2, 4), (0, 6)))
    assert starts.tolist() == [42, 72] and length == 12  # rows 2..3 of each matrix, whole
    with pytest.raises(ValueError, match=r"ranges\[1\]"):
        region.check_ranges((4, 5), ((0, 1), (2, 6)))
    with pytest.raises(ValueError, match="one \\(lo, hi\\) pair per dimension"):
        region.check_ranges((4, 5), ((0, 1),))


def test_fill_refuses_outputs_it_cannot_write_before_writing():
    swapped = np.dtype(np.float32).newbyteorder()
    cases = [
        (np.zeros(8, swapped), "byte order"),
        (np.zeros((2, 4), np.float32), "1-D"),
        (np.zeros(16, np.float32)[::2], "C-contiguous"),
        (np.zeros(8, np.int32), "not supported"),
    ]
    readonly = np.zeros(8, np.float32)
    readonly.flags.writeable = False
    cases.append((readonly, "writeable"))
    for out, fragment in cases:
        before = out.tobytes()
        with pytest.raises(ArgumentValueError, match=fragment):
            DEFAULT_ALGORITHM.fill(out, 0, seed=1, mean=0.0, scale=1.0)
        assert out.tobytes() == before
    fill = DEFAULT_ALGORITHM.filler(np.float32, seed=1, mean=0.0, scale=1.0)
    with pytest.raises(ArgumentValueError, match="out must be a float32 array"):
        fill(np.zeros(8, swapped), 0)
    with pytest.raises(ArgumentValueError, match="start must be >= 0"):
        fill(np.zeros(8, np.float32), -1)
