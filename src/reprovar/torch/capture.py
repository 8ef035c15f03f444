"""Capturing a model's own initialization: every write of its init code, kept per tensor storage.

:class:`Capture` is a ``torch.overrides.TorchFunctionMode``: while it is active it sees every
torch function and ``Tensor`` method the model's code calls. It keeps *what was asked*
(operation, target view, arguments) apart from *how it is fulfilled*: random draws are not
executed (reprovar makes their values later, once the parameter's name is known), constant
writes are executed (they are cheap, and their exact bits are read back at the end).

Per storage it logs :class:`Event` s, in order:

* ``draw``: ``normal_``/``uniform_`` on a view, and ``torch.nn.init.trunc_normal_`` (taken as
  one draw: torch's own implementation is a rejection sampler whose ops cannot be followed);
* ``fill``: ``fill_``, ``zero_``, ``x[i] = scalar`` and any other deterministic write
  (``copy_`` from values that do not come from a draw, ``torch.eye(out=...)``): executed,
  and at the end its elements must hold one constant;
* ``erfinv``/``mul``/``add``/``clamp`` with scalar arguments: steps of the
  ``uniform_ -> erfinv_ -> mul_ -> add_ -> clamp_`` composite timm's ``trunc_normal_`` (and
  older torch) use, followed symbolically by :mod:`reprovar.torch.recipes_from_capture`;
* ``bad``: anything reprovar cannot make again, with the reason (a random op it does not
  support, a write of values computed from torch's global generator or from a draw that has
  not been made yet).

Values computed from a draw before reprovar made it (``w.normal_(); w.norm()``), or from
torch's global generator (``torch.randn``), are *tainted*: a parameter holding or written
with tainted values is not reproducible, and the reason names the operation. Reading such
values into Python (``.item()``, ``bool(...)``) is noted as well.

Storages are kept alive while the capture runs, so that an address is never reused by
another tensor within one capture.
"""

from __future__ import annotations

import inspect
import numbers
import threading
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

#: Tensor methods that fill with torch's generator and have no reprovar counterpart.
UNSUPPORTED_RANDOM_METHODS = frozenset(
    {"random_", "bernoulli_", "exponential_", "cauchy_", "log_normal_", "geometric_"}
)
#: Functions whose results come from torch's global generator.
GLOBAL_RANDOM_FUNCTIONS = frozenset(
    {"rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "poisson",
     "rand_like", "randn_like", "randint_like", "dropout", "dropout_", "rrelu", "rrelu_",
     "feature_alpha_dropout", "alpha_dropout", "native_dropout", "binomial", "_standard_gamma",
     "_sample_dirichlet"}
)
#: Functions whose results hold whatever was in memory.
EMPTY_FUNCTIONS = frozenset({"empty", "empty_like", "new_empty", "empty_strided", "new_empty_strided"})
#: Methods with a trailing underscore that do not write values.
NOT_WRITES = frozenset(
    {"requires_grad_", "share_memory_", "retain_grad", "record_stream", "pin_memory",
     "_set_grad_enabled", "set_grad_enabled", "rename_", "refine_names"}
)
#: Calls that only read metadata (shape, dtype, ...): never a read of values.
METADATA = frozenset(
    {"size", "dim", "numel", "stride", "storage_offset", "is_contiguous", "element_size",
     "nelement", "ndimension", "is_floating_point", "is_complex", "data_ptr", "untyped_storage",
     "__len__", "__hash__", "__get__", "__set__", "_is_view", "is_leaf", "get_device",
     "is_pinned", "is_shared", "has_names", "is_nonzero_", "__format__", "_has_compatible_shallow_copy_type",
     "__reduce_ex__", "__deepcopy__", "_is_zerotensor", "is_inference", "is_signed", "__index__"}
)
#: Functions that take only the shape, dtype and device of their tensor arguments.
SHAPE_ONLY = frozenset({"new_empty", "new_zeros", "new_ones", "new_full", "empty_like", "zeros_like",
                        "ones_like", "full_like", "new_empty_strided"})
#: Reads of values into Python: the values must be the ones reprovar makes.
VALUE_READS = frozenset({"item", "tolist", "__bool__", "__float__", "__int__", "__complex__", "numpy",
                         "__repr__", "__str__", "equal", "allclose"})
