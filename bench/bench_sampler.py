"""Sampler benchmark: reprovar against numpy (PCG64), torch and TensorFlow, measured in one run.

Usage: python bench/bench_sampler.py [--sizes 1e7 1e8] [--repeat 3] [--quick] [--markdown]

Prints samples per second and ratios, thread scaling, half-precision speed, the latency of
a (2, 3) variable, a fresh process's import + first variable (cold and warm Numba cache),
and peak memory against the output size. Alternatives that are not installed are reported
as such. Recording is switched off here: bench/bench_ledger.py measures the ledger.
With --markdown it prints only the throughput table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter

import numba  # noqa: E402
import numpy as np  # noqa: E402

import reprovar  # noqa: E402
from reprovar.algorithms import DEFAULT_ALGORITHM  # noqa: E402
from reprovar.validation import resolve_dtype  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markdown import best_time, count, cpu_model, machine_line, rate, table  # noqa: E402



def reprovar_filler(n: int, dtype: str):
    dt = resolve_dtype(dtype)
    out = np.empty(n, dt)
    return lambda: DEFAULT_ALGORITHM.fill(out, 0, seed=1, mean=0.0, scale=1.0)


def numpy_filler(n: int, dtype: str):
    gen = np.random.Generator(np.random.PCG64(1))
    out = np.empty(n, dtype)
    return lambda: gen.standard_normal(out=out, dtype=out.dtype)


def torch_filler(n: int, dtype: str):
    import torch

    torch.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    out = torch.empty(n, dtype=getattr(torch, dtype))
    return lambda: torch.randn(n, dtype=out.dtype, out=out)


def tensorflow_filler(n: int, dtype: str):
    import tensorflow as tf

    gen = tf.random.Generator.from_seed(1)
    return lambda: gen.normal((n,), dtype=getattr(tf, dtype)).numpy()


FILLERS = {
    "reprovar": reprovar_filler,
    "numpy PCG64": numpy_filler,
    "torch.randn": torch_filler,
    "tensorflow": tensorflow_filler,
}
ALTERNATIVES = [name for name in FILLERS if name != "reprovar"]


def measure_in_fresh_process(library: str, n: int, dtype: str, repeat: int) -> float | None:
    """M samples/s of ``library``, alone in a new process: torch's and TensorFlow's thread
    pools keep spinning after a call and would slow whatever is measured next in the same
    process. None when the library is not installed."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", library, dtype, str(n), str(repeat)],
        capture_output=True, text=True, check=True,
    )
    value = out.stdout.strip().splitlines()[-1]
    return None if value == "n/a" else float(value)


def worker(library: str, dtype: str, n: int, repeat: int) -> None:
    try:
        fill = FILLERS[library](n, dtype)
    except ImportError:
        print("n/a")
        return
    print(n / best_time(fill, repeat) / 1e6)


def throughput(sizes, repeat):
    print("\n## Throughput (M samples/s, best of %d; all threads; each library in its own process)" % repeat)
    print(f"{'dtype':<8} {'n':>6} {'reprovar':>9} " + " ".join(f"{k:>12}" for k in ALTERNATIVES) + "   ratios")
    for dtype in ("float32", "float64"):
        for n in sizes:
            rate = {name: measure_in_fresh_process(name, n, dtype, repeat) for name in FILLERS}
            cells = " ".join(f"{rate[k]:12.0f}" if rate[k] else f"{'n/a':>12}" for k in ALTERNATIVES)
            ratios = ", ".join(f"{rate['reprovar'] / rate[k]:.2f}x {k}" for k in ALTERNATIVES if rate[k])
            print(f"{dtype:<8} {n:>6.0e} {rate['reprovar']:9.0f} {cells}   {ratios}")


def half_precision(n, repeat):
    print("\n## Half precision (reprovar, M samples/s)")
    f32 = n / best_time(reprovar_filler(n, "float32"), repeat) / 1e6
    for dtype in ("float16", "bfloat16"):
        rate = n / best_time(reprovar_filler(n, dtype), repeat) / 1e6
        print(f"{dtype:<8} {n:>6.0e} {rate:9.0f}   {rate / f32:.2f}x float32 ({f32:.0f})")


def thread_scaling(n, repeat):
    print("\n## Thread scaling (reprovar, M samples/s at n=%.0e)" % n)
    all_threads = numba.get_num_threads()
    for dtype in ("float32", "float64"):
        rates = {}
        for threads in sorted({1, all_threads}):
            numba.set_num_threads(threads)
            rates[threads] = n / best_time(reprovar_filler(n, dtype), repeat) / 1e6
        numba.set_num_threads(all_threads)
        line = ", ".join(f"{t} thread{'s' if t > 1 else ''}: {r:.0f}" for t, r in rates.items())
        print(f"{dtype:<8} {line}   speed-up {rates[all_threads] / rates[1]:.2f}x")


def median_latency(make, runs=2000) -> tuple[float, float]:
    make()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        make()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), float(np.percentile(samples, 99))


