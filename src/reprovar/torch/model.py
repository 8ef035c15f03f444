"""``init_module``, ``restore_module`` and ``replay``: whole models through the ledger."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import modelinit
from ..errors import ArgumentTypeError, ArgumentValueError
from ..modelinit import Initialized, Planned
from . import tensors
from .modules import Constant, Plan, describe_unknown, plan_module


def _check_module(module: object) -> nn.Module:
    if not isinstance(module, nn.Module):
        raise ArgumentTypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    return module


def _plan(module: nn.Module, prefix: str, on_unknown: str, action: str) -> Plan:
    plan = plan_module(module, prefix)
    if plan.unknown:
        what = (
            f"no known initialization for the parameters of {describe_unknown(plan.unknown)}; "
            "pass on_unknown='skip' or 'warn' to leave them as they are"
        )
        if on_unknown == "raise":
            raise ArgumentValueError(f"{action}: {what}")
        if on_unknown == "warn":
            warnings.warn(f"{action}: {what}", UserWarning, stacklevel=3)
    return plan


def _planned(plan: Plan) -> list[Planned]:
    out = []
    for e in plan.entries:
        dtype = tensors.check_tensor(e.tensor, f"parameter {e.name!r}")
        if isinstance(e.spec, Constant):
            out.append(Planned(e.name, tuple(e.tensor.shape), dtype, constant=e.spec.value, target=e))
        else:
            out.append(Planned(e.name, tuple(e.tensor.shape), dtype, e.spec.draw, target=e))
    return out


def _storage(p: Planned) -> np.ndarray | None:
    # A parameter's own memory, when it has one numpy can write (CPU, C order).
    view = tensors.host_view(p.target.tensor)
    return None if view is None else view.reshape(p.shape)


def _apply(plan: Plan, values: dict[str, np.ndarray], in_place: frozenset = frozenset()) -> None:
    # Nothing here can fail on input: every check ran before the first tensor is written.
    with torch.no_grad():
        for e in plan.entries:
            if isinstance(e.spec, Constant):
                e.tensor.detach().fill_(e.spec.value)
                continue
            v = values[e.name]
            if e.spec.zero_row is not None:
                v[e.spec.zero_row] = 0  # after the digest: the record is the whole normal matrix
            if e.name in in_place:
                tensors.written_in_place(e.tensor)
            else:
                tensors.write(e.tensor, v)
        for reset in plan.resets:
            reset()


def init_module(
    module: nn.Module,
    *,
    seed: int | None = None,
    prefix: str = "",
    record: bool | None = None,
    ledger: Any = None,
    on_unknown: str = "raise",
) -> Initialized:
    """Re-initialize every parameter of ``module`` as PyTorch's ``reset_parameters`` does, through reprovar.

    Each random parameter is a variable named ``prefix`` + its ``named_parameters()`` name,
    drawn with PyTorch's own distribution for its layer type (see
    :mod:`reprovar.torch.modules`) and the seed ``derive_seed(seed, name)``: one seed
    reproduces the model, and inserting or removing a layer leaves every other layer's values
    unchanged. Norm layers' ones and zeros are set, not recorded.

    Every check runs before anything is changed, so bad input or an unknown layer leaves the
    module and the ledger untouched. Then the values are made, straight into each
    parameter's own memory where it has one (CPU, C order: no copy of the model in time or
    memory), and all parameters are recorded in one ledger transaction, whole or not at all.
    If recording fails, the module is wholly initialized (never half) and the
    :class:`~reprovar.errors.RecordingError` names the model seed that makes the same values.

    Args:
        module: any ``torch.nn.Module`` (on any device, any float dtype).
        seed: the model seed, an int in [0, 2**64); ``None`` draws one from the OS. It is
            returned as ``.seed`` and found again from any record with
            ``reprovar.seeding.model_seed(record.seed, record.name)``.
        prefix: put in front of every name (several models in one ledger).
        record: record in the ledger (``None``: the global setting).
        ledger: a :class:`reprovar.Ledger`, path or URL.
        on_unknown: parameters of layer types with no known initialization (including
            subclasses that override ``reset_parameters``): ``"raise"`` (default, the error
            lists them), ``"warn"`` or ``"skip"`` (left as they are).

    Returns:
        A dict from name to ledger record (None when not recorded), with ``.seed``.

    Example:
        >>> import torch, reprovar.torch as rt
        >>> a = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
        >>> b = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
        >>> sorted(rt.init_module(a, seed=1, record=False))
        ['0.bias', '0.weight']
        >>> _ = rt.init_module(b, seed=1, record=False)
        >>> all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
        True
    """
    module = _check_module(module)
    prefix = modelinit.check_prefix(prefix)
    on_unknown = modelinit.check_on_unknown(on_unknown)
    recording = modelinit.recording_on(record, ledger)
    plan = _plan(module, prefix, on_unknown, "init_module")
    planned = _planned(plan)
    return modelinit.initialize(
        planned,
        lambda values, in_place: _apply(plan, values, in_place),
        seed=seed,
        storage=_storage,
        recording=recording,
        ledger=ledger,
        what="init_module: the module",
    )


def restore_module(
    module: nn.Module,
    *,
    prefix: str = "",
    run: int | None = None,
    ledger: Any = None,
    on_unknown: str = "raise",
) -> dict:
    """Bring back ``module``'s initial state from the ledger, bit for bit.

    Every random parameter under ``prefix`` gets the recorded values of its name (the latest
    version, or the latest one run ``run`` recorded), made again and checked against their
    digests; constants (norm layers) and running statistics are reset as ``init_module``
    set them. A missing name, a shape that differs from the record, or a digest mismatch
    raises before anything is changed. Parameters of unknown layer types are handled as by
    ``init_module``'s ``on_unknown`` (left as they are with ``"skip"``/``"warn"``).

    Returns:
        A dict from name to the record each parameter was restored from.

    Example:
        >>> import torch, tempfile, os, reprovar.torch as rt
        >>> path = os.path.join(tempfile.mkdtemp(), "restore.db")
        >>> net = torch.nn.Linear(3, 2)
        >>> _ = rt.init_module(net, seed=5, ledger=path)
        >>> initial = {k: v.clone() for k, v in net.state_dict().items()}
        >>> with torch.no_grad():
        ...     _ = net.weight.add_(1.0)
        >>> _ = rt.restore_module(net, ledger=path)
        >>> all(torch.equal(initial[k], v) for k, v in net.state_dict().items())
        True
    """
    module = _check_module(module)
    prefix = modelinit.check_prefix(prefix)
    on_unknown = modelinit.check_on_unknown(on_unknown)
    run = modelinit.check_run(run)
    plan = _plan(module, prefix, on_unknown, "restore_module")
    planned = _planned(plan)
    names = [p.name for p in planned if p.is_random]
    found = modelinit.records_to_restore(
        [(p.name, p.shape) for p in planned if p.is_random], run=run, ledger=ledger, action="restore_module", noun="parameter"
    )
    values = {name: modelinit.replay_values(found[name]) for name in names}
    _apply(plan, values)
    return {name: found[name] for name in names}


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
