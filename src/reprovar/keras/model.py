"""``initialize`` and ``restore``: a built Keras model's weights through the ledger."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from .. import adapter, trackers
from ..adapter import Initialized, Planned
from ..errors import ArgumentTypeError, ArgumentValueError
from ..recipes import Draw, Fill, Recipe, Region
from ..validation import SUPPORTED_DTYPES, resolve_dtype
from . import initializers as ours
from .initializers import _float, orthogonal_draw, variance_scaling_draw

_K = keras.initializers
#: Keras' own initializers reprovar draws the same distribution for, by exact type.
_VARIANCE_SCALING = (
    _K.VarianceScaling,
    _K.GlorotUniform,
    _K.GlorotNormal,
    _K.HeNormal,
    _K.HeUniform,
    _K.LecunNormal,
    _K.LecunUniform,
)


@dataclass(frozen=True)
class _Entry:
    variable: Any
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    spec: Draw | float | Recipe

    @property
    def recorded(self) -> bool:
        """A draw or a constant pattern (a recipe): made and recorded; a plain constant is only set."""
        return isinstance(self.spec, (Draw, Recipe))


def spec_of(initializer: Any, shape: tuple[int, ...]) -> Draw | float | Recipe | None:
    """The draw, the constant or the constant pattern (a :class:`~reprovar.recipes.Recipe`)
    ``initializer`` gives a weight of ``shape``; None when unknown.

    Keras' built-ins are recognized by exact type (a subclass may draw differently), reprovar's
    own by being :class:`~reprovar.keras.initializers.ReprovarInitializer` instances.

    Example:
        >>> import keras
        >>> spec_of(keras.initializers.GlorotUniform(), (4, 6)).distribution
        'uniform'
        >>> spec_of(keras.initializers.Zeros(), (3,))
        0.0
        >>> spec_of(keras.initializers.Orthogonal(), (3, 3)).distribution
        'orthogonal'
        >>> spec_of(keras.initializers.Identity(), (2, 2)).describe()
        'constant 0.0, then 1 constant write'
        >>> spec_of(keras.initializers.Initializer(), (3,)) is None
        True
    """
    if isinstance(initializer, ours.ReprovarInitializer):
        return initializer.draw(shape)
    kind = type(initializer)
    if kind in _VARIANCE_SCALING:
        i = initializer
        return variance_scaling_draw(shape, _float(i.scale, "scale"), i.mode, i.distribution, i.input_axes, i.output_axes)
    if kind is _K.RandomNormal:
        return Draw("normal", {"mean": _float(initializer.mean, "mean"), "scale": _float(initializer.stddev, "stddev")})
    if kind is _K.RandomUniform:
        return Draw("uniform", {"low": _float(initializer.minval, "minval"), "high": _float(initializer.maxval, "maxval")})
    if kind is _K.TruncatedNormal:
        mean, std = _float(initializer.mean, "mean"), _float(initializer.stddev, "stddev")
        return Draw("truncated_normal", {"mean": mean, "scale": std, "low": mean - 2 * std, "high": mean + 2 * std})
    if kind is _K.Orthogonal:
        return orthogonal_draw(shape, initializer.gain)
    if kind is _K.Identity:
        return identity_recipe(shape, _float(initializer.gain, "gain"))
    if kind is _K.Zeros:
        return 0.0
    if kind is _K.Ones:
        return 1.0
    if kind is _K.Constant:
        value = np.asarray(keras.ops.convert_to_numpy(initializer.value))
        return float(value) if value.ndim == 0 else None
    return None


def identity_recipe(shape: tuple[int, ...], gain: float) -> Recipe:
    """``gain`` times the identity matrix (Keras' ``Identity``, 2-D only), as a constant pattern.

    Example:
        >>> import numpy as np
        >>> from reprovar.recipes import make
        >>> make((2, 3), np.dtype("float32"), None, 0, identity_recipe((2, 3), 2.0)).tolist()
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """
    if len(shape) != 2:
        raise ArgumentValueError(f"Identity initializes 2-D weights only, got shape={shape}")
    rows, cols = shape
    return Recipe(base=Fill(0.0), steps=(Fill(gain, Region(0, (min(rows, cols),), (cols + 1,))),))


def unit_forget_bias_recipe(shape: tuple[int, ...], base: float) -> Recipe:
    """An LSTM's bias with ``unit_forget_bias``: Keras concatenates the bias initializer's
    values for the input gate, ones for the forget gate, and its values for the other two;
    for a constant initializer ``base``, a constant pattern.

    Example:
        >>> import numpy as np
        >>> from reprovar.recipes import make
        >>> make((8,), np.dtype("float32"), None, 0, unit_forget_bias_recipe((8,), 0.0)).tolist()
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """
    units = shape[0] // 4
    return Recipe(base=Fill(base), steps=(Fill(1.0, Region(units, (units,), (1,))),))


#: Weights whose initializer is not the layer's ``<weight>_initializer``: the attribute that
#: holds it, or the initializer Keras' ``build`` names as a string.
_OTHER_ATTRIBUTE = {
    ("DepthwiseConv1D", "kernel"): "depthwise_initializer",
    ("DepthwiseConv2D", "kernel"): "depthwise_initializer",
    ("ReversibleEmbedding", "reverse_embeddings"): "embeddings_initializer",
}
_FIXED = {
    ("RMSNormalization", "scale"): "ones",
    ("Attention", "scale"): "ones",
    ("Attention", "concat_score_weight"): "ones",
    ("AdditiveAttention", "scale"): "glorot_uniform",
}


def _keras_class(layer: Any) -> str | None:
    # The Keras built-in class a layer is or derives from (whose build makes its weights, as
    # for the attribute convention, unless a subclass builds them otherwise).
    for kind in type(layer).__mro__:
        if kind.__module__.startswith("keras."):
            return kind.__name__
    return None


def _initializer_of(layer: Any, variable: Any) -> Any:
    # Keras' convention: the weight `kernel` comes from `kernel_initializer`,
    # `recurrent_kernel` from `recurrent_initializer`, `depthwise_kernel` from
    # `depthwise_initializer`, ...; the exceptions are in _OTHER_ATTRIBUTE and _FIXED.
    name = variable.name
    key = (_keras_class(layer), name)
    if key in _FIXED:
        return keras.initializers.get(_FIXED[key])
    candidates = [f"{name}_initializer", f"_{name}_initializer"]
    if key in _OTHER_ATTRIBUTE:
        candidates.insert(0, _OTHER_ATTRIBUTE[key])
    if name.endswith("_kernel"):
        stem = name[: -len("_kernel")]
        candidates += [f"{stem}_initializer", f"_{stem}_initializer"]
    for attr in candidates:
        found = getattr(layer, attr, None)
        if found is not None and not isinstance(found, (str, dict)):
            return found
    return None


def _forget_bias(layer: Any, variable: Any) -> bool:
    # LSTMCell and ConvLSTMCell build their bias from bias_initializer and ones (see
    # unit_forget_bias_recipe) when unit_forget_bias is set.
    return (variable.name == "bias" and _keras_class(layer) in ("LSTMCell", "ConvLSTMCell")
            and bool(getattr(layer, "unit_forget_bias", False)))


def _spec_of_weight(layer: Any, variable: Any, shape: tuple[int, ...]) -> tuple[Any, Any]:
    # (initializer, spec) of one weight; spec None when reprovar does not know it.
    initializer = _initializer_of(layer, variable)
    spec = None if initializer is None else spec_of(initializer, shape)
    if _forget_bias(layer, variable):
        # Only a constant bias initializer makes a constant pattern; a random one would be two draws.
        spec = unit_forget_bias_recipe(shape, spec) if isinstance(spec, float) and not isinstance(spec, bool) else None
    return initializer, spec


def _plan(model: Any, on_unknown: str, action: str) -> list[_Entry]:
    if not isinstance(model, keras.layers.Layer):
        raise ArgumentTypeError(f"model must be a Keras model or layer, got {type(model).__name__}")
    if not model.built:
        raise ArgumentValueError(f"{action}: the model is not built; build it (or call it once) first")
    entries, unknown, seen = [], [], set()
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for variable in list(layer._trainable_variables) + list(layer._non_trainable_variables):
            if id(variable) in seen:
                continue
            seen.add(id(variable))
            shape = tuple(int(d) for d in variable.shape)
            dtype_name = keras.backend.standardize_dtype(variable.dtype)
            initializer, spec = _spec_of_weight(layer, variable, shape)
            if initializer is None and not variable.trainable:
                continue  # layer state with no initializer (Normalization's adapted statistics)
            if spec is None:
                what = type(initializer).__name__ if initializer is not None else "no initializer found"
                if initializer is not None and _forget_bias(layer, variable):
                    what += " with unit_forget_bias (a random bias_initializer)"
                unknown.append(f"{variable.path} ({type(layer).__name__}: {what})")
                continue
            if math.prod(shape) == 0:
                continue
            if not isinstance(spec, (Draw, Recipe)):  # a constant, of any dtype
                entries.append(_Entry(variable, variable.path, shape, np.dtype(_numpy_name(dtype_name)), spec))
                continue
            if dtype_name not in SUPPORTED_DTYPES:
                raise ArgumentTypeError(
                    f"{action}: variable {variable.path!r} has dtype {dtype_name}; random weights "
                    f"can be {', '.join(SUPPORTED_DTYPES)}"
                )
            entries.append(_Entry(variable, variable.path, shape, resolve_dtype(dtype_name), spec))
    if unknown:
        what = f"no known initialization for {'; '.join(unknown)}"
        if on_unknown == "raise":
            raise ArgumentValueError(f"{action}: {what}; pass on_unknown='skip' or 'warn' to leave them as they are")
        if on_unknown == "warn":
            warnings.warn(f"{action}: {what}; left as they are", UserWarning, stacklevel=3)
    return entries


def _numpy_name(dtype_name: str) -> str:
    # Constants are assigned as float32 to half-precision variables (Keras casts exactly).
    return "float32" if dtype_name in ("bfloat16", "float16") else dtype_name


def _planned(entries: list[_Entry]) -> list[Planned]:
    out = []
    for e in entries:
        if isinstance(e.spec, Draw):
            out.append(Planned(e.name, e.shape, e.dtype, e.spec, target=e))
        elif isinstance(e.spec, Recipe):
            out.append(Planned(e.name, e.shape, e.dtype, None, target=e, recipe=e.spec))
        else:
            out.append(Planned(e.name, e.shape, e.dtype, constant=e.spec))
    return out


def _storage(p: Planned) -> np.ndarray | None:
    # On the torch backend a variable is a torch Parameter: values can be made in its own
    # memory (CPU, C order), as reprovar.torch does. Elsewhere: a buffer, then assign().
    if keras.backend.backend() != "torch":
        return None
    from ..torch.tensors import host_view, torch_dtype

    value = p.target.variable.value
    view = host_view(value) if value.dtype == torch_dtype(p.dtype.name) else None
    return None if view is None else view.reshape(p.shape)


def _assign(entries: list[_Entry], values: dict[str, np.ndarray], in_place: frozenset = frozenset()) -> None:
    for e in entries:
        if e.recorded:
            if e.name in in_place:
                from ..torch.tensors import written_in_place

                written_in_place(e.variable.value)
                continue
            v = values[e.name]
            if v.dtype.name == "bfloat16":  # exactly representable in float32; the cast rounds back exactly
                v = v.astype(np.float32)
            e.variable.assign(v)
        else:
            e.variable.assign(np.full(e.shape, e.spec, e.dtype))


def initialize(
    model: Any,
    *,
    seed: int | None = None,
    record: bool | None = None,
    ledger: Any = None,
    on_unknown: str = "raise",
    log_to_trackers: bool | None = None,
) -> Initialized:
    """(Re)initialize every weight of a built Keras model through reprovar, recording each one.

    Each weight follows its layer's configured initializer (``kernel_initializer`` for
    ``kernel``, ...): Keras' built-ins (``glorot_uniform``, ``he_normal``, ``random_normal``,
    ``truncated_normal``, ``variance_scaling``, ...) and reprovar's own are drawn by reprovar
    with the same formulas, ``orthogonal`` too (reprovar's own Householder QR, the same bits on
    every machine); ``zeros``, ``ones`` and ``constant`` stay constants, set and not
    recorded; ``identity`` and an LSTM's ``unit_forget_bias`` are recorded constant patterns
    (:mod:`reprovar.recipes`). Each random weight is recorded under its ``variable.path`` with the seed
    ``derive_seed(seed, path)`` (an initializer's own seed is not used). Everything is checked
    and made first and recorded in one transaction; only then are the weights assigned.

    Initializers reprovar cannot reproduce (callables, initializers of other classes, a
    random ``bias_initializer`` with ``unit_forget_bias``) raise an error listing them unless ``on_unknown`` is ``"skip"`` or
    ``"warn"``. Non-trainable state with no initializer of its own (``Normalization``'s
    adapted statistics) is left as it is.

    ``log_to_trackers``: at the end, log the model seed and the records to the MLflow and
    W&B runs active in this process (:func:`reprovar.trackers.after_initialize`); None:
    ``$REPROVAR_LOG_TO_TRACKERS`` decides (off when unset). True with no tracker run active
    raises before anything is initialized.

    Returns:
        A dict from path to ledger record (None when not recorded), with ``.seed``.

    Example:
        >>> import keras, reprovar.keras as rk
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="out")], name="m")
        >>> records = rk.initialize(model, seed=1, record=False)
        >>> sorted(records), records.seed
        (['m/out/kernel'], 1)
    """
    on_unknown = adapter.check_on_unknown(on_unknown)
    recording = adapter.recording_on(record, ledger)
    log = trackers.tracker_logging(log_to_trackers)
    entries = _plan(model, on_unknown, "initialize")
    planned = _planned(entries)
    initialized = adapter.initialize(
        planned,
        lambda values, in_place: _assign(entries, values, in_place),
        seed=seed,
        storage=_storage,
        recording=recording,
        ledger=ledger,
        what="initialize: the model",
    )
    trackers.after_initialize(initialized, log=log, ledger=ledger)
    return initialized


def restore(
    model: Any,
    *,
    run: int | None = None,
    ledger: Any = None,
    on_unknown: str = "raise",
    mlflow_run: Any = None,
    wandb_run: Any = None,
) -> dict:
    """Bring back a Keras model's initial state from the ledger, bit for bit.

    Every random weight gets the recorded values of its ``variable.path`` (the latest
    version, or the latest one run ``run`` recorded), made again and checked against their
    digests; constants are reset. A missing path or a shape that differs from its record
    raises before any weight is changed.

    ``mlflow_run`` (an MLflow run id) or ``wandb_run`` (a W&B ``entity/project/id`` path)
    instead of ``run``: the weights the reprovar run linked to that tracker run recorded for
    it (:func:`reprovar.trackers.restore_selection`; an unknown one raises
    :class:`~reprovar.errors.UnknownTrackerRunError` and nothing is changed).

    Example:
        >>> import keras, numpy as np, tempfile, os, reprovar.keras as rk
        >>> path = os.path.join(tempfile.mkdtemp(), "k.db")
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")])
        >>> _ = rk.initialize(model, seed=3, ledger=path)
        >>> initial = [w.copy() for w in model.get_weights()]
        >>> model.set_weights([w + 1 for w in initial])
        >>> _ = rk.restore(model, ledger=path)
        >>> all(np.array_equal(a, b) for a, b in zip(initial, model.get_weights()))
        True
    """
    on_unknown = adapter.check_on_unknown(on_unknown)
    selection = trackers.restore_selection(run, mlflow_run, wandb_run, ledger)
    entries = _plan(model, on_unknown, "restore")
    return adapter.restore(
        [adapter.Stored(e.name, e.shape) for e in entries if e.recorded], lambda values: _assign(entries, values),
        ledger=ledger, action="restore", noun="weight", selection=selection,
    )
