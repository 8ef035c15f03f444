"""A small "training script": it creates its model's variables, each recorded in the ledger.

Run it, then make any variable again from the ledger and check it bit for bit:

    python examples/train.py
    reprovar replay dense_1/kernel

Variables go to ``reprovar.db`` in the working directory (or ``$REPROVAR_LEDGER``). Some are
created with ``seed=None``: reprovar draws a fresh seed and records it, so even those can be
replayed exactly.
"""

from __future__ import annotations

import math

import numpy as np

import reprovar


def dense_layer(name: str, fan_in: int, fan_out: int, seed: int | None) -> tuple:
    """A He-initialised kernel and a small random bias for one dense layer."""
    kernel = reprovar.random_normal_variable(
        (fan_in, fan_out), mean=0.0, scale=math.sqrt(2.0 / fan_in), name=f"{name}/kernel", seed=seed
    )
    bias = reprovar.random_normal_variable(
        (fan_out,), mean=0.0, scale=0.01, name=f"{name}/bias", seed=None
    )
    return kernel, bias


def main() -> None:
    layers = [
        dense_layer("dense_1", 784, 256, seed=None),
        dense_layer("dense_2", 256, 64, seed=2024),
        dense_layer("logits", 64, 10, seed=None),
    ]
    embedding = reprovar.random_normal_variable(
        (1000, 32), 0.0, 0.05, dtype="bfloat16", name="embedding", seed=7
    )
    x = np.random.default_rng(0).standard_normal((16, 784), dtype=np.float32)
    for kernel, bias in layers:
        x = np.maximum(x @ kernel.numpy() + bias.numpy(), 0.0)

    ledger = reprovar.current_ledger()
    print(f"recorded in {ledger.location}:")
    for kernel, bias in layers:
        for v in (kernel, bias):
            r = v.record
            print(f"  {r.name:<16} v{r.version}  shape={r.shape}  seed={r.seed}")
    print(f"  {embedding.name:<16} v{embedding.record.version}  shape={embedding.shape}  dtype=bfloat16")
    print(f"forward pass output: {x.shape}, mean {float(x.mean()):.4f}")
    print("replay one:  reprovar replay dense_1/kernel")


if __name__ == "__main__":
    main()
