"""Replay: make a recorded variable again with the recorded algorithm, and prove it by digest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import DigestMismatchError
from . import digest as digests
from .records import VariableRecord

if TYPE_CHECKING:
    from ..variable import Variable


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
        **record.params,
    )
    ok, actual = digests.matches(values, record.digest)
    if not ok:
        raise DigestMismatchError(
            f"replayed {record.name!r} version {record.version} does not match its record: "
            f"digest {actual} != recorded {record.digest} (algorithm {record.algorithm} "
            f"v{record.algorithm_version}, seed {record.seed})"
        )
    provenance = Provenance(
        record.algorithm,
        record.algorithm_version,
        seed=record.seed,
        mean=record.mean,
        scale=record.scale,
        distribution=record.distribution,
        seed_source=record.seed_source or "user",
        low=record.low,
        high=record.high,
    )
    return Variable(values, record.name, provenance, record=record)

