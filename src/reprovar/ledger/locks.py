"""A lock that a forked child gets anew.

``fork()`` copies a lock in the state it was in; if another thread of the parent held it, the
child (which has only the forking thread) would wait for it forever. A :class:`ForkSafeLock`
is replaced by a fresh lock in every child.

Example:
    >>> lock = ForkSafeLock()
    >>> with lock:
    ...     pass
"""

from __future__ import annotations

import os
import threading


class ForkSafeLock:
    """A ``threading.Lock`` (as a context manager) that is new and unheld in a forked child."""

    __slots__ = ("_lock", "__weakref__")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._renew)

    def _renew(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc) -> None:
        self._lock.release()
