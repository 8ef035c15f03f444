"""The output formats variables are made in, and the values each format holds.

Float16 and bfloat16 are computed in float32 and rounded; the kernels write them as their
16-bit patterns. ``dtype.name`` and ``finfo`` are remembered: numpy computes them in Python,
a measurable share of making a small variable.

Example:
    >>> import numpy as np
    >>> dtype_name(np.dtype("float32")), compute_type(np.dtype("float16"))
    ('float32', <class 'numpy.float32'>)
"""

from __future__ import annotations

import math

import numpy as np

#: The output formats every algorithm fills (float16 and bfloat16 as their 16-bit patterns).
FORMATS = ("float64", "float32", "float16", "bfloat16")

_DTYPE_NAMES: dict[np.dtype, str] = {}
_FINFO_MAX: dict[np.dtype, float] = {}


def dtype_name(dtype: np.dtype) -> str:
    """``dtype.name``, remembered: numpy computes it in Python (a few µs), a measurable
    part of making and recording a small variable.

    Example:
        >>> dtype_name(np.dtype("float32"))
        'float32'
    """
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = dtype.name
        if len(_DTYPE_NAMES) < 64:  # bounded: callers may pass any dtype (structured ones are endless)
            _DTYPE_NAMES[dtype] = name
    return name


def finfo_max(dtype: np.dtype):
    largest = _FINFO_MAX.get(dtype)
    if largest is None:
        if dtype_name(dtype) == "bfloat16":
            import ml_dtypes  # on demand: a large share of `import reprovar`

            largest = ml_dtypes.finfo(dtype).max
        else:
            largest = np.finfo(dtype).max
        _FINFO_MAX[dtype] = largest
    return largest


def compute_type(dtype: np.dtype):
    """The arithmetic a format is computed in: float64 for float64, float32 otherwise.

    Example:
        >>> import numpy as np
        >>> compute_type(np.dtype("float64"))
        <class 'numpy.float64'>
    """
    return np.float64 if dtype == np.float64 else np.float32


def _unsigned(dtype: np.dtype):
    return {2: np.uint16, 4: np.uint32, 8: np.uint64}[dtype.itemsize]


def next_value(x: np.ndarray, up: bool) -> np.ndarray:
    """The neighbouring value (above if ``up``) of the finite value in the 1-element array ``x``, by its bits.

    Example:
        >>> import numpy as np
        >>> float(next_value(np.array([1.0], np.float16), up=True)[0])
        1.0009765625
    """
    bits = x.view(_unsigned(x.dtype)).copy()
    sign_bit = 1 << (8 * x.dtype.itemsize - 1)
    magnitude, negative = int(bits[0]) & (sign_bit - 1), bool(int(bits[0]) & sign_bit)
    if magnitude == 0:
        bits[0] = 1 if up else sign_bit | 1
    elif negative == up:
        bits[0] = int(bits[0]) - 1
    else:
        bits[0] = int(bits[0]) + 1
    return bits.view(x.dtype)


def format_bounds(low: float, high: float, dtype: np.dtype, *, high_inclusive: bool):
    """The smallest ``dtype`` value ``>= low`` and the largest ``<= high`` (``< high`` unless
    ``high_inclusive``), both finite, as floats; ``None`` when there is no such value.

    Example:
        >>> import numpy as np
        >>> format_bounds(0.0, 1.0, np.dtype("float16"), high_inclusive=False)
        (0.0, 0.99951171875)
    """
    finite = float(np.finfo(dtype).max) if dtype.name != "bfloat16" else float.fromhex("0x1.fep127")
    one = np.empty(1, dtype)
    one[0] = max(low, -finite)
    lo = one if float(one[0]) >= low else next_value(one, up=True)
    one = np.empty(1, dtype)
    one[0] = min(high, finite)
    hi = one
    if float(hi[0]) > high or (not high_inclusive and float(hi[0]) >= high):
        hi = next_value(hi, up=False)
    lo_f, hi_f = float(lo[0]), float(hi[0])
    if not (math.isfinite(lo_f) and math.isfinite(hi_f)) or lo_f > hi_f:
        return None
    return lo_f, hi_f
