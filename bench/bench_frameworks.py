"""Framework adapters benchmark: reprovar.torch and reprovar.keras against the frameworks' own init.

Usage: python bench/bench_frameworks.py [--params 1e8] [--repeat 3] [--small 1000]

* ``init_module`` on a stack of ``Linear(2048, 2048)`` layers (~``--params`` parameters),
  recording every parameter with its digest in a SQLite ledger, against PyTorch's own
  ``reset_parameters`` on the same model (which records nothing);
* ``reprovar.keras.initialize`` (recording too) against assigning Keras' own
  ``GlorotUniform`` and ``HeNormal`` values to the same weights (torch backend);
* the recording cost per parameter of ``init_module`` on a model of ``--small`` small
  parameters: (time with recording - time without) / parameters.

Each section runs in its own process (torch's thread pools slow down what runs after them).
Prints times and ratios; nothing is asserted.
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

WIDTH = 2048


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up: compile/load, fault in pages
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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
    t_ours = best_time(lambda: rt.init_module(model, seed=1, ledger=led), args.repeat)
    t_norec = best_time(lambda: rt.init_module(model, seed=1, record=False), args.repeat)
    return {"params": n, "threads": torch.get_num_threads(), "torch": t_torch, "reprovar": t_ours, "reprovar_norecord": t_norec}


def small_section(args) -> dict:
    from torch import nn

    import reprovar
    import reprovar.torch as rt

    model = nn.Sequential(*[nn.Linear(8, 8) for _ in range(args.small // 2)])  # weight + bias each
    n = len(list(model.parameters()))
    led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "small.db"))
    t_rec = best_time(lambda: rt.init_module(model, seed=1, ledger=led), args.repeat)
    t_norec = best_time(lambda: rt.init_module(model, seed=1, record=False), args.repeat)
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


SECTIONS = {"torch": torch_section, "small": small_section, "keras": keras_section}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=float, default=1e8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--section", choices=sorted(SECTIONS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.section:
        print(json.dumps(SECTIONS[args.section](args)))
        return
    results = {}
    for name in ("torch", "keras", "small"):
        cmd = [sys.executable, __file__, "--section", name, "--params", str(args.params),
               "--repeat", str(args.repeat), "--small", str(args.small)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{name}: failed\n{done.stderr[-2000:]}")
            continue
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])

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


if __name__ == "__main__":
    main()
