"""PyTorch through reprovar: models built and initialized by their own init code, every value
made by reprovar and recorded, and ``torch.nn.init`` look-alikes. Imports torch (``pip
install 'reprovar[torch]'``).

* :func:`build`: ``build(lambda: Model(...), seed=...)`` runs the model's own construction and
  init code and makes every value it draws with reprovar, under its parameter's name
  (:mod:`reprovar.torch.capture`, :mod:`reprovar.torch.planning`); :func:`initialization`
  gives its records;
* :func:`init_module`: an existing model initialized by a scheme named with ``init=``: the
  model's own init code (a callable) or PyTorch's layer defaults (``"reset_parameters"``);
* :func:`restore_module`: the initial state back from the ledger; :func:`replay`: one
  recorded variable as a tensor;
* :mod:`reprovar.torch.init`: ``uniform_``, ``normal_``, ``trunc_normal_``, ``xavier_*``,
  ``kaiming_*``, ``constant_``, ``zeros_``, ``ones_``, ``eye_``, ``dirac_``,
  ``calculate_gain``: torch's names, arguments and formulas, plus keyword-only ``name``,
  ``seed``, ``record``, ``ledger``.

Example:
    >>> import torch, tempfile, os
    >>> import reprovar.torch as rt
    >>> path = os.path.join(tempfile.mkdtemp(), "torch.db")
    >>> model = rt.build(lambda: torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)),
    ...                  seed=2024, ledger=path)
    >>> sorted(rt.initialization(model))
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