def small_variable_latency():  # last of the in-process sections: it loads TensorFlow
    print("\n## A (2, 3) float32 variable, end to end (us; recording off)")
    ours, ours_p99 = median_latency(
        lambda: reprovar.random_normal_variable((2, 3), 0.0, 1.0, seed=3, record=False)
    )
    print(f"reprovar.random_normal_variable           median {ours * 1e6:7.1f}, p99 {ours_p99 * 1e6:7.1f}")
    try:
        import tensorflow as tf

        theirs, theirs_p99 = median_latency(
            lambda: tf.keras.backend.random_normal_variable((2, 3), 0.0, 1.0, seed=3), runs=500
        )
        print(
            f"tf.keras.backend.random_normal_variable   median {theirs * 1e6:7.1f}, p99 {theirs_p99 * 1e6:7.1f}"
            f"   reprovar {theirs / ours:.1f}x faster"
        )
    except ImportError:
        print("tf.keras.backend.random_normal_variable   n/a (tensorflow not installed)")


FRESH = "import time; t=time.perf_counter(); import reprovar; reprovar.random_normal_variable((2, 3), 0.0, 1.0, seed=1, record=False); print(time.perf_counter()-t)"


def fresh_process():
    print("\n## Fresh process: import reprovar + first (2, 3) variable (wall, s)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}  # an empty cache: the very first run
        for label in ("cold Numba cache (first run)", "warm cache", "warm cache"):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t0
            print(f"{label:<30} process {wall:.2f} s, import + variable {float(out.stdout):.2f} s")


PEAK = textwrap.dedent(
    """
    import sys, tracemalloc
    import reprovar

    def high_water_mark():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

    n, dtype = int(sys.argv[1]), sys.argv[2]
    for size in (4096, 1 << 18):  # load both kernels first: loading is not the variable's cost
        reprovar.random_normal_variable((size,), 0.0, 1.0, dtype=dtype, seed=1, record=False)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the RSS high-water mark to the current RSS
    base = high_water_mark()
    tracemalloc.start()
    v = reprovar.random_normal_variable((n,), 0.0, 1.0, dtype=dtype, seed=1, record=False)
    traced = tracemalloc.get_traced_memory()[1]
    print(v.nbytes, traced, high_water_mark() - base)
    """
)


def peak_memory(n):
    print("\n## Peak memory at n=%.0e (MiB): output, traced allocations, RSS growth" % n)
    for dtype in ("float32", "float64", "float16", "bfloat16"):
        out = subprocess.run([sys.executable, "-c", PEAK, str(n), dtype], capture_output=True, text=True, check=True)
        nbytes, traced, rss = (int(x) for x in out.stdout.split())
        mib = 1 << 20
        print(
            f"{dtype:<8} output {nbytes / mib:7.1f}  traced peak {traced / mib:7.1f} (+{(traced - nbytes) / mib:.2f})"
            f"  RSS growth {rss / mib:7.1f} (+{(rss - nbytes) / mib:.2f})"
        )


def throughput_markdown(sizes, repeat) -> str:
    """The throughput table of docs/performance.md: M samples/s and ratios, one run."""
    measured = {(dtype, n): {name: measure_in_fresh_process(name, n, dtype, repeat) for name in FILLERS}
                for dtype in ("float32", "float64") for n in sizes}
    # the libraries that are not installed have no column
    others = [k for k in ALTERNATIVES if any(r[k] for r in measured.values())]
    rows = [[dtype, count(n), rate(r["reprovar"]), *(rate(r[k]) for k in others),
             " / ".join(f"{r['reprovar'] / r[k]:.1f}x" if r[k] else "n/a" for k in others)]
            for (dtype, n), r in measured.items()]
    headers = ["dtype", "n", "reprovar", *others, "reprovar vs " + " / ".join(others)]
    return table(headers, rows, right=set(range(2, 3 + len(others))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e7, 1e8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="sizes 1e6 1e7, one repeat")
    parser.add_argument("--markdown", action="store_true", help="print the throughput table for docs/performance.md")
    parser.add_argument("--worker", nargs=4, metavar=("LIBRARY", "DTYPE", "N", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        library, dtype, n, rep = args.worker
        worker(library, dtype, int(n), int(rep))
        return
    sizes = [int(s) for s in ([1e6, 1e7] if args.quick else args.sizes)]
    repeat = 1 if args.quick else args.repeat
    if args.markdown:
        print(throughput_markdown(sizes, repeat))
        print()
        print(f"M samples/s, best of {repeat}, each library in its own process; numpy {np.__version__}.")
        print(machine_line(numba.get_num_threads()))
        return
    print(f"# reprovar {reprovar.__version__} sampler benchmark")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs, Numba threads: {numba.get_num_threads()}")
    print(f"numpy {np.__version__}, numba {numba.__version__}, algorithm {DEFAULT_ALGORITHM.name} v{DEFAULT_ALGORITHM.version}")
    throughput(sizes, repeat)
    half_precision(max(sizes), repeat)
    thread_scaling(max(sizes), repeat)
    fresh_process()
    peak_memory(max(sizes))
    small_variable_latency()


if __name__ == "__main__":
    main()
