"""``random_normal_variable``: validate, generate, record, return."""

from __future__ import annotations

from typing import Any

from . import algorithms
from .seeding import fresh_seed
from .validation import (
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
        from .ledger.recording import record_variable  # the ledger is loaded only when used

        variable.record = record_variable(
            variable, record=record, ledger=ledger, on_record_error=on_record_error
        )
    return variable
