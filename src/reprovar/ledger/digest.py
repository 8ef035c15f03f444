"""Digests of a variable's bytes, named by their scheme so that old digests stay checkable.

A digest is ``"<scheme>:<hex>"``. The current scheme, ``xxh3-128-tree4m``, is a two-level
tree of XXH3-128 hashes: the bytes are cut into fixed 4 MiB leaves (the last may be shorter,
an empty array has one empty leaf), each leaf is hashed, and the root is the XXH3-128 of the
concatenated 16-byte leaf digests followed by the total length as 8 little-endian bytes.
The leaf size is part of the scheme, not of the machine: the same bytes give the same digest
on any number of threads. Leaves are hashed in a thread pool (xxhash releases the GIL), so a
large variable is hashed at memory speed; a small one costs two hashes (~1 µs).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import xxhash

SCHEME = "xxh3-128-tree4m"
LEAF_BYTES = 4 << 20
#: Below this many leaves the pool's hand-off costs more than it saves.
_PARALLEL_MIN_LEAVES = 4

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # The child has no pool threads, and the lock may have been held by another thread.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():  # a forked child has no pool threads
            workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            _pool = ThreadPoolExecutor(max(1, workers or 1), thread_name_prefix="reprovar-digest")
            _pool_pid = os.getpid()
        return _pool


def _byte_view(array: np.ndarray) -> memoryview:
    # The variable's own buffer, not a copy: C-contiguous arrays (all variables) pass through.
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return memoryview(array.reshape(-1).view(np.uint8))


def _tree4m(data: memoryview, parallel: bool = True) -> str:
    n = len(data)
    hash_leaf = xxhash.xxh3_128_digest
    if n <= LEAF_BYTES:  # one leaf: the common, small case
        return xxhash.xxh3_128_hexdigest(hash_leaf(data) + n.to_bytes(8, "little"))
    leaves = -(-n // LEAF_BYTES)
    if parallel and leaves >= _PARALLEL_MIN_LEAVES:
        digests = _executor().map(
            lambda i: hash_leaf(data[i * LEAF_BYTES : (i + 1) * LEAF_BYTES]), range(leaves)
        )
    else:
        digests = (hash_leaf(data[i * LEAF_BYTES : (i + 1) * LEAF_BYTES]) for i in range(leaves))
    root = xxhash.xxh3_128()
    for d in digests:
        root.update(d)
    root.update(n.to_bytes(8, "little"))
    return root.hexdigest()


_SCHEMES: dict[str, Callable[..., str]] = {SCHEME: _tree4m}


def digest(array: np.ndarray, *, parallel: bool = True) -> str:
    """The digest of ``array``'s bytes (C order) under the current scheme.

    Example:
        >>> import numpy as np
        >>> d = digest(np.zeros(3, np.float32))
        >>> d.split(":")[0], len(d.split(":")[1])
        ('xxh3-128-tree4m', 32)
        >>> d == digest(np.zeros(3, np.float32), parallel=False)
        True
    """
    return f"{SCHEME}:{_tree4m(_byte_view(array), parallel)}"


def matches(array: np.ndarray, recorded: str) -> tuple[bool, str]:
    """Whether ``array`` has the ``recorded`` digest, and the digest it has under that scheme.

    Example:
        >>> import numpy as np
        >>> a = np.arange(4, dtype=np.float32)
        >>> matches(a, digest(a))[0]
        True
    """
    scheme, sep, _ = recorded.partition(":")
    if not sep or scheme not in _SCHEMES:
        from ..errors import LedgerError

        raise LedgerError(
            f"digest {recorded!r} uses scheme {scheme!r}, unknown to this reprovar "
            f"(known: {', '.join(sorted(_SCHEMES))})"
        )
    actual = f"{scheme}:{_SCHEMES[scheme](_byte_view(array))}"
    return actual == recorded, actual
