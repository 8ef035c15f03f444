"""Argument checks: each error names the parameter and what it accepts, before anything is made."""

from __future__ import annotations

import collections.abc
import math
import numbers
import operator
import os

import numpy as np

from .config import environment_switch  # noqa: F401  (its home is reprovar.config)
from .errors import ArgumentTypeError, ArgumentValueError

#: The dtypes a variable can have, by name.
SUPPORTED_DTYPES = ("float32", "float64", "float16", "bfloat16")
DEFAULT_DTYPE = "float32"  # Keras' floatx()


def _dtype_named(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes  # imported on demand: its import would be a large share of `import reprovar`

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)

#: Largest variable accepted, in bytes: numpy's own limit on one array.
MAX_NBYTES = np.iinfo(np.intp).max


def physical_memory_bytes() -> int | None:
    """Total RAM of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _supported() -> str:
    return ", ".join(repr(n) for n in SUPPORTED_DTYPES)


def resolve_dtype(dtype) -> np.dtype:
    """Turn ``dtype`` (None, a name or a numpy dtype) into one of :data:`SUPPORTED_DTYPES`.

    Example:
        >>> resolve_dtype(None), resolve_dtype("float64")
        (dtype('float32'), dtype('float64'))
    """
    if dtype is None:
        return np.dtype(DEFAULT_DTYPE)
    if isinstance(dtype, str):
        key = dtype
    else:
        try:
            key = np.dtype(dtype).name
        except TypeError:
            raise ArgumentTypeError(
                f"dtype must be a dtype name or numpy dtype, got {type(dtype).__name__}; "
                f"supported: {_supported()}"
            ) from None
    if key not in SUPPORTED_DTYPES:
        raise ArgumentValueError(f"dtype={dtype!r} is not supported; supported: {_supported()}")
    return _dtype_named(key)


def check_shape(shape) -> tuple[int, ...]:
    """A tuple of non-negative ints (a bare int means a 1-D shape), as numpy accepts them.

    Accepted containers are sequences (tuple, list, ``torch.Size``, ...) and 1-D integer
    arrays; a 0-d integer array counts as a bare int. Mappings, sets, strings and iterators
    are refused: their order or length is not a shape's.

    Example:
        >>> check_shape((2, 3)), check_shape([4]), check_shape(5)
        ((2, 3), (4,), (5,))
    """
    if isinstance(shape, (bool, np.bool_)):
        raise ArgumentTypeError("shape must be a tuple of non-negative ints, got a bool")
    if isinstance(shape, np.ndarray) and shape.ndim == 0:
        shape = shape[()]  # numpy's own reading of np.array(3): the int 3
    if isinstance(shape, (numbers.Integral, np.integer)):
        shape = (shape,)
    if not _is_shape_container(shape):
        raise ArgumentTypeError(
            f"shape must be a tuple of non-negative ints, got {type(shape).__name__}"
        )
    dims = []
    for i, d in enumerate(shape):
        if isinstance(d, (bool, np.bool_)):
            raise ArgumentTypeError(f"shape[{i}] must be a non-negative int, got a bool")
        try:
            d = operator.index(d)
        except TypeError:
            raise ArgumentTypeError(
                f"shape[{i}] must be a non-negative int, got {type(d).__name__} {d!r}"
            ) from None
        if d < 0:
            raise ArgumentValueError(f"shape[{i}] must be a non-negative int, got {d}")
        dims.append(d)
    if len(dims) > 64:  # numpy's NPY_MAXDIMS
        raise ArgumentValueError(f"shape has {len(dims)} dimensions; at most 64 are supported")
    return tuple(dims)


def _is_shape_container(shape) -> bool:
    if isinstance(shape, (str, bytes, bytearray)):
        return False
    if isinstance(shape, np.ndarray):
        return shape.ndim == 1
    return isinstance(shape, collections.abc.Sequence)


_INDEX_MAX = int(np.iinfo(np.intp).max)
#: Sizes up to this are never compared with the machine's memory (asking the OS costs
#: more than making a small variable).
_RAM_CHECK_MIN_BYTES = 1 << 24


def check_size_fits(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """The variable's size in bytes, refused before anything is allocated when it cannot exist:
    more bytes than one array can hold, a dimension or element count beyond what numpy can
    index (even when another dimension is 0: numpy refuses that too), or more than this
    machine's RAM.

    Example:
        >>> check_size_fits((2, 3), np.dtype("float32"))
        24
    """
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > MAX_NBYTES:
        raise ArgumentValueError(
            f"shape={shape} with dtype={dtype.name} needs {nbytes} bytes, more than the "
            f"{MAX_NBYTES} bytes one array can hold"
        )
    nonzero = math.prod(d for d in shape if d)
    if max(shape, default=0) > _INDEX_MAX or nonzero > _INDEX_MAX:
        raise ArgumentValueError(
            f"shape={shape} has more elements than numpy can index (at most {_INDEX_MAX} "
            "per dimension and in all, counting only the non-zero dimensions)"
        )
    if nbytes <= _RAM_CHECK_MIN_BYTES:  # no machine that runs this lacks that much memory
        return nbytes
    ram = physical_memory_bytes()
    if ram is not None and nbytes > ram:
        raise ArgumentValueError(
            f"shape={shape} with dtype={dtype.name} needs {nbytes} bytes, more than this "
            f"machine's {ram} bytes of memory"
        )
    return nbytes


def _check_real(value, param: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ArgumentTypeError(
            f"{param} must be a real number (int or float), got {type(value).__name__}"
        )
    try:
        value = float(value)
    except OverflowError:  # an int beyond float's range, e.g. 10**400
        raise ArgumentValueError(
            f"{param} must be a finite number, got an int of {int(value).bit_length()} bits, "
            f"beyond float64's range (|{param}| < 1.8e308)"
        ) from None
    if not math.isfinite(value):
        raise ArgumentValueError(f"{param} must be a finite number, got {value}")
    return value


#: Largest finite value of each compute type (float16 and bfloat16 compute in float32).
_COMPUTE_MAX = {np.float32: float(np.finfo(np.float32).max), np.float64: float(np.finfo(np.float64).max)}


def check_location_scale(mean, scale, dtype: np.dtype) -> tuple[float, float]:
    """Finite ``mean``, finite ``scale >= 0``, both representable in the compute dtype.

    Float16 and bfloat16 are computed in float32 (then rounded), so their limit is float32's.

    Example:
        >>> check_location_scale(0, 2.5, np.dtype("float32"))
        (0.0, 2.5)
    """
    mean = _check_real(mean, "mean")
    scale = _check_real(scale, "scale")
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
    largest = float(_finfo_max(dtype))
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


def _finfo_max(dtype: np.dtype):
    largest = _FINFO_MAX.get(dtype)
    if largest is None:
        if dtype_name(dtype) == "bfloat16":
            import ml_dtypes

            largest = ml_dtypes.finfo(dtype).max
        else:
            largest = np.finfo(dtype).max
        _FINFO_MAX[dtype] = largest
    return largest


def check_seed(seed) -> int:
    """An int in [0, 2**64) (numpy integers too; bools are refused).

    Example:
        >>> check_seed(2**64 - 1)
        18446744073709551615
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise ArgumentTypeError(
            f"seed must be an int in [0, 2**64) or None, got {type(seed).__name__}"
        )
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ArgumentValueError(f"seed must be an int in [0, 2**64) or None, got {seed}")
    return seed


