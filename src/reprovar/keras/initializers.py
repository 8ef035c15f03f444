"""Keras 3 initializers drawn by reprovar: Keras' names, constructor arguments and formulas.

Each is a ``keras.initializers.Initializer`` subclass that drops in as ``kernel_initializer=``,
serializes with ``get_config``/``from_config`` and is registered with Keras
(``"reprovar>GlorotUniform"``, ...), so a model saved to ``.keras`` loads back with them (import
``reprovar.keras`` before ``keras.saving.load_model``). As in Keras 3, an int ``seed`` (and
``seed=None``, which draws one seed from the OS when the initializer is made) gives the same
values on every call; the values are those of the reprovar variable (distribution, seed) of
the requested shape. A Keras initializer is never told which variable it fills, so calls are
not recorded: :func:`reprovar.keras.initialize` records a whole model under its variable paths.

Formulas (Keras'): ``VarianceScaling`` divides ``scale`` by ``max(1, n)``, ``n`` being
fan_in, fan_out or their mean (``compute_fans``: a kernel ``(..., in, out)`` has
``fan_in = in * prod(...)``); then ``truncated_normal``: std ``sqrt(scale) / 0.87962566103423978``
truncated at two std; ``untruncated_normal``: std ``sqrt(scale)``; ``uniform``: limit
``sqrt(3 * scale)``. Glorot: scale 1, fan_avg; He: scale 2, fan_in; LeCun: scale 1, fan_in.

Example:
    >>> from reprovar.keras import initializers
    >>> init = initializers.GlorotUniform(seed=7)
    >>> a, b = init((3, 4)), init((3, 4))
    >>> bool((a == b).all()), tuple(a.shape)
    (True, (3, 4))
    >>> initializers.GlorotUniform.from_config(init.get_config()).seed
    7
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import keras
import numpy as np

from .. import adapter
from ..errors import ArgumentTypeError
from ..recipes import Draw
from ..seeding import fresh_seed
from ..validation import check_seed, resolve_dtype

_register = keras.saving.register_keras_serializable(package="reprovar")


def compute_fans(shape: tuple[int, ...], input_axes=None, output_axes=None) -> tuple[int, int]:
    """(fan_in, fan_out) of a Keras weight of ``shape``, as ``keras.initializers`` computes them.

    Example:
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
        >>> compute_fans((8, 2, 4), input_axes=[0], output_axes=[1, 2])
        (8, 8)
    """
    from .. import variance_scaling

    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(math.prod(shape[a] for a in input_axes)), int(math.prod(shape[a] for a in output_axes))
    return variance_scaling.compute_fans(shape)


def _float(value: Any, param: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{param} must be a real number, got bool")
    try:
        return float(value)  # Python and numpy scalars, and scalar Keras tensors
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{param} must be a real number, got {type(value).__name__}") from None


def variance_scaling_draw(
    shape: tuple[int, ...], scale: float, mode: str, distribution: str, input_axes=None, output_axes=None
) -> Draw:
    """The draw of Keras' ``VarianceScaling`` for ``shape``: :func:`reprovar.variance_scaling.resolve`
    on the weight's fans (with ``input_axes``/``output_axes`` where given).

    Example:
        >>> d = variance_scaling_draw((4, 6), 1.0, "fan_avg", "uniform")
        >>> d.distribution, d.params["high"] == (3 / 5) ** 0.5
        ('uniform', True)
    """
    from ..distributions.variance_scaling import resolve

    if input_axes is not None and output_axes is not None:
        shape = compute_fans(shape, input_axes, output_axes)  # a matrix with those fans
    name, params = resolve(shape, scale, mode, distribution)
    return Draw(name, params)


def _seed(seed: Any) -> tuple[int, Any]:
    if seed is None:
        return fresh_seed(), None
    if isinstance(seed, dict):  # a serialized seed, as Keras writes ints
        seed = keras.saving.deserialize_keras_object(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise ArgumentTypeError(
            f"seed must be an int in [0, 2**64) or None, got {type(seed).__name__} "
            "(a keras.random.SeedGenerator has hidden state: reprovar values depend on the seed alone)"
        )
    seed = check_seed(seed)
    return seed, seed


class ReprovarInitializer(keras.initializers.Initializer):
    """Base of reprovar's Keras initializers: the values of (``draw(shape)``, ``self.seed``)."""

    def __init__(self, seed: int | None = None):
        self.seed, self._init_seed = _seed(seed)

    def draw(self, shape: tuple[int, ...]) -> Draw:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        name = keras.backend.standardize_dtype(dtype or keras.config.floatx())
        draw = self.draw(shape)
        # bfloat16 travels as float32: its values are the correctly rounded float32 ones, and
        # Keras' cast rounds the same way; not every backend takes ml_dtypes arrays.
        made = "float32" if name == "bfloat16" else name
        values = np.empty(shape, resolve_dtype(made))
        adapter.check_draw(draw, values.dtype, shape)
        adapter.fill(values, draw, self.seed)
        return keras.ops.cast(keras.ops.convert_to_tensor(values), name)

    def get_config(self) -> dict:
        return {"seed": self._init_seed}


