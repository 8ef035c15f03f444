"""A tiny PyTorch training run whose initial state can always be brought back from the ledger.

    python examples/train_torch.py
    reprovar replay encoder.layers.0.linear1.weight

It builds a small Transformer encoder classifier with ``reprovar.torch.build``, which follows
the model's own init code (here PyTorch's layer defaults) and makes every value with
reprovar (each one recorded under its own name, with a seed derived from the model seed and
that name), trains it for a few steps on synthetic data, then
restores the initial state from the ledger and checks it bit for bit. Variables go to
``reprovar.db`` in the working directory (or ``$REPROVAR_LEDGER``).
"""

from __future__ import annotations

import torch
from torch import nn

import reprovar
import reprovar.torch as rt

MODEL_SEED = 2024


class Classifier(nn.Module):
    def __init__(self, vocab: int = 50, d_model: int = 32, classes: int = 3):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model, padding_idx=0)
        layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1))


def synthetic_data(n: int = 256, length: int = 12, vocab: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """Token sequences whose class is which third of the vocabulary their tokens mostly come from."""
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (n,), generator=g)
    low = 1 + labels * (vocab - 1) // 3
    tokens = low[:, None] + torch.randint(0, (vocab - 1) // 3, (n, length), generator=g)
    return tokens, labels


def main() -> None:
    torch.manual_seed(0)  # only the data order and dropout-free training below use torch's RNG
    model = rt.build(Classifier, seed=MODEL_SEED)
    records = rt.initialization(model)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    ledger = reprovar.current_ledger()
    print(f"initialized {len(records)} parameters and buffers (model seed {records.seed}), recorded in {ledger.location}")
    for name in list(records)[:3]:
        r = records[name]
        print(f"  {name:<44} v{r.version}  {r.distribution:<8} shape={r.shape}")

    tokens, labels = synthetic_data()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(30):
        batch = torch.randint(0, len(tokens), (32,))
        loss = nn.functional.cross_entropy(model(tokens[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 9:
            print(f"step {step + 1:>3}  loss {loss.item():.4f}")
    accuracy = (model(tokens).argmax(dim=1) == labels).float().mean().item()
    print(f"training accuracy {accuracy:.2f}")

    changed = sum(not torch.equal(initial[k], v) for k, v in model.state_dict().items())
    rt.restore_module(model)
    same = all(torch.equal(initial[k], v) for k, v in model.state_dict().items())
    print(f"{changed} tensors changed in training; restored from the ledger: initial state {'identical' if same else 'DIFFERENT'}")
    if not same:
        raise SystemExit(1)
    print("replay one:  reprovar replay encoder.layers.0.linear1.weight")


if __name__ == "__main__":
    main()