#: The torch.nn.init functions that dispatch to modes themselves (handle_torch_function);
#: transformers 5 swaps its own look-alikes in under the same names while it initializes.
INIT_FUNCTIONS = frozenset({"normal_", "uniform_", "constant_", "kaiming_uniform_"})
#: In-place writes that do not read the values they replace.
OVERWRITES = frozenset({"fill_", "zero_", "copy_"})
#: In-place operators and the method they stand for.
_IN_PLACE_OPERATORS = {"__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_"}


@dataclass(frozen=True)
class View:
    """Where an event wrote: element offset into the storage, size and stride per axis."""

    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]

    @classmethod
    def of(cls, t: torch.Tensor) -> View:
        return cls(t.storage_offset(), tuple(t.shape), tuple(t.stride()))


@dataclass
class Event:
    """One write of the model's code into a storage."""

    kind: str  # "draw", "fill", "erfinv", "mul", "add", "clamp", "eye", "bad"
    view: View
    op: str  # the torch operation, for messages
    args: tuple = ()  # draw: (distribution, params); mul/add: (k,); clamp: (lo, hi); bad: (reason,)


@dataclass
class StorageLog:
    """Everything the capture knows about one storage."""

    storage: Any  # a strong reference: the address stays this storage's
    events: list[Event] = field(default_factory=list)
    created: str = ""  # "empty" for torch.empty & co.: its values are whatever was in memory
    taint: str = ""  # why its values cannot be made again (derived from a draw or torch's generator)
    origins: list = field(default_factory=list)  # the logs of the draws a tainted value came from
    pending: bool = False  # a draw into it was not executed: its memory does not hold the values
    reads: list[str] = field(default_factory=list)  # values read into Python before they were made


_active = threading.local()


def active_capture() -> Capture | None:
    """The capture running in this thread, if any."""
    return getattr(_active, "capture", None)


def _key(t: torch.Tensor):
    try:
        storage = t.untyped_storage()
    except (RuntimeError, NotImplementedError, TypeError):
        return None, None
    ptr = storage.data_ptr()
    if ptr == 0:  # meta tensors and empty storages have no address
        return None, None
    return (t.device.type, t.device.index, ptr), storage


def _tensors(args: tuple, kwargs: dict):
    for a in args:
        if isinstance(a, torch.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, torch.Tensor):
                    yield b
    for a in kwargs.values():
        if isinstance(a, torch.Tensor):
            yield a


def _outputs(result):
    if isinstance(result, torch.Tensor):
        yield result
    elif isinstance(result, (list, tuple)):
        for r in result:
            if isinstance(r, torch.Tensor):
                yield r


def _scalar(x: Any) -> float | None:
    """A Python number (or a 0-dim tensor that holds a made value) as float; else None."""
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, numbers.Real):
        return float(x)
    return None


