"""``random_normal_variable``: validate, generate, record, return."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import algorithms
from .errors import ArgumentValueError
from .seeding import fresh_seed
from .validation import (
    ON_RECORD_ERROR,
    check_index,
    check_location_scale,
    check_name,
    check_seed,
    check_shape,
    check_size_fits,
    resolve_dtype,
)
from .variable import Provenance, Variable, default_name


def random_normal_variable(
    shape,
    mean,
    scale,
    dtype=None,
    name=None,
    seed=None,
    *,
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> Variable:
    """Instantiate a variable with values drawn from a normal distribution.

    Same signature and meaning as ``tf.keras.backend.random_normal_variable``; the values are
    a pure function of (algorithm, seed, element index, mean, scale, dtype), so the same call
    with the same seed returns the same bits on any machine, thread count or chunking.

    Args:
        shape: tuple of non-negative ints.
        mean: float, mean of the distribution.
        scale: float >= 0, standard deviation.
        dtype: ``"float32"`` (default), ``"float64"``, ``"float16"`` or ``"bfloat16"``.
        name: name of the variable; unnamed variables get ``Variable``, ``Variable_1``, ...
        seed: int in [0, 2**64); ``None`` draws one from the OS entropy pool and records it.
        record: record in the ledger (``None``: the global setting, on unless disabled).
        ledger: a :class:`reprovar.Ledger`, a path or SQLAlchemy URL; default ``reprovar.db``.
        on_record_error: ``"raise"`` (default) or ``"warn"`` to keep a variable whose recording failed.

    Example:
        >>> import reprovar
        >>> v = reprovar.random_normal_variable((2, 3), 0.0, 1.0, seed=42, record=False)
        >>> v.shape, str(v.dtype)
        ((2, 3), 'float32')
        >>> w = reprovar.random_normal_variable((2, 3), 0.0, 1.0, seed=42, record=False)
        >>> bool((v.numpy() == w.numpy()).all())
        True
    """
    if record is not False:  # checked before anything is made; the ledger loads only when used
        from .recorder import check_recording_options, record_checked_variable

        check_recording_options(record, ledger, on_record_error)
    elif on_record_error not in ON_RECORD_ERROR:
        raise ArgumentValueError(f"on_record_error must be 'raise' or 'warn', got {on_record_error!r}")
    shape = check_shape(shape)
    dtype = resolve_dtype(dtype)
    check_size_fits(shape, dtype)
    mean, scale = check_location_scale(mean, scale, dtype)
    name = default_name() if name is None else check_name(name)
    seed_source = "os" if seed is None else "user"
    seed = fresh_seed() if seed is None else check_seed(seed)
    algorithm = algorithms.DEFAULT_ALGORITHM
    values = algorithm.generate(shape, dtype, seed=seed, mean=mean, scale=scale)
    variable = Variable(
        values,
        name,
        Provenance(algorithm.name, algorithm.version, seed=seed, mean=mean, scale=scale, seed_source=seed_source),
    )
    if record is not False:
        variable.record = record_checked_variable(
            variable, record=record, ledger=ledger, on_record_error=on_record_error
        )
    return variable


def random_normal_slice(start, stop, mean, scale, dtype=None, *, seed) -> np.ndarray:
    """Elements ``[start, stop)`` of the flattened (C-order) values of a normal variable.

    Equal, bit for bit, to ``random_normal_variable(shape, mean, scale, dtype, seed=seed)
    .numpy().reshape(-1)[start:stop]`` for any shape with at least ``stop`` elements, without
    making the rest: workers can each make their own piece of one variable, in any order.
    Nothing is recorded in the ledger.

    Example:
        >>> import reprovar
        >>> whole = reprovar.random_normal_variable((4, 1000), 0.0, 1.0, seed=3, record=False)
        >>> piece = reprovar.random_normal_slice(1500, 2500, 0.0, 1.0, seed=3)
        >>> bool((piece == whole.numpy().reshape(-1)[1500:2500]).all())
        True
    """
    start, stop = check_index(start, "start"), check_index(stop, "stop")
    if stop < start:
        raise ArgumentValueError(f"stop must be >= start, got start={start}, stop={stop}")
    dtype = resolve_dtype(dtype)
    check_size_fits((stop - start,), dtype)
    mean, scale = check_location_scale(mean, scale, dtype)
    seed = check_seed(seed)
    out = np.empty(stop - start, dtype)
    algorithms.DEFAULT_ALGORITHM.fill(out, start, seed=seed, mean=mean, scale=scale)
    return out
