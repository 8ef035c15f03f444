"""Digests of a variable's bytes, named by their scheme so that old digests stay checkable.

A digest is ``"<scheme>:<hex>"``. The current scheme, ``xxh3-128-tree4m``, is a two-level
tree of XXH3-128 hashes: the bytes are cut into fixed 4 MiB leaves (the last may be shorter,
an empty array has one empty leaf), each leaf is hashed, and the root is the XXH3-128 of the
concatenated 16-byte leaf digests followed by the total length as 8 little-endian bytes.
The leaf size is part of the scheme, not of the machine: the same bytes give the same digest
on any number of threads. Leaves are hashed in a thread pool (xxhash releases the GIL), so a
large variable is hashed at memory speed; a small one costs two hashes.

The two levels are public (:func:`leaf_ranges`, :func:`leaf_digest`, :func:`combine`) so that
a variable spread over many machines can be digested where its pieces are made: each leaf
is hashed where it is generated and only the 16-byte leaf digests travel.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import xxhash

from .locks import ForkSafeLock

SCHEME = "xxh3-128-tree4m"
LEAF_BYTES = 4 << 20
#: Below this many leaves the pool's hand-off costs more than it saves.
_PARALLEL_MIN_LEAVES = 4

_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_lock = ForkSafeLock()


def _after_fork_in_child() -> None:
    # The child has no pool threads (and gets _pool_lock anew).
    global _pool
    _pool = None


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


def leaf_count(nbytes: int) -> int:
    """How many leaves ``nbytes`` bytes make: at least one (an empty array has one empty leaf).

    Example:
        >>> leaf_count(0), leaf_count(LEAF_BYTES), leaf_count(LEAF_BYTES + 1)
        (1, 1, 2)
    """
    return max(1, -(-nbytes // LEAF_BYTES))


def leaf_ranges(nbytes: int) -> list[tuple[int, int]]:
    """The byte range ``[lo, hi)`` of each leaf of ``nbytes`` bytes, in order.

    Example:
        >>> leaf_ranges(LEAF_BYTES + 3) == [(0, LEAF_BYTES), (LEAF_BYTES, LEAF_BYTES + 3)]
        True
    """
    return [(i * LEAF_BYTES, min(nbytes, (i + 1) * LEAF_BYTES)) for i in range(leaf_count(nbytes))]


def leaf_digest(data) -> bytes:
    """The 16-byte XXH3-128 digest of one leaf (any bytes-like object of at most ``LEAF_BYTES``).

    Example:
        >>> len(leaf_digest(b"abc"))
        16
    """
    return xxhash.xxh3_128_digest(data)


def _root(leaf_digests, nbytes: int) -> str:
    root = xxhash.xxh3_128()
    for d in leaf_digests:
        root.update(d)
    root.update(nbytes.to_bytes(8, "little"))
    return root.hexdigest()


def combine(leaf_digests, nbytes: int) -> str:
    """The digest (``"<scheme>:<hex>"``) of ``nbytes`` bytes from the digests of its leaves, in order.

    ``leaf_digests`` is an iterable of 16-byte digests, or their concatenation as one bytes
    object; there must be :func:`leaf_count` of them.

    Example:
        >>> import numpy as np
        >>> a = np.arange(10, dtype=np.float64)
        >>> data = a.tobytes()
        >>> leaves = [leaf_digest(data[lo:hi]) for lo, hi in leaf_ranges(len(data))]
        >>> combine(leaves, len(data)) == digest(a)
        True
    """
    if isinstance(leaf_digests, (bytes, bytearray, memoryview)):
        leaf_digests = [bytes(leaf_digests)]
    leaf_digests = list(leaf_digests)
    total = sum(len(d) for d in leaf_digests)
    if total != 16 * leaf_count(nbytes):
        from ..errors import ArgumentValueError

        raise ArgumentValueError(
            f"leaf_digests must hold {leaf_count(nbytes)} 16-byte digests for nbytes={nbytes}, "
            f"got {total} bytes"
        )
    return f"{SCHEME}:{_root(leaf_digests, nbytes)}"


def _tree4m(data: memoryview, parallel: bool = True) -> str:
    n = len(data)
    hash_leaf = xxhash.xxh3_128_digest
    if n <= LEAF_BYTES:  # one leaf: the common, small case
        return xxhash.xxh3_128_hexdigest(hash_leaf(data) + n.to_bytes(8, "little"))
    leaves = leaf_count(n)
    if parallel and leaves >= _PARALLEL_MIN_LEAVES:
        digests = _executor().map(
            lambda i: hash_leaf(data[i * LEAF_BYTES : (i + 1) * LEAF_BYTES]), range(leaves)
        )
    else:
        digests = (hash_leaf(data[i * LEAF_BYTES : (i + 1) * LEAF_BYTES]) for i in range(leaves))
    return _root(digests, n)


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


def scheme_of(recorded: str) -> str:
    """The scheme a recorded digest names; :class:`~reprovar.errors.LedgerError` if unknown here.

    Example:
        >>> scheme_of("xxh3-128-tree4m:00")
        'xxh3-128-tree4m'
    """
    scheme, sep, _ = recorded.partition(":")
    if not sep or scheme not in _SCHEMES:
        from ..errors import LedgerError

        raise LedgerError(
            f"digest {recorded!r} uses scheme {scheme!r}, unknown to this reprovar "
            f"(known: {', '.join(sorted(_SCHEMES))})"
        )
    return scheme


def matches(array: np.ndarray, recorded: str) -> tuple[bool, str]:
    """Whether ``array`` has the ``recorded`` digest, and the digest it has under that scheme.

    Example:
        >>> import numpy as np
        >>> a = np.arange(4, dtype=np.float32)
        >>> matches(a, digest(a))[0]
        True
    """
    scheme = scheme_of(recorded)
    actual = f"{scheme}:{_SCHEMES[scheme](_byte_view(array))}"
    return actual == recorded, actual
