"""The normal distribution: ``mean`` and ``scale`` (the standard deviation), made by
Philox4x32-10 and Box-Muller (``philox4x32-10/box-muller`` v1, :mod:`reprovar.sampler.kernels.normal`).

Example:
    >>> import numpy as np
    >>> NORMAL.checked({"mean": 0, "scale": 2}, np.dtype("float32"), (3,))
    {'mean': 0.0, 'scale': 2.0}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import ArgumentValueError
from ..sampler.blocks import BlockAlgorithm, parallel
from ..sampler.formats import dtype_name, finfo_max
from .base import Distribution, check_real
from .laws import NORMAL_DRAW_SIGMAS, Law, normal_cdf, normal_pdf, normal_ppf

#: Largest finite value of each compute type (float16 and bfloat16 compute in float32).
_COMPUTE_MAX = {np.float32: float(np.finfo(np.float32).max), np.float64: float(np.finfo(np.float64).max)}


def check_location_scale(mean, scale, dtype: np.dtype) -> tuple[float, float]:
    """Finite ``mean``, finite ``scale >= 0``, both representable in the compute dtype.

    Float16 and bfloat16 are computed in float32 (then rounded), so their limit is float32's.

    Example:
        >>> check_location_scale(0, 2.5, np.dtype("float32"))
        (0.0, 2.5)
    """
    mean = check_real(mean, "mean")
    scale = check_real(scale, "scale")
    if scale < 0:
        raise ArgumentValueError(f"scale must be >= 0 (a standard deviation), got {scale}")
    compute = np.float64 if dtype == np.float64 else np.float32
    limit = _COMPUTE_MAX[compute]
    for param, value in (("mean", mean), ("scale", scale)):
        if abs(value) > limit:
            raise ArgumentValueError(
                f"{param}={value} overflows the {np.dtype(compute).name} arithmetic of "
                f"dtype={dtype.name}; accepted: |{param}| <= {limit:.7g}"
            )
    check_normal_values_fit(mean, scale, dtype)
    return mean, scale


#: Largest |z| the normal transform makes, by compute precision (see transforms/box_muller:
#: sqrt(2 (b+1) ln 2) for b = 32 and 64 bits), rounded up.
MAX_STANDARD_NORMAL = {"float32": 6.77, "float64": 9.50}


def check_normal_values_fit(mean: float, scale: float, dtype: np.dtype) -> None:
    """Refuse ``mean`` and ``scale`` for which some value ``mean + z * scale`` would not be a
    finite number of ``dtype`` (it would become ``inf``): ``|mean| + z_max * scale`` must not
    exceed the dtype's largest finite value, with ``z_max`` the transform's largest radius.

    Example:
        >>> check_normal_values_fit(0.0, 1.0, np.dtype("float16"))
        >>> check_normal_values_fit(1e5, 1.0, np.dtype("float16"))
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: mean=100000.0 is beyond the largest float16 value, 65504; accepted: |mean| + 6.77 * scale <= 65504
    """
    compute = "float64" if dtype == np.float64 else "float32"
    z_max = MAX_STANDARD_NORMAL[compute]
    largest = float(finfo_max(dtype))
    accepted = f"accepted: |mean| + {z_max} * scale <= {largest:.7g}"
    if abs(mean) > largest:
        raise ArgumentValueError(
            f"mean={mean} is beyond the largest {dtype.name} value, {largest:.7g}; {accepted}"
        )
    # The margin covers the rounding of mean + z * scale in the compute precision.
    if abs(mean) + z_max * scale > largest * (1 - 2**-20):
        raise ArgumentValueError(
            f"scale={scale} with mean={mean} would make values beyond the largest "
            f"{dtype.name} value, {largest:.7g} (they would be inf); {accepted}"
        )


@dataclass(frozen=True)
class PhiloxBoxMuller(BlockAlgorithm):
    """Philox4x32-10 bits, Box-Muller normals, block layout of :mod:`reprovar.sampler.layout`.

    Float32, float16 and bfloat16 values are computed in float32 arithmetic (half
    precisions are the correctly rounded float32 value); float64 values in float64.
    """

    name: str = "philox4x32-10/box-muller"
    version: int = 1
    distribution: str = "normal"


    def _runner(self, dtype: np.dtype, params: dict):
        compute = np.float64 if dtype == np.float64 else np.float32
        m, s = compute(params["mean"]), compute(params["scale"])
        bfloat = dtype_name(dtype) == "bfloat16"

        def run(target, first_block, n_blocks, key0, key1):
            from ..sampler.kernels import normal as kernels  # loads Numba: deferred so that `import reprovar` (and the CLI) stays light

            fill = kernels.fill_blocks_parallel if parallel(target) else kernels.fill_blocks
            fill(target, np.uint64(first_block), n_blocks, key0, key1, m, s, bfloat)

        return self.block_size(dtype), run



@dataclass(frozen=True)
class NormalLaw(Law):
    """normal(mean, scale): scale is the standard deviation.

    Example:
        >>> law = NormalLaw("normal", {"mean": 1.0, "scale": 2.0})
        >>> round(float(law.pdf(1.0)), 6), float(law.cdf(1.0)), float(law.ppf(0.5))
        (0.199471, 0.5, 1.0)
    """

    keys: ClassVar[tuple[str, ...]] = ("mean", "scale")

    @property
    def mean(self) -> float:
        return self.params["mean"]

    @property
    def std(self) -> float:
        return self.params["scale"]

    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf)

    def draw_range(self) -> tuple[float, float]:
        m, s = self.mean, self.std
        return (m - NORMAL_DRAW_SIGMAS * s, m + NORMAL_DRAW_SIGMAS * s)

    def pdf(self, x: Any) -> np.ndarray:
        m, s = self.mean, self.std
        return normal_pdf((np.asarray(x, dtype=np.float64) - m) / s) / s

    def cdf(self, x: Any) -> np.ndarray:
        return normal_cdf((np.asarray(x, dtype=np.float64) - self.mean) / self.std)

    def ppf(self, p: Any) -> np.ndarray:
        return self.mean + self.std * normal_ppf(p)


def _check(params, dtype: np.dtype, shape: tuple[int, ...]) -> dict[str, float]:
    mean, scale = check_location_scale(params["mean"], params["scale"], dtype)
    return {"mean": mean, "scale": scale}


NORMAL = Distribution("normal", ("mean", "scale"), _check, PhiloxBoxMuller(), law=NormalLaw,
                      summary="normal(mean, scale), scale the standard deviation")
