"""From a capture to a plan: what each state_dict entry's initial value is, as draws and constants.

Once the module tree is whole, every entry of ``state_dict(keep_vars=True)`` (parameters and
persistent buffers) is named by its path, and the events the capture logged for its storage
(:mod:`reprovar.torch.capture`) are read in order into a base and steps
(:class:`reprovar.recipes.Recipe`):

* a draw or constant write over the whole tensor replaces everything before it (GPT-2's
  ``c_proj`` is drawn twice: only the last draw counts);
* a draw or write into a part (a view) is a step after the base (an Embedding's padding row);
* ``uniform_ -> erfinv_ -> mul_ -> add_ -> clamp_`` on one view is one truncated-normal draw
  (timm's ``trunc_normal_``), and ``mul_ -> add_`` after it rescales it (``trunc_normal_tf_``);
* a constant write's value is read from the tensor's own memory at the end (the writes were
  executed), so it is exactly what the model's code computed; the elements it still owns must
  all hold the same bits;
* elements no event wrote keep the value the tensor was made with: a constant (``torch.ones``)
  is recorded as such, memory from ``torch.empty`` that nothing initialized is an error.

Anything else is a :class:`Problem` naming the entry and the operation; the caller raises
:class:`~reprovar.errors.UnreproducibleError` with all of them before anything is written.
Tied entries (one tensor under two names) are planned once, under the first name, and the
other names get rows that repeat it with ``tied_to``.
"""

from __future__ import annotations

import math
import numbers
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..adapter import Planned
from ..recipes import Draw, Fill, PartDraw, Recipe, Region
from ..seeding import derive_seed
from . import tensors
from .capture import Capture, Event, StorageLog

_SQRT2 = math.sqrt(2.0)
#: The most steps one entry's recipe may hold (``dirac_`` writes one per output channel).
MAX_STEPS = 65_535

#: Non-float dtypes an entry may have: its value must then be one constant (a step counter).
CONSTANT_DTYPES = {
    torch.int8: "int8", torch.int16: "int16", torch.int32: "int32", torch.int64: "int64",
    torch.uint8: "uint8", torch.bool: "bool",
}


class Problem(Exception):
    """Why one entry cannot be made again (its name and the operation)."""


@dataclass
class _Part:
    """One write of the recipe being read: a draw (with its composite stage) or a constant."""

    kind: str  # "normal", "uniform", "truncated_normal", "const"
    region: Region | None  # None: the whole tensor
    op: str
    params: dict = field(default_factory=dict)
    stage: str = ""  # truncated-normal composite: "e", "em", "ema", "c", "cm", "cma"


def join(prefix: str, name: str) -> str:
    """``prefix`` and ``name`` as torch's ``named_parameters(prefix=...)`` joins them.

    Example:
        >>> join("encoder", "0.weight"), join("encoder.", "0.weight"), join("", "w")
        ('encoder.0.weight', 'encoder.0.weight', 'w')
    """
    if not prefix or prefix.endswith("."):
        return prefix + name
    return f"{prefix}.{name}"


def plain_module(module: torch.nn.Module) -> torch.nn.Module:
    """The module whose names are recorded: ``torch.compile``'s wrapper (``_orig_mod.``) and
    DataParallel/DDP/FSDP-style wrappers (``module.``) are looked through.

    Example:
        >>> import torch
        >>> class Wrapper(torch.nn.Module):
        ...     def __init__(self, m):
        ...         super().__init__()
        ...         self.module = m
        >>> Wrapper.__name__ = "DistributedDataParallel"
        >>> inner = torch.nn.Linear(2, 2)
        >>> plain_module(Wrapper(inner)) is inner
        True
    """
    seen = 0
    while seen < 8:
        seen += 1
        inner = getattr(module, "_orig_mod", None)
        if isinstance(inner, torch.nn.Module):
            module = inner
            continue
        if type(module).__name__ in ("DistributedDataParallel", "DataParallel", "FullyShardedDataParallel") \
                and isinstance(getattr(module, "module", None), torch.nn.Module):
            module = module.module
            continue
        break
    return module


def state_entries(module: torch.nn.Module, prefix: str) -> list[tuple[str, torch.Tensor]]:
    """Every (name, tensor) of the plain module's ``state_dict``: parameters and persistent
    buffers, tied ones under each of their names."""
    return [(join(prefix, n), t) for n, t in plain_module(module).state_dict(keep_vars=True).items()
            if isinstance(t, torch.Tensor)]


