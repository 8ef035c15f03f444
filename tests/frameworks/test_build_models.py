"""``build`` and ``init_module(init=...)`` on real models: each tensor keeps its library's own scheme.

The models: transformers' own BERT, BERT-MLM, GPT-2, Llama and T5 from small configs, and
faithful replicas of torchvision's ResNet, timm's ViT and nanoGPT (``tests/frameworks/models``).
The reference for every check is the library's own init, run plainly under
``torch.manual_seed``: per tensor, a two-sample Kolmogorov-Smirnov test against it (a
Bonferroni bound over the tensors of one model), constants equal exactly, and the initial
loss on a fixed batch within the spread the library's own init gives.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy import stats
from torch import nn

import reprovar
import reprovar.torch as rt
from reprovar.errors import ArgumentValueError, ReprovarError, UnreproducibleError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from models import hf, nanogpt, resnet, vit  # noqa: E402

#: Family-wise false-rejection rate of the KS checks of one model (Bonferroni over its tensors).
ALPHA = 1e-4
#: Tensors with fewer elements are left out of the KS check (too little power to mean much).
KS_MIN = 32


def images(size: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(seed))


def labels(seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 10, (4,), generator=torch.Generator().manual_seed(seed))


def classifier_loss(size: int):
    def loss(model: nn.Module) -> float:
        model.eval()
        with torch.no_grad():
            return float(nn.functional.cross_entropy(model(images(size)), labels()))

    return loss


def nanogpt_loss(model: nn.Module) -> float:
    ids = hf.tokens()
    model.eval()
    with torch.no_grad():
        return float(model(ids[:, :-1].contiguous(), ids[:, 1:].contiguous())[1])


def gpt_config(**kw) -> nanogpt.GPTConfig:
    return nanogpt.GPTConfig(vocab_size=hf.VOCAB, **kw)


def hf_init(model: nn.Module) -> None:
    model.init_weights()


#: name -> (factory, loss or None, the library's own re-init callable or None).
MODELS = {
    **{name: (factory, loss, hf_init) for name, (factory, loss) in hf.MODELS.items()},
    "torchvision-resnet-basic": (resnet.resnet_basic, classifier_loss(32), None),
    "torchvision-resnet-bottleneck-zero-init": (lambda: resnet.resnet_bottleneck(zero_init_residual=True), classifier_loss(32), None),
    "timm-vit": (vit.VisionTransformer, classifier_loss(16), lambda m: m.init_weights()),
    "timm-vit-jax-nlhb": (lambda: vit.VisionTransformer(weight_init="jax_nlhb"), classifier_loss(16),
                          lambda m: m.init_weights("jax_nlhb")),
    "nanogpt": (lambda: nanogpt.GPT(gpt_config()), nanogpt_loss, lambda m: m.apply(m._init_weights)),
}
REINIT = sorted(name for name, (_, _, init) in MODELS.items() if init is not None)
LOSS = sorted(name for name, (_, loss, _) in MODELS.items() if loss is not None)


# -- the library's own init, and comparisons against it --------------------------------------


def clear_hf_flags(model: nn.Module) -> None:
    """transformers 5 skips modules and tensors flagged ``_is_hf_initialized``: clear them so
    its ``init_weights`` runs again (what reprovar does for ``init_module``)."""
    for obj in [*model.modules(), *model.parameters(), *model.buffers()]:
        if "_is_hf_initialized" in vars(obj):
            delattr(obj, "_is_hf_initialized")


def own_build(name: str, seed: int) -> nn.Module:
    """The model as its library builds it, with torch's global generator seeded."""
    torch.manual_seed(seed)
    return MODELS[name][0]()


