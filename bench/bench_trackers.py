"""What linking to an experiment tracker adds to recording a model in one transaction.

    python bench/bench_trackers.py

A model of 1,000 parameters, (8,) float32 each, is made once (``reprovar.adapter``); each
round records it in one transaction (``adapter.record_all``) into a fresh SQLite ledger,
so every round also writes the run row, as the first model of a training script does. In
the "linked" rounds an MLflow run is active (a real MLflow, tracking store in a temporary
SQLite file): the run row's transaction reads ``mlflow.active_run()`` and writes the sealed
link row. The "unlinked" rounds run under an active MLflow run too (MLflow's own threads
load the machine alike), with reprovar's lookup of active tracker runs replaced by one that
finds none: the difference is what linking costs. A second pair
records into one ledger whose run exists already (a later model of the same script) under a
new MLflow run each round (a sweep), whose link is written when the transaction starts.
Rounds are interleaved, in alternating order, so both see the same machine load; the
figures are medians, printed as ratios (of the medians, and the median of the ratios of
each round's pair).

A measuring script, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import timeit

import numpy as np

import reprovar
from reprovar import adapter
from reprovar.adapter import Draw, Planned
from reprovar.ledger import ledger as ledger_module
from reprovar.ledger.links import LinkWriter, insert_links


def model(n: int) -> list:
    draw = Draw("normal", {"mean": 0.0, "scale": 0.02})
    planned = [Planned(f"layer{i}/kernel", (8,), np.dtype("float32"), draw) for i in range(n)]
    return adapter.generate(planned, seed=2024)


def timed_record(made, led) -> tuple[float, float]:
    """(wall seconds, this thread's CPU seconds) of recording ``made`` in one transaction."""
    wall, cpu = time.perf_counter(), time.thread_time()
    adapter.record_all(made, ledger=led, what="bench")
    return time.perf_counter() - wall, time.thread_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parameters", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    import mlflow

    directory = tempfile.mkdtemp()
    mlflow.set_tracking_uri(f"sqlite:///{os.path.join(directory, 'mlflow.db')}")
    experiment = mlflow.create_experiment("bench", artifact_location=f"file://{directory}/artifacts")
    made = model(args.parameters)

    fresh = {"unlinked": [], "linked": []}
    later = {"unlinked": [], "linked": []}
    shared = {name: reprovar.Ledger(os.path.join(directory, f"shared-{name}.db")) for name in later}
    # Both kinds of round run under an active MLflow run (which has threads of its own); in
    # the unlinked ones reprovar's lookup of the active tracker runs finds none.
    finds = {"linked": ledger_module._active_tracker_runs, "unlinked": lambda: []}
    with mlflow.start_run(experiment_id=experiment):
        timed_record(made, shared["linked"])  # the shared run rows, before the rounds
    timed_record(made, shared["unlinked"])
    for i in range(args.rounds):
        for name in ("unlinked", "linked") if i % 2 else ("linked", "unlinked"):
            led = reprovar.Ledger(os.path.join(directory, f"{name}-{i}.db"))  # schema made here, untimed
            with mlflow.start_run(experiment_id=experiment):
                ledger_module._active_tracker_runs = finds[name]
                try:
                    fresh[name].append(timed_record(made, led))
                    later[name].append(timed_record(made, shared[name]))
                finally:
                    ledger_module._active_tracker_runs = finds["linked"]
            led.close()
    links = sum(len(reprovar.Ledger(os.path.join(directory, f"linked-{i}.db")).links()) for i in range(args.rounds))
    later_links = len(shared["linked"].links())
    print(f"recording a model of {args.parameters} parameters (8,) float32 in one transaction, SQLite, "
          f"{args.rounds} interleaved rounds:")
    for label, times, written in (
        ("first model of a run: run row + link", fresh, links),
        ("later model, a new MLflow run: link at transaction start", later, later_links - 1),
    ):
        print(f"  {label} ({written} links written)")
        for what, k in (("wall time", 0), ("CPU time of the recording thread", 1)):
            unlinked = [t[k] for t in times["unlinked"]]
            linked = [t[k] for t in times["linked"]]
            a, b = statistics.median(unlinked), statistics.median(linked)
            paired = statistics.median(y / x for x, y in zip(unlinked, linked))
            print(f"    {what}: median unlinked {a * 1e3:.2f} ms, linked {b * 1e3:.2f} ms; linked/unlinked "
                  f"{b / a:.3f} (medians), {paired:.3f} (median of the rounds' ratios)")
    # Once per process and database dialect: compiling the link statements (the rounds above
    # share one compilation; a script pays it with its first link).
    start = time.thread_time()
    LinkWriter(shared["linked"].engine)
    compile_s = time.thread_time() - start
    first = statistics.median(t[1] for t in fresh["unlinked"])
    print(f"  once per process: compiling the link statements, {compile_s * 1e6:.0f} us CPU, "
          f"{compile_s / first:.4f} of the median CPU time of an unlinked first recording")
    # The linking work alone, many times over: the lookup and the link row, in a transaction
    # that is rolled back (so the row is written anew each time).
    with mlflow.start_run(experiment_id=experiment):
        led = shared["linked"]
        engine = led.engine

        def link_work():
            with engine.connect() as connection, connection.begin() as transaction:
                insert_links(connection, led.run_id, ledger_module._active_tracker_runs(), led.key, after=None)
                transaction.rollback()

        def empty_transaction():
            with engine.connect() as connection, connection.begin() as transaction:
                transaction.rollback()

        n = 300
        work = min(timeit.repeat(link_work, number=n, repeat=3)) / n
        base = min(timeit.repeat(empty_transaction, number=n, repeat=3)) / n
    print(f"  the linking work alone through SQLAlchemy, as reprovar.link_run does it (lookup + "
          f"sealed link row, best of 3 x {n}): {(work - base) * 1e6:.0f} us, "
          f"{(work - base) / first:.4f} of the median CPU time of an unlinked first recording")

if __name__ == "__main__":
    main()
