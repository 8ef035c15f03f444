"""Figures for ``reprovar report``: time to write the report of a 1,000-variable ledger.

    python bench/bench_report.py                  # 1,000 variables, verified, on a temporary SQLite ledger
    python bench/bench_report.py --variables 200 --no-verify

The ledger looks like a model's: per layer a kernel, a bias and a few small variables, in
the four dtypes, shapes from (64,) to (2048, 2048) (4.2 * 10^6 elements, summarized from
its first 10^6). Printed: the report's time end to end through the CLI (process start, extra
imports, verification, histograms, writing), the library call alone, the cost per variable,
the CLI process' CPU time (the honest figure on a shared machine: wall time counts waiting
for other processes), the file's size, and the ratio to the 30 s target for 1,000 variables.

A measuring script, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import reprovar

_CLI = [sys.executable, "-c", "from reprovar.cli import main; main()"]
#: (shape, share of the variables): most are small, a few are large.
_SHAPES = [((64,), 0.25), ((256,), 0.2), ((3, 3, 64, 64), 0.2), ((784, 256), 0.2),
           ((1024, 1024), 0.1), ((2048, 2048), 0.05)]
_DTYPES = ("float32", "float32", "float64", "float16", "bfloat16")


def make_ledger(path: str, n: int) -> int:
    """``n`` recorded variables with the shape mix above; returns their total elements."""
    led = reprovar.Ledger(path)
    shapes = [shape for shape, share in _SHAPES for _ in range(round(share * n))]
    shapes = (shapes + [(64,)] * n)[:n]
    elements = 0
    for i, shape in enumerate(shapes):
        v = reprovar.random_normal_variable(shape, 0.0, 0.02 + (i % 7) * 0.01, dtype=_DTYPES[i % len(_DTYPES)],
                                            name=f"layer_{i // 4}/var_{i % 4}", seed=1000 + i, ledger=led)
        elements += v.numpy().size
    return elements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variables", type=int, default=1000)
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args()
    verify = ["--no-verify"] if args.no_verify else []

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.db")
        start = time.perf_counter()
        elements = make_ledger(path, args.variables)
        print(f"ledger: {args.variables} variables, {elements / 1e6:.1f} M elements, made in "
              f"{time.perf_counter() - start:.1f} s")

        out = os.path.join(d, "report.html")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([*_CLI, "report", "--ledger", path, "-o", out, *verify], check=True)
        cli = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        size = os.path.getsize(out)

        from reprovar.audit.report import write_report

        led = reprovar.Ledger(path)
        start = time.perf_counter()
        summary = write_report(led, os.path.join(d, "again.html"), verify=not args.no_verify)
        lib = time.perf_counter() - start
        print(f"report, CLI end to end:  {cli:6.2f} s ({cli / args.variables * 1e3:.1f} ms per variable); "
              f"CPU time {cpu:.2f} s (on a busy machine wall time overstates the cost; CPU time does not)")
        print(f"report, library call:    {lib:6.2f} s ({lib / args.variables * 1e3:.1f} ms per variable); {summary.line()}")
        print(f"file: {size / 1e6:.1f} MB ({size / args.variables / 1e3:.1f} kB per variable)")
        for what, seconds in (("wall", cli), ("CPU", cpu)):
            per_1000 = seconds / args.variables * 1000
            print(f"CLI {what} time for 1,000 variables vs the 30 s target: {per_1000:.1f} s = {per_1000 / 30:.2f}x")


if __name__ == "__main__":
    main()
