"""Connecting to a Dask scheduler with a bound on the whole wait.

``distributed.Client(address, timeout=...)`` bounds the TCP connect, but not the handshake
that follows it: a listener that accepts and never answers (a wrong port, a proxy, a hung
scheduler) keeps the client waiting forever. And a Client whose start failed still closes
itself when it is collected, which prints a ``Client.__del__`` traceback after the error.
So the address is first tried with a plain comm, connect and handshake together under one
deadline; only a scheduler that answered gets a Client.
"""

from __future__ import annotations

import asyncio
import math
import threading

from ..errors import ArgumentValueError, MissingExtraError, ReprovarError

#: How long :func:`connect` waits for a scheduler to answer, by default, in seconds.
DEFAULT_CONNECT_TIMEOUT_S = 5.0


def connect(address: str, *, timeout: float = DEFAULT_CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` for the scheduler at ``address`` (not made the default).

    Raises :class:`~reprovar.errors.ReprovarError` when no scheduler there has answered
    within ``timeout`` seconds (connect and handshake together), or the address is malformed.

    Example:
        >>> connect("tcp://127.0.0.1:1", timeout=0.5)
        Traceback (most recent call last):
        ...
        reprovar.errors.ReprovarError: cannot reach the Dask scheduler at tcp://127.0.0.1:1: ...
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
            math.isfinite(timeout) and timeout > 0):
        raise ArgumentValueError(f"connect timeout must be a finite number of seconds > 0, got {timeout!r}")
    try:
        from distributed import Client
    except ImportError as e:
        raise MissingExtraError("--scheduler needs distributed: pip install 'reprovar[dask]'") from e
    _probe(address, float(timeout))
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ReprovarError(f"cannot reach the Dask scheduler at {address}: {e}") from e


def _probe(address: str, timeout: float) -> None:
    """Connect to ``address`` and complete Dask's handshake within ``timeout``, or raise."""
    from distributed.comm import connect as comm_connect

    async def handshake() -> None:
        comm = await asyncio.wait_for(comm_connect(address, timeout=timeout), timeout)
        await comm.close()

    failure: list[BaseException] = []

    def run() -> None:
        # A loop of its own, in a thread of its own: callers may be inside a running loop.
        try:
            asyncio.run(handshake())
        except BaseException as e:  # handed to the caller below
            failure.append(e)

    thread = threading.Thread(target=run, name="reprovar-dask-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if thread.is_alive() or (failure and isinstance(failure[0], (asyncio.TimeoutError, TimeoutError))):
        raise ReprovarError(
            f"cannot reach the Dask scheduler at {address}: no answer within {timeout:g} s "
            "(wait longer with --connect-timeout SECONDS, or timeout= in Python)")
    if failure:
        e = failure[0]
        if isinstance(e, (OSError, ValueError, TypeError)):
            raise ReprovarError(f"cannot reach the Dask scheduler at {address}: {e}") from e
        raise e
