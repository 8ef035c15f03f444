"""Framework adapters benchmark: reprovar.torch and reprovar.keras against the frameworks' own init.

Usage: python bench/bench_frameworks.py [--params 1e8] [--repeat 3] [--small 1000]
                                        [--hf-size full|tiny] [--markdown]

* ``init_module(init="reset_parameters")`` on a stack of ``Linear(2048, 2048)`` layers
  (~``--params`` parameters), recording every parameter with its digest in a SQLite ledger,
  against PyTorch's own ``reset_parameters`` on the same model (which records nothing);
* ``reprovar.keras.initialize`` (recording too) against assigning Keras' own
  ``GlorotUniform`` and ``HeNormal`` values to the same weights (torch backend);
* the recording cost per parameter of ``init_module`` on a model of ``--small`` small
  parameters: (time with recording - time without) / parameters;
* ``build`` of transformers' GPT-2 small (124 M parameters) and BERT-base configs, every
  state_dict entry recorded in a SQLite ledger, against plain construction
  (``GPT2LMHeadModel(config)``: transformers' own init, nothing recorded), and each one's
  peak resident memory (one process per measurement);
* ``init_module(init=lambda m: m.init_weights())`` on BERT-base right after a torch forward
  and backward pass, against back to back (the thread pools of torch and of reprovar's
  kernels must not spin against each other).

``--hf-size tiny`` shrinks the transformers configs (2 layers, width 128) for a quick try;
the figures need ``full``. Each section runs in its own process (torch's thread pools slow
down what runs after them). Prints times and the ratios measured in this run (``--markdown``:
one table, for the docs' performance page); nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markdown import best_time  # noqa: E402

WIDTH = 2048


def layers_for(params: float) -> int:
    return max(1, round(params / (WIDTH * WIDTH + WIDTH)))


def torch_section(args) -> dict:
    import torch
    from torch import nn

    import reprovar
    import reprovar.torch as rt

    model = nn.Sequential(*[nn.Linear(WIDTH, WIDTH) for _ in range(layers_for(args.params))])
    n = sum(p.numel() for p in model.parameters())

    def torch_reset():
        for m in model:
            m.reset_parameters()

    led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "bench.db"))
    t_torch = best_time(torch_reset, args.repeat)
    t_ours = best_time(lambda: rt.init_module(model, init="reset_parameters", seed=1, ledger=led), args.repeat)
    t_norec = best_time(lambda: rt.init_module(model, init="reset_parameters", seed=1, record=False), args.repeat)
    return {"params": n, "threads": torch.get_num_threads(), "torch": t_torch, "reprovar": t_ours, "reprovar_norecord": t_norec}


def small_section(args) -> dict:
    from torch import nn

    import reprovar
    import reprovar.torch as rt

    model = nn.Sequential(*[nn.Linear(8, 8) for _ in range(args.small // 2)])  # weight + bias each
    n = len(list(model.parameters()))
    led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "small.db"))
    t_rec = best_time(lambda: rt.init_module(model, init="reset_parameters", seed=1, ledger=led), args.repeat)
    t_norec = best_time(lambda: rt.init_module(model, init="reset_parameters", seed=1, record=False), args.repeat)
    return {"params": n, "record": t_rec, "norecord": t_norec}


def keras_section(args) -> dict:
    os.environ["KERAS_BACKEND"] = "torch"
    import keras

    import reprovar
    import reprovar.keras as rk

    out = {}
    for initializer in ("glorot_uniform", "he_normal"):
        model = keras.Sequential(
            [keras.Input((WIDTH,))] + [keras.layers.Dense(WIDTH, kernel_initializer=initializer, name=f"d{i}") for i in range(layers_for(args.params))],
            name=initializer,
        )
        kernels = [layer.kernel for layer in model.layers]
        own = keras.initializers.get(initializer)

        def keras_init():
            for v in kernels:
                v.assign(own(tuple(v.shape)))

        led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "keras.db"))
        out[initializer] = {
            "params": sum(math.prod(v.shape) for v in kernels),
            "keras": best_time(keras_init, args.repeat),
            "reprovar": best_time(lambda: rk.initialize(model, seed=1, ledger=led), args.repeat),
        }
    return out


def hf_factory(model: str, size: str):
    """A transformers model class and config: GPT-2 small / BERT-base (``full``) or 2 layers of width 128."""
    import transformers

    tiny = dict(n_layer=2, n_embd=128, n_head=2) if model == "gpt2" else \
        dict(num_hidden_layers=2, hidden_size=128, num_attention_heads=2, intermediate_size=512)
    extra = tiny if size == "tiny" else {}
    if model == "gpt2":
        return lambda: transformers.GPT2LMHeadModel(transformers.GPT2Config(**extra))
    return lambda: transformers.BertModel(transformers.BertConfig(**extra))


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def build_section(args) -> dict:
    """One process per (model, way): the best time of ``--repeat`` and the process's peak memory."""
    import torch
    import transformers

    import reprovar
    import reprovar.torch as rt

    transformers.logging.set_verbosity_error()
    model, how = args.case.split(":")
    factory = hf_factory(model, args.hf_size)
    # Both ways load the same modules and kernels first, so that the memory they add is the model's.
    rt.build(lambda: torch.nn.Linear(8, 8), seed=0, record=False)
    hf_factory(model, "tiny")()  # imports the model's modules
    base_mb = rss_mb()
    if how == "plain":
        run = factory
    else:
        path = os.path.join(tempfile.mkdtemp(), "build.db")
        led = reprovar.Ledger(path)
        run = lambda: rt.build(factory, seed=1, ledger=led)  # noqa: E731
    built = run()  # the memory one build adds, at its peak: measured before repeated builds fragment the heap
    added_mb = peak_rss_mb() - base_mb
    n = sum(p.numel() for p in built.parameters())
    del built
    t = best_time(run, args.repeat)
    return {"params": n, "seconds": t, "rss_mb": added_mb, "threads": torch.get_num_threads(), "size": args.hf_size}


