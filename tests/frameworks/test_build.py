"""reprovar.torch.build and init_module(init=callable): a model's own init code, followed.

Real-library models (transformers, torchvision/timm/nanoGPT replicas) are tested in
test_build_models.py; here are the mechanics: what is captured, how it is named and
recorded, what is refused, and that refusals leave nothing behind.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

import reprovar
import reprovar.torch as rt
from reprovar.errors import ArgumentValueError, UnreproducibleError
from reprovar.recipes import Recipe
from reprovar.seeding import derive_seed


def values_of(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class Block(nn.Module):
    """Init code of the kinds real models use: nn.init calls, tensor methods, a raw
    parameter, a constant buffer, a padding row, a weight drawn twice."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8, padding_idx=3)
        self.proj = nn.Linear(8, 8)
        self.head = nn.Linear(8, 20, bias=False)
        self.scale = nn.Parameter(torch.ones(8) * 0.5)
        self.pos = nn.Parameter(torch.zeros(1, 4, 8))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        nn.init.normal_(self.proj.weight, std=0.02)
        self.proj.weight.data.normal_(0.0, 0.01)  # drawn again: the last draw counts
        nn.init.zeros_(self.proj.bias)
        nn.init.trunc_normal_(self.pos, std=0.02)


def test_build_follows_the_init_code_and_names_every_entry_by_its_path(tmp_path):
    path = tmp_path / "l.db"
    model = rt.build(Block, seed=11, ledger=path)
    init = rt.initialization(model)
    assert set(init) == set(model.state_dict()) and init.seed == 11
    led = reprovar.Ledger(path)
    assert led.count() == len(model.state_dict())
    # Each draw is the model code's own distribution, made with derive_seed(seed, name).
    w = reprovar.random_normal_variable((8, 8), 0.0, 0.01, seed=derive_seed(11, "proj.weight"), record=False)
    assert np.array_equal(model.proj.weight.detach().numpy(), w.numpy())
    pos = reprovar.truncated_normal_variable((1, 4, 8), 0.0, 0.02, seed=derive_seed(11, "pos"), low=-2.0,
                                             high=2.0, record=False)
    assert np.array_equal(model.pos.detach().numpy(), pos.numpy())
    assert init["pos"].distribution == "truncated_normal" and init["pos"].params["scale"] == 0.02
    bound = 1 / math.sqrt(8)  # Linear's own bias and kaiming_uniform_(a=sqrt(5)) weight
    assert init["head.weight"].distribution == "uniform" and init["head.weight"].params["high"] == pytest.approx(bound)
    # Constants: the values the code computed, recorded with a recipe.
    assert torch.equal(model.scale, torch.full((8,), 0.5)) and torch.equal(model.proj.bias, torch.zeros(8))
    assert Recipe.from_json(init["scale"].recipe).base.value == 0.5
    assert init["steps"].dtype == "int64" and int(model.steps) == 0
    # The padding row is zero, and the row's recipe says so: replay gives the parameter.
    assert torch.count_nonzero(model.emb.weight[3]) == 0 and torch.count_nonzero(model.emb.weight) == 19 * 8
    for name, tensor in model.state_dict().items():
        assert torch.equal(rt.replay(name, ledger=path), tensor), name


def test_same_seed_same_values_and_a_new_layer_leaves_the_others_alone():
    a, b = rt.build(Block, seed=5, record=False), rt.build(Block, seed=5, record=False)
    assert same(values_of(a), values_of(b))

    class Bigger(Block):
        def __init__(self):
            super().__init__()
            self.extra = nn.Linear(8, 8)

    c = rt.build(Bigger, seed=5, record=False)
    got = values_of(c)
    assert all(torch.equal(got[k], v) for k, v in values_of(a).items())
    assert not same(values_of(rt.build(Block, seed=6, record=False)), values_of(a))


def test_timm_style_truncated_normal_composites_are_one_draw():
    # timm's trunc_normal_ (and older torch's): uniform_, erfinv_, mul_, add_, clamp_ on one
    # tensor; trunc_normal_tf_ rescales afterwards with mul_ and add_.
    def trunc_normal(t, mean, std, a, b):
        def cdf(x):
            return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

        lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
        with torch.no_grad():
            t.uniform_(2 * lo - 1, 2 * hi - 1)
            t.erfinv_()
            t.mul_(std * math.sqrt(2.0))
            t.add_(mean)
            t.clamp_(min=a, max=b)
        return t

    def make():
        m = nn.ParameterDict({"w": nn.Parameter(torch.empty(64, 64)), "tf": nn.Parameter(torch.empty(64, 64))})
        trunc_normal(m["w"], 0.1, 0.02, 0.06, 0.14)
        trunc_normal(m["tf"], 0.0, 1.0, -2.0, 2.0)
        with torch.no_grad():
            m["tf"].mul_(0.05).add_(0.3)
        return m

    model = rt.build(make, seed=2, record=False)
    init = rt.initialization(model)
    assert model["w"].min() >= 0.06 and model["w"].max() <= 0.14
    draws = {n: p for n, p in rt.initialization(model).items()}
    assert draws is not None and set(init) == {"w", "tf"}
    ref = reprovar.truncated_normal_variable((64, 64), 0.1, 0.02, seed=derive_seed(2, "w"), low=0.06, high=0.14,
                                             record=False)
    assert np.array_equal(model["w"].detach().numpy(), ref.numpy())
    tf = reprovar.truncated_normal_variable((64, 64), 0.3, 0.05, seed=derive_seed(2, "tf"), low=0.3 - 0.1,
                                            high=0.3 + 0.1, record=False)
    assert np.allclose(model["tf"].detach().numpy(), tf.numpy(), rtol=0, atol=1e-7)


