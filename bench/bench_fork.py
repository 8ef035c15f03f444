"""What forked children cost: the figures behind the fork policy in ``reprovar.sampler._jit``.

    python bench/bench_fork.py

Each line makes a 2**24-element float32 variable (best of 5) and prints its throughput:

1. the default threading layer (GNU OpenMP on Linux without TBB), all threads;
2. Numba's workqueue layer (fork-safe, not thread-safe), all threads, in a fresh process;
3. a child forked from (1) after its threads started: the serial kernels, one thread;
4. that child next to its siblings in a fork Pool of os.cpu_count() workers (aggregate).

and each one's throughput relative to (1). A measuring script, not a test: it asserts nothing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import time

N = 1 << 24
REPEAT = 5


def _best_seconds() -> float:
    import reprovar

    def once():
        start = time.perf_counter()
        reprovar.random_normal_variable((N,), 0.0, 1.0, seed=1, record=False)
        return time.perf_counter() - start

    once()
    return min(once() for _ in range(REPEAT))


def _in_fresh_process(layer: str) -> float:
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    code = "import bench_fork as b; print(b._best_seconds())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.abspath(__file__)))
    return float(out.stdout.strip().splitlines()[-1])


def _child(_):
    return _best_seconds()


def main() -> None:
    import numba

    parent = _best_seconds()
    layer = numba.threading_layer()
    workqueue = _in_fresh_process("workqueue")
    with mp.get_context("fork").Pool(1) as pool:
        child = pool.map(_child, [0])[0]
    workers = os.cpu_count() or 1
    with mp.get_context("fork").Pool(workers) as pool:
        start = time.perf_counter()
        pool.map(_child, range(workers))
        pool_seconds = (time.perf_counter() - start) / (workers * (REPEAT + 1))
    rate = lambda s: N / s / 1e6  # noqa: E731
    print(f"threads: {numba.get_num_threads()}, default layer: {layer}")
    print(f"default layer ({layer}), parent:   {rate(parent):8.1f} M/s")
    print(f"workqueue layer, fresh process:   {rate(workqueue):8.1f} M/s  x{parent / workqueue:.2f}")
    print(f"forked child (serial):            {rate(child):8.1f} M/s  x{parent / child:.2f}")
    print(f"fork Pool of {workers} (aggregate):      {rate(pool_seconds):8.1f} M/s  x{parent / pool_seconds:.2f}")


if __name__ == "__main__":
    main()
