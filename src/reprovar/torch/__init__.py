"""PyTorch through reprovar: ``torch.nn.init`` look-alikes, and whole modules initialized,
recorded and restored. Imports torch (``pip install 'reprovar[torch]'``).

* :mod:`reprovar.torch.init`: ``uniform_``, ``normal_``, ``trunc_normal_``,
  ``xavier_uniform_``, ``xavier_normal_``, ``kaiming_uniform_``, ``kaiming_normal_``,
  ``calculate_gain``: torch's names, arguments and formulas, plus keyword-only ``name``,
  ``seed``, ``record``, ``ledger``;
* :func:`init_module`: every parameter re-initialized as its layer's ``reset_parameters``
  does, each under its own name with a seed derived from (model seed, name), all recorded in
  one transaction;
* :func:`restore_module`: the initial state back from the ledger; :func:`replay`: one
  recorded variable as a tensor.

Example:
    >>> import torch, tempfile, os
    >>> import reprovar.torch as rt
    >>> path = os.path.join(tempfile.mkdtemp(), "torch.db")
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> records = rt.init_module(model, seed=2024, ledger=path)
    >>> sorted(records)
    ['0.bias', '0.weight', '2.bias', '2.weight']
    >>> torch.equal(rt.replay("0.weight", ledger=path), model[0].weight.detach())
    True
"""

from .init import (
    calculate_gain,
    constant_,
    dirac_,
    eye_,
    kaiming_normal_,
    kaiming_uniform_,
    normal_,
    orthogonal_,
    trunc_normal_,
    uniform_,
    xavier_normal_,
    xavier_uniform_,
    ones_,
    zeros_,
)
from .model import build, init_module, initialization, replay, restore_module

__all__ = [
    "build",
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "init_module",
    "initialization",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "replay",
    "restore_module",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