def test_eye_and_dirac_are_recorded_constants_equal_to_torchs():
    def make():
        m = nn.Sequential(nn.Conv2d(4, 4, 3, groups=1), nn.Linear(5, 3))
        nn.init.dirac_(m[0].weight, groups=2)
        nn.init.eye_(m[1].weight)
        return m

    torch.manual_seed(0)
    reference = make()
    model = rt.build(make, seed=1, record=False)
    assert torch.equal(model[0].weight, reference[0].weight) and torch.equal(model[1].weight, reference[1].weight)
    for f, args in ((rt.eye_, ()), (rt.dirac_, (2,))):
        t = torch.empty(4, 4, 3, 3) if f is rt.dirac_ else torch.empty(3, 5)
        ref = t.clone()
        getattr(nn.init, f.__name__)(ref, *args)
        assert torch.equal(f(t, *args, record=False), ref)


@pytest.mark.parametrize(
    "make, entry, operation",
    [
        (lambda: nn.ParameterList([nn.Parameter(torch.randn(4) * 0.02)]), "0", "global generator (randn)"),
        (lambda: _mutated(lambda w: w.mul_(2.0)), "weight", "mul_ after normal_"),
        (lambda: _mutated(lambda w: w.add_(torch.ones_like(w))), "weight", "add_ changed values drawn by normal_"),
        (lambda: _with(lambda l: nn.init.sparse_(l.weight, 0.5)), "weight", "sparse_"),
        (lambda: _with(lambda l: l.weight.data.bernoulli_(0.5)), "weight", "bernoulli_"),
        (lambda: _with(lambda l: l.weight.data.copy_(l.weight.data.t().contiguous())), "weight", "contiguous used values"),
        (lambda: _with(lambda l: setattr(l, "extra", nn.Parameter(torch.empty(3)))), "extra", "never initialized"),
        (lambda: _with(lambda l: l.weight.data.normal_() if l.weight.sum().item() > 0 else None), "weight", "item() read values"),
        (lambda: _with(lambda l: l.weight.data.__setitem__(torch.tensor([0, 2]), 1.0)), "weight", "tensor index"),
    ],
)
def test_what_cannot_be_made_again_is_refused_naming_the_entry_and_nothing_is_recorded(tmp_path, make, entry, operation):
    path = tmp_path / "l.db"
    with pytest.raises(UnreproducibleError, match=rf"{entry}: .*{re.escape(operation)}") as err:
        rt.build(make, seed=1, ledger=path)
    assert "nothing was recorded" in str(err.value)
    assert not path.exists() or reprovar.Ledger(path).count() == 0


def _with(change):
    layer = nn.Linear(3, 3)
    with torch.no_grad():
        change(layer)
    return layer


def _mutated(change):
    layer = nn.Linear(3, 3)
    with torch.no_grad():
        layer.weight.normal_()
        change(layer.weight)
    return layer


def test_init_module_follows_a_callable_and_refuses_to_guess_a_scheme(tmp_path):
    def nanogpt_style(m):
        for layer in m.modules():
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=0.02)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    model = nn.Sequential(nn.Linear(6, 6), nn.LayerNorm(6), nn.Linear(6, 2))
    with pytest.raises(ArgumentValueError, match=r"reset_parameters.*callable.*build"):
        rt.init_module(model, seed=1, record=False)
    with pytest.raises(ArgumentValueError, match="init must be"):
        rt.init_module(model, init="kaiming", seed=1, record=False)
    before = values_of(model)
    records = rt.init_module(model, init=nanogpt_style, seed=4, ledger=tmp_path / "l.db", prefix="gpt")
    assert set(records) == {f"gpt.{n}" for n in model.state_dict()}
    assert records["gpt.0.weight"].params == {"mean": 0.0, "scale": 0.02}
    assert records["gpt.1.weight"].recipe is not None  # untouched by the code: a constant, recorded
    assert not same(before, values_of(model))
    # A model whose untouched entries are not constants (trained, say) is refused, unchanged.
    trained = nn.Sequential(nn.Linear(6, 6), nn.Linear(6, 2))
    with torch.no_grad():
        trained[1].weight.add_(0.1)
    before = values_of(trained)
    with pytest.raises(UnreproducibleError, match=r"1\.weight: its creation left values that are not one constant"):
        rt.init_module(trained, init=lambda m: nn.init.zeros_(m[0].weight), seed=1, record=False)
    assert same(before, values_of(trained))


