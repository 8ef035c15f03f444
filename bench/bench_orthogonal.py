"""Orthogonal initialization benchmark: reprovar's ``orthogonal_`` against ``torch.nn.init.orthogonal_``.

Usage: python bench/bench_orthogonal.py [--sizes 256,1024,4096] [--repeat 3] [--threads N] [--markdown]

For each square float32 size n: the best of ``--repeat`` times (one at n >= 4096) of

* ``reprovar.torch.orthogonal_(w, record=False)``: reprovar's normal matrix and Householder QR
  (the same bits on every machine), and
* ``torch.nn.init.orthogonal_(w)``: torch's normal draw and LAPACK QR,

both on ``--threads`` threads (default: all cores), each side in a process of its own (the
thread pools of one would slow the other down), and their ratio, measured in this run; also
``max |Q^T Q - I| / (n eps)`` of reprovar's matrix, the orthogonality at sizes the test suite
leaves out. Nothing is recorded and nothing is asserted. With ``--markdown`` it prints the
same figures as a table for docs/performance.md, and the line naming the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markdown import best_time, machine_line, table  # noqa: E402


def measure(side: str, n: int, repeat: int, threads: int) -> dict:
    """Time one side at size n in this process: {"seconds": ..., "error": ...}. The torch side
    imports neither reprovar nor Numba (two OpenMP runtimes in one process slow torch down),
    and torch is imported before numpy: the other way round, torch's QR ran 2-150x slower on
    the machine of the figures (numpy's BLAS loaded first)."""
    import torch  # first: see above

    import numpy as np

    torch.set_num_threads(threads)
    w = torch.empty(n, n)
    if side == "torch":
        return {"seconds": best_time(lambda: torch.nn.init.orthogonal_(w), repeat), "error": None}
    import numba

    import reprovar.torch as rt

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    seconds = best_time(lambda: rt.orthogonal_(w, seed=1, record=False), repeat)
    q = w.numpy().astype(np.float64)
    error = float(np.abs(q.T @ q - np.eye(n)).max()) / (n * float(np.finfo(np.float32).eps))
    return {"seconds": seconds, "error": error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,1024,4096")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--markdown", action="store_true", help="print the table for docs/performance.md")
    parser.add_argument("--side", help=argparse.SUPPRESS)  # internal: one measurement, as JSON
    args = parser.parse_args()
    if args.side:
        n = int(args.sizes)
        print(json.dumps(measure(args.side, n, 1 if n >= 4096 else args.repeat, args.threads)))
        return
    from importlib.metadata import version  # not torch itself: the children must start clean

    results = []
    if not args.markdown:
        print(f"threads: {args.threads}; torch {version('torch')}, {os.cpu_count()} cores")
        print(f"{'n':>6} {'reprovar s':>11} {'torch s':>9} {'ratio':>6} {'|QtQ-I|/(n eps)':>16}")
    for n in (int(s) for s in args.sizes.split(",")):
        got = {}
        for side in ("reprovar", "torch"):
            cmd = [sys.executable, __file__, "--side", side, "--sizes", str(n), "--repeat", str(args.repeat),
                   "--threads", str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            got[side] = json.loads(out.strip().splitlines()[-1])
        ours, theirs, error = got["reprovar"]["seconds"], got["torch"]["seconds"], got["reprovar"]["error"]
        results.append((n, ours, theirs, error))
        if not args.markdown:
            print(f"{n:>6} {ours:>11.4f} {theirs:>9.4f} {ours / theirs:>6.2f} {error:>16.4f}", flush=True)
    if args.markdown:
        rows = [[f"{n} x {n}", f"{ours * 1e3:.1f}", f"{theirs * 1e3:.1f}", f"{ours / theirs:.2f}x", f"{error:.3f}"]
                for n, ours, theirs, error in results]
        print(table(["float32 matrix", "reprovar ms", "torch ms", "ratio", "max abs(QᵀQ - I) / (n eps)"], rows,
                    right={1, 2, 3, 4}))
        print()
        print(f"reprovar.torch.orthogonal_ (record=False) against torch.nn.init.orthogonal_ (torch "
              f"{version('torch')}, LAPACK QR), best of {args.repeat} (one at n >= 4096), each side in "
              "its own process, measured in the same run.")
        print(machine_line(args.threads))

if __name__ == "__main__":
    main()