def numpy_dtype(t: torch.Tensor) -> np.dtype:
    """The numpy dtype of an entry: a float reprovar draws, or an integer/boolean constant."""
    name = tensors.FLOAT_DTYPES.get(t.dtype) or CONSTANT_DTYPES.get(t.dtype)
    if name is None:
        raise Problem(f"its dtype {t.dtype} is not one reprovar records")
    from ..validation import resolve_dtype

    return resolve_dtype(name) if name in tensors.FLOAT_DTYPES.values() else np.dtype(name)


def plan_captured(module: torch.nn.Module, capture: Capture, prefix: str, model_seed: int) -> tuple[list[Planned], list[str]]:
    """The plan of every state_dict entry of ``module`` from what ``capture`` logged, and the
    problems (one line per entry that cannot be made again)."""
    planned: list[Planned] = []
    problems: list[str] = []
    first: dict[int, Planned | None] = {}
    # Events are shared by a tensor and its whole copies (deepcopy, .clone(), .to(dtype)):
    # a copy holds its source's value, so it is planned as the source's, under its own name.
    by_events: dict[tuple, tuple[str, Planned | None]] = {}
    owner_of_event: dict[int, str] = {}
    for name, t in state_entries(module, prefix):
        if id(t) in first:  # a tied entry: the first name's plan, under this name too
            target = first[id(t)]
            if target is not None:
                planned.append(_same_value(name, target, t))
            continue
        log = capture.log_of(t)
        events = tuple(map(id, log.events)) if log is not None else ()
        source = by_events.get(events) if events else None
        if source is not None:
            first[id(t)] = source[1]
            if source[1] is not None:
                planned.append(_same_value(name, source[1], t))
            continue
        shared = next((owner_of_event[e] for e in events if e in owner_of_event), None)
        if shared is not None:
            problems.append(f"{name}: it was copied from {shared} while the init code was still writing one of "
                            "them, so their values are not one draw each")
            first[id(t)] = None
            continue
        try:
            p = _plan_entry(name, t, log, model_seed)
        except Problem as e:
            problems.append(f"{name}: {e}")
            p = None
            first[id(t)] = None
        else:
            first[id(t)] = p
            if p is not None:
                planned.append(p)
        if events:
            by_events[events] = (name, p)
            for e in events:
                owner_of_event.setdefault(e, name)
    _check_shared_storage(state_entries(module, prefix), problems)
    _check_other_buffers(module, capture, prefix, {id(t) for _, t in state_entries(module, prefix)}, problems)
    return planned, problems


def _same_value(name: str, source: Planned, t: torch.Tensor) -> Planned:
    """The plan of ``name``, whose value is ``source``'s: its draw and recipe, ``tied_to`` it."""
    recipe = source.recipe or Recipe()
    tied = Recipe(recipe.base, recipe.steps, tied_to=source.name)
    return Planned(name, source.shape, source.dtype, source.draw, recipe=tied, target=t)


def _other_tensors(module: torch.nn.Module):
    """(name, tensor) of every buffer outside the state_dict (``persistent=False``) and every
    plain tensor attribute of the module tree."""
    yield from module.named_buffers(remove_duplicate=False)
    for path, m in module.named_modules(remove_duplicate=False):
        for key, value in vars(m).items():
            if isinstance(value, torch.Tensor) and not isinstance(value, torch.nn.Parameter):
                yield (f"{path}.{key}" if path else key), value


def _check_other_buffers(module: torch.nn.Module, capture: Capture, prefix: str, planned_ids: set,
                         problems: list[str]) -> None:
    # Buffers outside the state_dict (persistent=False) and plain tensor attributes are not
    # made or recorded: one the init code drew into would keep whatever memory it had, one
    # from torch's generator would differ from build to build. Deterministic ones (inv_freq,
    # position ids) are fine.
    seen = set(planned_ids)
    for name, b in _other_tensors(plain_module(module)):
        if b is None or id(b) in seen:
            continue
        seen.add(id(b))
        log = capture.log_of(b)
        if log is None or not (log.pending or log.taint):
            continue
        draw = next((e.op for e in log.events if e.kind == "draw"), "a draw")
        why = log.taint or (f"{draw} drew into it, and as a tensor outside the state_dict (a buffer "
                            "with persistent=False, or a plain attribute) it is neither made nor recorded")
        problems.append(f"{join(prefix, name)}: {why}")