def test_prefix_is_joined_as_torch_joins_names():
    m = nn.Linear(2, 2)
    assert set(rt.init_module(m, init="reset_parameters", seed=1, record=False, prefix="x")) == {"x.weight", "x.bias"}
    assert set(rt.init_module(m, init="reset_parameters", seed=1, record=False, prefix="x.")) == {"x.weight", "x.bias"}
    assert set(rt.initialization(rt.build(lambda: nn.Linear(2, 2), record=False, prefix="enc"))) == {"enc.weight", "enc.bias"}


def test_wrappers_are_looked_through_and_restore_uses_the_plain_names(tmp_path):
    class DistributedDataParallel(nn.Module):  # the shape of torch's wrapper: the model as .module
        def __init__(self, module):
            super().__init__()
            self.module = module

    path = tmp_path / "l.db"
    compiled = rt.build(lambda: torch.compile(Block()), seed=3, ledger=path)
    assert set(rt.initialization(compiled)) == set(compiled._orig_mod.state_dict())
    initial = values_of(compiled._orig_mod)
    wrapped = DistributedDataParallel(compiled._orig_mod)
    with torch.no_grad():
        for p in wrapped.parameters():
            p.add_(1.0)
    rt.restore_module(wrapped, ledger=path)
    assert same(initial, values_of(compiled._orig_mod))


def test_restore_brings_back_every_entry_bit_for_bit_and_checks_before_changing(tmp_path):
    path = tmp_path / "l.db"
    model = rt.build(lambda: nn.Sequential(Block(), nn.BatchNorm1d(8)), seed=7, ledger=path)
    initial = values_of(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randint(0, 20, (16,))
    for _ in range(3):
        opt.zero_grad()
        model[1](model[0].proj(model[0].emb(x))).pow(2).mean().backward()
        opt.step()
    assert not same(initial, values_of(model))  # parameters and the BatchNorm statistics moved
    restored = rt.restore_module(model, ledger=path)
    assert set(restored) == set(initial) and same(initial, values_of(model))
    # Another shape or dtype: refused, nothing changed.
    other = nn.Sequential(Block(), nn.BatchNorm1d(8)).to(torch.float64)
    before = values_of(other)
    with pytest.raises(reprovar.errors.ShapeMismatchError, match="recorded float32, model has float64"):
        rt.restore_module(other, ledger=path)
    assert same(before, values_of(other))


def test_a_captured_dtype_conversion_keeps_the_scheme():
    model = rt.build(lambda: Block().to(torch.bfloat16), seed=2, record=False)
    init = rt.initialization(model)
    assert model.proj.weight.dtype == torch.bfloat16 and set(init) == set(model.state_dict())
    ref = reprovar.random_normal_variable((8, 8), 0.0, 0.01, dtype="bfloat16", seed=derive_seed(2, "proj.weight"),
                                          record=False)
    assert np.array_equal(model.proj.weight.detach().view(torch.int16).numpy(), ref.numpy().view(np.int16))


def test_parametrized_weights_are_refused_with_a_clear_error():
    from torch.nn.utils.parametrizations import spectral_norm, weight_norm

    for parametrize in (weight_norm, spectral_norm):
        with pytest.raises(UnreproducibleError, match="parametrization"):
            rt.build(lambda: parametrize(nn.Linear(4, 3)), record=False)
        with pytest.raises(UnreproducibleError, match="parametrized"):
            rt.init_module(parametrize(nn.Linear(4, 3)), init="reset_parameters", record=False)


def test_edited_recipe_breaks_the_seal(tmp_path):
    import sqlalchemy as sa

    path = tmp_path / "l.db"
    rt.build(Block, seed=1, ledger=path)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as c:
        c.execute(sa.text("UPDATE reprovar_variables SET recipe = replace(recipe, '0x1.0000000000000p-1', "
                          "'0x1.0000000000000p+0') WHERE name = 'scale'"))
    engine.dispose()
    from reprovar.audit.verify import verify_record

    outcome = verify_record(reprovar.Ledger(path).get("scale"))
    assert outcome.status == "broken_seal"


def test_a_capture_does_not_leak_into_other_code():
    rt.build(Block, seed=1, record=False)
    w = torch.empty(1000)
    nn.init.trunc_normal_(w, std=1.0, a=-2.0, b=2.0)  # torch's own, outside a capture
    assert w.abs().max() <= 2.0 and w.std() > 0.5
    with pytest.raises(ArgumentValueError, match="already being captured"):
        rt.build(lambda: rt.build(lambda: nn.Linear(2, 2), record=False), record=False)


def test_a_refused_init_module_puts_back_data_it_replaced_and_values_it_wrote():
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    before = values_of(model)
    storage = model[0].weight.data_ptr()

    def init(m):
        m[1].weight.data.fill_(3.0)  # executed, then undone
        m[0].weight.data = torch.randn(4, 4)  # torch's generator: refused

    with pytest.raises(UnreproducibleError, match=r"0\.weight: .*randn"):
        rt.init_module(model, init=init, seed=1, record=False)
    assert same(before, values_of(model)) and model[0].weight.data_ptr() == storage
