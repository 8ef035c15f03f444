"""``examples/train_torch.py`` runs: it initializes, trains, and restores the initial state from the ledger."""

from __future__ import annotations

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_train_torch_example_then_cli_replay(tmp_path, monkeypatch):
    monkeypatch.delenv("REPROVAR_LEDGER")
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "train_torch.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "initial state identical" in out.stdout and "training accuracy" in out.stdout
    out = subprocess.run([sys.executable, "-m", "reprovar", "replay", "encoder.layers.0.linear1.weight"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert re.search(r"^verified:\s+yes\b", out.stdout, re.M), out.stdout
    assert re.search(r"^shape:\s+\(64, 32\)$", out.stdout, re.M), out.stdout
