"""Threads: reprovar's kernels right after torch's own parallel work."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def torch_idle():
    yield