def after_torch_section(args) -> dict:
    """``init_module`` right after a forward/backward pass of the same model, and back to back."""
    import torch
    import transformers

    import reprovar
    import reprovar.torch as rt

    transformers.logging.set_verbosity_error()
    model = hf_factory("bert", args.hf_size)()
    ids = torch.randint(0, model.config.vocab_size, (2, 64), generator=torch.Generator().manual_seed(0))
    led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "after.db"))

    def init():
        rt.init_module(model, init=lambda m: m.init_weights(), seed=1, ledger=led)

    def torch_work():
        model.zero_grad()
        model(input_ids=ids).last_hidden_state.square().mean().backward()

    init()
    torch_work()
    back_to_back = best_time(init, args.repeat)
    after = []
    for _ in range(args.repeat):
        torch_work()
        t0 = time.perf_counter()
        init()
        after.append(time.perf_counter() - t0)
    return {"params": sum(p.numel() for p in model.parameters()), "back_to_back": back_to_back, "after_torch": min(after)}


SECTIONS = {
    "torch": torch_section,
    "small": small_section,
    "keras": keras_section,
    "build": build_section,
    "after_torch": after_torch_section,
}
BUILD_CASES = ("gpt2:plain", "gpt2:build", "bert:plain", "bert:build")


def run_section(name: str, args, case: str = "") -> dict | None:
    cmd = [sys.executable, __file__, "--section", name, "--params", str(args.params), "--repeat", str(args.repeat),
           "--small", str(args.small), "--hf-size", args.hf_size, "--case", case]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"{name} {case}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def model_labels(results: dict) -> list[tuple[str, str]]:
    tiny = any(r.get("size") == "tiny" for r in results.values() if isinstance(r, dict))
    return [("gpt2", "GPT-2 (2 layers, width 128)" if tiny else "GPT-2 small"),
            ("bert", "BERT (2 layers, width 128)" if tiny else "BERT-base")]


def rows(results: dict) -> list[tuple[str, str, str, float, str]]:
    """(what, reprovar, baseline, ratio of times reprovar / baseline, target) for the table."""
    out = []
    if "torch" in results:
        r = results["torch"]
        out.append((f"init_module(init=\"reset_parameters\"), {r['params'] / 1e6:.0f} M Linear parameters, recorded",
                    f"{r['reprovar']:.3f} s", f"torch reset_parameters {r['torch']:.3f} s", r["reprovar"] / r["torch"], "<= 0.5x"))
    for initializer, r in results.get("keras", {}).items():
        out.append((f"keras initialize, {initializer}, {r['params'] / 1e6:.0f} M kernel parameters, recorded",
                    f"{r['reprovar']:.3f} s", f"Keras' own {r['keras']:.3f} s", r["reprovar"] / r["keras"], "<= 0.2x"))
    for model, label in model_labels(results):
        plain, built = results.get(f"build {model}:plain"), results.get(f"build {model}:build")
        if plain and built:
            out.append((f"build of {label} ({built['params'] / 1e6:.0f} M parameters), every entry recorded",
                        f"{built['seconds']:.3f} s", f"{model.upper()} plain construction {plain['seconds']:.3f} s",
                        built["seconds"] / plain["seconds"], "<= 1.0x"))
            out.append(("peak memory it adds to the process", f"{built['rss_mb']:.0f} MB", f"plain {plain['rss_mb']:.0f} MB",
                        built["rss_mb"] / plain["rss_mb"], "no second copy"))
    if "after_torch" in results:
        r = results["after_torch"]
        out.append((f"init_module(init_weights) of BERT ({r['params'] / 1e6:.0f} M) right after forward/backward",
                    f"{r['after_torch']:.3f} s", f"back to back {r['back_to_back']:.3f} s",
                    r["after_torch"] / r["back_to_back"], "<= 1.2x"))
    return out


