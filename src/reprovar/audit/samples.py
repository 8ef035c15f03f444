"""The values a report looks at: a fixed piece of each variable, and its summary.

A variable's elements are independent draws from its recorded distribution, each a pure
function of (algorithm, seed, element index, parameters). So any piece chosen without
looking at the values is a fair sample of the distribution. Reports and plots use one fixed
piece: **the first min(size, 10^6) elements of the flattened (C-order) variable**, made
piece-wise with the recorded algorithm's ``fill``, so a variable of 10^9 elements costs no
more to summarize than one of 10^6.

Example:
    >>> import reprovar, tempfile, os
    >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "s.db"))
    >>> v = reprovar.random_normal_variable((2000, 1000), 0.0, 1.0, name="w", seed=1, ledger=led)
    >>> piece = sample_piece(v.record)
    >>> piece.size, bool((piece == v.numpy().reshape(-1)[:SAMPLE_LIMIT]).all())
    (1000000, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .densities import Law, record_law_inputs

#: Variables larger than this are summarized from their first SAMPLE_LIMIT elements.
SAMPLE_LIMIT = 1_000_000
#: Histograms have between this many bins ...
MIN_BINS = 10
#: ... and this many (Rice's rule, 2 n^(1/3), in between).
MAX_BINS = 60


def sample_piece(record: Any, limit: int = SAMPLE_LIMIT) -> np.ndarray:
    """The first ``min(size, limit)`` elements of the recorded variable, flat, in its own dtype.

    Made with the recorded algorithm's ``fill`` (bit-identical to the same elements of the
    whole variable); not checked against the digest, which covers the whole variable.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "p.db"))
        >>> v = reprovar.random_normal_variable((3, 4), 0.0, 1.0, dtype="float16", name="h", seed=2, ledger=led)
        >>> piece = sample_piece(v.record, limit=5)
        >>> piece.dtype, bool((piece == v.numpy().reshape(-1)[:5]).all())
        (dtype('float16'), True)
    """
    from ..distributions import get_algorithm
    from ..validation import resolve_dtype

    n = min(math.prod(record.shape), limit)
    if record.recipe is not None:  # constants and partial writes: the whole value, made by its recipe
        from ..ledger.replay import made_by_recipe

        return made_by_recipe(record).reshape(-1)[:n]
    _, params = record_law_inputs(record)
    algorithm = get_algorithm(record.algorithm, record.algorithm_version)
    out = np.empty(n, resolve_dtype(record.dtype))
    if n and not algorithm.elementwise:  # an orthogonal matrix: its values need the whole matrix
        out[...] = algorithm.generate(tuple(record.shape), out.dtype, seed=record.seed, **params).reshape(-1)[:n]
    elif n:
        algorithm.fill(out, 0, seed=record.seed, **params)
    return out


@dataclass(frozen=True)
class SampleSummary:
    """Moments, range and histogram of a piece of a variable.

    ``std`` is the sample standard deviation (n - 1 in the denominator); None below two
    values, as are all statistics of an empty piece. ``counts``/``edges`` are the histogram.
    ``nonfinite`` counts values that are nan or infinite (left out of everything else).

    Example:
        >>> s = summarize(np.array([1.0, 2.0, 3.0]), total=10)
        >>> s.n, s.total, s.mean, s.std, s.partial
        (3, 10, 2.0, 1.0, True)
    """

    n: int
    total: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    counts: np.ndarray
    edges: np.ndarray
    nonfinite: int = 0

    @property
    def partial(self) -> bool:
        """Summarized from a piece, not the whole variable."""
        return self.n < self.total

    def densities(self) -> np.ndarray:
        """Histogram heights scaled so the bars' area is 1 (comparable with a density)."""
        widths = np.diff(self.edges)
        total = self.counts.sum()
        if total == 0:
            return np.zeros_like(widths)
        return self.counts / (total * widths)


def summarize(values: np.ndarray, total: int | None = None, law: Law | None = None) -> SampleSummary:
    """Summarize ``values`` (a piece of a variable of ``total`` elements).

    The histogram covers the values and, when ``law`` is given, the range its density is
    drawn over, so the bars and the curve share one axis.

    Example:
        >>> from reprovar.audit.densities import make_law
        >>> s = summarize(np.zeros(4), law=make_law("uniform", {"low": -1.0, "high": 1.0}))
        >>> (float(s.edges[0]), float(s.edges[-1]), int(s.counts.sum()))
        (-1.0, 1.0, 4)
    """
    x = np.asarray(values).reshape(-1).astype(np.float64)
    total = x.size if total is None else total
    finite = np.isfinite(x)
    nonfinite = int(x.size - np.count_nonzero(finite))
    if nonfinite:
        x = x[finite]
    n = int(x.size)
    if n == 0:
        lo, hi = law.draw_range() if law is not None and not law.point_mass else (0.0, 1.0)
        edges = np.linspace(lo, hi, MIN_BINS + 1)
        return SampleSummary(0, total, None, None, None, None, np.zeros(MIN_BINS, np.int64), edges, nonfinite)
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else None
    lo, hi = float(x.min()), float(x.max())
    vmin, vmax = lo, hi
    if law is not None and not law.point_mass:
        a, b = law.draw_range()
        lo, hi = min(lo, a), max(hi, b)
    if lo == hi:  # every value equal: a narrow window around it
        half = max(abs(lo), 1.0) * 0.01
        lo, hi = lo - half, hi + half
    bins = int(min(MAX_BINS, max(MIN_BINS, math.ceil(2.0 * n ** (1.0 / 3.0)))))
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    return SampleSummary(n, total, mean, std, vmin, vmax, counts, edges, nonfinite)


def density_curve(law: Law, lo: float, hi: float, points: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Points of ``law``'s density over [lo, hi], dropping to 0 at bounds of its support.

    Example:
        >>> from reprovar.audit.densities import make_law
        >>> x, y = density_curve(make_law("uniform", {"low": 0.0, "high": 2.0}), -1.0, 3.0, points=3)
        >>> x.tolist(), y.tolist()
        ([0.0, 0.0, 1.0, 2.0, 2.0], [0.0, 0.5, 0.5, 0.5, 0.0])
    """
    a, b = law.support()
    left, right = max(lo, a), min(hi, b)
    if left >= right:
        return np.empty(0), np.empty(0)
    x = np.linspace(left, right, points)
    y = law.pdf(x)
    if math.isfinite(a) and a >= lo:
        x, y = np.concatenate([[a], x]), np.concatenate([[0.0], y])
    if math.isfinite(b) and b <= hi:
        x, y = np.concatenate([x, [b]]), np.concatenate([y, [0.0]])
    return x, y


def qq_points(values: np.ndarray, law: Law, points: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(theoretical, sample) quantiles at ``points`` plotting positions (i - 1/2) / k.

    With at most ``points`` values every sorted value is a point; with more, the sample's
    quantiles at evenly spaced probabilities (Hazen's definition, consistent with the above).

    Example:
        >>> from reprovar.audit.densities import make_law
        >>> t, s = qq_points(np.array([3.0, 1.0]), make_law("uniform", {"low": 0.0, "high": 4.0}))
        >>> t.tolist(), s.tolist()
        ([1.0, 3.0], [1.0, 3.0])
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    k = min(x.size, points)
    if k == 0:
        return np.empty(0), np.empty(0)
    p = (np.arange(k) + 0.5) / k
    sample = np.sort(x) if k == x.size else np.quantile(x, p, method="hazen")
    return law.ppf(p), sample
