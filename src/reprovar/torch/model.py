"""``build``, ``init_module``, ``restore_module`` and ``replay``: whole models through the ledger."""

from __future__ import annotations

import warnings
import weakref
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .. import adapter, trackers
from ..adapter import Initialized, Planned
from ..errors import ArgumentTypeError, ArgumentValueError, UnreproducibleError
from ..recipes import Fill, Recipe, Region
from . import tensors
from .capture import Capture
from .modules import Constant, Plan, describe_unknown, plan_module
from .planning import Problem, join, numpy_dtype, plain_module, plan_captured, state_entries


def _check_module(module: object, what: str = "module") -> nn.Module:
    if not isinstance(module, nn.Module):
        raise ArgumentTypeError(f"{what} must be a torch.nn.Module, got {type(module).__name__}")
    return module


#: What ``init_module``'s ``init`` accepts besides a callable.
INIT_CHOICES = ("reset_parameters",)

#: The last initialization of each module object (see :func:`initialization`).
_INITIALIZED: "weakref.WeakKeyDictionary[nn.Module, Initialized]" = weakref.WeakKeyDictionary()


def initialization(module: nn.Module) -> Initialized | None:
    """What the last :func:`build` or :func:`init_module` of ``module`` recorded: a dict from
    every state_dict name to its ledger record (None when not recorded), with ``.seed``.

    Example:
        >>> import torch, reprovar.torch as rt
        >>> m = rt.build(lambda: torch.nn.Linear(2, 2), seed=3, record=False)
        >>> sorted(rt.initialization(m)), rt.initialization(m).seed
        (['bias', 'weight'], 3)
    """
    return _INITIALIZED.get(plain_module(_check_module(module)))


def _plan(module: nn.Module, prefix: str, on_unknown: str, action: str) -> Plan:
    if prefix and not prefix.endswith("."):
        prefix += "."
    plan = plan_module(plain_module(module), prefix)
    if plan.unknown:
        what = (
            f"no known initialization for the parameters of {describe_unknown(plan.unknown)}; "
            "pass on_unknown='skip' or 'warn' to leave them as they are, or follow the model's "
            "own init code with init=callable or reprovar.torch.build"
        )
        if on_unknown == "raise":
            raise ArgumentValueError(f"{action}: {what}")
        if on_unknown == "warn":
            warnings.warn(f"{action}: {what}", UserWarning, stacklevel=3)
    return plan


def _defaults_planned(module: nn.Module, plan: Plan, prefix: str) -> list[Planned]:
    """The reset_parameters table's plan as recorded entries: draws, constants (norm layers,
    BatchNorm running statistics) and an Embedding's zero padding row as a recipe step."""
    out = []
    by_id: dict[int, Planned] = {}
    for e in plan.entries:
        dtype = tensors.check_tensor(e.tensor, f"parameter {e.name!r}")
        shape = tuple(e.tensor.shape)
        if isinstance(e.spec, Constant):
            p = Planned(e.name, shape, dtype, recipe=Recipe(base=Fill(e.spec.value)), target=e.tensor)
        else:
            recipe = None
            if e.spec.zero_row is not None:
                cols = int(np.prod(shape[1:], dtype=np.int64))
                recipe = Recipe(steps=(Fill(0.0, Region(e.spec.zero_row * cols, (cols,), (1,))),))
            p = Planned(e.name, shape, dtype, e.spec.draw, recipe=recipe, target=e.tensor)
        out.append(p)
        by_id[id(e.tensor)] = p
    for mname, m in plan.running_stats:
        for bname, value in (("running_mean", 0.0), ("running_var", 1.0), ("num_batches_tracked", 0)):
            t = getattr(m, bname, None)
            if isinstance(t, torch.Tensor) and t.numel():
                name = join(prefix, f"{mname}.{bname}" if mname else bname)
                p = Planned(name, tuple(t.shape), numpy_dtype(t), recipe=Recipe(base=Fill(value)), target=t)
                out.append(p)
                by_id[id(t)] = p
    for name, t in state_entries(module, prefix):  # tied names: the first name's entry again
        first = by_id.get(id(t))
        if first is not None and first.name != name:
            recipe = first.recipe or Recipe()
            out.append(Planned(name, first.shape, first.dtype, first.draw, target=t,
                               recipe=Recipe(recipe.base, recipe.steps, tied_to=first.name)))
    return out


