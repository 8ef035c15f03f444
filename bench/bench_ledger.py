"""Figures for the ledger: digest speed, the cost of recording, and recording at 10^8 elements.

    python bench/bench_ledger.py                  # on a temporary SQLite ledger
    python bench/bench_ledger.py --ledger postgresql+psycopg://postgres@127.0.0.1/bench

1. Digest throughput (GB/s) of a 10^8-element float32 array: the tree hash on one thread and
   on the pool, and plain one-shot XXH3-128 and SHA-256 for scale.
2. What recording adds to a (2, 3) variable: median of ``random_normal_variable`` with
   recording on minus with it off, interleaved in blocks so both see the same machine load.
3. What recording adds per (2, 3) variable inside ``reprovar.transaction()`` with 1,000
   variables per transaction: median per variable against unrecorded ones, interleaved rounds.
4. 10^8 float32 elements: throughput of generation + digest + ledger write over generation
   alone (the target is >= 0.8).

A measuring script, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import xxhash

import reprovar
from reprovar.ledger import digest as digests


def _best(fn, repeat: int) -> float:
    fn()
    return min(_timed(fn) for _ in range(repeat))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def digest_speed(n: int, repeat: int) -> None:
    a = reprovar.random_normal_variable((n,), 0.0, 1.0, seed=1, record=False).numpy()
    view = memoryview(a.reshape(-1).view(np.uint8))
    gb = a.nbytes / 1e9
    rows = [
        ("tree4m, thread pool", lambda: digests.digest(a)),
        ("tree4m, one thread", lambda: digests.digest(a, parallel=False)),
        ("xxh3-128 one-shot", lambda: xxhash.xxh3_128_hexdigest(view)),
        ("sha256 (for scale)", lambda: hashlib.sha256(view).hexdigest()),
    ]
    print(f"digest of {n:.0e} float32 ({a.nbytes / 1e6:.0f} MB), best of {repeat}:")
    for label, fn in rows:
        print(f"  {label:<22} {gb / _best(fn, repeat):6.2f} GB/s")


def small_overhead(ledger, blocks: int, per_block: int) -> None:
    def create(record):
        return lambda: reprovar.random_normal_variable((2, 3), 0.0, 1.0, name="small", seed=1,
                                                       record=record, ledger=ledger)

    on, off = create(None), create(False)
    for fn in (on, off):
        fn()
    samples = {"on": [], "off": []}
    for _ in range(blocks):  # interleaved blocks: both see the same background load
        for key, fn in (("off", off), ("on", on)):
            samples[key].extend(_timed(fn) for _ in range(per_block))
    m_on, m_off = (statistics.median(samples[k]) * 1e6 for k in ("on", "off"))
    print(f"(2, 3) float32 variable, median of {blocks * per_block}: recording off {m_off:.1f} us, "
          f"on {m_on:.1f} us -> recording adds {m_on - m_off:.1f} us")


def batch_overhead(ledger, count: int, rounds: int) -> None:
    """What recording adds per variable inside ``reprovar.transaction()``: whole blocks,
    commit included, against the same variables made unrecorded. Not a median of single
    calls: on SQLite most of the writing happens in a few calls (every 256 rows) and at
    the commit, which a median of calls would leave out."""
    def make(i, record):
        return reprovar.random_normal_variable((2, 3), 0.0, 1.0, name=f"batch/{i}", seed=i,
                                               record=record)

    off, on = [], []
    for r in range(rounds + 1):  # interleaved rounds; the first one warms up
        start = time.perf_counter()
        for i in range(count):
            make(i, False)
        t_off = time.perf_counter() - start
        start = time.perf_counter()
        with reprovar.transaction(ledger):
            for i in range(count):
                make(i, None)
        t_on = time.perf_counter() - start
        if r:
            off.append(t_off)
            on.append(t_on)
    b_off, b_on = min(off) / count * 1e6, min(on) / count * 1e6
    m_off, m_on = statistics.median(off) / count * 1e6, statistics.median(on) / count * 1e6
    print(f"{count} (2, 3) float32 variables in one transaction, whole blocks incl. commit, best of {rounds}: "
          f"recording off {b_off:.1f} us, in the transaction {b_on:.1f} us per variable -> recording adds "
          f"{b_on - b_off:.1f} us per variable (medians: {m_off:.1f}, {m_on:.1f} -> {m_on - m_off:.1f} us)")


def large_ratio(ledger, n: int, repeat: int) -> None:
    gen = lambda: reprovar.random_normal_variable((n,), 0.0, 1.0, seed=3, record=False)  # noqa: E731
    rec = lambda: reprovar.random_normal_variable((n,), 0.0, 1.0, name="big", seed=3, ledger=ledger)  # noqa: E731
    times = {"gen": [], "rec": []}
    gen(), rec()
    for _ in range(repeat):  # interleaved, best of each
        times["gen"].append(_timed(gen))
        times["rec"].append(_timed(rec))
    g, r = min(times["gen"]), min(times["rec"])
    print(f"{n:.0e} float32: generation {n / g / 1e6:.0f} M/s, with digest + record {n / r / 1e6:.0f} M/s "
          f"-> ratio {g / r:.3f} (best of {repeat})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", help="ledger URL (default: a temporary SQLite file)")
    parser.add_argument("--size", type=float, default=1e8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--small-only", action="store_true", help="only the small-variable costs")
    args = parser.parse_args()
    n = int(1e7 if args.quick else args.size)
    repeat = 2 if args.quick else args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        ledger = reprovar.Ledger(args.ledger or os.path.join(tmp, "bench.db"))
        print(f"ledger: {ledger.location}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
        if not args.small_only:
            digest_speed(n, repeat)
        small_overhead(ledger, blocks=4 if args.quick else 10, per_block=500)
        batch_overhead(ledger, count=1000, rounds=3 if args.quick else 15)
        if not args.small_only:
            large_ratio(ledger, n, repeat)
        ledger.close()


if __name__ == "__main__":
    main()
