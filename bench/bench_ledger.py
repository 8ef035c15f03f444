"""Figures for the ledger: digest speed, the cost of recording, and recording at 10^8 elements.

    python bench/bench_ledger.py                  # on a temporary SQLite ledger
    python bench/bench_ledger.py --ledger postgresql+psycopg://postgres@127.0.0.1/bench
    python bench/bench_ledger.py --quick --markdown    # the tables of docs/performance.md

1. Digest throughput (GB/s) of a 10^8-element float32 array: the tree hash on one thread and
   on the pool, and plain one-shot XXH3-128 and SHA-256 for scale.
2. What recording adds to a (2, 3) variable: median of ``random_normal_variable`` with
   recording on minus with it off, interleaved in blocks so both see the same machine load;
   and, interleaved with them, the floor: the same row's transaction written by hand on the
   sqlite3 driver (``BEGIN IMMEDIATE``; the name's latest version; ``INSERT``; ``COMMIT``)
   into a ledger file of its own (the same table and indexes, WAL, ``synchronous=NORMAL``),
   with no digest, seal or record made, measured two ways: alone in its own blocks (the bare
   transaction), and as what it adds to ``random_normal_variable(..., record=False)`` when
   each variable is followed by it (the same subtraction as recording's: the transaction
   also leaves the caches colder for the next variable). Printed as ``recording alone /
   sqlite3 floor`` (what it adds) and ``recording alone / bare sqlite3 transaction``.
3. What recording adds per (2, 3) variable inside ``reprovar.transaction()`` with 1,000
   variables per transaction: whole blocks against unrecorded ones, interleaved rounds;
   printed against section 2 as ``in a transaction / alone``.
4. 10^8 float32 elements: throughput of generation + digest + ledger write over generation
   alone (the target is >= 0.8).
5. Why the writer executes on the DBAPI connection (ledger/writer.py): a one-row transaction
   on a scratch SQLite table through SQLAlchemy's ``Connection.execute``, against the same
   transaction on the sqlite3 driver.

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
from pathlib import Path

import numba
import numpy as np
import xxhash

import reprovar
from reprovar.ledger import digest as digests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from markdown import count, machine_line, ratio, table  # noqa: E402


def _best(fn, repeat: int) -> float:
    fn()
    return min(_timed(fn) for _ in range(repeat))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def digest_speed(n: int, repeat: int) -> dict[str, float]:
    """GB/s of each way of hashing a 10^n-element float32 array."""
    a = reprovar.random_normal_variable((n,), 0.0, 1.0, seed=1, record=False).numpy()
    view = memoryview(a.reshape(-1).view(np.uint8))
    gb = a.nbytes / 1e9
    rows = [
        ("tree4m, thread pool", lambda: digests.digest(a)),
        ("tree4m, one thread", lambda: digests.digest(a, parallel=False)),
        ("xxh3-128 one-shot", lambda: xxhash.xxh3_128_hexdigest(view)),
        ("sha256 (for scale)", lambda: hashlib.sha256(view).hexdigest()),
    ]
    return {label: gb / _best(fn, repeat) for label, fn in rows}


def sqlite_floor(directory: str):
    """A function that writes one variable row the cheapest way SQLite allows, and closes.

    The row is a (2, 3) variable's, copied from a ledger made in ``directory`` (so the same
    table, indexes and WAL mode); each call is one transaction on the sqlite3 driver with
    the ledger's ``synchronous=NORMAL``: ``BEGIN IMMEDIATE``, the name's latest version (the
    writer's query), ``INSERT`` of the next version, ``COMMIT``."""
    import sqlite3

    path = os.path.join(directory, "floor.db")
    with reprovar.Ledger(path) as floor_ledger:
        reprovar.random_normal_variable((2, 3), 0.0, 1.0, name="floor", seed=1, ledger=floor_ledger)
    raw = sqlite3.connect(path, isolation_level=None)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.execute("PRAGMA synchronous = NORMAL")
    cursor = raw.execute("SELECT * FROM reprovar_variables WHERE name = 'floor'")
    columns = [d[0] for d in cursor.description if d[0] != "id"]
    row = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
    values = [row[c] for c in columns]
    version = columns.index("version")
    latest = ("SELECT version, seal FROM reprovar_variables WHERE name = ? "
              "ORDER BY version DESC LIMIT 1 OFFSET 0")
    insert = (f"INSERT INTO reprovar_variables ({', '.join(columns)}) "
              f"VALUES ({', '.join('?' * len(columns))})")

    def write_row():
        raw.execute("BEGIN IMMEDIATE")
        values[version] = raw.execute(latest, ("floor",)).fetchone()[0] + 1
        raw.execute(insert, values)
        raw.execute("COMMIT")

    return write_row, raw.close


def small_overhead(ledger, blocks: int, per_block: int, floor=None
                   ) -> tuple[float, float, float | None, float | None]:
    """Median microseconds of a (2, 3) variable with recording off and on, of ``floor`` (one
    row written on the driver) alone, and of an unrecorded variable followed by ``floor``;
    all interleaved in blocks."""
    def create(record):
        return lambda: reprovar.random_normal_variable((2, 3), 0.0, 1.0, name="small", seed=1,
                                                       record=record, ledger=ledger)

    on, off = create(None), create(False)

    def off_then_floor():
        off()
        floor()

    runs = [("off", off), ("on", on)]
    if floor is not None:
        runs += [("floor", floor), ("off+floor", off_then_floor)]
    for _, fn in runs:
        fn()
    samples = {key: [] for key, _ in runs}
    for _ in range(blocks):  # interleaved blocks: all see the same background load
        for key, fn in runs:
            samples[key].extend(_timed(fn) for _ in range(per_block))
    m = {key: statistics.median(times) * 1e6 for key, times in samples.items()}
    return m["off"], m["on"], m.get("floor"), m.get("off+floor")


def batch_overhead(ledger, count: int, rounds: int) -> tuple[float, float, float, float]:
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
    return (min(off) / count * 1e6, min(on) / count * 1e6,
            statistics.median(off) / count * 1e6, statistics.median(on) / count * 1e6)


def large_ratio(ledger, n: int, repeat: int) -> tuple[float, float]:
    """Seconds to make a 10^n-element variable unrecorded, and recorded with its digest."""
    gen = lambda: reprovar.random_normal_variable((n,), 0.0, 1.0, seed=3, record=False)  # noqa: E731
    rec = lambda: reprovar.random_normal_variable((n,), 0.0, 1.0, name="big", seed=3, ledger=ledger)  # noqa: E731
    times = {"gen": [], "rec": []}
    gen(), rec()
    for _ in range(repeat):  # interleaved, best of each
        times["gen"].append(_timed(gen))
        times["rec"].append(_timed(rec))
    return min(times["gen"]), min(times["rec"])


def execute_paths(rows: int = 2000) -> tuple[float, float]:
    """Median microseconds of a one-row insert transaction on a scratch SQLite table (WAL):
    through SQLAlchemy Core's ``Connection.execute``, and on the sqlite3 driver itself."""
    import sqlite3

    from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine, event, insert

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "paths.db")
        engine = create_engine(f"sqlite:///{path}")

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # the settings the ledger's engine uses
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        t = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("name", String),
                  Column("seed", Integer), Column("mean", Float))
        t.metadata.create_all(engine)
        stmt = insert(t)
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("PRAGMA synchronous=NORMAL")

        def through_sqlalchemy(i):
            with engine.begin() as c:
                c.execute(stmt, {"name": f"v{i}", "seed": i, "mean": 0.0})

        def on_the_driver(i):
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("INSERT INTO t (name, seed, mean) VALUES (?, ?, ?)", (f"v{i}", i, 0.0))
            raw.execute("COMMIT")

        samples = {through_sqlalchemy: [], on_the_driver: []}
        for i in range(rows):  # interleaved: both see the same load
            for fn, times in samples.items():
                start = time.perf_counter()
                fn(i)
                times.append(time.perf_counter() - start)
        raw.close()
        engine.dispose()
        return tuple(statistics.median(samples[fn]) * 1e6 for fn in (through_sqlalchemy, on_the_driver))


