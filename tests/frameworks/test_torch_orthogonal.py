"""torch's ``orthogonal_``: reprovar's look-alike, and the model-init capture making
``torch.nn.init.orthogonal_`` as one recorded draw, in the law of torch's own."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import reprovar
import reprovar.torch as rt
from reprovar.errors import ArgumentValueError
from reprovar.recipes import PartDraw, Recipe


def _matrix(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().reshape(t.shape[0], -1).numpy()


def _orthonormal_within(m: np.ndarray, gain: float, tol: float) -> bool:
    rows, cols = m.shape
    gram = m @ m.T if rows < cols else m.T @ m
    return float(np.abs(gram - gain * gain * np.eye(min(rows, cols))).max()) <= tol


@pytest.mark.parametrize("shape", [(256, 256), (128, 512), (64, 3, 3, 3)], ids=str)
def test_orthogonal_is_recorded_and_replays(shape, tmp_path):
    path = tmp_path / "o.db"
    w = torch.empty(shape)
    out = rt.orthogonal_(w, gain=1.5, generator=torch.Generator(), name="w", seed=3, ledger=path)
    assert out is w
    m = _matrix(w)
    assert _orthonormal_within(m, 1.5, 2.25 * 4 * min(m.shape) * float(np.finfo(np.float32).eps))
    record = reprovar.Ledger(path).get("w")
    assert (record.distribution, record.scale, record.algorithm) == ("orthogonal", 1.5, "philox4x32-10/orthogonal")
    assert torch.equal(rt.replay("w", ledger=path), w)
    # The same seed gives the same bits; the look-alike equals the core maker.
    core = reprovar.orthogonal_variable(shape, 1.5, seed=3, record=False).numpy()
    assert w.numpy().tobytes() == core.tobytes()


def test_orthogonal_refuses_a_vector_as_torch_does():
    with pytest.raises(ArgumentValueError, match="2 or more dimensions"):
        rt.orthogonal_(torch.empty(5), record=False)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        torch.nn.init.orthogonal_(torch.empty(5))


def _entries_and_traces(qs: np.ndarray):
    return qs[:, 0, 0], qs[:, 5, 2], np.trace(qs, axis1=1, axis2=2)


def test_orthogonal_agrees_in_law_with_torch():
    n, count = 16, 300
    ours = np.stack([_matrix(rt.orthogonal_(torch.empty(n, n), seed=s, record=False)) for s in range(count)])
    gen = torch.Generator().manual_seed(20261203)
    theirs = np.stack([_matrix(nn.init.orthogonal_(torch.empty(n, n), generator=gen)) for _ in range(count)])
    for a, b in zip(_entries_and_traces(ours), _entries_and_traces(theirs)):
        assert stats.ks_2samp(a, b).pvalue > 1e-3
    # A perturbed sampler (ours without the sign correction: |R| diagonal negative) is told apart.
    flipped = ours * np.sign(ours[:, :1, :1])  # makes q_00 >= 0 always
    assert stats.ks_2samp(flipped[:, 0, 0], theirs[:, 0, 0]).pvalue < 1e-6


class Policy(nn.Module):
    """An actor-critic network initialized as RL code does (orthogonal weights, zero biases)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.body = nn.Sequential(nn.Linear(32, 64), nn.Tanh(), nn.Linear(64, 64))
        self.pi = nn.Linear(64, 4)
        self.rnn = nn.LSTM(64, 16)
        for layer, gain in ((self.conv, math.sqrt(2)), (self.body[0], math.sqrt(2)), (self.body[2], math.sqrt(2)), (self.pi, 0.01)):
            nn.init.orthogonal_(layer.weight, gain)
            nn.init.constant_(layer.bias, 0.0)
        for i in range(4):  # each gate's recurrent block on its own
            nn.init.orthogonal_(self.rnn.weight_hh_l0.data[16 * i : 16 * (i + 1)])


def test_build_makes_orthogonal_as_one_recorded_draw_and_restores(tmp_path):
    path = tmp_path / "m.db"
    model = rt.build(Policy, seed=11, ledger=path)
    init = rt.initialization(model)
    for name, gain in (("conv.weight", math.sqrt(2)), ("body.0.weight", math.sqrt(2)), ("pi.weight", 0.01)):
        record = init[name]
        assert (record.distribution, record.scale, record.recipe) == ("orthogonal", gain, None), name
        w = dict(model.named_parameters())[name]
        assert _orthonormal_within(_matrix(w), gain, 1e-5 * max(gain * gain, 1)), name
        assert torch.equal(rt.replay(name, ledger=path), w.detach())
    hh = model.rnn.weight_hh_l0.detach().double().numpy()
    for i in range(4):  # each block is its own orthogonal matrix
        block = hh[16 * i : 16 * (i + 1)]
        assert np.abs(block @ block.T - np.eye(16)).max() < 1e-5
    recipe = Recipe.from_json(init["rnn.weight_hh_l0"].recipe)
    assert [s.draw.distribution for s in recipe.steps if isinstance(s, PartDraw)] == ["orthogonal"] * 4
    assert torch.equal(rt.replay("rnn.weight_hh_l0", ledger=path), model.rnn.weight_hh_l0.detach())
    # Another build with the same seed: the same bits; restore puts them back after training-like changes.
    again = rt.build(Policy, seed=11, record=False)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    rt.restore_module(model, ledger=path)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_init_module_with_orthogonal_init_code(tmp_path):
    path = tmp_path / "i.db"
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))

    def init(m):
        for layer in (m[0], m[2]):
            nn.init.orthogonal_(layer.weight, gain=nn.init.calculate_gain("relu"))
            nn.init.zeros_(layer.bias)

    rt.init_module(model, init=init, seed=4, ledger=path)
    assert rt.initialization(model)["2.weight"].distribution == "orthogonal"
    assert torch.equal(rt.replay("0.weight", ledger=path), model[0].weight.detach())
    # Outside a capture torch's own function runs unchanged.
    w = nn.init.orthogonal_(torch.empty(4, 4))
    assert torch.allclose(w @ w.T, torch.eye(4), atol=1e-5)
