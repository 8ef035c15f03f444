"""Check the frozen digests of every registered algorithm on the machine this runs on.

Usage: ``python tools/check_frozen_digests.py [--table PATH] [--expect-machine ARCH]``

It needs only an importable ``reprovar`` (source tree on ``PYTHONPATH`` is enough) and its
runtime dependencies, no test tools: ``tools/check_aarch64.sh`` runs it on aarch64 under
emulation. The table is ``tests/sampler/frozen_digests.py``, the same one the x86-64 tests
read; every algorithm in ``reprovar.algorithms.registered_algorithms()`` must have a row.

Exit status: 0 every digest matches; 1 a digest differs, a case raised, or a registered
algorithm has no row; 2 the table, reprovar or the machine is not what was asked for.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()

DEFAULT_TABLE = Path(__file__).resolve().parent.parent / "tests" / "sampler" / "frozen_digests.py"


def load_table(path: Path):
    spec = importlib.util.spec_from_file_location("frozen_digests", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["frozen_digests"] = module  # NamedTuple classes look their module up by name
    spec.loader.exec_module(module)
    return module


def describe_machine() -> str:
    import llvmlite
    import llvmlite.binding
    import ml_dtypes
    import numba
    import numpy

    cpu = numba.config.CPU_NAME or llvmlite.binding.get_host_cpu_name()  # as numba picks it
    return (
        f"{platform.machine()}, Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"numba {numba.__version__}, llvmlite {llvmlite.__version__}, ml_dtypes {ml_dtypes.__version__}, "
        f"LLVM CPU {cpu!r}, {numba.config.NUMBA_NUM_THREADS} threads"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE, help="the frozen-digest table (a .py file)")
    parser.add_argument("--expect-machine", help="fail unless platform.machine() is this (e.g. aarch64)")
    args = parser.parse_args(argv)

    machine = platform.machine()
    if args.expect_machine and machine != args.expect_machine:
        print(f"error: running on {machine}, expected {args.expect_machine}", file=sys.stderr)
        return 2
    try:
        table = load_table(args.table)
        from reprovar.algorithms import registered_algorithms

        registered = registered_algorithms()
    except Exception as e:  # reported, not raised: the caller reads the exit status
        print(f"error: cannot load the table {args.table} or reprovar: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(f"frozen digests on {describe_machine()}", flush=True)

    bad = 0
    for name, version in table.uncovered(registered):
        print(f"MISSING  {name} v{version}: registered, but no row in {args.table}", flush=True)
        bad += 1
    for case in table.FROZEN:
        t0 = time.perf_counter()
        try:
            got = table.digest(case)
        except Exception as e:
            print(f"ERROR    {case.label()}: {type(e).__name__}: {e}", flush=True)
            bad += 1
            continue
        seconds = time.perf_counter() - t0
        if got == case.sha256:
            print(f"same     {case.label()} ({seconds:.1f} s)", flush=True)
        else:
            print(f"DIFFERS  {case.label()}: frozen {case.sha256}, here {got}", flush=True)
            bad += 1
    checked = len(table.FROZEN)
    if bad:
        print(f"frozen digests on {machine}: {bad} problem(s) in {checked} cases of {len(registered)} algorithm(s)")
        return 1
    seconds = time.perf_counter() - STARTED
    print(f"frozen digests on {machine}: all {checked} cases of {len(registered)} algorithm(s) are bit-identical ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