def print_text(n, repeat, rounds, digest, small, batch, large, paths) -> None:
    if digest:
        print(f"digest of {n:.0e} float32 ({n * 4 / 1e6:.0f} MB), best of {repeat}:")
        for label, gbs in digest.items():
            print(f"  {label:<22} {gbs:6.2f} GB/s")
    m_off, m_on, floor, m_floor = small
    print(f"(2, 3) float32 variable, median: recording off {m_off:.1f} us, "
          f"on {m_on:.1f} us -> recording adds {m_on - m_off:.1f} us")
    if floor is not None:
        print(f"the same row by hand on the sqlite3 driver (4 statements, same table, WAL), median: "
              f"bare transaction {floor:.1f} us; after each unrecorded variable {m_floor:.1f} us "
              f"-> it adds {m_floor - m_off:.1f} us")
        print(f"recording alone / sqlite3 floor: {(m_on - m_off) / (m_floor - m_off):.2f}x")
        print(f"recording alone / bare sqlite3 transaction: {(m_on - m_off) / floor:.2f}x")
    b_off, b_on, md_off, md_on = batch
    print(f"1000 (2, 3) float32 variables in one transaction, whole blocks incl. commit, best of {rounds}: "
          f"recording off {b_off:.1f} us, in the transaction {b_on:.1f} us per variable -> recording adds "
          f"{b_on - b_off:.1f} us per variable (medians: {md_off:.1f}, {md_on:.1f} -> {md_on - md_off:.1f} us)")
    print(f"recording in a transaction / alone: {(b_on - b_off) / (m_on - m_off):.2f}x")
    if large:
        g, r = large
        print(f"{n:.0e} float32: generation {n / g / 1e6:.0f} M/s, with digest + record {n / r / 1e6:.0f} M/s "
              f"-> ratio {g / r:.3f} (best of {repeat})")
    print(f"one-row transaction on a scratch SQLite table, median: SQLAlchemy Connection.execute "
          f"{paths[0]:.1f} us, sqlite3 driver {paths[1]:.1f} us ({paths[0] / paths[1]:.1f}x)")


