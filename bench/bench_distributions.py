"""Benchmark of the uniform and truncated-normal samplers against the alternatives, in one run.

Usage: python bench/bench_distributions.py [--size 1e8] [--repeat 3] [--rounds 3] [--markdown]

Measures values per second (float32, all threads) of:

- reprovar uniform on [0, 1) vs ``torch.Tensor.uniform_`` and numpy ``Generator.random``
  (float32, PCG64);
- reprovar truncated normal (Keras' +-2 sigma, and a far one-sided [2.5 sigma, 4 sigma])
  vs ``torch.nn.init.trunc_normal_`` and reprovar's own normal;

then prints the ratios the targets are stated in. Each measurement runs in a process of its
own (torch's spinning thread pool slows whatever runs after it in the same process), the
best of ``--repeat`` timings after a warm-up; the whole set is repeated ``--rounds`` times,
interleaved, and the best round of each is kept, which evens out a shared machine's noise.
torch is optional: without it its lines say so. With --markdown it prints the table for
docs/performance.md instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markdown import count, machine_line, rate, ratio, table  # noqa: E402

_MEASURE = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    case, n, repeat = sys.argv[1], int(float(sys.argv[2])), int(sys.argv[3])

    def best(fn):
        fn()
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
        return min(times)

    if case.startswith("torch"):
        import numba, torch
        torch.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        t = torch.empty(n, dtype=torch.float32)
        fn = {"torch-uniform": lambda: t.uniform_(0.0, 1.0),
              "torch-trunc_normal": lambda: torch.nn.init.trunc_normal_(t, 0.0, 1.0, -2.0, 2.0)}[case]
    elif case == "numpy-random":
        gen = np.random.Generator(np.random.PCG64(1))
        out = np.empty(n, np.float32)
        fn = lambda: gen.random(out=out, dtype=np.float32)
    else:
        from reprovar.algorithms import default_algorithm
        out = np.empty(n, np.float32)
        distribution, params = {
            "reprovar-uniform": ("uniform", dict(low=0.0, high=1.0)),
            "reprovar-normal": ("normal", dict(mean=0.0, scale=1.0)),
            "reprovar-truncated": ("truncated_normal", dict(mean=0.0, scale=1.0, low=-2.0, high=2.0)),
            "reprovar-truncated-far": ("truncated_normal", dict(mean=0.0, scale=1.0, low=2.5, high=4.0)),
        }[case]
        alg = default_algorithm(distribution)
        fn = lambda: alg.fill(out, 0, seed=1, **params)
    print(json.dumps(n / best(fn)))
    """
)

CASES = [
    "reprovar-uniform", "torch-uniform", "numpy-random",
    "reprovar-truncated", "reprovar-truncated-far", "torch-trunc_normal", "reprovar-normal",
]

#: (what, numerator, denominator, target): the ratios the issue states.
RATIOS = [
    ("uniform float32 vs torch uniform_", "reprovar-uniform", "torch-uniform", 3.0),
    ("uniform float32 vs numpy Generator.random", "reprovar-uniform", "numpy-random", 2.0),
    ("truncated normal (+-2 sigma) vs torch trunc_normal_", "reprovar-truncated", "torch-trunc_normal", 20.0),
    ("truncated normal (+-2 sigma) vs reprovar normal", "reprovar-truncated", "reprovar-normal", 0.7),
    ("truncated normal [2.5, 4] sigma vs torch trunc_normal_", "reprovar-truncated-far", "torch-trunc_normal", 20.0),
    ("truncated normal [2.5, 4] sigma vs reprovar normal", "reprovar-truncated-far", "reprovar-normal", 0.7),
]


def measure(case: str, size: float, repeat: int) -> float | None:
    proc = subprocess.run([sys.executable, "-c", _MEASURE, case, str(size), str(repeat)],
                          capture_output=True, text=True, env=os.environ)
    if proc.returncode != 0:
        if "No module named 'torch'" in proc.stderr:
            return None
        raise RuntimeError(f"{case} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: What each case is called on the performance page.
LABELS = {
    "reprovar-uniform": "reprovar uniform [0, 1)", "torch-uniform": "`torch.Tensor.uniform_`",
    "numpy-random": "numpy `Generator.random` float32",
    "reprovar-truncated": "reprovar truncated normal ±2σ",
    "reprovar-truncated-far": "reprovar truncated normal [2.5σ, 4σ]",
    "torch-trunc_normal": "`torch.nn.init.trunc_normal_` (±2σ)", "reprovar-normal": "reprovar normal",
}


def markdown_table(best: dict[str, float | None]) -> str:
    """One row per ratio: both sides' M values/s, measured in this run, and the ratio."""
    rows = [[LABELS[num], rate(best[num] and best[num] / 1e6), LABELS[den],
             rate(best[den] and best[den] / 1e6, 1), ratio(best[num], best[den])]
            for _, num, den, _ in RATIOS]
    return table(["reprovar", "M values/s", "alternative", "M values/s", "ratio"], rows, right={1, 3, 4})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=1e8, help="values per measurement (default 1e8)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per process, best kept (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, best kept (default 3)")
    parser.add_argument("--markdown", action="store_true", help="print the table for docs/performance.md")
    args = parser.parse_args()
    import numba

    print(f"float32, {int(args.size)} values, {numba.config.NUMBA_NUM_THREADS} threads, "
          f"best of {args.repeat} timings x {args.rounds} rounds")
    best: dict[str, float | None] = {}
    for _ in range(args.rounds):
        for case in CASES:
            rate = measure(case, args.size, args.repeat)
            best[case] = None if rate is None else max(rate, best.get(case) or 0.0)
    if args.markdown:
        print(markdown_table(best))
        print()
        print(f"M values/s, float32, {count(args.size)} values per measurement, best of {args.repeat} "
              f"timings x {args.rounds} rounds, each in its own process.")
        print(machine_line(numba.config.NUMBA_NUM_THREADS))
        return
    for case in CASES:
        rate = best[case]
        print(f"  {case:24s} " + ("not installed" if rate is None else f"{rate / 1e6:9.1f} M/s"))
    print("ratios (target):")
    for what, num, den, target in RATIOS:
        if best[num] is None or best[den] is None:
            print(f"  {what}: n/a (not installed)")
            continue
        ratio = best[num] / best[den]
        verdict = "meets" if ratio >= target else "MISSES"
        print(f"  {what}: {ratio:.2f}x ({verdict} >= {target}x)")


if __name__ == "__main__":
    main()