def print_markdown(results: dict) -> None:
    import platform

    print(f"Measured on {platform.machine()} with {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          "ratios are of times (or memory) measured in the same run.\n")
    print("| measurement | reprovar | baseline | ratio | target |")
    print("|---|---|---|---|---|")
    for what, ours, base, ratio, target in rows(results):
        print(f"| {what} | {ours} | {base} | {ratio:.2f}x | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=float, default=1e8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--hf-size", choices=("full", "tiny"), default="full",
                        help="transformers configs: GPT-2 small and BERT-base, or 2 layers of width 128")
    parser.add_argument("--markdown", action="store_true", help="print one Markdown table of the ratios")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="run only these sections")
    parser.add_argument("--section", choices=sorted(SECTIONS), help=argparse.SUPPRESS)
    parser.add_argument("--case", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.section:
        print(json.dumps(SECTIONS[args.section](args)))
        return
    results = {}
    for name in args.only or ("torch", "keras", "small", "build", "after_torch"):
        for case in BUILD_CASES if name == "build" else ("",):
            r = run_section(name, args, case)
            if r is not None:
                results[f"{name} {case}" if case else name] = r
    if args.markdown:
        print_markdown(results)
        return

    if "torch" in results:
        r = results["torch"]
        print(f"torch: {r['params'] / 1e6:.1f}M parameters in Linear({WIDTH}, {WIDTH}) layers, {r['threads']} threads")
        print(f"  torch reset_parameters (records nothing): {r['torch']:.3f} s  {r['params'] / r['torch'] / 1e6:.0f} M/s")
        print(f"  reprovar init_module, recorded + digests: {r['reprovar']:.3f} s  {r['params'] / r['reprovar'] / 1e6:.0f} M/s")
        print(f"  reprovar init_module, record=False:       {r['reprovar_norecord']:.3f} s")
        print(f"  ratio init_module / torch speed: {r['torch'] / r['reprovar']:.2f}x (target >= 2x)")
    if "keras" in results:
        for initializer, r in results["keras"].items():
            print(f"keras {initializer}: {r['params'] / 1e6:.1f}M kernel parameters, torch backend")
            print(f"  Keras' own initializer, assigned: {r['keras']:.3f} s  {r['params'] / r['keras'] / 1e6:.0f} M/s")
            print(f"  reprovar initialize, recorded:    {r['reprovar']:.3f} s  {r['params'] / r['reprovar'] / 1e6:.0f} M/s")
            print(f"  ratio initialize / Keras speed: {r['keras'] / r['reprovar']:.2f}x (target >= 5x)")
    if "small" in results:
        r = results["small"]
        per = (r["record"] - r["norecord"]) / r["params"] * 1e6
        print(f"recording in init_module: {r['params']} small parameters on SQLite")
        print(f"  with recording {r['record'] * 1e3:.1f} ms, without {r['norecord'] * 1e3:.1f} ms")
        print(f"  recording cost per parameter: {per:.1f} us (target <= 30 us)")
    for model, label in model_labels(results):
        plain, built = results.get(f"build {model}:plain"), results.get(f"build {model}:build")
        if plain and built:
            print(f"build {label}: {built['params'] / 1e6:.1f}M parameters, {built['threads']} threads")
            print(f"  plain construction (transformers' init, records nothing): {plain['seconds']:.3f} s, adds {plain['rss_mb']:.0f} MB at peak")
            print(f"  reprovar build, every entry recorded:                      {built['seconds']:.3f} s, adds {built['rss_mb']:.0f} MB at peak")
            print(f"  ratio build / plain time: {built['seconds'] / plain['seconds']:.2f}x (target <= 1.0x); "
                  f"peak memory {built['rss_mb'] / plain['rss_mb']:.2f}x")
    if "after_torch" in results:
        r = results["after_torch"]
        print(f"init_module(init_weights) on BERT, {r['params'] / 1e6:.1f}M parameters")
        print(f"  back to back: {r['back_to_back']:.3f} s; right after a forward/backward pass: {r['after_torch']:.3f} s")
        print(f"  ratio after torch / back to back: {r['after_torch'] / r['back_to_back']:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
