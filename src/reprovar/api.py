"""The variable makers (normal, uniform, truncated normal, variance scaling, orthogonal) and their
slices: one path for all of them, through the distribution registry: check everything,
generate, record, return."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .distributions import Distribution, get as get_distribution
from .errors import ArgumentValueError
from .seeding import fresh_seed
from .validation import (
    ON_RECORD_ERROR,
    check_index,
    check_name,
    check_seed,
    check_shape,
    check_size_fits,
    resolve_dtype,
)
from .variable import Provenance, Variable, default_name

_RECORDING_ARGS_DOC = """
        dtype: ``"float32"`` (default), ``"float64"``, ``"float16"`` or ``"bfloat16"``.
        name: name of the variable; unnamed variables get ``Variable``, ``Variable_1``, ...
        seed: int in [0, 2**64); ``None`` draws one from the OS entropy pool and records it.
        record: record in the ledger (``None``: the global setting, on unless disabled).
        ledger: a :class:`reprovar.Ledger`, a path or SQLAlchemy URL; default ``reprovar.db``.
        on_record_error: ``"raise"`` (default) or ``"warn"`` to keep a variable whose recording failed."""


def _check_recording(record, ledger, on_record_error) -> None:
    if record is not False:  # checked before anything is made; the ledger loads only when used
        from .recorder import check_recording_options

        check_recording_options(record, ledger, on_record_error)
    elif on_record_error not in ON_RECORD_ERROR:
        raise ArgumentValueError(f"on_record_error must be 'raise' or 'warn', got {on_record_error!r}")


class Checked(NamedTuple):
    """A maker's arguments, checked: the registered distribution they make; ``name`` and
    ``seed`` are ``None`` where the caller gave none (the maker then names the variable and
    draws a seed, once nothing can fail)."""

    distribution: Distribution
    params: dict
    shape: tuple[int, ...]
    dtype: np.dtype
    name: str | None
    seed: int | None


def check_arguments(distribution, params, shape, dtype, name, seed, record, ledger, on_record_error, *,
                    resolve=None, check_size=check_size_fits) -> Checked:
    """Every argument of a maker checked, in one order for every maker (in memory and Dask):
    recording options, shape, dtype, size (``check_size(shape, dtype)``), the distribution's
    parameters (or ``resolve(shape, dtype) -> (distribution, params)``, for variance scaling),
    name, seed. Nothing is made or recorded before this returns.

    Example:
        >>> check_arguments("uniform", {"low": 0, "high": 1}, (2,), None, None, 3, False, None, "raise").params
        {'low': 0.0, 'high': 1.0}
    """
    _check_recording(record, ledger, on_record_error)
    shape = check_shape(shape)
    dtype = resolve_dtype(dtype)
    check_size(shape, dtype)
    if resolve is not None:
        distribution, params = resolve(shape, dtype)
        d = get_distribution(distribution)
    else:
        d = get_distribution(distribution)
        params = d.checked(params, dtype, shape)
    name = None if name is None else check_name(name)
    seed = None if seed is None else check_seed(seed)
    return Checked(d, params, shape, dtype, name, seed)


def _variable(distribution, params, shape, dtype, name, seed, record, ledger, on_record_error,
              *, resolve=None) -> Variable:
    # The one path of every in-memory maker.
    a = check_arguments(distribution, params, shape, dtype, name, seed, record, ledger, on_record_error,
                        resolve=resolve)
    name = default_name() if a.name is None else a.name
    seed_source = "os" if a.seed is None else "user"
    seed = fresh_seed() if a.seed is None else a.seed
    algorithm = a.distribution.default
    values = algorithm.generate(a.shape, a.dtype, seed=seed, **a.params)
    provenance = Provenance(
        algorithm.name, algorithm.version, seed=seed, distribution=a.distribution.name, seed_source=seed_source,
        **a.params,
    )
    variable = Variable(values, name, provenance)
    if record is not False:
        from .recorder import record_checked_variable

        variable.record = record_checked_variable(
            variable, record=record, ledger=ledger, on_record_error=on_record_error
        )
    return variable


def _slice(distribution: str, start, stop, params: dict, dtype, seed) -> np.ndarray:
    # The one path of every slice: nothing is recorded.
    start, stop = check_index(start, "start"), check_index(stop, "stop")
    if stop < start:
        raise ArgumentValueError(f"stop must be >= start, got start={start}, stop={stop}")
    dtype = resolve_dtype(dtype)
    check_size_fits((stop - start,), dtype)
    d = get_distribution(distribution)
    if not d.elementwise:
        raise ArgumentValueError(
            f"a {distribution} variable's values depend on the whole variable, so no slice of it "
            "can be made on its own; make the whole variable"
        )
    params = d.checked(params, dtype, (stop - start,))
    seed = check_seed(seed)
    out = np.empty(stop - start, dtype)
    d.default.fill(out, start, seed=seed, **params)
    return out


def random_variable(
    distribution,
    shape,
    dtype=None,
    name=None,
    seed=None,
    *,
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
    **params,
) -> Variable:
    """Instantiate a variable of any registered distribution (:data:`reprovar.distributions.REGISTRY`).

    The named makers below are this with their distribution's parameters as arguments; a
    distribution added to the registry is made, recorded and replayed through here with no
    other code.

    Args:
        distribution: a registered distribution's name: ``"normal"``, ``"uniform"``,
            ``"truncated_normal"``, ``"orthogonal"``, ``"orthogonal_last_axis"``.
        shape: tuple of non-negative ints.
        **params: the distribution's parameters by name (``Distribution.parameters``).{args}

    Example:
        >>> import reprovar
        >>> v = reprovar.random_variable("uniform", (2, 3), low=-1.0, high=1.0, seed=42, record=False)
        >>> w = reprovar.random_uniform_variable((2, 3), -1.0, 1.0, seed=42, record=False)
        >>> bool((v.numpy() == w.numpy()).all()), v.provenance.distribution
        (True, 'uniform')
    """
    get_distribution(distribution)  # the name first: a bad one is the error, whatever the rest
    return _variable(distribution, params, shape, dtype, name, seed, record, ledger, on_record_error)


def random_slice(distribution, start, stop, dtype=None, *, seed, **params) -> np.ndarray:
    """Elements ``[start, stop)`` of the flattened (C-order) values of a variable of an
    elementwise registered distribution, equal bit for bit to the same slice of
    :func:`random_variable` for any shape with at least ``stop`` elements; nothing is recorded.

    Example:
        >>> import reprovar
        >>> whole = reprovar.random_variable("normal", (4, 1000), mean=0.0, scale=1.0, seed=3, record=False)
        >>> piece = reprovar.random_slice("normal", 1500, 2500, mean=0.0, scale=1.0, seed=3)
        >>> bool((piece == whole.numpy().reshape(-1)[1500:2500]).all())
        True
    """
    return _slice(distribution, start, stop, params, dtype, seed)


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
    return _variable("normal", {"mean": mean, "scale": scale}, shape, dtype, name, seed,
                     record, ledger, on_record_error)


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
    return _slice("normal", start, stop, {"mean": mean, "scale": scale}, dtype, seed)


def random_uniform_variable(
    shape,
    low,
    high,
    dtype=None,
    name=None,
    seed=None,
    *,
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> Variable:
    """Instantiate a variable with values drawn from a uniform distribution on ``[low, high)``.

    Same signature and meaning as ``tf.keras.backend.random_uniform_variable``. Every value
    lies in ``[low, high)`` in every dtype: rounding to float16 or bfloat16 never gives
    ``high``. Values are a pure function of (algorithm, seed, element index, low, high, dtype).

    Args:
        shape: tuple of non-negative ints.
        low: float, lower bound (included).
        high: float > low, upper bound (excluded).{args}

    Example:
        >>> import reprovar
        >>> v = reprovar.random_uniform_variable((2, 3), -1.0, 1.0, seed=42, record=False)
        >>> bool(((v.numpy() >= -1) & (v.numpy() < 1)).all()), v.provenance.params
        (True, {{'low': -1.0, 'high': 1.0}})
    """
    return _variable("uniform", {"low": low, "high": high}, shape, dtype, name, seed,
                     record, ledger, on_record_error)


def truncated_normal_variable(
    shape,
    mean,
    scale,
    dtype=None,
    name=None,
    seed=None,
    *,
    low=None,
    high=None,
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> Variable:
    """Instantiate a variable with values drawn from a normal distribution truncated to ``[low, high]``.

    By default the bounds are ``mean -+ 2 scale``, as in Keras' ``TruncatedNormal`` and
    ``tf.random.truncated_normal``: the normal conditioned on that interval. ``low`` and
    ``high`` give absolute bounds instead, like the ``a``/``b`` of
    ``torch.nn.init.trunc_normal_``; either may be infinite (one-sided), and the interval may
    lie far in a tail: values are made by inversion, not rejection, and every one lies in
    ``[low, high]`` in every dtype.

    Args:
        shape: tuple of non-negative ints.
        mean: float, mean of the normal before truncation.
        scale: float > 0, its standard deviation (not the truncated one's).
        low, high: bounds, ``low < high``, possibly ``-inf``/``inf``; default ``mean -+ 2 scale``.{args}

    Example:
        >>> import reprovar
        >>> v = reprovar.truncated_normal_variable((1000,), 0.0, 1.0, seed=1, record=False)
        >>> bool((abs(v.numpy()) <= 2).all())
        True
        >>> w = reprovar.truncated_normal_variable((1000,), 0.0, 1.0, seed=1, low=2.5, high=4.0, record=False)
        >>> bool(((w.numpy() >= 2.5) & (w.numpy() <= 4.0)).all())
        True
    """
    params = {"mean": mean, "scale": scale, "low": low, "high": high}
    return _variable("truncated_normal", params, shape, dtype, name, seed, record, ledger, on_record_error)


def variance_scaling_variable(
    shape,
    scale=1.0,
    mode="fan_in",
    distribution="truncated_normal",
    dtype=None,
    name=None,
    seed=None,
    *,
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> Variable:
    """Instantiate a variable as Keras' ``VarianceScaling`` initializer would draw it.

    The fans of ``shape`` (dense and convolution kernels, as Keras computes them) and
    ``scale``, ``mode`` and ``distribution`` resolve to one distribution
    (:func:`reprovar.variance_scaling.resolve`): a truncated normal at +-2 standard
    deviations with ``stddev = sqrt(scale / n) / 0.87962566103423978``, a normal with
    ``stddev = sqrt(scale / n)`` (``"untruncated_normal"``), or a uniform on
    ``[-limit, limit)`` with ``limit = sqrt(3 scale / n)``. The variable is made, and
    recorded, as that distribution with those parameters: replay needs no fan arithmetic.

    Args:
        shape: tuple of non-negative ints.
        scale: float > 0.
        mode: ``"fan_in"`` (default), ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"`` (default; ``"normal"`` means the same, as in
            Keras), ``"untruncated_normal"`` or ``"uniform"``.{args}

    Example:
        >>> import reprovar
        >>> v = reprovar.variance_scaling_variable((64, 32), 2.0, "fan_in", "uniform", seed=3, record=False)
        >>> v.provenance.distribution, round(v.provenance.params["high"], 6)
        ('uniform', 0.306186)
    """
    from .distributions.variance_scaling import resolve_for

    def resolve(checked_shape, checked_dtype):
        return resolve_for(checked_shape, scale, mode, distribution, checked_dtype)

    return _variable(None, None, shape, dtype, name, seed, record, ledger, on_record_error, resolve=resolve)


def orthogonal_variable(
    shape,
    gain=1.0,
    dtype=None,
    name=None,
    seed=None,
    *,
    layout: str = "first_axis",
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> Variable:
    """Instantiate a variable as a random orthogonal matrix (Haar measure) times ``gain``.

    The shape (2 or more dimensions) is read as a matrix of ``rows x cols``: with
    ``layout="first_axis"`` (default) ``rows = shape[0]`` and ``cols`` the product of the
    rest, as ``torch.nn.init.orthogonal_`` does; with ``layout="last_axis"`` ``cols =
    shape[-1]`` and ``rows`` the product of the rest, as Keras' ``Orthogonal`` does (the same
    for 2-D shapes). Its rows are orthonormal when ``rows <= cols``, its columns otherwise.
    The values are the same bits on every machine and thread count: reprovar's own normal
    matrix and Householder QR (see :class:`reprovar.algorithms.PhiloxOrthogonal`). Recorded
    as distribution ``orthogonal`` (or ``orthogonal_last_axis``) with ``scale = gain``.

    Args:
        shape: tuple of 2 or more non-negative ints.
        gain: finite float, the factor the orthogonal matrix is multiplied by.
        layout: ``"first_axis"`` (default) or ``"last_axis"``.{args}

    Example:
        >>> import numpy as np, reprovar
        >>> v = reprovar.orthogonal_variable((4, 4), seed=3, record=False)
        >>> bool(np.allclose(v.numpy() @ v.numpy().T, np.eye(4), atol=1e-6)), v.provenance.params
        (True, {{'scale': 1.0}})
    """
    layouts = {"first_axis": "orthogonal", "last_axis": "orthogonal_last_axis"}
    if layout not in layouts:
        raise ArgumentValueError(f"layout must be 'first_axis' or 'last_axis', got {layout!r}")
    return _variable(layouts[layout], {"scale": gain}, shape, dtype, name, seed, record, ledger, on_record_error)


def random_uniform_slice(start, stop, low, high, dtype=None, *, seed) -> np.ndarray:
    """Elements ``[start, stop)`` of the flattened (C-order) values of a uniform variable.

    Equal, bit for bit, to the same slice of ``random_uniform_variable(shape, low, high,
    dtype, seed=seed)`` for any shape with at least ``stop`` elements; nothing is recorded.

    Example:
        >>> import reprovar
        >>> whole = reprovar.random_uniform_variable((4, 1000), 0.0, 1.0, seed=3, record=False)
        >>> piece = reprovar.random_uniform_slice(1500, 2500, 0.0, 1.0, seed=3)
        >>> bool((piece == whole.numpy().reshape(-1)[1500:2500]).all())
        True
    """
    return _slice("uniform", start, stop, {"low": low, "high": high}, dtype, seed)


def truncated_normal_slice(start, stop, mean, scale, dtype=None, *, seed, low=None, high=None) -> np.ndarray:
    """Elements ``[start, stop)`` of the flattened (C-order) values of a truncated-normal variable.

    Equal, bit for bit, to the same slice of ``truncated_normal_variable(shape, mean, scale,
    dtype, seed=seed, low=low, high=high)`` for any shape with at least ``stop`` elements;
    nothing is recorded.

    Example:
        >>> import reprovar
        >>> whole = reprovar.truncated_normal_variable((4, 1000), 0.0, 1.0, seed=3, record=False)
        >>> piece = reprovar.truncated_normal_slice(1500, 2500, 0.0, 1.0, seed=3)
        >>> bool((piece == whole.numpy().reshape(-1)[1500:2500]).all())
        True
    """
    params = {"mean": mean, "scale": scale, "low": low, "high": high}
    return _slice("truncated_normal", start, stop, params, dtype, seed)


for _maker in (random_variable, random_uniform_variable, truncated_normal_variable, variance_scaling_variable, orthogonal_variable):
    _maker.__doc__ = _maker.__doc__.format(args=_RECORDING_ARGS_DOC)
del _maker