def print_markdown(n, repeat, rounds, digest, small, batch, large, paths, where: str) -> None:
    """The ledger tables of docs/performance.md."""
    if digest:
        sha = digest["sha256 (for scale)"]
        print(table(["digest of " + count(n) + " float32", "GB/s", "vs sha256"],
                    [[label, f"{gbs:.2f}", ratio(gbs, sha)] for label, gbs in digest.items()], right={1, 2}))
        print()
    m_off, m_on, floor, m_floor = small
    b_off, b_on = batch[:2]
    rows = [["one (2, 3) variable (median)", f"{m_off:.1f}", f"{m_on:.1f}", f"{m_on - m_off:.1f}", "1.00x"],
            ["in a transaction of 1,000 (best of %d blocks, commit included)" % rounds,
             f"{b_off:.1f}", f"{b_on:.1f}", f"{b_on - b_off:.1f}", ratio(b_on - b_off, m_on - m_off)]]
    print(table(["µs per variable", "unrecorded", "recorded", "recording adds", "vs alone"], rows,
                right={1, 2, 3, 4}))
    if floor is not None:
        print()
        print(table(["one variable row, SQLite (median)", "µs", "vs the floor"],
                    [["recording adds", f"{m_on - m_off:.1f}", ratio(m_on - m_off, m_floor - m_off)],
                     ["the same row on the sqlite3 driver (4 statements) adds", f"{m_floor - m_off:.1f}", "1.0x"],
                     ["that transaction alone, in a loop", f"{floor:.1f}", ratio(floor, m_floor - m_off)]],
                    right={1, 2}))
    if large:
        g, r = large
        print()
        print(table([count(n) + " float32 variable", "M values/s", "vs unrecorded"],
                    [["made, unrecorded", f"{n / g / 1e6:.0f}", "1.00x"],
                     ["made, digested and recorded", f"{n / r / 1e6:.0f}", f"{g / r:.2f}x"]], right={1, 2}))
    print()
    print(table(["one-row transaction, scratch SQLite table (median)", "µs", "vs the driver"],
                [["SQLAlchemy `Connection.execute`", f"{paths[0]:.1f}", ratio(paths[0], paths[1])],
                 ["sqlite3 driver", f"{paths[1]:.1f}", "1.0x"]], right={1, 2}))
    print()
    print(f"Ledger: {where}; best of {repeat} for sizes of {count(n)}.")
    print(machine_line(numba.get_num_threads()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", help="ledger URL (default: a temporary SQLite file)")
    parser.add_argument("--size", type=float, default=1e8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--small-only", action="store_true", help="only the small-variable costs")
    parser.add_argument("--markdown", action="store_true", help="print the tables for docs/performance.md")
    args = parser.parse_args()
    n = int(1e7 if args.quick else args.size)
    repeat = 2 if args.quick else args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        ledger = reprovar.Ledger(args.ledger or os.path.join(tmp, "bench.db"))
        if not args.markdown:
            print(f"ledger: {ledger.location}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
        rounds = 3 if args.quick else 15
        digest = None if args.small_only else digest_speed(n, repeat)
        sqlite = ledger.engine.dialect.name == "sqlite"
        floor, close_floor = sqlite_floor(tmp) if sqlite else (None, None)
        small = small_overhead(ledger, blocks=4 if args.quick else 10, per_block=500, floor=floor)
        if close_floor is not None:
            close_floor()
        batch = batch_overhead(ledger, count=1000, rounds=rounds)
        large = None if args.small_only else large_ratio(ledger, n, repeat)
        paths = execute_paths()
        where = "SQLite file" if ledger.engine.dialect.name == "sqlite" else ledger.engine.dialect.name
        ledger.close()
    if args.markdown:
        print_markdown(n, repeat, rounds, digest, small, batch, large, paths, where)
    else:
        print_text(n, repeat, rounds, digest, small, batch, large, paths)


if __name__ == "__main__":
    main()
