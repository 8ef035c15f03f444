"""``reprovar.torch.init``: torch.nn.init's formulas, checked the way torch's test_init.py does,
and in-place filling of every kind of tensor."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

import reprovar
from reprovar.errors import ArgumentTypeError, ArgumentValueError
from reprovar.torch import init

P_MIN = 1e-4  # torch's test_init.py threshold for its KS tests


def ks_uniform(t: torch.Tensor, a: float, b: float) -> float:
    return stats.kstest(t.detach().double().flatten().numpy(), "uniform", args=(a, b - a)).pvalue


def ks_normal(t: torch.Tensor, mean: float, std: float) -> float:
    return stats.kstest(t.detach().double().flatten().numpy(), "norm", args=(mean, std)).pvalue


def ks_trunc_normal(t: torch.Tensor, mean: float, std: float, a: float, b: float) -> float:
    alpha, beta = (a - mean) / std, (b - mean) / std
    return stats.kstest(t.detach().double().flatten().numpy(), "truncnorm", args=(alpha, beta, mean, std)).pvalue


def test_calculate_gain_matches_torch():
    for nl in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu", "selu"):
        assert init.calculate_gain(nl) == torch.nn.init.calculate_gain(nl)
    for slope in (None, 0, 0.01, 0.2, 3, math.sqrt(5)):
        assert init.calculate_gain("leaky_relu", slope) == torch.nn.init.calculate_gain("leaky_relu", slope)
    with pytest.raises(ArgumentValueError, match="Unsupported nonlinearity 'softmax'"):
        init.calculate_gain("softmax")
    with pytest.raises(ArgumentValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 5), (16, 8, 3), (4, 2, 3, 5), (2, 3, 1, 2, 2)])
def test_fans_match_torch(shape):
    assert init.calculate_fans(shape) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_uniform_and_normal():
    t = init.uniform_(torch.empty(50, 60), -0.3, 0.7, seed=1, record=False)
    assert ks_uniform(t, -0.3, 0.7) > P_MIN and float(t.min()) >= -0.3 and float(t.max()) < 0.7
    t = init.normal_(torch.empty(50, 60), 2.0, 0.5, seed=1, record=False)
    assert ks_normal(t, 2.0, 0.5) > P_MIN


def test_trunc_normal_uses_absolute_bounds():
    t = init.trunc_normal_(torch.empty(3000), mean=1.0, std=2.0, a=0.0, b=2.5, seed=3, record=False)
    assert float(t.min()) >= 0.0 and float(t.max()) <= 2.5
    assert ks_trunc_normal(t, 1.0, 2.0, 0.0, 2.5) > P_MIN


@pytest.mark.parametrize("shape", [(30, 40), (16, 8, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(shape, gain):
    fan_in, fan_out = init.calculate_fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    t = init.xavier_uniform_(torch.empty(shape), gain, seed=7, record=False)
    bound = math.sqrt(3.0) * std
    assert ks_uniform(t, -bound, bound) > P_MIN
    t = init.xavier_normal_(torch.empty(shape), gain=gain, seed=7, record=False)
    assert ks_normal(t, 0.0, std) > P_MIN


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "FAN_IN"])
@pytest.mark.parametrize("a,nonlinearity", [(0, "relu"), (math.sqrt(5), "leaky_relu"), (0.1, "leaky_relu"), (0, "tanh")])
def test_kaiming(mode, a, nonlinearity):
    shape = (24, 12, 3, 3)
    fan_in, fan_out = init.calculate_fans(shape)
    fan = fan_in if mode.lower() == "fan_in" else fan_out
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    t = init.kaiming_uniform_(torch.empty(shape), a, mode, nonlinearity, seed=11, record=False)
    bound = math.sqrt(3.0) * std
    assert ks_uniform(t, -bound, bound) > P_MIN and float(t.abs().max()) <= bound
    t = init.kaiming_normal_(torch.empty(shape), a=a, mode=mode, nonlinearity=nonlinearity, seed=11, record=False)
    assert ks_normal(t, 0.0, std) > P_MIN


def test_kaiming_zero_elements_is_a_no_op_with_torchs_warning():
    t = torch.empty(0, 3)
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        assert init.kaiming_uniform_(t, seed=1, record=False) is t


def test_same_seed_same_bits_and_returns_the_tensor_itself():
    a, b = torch.empty(7, 9), torch.empty(7, 9)
    assert init.xavier_uniform_(a, seed=5, record=False) is a
    init.xavier_uniform_(b, seed=5, record=False)
    assert torch.equal(a, b)
    init.xavier_uniform_(b, seed=6, record=False)
    assert not torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_dtypes_fill_in_place_with_the_variable_values(dtype):
    t = torch.empty(33, 31, dtype=dtype)
    storage = t.untyped_storage().data_ptr()
    init.normal_(t, 0.5, 2.0, seed=9, record=False)
    assert t.untyped_storage().data_ptr() == storage and t.dtype == dtype
    name = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype]
    expected = reprovar.random_normal_variable((33, 31), 0.5, 2.0, dtype=name, seed=9, record=False).numpy()
    if dtype == torch.bfloat16:
        assert np.array_equal(t.view(torch.int16).numpy().view(np.uint16), expected.view(np.uint16))
    else:
        assert np.array_equal(t.numpy(), expected)


def test_non_contiguous_tensors_get_the_values_of_their_logical_shape():
    base = torch.zeros(8, 6)
    view = base.t()  # shape (6, 8), not C-contiguous
    init.uniform_(view, -1, 1, seed=4, record=False)
    ref = init.uniform_(torch.empty(6, 8), -1, 1, seed=4, record=False)
    assert torch.equal(view, ref)
    cl = torch.empty(2, 3, 4, 5).to(memory_format=torch.channels_last)
    init.kaiming_normal_(cl, seed=2, record=False)
    assert torch.equal(cl, init.kaiming_normal_(torch.empty(2, 3, 4, 5), seed=2, record=False))
    half = torch.empty(6, 4, dtype=torch.bfloat16).t()
    init.normal_(half, seed=3, record=False)
    assert torch.equal(half, init.normal_(torch.empty(4, 6, dtype=torch.bfloat16), seed=3, record=False))
    strided = torch.zeros(10, 4)[::2]  # every other row: the skipped rows stay untouched
    init.normal_(strided, seed=1, record=False)
    assert torch.count_nonzero(torch.zeros(10, 4)[1::2]) == 0


def test_parameters_with_requires_grad_keep_their_autograd_state():
    p = torch.nn.Parameter(torch.empty(5, 4))
    p.grad = torch.ones(5, 4)
    version = p._version
    out = init.xavier_uniform_(p, seed=3, record=False)
    assert out is p and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert torch.equal(p.grad, torch.ones(5, 4))
    assert p._version > version  # autograd sees the in-place write, as with torch.nn.init
    loss = (p * 2).sum()
    loss.backward()


def test_recorded_under_name_and_replayed_as_tensor(tmp_path):
    path = tmp_path / "l.db"
    w = init.kaiming_uniform_(torch.empty(6, 4, dtype=torch.bfloat16), a=math.sqrt(5), name="conv/w", seed=12, ledger=path)
    r = reprovar.Ledger(path).get("conv/w")
    assert (r.shape, r.dtype, r.seed, r.distribution) == ((6, 4), "bfloat16", 12, "uniform")
    again = reprovar.torch.replay("conv/w", ledger=path)
    assert again.dtype == torch.bfloat16 and torch.equal(again, w)
    assert reprovar.torch.replay("conv/w", ledger=path, dtype=torch.float32).dtype == torch.float32


def test_seed_none_draws_and_records_a_seed(tmp_path):
    path = tmp_path / "l.db"
    init.normal_(torch.empty(3), name="a", ledger=path)
    init.normal_(torch.empty(3), name="b", ledger=path)
    led = reprovar.Ledger(path)
    assert led.get("a").seed != led.get("b").seed
    assert led.get("a").seed_source == "os"


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: init.uniform_(np.zeros(3)), ArgumentTypeError, "tensor must be a torch.Tensor, got ndarray"),
        (lambda: init.normal_(torch.zeros(3, dtype=torch.int32)), ArgumentTypeError, "floating-point tensor"),
        (lambda: init.normal_(torch.zeros(3, dtype=torch.complex64)), ArgumentTypeError, "floating-point tensor"),
        (lambda: init.xavier_uniform_(torch.zeros(3)), ArgumentValueError, "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"),
        (lambda: init.kaiming_normal_(torch.zeros(3)), ArgumentValueError, "fewer than 2 dimensions"),
        (lambda: init.kaiming_uniform_(torch.zeros(3, 3), mode="fan_avg"), ArgumentValueError, "Mode 'fan_avg' not supported"),
        (lambda: init.kaiming_uniform_(torch.zeros(3, 3), nonlinearity="gelu"), ArgumentValueError, "Unsupported nonlinearity 'gelu'"),
        (lambda: init.uniform_(torch.zeros(3), 1.0, 0.0), ArgumentValueError, "low must be < high"),
        (lambda: init.normal_(torch.zeros(3), 0.0, -1.0), ArgumentValueError, "scale must be >= 0"),
        (lambda: init.uniform_(torch.zeros(3), "0", 1.0), ArgumentTypeError, "a must be a real number"),
        (lambda: init.normal_(torch.zeros(3), seed=-1), ArgumentValueError, "seed must be an int"),
        (lambda: init.normal_(torch.zeros(3), name=""), ArgumentValueError, "name must be a non-empty"),
        (lambda: init.normal_(torch.zeros(3), record="yes"), ArgumentTypeError, "record must be"),
        (lambda: init.normal_(torch.empty(3, device="meta")), ArgumentValueError, "meta device"),
    ],
)
def test_bad_input_is_refused_before_the_tensor_is_touched(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bad_input_leaves_tensor_and_ledger_untouched(tmp_path):
    path = tmp_path / "l.db"
    t = torch.zeros(4, 4)
    with pytest.raises(ArgumentValueError):
        init.kaiming_uniform_(t, nonlinearity="gelu", name="w", ledger=path)
    with pytest.raises(ArgumentValueError):
        init.uniform_(t, 2.0, 1.0, name="w", ledger=path)
    assert torch.count_nonzero(t) == 0
    assert not path.exists() or reprovar.Ledger(path).count() == 0