def _check_shared_storage(entries, problems: list[str]) -> None:
    seen: dict[Any, tuple[str, int]] = {}
    for name, t in entries:
        if t.numel() == 0 or t.device.type == "meta":
            continue
        key = (t.device.type, t.device.index, t.untyped_storage().data_ptr())
        other = seen.get(key)
        if other is not None and other[1] != id(t):
            problems.append(f"{name}: shares memory with {other[0]} (one storage, two tensors): "
                            "its values cannot be made on their own")
        seen.setdefault(key, (name, id(t)))


def _plan_entry(name: str, t: torch.Tensor, log: StorageLog | None, model_seed: int) -> Planned | None:
    if isinstance(t, torch.nn.parameter.UninitializedParameter):
        raise Problem("it is an uninitialized (lazy) parameter; run a forward pass to give it a shape first")
    if t.device.type == "meta":
        raise Problem("it is on the meta device: it has no values to make")
    if t.is_sparse or t.layout != torch.strided:
        raise Problem(f"it is not a dense tensor (layout {t.layout})")
    dtype = numpy_dtype(t)
    shape = tuple(t.shape)
    numel = t.numel()
    if numel == 0:
        return None
    if not t.is_contiguous():
        raise Problem("it is not contiguous (C order): reprovar makes C-order values")
    if log is not None and (log.taint or log.reads):
        why = log.taint or log.reads[0]
        if ".parametrizations." in f".{name}" or name.endswith(("_g", "_v", "_u", "_orig")):
            why += (" (a parametrization such as weight_norm or spectral_norm computes its tensors "
                    "from the weight's values: initialize the model first, then parametrize it)")
        raise Problem(why)
    parts = _read_events(name, t, log.events if log is not None else [], numel)
    if t.dtype not in tensors.FLOAT_DTYPES and any(p.kind != "const" for p in parts):
        raise Problem(f"a {dtype.name} tensor cannot hold a draw")
    return _to_planned(name, t, dtype, shape, numel, parts, log, model_seed)


def _region(e: Event, t: torch.Tensor, numel: int) -> Region | None:
    offset = e.view.offset - t.storage_offset()
    region = Region(offset, e.view.size, e.view.stride)
    try:
        region.check(numel)
    except Exception:
        raise Problem(f"{e.op} wrote outside its elements (it shares its storage with another tensor)") from None
    if offset == 0 and region.numel == numel and _contiguous(region):
        return None
    return region


def _contiguous(r: Region) -> bool:
    expected = 1
    for n, s in zip(reversed(r.size), reversed(r.stride)):
        if n != 1 and s != expected:
            return False
        expected *= n
    return True


def _read_events(name: str, t: torch.Tensor, events: list[Event], numel: int) -> list[_Part]:
    parts: list[_Part] = []
    for e in events:
        if e.kind == "bad":
            raise Problem(e.args[0])
        region = _region(e, t, numel)
        if e.kind in ("draw", "fill", "eye") and region is None:
            parts = []  # it replaces every earlier value
        if e.kind == "draw":
            distribution, params = e.args
            parts.append(_Part(distribution, region, e.op, {k: _number(v, e.op, k) for k, v in params.items()}))
        elif e.kind == "fill":
            parts.append(_Part("const", region, e.op))
        elif e.kind == "eye":
            if region is not None or t.dim() != 2:
                raise Problem("eye_ on something other than a whole matrix")
            rows, cols = t.shape
            parts.append(_Part("const", None, "eye_"))
            parts.append(_Part("const", Region(0, (min(rows, cols),), (cols + 1,)), "eye_"))
        else:
            _follow_composite(parts, e, region)
        if len(parts) > MAX_STEPS:
            raise Problem(f"its init code wrote it in more than {MAX_STEPS} separate pieces")
    return parts


def _number(v: Any, op: str, param: str) -> float:
    # numbers.Real: numpy scalars too (np.float32(0.02)); torch takes them as the same double.
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise Problem(f"{op} with {param}={type(v).__name__} (reprovar follows draws with number arguments)")
    return float(v)


