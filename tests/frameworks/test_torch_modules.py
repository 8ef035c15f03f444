"""``init_module`` / ``restore_module``: whole models, each parameter under its own name and seed."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
from scipy import stats
from torch import nn

import reprovar
import reprovar.torch as rt
from reprovar.errors import ArgumentTypeError, ArgumentValueError, RecordingError, ShapeMismatchError, UnknownVariableError
from reprovar.seeding import derive_seed, model_seed

P_MIN = 1e-4


def encoder(layers: int = 2) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
    return nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)


def state(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


RANDOM_ENCODER_PARAMS = {
    "self_attn.in_proj_weight",
    "self_attn.out_proj.weight",
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
}


def test_transformer_encoder_every_random_parameter_recorded_under_its_name(tmp_path):
    path = tmp_path / "l.db"
    model = encoder()
    records = rt.init_module(model, init="reset_parameters", seed=31, ledger=path)
    random = {f"layers.{i}.{n}" for i in range(2) for n in RANDOM_ENCODER_PARAMS}
    params = dict(model.named_parameters())
    assert set(records) == set(params)  # every parameter, constants included
    led = reprovar.Ledger(path)
    for name, record in records.items():
        assert record == led.get(name)
        assert record.seed == derive_seed(31, name) and model_seed(record.seed, name) == records.seed == 31
        assert record.shape == tuple(params[name].shape)
        assert torch.equal(rt.replay(name, ledger=path), params[name].detach())
        assert (record.recipe is None) == (name in random)  # a constant's row has a recipe
    for i in range(2):
        layer = model.layers[i]
        assert torch.equal(layer.norm1.weight, torch.ones(16)) and torch.equal(layer.norm2.bias, torch.zeros(16))
        assert torch.equal(layer.self_attn.in_proj_bias, torch.zeros(48))
        assert torch.equal(layer.self_attn.out_proj.bias, torch.zeros(16))
    assert led.count() == len(params)


def test_seed_none_draws_a_model_seed_found_again_from_any_record(tmp_path):
    path = tmp_path / "l.db"
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    records = rt.init_module(model, init="reset_parameters", ledger=path)
    assert 0 <= records.seed < 2**64
    for name, r in records.items():
        assert r.seed_source == "os" and model_seed(r.seed, name) == records.seed
    again = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    rt.init_module(again, init="reset_parameters", seed=records.seed, record=False)
    assert same_state(state(model), state(again))


def test_same_seed_same_state_dict_and_other_seed_differs():
    a, b, c = encoder(), encoder(), encoder()
    rt.init_module(a, init="reset_parameters", seed=5, record=False)
    rt.init_module(b, init="reset_parameters", seed=5, record=False)
    rt.init_module(c, init="reset_parameters", seed=6, record=False)
    assert same_state(state(a), state(b))
    assert not torch.equal(a.layers[0].linear1.weight, c.layers[0].linear1.weight)


def test_inserting_a_layer_leaves_the_others_bit_identical():
    def net(extra: bool) -> nn.Module:
        layers = {"embed": nn.Embedding(20, 8, padding_idx=0), "fc1": nn.Linear(8, 8)}
        if extra:
            layers["inserted"] = nn.Linear(8, 8)
        layers["fc2"] = nn.Linear(8, 4)
        return nn.ModuleDict(layers)

    a, b = net(False), net(True)
    rt.init_module(a, init="reset_parameters", seed=77, record=False)
    rt.init_module(b, init="reset_parameters", seed=77, record=False)
    sa, sb = state(a), state(b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert set(sb) - set(sa) == {"inserted.weight", "inserted.bias"}
    # torch's own global generator shifts every layer after the inserted one.
    torch.manual_seed(0)
    ta = net(False)
    torch.manual_seed(0)
    tb = net(True)
    assert not torch.equal(ta["fc2"].weight, tb["fc2"].weight)


def test_restore_after_training_brings_back_the_initial_state_exactly(tmp_path):
    path = tmp_path / "l.db"
    model = encoder()
    rt.init_module(model, init="reset_parameters", seed=3, ledger=path)
    initial = state(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(4, 5, 16, generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    assert not same_state(initial, state(model))
    restored = rt.restore_module(model, ledger=path)
    assert same_state(initial, state(model))
    assert set(restored) == set(model.state_dict())
    out = model(x)  # still a working model with autograd
    out.sum().backward()


def test_restore_embedding_padding_row_and_batchnorm_statistics(tmp_path):
    path = tmp_path / "l.db"
    model = nn.Sequential(nn.Embedding(10, 4, padding_idx=2), nn.BatchNorm1d(4))
    records = rt.init_module(model, init="reset_parameters", seed=6, ledger=path)
    initial = state(model)
    assert set(records) == set(model.state_dict()) and torch.count_nonzero(model[0].weight[2]) == 0
    model.train()
    model[1](torch.randn(8, 4))  # moves the running statistics
    with torch.no_grad():
        model[0].weight.mul_(3.0)
        model[1].weight.add_(1.0)
    rt.restore_module(model, ledger=path)
    assert same_state(initial, state(model))
    # The record is the N(0, 1) matrix with the padding row zeroed by its recipe: the parameter.
    recorded = rt.replay("0.weight", ledger=path)
    assert torch.equal(recorded, model[0].weight.detach())
    assert torch.count_nonzero(recorded[2]) == 0 and torch.count_nonzero(recorded) == 36
    assert records["1.num_batches_tracked"].dtype == "int64"


def test_restore_a_given_run_and_the_latest_version(tmp_path):
    path = tmp_path / "l.db"
    model = nn.Linear(4, 3)
    first = rt.init_module(model, init="reset_parameters", seed=1, ledger=path)
    s1 = state(model)
    rt.init_module(model, init="reset_parameters", seed=2, ledger=path)  # same names, version 2
    s2 = state(model)
    rt.restore_module(model, ledger=path)
    assert same_state(s2, state(model))
    run = first["weight"].run_id
    records = rt.restore_module(model, ledger=path, run=run)
    assert same_state(s2, state(model))  # one process is one run: its latest versions
    assert records["weight"].version == 2
    with pytest.raises(UnknownVariableError, match="by run 999"):
        rt.restore_module(model, ledger=path, run=999)
    del s1


def test_restore_with_prefix_and_cli_replay_verifies(tmp_path):
    path = tmp_path / "l.db"
    model = encoder(1)
    rt.init_module(model, init="reset_parameters", seed=9, prefix="enc.", ledger=path)
    initial = state(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    rt.restore_module(model, prefix="enc.", ledger=path)
    assert same_state(initial, state(model))
    result = subprocess.run(
        [sys.executable, "-m", "reprovar", "replay", "enc.layers.0.self_attn.in_proj_weight", "--ledger", str(path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified" in result.stdout.lower()


def test_restore_failures_change_nothing(tmp_path):
    path = tmp_path / "l.db"
    rt.init_module(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)), init="reset_parameters", seed=1, ledger=path)
    wider = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 5))
    before = state(wider)
    with pytest.raises(ShapeMismatchError, match=r"1\.weight: recorded \(2, 3\), model has \(5, 3\)"):
        rt.restore_module(wider, ledger=path)
    assert same_state(before, state(wider))
    deeper = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2), nn.Linear(2, 2))
    before = state(deeper)
    with pytest.raises(UnknownVariableError, match="2 parameter\\(s\\) have no record.*'2.weight', '2.bias'"):
        rt.restore_module(deeper, ledger=path)
    assert same_state(before, state(deeper))


def test_layer_distributions_follow_torch_reset_parameters():
    model = nn.ModuleDict(
        {
            "fc": nn.Linear(300, 200),
            "conv": nn.Conv2d(8, 64, 5),
            "deconv": nn.ConvTranspose1d(40, 30, 4),
            "emb": nn.Embedding(200, 50, padding_idx=3),
            "lstm": nn.LSTM(20, 40),
            "gru": nn.GRUCell(10, 30),
            "bn": nn.BatchNorm1d(7),
            "bil": nn.Bilinear(30, 20, 10),
            "prelu": nn.PReLU(4),
        }
    )
    rt.init_module(model, init="reset_parameters", seed=4, record=False)

    def ks_u(t, bound):
        return stats.kstest(t.detach().double().flatten().numpy(), "uniform", args=(-bound, 2 * bound)).pvalue

    for layer in ("fc", "conv", "deconv"):
        w = model[layer].weight
        fan_in = w.shape[1] * math.prod(w.shape[2:])
        bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias bound coincide
        assert ks_u(w, bound) > P_MIN and ks_u(model[layer].bias, bound) > P_MIN
    emb = model["emb"].weight.detach()
    assert torch.count_nonzero(emb[3]) == 0
    rows = torch.cat([emb[:3], emb[4:]]).double().flatten().numpy()
    assert stats.kstest(rows, "norm").pvalue > P_MIN
    for p in model["lstm"].parameters():
        assert ks_u(p, 1 / math.sqrt(40)) > P_MIN
    for p in model["gru"].parameters():
        assert ks_u(p, 1 / math.sqrt(30)) > P_MIN
    assert ks_u(model["bil"].weight, 1 / math.sqrt(30)) > P_MIN
    assert torch.equal(model["prelu"].weight, torch.full((4,), 0.25))
    assert torch.equal(model["bn"].weight, torch.ones(7)) and torch.equal(model["bn"].running_var, torch.ones(7))


def test_multihead_attention_and_transformer_rules():
    mha = nn.MultiheadAttention(32, 4, add_bias_kv=True, kdim=24, vdim=20)
    rt.init_module(mha, init="reset_parameters", seed=1, record=False)
    std_q = math.sqrt(2.0 / (32 + 32))
    assert stats.kstest(mha.q_proj_weight.detach().double().flatten().numpy(), "uniform",
                        args=(-math.sqrt(3) * std_q, 2 * math.sqrt(3) * std_q)).pvalue > P_MIN
    assert torch.count_nonzero(mha.in_proj_bias) == 0 and torch.count_nonzero(mha.out_proj.bias) == 0
    assert torch.count_nonzero(mha.bias_k) > 0
    tr = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=24, batch_first=True)
    records = rt.init_module(tr, init="reset_parameters", seed=2, record=False)
    w = tr.encoder.layers[0].linear1.weight.detach()  # xavier_uniform_ in nn.Transformer, not kaiming
    bound = math.sqrt(6.0 / (16 + 24))
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 1 / math.sqrt(16)
    assert "decoder.layers.0.multihead_attn.in_proj_weight" in records


def test_tied_parameters_are_made_once_and_recorded_under_each_name(tmp_path):
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight
    model = nn.ModuleDict({"emb": emb, "head": head})
    records = rt.init_module(model, init="reset_parameters", seed=1, ledger=tmp_path / "l.db")
    assert list(records) == ["emb.weight", "head.weight"]  # one row per name, the same values
    alias = records["head.weight"]
    assert alias.digest == records["emb.weight"].digest and '"tied_to":"emb.weight"' in alias.recipe
    assert torch.equal(rt.replay("head.weight", ledger=tmp_path / "l.db"), emb.weight.detach())


def test_unknown_layers_raise_listing_them_unless_skipped_or_warned():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(torch.full((3,), 7.0))

    class ZeroLinear(nn.Linear):
        def reset_parameters(self):
            nn.init.zeros_(self.weight)

    model = nn.Sequential(nn.Linear(3, 3), Scale(), ZeroLinear(3, 3))
    before = state(model)
    with pytest.raises(ArgumentValueError, match=r"1 \(Scale\): 1\.gain; 2 \(ZeroLinear\): 2\.weight, 2\.bias"):
        rt.init_module(model, init="reset_parameters", seed=1, record=False)
    assert same_state(before, state(model))
    records = rt.init_module(model, init="reset_parameters", seed=1, record=False, on_unknown="skip")
    assert set(records) == {"0.weight", "0.bias"}
    assert torch.equal(model[1].gain, torch.full((3,), 7.0))
    with pytest.warns(UserWarning, match="Scale"):
        rt.init_module(model, init="reset_parameters", seed=1, record=False, on_unknown="warn")


def test_dtypes_and_parameters_keep_their_identity():
    model = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3)).to(torch.bfloat16)
    params = list(model.parameters())
    opt = torch.optim.Adam(model.parameters())
    rt.init_module(model, init="reset_parameters", seed=8, record=False)
    assert all(a is b for a, b in zip(params, model.parameters()))
    assert all(p.requires_grad and p.dtype == torch.bfloat16 for p in model.parameters())
    assert opt.param_groups[0]["params"][0] is model[0].weight
    ref = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3)).to(torch.float64)
    rt.init_module(ref, init="reset_parameters", seed=8, record=False)
    assert not torch.equal(ref[0].weight.to(torch.bfloat16), torch.zeros(4, 5, dtype=torch.bfloat16))


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"seed": "1"}, ArgumentTypeError, "seed must be an int"),
        ({"prefix": 3}, ArgumentTypeError, "prefix must be a str"),
        ({"on_unknown": "ignore"}, ArgumentValueError, "on_unknown must be one of"),
        ({"record": 1}, ArgumentTypeError, "record must be"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    model = nn.Linear(2, 2)
    before = state(model)
    with pytest.raises(error, match=match):
        rt.init_module(model, init="reset_parameters", **kwargs)
    assert same_state(before, state(model))


def test_bad_modules():
    with pytest.raises(ArgumentTypeError, match="module must be a torch.nn.Module"):
        rt.init_module([nn.Linear(2, 2)])
    int_model = nn.Linear(2, 2)
    int_model.weight = nn.Parameter(torch.zeros(2, 2, dtype=torch.int32), requires_grad=False)
    with pytest.raises(ArgumentTypeError, match="parameter 'weight' must be a floating-point tensor"):
        rt.init_module(int_model, init="reset_parameters", record=False)
    with pytest.raises(ArgumentValueError, match="uninitialized"):
        rt.init_module(nn.LazyLinear(3), init="reset_parameters", record=False)


def test_recording_failure_records_nothing_and_says_the_module_was_initialized(tmp_path, monkeypatch):
    path = tmp_path / "l.db"
    led = reprovar.Ledger(path)
    model = encoder(1)
    calls = []
    real = led.record

    def failing(variable, **kw):
        calls.append(variable.name)
        if len(calls) == 5:
            raise RecordingError("disk full")
        return real(variable, **kw)

    monkeypatch.setattr(led, "record", failing)
    with pytest.raises(RecordingError, match=r"initialized \(model seed 1; .*nothing was recorded.*disk full"):
        rt.init_module(model, init="reset_parameters", seed=1, ledger=led)
    assert led.count() == 0  # one transaction: the rows before the failure are rolled back
    # The module is wholly initialized (values made in place), never half: as with record=False.
    reference = encoder(1)
    rt.init_module(reference, init="reset_parameters", seed=1, record=False)
    assert same_state(state(reference), state(model))


def test_failures_before_values_are_made_leave_the_module_untouched(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].weight = nn.Parameter(torch.zeros(3, 3, dtype=torch.int64), requires_grad=False)
    before = state(model)
    with pytest.raises(ArgumentTypeError):
        rt.init_module(model, init="reset_parameters", seed=1, ledger=tmp_path / "l.db")
    assert same_state(before, state(model))
    assert reprovar.Ledger(tmp_path / "l.db").count() == 0
