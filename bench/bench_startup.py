"""Start-up: a fresh process that imports reprovar and makes one recorded (2, 3) variable.

    python bench/bench_startup.py                 # 9 processes, scipy as installed
    python bench/bench_startup.py --hide-scipy    # the same with scipy made unimportable
    python bench/bench_startup.py --runs 15

Each process runs in the same temporary directory, with the Numba cache warm and the
ledger (``./reprovar.db``) already at the newest schema: one uncounted process first
compiles into the cache and creates the ledger. Printed per mode:

* in-process: from the first line of the script (the interpreter is up) to the variable
  being recorded; wall clock and the process's CPU time (CPU time is steadier on a shared
  machine);
* whole process: from spawning ``python`` to its exit, as a user waits for it.

``--hide-scipy`` installs an import hook in the child that makes ``scipy`` unimportable, as
in an environment without it (Numba imports ``scipy.linalg`` when it loads its registries
if scipy is installed).

A measuring script, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

_HIDE_SCIPY = """
class _NoScipy:
    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoScipy())
"""

_CHILD = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import sys
{hide}
import reprovar
v = reprovar.random_normal_variable((2, 3), 0.0, 1.0)
t1, c1 = time.perf_counter(), time.process_time()
assert v.record is not None and v.record.version >= 1
print(t1 - t0, c1 - c0, "scipy" in sys.modules, "alembic" in sys.modules)
"""


def run_once(cwd: str, hide_scipy: bool) -> tuple[float, float, float, bool, bool]:
    code = _CHILD.format(hide=_HIDE_SCIPY if hide_scipy else "")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                         env={**os.environ, "REPROVAR_LEDGER": "reprovar.db"})
    whole = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr}")
    wall, cpu, scipy, alembic = out.stdout.split()
    return float(wall), float(cpu), whole, scipy == "True", alembic == "True"


def _summary(values: list[float]) -> str:
    return (f"median {statistics.median(values):.3f} s "
            f"(min {min(values):.3f}, max {max(values):.3f})")


def measure(runs: int, hide_scipy: bool) -> None:
    with tempfile.TemporaryDirectory() as cwd:
        run_once(cwd, hide_scipy)  # fills the Numba cache if needed, creates the ledger
        results = [run_once(cwd, hide_scipy) for _ in range(runs)]
    wall, cpu, whole = ([r[i] for r in results] for i in range(3))
    scipy, alembic = results[0][3], results[0][4]
    label = "scipy hidden" if hide_scipy else ("scipy loaded" if scipy else "no scipy installed")
    print(f"{label}, {runs} fresh processes (alembic loaded: {alembic}):")
    print(f"  in-process wall  {_summary(wall)}")
    print(f"  in-process CPU   {_summary(cpu)}")
    print(f"  whole process    {_summary(whole)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--hide-scipy", action="store_true", help="only the run without scipy")
    parser.add_argument("--both", action="store_true", help="with scipy, then with it hidden")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load average "
          f"{os.getloadavg()[0]:.1f}")
    modes = [False, True] if args.both else [args.hide_scipy]
    for hide in modes:
        measure(args.runs, hide)


if __name__ == "__main__":
    main()
