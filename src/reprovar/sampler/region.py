"""Rectangular regions of a variable, made from their global index ranges alone.

A region (a Dask chunk, a shard) is given by one ``[lo, hi)`` range per dimension of the
variable's shape. In the flat C order it is a set of equally long runs of consecutive
elements: one per index of the leading dimensions, each as long as the region is wide in
the dimensions it does not span whole. Values depend only on the element index, so each
run is made with ``algorithm.fill`` at its own offset: a region costs what its elements
cost, never the whole variable.

Short runs (a narrow column, say) would each cost a whole block of the algorithm's layout;
runs whose blocks touch are therefore made together, each block once, and copied out. So a
region never costs more than the blocks its rows touch.

Example:
    >>> import numpy as np
    >>> from reprovar.algorithms import DEFAULT_ALGORITHM as alg
    >>> whole = alg.generate((6, 5), np.dtype("float32"), seed=2, mean=0.0, scale=1.0)
    >>> part = make_region(alg, (6, 5), ((1, 4), (2, 3)), np.dtype("float32"), seed=2, mean=0.0, scale=1.0)
    >>> bool((part == whole[1:4, 2:3]).all())
    True
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ArgumentValueError

#: Runs at least this many blocks long are filled in place, each on its own: their partial
#: edge blocks cost little beside them.
DIRECT_RUN_BLOCKS = 16
#: Short runs are made in pieces of about this many blocks (the scratch buffer's size).
PIECE_BLOCKS = 256
#: Runs at least this long are copied out of the scratch buffer one slice each, shorter
#: ones by one gather per piece.
_COPY_BY_SLICE = 64
#: Planning granularity for an algorithm that does not say its block size.
_DEFAULT_BLOCK = 1024


def check_ranges(shape: tuple[int, ...], ranges) -> tuple[tuple[int, int], ...]:
    """``ranges`` as a tuple of ``(lo, hi)`` int pairs with ``0 <= lo <= hi <= shape[d]``.

    Example:
        >>> check_ranges((4, 5), [(0, 2), (1, 5)])
        ((0, 2), (1, 5))
    """
    ranges = tuple((int(lo), int(hi)) for lo, hi in ranges)
    if len(ranges) != len(shape):
        raise ArgumentValueError(f"ranges must have one (lo, hi) pair per dimension of shape={shape}, got {len(ranges)}")
    for d, ((lo, hi), n) in enumerate(zip(ranges, shape)):
        if not 0 <= lo <= hi <= n:
            raise ArgumentValueError(f"ranges[{d}]=({lo}, {hi}) must satisfy 0 <= lo <= hi <= {n}")
    return ranges


def runs(shape: tuple[int, ...], ranges: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, int]:
    """The region's elements as runs of the flat C order: ``(starts, length)``, starts ascending.

    Run ``i`` fills elements ``[i * length, (i + 1) * length)`` of the region in its own C order.

    Example:
        >>> starts, length = runs((4, 5), ((1, 3), (2, 4)))
        >>> starts.tolist(), length
        ([7, 12], 2)
        >>> runs((4, 5), ((1, 3), (0, 5)))[0].tolist()  # whole rows are one run
        [5]
    """
    if any(lo == hi for lo, hi in ranges):
        return np.zeros(0, np.int64), 0
    n = len(shape)
    if n == 0:
        return np.zeros(1, np.int64), 1
    strides = [math.prod(shape[d + 1 :]) for d in range(n)]
    k = n - 1  # dimensions after k are spanned whole: run k's range together with them
    while k > 0 and ranges[k] == (0, shape[k]):
        k -= 1
    lo_k, hi_k = ranges[k]
    starts = np.array([lo_k * strides[k]], np.int64)
    for d in range(k - 1, -1, -1):  # dimension 0 varies slowest, as in C order
        lo, hi = ranges[d]
        starts = np.add.outer(np.arange(lo, hi, dtype=np.int64) * strides[d], starts).reshape(-1)
    return starts, (hi_k - lo_k) * strides[k]


def _block_size(algorithm, dtype: np.dtype) -> int:
    # Only the plan's cost depends on it: any start is valid for ``fill``.
    block_size = getattr(algorithm, "block_size", None)
    return block_size(dtype) if block_size is not None else _DEFAULT_BLOCK


def fill_region(algorithm, out: np.ndarray, shape: tuple[int, ...], ranges, *, seed: int, **params) -> None:
    """Write the region ``ranges`` of the variable ``shape`` into ``out`` (C-contiguous, the
    region's shape or flat), bit for bit equal to the same slice of the whole variable.

    Example:
        >>> import numpy as np
        >>> from reprovar.algorithms import DEFAULT_ALGORITHM as alg
        >>> out = np.empty((2, 1), np.float64)
        >>> fill_region(alg, out, (3, 3), ((1, 3), (0, 1)), seed=1, mean=0.0, scale=1.0)
        >>> whole = alg.generate((3, 3), np.dtype("float64"), seed=1, mean=0.0, scale=1.0)
        >>> bool((out == whole[1:, :1]).all())
        True
    """
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ArgumentValueError("out must be a writeable, C-contiguous array")
    ranges = check_ranges(shape, ranges)
    starts, length = runs(shape, ranges)
    flat = out.reshape(-1)
    if flat.size != starts.size * length:
        raise ArgumentValueError(f"out has {flat.size} elements; the region has {starts.size * length}")
    if flat.size == 0:
        return
    block = _block_size(algorithm, out.dtype)
    fill = _filler(algorithm, out.dtype, seed, params)
    if starts.size == 1 or length >= DIRECT_RUN_BLOCKS * block:
        for i, start in enumerate(starts.tolist()):
            fill(flat[i * length : (i + 1) * length], start)
        return
    _fill_short_runs(fill, flat, starts, length, block, math.prod(shape))


def _filler(algorithm, dtype: np.dtype, seed: int, params: dict):
    # One set-up for all the runs of a region: a truncated normal's constants alone cost
    # more than making a short run.
    filler = getattr(algorithm, "filler", None)
    if filler is not None:
        return filler(dtype, seed=seed, **params)
    return lambda out, start: algorithm.fill(out, start, seed=seed, **params)


def _fill_short_runs(fill, flat, starts, length, block, total) -> None:
    first = starts // block  # the blocks each run touches: [first, last]
    last = (starts + (length - 1)) // block
    # Runs are made together while the blocks they touch are contiguous (each block once), in
    # pieces of about PIECE_BLOCKS blocks so that the scratch buffer stays small.
    new_segment = np.ones(starts.size, bool)
    new_segment[1:] = first[1:] > last[:-1] + 1
    segment_first = first[new_segment][np.cumsum(new_segment) - 1]
    piece = (first - segment_first) // PIECE_BLOCKS
    new_group = new_segment.copy()
    new_group[1:] |= piece[1:] != piece[:-1]
    bounds = np.append(np.flatnonzero(new_group), starts.size).tolist()
    lows = first[new_group] * block
    highs = np.minimum((last[np.asarray(bounds[1:]) - 1] + 1) * block, total)
    scratch = np.empty(int((highs - lows).max()), flat.dtype)
    offsets = np.arange(length, dtype=np.int64)
    for g, (lo, hi) in enumerate(zip(lows.tolist(), highs.tolist())):
        a, b = bounds[g], bounds[g + 1]
        made = scratch[: hi - lo]
        fill(made, lo)
        if length >= _COPY_BY_SLICE:
            for i, s in enumerate((starts[a:b] - lo).tolist(), a):
                flat[i * length : (i + 1) * length] = made[s : s + length]
        else:
            index = ((starts[a:b] - lo)[:, None] + offsets).reshape(-1)
            flat[a * length : b * length] = made[index]


def make_region(algorithm, shape: tuple[int, ...], ranges, dtype: np.dtype, *, seed: int, **params) -> np.ndarray:
    """A new array holding the region ``ranges`` of the variable ``shape`` (see :func:`fill_region`).

    Example:
        >>> import numpy as np
        >>> from reprovar.algorithms import DEFAULT_ALGORITHM as alg
        >>> make_region(alg, (10, 10), ((0, 2), (3, 6)), np.dtype("float32"), seed=4, mean=0.0, scale=1.0).shape
        (2, 3)
    """
    ranges = check_ranges(shape, ranges)
    out = np.empty(tuple(hi - lo for lo, hi in ranges), dtype)
    fill_region(algorithm, out, shape, ranges, seed=seed, **params)
    return out