class Capture(TorchFunctionMode):
    """Logs every write of the code that runs while it is active (see the module doc).

    Example:
        >>> import torch
        >>> with Capture() as cap:
        ...     lin = torch.nn.Linear(3, 2)
        >>> log = cap.log_of(lin.weight)
        >>> [(e.kind, e.args[0]) for e in log.events]
        [('draw', 'uniform')]
    """

    def __init__(self, undo: bool = False):
        super().__init__()
        self.logs: dict[Any, StorageLog] = {}
        #: (view, its values before) of every executed write, when asked for: a refused
        #: init_module puts the model back as it was.
        self.undo: list | None = [] if undo else None

    def _before_write(self, t: torch.Tensor) -> None:
        if self.undo is not None and t.numel():
            with torch._C.DisableTorchFunction():
                self.undo.append((t, t.detach().clone(), None))

    def rollback(self) -> None:
        """Put back every value an executed write changed (newest first)."""
        if not self.undo:
            return
        with torch._C.DisableTorchFunction(), torch.no_grad():
            for t, before, data in reversed(self.undo):
                if data is not None:
                    t.data = data
                else:
                    t.detach().copy_(before)
        self.undo.clear()

    # --- the context ------------------------------------------------------------------

    def __enter__(self):
        if active_capture() is not None:
            from ..errors import ArgumentValueError

            raise ArgumentValueError("a model initialization is already being captured in this thread")
        _active.capture = self
        _patches.install()
        try:
            return super().__enter__()
        except BaseException:
            _active.capture = None
            raise

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            _active.capture = None

    # --- what it knows ----------------------------------------------------------------

    def log_of(self, t: torch.Tensor) -> StorageLog | None:
        """The log of ``t``'s storage (None when nothing was seen of it)."""
        key, _ = _key(t)
        return None if key is None else self.logs.get(key)

    def _log(self, t: torch.Tensor) -> StorageLog | None:
        key, storage = _key(t)
        if key is None:
            return None
        log = self.logs.get(key)
        if log is None:
            log = self.logs[key] = StorageLog(storage)
        return log

    def record(self, target: torch.Tensor, kind: str, op: str, args: tuple = ()) -> None:
        """Log a write of ``kind`` into ``target``'s view."""
        log = self._log(target)
        if log is None:
            return
        view = View.of(target)
        log.events.append(Event(kind, view, op, args))
        if kind in ("draw", "fill", "eye") and _covers_storage(target):
            # Every element is written again, from a draw or made values: what the storage held
            # before (torch.randn's values, say) is gone, and the last whole write counts.
            log.taint = ""
        if kind in ("draw", "erfinv", "mul", "add", "clamp"):
            log.pending = True
        elif kind in ("fill", "eye") and _covers_storage(target):
            log.pending = False  # executed over every element: the memory holds the values again

    def record_draw(self, target: torch.Tensor, distribution: str, params: dict, op: str) -> None:
        """A draw of ``distribution`` into ``target`` (not executed: reprovar makes it later)."""
        self.record(target, "draw", op, (distribution, params))

    # --- the mode ---------------------------------------------------------------------

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        name = _IN_PLACE_OPERATORS.get(name, name)
        if name in INIT_FUNCTIONS and inspect.isfunction(func):
            if getattr(func, "__module__", None) == "transformers.initialization":
                # transformers 5 swaps its look-alikes into torch.nn.init while its init code
                # runs (guard_torch_init_functions): the same call, skipped for a tensor it
                # marked as initialized.
                tensor = args[0] if args else kwargs.get("tensor")
                if isinstance(tensor, torch.Tensor) and getattr(tensor, "_is_hf_initialized", False):
                    return tensor
            return self._init_function(func, name, args, kwargs)
        if name == "__set__" and self.undo is not None and len(args) == 2 and isinstance(args[0], torch.Tensor):
            # ``tensor.data = other``: the tensor is pointed at other memory; undo points it back.
            with torch._C.DisableTorchFunction():
                self.undo.append((args[0], None, args[0].data))
        if name in METADATA:
            return func(*args, **kwargs)
        target = args[0] if args and isinstance(args[0], torch.Tensor) else None
        # Where the values of the inputs come from: a draw not made yet, or a taint.
        sources = [(t, self.log_of(t)) for t in _tensors(args, kwargs)]
        tainted = ""
        for t, log in ([] if name in SHAPE_ONLY else sources):
            if log is not None and (log.pending or log.taint) and not (t is target and name.endswith("_")):
                tainted = log.taint or f"{name} used values drawn by {_last_draw(log)} before reprovar made them"
                break

        if target is not None and name.endswith("_") and not name.startswith("__") and name not in NOT_WRITES:
            return self._write(func, name, target, args, kwargs, tainted)
        if name == "__setitem__" and target is not None:
            return self._setitem(func, target, args, kwargs, tainted)
        out = kwargs.get("out")
        written = list(_outputs(out)) if out is not None else []
        for o in written:
            self._before_write(o)
        result = func(*args, **kwargs)
        if name in VALUE_READS:
            for t, log in sources:
                if log is not None and log.pending:
                    log.reads.append(f"{name}() read values before reprovar made them")
                elif log is not None and log.taint:
                    for origin in log.origins or [log]:
                        origin.reads.append(f"{name}() read values computed from it before reprovar made them")
            return result
        for o in written:
            if name == "eye":
                self.record(o, "eye", "eye")
            elif name in GLOBAL_RANDOM_FUNCTIONS:
                self.record(o, "bad", name, (f"{name} wrote values from torch's global generator",))
            else:
                self.record(o, "bad" if tainted else "fill", name, (tainted,) if tainted else ())
        if out is None:
            self._mark_results(name, result, sources, tainted)
        return result

    def _mark_results(self, name: str, result, sources, tainted: str) -> None:
        input_keys = {_key(t)[0] for t, _ in sources}
        for o in _outputs(result):
            key, storage = _key(o)
            if key is None or key in input_keys:  # a view: the input's own log covers it
                continue
            if name in GLOBAL_RANDOM_FUNCTIONS:
                log = self.logs.setdefault(key, StorageLog(storage))
                log.taint = f"its values come from torch's global generator ({name})"
            elif tainted:
                copied = _whole_copy(name, o, sources)
                log = self.logs.setdefault(key, StorageLog(storage))
                if copied is not None:  # a dtype or device copy of a whole tensor: the same recipe
                    log.events, log.pending, log.created = list(copied.events), copied.pending, copied.created
                    log.taint = copied.taint
                else:
                    log.taint = tainted
                    log.origins = [o for _, src in sources if src is not None and (src.pending or src.taint)
                                   for o in (src.origins if src.taint else [src])]
            elif name in EMPTY_FUNCTIONS:
                log = self.logs.setdefault(key, StorageLog(storage))
                log.created = "empty"

    def _write(self, func, name: str, target: torch.Tensor, args, kwargs, tainted: str):
        rest = args[1:]
        if name in ("normal_", "uniform_"):
            dist, params = _draw_args(name, rest, kwargs)
            self.record_draw(target, dist, params, name)
            return target  # not executed: reprovar makes the values
        if name in UNSUPPORTED_RANDOM_METHODS:
            self.record(target, "bad", name, (f"{name} draws with torch's generator and reprovar has no such draw",))
            return target
        if tainted:
            self.record(target, "bad", name, (tainted,))
            self._before_write(target)
            return func(*args, **kwargs)
        log = self.log_of(target)
        pending = log is not None and log.pending
        if name == "erfinv_" and not rest and pending:
            self.record(target, "erfinv", name)
            return target
        if name in ("mul_", "add_", "sub_", "div_") and pending:
            k = _scalar(rest[0]) if rest else None
            alpha = _scalar(kwargs.get("alpha", 1))
            if k is not None and alpha is not None and len(rest) == 1:
                if name == "mul_":
                    self.record(target, "mul", name, (k,))
                elif name == "div_" and k != 0:
                    self.record(target, "mul", name, (1.0 / k,))
                elif name == "add_":
                    self.record(target, "add", name, (k * alpha,))
                elif name == "sub_":
                    self.record(target, "add", name, (-k * alpha,))
                else:
                    self.record(target, "bad", name, (f"{name} by {k!r}",))
                return target
        if name == "clamp_" and pending:
            lo = kwargs.get("min", rest[0] if len(rest) > 0 else None)
            hi = kwargs.get("max", rest[1] if len(rest) > 1 else None)
            lo_f = None if lo is None else _scalar(lo)
            hi_f = None if hi is None else _scalar(hi)
            if (lo is None or lo_f is not None) and (hi is None or hi_f is not None):
                self.record(target, "clamp", name, (lo_f, hi_f))
                return target
        if pending and name not in OVERWRITES:
            # It reads the values a draw has not made yet (mul_ by a tensor, sort_, ...).
            self.record(target, "bad", name, (
                f"{name} changed values drawn by {_last_draw(log)} in place; only the "
                "uniform_/erfinv_/mul_/add_/clamp_ truncated-normal composite is followed",))
            return target
        # Any other write (fill_, zero_, copy_ from made values, ...): executed; the values it
        # leaves must be one constant, checked at the end.
        self._before_write(target)
        result = func(*args, **kwargs)
        self.record(target, "fill", name)
        return result

    def _init_function(self, func, name: str, args, kwargs):
        # What these functions call inside runs with this mode off, so each is read as the one
        # draw or write it is.
        try:
            bound = inspect.signature(func).bind(*args, **kwargs)
        except TypeError:
            return func(*args, **kwargs)  # torch raises its own error for bad arguments
        bound.apply_defaults()
        a = bound.arguments
        tensor = a.get("tensor")
        if not isinstance(tensor, torch.Tensor):
            return func(*args, **kwargs)
        if tensor.numel() == 0:
            return func(*args, **kwargs)  # torch's warning, and nothing to write
        if name == "normal_":
            self.record_draw(tensor, "normal", {"mean": a["mean"], "scale": a["std"]}, "normal_")
            return tensor
        if name == "uniform_":
            self.record_draw(tensor, "uniform", {"low": a["a"], "high": a["b"]}, "uniform_")
            return tensor
        if name == "kaiming_uniform_":
            from .init import kaiming_uniform_draw

            draw = kaiming_uniform_draw(tuple(tensor.shape), a["a"], a["mode"], a["nonlinearity"])
            self.record_draw(tensor, "uniform", dict(draw.params), "kaiming_uniform_")
            return tensor
        if name == "constant_":
            self._before_write(tensor)
            result = func(*args, **kwargs)
            self.record(tensor, "fill", "constant_")
            return result
        raise AssertionError(name)  # INIT_FUNCTIONS lists the names handled above

    def _setitem(self, func, target: torch.Tensor, args, kwargs, tainted: str):
        index, value = args[1], args[2]
        with torch._C.DisableTorchFunction():
            try:
                view = target[index]
            except Exception:
                view = None
        self._before_write(target if view is None else view)
        result = func(*args, **kwargs)
        if view is not None and view.untyped_storage().data_ptr() == target.untyped_storage().data_ptr():
            self.record(view, "bad" if tainted else "fill", "__setitem__", (tainted,) if tainted else ())
        else:  # advanced indexing: the elements written are not one strided view
            reason = tainted or "x[index] = value with a tensor index writes elements that are not one strided view"
            self.record(target, "bad", "__setitem__", (reason,))
        return result


