"""Run by test_hostile_processes.py in a fresh interpreter: the parent fills a large variable
with the parallel kernels (starting the threading layer), then makes variables in forked and
spawned children. Prints one JSON line: what each child made, as hex digests."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import sys

import reprovar

N = 1 << 20  # above PARALLEL_MIN_ELEMENTS: the parallel kernel unless forbidden


def make(seed: int) -> tuple[str, bool, int]:
    from reprovar.sampler._jit import parallel_allowed

    values = reprovar.random_normal_variable((N,), 0.0, 1.0, seed=seed, record=False).numpy()
    return hashlib.sha256(values.tobytes()).hexdigest(), parallel_allowed(), os.getpid()


def main() -> None:
    import numba

    parent = [make(seed)[0] for seed in range(4)]
    layer = numba.threading_layer()
    out = {"layer": layer, "parent": parent}
    with mp.get_context("fork").Pool(2) as pool:
        out["fork_pool"] = pool.map(make, range(4))
    with mp.get_context("spawn").Pool(2) as pool:
        out["spawn_pool"] = pool.map(make, range(4))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a bare fork, then a grandchild of it
        os.close(read)
        with mp.get_context("fork").Pool(1) as pool:
            result = [make(1), pool.map(make, [2])[0]]
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    _, status = os.waitpid(pid, 0)
    out["bare_fork_status"] = status
    out["bare_fork"] = json.loads(data) if data else None
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