def _storage(p: Planned) -> np.ndarray | None:
    # An entry's own memory, when it has one numpy can write (CPU, C order).
    t = p.target
    if t.dtype in tensors.FLOAT_DTYPES:
        view = tensors.host_view(t)
    elif t.device.type == "cpu" and t.is_contiguous():
        view = t.detach().reshape(-1).numpy()
    else:
        view = None
    return None if view is None else view.reshape(p.shape)


def _write_all(planned: list[Planned] | list[adapter.Stored], values: dict[str, np.ndarray],
               in_place: frozenset = frozenset()) -> None:
    # Nothing here can fail on input: every check ran before the first tensor is written.
    with torch.no_grad():
        for p in planned:
            v = values.get(p.name)
            if v is None:
                continue
            if p.name in in_place:
                tensors.written_in_place(p.target)
            else:
                tensors.write(p.target, v)


def _check_on_unreproducible(value: object) -> str:
    if value != "raise":
        raise ArgumentValueError(f"on_unreproducible must be 'raise', got {value!r}")
    return value


def _refuse(action: str, problems: list[str]) -> None:
    more = f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
    raise UnreproducibleError(
        f"{action}: {len(problems)} entr{'y' if len(problems) == 1 else 'ies'} cannot be made "
        f"again by reprovar, so nothing was recorded: " + "; ".join(problems[:20]) + more
    )


def _captured_init(module: nn.Module, planned: list[Planned], *, seed: int, source: str, recording: bool,
                   ledger: Any, what: str) -> Initialized:
    result = adapter.initialize(
        planned, lambda values, in_place: _write_all(planned, values, in_place),
        seed=seed, seed_source=source, storage=_storage, recording=recording, ledger=ledger, what=what,
    )
    _INITIALIZED[plain_module(module)] = result
    return result


