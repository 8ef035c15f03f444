"""The uniform distribution on ``[low, high)``: ``philox4x32-10/uniform`` v1
(:mod:`reprovar.sampler.kernels.uniform`).

Constants are computed in Python from the parameters alone and rounded once to the compute
type, so they are the same bits on every platform; they are cached per parameter set.

Example:
    >>> import numpy as np
    >>> UNIFORM.checked({"low": -1, "high": 1}, np.dtype("float16"), (3,))
    {'low': -1.0, 'high': 1.0}
"""

from __future__ import annotations

import math
import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ArgumentValueError
from ..sampler.blocks import BlockAlgorithm, parallel
from ..sampler.formats import compute_type, dtype_name, format_bounds, next_value
from .base import Distribution, check_magnitude, check_real
from .laws import Law


def check_uniform(low, high, dtype: np.dtype) -> tuple[float, float]:
    """Finite ``low < high``, representable in the compute type, with a ``dtype`` value in [low, high).

    Example:
        >>> import numpy as np
        >>> check_uniform(-1, 1, np.dtype("float32"))
        (-1.0, 1.0)
    """
    low, high = check_real(low, "low"), check_real(high, "high")
    check_magnitude("low", low, dtype)
    check_magnitude("high", high, dtype)
    if not low < high:
        raise ArgumentValueError(f"low must be < high (values lie in [low, high)), got low={low}, high={high}")
    if format_bounds(low, high, dtype, high_inclusive=False) is None:
        raise ArgumentValueError(
            f"no {dtype.name} value lies in [low, high) = [{low}, {high}); accepted: an interval "
            f"that holds at least one {dtype.name} value"
        )
    return low, high


def _rounding_cell(value: float, dtype: np.dtype) -> tuple[float, float]:
    # [lower, upper]: the reals that round to ``value`` in ``dtype`` (ties aside), as midpoints
    # to its neighbours; exact in float64 for float16 and bfloat16.
    x = np.array([value], dtype)
    below, above = float(next_value(x, up=False)[0]), float(next_value(x, up=True)[0])
    return (value + below) / 2, (value + above) / 2


@functools.lru_cache(maxsize=1024)
def _uniform_constants(low: float, high: float, dtype: np.dtype):
    ft = compute_type(dtype)
    lo, hi = format_bounds(low, high, dtype, high_inclusive=False)
    a, b = low, high
    if dtype.itemsize == 2:
        # Half precisions round a float32 uniform: draw it from the reals that round into
        # [lo, hi] only, so that every value gets its whole rounding cell (within [low, high))
        # and none gets the cell of a value outside as well.
        a = max(low, _rounding_cell(lo, dtype)[0])
        b = min(high, _rounding_cell(hi, dtype)[1])
    h = ft(a / 2)
    w = ft(ft(b / 2) - h)
    return (h, w, ft(lo), ft(hi))


def uniform_constants(low: float, high: float, dtype: np.dtype) -> tuple:
    """``(a/2, b/2 - a/2, first value, last value)`` in the compute type (checked arguments).

    ``[a, b)`` is ``[low, high)``, narrowed for float16 and bfloat16 to the reals that round to
    a value of the format inside it: the values are then the uniform on ``[low, high)``
    rounded to the format, conditioned on landing in ``[low, high)``.

    Example:
        >>> import numpy as np
        >>> [float(c) for c in uniform_constants(-1.0, 1.0, np.dtype("float64"))]
        [-0.5, 1.0, -1.0, 0.9999999999999999]
    """
    return _uniform_constants(low, high, dtype)


@dataclass(frozen=True)
class PhiloxUniform(BlockAlgorithm):
    """Philox4x32-10 bits, uniform on [low, high): 24 random bits per float32 value (and per
    float16/bfloat16 value, rounded from float32), 53 per float64 value.

    ``value = 2 (a/2 + u (b/2 - a/2))`` in the compute type (float32, or float64 for
    float64), then clamped to [first, last], the smallest and largest values of the output
    format in [low, high): rounding can never give ``high`` or anything below ``low``.
    ``[a, b) = [low, high)``, except for float16 and bfloat16, where it is narrowed to the
    reals that round into [first, last] (see :func:`uniform_constants`).
    """

    name: str = "philox4x32-10/uniform"
    version: int = 1
    distribution: str = "uniform"


    def _runner(self, dtype: np.dtype, params: dict):
        prm = uniform_constants(float(params["low"]), float(params["high"]), dtype)
        bfloat = dtype_name(dtype) == "bfloat16"

        def run(target, first_block, n_blocks, key0, key1):
            from ..sampler.kernels import uniform as k  # loads Numba

            fill = k.fill_uniform_parallel if parallel(target) else k.fill_uniform
            fill(target, np.uint64(first_block), n_blocks, key0, key1, prm, bfloat)

        return self.block_size(dtype), run



@dataclass(frozen=True)
class UniformLaw(Law):
    """uniform(low, high) on [low, high).

    Example:
        >>> law = UniformLaw("uniform", {"low": 0.0, "high": 4.0})
        >>> float(law.pdf(1.0)), float(law.cdf(1.0)), float(law.ppf(0.75))
        (0.25, 0.25, 3.0)
    """

    keys: ClassVar[tuple[str, ...]] = ("low", "high")

    @property
    def mean(self) -> float:
        return 0.5 * (self.params["low"] + self.params["high"])

    @property
    def std(self) -> float:
        return (self.params["high"] - self.params["low"]) / math.sqrt(12.0)

    def support(self) -> tuple[float, float]:
        return (self.params["low"], self.params["high"])

    def draw_range(self) -> tuple[float, float]:
        return self.support()

    def pdf(self, x: Any) -> np.ndarray:
        a, b = self.support()
        x = np.asarray(x, dtype=np.float64)
        return np.where((x >= a) & (x <= b), 1.0 / (b - a), 0.0)

    def cdf(self, x: Any) -> np.ndarray:
        a, b = self.support()
        return np.clip((np.asarray(x, dtype=np.float64) - a) / (b - a), 0.0, 1.0)

    def ppf(self, p: Any) -> np.ndarray:
        a, b = self.support()
        p = np.asarray(p, dtype=np.float64)
        return np.where((p >= 0) & (p <= 1), a + p * (b - a), np.nan)


def _check(params, dtype: np.dtype, shape: tuple[int, ...]) -> dict[str, float]:
    low, high = check_uniform(params["low"], params["high"], dtype)
    return {"low": low, "high": high}


UNIFORM = Distribution("uniform", ("low", "high"), _check, PhiloxUniform(), law=UniformLaw,
                       summary="uniform on [low, high)")
