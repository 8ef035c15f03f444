"""Figures for the audit layer: verification throughput and ``find`` latency.

    python bench/bench_audit.py                 # all three figures on a temporary SQLite ledger
    python bench/bench_audit.py --find-only --ledger postgresql+psycopg://postgres@127.0.0.1/bench

1. ``reprovar verify --all`` on a ledger of 10,000 small variables (the CLI, end to end, and
   the library call ``Ledger.verify()``): variables per second.
2. ``reprovar verify`` of one 10^8-element float32 variable: GB/s of variable bytes.
3. ``find`` on a ledger of 100,000 rows (bulk-inserted directly, not through recording):
   median latency of each kind of filter.

A measuring script, not a test: it prints figures and asserts nothing. A server URL given
with ``--ledger`` must name an empty, disposable database: the script drops its tables first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import reprovar
from reprovar.ledger.digest import digest as digest_of


#: The ``reprovar`` command, run with this interpreter.
_CLI = [sys.executable, "-c", "from reprovar.cli import main; main()"]


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm caches and compiled statements
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _fresh(url: str | None, directory: str, name: str) -> str:
    if url is None:
        return os.path.join(directory, name)
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as c:
        for table in ("reprovar_variables", "reprovar_runs", "reprovar_schema_version"):
            c.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    engine.dispose()
    return url


def bench_verify_small(target: str, n: int) -> None:
    led = reprovar.Ledger(target)
    start = time.perf_counter()
    for i in range(n):
        reprovar.random_normal_variable((4, 4), 0.0, 1.0, name=f"small/{i}", seed=i, ledger=led)
    made = time.perf_counter() - start
    print(f"made and recorded {n} variables of shape (4, 4) in {made:.2f} s")
    start = time.perf_counter()
    summary = led.verify(keep_verified=False)
    lib = time.perf_counter() - start
    print(f"Ledger.verify(): {summary.line()} in {lib:.2f} s = {n / lib:,.0f} variables/s")
    start = time.perf_counter()
    proc = subprocess.run([*_CLI, "verify", "--all", "--ledger", target],
                          capture_output=True, text=True)
    cli = time.perf_counter() - start
    last = (proc.stdout.strip().splitlines() or ["?"])[-1]
    print(f"reprovar verify --all: {last!r} (exit {proc.returncode}) in {cli:.2f} s "
          f"= {n / cli:,.0f} variables/s, process start included")
    led.close()


def bench_verify_large(target: str, n_elements: int) -> None:
    led = reprovar.Ledger(target)
    start = time.perf_counter()
    v = reprovar.random_normal_variable((n_elements,), 0.0, 1.0, name="big", seed=1, ledger=led)
    made = time.perf_counter() - start
    nbytes = v.nbytes
    del v
    print(f"made and recorded one {n_elements:.0e}-element float32 variable ({nbytes / 1e9:.1f} GB) in {made:.2f} s")
    start = time.perf_counter()
    summary = led.verify(["big"])
    lib = time.perf_counter() - start
    print(f"Ledger.verify(['big']): {summary.line()} in {lib:.2f} s = {nbytes / lib / 1e9:.2f} GB/s")
    start = time.perf_counter()
    proc = subprocess.run([*_CLI, "verify", "big", "--ledger", target],
                          capture_output=True, text=True)
    cli = time.perf_counter() - start
    last = (proc.stdout.strip().splitlines() or ["?"])[-1]
    print(f"reprovar verify big: {last!r} (exit {proc.returncode}) in {cli:.2f} s "
          f"= {nbytes / cli / 1e9:.2f} GB/s, process start included")
    led.close()


def bench_find(target: str, n_rows: int, repeat: int) -> None:
    from sqlalchemy import insert

    from reprovar.ledger.models import runs_table, variables_table
    from reprovar.ledger.seal import compute_seal

    led = reprovar.Ledger(target)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    runs = 100
    with led.engine.begin() as c:
        c.execute(insert(runs_table), [
            {"started": now + dt.timedelta(hours=r), "host": "bench", "user": "bench", "pid": r,
             "argv": json.dumps(["bench"]), "cwd": "/", "git_commit": None, "python_version": "3",
             "reprovar_version": reprovar.__version__, "numpy_version": "2", "numba_version": "0",
             "platform": None} for r in range(runs)])
    fake_digest = digest_of(__import__("numpy").zeros(1, "float32"))
    rows = []
    start = time.perf_counter()
    for i in range(n_rows):
        rows.append({
            "run_id": 1 + i % runs, "name": f"layer_{i % 1000}/w{i // 1000}", "version": 1,
            "shape": json.dumps([i % 7 + 1, 3]), "dtype": ("float32", "float64", "bfloat16")[i % 3],
            "distribution": "normal", "mean": 0.0, "scale": 1.0, "seed": (i * 2654435761) % (1 << 64),
            "algorithm": "philox4x32-10/box-muller", "algorithm_version": 1, "digest": fake_digest,
            "nbytes": 24, "created": now + dt.timedelta(seconds=i),
            "low": None, "high": None, "seed_source": "user", "previous_seal": None,
        })
        rows[-1]["seal"] = compute_seal(rows[-1], None, None)  # every name is at version 1
        if len(rows) == 10_000:
            with led.engine.begin() as c:
                c.execute(insert(variables_table), rows)
            rows = []
    if rows:
        with led.engine.begin() as c:
            c.execute(insert(variables_table), rows)
    print(f"bulk-inserted {n_rows:,} rows in {time.perf_counter() - start:.1f} s into {led.location}")
    # Planner statistics, as a ledger filled over time has them (autovacuum, ANALYZE).
    statement = {"sqlite": "ANALYZE", "postgresql": "ANALYZE reprovar_variables"}.get(
        led.engine.dialect.name, "ANALYZE TABLE reprovar_variables")
    with led.engine.begin() as c:
        c.exec_driver_sql(statement)
    t0 = now + dt.timedelta(seconds=n_rows // 2)
    cases = {
        "name (exact)": dict(name="layer_7/w42"),
        "name pattern 'layer_7/*'": dict(name="layer_7/*"),
        "name pattern 'layer_12*'": dict(name="layer_12*"),
        "name pattern '*/w42'": dict(name="*/w42"),
        "seed": dict(seed=(12345 * 2654435761) % (1 << 64)),
        "run": dict(run=42),
        "since/until (1 minute)": dict(since=t0.isoformat(), until=(t0 + dt.timedelta(minutes=1)).isoformat()),
        "dtype (a third of all rows)": dict(dtype="bfloat16", limit=100),
    }
    for label, kw in cases.items():
        found = len(led.find(**kw))
        print(f"find {label:<28} {_median_ms(lambda: led.find(**kw), repeat):8.2f} ms median ({found} rows)")
    proc_start = time.perf_counter()
    proc = subprocess.run([*_CLI, "find", "--name", "layer_7/w42",
                           "--ledger", target], capture_output=True, text=True)
    print(f"reprovar find --name layer_7/w42 (CLI, process start included): "
          f"{(time.perf_counter() - proc_start) * 1e3:.0f} ms, exit {proc.returncode}")
    led.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", help="a server URL (default: temporary SQLite files)")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=10**8)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--find-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if not args.find_only:
            bench_verify_small(_fresh(args.ledger, d, "small.db"), args.small)
            bench_verify_large(_fresh(args.ledger, d, "large.db"), args.large)
        bench_find(_fresh(args.ledger, d, "find.db"), args.rows, args.repeat)


if __name__ == "__main__":
    main()