def check_index(value, param: str) -> int:
    """A non-negative int: an element index.

    Example:
        >>> check_index(5, "start")
        5
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ArgumentTypeError(f"{param} must be a non-negative int, got {type(value).__name__}")
    if value < 0:
        raise ArgumentValueError(f"{param} must be a non-negative int, got {value}")
    return int(value)


#: Longest name accepted: what every ledger backend can index.
MAX_NAME_LENGTH = 255

#: What ``random_normal_variable`` may do when recording fails.
ON_RECORD_ERROR = ("raise", "warn")


def check_name(name) -> str:
    """A non-empty string of at most :data:`MAX_NAME_LENGTH` characters that every ledger
    backend stores as given (see :func:`check_name_characters`).

    Example:
        >>> check_name("dense/kernel")
        'dense/kernel'
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(f"name must be a str or None, got {type(name).__name__}")
    if not name:
        raise ArgumentValueError("name must be a non-empty str or None, got ''")
    if len(name) > MAX_NAME_LENGTH:
        raise ArgumentValueError(
            f"name must be at most {MAX_NAME_LENGTH} characters, got {len(name)}: {name[:40]!r}..."
        )
    check_name_characters(name)
    return name


def check_name_characters(name: str) -> None:
    """Refuse characters that some ledger backend cannot store: NUL (PostgreSQL text cannot
    hold it) and lone surrogates (not encodable as UTF-8, so no database can store them).

    Example:
        >>> check_name_characters("dense/kernel")
        >>> check_name_characters("w" + chr(0))
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: name must not contain NUL characters, got 'w\\x00'
    """
    if "\x00" in name:
        raise ArgumentValueError(f"name must not contain NUL characters, got {name[:40]!r}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ArgumentValueError(
            f"name must be valid Unicode text; it holds a lone surrogate {name[e.start]!r} "
            f"at index {e.start}: {name[:40]!r}"
        ) from None
