"""What the bench scripts share: the best of repeated timings, and what their ``--markdown``
option prints (tables for docs/performance.md, pasted there as printed, and the one line
naming the machine they were measured on)."""

from __future__ import annotations

import os
import platform
import time


def best_time(fn, repeat: int) -> float:
    """The shortest of ``repeat`` timed calls of ``fn``, after one untimed call (compiling or
    loading kernels, faulting in pages)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line(threads: int) -> str:
    """One line naming the machine: CPU, logical CPUs, threads used, Python, OS, and the load
    average when the run ended (other jobs on a shared machine widen the spread)."""
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {threads} threads; "
            f"Python {platform.python_version()}, {platform.system()} {platform.machine()}{load}.")


def table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """A Markdown table; the columns numbered in ``right`` are right-aligned."""
    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = [headers, rule, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def ratio(a: float | None, b: float | None) -> str:
    """``a / b`` as ``3.4x``, or ``n/a`` when either was not measured."""
    return f"{a / b:.1f}x" if a and b else "n/a"


def rate(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def count(n: float) -> str:
    """``1e7`` for 10,000,000: sizes as the scripts' options take them."""
    return f"{n:.0e}".replace("e+0", "e").replace("e+", "e")
