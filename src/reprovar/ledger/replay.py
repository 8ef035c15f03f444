"""Replay: make a recorded variable again with the recorded algorithm, and prove it by digest."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL

from ..errors import DigestMismatchError
from . import digest as digests
from .records import VariableRecord

if TYPE_CHECKING:
    from ..variable import Variable
    from .ledger import Ledger


def mismatch_message(record: VariableRecord, actual: str) -> str:
    """What a :class:`~reprovar.errors.DigestMismatchError` for ``record`` says."""
    return (
        f"replayed {record.name!r} version {record.version} does not match its record: "
        f"digest {actual} != recorded {record.digest} (algorithm {record.algorithm} "
        f"v{record.algorithm_version}, seed {record.seed})"
    )


def replay_record(record: VariableRecord) -> Variable:
    """Regenerate the variable ``record`` describes; raise if its bytes differ from the digest.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "rr.db"))
        >>> v = reprovar.random_normal_variable((3,), 1.0, 2.0, name="v", seed=9, ledger=led)
        >>> replay_record(led.get("v")).record.digest == v.record.digest
        True
    """
    from ..algorithms import get_algorithm
    from ..validation import resolve_dtype
    from ..variable import Provenance, Variable

    algorithm = get_algorithm(record.algorithm, record.algorithm_version)
    values = algorithm.generate(
        record.shape,
        resolve_dtype(record.dtype),
        seed=record.seed,
        mean=record.mean,
        scale=record.scale,
    )
    ok, actual = digests.matches(values, record.digest)
    if not ok:
        raise DigestMismatchError(mismatch_message(record, actual))
    provenance = Provenance(
        record.algorithm,
        record.algorithm_version,
        seed=record.seed,
        mean=record.mean,
        scale=record.scale,
        distribution=record.distribution,
        seed_source=record.seed_source or "user",
    )
    return Variable(values, record.name, provenance, record=record)


def replay(
    name: str | None = None,
    version: int | None = None,
    ledger: Ledger | str | os.PathLike | URL | None = None,
    *,
    id: int | None = None,
) -> Variable:
    """Make a recorded variable again, bit for bit, and check it against its recorded digest.

    Args:
        name: the variable's name.
        version: which version of ``name`` (default: the latest).
        ledger: a :class:`~reprovar.Ledger`, path or URL (default: the current ledger).
        id: the row id instead of a name and version.

    Raises :class:`~reprovar.errors.UnknownVariableError` (suggesting close names) and
    :class:`~reprovar.errors.DigestMismatchError`.

    Example:
        >>> import reprovar, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "replay.db")
        >>> v = reprovar.random_normal_variable((2, 2), 0.0, 1.0, name="w", ledger=path)
        >>> w = reprovar.replay("w", ledger=path)
        >>> bool((w.numpy() == v.numpy()).all()), w.seed == v.seed
        (True, True)
    """
    from .recording import get_ledger

    return get_ledger(ledger).replay(name, version, id=id)