def own_reinit(name: str, seed: int) -> nn.Module:
    """The model built, then re-initialized by its library's own init code, seeded."""
    model = own_build(name, 1000 + seed)
    clear_hf_flags(model)
    torch.manual_seed(seed)
    MODELS[name][2](model)
    return model


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(f"{k}|{v.dtype}|{tuple(v.shape)}|".encode())
        h.update(v.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def is_constant(t: torch.Tensor) -> bool:
    return t.numel() == 0 or bool((t == t.reshape(-1)[0]).all())


def scheme_differences(ours: dict[str, torch.Tensor], ref: dict[str, torch.Tensor]) -> list[str]:
    """What differs between two state dicts' schemes: names, shapes, dtypes, constants and
    integer buffers exactly, other float tensors by a KS test (Bonferroni over the tensors)."""
    problems = []
    if ours.keys() != ref.keys():
        return [f"names differ: only ours {sorted(ours.keys() - ref.keys())}, only the library's {sorted(ref.keys() - ours.keys())}"]
    tested = {}
    for name, r in ref.items():
        o = ours[name]
        if o.shape != r.shape or o.dtype != r.dtype:
            problems.append(f"{name}: {tuple(o.shape)} {o.dtype}, the library's {tuple(r.shape)} {r.dtype}")
        elif not r.is_floating_point() or is_constant(r):
            if not torch.equal(o, r):
                problems.append(f"{name}: the library's value is exact ({r.reshape(-1)[:3].tolist()}...), ours differs")
        elif is_constant(o):
            problems.append(f"{name}: the library's values are random, ours constant {o.reshape(-1)[0].item()}")
        elif r.numel() >= KS_MIN:
            tested[name] = stats.ks_2samp(o.reshape(-1).double().numpy(), r.reshape(-1).double().numpy())
    bound = ALPHA / max(1, len(tested))
    problems += [f"{name}: KS D={t.statistic:.4f}, p={t.pvalue:.2e} < {bound:.1e}" for name, t in tested.items() if t.pvalue < bound]
    return problems


def assert_same_scheme(ours: nn.Module, ref: nn.Module) -> None:
    problems = scheme_differences(snapshot(ours), snapshot(ref))
    assert not problems, "\n".join(problems)


_losses: dict[tuple[str, str], list[float]] = {}


def assert_loss_in_library_range(name: str, model: nn.Module, how: str) -> None:
    loss_fn = MODELS[name][1]
    key = (name, how)
    if key not in _losses:
        make = own_build if how == "build" else own_reinit
        _losses[key] = [loss_fn(make(name, s)) for s in range(3)]
    lo, hi = min(_losses[key]), max(_losses[key])
    slack = max(hi - lo, 0.02 * abs(lo))
    loss = loss_fn(model)
    assert lo - slack <= loss <= hi + slack, f"{name}: initial loss {loss:.3f}, the library's own init gives {lo:.3f}..{hi:.3f}"


def no_rows(path) -> bool:
    return reprovar.Ledger(path).latest(None) == []


# -- the scheme check itself can fail -------------------------------------------------------


def test_scheme_check_accepts_another_seed_and_rejects_a_changed_scheme():
    ref = snapshot(own_build("nanogpt", 0))
    assert scheme_differences(snapshot(own_build("nanogpt", 1)), ref) == []

    def changed(fn) -> dict[str, torch.Tensor]:
        out = snapshot(own_build("nanogpt", 1))
        return {k: fn(v) if v.is_floating_point() and not is_constant(v) else v for k, v in out.items()}

    wider = scheme_differences(changed(lambda v: v * 1.2), ref)
    assert any(p.startswith("transformer.wte.weight: KS") for p in wider), wider
    # The same mean and standard deviation, another distribution (uniform instead of normal).
    uniform = scheme_differences(changed(lambda v: (torch.rand_like(v) * 2 - 1) * v.std() * math.sqrt(3)), ref)
    assert any(p.startswith("transformer.wte.weight: KS") for p in uniform), uniform
    # A constant that is off, and a random tensor made constant.
    broken = snapshot(own_build("nanogpt", 1))
    broken["transformer.ln_f.weight"] = broken["transformer.ln_f.weight"] * 0.5
    broken["transformer.h.0.attn.c_attn.weight"] = torch.zeros_like(broken["transformer.h.0.attn.c_attn.weight"])
    problems = scheme_differences(broken, ref)
    assert sorted(p.split(":")[0] for p in problems) == ["transformer.h.0.attn.c_attn.weight", "transformer.ln_f.weight"], problems


# -- build: the library's scheme, every state_dict entry recorded ---------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
def test_build_follows_the_library_scheme_and_records_every_entry(name, tmp_path):
    path = tmp_path / "l.db"
    model = rt.build(MODELS[name][0], seed=11, ledger=path)
    assert_same_scheme(model, own_build(name, 0))
    init = rt.initialization(model)
    assert init.seed == 11
    state = model.state_dict()
    assert set(init) == set(state)
    led = reprovar.Ledger(path)
    for key, record in init.items():
        assert record == led.get(key)
        assert record.shape == tuple(state[key].shape)
        assert torch.equal(rt.replay(key, ledger=path), state[key].detach().cpu()), key


@pytest.mark.parametrize("name", LOSS)
def test_build_initial_loss_in_the_library_range(name):
    assert_loss_in_library_range(name, rt.build(MODELS[name][0], seed=12, record=False), "build")


@pytest.mark.parametrize("name", REINIT)
def test_init_module_runs_the_library_init_code(name, tmp_path):
    path = tmp_path / "l.db"
    model = own_build(name, 5)
    init = rt.init_module(model, init=MODELS[name][2], seed=13, ledger=path)
    assert_same_scheme(model, own_reinit(name, 0))
    assert set(init) == set(model.state_dict()) and init.seed == 13
    if MODELS[name][1] is not None:
        assert_loss_in_library_range(name, model, "init_module")
    # The values depend on (seed, name) only, not on what the model held before.
    again = own_build(name, 6)
    rt.init_module(again, init=MODELS[name][2], seed=13, record=False)
    assert digest(again) == digest(model)


# -- reproducible: same seed, same values, in this process and another -------------------------


DIGEST_SCRIPT = """
import json, sys
sys.path[:0] = [{here!r}, {src!r}]
import reprovar.torch as rt
import test_build_models as t
print(json.dumps({{n: t.digest(rt.build(t.MODELS[n][0], seed=21, record=False)) for n in t.MODELS}}))
"""


def test_same_seed_same_digests_twice_and_in_another_process():
    here = {name: digest(rt.build(MODELS[name][0], seed=21, record=False)) for name in MODELS}
    twice = {name: digest(rt.build(MODELS[name][0], seed=21, record=False)) for name in MODELS}
    assert here == twice
    other_seed = {name: digest(rt.build(MODELS[name][0], seed=22, record=False)) for name in MODELS}
    assert all(other_seed[n] != here[n] for n in MODELS)
    src = str(HERE.parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run([sys.executable, "-c", DIGEST_SCRIPT.format(here=str(HERE), src=src)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == here


def test_record_digests_equal_across_ledgers(tmp_path):
    a = rt.initialization(rt.build(MODELS["GPT2LMHeadModel"][0], seed=23, ledger=tmp_path / "a.db"))
    b = rt.initialization(rt.build(MODELS["GPT2LMHeadModel"][0], seed=23, ledger=tmp_path / "b.db"))
    assert {k: r.digest for k, r in a.items()} == {k: r.digest for k, r in b.items()}


def test_bert_two_to_three_layers_leaves_shared_values_unchanged():
    two = snapshot(rt.build(lambda: hf.bert_model(2), seed=31, record=False))
    three = snapshot(rt.build(lambda: hf.bert_model(3), seed=31, record=False))
    assert set(two) < set(three)
    changed = [k for k in two if not torch.equal(two[k], three[k])]
    assert changed == []
    assert any(k.startswith("encoder.layer.2.") for k in three)


# -- restore: bit for bit after training, buffers included ----------------------------------


def train_a_little(name: str, model: nn.Module) -> None:
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(3):
        opt.zero_grad()
        if name.startswith("torchvision"):
            loss = nn.functional.cross_entropy(model(images(32, step)), labels(step))
        elif name.startswith("timm"):
            loss = nn.functional.cross_entropy(model(images(16, step)), labels(step))
        elif name == "nanogpt":
            ids = hf.tokens(step)
            loss = model(ids[:, :-1].contiguous(), ids[:, 1:].contiguous())[1]
        elif name == "BertModel":
            loss = model(input_ids=hf.tokens(step)).last_hidden_state.square().mean()
        elif name == "T5ForConditionalGeneration":
            loss = model(input_ids=hf.tokens(step), labels=hf.tokens(step + 10)).loss
        else:
            loss = model(input_ids=hf.tokens(step), labels=hf.tokens(step)).loss
        loss.backward()
        opt.step()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_restore_module_after_training_gives_the_whole_initial_state_dict(name, tmp_path):
    path = tmp_path / "l.db"
    model = rt.build(MODELS[name][0], seed=41, ledger=path)
    initial = snapshot(model)
    train_a_little(name, model)
    after = snapshot(model)
    assert [k for k in initial if not torch.equal(initial[k], after[k])], "training changed nothing"
    rt.restore_module(model, ledger=path)
    restored = snapshot(model)
    assert restored.keys() == initial.keys()
    differ = [k for k in initial if not torch.equal(initial[k], restored[k])]
    assert differ == []


def test_restore_module_into_a_fresh_model_and_refusals(tmp_path):
    path = tmp_path / "l.db"
    model = rt.build(MODELS["torchvision-resnet-basic"][0], seed=42, ledger=path)
    fresh = own_build("torchvision-resnet-basic", 3)
    rt.restore_module(fresh, ledger=path)
    assert digest(fresh) == digest(model)
    # Another shape: refused, nothing changed.
    other = resnet.ResNet(resnet.BasicBlock, [1, 1, 1, 1], num_classes=7)
    before = snapshot(other)
    with pytest.raises(ReprovarError, match="fc"):
        rt.restore_module(other, ledger=path)
    assert all(torch.equal(before[k], v) for k, v in snapshot(other).items())
    # A name the ledger does not have: refused, nothing changed.
    bigger = resnet.ResNet(resnet.BasicBlock, [2, 1, 1, 1])
    before = snapshot(bigger)
    with pytest.raises(ReprovarError, match=r"layer1\.1\."):
        rt.restore_module(bigger, ledger=path)
    assert all(torch.equal(before[k], v) for k, v in snapshot(bigger).items())


# -- tied parameters --------------------------------------------------------------------------


@pytest.mark.parametrize("name, alias, target", [
    ("nanogpt", "lm_head.weight", "transformer.wte.weight"),
    ("GPT2LMHeadModel", "lm_head.weight", "transformer.wte.weight"),
    ("BertForMaskedLM", "cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight"),
])
def test_tied_alias_recorded_and_replayed_through_the_cli(name, alias, target, tmp_path):
    from reprovar.cli import main

    path = tmp_path / "l.db"
    model = rt.build(MODELS[name][0], seed=51, ledger=path)
    assert model.get_parameter(alias) is model.get_parameter(target)
    led = reprovar.Ledger(path)
    assert led.get(alias).digest == led.get(target).digest
    out = tmp_path / "alias.npy"
    result = CliRunner().invoke(main, ["replay", alias, "--ledger", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.load(out), model.get_parameter(alias).detach().numpy())
    # After restore the two names are still one tensor.
    train_a_little(name, model)
    rt.restore_module(model, ledger=path)
    assert model.get_parameter(alias) is model.get_parameter(target)
    assert np.array_equal(np.load(out), model.get_parameter(alias).detach().numpy())


# -- what cannot be made again is an error, and nothing is recorded ---------------------------


class GlobalRandn(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(8) * 0.02)


class DrawThenScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(8, 8))
        with torch.no_grad():
            self.w.normal_()
            self.w.mul_(2.0)


class Sparse(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(8, 8))
        nn.init.sparse_(self.w, 0.5)


class NumpyValues(nn.Module):
    def __init__(self):
        super().__init__()
        values = np.random.default_rng(0).standard_normal(8).astype(np.float32)
        self.w = nn.Parameter(torch.from_numpy(values))


class NeverInitialized(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(8))


#: case -> (module, its parameter's path, a word the message names the operation with or None)
UNREPRODUCIBLE = {
    "global-generator": (GlobalRandn, "1.scale", "randn"),
    "in-place-after-draw": (DrawThenScale, "1.w", "mul_"),
    "unsupported-op": (Sparse, "1.w", "sparse_"),
    "random-without-draw": (NumpyValues, "1.w", None),
    "never-initialized": (NeverInitialized, "1.w", None),
}


@pytest.mark.parametrize("case", sorted(UNREPRODUCIBLE))
def test_build_refuses_what_it_cannot_make_again_and_records_nothing(case, tmp_path):
    cls, param, op = UNREPRODUCIBLE[case]
    path = tmp_path / "l.db"
    returned = []
    with pytest.raises(UnreproducibleError) as info:
        returned.append(rt.build(lambda: nn.Sequential(nn.Linear(4, 4), cls()), seed=61, ledger=path))
    message = str(info.value)
    assert param in message and "0.weight" not in message, message
    if op is not None:
        assert op in message, message
    assert returned == [] and no_rows(path)
    assert isinstance(info.value, ValueError)


def _clamped_normal(m: nn.Module) -> None:
    with torch.no_grad():
        m.w.uniform_(-1, 1).erfinv_().mul_(math.sqrt(2.0)).clamp_(-0.5, 0.5)


class Holder(nn.Module):
    def __init__(self, make, init):
        super().__init__()
        self.w = nn.Parameter(make())
        init(self)


def test_timm_trunc_normal_at_default_bounds_is_a_truncated_normal_and_a_real_clamp_is_not():
    """timm's trunc_normal_(std=.02) keeps the default bounds ±2 (a hundred std): the uniform it
    draws spans [-1, 1] and clamp_ cuts nothing a float64 can hold. A clamp at half a std of
    a normal piles values up at the bounds: no truncated normal, refused."""
    from models.timm_init import trunc_normal_

    def make():
        return Holder(lambda: torch.empty(256, 64), lambda m: trunc_normal_(m.w, std=0.02))

    ours = rt.build(make, seed=66, record=False)
    torch.manual_seed(0)
    assert scheme_differences(snapshot(ours), snapshot(make())) == []
    assert float(ours.w.abs().max()) < 0.2
    with pytest.raises(UnreproducibleError, match=r"w: .*clamp_"):
        rt.build(lambda: Holder(lambda: torch.empty(64), _clamped_normal), seed=66, record=False)


def test_values_of_torch_randn_wholly_overwritten_by_a_draw_are_reproducible():
    """Older timm makes ``pos_embed`` with ``torch.randn(...) * .02`` and overwrites it whole in
    ``init_weights``: the last whole write counts. Overwriting only part of it leaves values
    from torch's generator: refused, naming it."""
    whole = rt.build(lambda: Holder(lambda: torch.randn(64, 64) * 0.02, lambda m: nn.init.normal_(m.w, std=0.5)),
                     seed=67, record=False)
    again = rt.build(lambda: Holder(lambda: torch.randn(64, 64) * 0.02, lambda m: nn.init.normal_(m.w, std=0.5)),
                     seed=67, record=False)
    assert torch.equal(whole.w, again.w) and abs(float(whole.w.std()) - 0.5) < 0.05
    with pytest.raises(UnreproducibleError, match=r"w: .*randn"):
        rt.build(lambda: Holder(lambda: torch.randn(64, 64) * 0.02, lambda m: nn.init.normal_(m.w[:32], std=0.5)),
                 seed=67, record=False)


def test_build_opt_out_names_the_accepted_values_or_still_names_the_parameter(tmp_path):
    """``on_unreproducible="warn"``: either refused as a bad value (naming the accepted ones),
    or a warning naming the parameter, and the reproducible rest recorded."""
    path = tmp_path / "l.db"
    factory = lambda: nn.Sequential(nn.Linear(4, 4), GlobalRandn())  # noqa: E731
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = rt.build(factory, seed=62, ledger=path, on_unreproducible="warn")
    except ArgumentValueError as e:
        assert "on_unreproducible" in str(e) and "'raise'" in str(e), str(e)
        assert no_rows(path)
        return
    assert any("1.scale" in str(w.message) for w in caught), [str(w.message) for w in caught]
    assert torch.equal(rt.replay("0.weight", ledger=path), model[0].weight.detach())


def _draw_then_scale(m: nn.Module) -> None:
    with torch.no_grad():
        m[0].weight.normal_()
        m[0].weight.mul_(2.0)


#: case -> (init callable, a word the message names the operation with or None)
UNREPRODUCIBLE_INIT = {
    "in-place-after-draw": (_draw_then_scale, "mul_"),
    "unsupported-op": (lambda m: nn.init.sparse_(m[0].weight, 0.5), "sparse_"),
    "global-generator": (lambda m: m[0].weight.data.copy_(torch.randn(4, 4)), "randn"),
    # Only the bias is initialized: the weight keeps random values nothing recorded.
    "random-without-draw": (lambda m: nn.init.zeros_(m[0].bias), None),
}


@pytest.mark.parametrize("case", sorted(UNREPRODUCIBLE_INIT))
def test_init_module_refuses_what_it_cannot_make_again_and_changes_nothing(case, tmp_path):
    init, op = UNREPRODUCIBLE_INIT[case]
    path = tmp_path / "l.db"
    model = nn.Sequential(nn.Linear(4, 4))
    before = snapshot(model)
    with pytest.raises(UnreproducibleError) as info:
        rt.init_module(model, init=init, seed=63, ledger=path)
    assert "0.weight" in str(info.value), str(info.value)
    if op is not None:
        assert op in str(info.value), str(info.value)
    assert no_rows(path)
    changed = [k for k, v in snapshot(model).items() if not torch.equal(before[k], v)]
    assert changed == [], f"refused, but the model's values changed: {changed}"


def test_init_module_with_an_init_that_skips_random_layers_refuses(tmp_path):
    """timm's constructor-time init (``needs_reset=False``) leaves the patch-embedding ``Conv2d``
    as torch's ``reset_parameters`` made it at construction, from torch's global generator."""
    path = tmp_path / "l.db"
    model = own_build("timm-vit", 3)
    before = snapshot(model)
    with pytest.raises(UnreproducibleError) as info:
        rt.init_module(model, init=lambda m: m.init_weights(needs_reset=False), seed=64, ledger=path)
    assert "patch_embed.proj.weight" in str(info.value), str(info.value)
    assert "blocks.0.attn.qkv.weight" not in str(info.value), str(info.value)
    assert all(torch.equal(before[k], v) for k, v in snapshot(model).items())
    assert no_rows(path)


def test_deterministic_buffer_recorded_exactly_or_refused_by_name(tmp_path):
    """nanoGPT without flash attention registers its causal mask, ``tril(ones)``, as a buffer:
    a state_dict entry that no init function writes."""
    path = tmp_path / "l.db"
    factory = lambda: nanogpt.GPT(gpt_config(slow_attention=True))  # noqa: E731
    try:
        model = rt.build(factory, seed=65, ledger=path)
    except UnreproducibleError as e:
        assert "transformer.h.0.attn.bias" in str(e), str(e)
        assert no_rows(path)
        return
    assert set(rt.initialization(model)) == set(model.state_dict())
    mask = model.transformer.h[0].attn.bias
    assert torch.equal(mask, torch.tril(torch.ones_like(mask)))
    torch.manual_seed(0)
    assert_same_scheme(model, factory())
    with torch.no_grad():
        mask.zero_()
    rt.restore_module(model, ledger=path)
    assert torch.equal(mask, torch.tril(torch.ones_like(mask)))


class RandomProjection(nn.Module):
    """Random features kept out of the state_dict (``persistent=False``), as some models keep a
    fixed random projection: the forward pass depends on them. ``inv_freq`` is deterministic."""

    def __init__(self, drawn: bool):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        proj = torch.empty(64, 4).normal_() if drawn else torch.randn(64, 4)
        self.register_buffer("proj", proj, persistent=False)
        self.register_buffer("inv_freq", 1.0 / 10000 ** (torch.arange(0, 4, 2).float() / 4), persistent=False)


@pytest.mark.parametrize("drawn, op", [(False, "randn"), (True, "normal_")])
def test_random_non_persistent_buffer_is_reproducible_or_refused(drawn, op, tmp_path):
    path = tmp_path / "l.db"
    try:
        a = rt.build(lambda: RandomProjection(drawn), seed=68, ledger=path)
    except UnreproducibleError as e:
        assert "proj" in str(e) and op in str(e) and "inv_freq" not in str(e), str(e)
        assert no_rows(path)
        return
    b = rt.build(lambda: RandomProjection(drawn), seed=68, record=False)
    assert torch.equal(a.proj, b.proj), "same seed, another model: the buffer's values are not reprovar's"
    assert 0.5 < float(a.proj.std()) < 2.0, "the buffer holds no N(0, 1) draw"


class PlainNoise(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.noise = torch.empty(64).normal_()  # a plain attribute: neither parameter nor buffer


def test_plain_tensor_attribute_drawn_into_is_refused_not_left_uninitialized(tmp_path):
    path = tmp_path / "l.db"
    try:
        model = rt.build(PlainNoise, seed=69, ledger=path)
    except UnreproducibleError as e:
        assert "noise" in str(e) and "normal_" in str(e), str(e)
        assert no_rows(path)
        return
    assert 0.5 < float(model.noise.std()) < 2.0, f"noise holds {model.noise[:3].tolist()}..."


class MomentumEncoder(nn.Module):
    """MoCo/BYOL/DINO-style: the key (teacher, EMA) encoder starts as a copy of the query one."""

    def __init__(self, how: str):
        super().__init__()
        self.q = nn.Linear(16, 16)
        if how == "deepcopy":
            self.k = copy.deepcopy(self.q)
        else:
            self.k = nn.Linear(16, 16)
            self.k.load_state_dict(self.q.state_dict())
        for p in self.k.parameters():
            p.requires_grad = False


@pytest.mark.parametrize("how", ["deepcopy", "load_state_dict"])
def test_a_copied_encoder_equals_its_source_or_is_refused(how, tmp_path):
    path = tmp_path / "l.db"
    try:
        model = rt.build(lambda: MomentumEncoder(how), seed=70, ledger=path)
    except UnreproducibleError as e:
        assert "k.weight" in str(e), str(e)
        assert no_rows(path)
        return
    assert torch.equal(model.k.weight, model.q.weight) and torch.equal(model.k.bias, model.q.bias), \
        "the model's code made k a copy of q; reprovar made it another draw"


def test_numpy_scalar_arguments_are_numbers():
    def make():
        return Holder(lambda: torch.empty(128, 64), lambda m: nn.init.normal_(m.w, std=np.float32(0.02)))

    model = rt.build(make, seed=71, record=False)
    torch.manual_seed(0)
    assert scheme_differences(snapshot(model), snapshot(make())) == []


def test_init_module_without_init_names_the_choices(tmp_path):
    model = nn.Linear(4, 4)
    before = snapshot(model)
    with pytest.raises(ArgumentValueError) as info:
        rt.init_module(model, seed=1, ledger=tmp_path / "l.db")
    message = str(info.value)
    assert "init" in message and "reset_parameters" in message and "build" in message, message
    assert all(torch.equal(before[k], v) for k, v in snapshot(model).items())
    assert no_rows(tmp_path / "l.db")


def test_init_module_reset_parameters_is_the_torch_defaults_table(tmp_path):
    model = nn.Sequential(nn.Linear(64, 64), nn.LayerNorm(64))
    rt.init_module(model, init="reset_parameters", seed=2, ledger=tmp_path / "l.db")
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Linear(64, 64), nn.LayerNorm(64))
    assert_same_scheme(model, ref)


# -- wrappers: torch.compile, DataParallel/DDP-style "module." ----------------------------------


def test_torch_compile_names_resolve_to_the_plain_module(tmp_path):
    path = tmp_path / "l.db"
    plain = rt.build(MODELS["nanogpt"][0], seed=71, record=False)
    compiled = rt.build(lambda: torch.compile(nanogpt.GPT(gpt_config())), seed=71, ledger=path)
    names = set(rt.initialization(compiled))
    assert names == set(plain.state_dict()), sorted(names)[:5]
    assert digest(compiled._orig_mod) == digest(plain)
    train_a_little("nanogpt", compiled._orig_mod)
    rt.restore_module(compiled, ledger=path)
    assert digest(compiled._orig_mod) == digest(plain)
    # The plain module restores from the same rows.
    other = own_build("nanogpt", 9)
    rt.restore_module(other, ledger=path)
    assert digest(other) == digest(plain)


def test_data_parallel_module_prefix_resolves_to_the_plain_module(tmp_path):
    path = tmp_path / "l.db"
    plain = own_build("nanogpt", 4)
    rt.init_module(plain, init=lambda m: m.apply(m._init_weights), seed=72, record=False)
    wrapped = nn.DataParallel(own_build("nanogpt", 5))
    init = rt.init_module(wrapped, init=lambda m: m.module.apply(m.module._init_weights), seed=72, ledger=path)
    assert set(init) == set(plain.state_dict())
    assert digest(wrapped.module) == digest(plain)
    rt.restore_module(wrapped, ledger=path)
    assert digest(wrapped.module) == digest(plain)


# -- parametrized weights: initialized and recorded, or refused clearly -----------------------


PARAMETRIZED = {
    "weight_norm": lambda: nn.Sequential(nn.utils.parametrizations.weight_norm(nn.Linear(16, 16))),
    "spectral_norm": lambda: nn.Sequential(nn.utils.parametrizations.spectral_norm(nn.Linear(16, 16))),
    "legacy-weight_norm": lambda: nn.Sequential(nn.utils.weight_norm(nn.Linear(16, 16))),
}


@pytest.mark.parametrize("kind", sorted(PARAMETRIZED))
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_parametrized_weights_recorded_or_refused_clearly(kind, tmp_path):
    path = tmp_path / "l.db"
    try:
        model = rt.build(PARAMETRIZED[kind], seed=81, ledger=path)
    except ReprovarError as e:
        assert "0." in str(e) and "weight" in str(e), str(e)
        assert no_rows(path)
        return
    initial = snapshot(model)
    assert set(rt.initialization(model)) == set(initial)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    rt.restore_module(model, ledger=path)
    assert all(torch.equal(initial[k], v) for k, v in snapshot(model).items())
