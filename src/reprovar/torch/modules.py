"""How each ``torch.nn`` layer type initializes its parameters: the table ``init_module`` follows.

A rule applies to a module that is an instance of its class and has not replaced that class's
``reset_parameters`` (a subclass that overrides it initializes differently, so it is treated
as unknown). It maps the module's parameters to a random :class:`~reprovar.recipes.Draw`
(with the same formula PyTorch's own ``reset_parameters`` uses) or to a constant:

=====================================  =====================================================
``Linear``, ``Conv*``, ``ConvTranspose*``  weight ``kaiming_uniform_(a=√5)``, bias U(±1/√fan_in)
``Bilinear``                           weight and bias U(±1/√in1_features)
``Embedding``, ``EmbeddingBag``        weight N(0, 1), the ``padding_idx`` row zero
``MultiheadAttention``                 in-projection ``xavier_uniform_``, in/out-projection
                                       biases 0, ``bias_k``/``bias_v`` ``xavier_normal_``
                                       (``out_proj.weight`` as ``Linear``)
``RNN``, ``LSTM``, ``GRU`` and cells   every parameter U(±1/√hidden_size)
``Transformer``                        every parameter of 2+ dimensions ``xavier_uniform_``
                                       (the rest as its layers)
``BatchNorm*``, ``InstanceNorm*``      weight 1, bias 0, running statistics reset
``LayerNorm``, ``GroupNorm``, ``RMSNorm``  weight 1, bias 0
``PReLU``                              weight ``init`` (0.25)
=====================================  =====================================================

Constants are set, not recorded. A rule of an enclosing module wins over its layers' rules
(``MultiheadAttention`` zeroes its ``out_proj.bias``; ``Transformer`` re-draws its matrices).

Example:
    >>> import torch
    >>> plan = plan_module(torch.nn.Linear(3, 2), "fc.")
    >>> [(e.name, e.spec.draw.distribution) for e in plan.entries]
    [('fc.weight', 'uniform'), ('fc.bias', 'uniform')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from ..errors import ArgumentValueError
from ..recipes import Draw
from .init import calculate_fans, kaiming_uniform_draw, normal_draw, uniform_draw, xavier_normal_draw, xavier_uniform_draw


@dataclass(frozen=True)
class Random:
    """A parameter drawn from ``draw``; ``zero_row`` is set to zero after (Embedding padding)."""

    draw: Draw
    zero_row: int | None = None


@dataclass(frozen=True)
class Constant:
    """A parameter set to ``value`` everywhere (norm layers): not a random variable, not recorded."""

    value: float


@dataclass
class Entry:
    """One parameter of the plan: its ledger name, the tensor, and what to set it to."""

    name: str
    tensor: torch.Tensor
    spec: Random | Constant


@dataclass
class Plan:
    """What ``init_module``/``restore_module`` do to a module tree, worked out before doing anything."""

    entries: list[Entry] = field(default_factory=list)
    #: (module path, module) of the layers whose running statistics ``reset_parameters``
    #: resets (BatchNorm and the like, with ``track_running_stats``).
    running_stats: list[tuple[str, nn.Module]] = field(default_factory=list)
    #: (module path, type name, parameter names) of parameters no rule covers.
    unknown: list[tuple[str, str, list[str]]] = field(default_factory=list)
    #: Parameters with no elements: nothing to make.
    empty: list[str] = field(default_factory=list)


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _linear(m) -> dict:
    w = m.weight
    rules: dict = {"weight": lambda: Random(kaiming_uniform_draw(_shape(w), a=math.sqrt(5), param="weight"))}
    if m.bias is not None:
        def bias():
            fan_in, _ = calculate_fans(_shape(w), "weight")
            if fan_in == 0:  # torch's bound 0: U(-0, 0) fills zeros
                return Constant(0.0)
            bound = 1 / math.sqrt(fan_in)
            return Random(uniform_draw(-bound, bound))

        rules["bias"] = bias
    return rules


def _bilinear(m) -> dict:
    # torch refuses in1_features == 0 here; then the weight has no elements and the bias is 0.
    bound = 1 / math.sqrt(m.weight.size(1)) if m.weight.size(1) > 0 else 0
    spec = (lambda: Random(uniform_draw(-bound, bound))) if bound else (lambda: Constant(0.0))
    rules: dict = {"weight": spec}
    if m.bias is not None:
        rules["bias"] = spec
    return rules


def _embedding(m) -> dict:
    return {"weight": lambda: Random(normal_draw(0.0, 1.0), zero_row=m.padding_idx)}


def _multihead_attention(m) -> dict:
    rules: dict = {}
    names = ["in_proj_weight"] if m._qkv_same_embed_dim else ["q_proj_weight", "k_proj_weight", "v_proj_weight"]
    for n in names:
        t = getattr(m, n)
        rules[n] = (lambda t=t, n=n: Random(xavier_uniform_draw(_shape(t), param=n)))
    if m.in_proj_bias is not None:
        rules["in_proj_bias"] = lambda: Constant(0.0)
        if m.out_proj.bias is not None:
            rules["out_proj.bias"] = lambda: Constant(0.0)
    for n in ("bias_k", "bias_v"):
        t = getattr(m, n)
        if t is not None:
            rules[n] = (lambda t=t, n=n: Random(xavier_normal_draw(_shape(t), param=n)))
    return rules


def _recurrent(m) -> dict:
    if m.hidden_size == 0:  # torch's stdv 0: U(-0, 0) fills zeros
        return {n: (lambda: Constant(0.0)) for n, _ in m.named_parameters(recurse=False)}
    stdv = 1.0 / math.sqrt(m.hidden_size)
    return {n: (lambda: Random(uniform_draw(-stdv, stdv))) for n, _ in m.named_parameters(recurse=False)}


def _transformer(m) -> dict:
    return {
        n: (lambda p=p, n=n: Random(xavier_uniform_draw(_shape(p), param=n)))
        for n, p in m.named_parameters()
        if p.dim() > 1
    }


def _affine_norm(m) -> dict:
    rules: dict = {}
    if getattr(m, "weight", None) is not None:
        rules["weight"] = lambda: Constant(1.0)
    if getattr(m, "bias", None) is not None:
        rules["bias"] = lambda: Constant(0.0)
    return rules


def _prelu(m) -> dict:
    return {"weight": lambda: Constant(float(m.init))}


_N = nn.modules
#: (class, name of the method that initializes it, rule); the first match applies.
RULES: list[tuple[type, str, Callable]] = [
    (nn.Transformer, "_reset_parameters", _transformer),
    (nn.MultiheadAttention, "_reset_parameters", _multihead_attention),
    (nn.Linear, "reset_parameters", _linear),
    (_N.conv._ConvNd, "reset_parameters", _linear),
    (nn.Bilinear, "reset_parameters", _bilinear),
    (nn.Embedding, "reset_parameters", _embedding),
    (nn.EmbeddingBag, "reset_parameters", _embedding),
    (nn.RNNBase, "reset_parameters", _recurrent),
    (nn.RNNCellBase, "reset_parameters", _recurrent),
    (_N.batchnorm._NormBase, "reset_parameters", _affine_norm),
    (nn.LayerNorm, "reset_parameters", _affine_norm),
    (nn.GroupNorm, "reset_parameters", _affine_norm),
    (nn.PReLU, "reset_parameters", _prelu),
]
if hasattr(nn, "RMSNorm"):  # torch >= 2.4
    RULES.append((nn.RMSNorm, "reset_parameters", _affine_norm))


def rule_for(module: nn.Module) -> Callable | None:
    """The rule of ``module``'s type, or None when its initialization is not known.

    Example:
        >>> import torch
        >>> rule_for(torch.nn.Conv2d(1, 1, 3)) is rule_for(torch.nn.Linear(1, 1))
        True
        >>> class Custom(torch.nn.Linear):
        ...     def reset_parameters(self):
        ...         torch.nn.init.zeros_(self.weight)
        >>> rule_for(Custom(2, 2)) is None
        True
    """
    for cls, method, rule in RULES:
        if isinstance(module, cls) and getattr(type(module), method, None) is getattr(cls, method):
            return rule
    return None


def plan_module(module: nn.Module, prefix: str = "") -> Plan:
    """Work out, for every parameter of ``module`` (named ``prefix`` + its ``named_parameters()``
    name), what it is set to; nothing is changed.

    Shared (tied) parameters appear once, under their first name, as in ``named_parameters()``.
    """
    params = dict(module.named_parameters())
    lazy = [prefix + n for n, p in params.items() if isinstance(p, nn.parameter.UninitializedParameter)]
    if lazy:
        raise ArgumentValueError(
            f"parameters {', '.join(lazy)} are uninitialized (lazy); run a forward pass to give them shapes first"
        )
    specs: dict[int, Random | Constant] = {}
    owner: dict[int, tuple[str, nn.Module]] = {}
    plan = Plan()
    for mname, m in module.named_modules():
        for local, p in m.named_parameters(recurse=False):
            owner.setdefault(id(p), (mname, m))
        rule = rule_for(m)
        if rule is None:
            continue
        if isinstance(m, _N.batchnorm._NormBase) and m.track_running_stats:
            plan.running_stats.append((mname, m))
        _refuse_parametrized(mname, m)
        own = m._parameters
        for local, make in rule(m).items():
            p = own[local] if local in own else m.get_parameter(local)
            if id(p) in specs or p.numel() == 0:  # an enclosing module's rule wins
                continue
            specs[id(p)] = make()
    by_module: dict[str, tuple[str, list[str]]] = {}
    for name, p in params.items():
        full = prefix + name
        if p.numel() == 0:
            plan.empty.append(full)
            continue
        spec = specs.get(id(p))
        if spec is None:
            mname, m = owner[id(p)]
            entry = by_module.setdefault(mname, (type(m).__name__, []))
            entry[1].append(full)
            continue
        plan.entries.append(Entry(full, p, spec))
    plan.unknown = [(m, t, names) for m, (t, names) in by_module.items()]
    return plan


def _refuse_parametrized(mname: str, m: nn.Module) -> None:
    # weight_norm, spectral_norm & co.: the layer's "weight" is computed from other tensors,
    # which its reset_parameters rule knows nothing of.
    from torch.nn.utils import parametrize

    hooks = [h for h in m._forward_pre_hooks.values() if type(h).__name__ in ("WeightNorm", "SpectralNorm")]
    if parametrize.is_parametrized(m) or hooks:
        from ..errors import UnreproducibleError

        kind = type(hooks[0]).__name__ if hooks else "parametrization"
        raise UnreproducibleError(
            f"{mname or '<root>'} ({type(m).__name__}) is parametrized ({kind}): its weight is computed "
            "from other tensors, which the reset_parameters table does not cover; initialize the layer "
            "first and parametrize it afterwards"
        )


def describe_unknown(unknown: list[tuple[str, str, list[str]]]) -> str:
    """One line per module whose parameters no rule covers.

    Example:
        >>> describe_unknown([("head", "MyHead", ["head.scale"])])
        'head (MyHead): head.scale'
    """
    return "; ".join(f"{m or '<root>'} ({t}): {', '.join(names)}" for m, t, names in unknown)