def build(
    factory: Callable[[], nn.Module],
    *,
    seed: int | None = None,
    record: bool | None = None,
    ledger: Any = None,
    prefix: str = "",
    on_unreproducible: str = "raise",
    log_to_trackers: bool | None = None,
) -> nn.Module:
    """Build a model with ``factory()``, following its own init code, every value made by reprovar.

    While ``factory`` runs, every random draw and constant write of the model's own code is
    captured (:mod:`reprovar.torch.capture`): ``torch.nn.init.*``, ``Tensor.normal_`` and
    ``uniform_``, transformers' ``initialization`` helpers (their ``generator=`` is not
    used), timm-style ``trunc_normal_`` composites, ``zeros_``/``ones_``/``constant_``/
    ``fill_``/``zero_``, ``eye_``, ``dirac_`` and partial writes (an Embedding's padding row).
    Draws are not executed. When it returns, every state_dict entry (parameters and
    persistent buffers) is named by its path in the returned module, and its value is made
    with the distribution and parameters the model's code gave it and the seed
    ``derive_seed(seed, name)``: inserting a layer leaves every other layer's values alone.
    Only the last whole write of a tensor counts (a weight drawn twice is its second draw).

    Every entry is recorded, constants too (with a :mod:`recipe <reprovar.recipes>`), tied
    weights once per name with ``tied_to``, all in one transaction. What reprovar cannot make
    again (torch's global generator, an in-place change after a draw, ``sparse_``, values
    nothing initialized) raises :class:`~reprovar.errors.UnreproducibleError` naming each
    entry and operation; then nothing is recorded and the model is not returned.

    ``torch.compile`` and DataParallel/DDP/FSDP-style wrappers are looked through: names are
    the plain module's (no ``_orig_mod.`` or ``module.``).

    Args:
        factory: a callable with no arguments returning a ``torch.nn.Module``
            (``lambda: GPT2LMHeadModel(config)``).
        seed: the model seed in [0, 2**64); ``None`` draws one from the OS (see
            :func:`initialization` for the seed used).
        record, ledger: as for :func:`init_module`.
        prefix: put in front of every name, joined with ``"."`` as torch's
            ``named_parameters(prefix=...)`` does.
        on_unreproducible: ``"raise"`` (the only choice: a model that cannot be made again is
            not returned).
        log_to_trackers: at the end, log the model seed and the records to the MLflow and W&B
            runs active in this process (:func:`reprovar.trackers.after_initialize`); None:
            ``$REPROVAR_LOG_TO_TRACKERS``.

    Returns:
        The model, whole: every value made by reprovar and recorded.

    Example:
        >>> import torch, reprovar.torch as rt
        >>> def make():
        ...     m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
        ...     torch.nn.init.normal_(m[0].weight, std=0.02)
        ...     torch.nn.init.zeros_(m[0].bias)
        ...     return m
        >>> a, b = rt.build(make, seed=1, record=False), rt.build(make, seed=1, record=False)
        >>> all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
        True
        >>> float(a[0].bias.abs().max()), round(float(a[0].weight.std()), 2)
        (0.0, 0.02)
    """
    if not callable(factory):
        raise ArgumentTypeError(f"factory must be a callable returning a torch.nn.Module, got {type(factory).__name__}")
    prefix = adapter.check_prefix(prefix)
    _check_on_unreproducible(on_unreproducible)
    recording = adapter.recording_on(record, ledger)
    log = trackers.tracker_logging(log_to_trackers)
    model_seed, source = adapter.model_seed_and_source(seed)
    capture = Capture()
    with capture:
        module = factory()
    module = _check_module(module, "factory()'s result")
    planned, problems = plan_captured(module, capture, prefix, model_seed)
    del capture
    if problems:
        _refuse("build", problems)
    initialized = _captured_init(module, planned, seed=model_seed, source=source, recording=recording,
                                 ledger=ledger, what="build: the model")
    trackers.after_initialize(initialized, log=log, ledger=ledger)
    return module


def _forget_hf_flags(module: nn.Module) -> None:
    """Let transformers 5's init code run again on a model it already initialized.

    It marks modules and tensors it initialized (``_is_hf_initialized``) and skips them when
    its init code runs again: the marks are cleared. When it builds a model, the modules whose
    weights it ties (``all_tied_weights_keys``: an LM head tied to the input embedding) are
    initialized while still untied, then tied, so the source's init is the one that counts;
    on a model already tied, their init would write the shared tensor a second time. So those
    modules are marked as initialized, as transformers does when it loads tied weights.
    """
    for m in module.modules():
        if "_is_hf_initialized" in m.__dict__:
            del m.__dict__["_is_hf_initialized"]
        for t in list(m._parameters.values()) + list(m._buffers.values()):
            if t is not None and "_is_hf_initialized" in getattr(t, "__dict__", {}):
                del t.__dict__["_is_hf_initialized"]
    tied = getattr(module, "all_tied_weights_keys", None)
    if isinstance(tied, dict):
        for key in tied:
            owner = key.rsplit(".", 1)[0] if "." in key else ""
            try:
                target = module.get_submodule(owner)
            except AttributeError:
                continue
            target._is_hf_initialized = True