def _follow_composite(parts: list[_Part], e: Event, region: Region | None) -> None:
    last = parts[-1] if parts else None
    what = f"{e.op} after {last.op}" if last is not None else e.op
    if last is None or last.region != region:
        raise Problem(f"{what} changed values in place where no draw of the same view came before")
    stage = last.stage
    if e.kind == "erfinv" and last.kind == "uniform" and not stage:
        last.stage, last.op = "e", "uniform_/erfinv_"
        last.params = {"p": last.params["low"], "q": last.params["high"]}
        return
    if last.kind == "uniform" and stage in ("e", "em", "ema", "c", "cm", "cma"):
        k = e.args[0] if e.args else None
        if e.kind == "mul" and stage in ("e", "c") and k is not None and k > 0:
            last.stage = stage + "m"
            last.params["k" if stage == "e" else "k2"] = k
            return
        if e.kind == "add" and stage in ("e", "em", "c", "cm"):
            last.stage = (stage if stage.endswith("m") else stage + "m") + "a"
            if not stage.endswith("m"):
                last.params["k" if stage == "e" else "k2"] = 1.0
            last.params["c" if stage.startswith("e") else "c2"] = k
            return
        if e.kind == "clamp" and stage in ("e", "em", "ema"):
            last.stage = "c"
            last.params["lo"], last.params["hi"] = e.args
            last.params.setdefault("k", 1.0)
            last.params.setdefault("c", 0.0)
            last.op = "trunc_normal_ (uniform_/erfinv_/mul_/add_/clamp_)"
            return
    raise Problem(
        f"{what} changed the values of a draw in place; reprovar follows draws, constants and the "
        "uniform_/erfinv_/mul_/add_/clamp_ truncated-normal composite, not other changes"
    )


def _composite_draw(p: _Part) -> Draw:
    """The truncated normal a finished uniform/erfinv/mul/add/clamp composite draws."""
    if p.stage not in ("c", "cm", "cma"):
        raise Problem(f"{p.op} is not a complete truncated-normal composite (it ends before clamp_)")
    k, c, lo, hi = p.params["k"], p.params["c"], p.params["lo"], p.params["hi"]
    std = _undo_mul(k, _SQRT2)
    low = -math.inf if lo is None else lo
    high = math.inf if hi is None else hi
    # The composite's own bounds (where erfinv maps the uniform's ends) must be clamp_'s, or
    # clamp_ piles values up at a bound and the result is no truncated normal.
    # A uniform end at exactly -1 or 1 (erfinv: an infinite natural bound) is what the
    # composite computes when the normal CDF at clamp_'s bound rounds to 0 or 1 (timm's
    # trunc_normal_(std=.02) with its default bounds of -2 and 2, a hundred std away): the
    # mass beyond that bound is below float64 resolution, so the bound is clamp_'s.
    for end, bound in ((p.params["p"], low), (p.params["q"], high)):
        natural = _erfinv(end) * k + c
        if math.isfinite(bound) and not math.isfinite(natural) and _negligible_tail(bound, c, std):
            continue
        if math.isfinite(bound) and not (math.isfinite(natural) and abs(natural - bound) <= 1e-4 * std + 1e-9):
            raise Problem(f"{p.op}: clamp_ to {bound!r} cuts the draw's values at {natural!r}: not a truncated normal")
    mean = c
    if p.stage in ("cm", "cma"):  # trunc_normal_tf_: rescaled after the clamp
        k2, c2 = p.params.get("k2", 1.0), p.params.get("c2", 0.0)
        mean, std, low, high = mean * k2 + c2, std * k2, low * k2 + c2, high * k2 + c2
    return Draw("truncated_normal", {"mean": mean, "scale": std, "low": low, "high": high})


def _negligible_tail(bound: float, mean: float, std: float) -> bool:
    """The mass of N(mean, std²) beyond ``bound`` is below 2**-52 (the CDF there rounds to 0 or 1)."""
    z = abs(bound - mean) / std
    return 0.5 * math.erfc(z / _SQRT2) < 2.0**-52


def _erfinv(x: float) -> float:
    if x <= -1.0:
        return -math.inf
    if x >= 1.0:
        return math.inf
    return statistics.NormalDist().inv_cdf((x + 1.0) / 2.0) / _SQRT2


def _undo_mul(k: float, factor: float) -> float:
    """The number the code multiplied by ``factor`` to get ``k`` (``std * math.sqrt(2.)``):
    the shortest-written float x with ``x * factor == k``, else ``k / factor``."""
    guess = k / factor
    candidates = [guess]
    lo = hi = guess
    for _ in range(4):
        lo, hi = math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf)
        candidates += [lo, hi]
    exact = [x for x in candidates if x * factor == k]
    return min(exact, key=lambda x: (len(repr(x)), abs(x - guess))) if exact else guess


