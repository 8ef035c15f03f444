"""Argument checks: each error names the parameter and what it accepts, before anything is made."""

from __future__ import annotations

import collections.abc
import math
import numbers
import operator
import os

import numpy as np

from .config import environment_switch  # noqa: F401  (its home is reprovar.config)
from .distributions.normal import (  # noqa: F401  (documented here before they moved)
    MAX_STANDARD_NORMAL,
    check_location_scale,
    check_normal_values_fit,
)
from .errors import ArgumentTypeError, ArgumentValueError
from .sampler.formats import dtype_name, finfo_max  # noqa: F401

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