def init_module(
    module: nn.Module,
    *,
    init: str | Callable[[nn.Module], Any] | None = None,
    seed: int | None = None,
    prefix: str = "",
    record: bool | None = None,
    ledger: Any = None,
    on_unknown: str = "raise",
    on_unreproducible: str = "raise",
    log_to_trackers: bool | None = None,
) -> Initialized:
    """Initialize every entry of ``module`` through reprovar, by the scheme ``init`` names.

    * ``init=callable``: runs ``init(module)``, the model's own init code, under the capture
      :func:`build` uses (``lambda m: m.init_weights()`` for transformers: its
      ``_is_hf_initialized`` marks are cleared first so that the code runs again;
      ``lambda m: m.apply(m._init_weights)`` for nanoGPT-style code). Entries the code does
      not write must hold one constant (norm layers' ones), which is recorded; anything else
      is an :class:`~reprovar.errors.UnreproducibleError`.
    * ``init="reset_parameters"``: PyTorch's layer defaults (:mod:`reprovar.torch.modules`),
      whatever the model's own init code would do; layer types with no known default are
      handled by ``on_unknown``.

    There is no default: re-initializing a model by torch's defaults silently changes the
    scheme of any model with init code of its own (transformers, torchvision, timm), so the
    choice is the caller's. To follow the code a model runs when it is built, use
    :func:`build`.

    Each value is made with the seed ``derive_seed(seed, name)``; every entry (constants and
    BatchNorm running statistics included) is recorded in one transaction, whole or not at
    all. Every check runs before anything is changed. If recording fails, the module is
    wholly initialized (never half) and the :class:`~reprovar.errors.RecordingError` names
    the model seed that makes the same values.

    Args:
        module: any ``torch.nn.Module`` (on any device, any float dtype).
        init: ``"reset_parameters"`` or a callable taking the module.
        seed: the model seed, an int in [0, 2**64); ``None`` draws one from the OS. It is
            returned as ``.seed`` and found again from any record with
            ``reprovar.seeding.model_seed(record.seed, record.name)``.
        prefix: put in front of every name, joined with ``"."`` (``"encoder"`` gives
            ``encoder.0.weight``), as torch's ``named_parameters(prefix=...)``.
        record: record in the ledger (``None``: the global setting).
        ledger: a :class:`reprovar.Ledger`, path or URL.
        on_unknown: with ``"reset_parameters"``, parameters of layer types with no known
            default: ``"raise"`` (default), ``"warn"`` or ``"skip"`` (left as they are).
        on_unreproducible: ``"raise"`` (the only choice).
        log_to_trackers: as for :func:`build`.

    Returns:
        A dict from name to ledger record (None when not recorded), with ``.seed``.

    Example:
        >>> import torch, reprovar.torch as rt
        >>> a = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
        >>> b = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
        >>> sorted(rt.init_module(a, init="reset_parameters", seed=1, record=False))
        ['0.bias', '0.weight', '1.bias', '1.weight']
        >>> _ = rt.init_module(b, init=lambda m: [l.reset_parameters() for l in m], seed=1, record=False)
        >>> all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
        True
    """
    module = _check_module(module)
    prefix = adapter.check_prefix(prefix)
    on_unknown = adapter.check_on_unknown(on_unknown)
    _check_on_unreproducible(on_unreproducible)
    if init is None or not (callable(init) or init in INIT_CHOICES):
        got = "nothing" if init is None else repr(init)
        raise ArgumentValueError(
            f"init_module: init must be 'reset_parameters' (PyTorch's layer defaults) or a callable "
            f"that runs the model's own init code (e.g. lambda m: m.init_weights() for transformers), "
            f"got {got}; to follow the init code a model runs when it is built, use "
            "reprovar.torch.build(lambda: Model(...))"
        )
    recording = adapter.recording_on(record, ledger)
    log = trackers.tracker_logging(log_to_trackers)
    model_seed, source = adapter.model_seed_and_source(seed)
    if init == "reset_parameters":
        planned = _defaults_planned(module, _plan(module, prefix, on_unknown, "init_module"), prefix)
    else:
        _forget_hf_flags(plain_module(module))
        capture = Capture(undo=True)
        try:
            with capture:
                init(module)
            planned, problems = plan_captured(module, capture, prefix, model_seed)
            if problems:
                _refuse("init_module", problems)
        except BaseException:
            capture.rollback()  # the constant writes the init code made: the module as it was
            raise
        del capture
    initialized = _captured_init(module, planned, seed=model_seed, source=source, recording=recording,
                                 ledger=ledger, what="init_module: the module")
    trackers.after_initialize(initialized, log=log, ledger=ledger)
    return initialized