def _covers_storage(t: torch.Tensor) -> bool:
    return (t.storage_offset() == 0 and t.is_contiguous()
            and t.numel() * t.element_size() == t.untyped_storage().nbytes())


def _last_draw(log: StorageLog) -> str:
    for e in reversed(log.events):
        if e.kind == "draw":
            return e.op
    return "a draw"


def _whole_copy(name: str, out: torch.Tensor, sources) -> StorageLog | None:
    # .to(dtype)/.to(device)/.clone()/.contiguous() of one whole contiguous tensor.
    if name not in ("to", "_to_copy", "clone", "contiguous", "type", "half", "float", "double",
                    "bfloat16", "cuda", "cpu", "detach_copy"):
        return None
    logs = [(t, log) for t, log in sources if log is not None]
    if len(logs) != 1:
        return None
    t, log = logs[0]
    if t.storage_offset() != 0 or not t.is_contiguous() or not out.is_contiguous() \
            or t.numel() != out.numel() or t.untyped_storage().nbytes() != t.numel() * t.element_size():
        return None
    return log


def _draw_args(name: str, rest: tuple, kwargs: dict) -> tuple[str, dict]:
    if name == "normal_":
        mean = kwargs.get("mean", rest[0] if len(rest) > 0 else 0.0)
        std = kwargs.get("std", rest[1] if len(rest) > 1 else 1.0)
        return "normal", {"mean": mean, "scale": std}
    low = kwargs.get("from", rest[0] if len(rest) > 0 else 0.0)
    high = kwargs.get("to", rest[1] if len(rest) > 1 else 1.0)
    return "uniform", {"low": low, "high": high}