@_register
class RandomNormal(ReprovarInitializer):
    """N(mean, stddev²), as ``keras.initializers.RandomNormal``.

    Example:
        >>> tuple(RandomNormal(stddev=1.0, seed=1)((2, 3)).shape)
        (2, 3)
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def draw(self, shape):
        return Draw("normal", {"mean": _float(self.mean, "mean"), "scale": _float(self.stddev, "stddev")})

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@_register
class RandomUniform(ReprovarInitializer):
    """U(minval, maxval), as ``keras.initializers.RandomUniform``.

    Example:
        >>> float(RandomUniform(0.0, 1.0, seed=1)((100,)).min()) >= 0.0
        True
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def draw(self, shape):
        return Draw("uniform", {"low": _float(self.minval, "minval"), "high": _float(self.maxval, "maxval")})

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


@_register
class TruncatedNormal(ReprovarInitializer):
    """N(mean, stddev²) truncated at two standard deviations, as ``keras.initializers.TruncatedNormal``.

    Example:
        >>> float(abs(TruncatedNormal(stddev=1.0, seed=1)((1000,))).max()) <= 2.0
        True
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def draw(self, shape):
        mean, std = _float(self.mean, "mean"), _float(self.stddev, "stddev")
        return Draw("truncated_normal", {"mean": mean, "scale": std, "low": mean - 2.0 * std, "high": mean + 2.0 * std})

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@_register
class VarianceScaling(ReprovarInitializer):
    """Keras' ``VarianceScaling``: ``scale`` over a fan, drawn truncated-normal, normal or uniform.

    Example:
        >>> VarianceScaling(mode="fan_sum")
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: mode must be one of 'fan_in', 'fan_out', 'fan_avg', got 'fan_sum'
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes=None,
        output_axes=None,
    ):
        from ..distributions.variance_scaling import check_settings

        # Keras' checks ("normal" is its alias of "truncated_normal"), with reprovar's messages.
        self.scale, self.mode, self.distribution = check_settings(_float(scale, "scale"), mode, distribution)
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed)

    def draw(self, shape):
        return variance_scaling_draw(shape, self.scale, self.mode, self.distribution, self.input_axes, self.output_axes)

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _Fixed(VarianceScaling):
    _scale: float
    _mode: str
    _distribution: str

    def __init__(self, seed: int | None = None, input_axes=None, output_axes=None):
        super().__init__(self._scale, self._mode, self._distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self._init_seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


@_register
class GlorotUniform(_Fixed):
    """U(±sqrt(6 / (fan_in + fan_out))), as ``keras.initializers.GlorotUniform``.

    Example:
        >>> float(abs(GlorotUniform(seed=1)((4, 6))).max()) <= (6 / 10) ** 0.5
        True
    """

    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


@_register
class GlorotNormal(_Fixed):
    """Truncated normal, std sqrt(2 / (fan_in + fan_out)), as ``keras.initializers.GlorotNormal``.

    Example:
        >>> tuple(GlorotNormal(seed=1)((4, 6)).shape)
        (4, 6)
    """

    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


@_register
class HeNormal(_Fixed):
    """Truncated normal, std sqrt(2 / fan_in), as ``keras.initializers.HeNormal``.

    Example:
        >>> tuple(HeNormal(seed=1)((4, 6)).shape)
        (4, 6)
    """

    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


@_register
class HeUniform(_Fixed):
    """U(±sqrt(6 / fan_in)), as ``keras.initializers.HeUniform``.

    Example:
        >>> float(abs(HeUniform(seed=1)((4, 6))).max()) <= (6 / 4) ** 0.5
        True
    """

    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"


@_register
class LecunNormal(_Fixed):
    """Truncated normal, std sqrt(1 / fan_in), as ``keras.initializers.LecunNormal``.

    Example:
        >>> tuple(LecunNormal(seed=1)((4, 6)).shape)
        (4, 6)
    """

    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


@_register
class LecunUniform(_Fixed):
    """U(±sqrt(3 / fan_in)), as ``keras.initializers.LecunUniform``.

    Example:
        >>> float(abs(LecunUniform(seed=1)((4, 6))).max()) <= (3 / 4) ** 0.5
        True
    """

    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


def orthogonal_draw(shape: tuple[int, ...], gain: Any) -> Draw:
    """The draw of Keras' ``Orthogonal`` for ``shape``: Keras reads the weight as a matrix of
    ``prod(shape[:-1])`` rows and ``shape[-1]`` columns, reprovar's ``orthogonal_last_axis``
    (``orthogonal`` for 2-D weights, where both layouts are the same matrix).

    Example:
        >>> orthogonal_draw((3, 3, 4, 8), 1.0).distribution, orthogonal_draw((4, 8), 2.0).params
        ('orthogonal_last_axis', {'scale': 2.0})
    """
    return Draw("orthogonal" if len(shape) == 2 else "orthogonal_last_axis", {"scale": _float(gain, "gain")})


@_register
class Orthogonal(ReprovarInitializer):
    """A Haar orthogonal matrix times ``gain``, as ``keras.initializers.Orthogonal``: the weight
    read as ``prod(shape[:-1]) x shape[-1]``, orthonormal columns (rows when it is wide). The
    same bits on every machine: reprovar's own normal matrix and Householder QR.

    Example:
        >>> import numpy as np
        >>> q = np.asarray(Orthogonal(seed=1)((4, 4)), np.float64)
        >>> bool(np.allclose(q.T @ q, np.eye(4), atol=1e-6))
        True
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = gain
        super().__init__(seed)

    def draw(self, shape):
        return orthogonal_draw(shape, self.gain)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


__all__ = [
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "compute_fans",
    "orthogonal_draw",
]