def restore_module(
    module: nn.Module,
    *,
    prefix: str = "",
    run: int | None = None,
    ledger: Any = None,
    on_unknown: str = "raise",
    mlflow_run: Any = None,
    wandb_run: Any = None,
) -> dict:
    """Bring back ``module``'s initial state from the ledger, bit for bit.

    Every state_dict entry (parameters and persistent buffers) under ``prefix`` that has a
    record gets the recorded values of its name (the latest version, or the latest one run
    ``run`` recorded), made again from the record alone (draws, constants, recipes: no
    re-planning) and checked against their digests. A parameter with no record, a shape or
    dtype that differs from the record, or a digest mismatch raises before anything is
    changed; with ``on_unknown="skip"`` or ``"warn"`` parameters with no record are left as
    they are. Buffers with no record are left as they are.

    ``mlflow_run`` (an MLflow run id) or ``wandb_run`` (a W&B ``entity/project/id`` path)
    instead of ``run``: the initial state the reprovar run linked to that tracker run recorded
    for it (:func:`reprovar.trackers.restore_selection`; an unknown one raises
    :class:`~reprovar.errors.UnknownTrackerRunError` and nothing is changed).

    Returns:
        A dict from name to the record each entry was restored from.

    Example:
        >>> import torch, tempfile, os, reprovar.torch as rt
        >>> path = os.path.join(tempfile.mkdtemp(), "restore.db")
        >>> net = rt.build(lambda: torch.nn.Linear(3, 2), seed=5, ledger=path)
        >>> initial = {k: v.clone() for k, v in net.state_dict().items()}
        >>> with torch.no_grad():
        ...     _ = net.weight.add_(1.0)
        >>> _ = rt.restore_module(net, ledger=path)
        >>> all(torch.equal(initial[k], v) for k, v in net.state_dict().items())
        True
    """
    module = _check_module(module)
    prefix = adapter.check_prefix(prefix)
    on_unknown = adapter.check_on_unknown(on_unknown)
    selection = trackers.restore_selection(run, mlflow_run, wandb_run, ledger)
    params = {join(prefix, n) for n, _ in plain_module(module).named_parameters(remove_duplicate=False)}
    entries = [adapter.Stored(n, tuple(t.shape), t, required=n in params)
               for n, t in state_entries(module, prefix) if t.numel()]
    return adapter.restore(
        entries, lambda values: _write_all(entries, values), ledger=ledger, action="restore_module",
        noun="parameter", selection=selection, on_missing=on_unknown, check_dtype=_dtype_differs,
    )


def _dtype_differs(t: torch.Tensor, recorded: str) -> str | None:
    # What restore lists when a tensor cannot hold its record's values as they were made.
    try:
        dtype = numpy_dtype(t)
    except Problem as e:
        return str(e)
    return None if dtype.name == recorded else f"recorded {recorded}, model has {dtype.name}"


def replay(
    name: str,
    version: int | None = None,
    *,
    ledger: Any = None,
    device: Any = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """A recorded variable made again as a tensor, checked against its digest.

    Its dtype is the recorded one unless ``dtype`` is given (then converted); ``device``
    moves it (one host-to-device copy).

    Example:
        >>> import torch, tempfile, os, reprovar.torch as rt
        >>> path = os.path.join(tempfile.mkdtemp(), "rp.db")
        >>> w = rt.normal_(torch.empty(2, 3), name="w", seed=4, ledger=path)
        >>> torch.equal(rt.replay("w", ledger=path), w)
        True
    """
    from ..recorder import replay as replay_variable

    variable = replay_variable(name, version, ledger)
    tensor = tensors.as_tensor(variable.numpy())
    if dtype is not None or device is not None:
        tensor = tensor.to(device=device, dtype=dtype)
    return tensor