# --- functions that are one draw, though their ops could not be followed ------------------


class _Patches:
    """``torch.nn.init.trunc_normal_`` is a rejection sampler in torch (data-dependent loops):
    while a capture runs in a thread, its implementation ``_no_grad_trunc_normal_`` records
    one truncated-normal draw instead, and ``orthogonal_`` (a LAPACK QR of a draw) one draw of
    reprovar's orthogonal distribution with its gain. ``sparse_`` records why it cannot be
    made. Other threads get torch's own functions."""

    def __init__(self):
        self._lock = threading.Lock()
        self._installed = False

    def install(self) -> None:
        with self._lock:
            if self._installed:
                return
            init = torch.nn.init
            original_trunc = init._no_grad_trunc_normal_

            def _no_grad_trunc_normal_(tensor, mean, std, a, b, generator=None):
                capture = active_capture()
                if capture is None:
                    return original_trunc(tensor, mean, std, a, b, generator=generator)
                capture.record_draw(tensor, "truncated_normal",
                                    {"mean": mean, "scale": std, "low": a, "high": b}, "trunc_normal_")
                return tensor

            init._no_grad_trunc_normal_ = _no_grad_trunc_normal_
            original_orthogonal = init.orthogonal_

            def orthogonal_(tensor, gain=1, generator=None):
                capture = active_capture()
                if capture is None or tensor.ndimension() < 2:  # torch raises its own error
                    return original_orthogonal(tensor, gain=gain, generator=generator)
                capture.record_draw(tensor, "orthogonal", {"scale": gain}, "orthogonal_")
                return tensor

            orthogonal_.__doc__ = original_orthogonal.__doc__
            init.orthogonal_ = orthogonal_
            for fname, why in (("sparse_", "zeros at positions from torch's global generator"),):
                original = getattr(init, fname)

                def unsupported(tensor, *args, _original=original, _fname=fname, _why=why, **kwargs):
                    capture = active_capture()
                    if capture is None:
                        return _original(tensor, *args, **kwargs)
                    capture.record(tensor, "bad", _fname, (f"torch.nn.init.{_fname} is {_why}, not supported",))
                    return tensor

                unsupported.__name__ = fname
                unsupported.__doc__ = original.__doc__
                setattr(init, fname, unsupported)
            self._installed = True


_patches = _Patches()