def _draw_of(p: _Part) -> Draw:
    if p.kind == "orthogonal":  # torch.nn.init.orthogonal_: one draw, of the whole view
        return Draw("orthogonal", {"scale": p.params["scale"]})
    if p.kind == "uniform" and p.stage:
        return _composite_draw(p)
    if p.kind == "uniform":
        return Draw("uniform", {"low": p.params["low"], "high": p.params["high"]})
    if p.kind == "normal":
        return Draw("normal", {"mean": p.params["mean"], "scale": p.params["scale"]})
    return Draw("truncated_normal", dict(p.params))


def _to_planned(name: str, t: torch.Tensor, dtype: np.dtype, shape, numel: int, parts: list[_Part],
                log: StorageLog | None, model_seed: int) -> Planned:
    from ..distributions import default_algorithm

    base_is_creation = not parts or parts[0].region is not None
    if base_is_creation:
        parts = [_Part("const", None, "its creation")] + parts
        if log is not None and log.created == "empty":
            parts[0].op = "torch.empty"
    owner = _owners(parts, numel)
    values = None
    kept: list[tuple[_Part, Any]] = []  # (part, constant value or Draw)
    for i, p in enumerate(parts):
        owned = owner == i + 1 if owner is not None else None
        if owned is not None and not owned.any():
            continue  # every element it wrote was written again later
        if p.kind == "const":
            if i == 0 and base_is_creation and log is not None and log.created == "empty":
                raise Problem("it is never initialized: it holds the memory torch.empty left, and no init code wrote it")
            if values is None:
                values = _Memory(t)
            kept.append((p, values.constant(owned, p.op)))
        else:
            kept.append((p, _draw_of(p)))
    if isinstance(kept[0][1], Draw) and kept[0][0].region is not None and kept[0][1].distribution == "orthogonal":
        # An orthogonal draw into a view is the view's own matrix, not a piece of the whole
        # tensor's: a step of its own (later parts write every element, so the base is spare).
        kept.insert(0, (_Part("const", None, "its creation"), 0.0))
    base_part, base = kept[0]
    draw = base if isinstance(base, Draw) else None
    steps = []
    for i, (p, v) in enumerate(kept[1:], start=1):
        if isinstance(v, Draw):
            algorithm = default_algorithm(v.distribution)
            steps.append(PartDraw(v, derive_seed(model_seed, f"{name}[{i}]"), algorithm.name, algorithm.version, p.region))
        else:
            steps.append(Fill(v, p.region))
    recipe = None
    if draw is None or steps:
        recipe = Recipe(None if draw is not None else Fill(base), tuple(steps))
    return Planned(name, shape, dtype, draw, recipe=recipe, target=t)


def _owners(parts: list[_Part], numel: int) -> np.ndarray | None:
    """Which part last wrote each element (1-based), or None when one part wrote them all."""
    if len(parts) == 1 and parts[0].region is None:
        return None
    owner = np.zeros(numel, np.uint16 if len(parts) < 65_536 else np.uint32)
    for i, p in enumerate(parts):
        if p.region is None:
            owner[:] = i + 1
        else:
            p.region.view(owner)[...] = i + 1
    return owner


class _Memory:
    """A tensor's values as their exact bits (unsigned integers of the item size)."""

    def __init__(self, t: torch.Tensor):
        flat = t.detach().reshape(-1)
        if flat.device.type != "cpu":
            flat = flat.cpu()
        self.flat = flat
        if flat.dtype == torch.bool:
            self.bits = flat.numpy().view(np.uint8)
        else:
            bits = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[flat.element_size()]
            self.bits = flat.view(bits).numpy()

    def constant(self, owned: np.ndarray | None, op: str) -> Any:
        """The one value the ``owned`` elements (all when None) hold, as a Python number."""
        bits = self.bits if owned is None else self.bits[owned]
        if bits.size and not (bits == bits[0]).all():
            distinct = len(np.unique(bits[: 1 << 20]))
            raise Problem(
                f"{op} left values that are not one constant ({distinct} distinct values); reprovar "
                "records draws and constants, and values it cannot make again are not recorded"
            )
        index = 0 if owned is None else int(np.flatnonzero(owned)[0])
        value = self.flat[index].item()
        if isinstance(value, float) and not math.isfinite(value):
            raise Problem(f"{op} set it to {value!r}: a ledger records finite constants only")
        return value
