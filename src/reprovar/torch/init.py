"""Look-alikes of ``torch.nn.init``: the same names, arguments and formulas, filled by reprovar.

Each function fills its tensor in place and returns it, like torch's, with values that are a
pure function of (seed, element index, parameters), recorded in the ledger under ``name``.
Keyword-only extras: ``name=None`` (``Variable``, ``Variable_1``, ... as for
:func:`reprovar.random_normal_variable`), ``seed=None`` (drawn from the OS and recorded),
``record=None``, ``ledger=None``. The random ones take torch's ``generator=`` argument too,
so that code written for torch (transformers 5 always passes it) runs unchanged: it is not
used, since the values come from (seed, name). ``zeros_``, ``ones_``, ``constant_``,
``eye_`` and ``dirac_`` are recorded as constants (:mod:`reprovar.recipes`), so a ledger can
hold a model's whole initial state.

Fans and gains follow ``torch.nn.init`` exactly: for a weight of shape ``(out, in, *k)``,
``fan_in = in * prod(k)`` and ``fan_out = out * prod(k)``;

* ``xavier_uniform_``: U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))``;
* ``xavier_normal_``: N(0, std²), ``std = gain * sqrt(2 / (fan_in + fan_out))``;
* ``kaiming_uniform_``: U(-b, b), ``b = gain * sqrt(3 / fan_mode)``, gain from ``nonlinearity`` and ``a``;
* ``kaiming_normal_``: N(0, std²), ``std = gain / sqrt(fan_mode)``;
* ``trunc_normal_``: N(mean, std²) restricted to the absolute bounds ``[a, b]``;
* ``orthogonal_``: a Haar orthogonal ``shape[0] x prod(shape[1:])`` matrix times ``gain``.

A CPU tensor in C order is filled through a view of its own memory; any other (a view with
strides, a GPU tensor) through one host buffer and one copy. If recording fails, the tensor
has already been filled and :class:`~reprovar.errors.RecordingError` says so.

Example:
    >>> import torch
    >>> from reprovar.torch import init
    >>> w = init.kaiming_uniform_(torch.empty(4, 3), a=5 ** 0.5, seed=1, record=False)
    >>> bool(w.abs().max() <= 1 / 3 ** 0.5)
    True
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
import torch

from .. import adapter
from ..errors import ArgumentTypeError, ArgumentValueError
from ..recipes import Draw, Fill, Recipe, Region, make_into
from ..validation import check_name
from ..variable import default_name
from . import tensors

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)
NONLINEARITIES = (*_LINEAR_FNS, "sigmoid", "tanh", "relu", "leaky_relu", "selu")
FAN_MODES = ("fan_in", "fan_out")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity``, as ``torch.nn.init.calculate_gain``.

    linear, conv*, sigmoid: 1; tanh: 5/3; relu: √2; leaky_relu: √(2 / (1 + slope²)) (slope
    ``param``, default 0.01); selu: 3/4.

    Example:
        >>> calculate_gain("leaky_relu", 0.2) == (2 / (1 + 0.2 ** 2)) ** 0.5
        True
        >>> calculate_gain("softmax")
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: Unsupported nonlinearity 'softmax'; accepted: linear, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu, selu
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (numbers.Real, np.floating, np.integer)) and not isinstance(param, (bool, np.bool_)):
            slope = param
        else:
            raise ArgumentValueError(f"negative_slope {param!r} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ArgumentValueError(
        f"Unsupported nonlinearity {nonlinearity!r}; accepted: {', '.join(NONLINEARITIES)}"
    )


def calculate_fans(shape: tuple[int, ...], param: str = "tensor") -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``, as torch computes them.

    Example:
        >>> calculate_fans((16, 8, 3, 3))
        (72, 144)
        >>> calculate_fans((5,))
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape (5,))
    """
    if len(shape) < 2:
        raise ArgumentValueError(
            f"Fan in and fan out can not be computed for {param} with fewer than 2 dimensions "
            f"(shape {tuple(shape)})"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _correct_fan(shape: tuple[int, ...], mode: Any, param: str) -> int:
    if not isinstance(mode, str) or mode.lower() not in FAN_MODES:
        raise ArgumentValueError(f"Mode {mode!r} not supported, please use one of {list(FAN_MODES)}")
    fan_in, fan_out = calculate_fans(shape, param)
    return fan_in if mode.lower() == "fan_in" else fan_out


def _float(value: Any, param: str) -> float:
    if type(value) is float:  # the common case, without the cost of the ABC checks below
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ArgumentTypeError(f"{param} must be a real number, got {type(value).__name__}")
    return float(value)


# --- the draws, as functions of a shape (shared with init_module's layer rules) -------------


def uniform_draw(a: Any, b: Any) -> Draw:
    """U(a, b).

    Example:
        >>> uniform_draw(-1, 1).params
        {'low': -1.0, 'high': 1.0}
    """
    return Draw("uniform", {"low": _float(a, "a"), "high": _float(b, "b")})


def normal_draw(mean: Any, std: Any) -> Draw:
    """N(mean, std²).

    Example:
        >>> normal_draw(0, 2).params
        {'mean': 0.0, 'scale': 2.0}
    """
    return Draw("normal", {"mean": _float(mean, "mean"), "scale": _float(std, "std")})


def trunc_normal_draw(mean: Any, std: Any, a: Any, b: Any) -> Draw:
    """N(mean, std²) restricted to the absolute bounds [a, b] (torch's meaning of a and b).

    Example:
        >>> trunc_normal_draw(0, 1, -2, 2).params
        {'mean': 0.0, 'scale': 1.0, 'low': -2.0, 'high': 2.0}
    """
    return Draw(
        "truncated_normal",
        {"mean": _float(mean, "mean"), "scale": _float(std, "std"), "low": _float(a, "a"), "high": _float(b, "b")},
    )


def xavier_std(shape: tuple[int, ...], gain: Any, param: str = "tensor") -> float:
    """``gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> xavier_std((3, 5), 1.0) == (2 / 8) ** 0.5
        True
    """
    gain = _float(gain, "gain")
    fan_in, fan_out = calculate_fans(shape, param)
    if fan_in + fan_out == 0:
        raise ArgumentValueError(f"{param} of shape {tuple(shape)} has fan_in + fan_out = 0")
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def xavier_uniform_draw(shape: tuple[int, ...], gain: Any = 1.0, param: str = "tensor") -> Draw:
    """U(-a, a) with ``a = sqrt(3) * xavier_std``.

    Example:
        >>> xavier_uniform_draw((3, 5)).params["high"] == 3 ** 0.5 * (2 / 8) ** 0.5
        True
    """
    bound = math.sqrt(3.0) * xavier_std(shape, gain, param)
    return Draw("uniform", {"low": -bound, "high": bound})


def xavier_normal_draw(shape: tuple[int, ...], gain: Any = 1.0, param: str = "tensor") -> Draw:
    """N(0, xavier_std²).

    Example:
        >>> xavier_normal_draw((3, 5)).params["scale"] == (2 / 8) ** 0.5
        True
    """
    return Draw("normal", {"mean": 0.0, "scale": xavier_std(shape, gain, param)})


def kaiming_std(shape: tuple[int, ...], a: Any = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", param: str = "tensor") -> float:
    """``calculate_gain(nonlinearity, a) / sqrt(fan)``, fan chosen by ``mode``.

    Example:
        >>> kaiming_std((4, 9), nonlinearity="relu") == 2 ** 0.5 / 3
        True
    """
    fan = _correct_fan(shape, mode, param)
    gain = calculate_gain(nonlinearity, a)
    if fan == 0:
        raise ArgumentValueError(f"{param} of shape {tuple(shape)} has {mode.lower()} = 0")
    return gain / math.sqrt(fan)


def kaiming_uniform_draw(shape: tuple[int, ...], a: Any = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", param: str = "tensor") -> Draw:
    """U(-b, b) with ``b = sqrt(3) * kaiming_std``.

    Example:
        >>> round(kaiming_uniform_draw((4, 9), a=5 ** 0.5).params["high"], 12)  # 1/sqrt(fan_in)
        0.333333333333
    """
    bound = math.sqrt(3.0) * kaiming_std(shape, a, mode, nonlinearity, param)
    return Draw("uniform", {"low": -bound, "high": bound})


def kaiming_normal_draw(shape: tuple[int, ...], a: Any = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", param: str = "tensor") -> Draw:
    """N(0, kaiming_std²).

    Example:
        >>> kaiming_normal_draw((4, 9), nonlinearity="relu").params["scale"] == 2 ** 0.5 / 3
        True
    """
    return Draw("normal", {"mean": 0.0, "scale": kaiming_std(shape, a, mode, nonlinearity, param)})


# --- filling one tensor ----------------------------------------------------------------------


def fill_(tensor: torch.Tensor, draw: Draw | None, *, recipe: Recipe | None = None, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Fill ``tensor`` in place with the variable (``draw``, ``seed``, ``recipe``) of its shape; record it.

    Everything is checked before the tensor is touched. The recorded variable is named
    ``name`` and replays to the tensor's values (``reprovar.torch.replay(name)``). A
    ``recipe`` with a constant base needs no draw (:mod:`reprovar.recipes`).

    Example:
        >>> import torch
        >>> t = fill_(torch.empty(2, 2), uniform_draw(0, 1), seed=3, record=False)
        >>> bool(((0 <= t) & (t < 1)).all())
        True
    """
    dtype = tensors.check_tensor(tensor)
    planned = adapter.Planned(name or "tensor", tuple(tensor.shape), dtype, draw, recipe=recipe)
    adapter.check_planned(planned)
    recording = adapter.recording_on(record, ledger)
    name = default_name() if name is None else check_name(name)
    model_seed, source = adapter.model_seed_and_source(seed)
    view = tensors.host_view(tensor)
    if view is not None:
        values = view.reshape(tuple(tensor.shape))
        make_into(values, draw, model_seed, recipe)
        tensors.written_in_place(tensor)
    else:
        values = np.empty(tuple(tensor.shape), dtype)
        make_into(values, draw, model_seed, recipe)
        tensors.write(tensor, values)
    if recording:
        from ..ledger.digest import digest

        made = adapter.Made(adapter.Planned(name, tuple(tensor.shape), dtype, draw, recipe=recipe), model_seed, source, values, digest(values))
        adapter.record_all([made], ledger=ledger, what=f"tensor {name!r} was filled (seed {model_seed})")
    return tensor


def _extras(name, seed, record, ledger) -> dict:
    return {"name": name, "seed": seed, "record": record, "ledger": ledger}


def uniform_(tensor: torch.Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Fill ``tensor`` with values from U(a, b), as ``torch.nn.init.uniform_``.

    Example:
        >>> import torch
        >>> w = uniform_(torch.empty(3, 5), -0.1, 0.1, seed=1, record=False)
        >>> bool(w.abs().max() <= 0.1)
        True
    """
    tensors.check_tensor(tensor)
    return fill_(tensor, uniform_draw(a, b), **_extras(name, seed, record, ledger))


def normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Fill ``tensor`` with values from N(mean, std²), as ``torch.nn.init.normal_``.

    Example:
        >>> import torch
        >>> a = normal_(torch.empty(3, 5), seed=1, record=False)
        >>> b = normal_(torch.empty(3, 5), seed=1, record=False)
        >>> bool(torch.equal(a, b))
        True
    """
    tensors.check_tensor(tensor)
    return fill_(tensor, normal_draw(mean, std), **_extras(name, seed, record, ledger))


def trunc_normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator: Any = None, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Fill ``tensor`` with N(mean, std²) restricted to [a, b] (absolute bounds), as torch's.

    Example:
        >>> import torch
        >>> w = trunc_normal_(torch.empty(100), 0.0, 1.0, -0.5, 0.5, seed=2, record=False)
        >>> bool(w.abs().max() <= 0.5)
        True
    """
    tensors.check_tensor(tensor)
    return fill_(tensor, trunc_normal_draw(mean, std, a, b), **_extras(name, seed, record, ledger))


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0, generator: Any = None, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Glorot uniform: U(-a, a), ``a = gain * sqrt(6 / (fan_in + fan_out))``, as torch's.

    Example:
        >>> import torch
        >>> w = xavier_uniform_(torch.empty(3, 5), gain=calculate_gain("relu"), seed=1, record=False)
        >>> w.shape
        torch.Size([3, 5])
    """
    tensors.check_tensor(tensor)
    return fill_(tensor, xavier_uniform_draw(tuple(tensor.shape), gain), **_extras(name, seed, record, ledger))


def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0, generator: Any = None, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Glorot normal: N(0, std²), ``std = gain * sqrt(2 / (fan_in + fan_out))``, as torch's.

    Example:
        >>> import torch
        >>> xavier_normal_(torch.empty(3, 5), seed=1, record=False).dtype
        torch.float32
    """
    tensors.check_tensor(tensor)
    return fill_(tensor, xavier_normal_draw(tuple(tensor.shape), gain), **_extras(name, seed, record, ledger))


def orthogonal_draw(shape: tuple[int, ...], gain: Any = 1.0) -> Draw:
    """The draw of ``orthogonal_``: reprovar's Haar orthogonal matrix of ``shape`` times ``gain``.

    Example:
        >>> orthogonal_draw((4, 4), 2.0)
        Draw(distribution='orthogonal', params={'scale': 2.0})
    """
    if len(shape) < 2:
        raise ArgumentValueError(f"Only tensors with 2 or more dimensions are supported, got shape {shape}")
    return Draw("orthogonal", {"scale": _float(gain, "gain")})


def orthogonal_(tensor: torch.Tensor, gain: float = 1, generator: Any = None, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Fill ``tensor`` with a random orthogonal matrix times ``gain``, as ``torch.nn.init.orthogonal_``.

    The tensor is read as torch reads it, a matrix of ``shape[0]`` rows and ``prod(shape[1:])``
    columns: its rows are orthonormal when there are fewer rows than columns, its columns
    otherwise. The matrix is Haar distributed (the same law as torch's), made by reprovar's own
    Householder QR: the same bits on every machine (see :func:`reprovar.orthogonal_variable`).

    Example:
        >>> import torch
        >>> w = orthogonal_(torch.empty(4, 6), seed=1, record=False)
        >>> bool(torch.allclose(w @ w.T, torch.eye(4), atol=1e-6))
        True
    """
    tensors.check_tensor(tensor)
    return fill_(tensor, orthogonal_draw(tuple(tensor.shape), gain), **_extras(name, seed, record, ledger))


def _zero_elements(tensor: torch.Tensor) -> bool:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator: Any = None, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """He uniform: U(-b, b), ``b = gain * sqrt(3 / fan_mode)``, as torch's.

    A zero-element tensor is left alone with torch's warning (and nothing is recorded).

    Example:
        >>> import torch
        >>> w = kaiming_uniform_(torch.empty(3, 5), mode="fan_in", nonlinearity="relu", seed=1, record=False)
        >>> bool(w.abs().max() <= (6 / 5) ** 0.5)
        True
    """
    tensors.check_tensor(tensor)
    if _zero_elements(tensor):
        return tensor
    draw = kaiming_uniform_draw(tuple(tensor.shape), a, mode, nonlinearity)
    return fill_(tensor, draw, **_extras(name, seed, record, ledger))


def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator: Any = None, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """He normal: N(0, std²), ``std = gain / sqrt(fan_mode)``, as torch's.

    Example:
        >>> import torch
        >>> kaiming_normal_(torch.empty(3, 5), mode="fan_out", nonlinearity="relu", seed=1, record=False).shape
        torch.Size([3, 5])
    """
    tensors.check_tensor(tensor)
    if _zero_elements(tensor):
        return tensor
    draw = kaiming_normal_draw(tuple(tensor.shape), a, mode, nonlinearity)
    return fill_(tensor, draw, **_extras(name, seed, record, ledger))


# --- constants: recorded too, so that a ledger holds a model's whole initial state ------------


def constant_(tensor: torch.Tensor, val: float, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Fill ``tensor`` with ``val``, as ``torch.nn.init.constant_``; recorded as a constant.

    Example:
        >>> import torch
        >>> constant_(torch.empty(2), 0.5, record=False).tolist()
        [0.5, 0.5]
    """
    tensors.check_tensor(tensor)
    return fill_(tensor, None, recipe=Recipe(base=Fill(_float(val, "val"))), **_extras(name, seed, record, ledger))


def zeros_(tensor: torch.Tensor, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Fill ``tensor`` with zeros, as ``torch.nn.init.zeros_``.

    Example:
        >>> import torch
        >>> zeros_(torch.ones(2), record=False).tolist()
        [0.0, 0.0]
    """
    return constant_(tensor, 0.0, **_extras(name, seed, record, ledger))


def ones_(tensor: torch.Tensor, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """Fill ``tensor`` with ones, as ``torch.nn.init.ones_``.

    Example:
        >>> import torch
        >>> ones_(torch.zeros(2), record=False).tolist()
        [1.0, 1.0]
    """
    return constant_(tensor, 1.0, **_extras(name, seed, record, ledger))


def eye_(tensor: torch.Tensor, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """The identity matrix in a 2-D ``tensor``, as ``torch.nn.init.eye_``.

    Example:
        >>> import torch
        >>> eye_(torch.empty(2, 3), record=False).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    tensors.check_tensor(tensor)
    if tensor.dim() != 2:
        raise ArgumentValueError(f"Only tensors with 2 dimensions are supported, got shape {tuple(tensor.shape)}")
    rows, cols = tensor.shape
    diagonal = Fill(1.0, Region(0, (min(rows, cols),), (cols + 1,)))
    return fill_(tensor, None, recipe=Recipe(base=Fill(0.0), steps=(diagonal,)), **_extras(name, seed, record, ledger))


def dirac_(tensor: torch.Tensor, groups: int = 1, *, name: str | None = None, seed: int | None = None, record: bool | None = None, ledger: Any = None) -> torch.Tensor:
    """The Dirac delta in a 3-, 4- or 5-D convolution weight, as ``torch.nn.init.dirac_``:
    identity on as many channels as possible in each of ``groups`` groups.

    Example:
        >>> import torch
        >>> w = dirac_(torch.empty(2, 2, 3), record=False)
        >>> w[:, :, 1].tolist(), float(w.sum())
        ([[1.0, 0.0], [0.0, 1.0]], 2.0)
    """
    tensors.check_tensor(tensor)
    if tensor.dim() not in (3, 4, 5):
        raise ArgumentValueError(f"Only tensors with 3, 4, or 5 dimensions are supported, got shape {tuple(tensor.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1 or tensor.size(0) % groups != 0:
        raise ArgumentValueError(f"dim 0 must be divisible by groups, got shape {tuple(tensor.shape)} and groups {groups!r}")
    shape = tuple(tensor.shape)
    strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    out_per_group = shape[0] // groups
    channels = min(out_per_group, shape[1])
    centre = sum((shape[i] // 2) * strides[i] for i in range(2, len(shape)))
    steps = tuple(
        Fill(1.0, Region(g * out_per_group * strides[0] + centre, (channels,), (strides[0] + strides[1],)))
        for g in range(groups) if channels
    )
    return fill_(tensor, None, recipe=Recipe(base=Fill(0.0), steps=steps), **_extras(name, seed, record, ledger))
