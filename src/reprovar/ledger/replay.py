"""Replay: make a recorded variable again with the recorded algorithm, and prove it by digest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import DigestMismatchError
from . import digest as digests
from .records import VariableRecord

if TYPE_CHECKING:
    from ..variable import Variable


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
    from ..distributions import get_algorithm
    from ..validation import resolve_dtype
    from ..variable import Provenance, Variable

    if record.recipe is None:
        algorithm = get_algorithm(record.algorithm, record.algorithm_version)
        values = algorithm.generate(
            record.shape,
            resolve_dtype(record.dtype),
            seed=record.seed,
            **record.params,
        )
    else:
        values = made_by_recipe(record)
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
        low=record.low,
        high=record.high,
        recipe=record.recipe,
    )
    return Variable(values, record.name, provenance, record=record)


def made_by_recipe(record: VariableRecord):
    """The values of a row with a recipe (:mod:`reprovar.recipes`); a recipe this reprovar
    cannot read is a :class:`~reprovar.errors.MalformedRecordError`."""
    import numpy as np

    from ..distributions import get_algorithm
    from ..errors import ArgumentValueError, MalformedRecordError
    from ..recipes import Draw, Recipe, make

    try:
        recipe = Recipe.from_json(record.recipe)
        dtype = np.dtype(record.dtype) if record.dtype in _PLAIN_DTYPES else None
        if dtype is None:
            from ..validation import resolve_dtype

            dtype = resolve_dtype(record.dtype)
        if recipe.draws_base:
            algorithm = get_algorithm(record.algorithm, record.algorithm_version)
            return make(record.shape, dtype, Draw(record.distribution, record.params), record.seed, recipe, algorithm)
        return make(record.shape, dtype, None, record.seed, recipe)
    except ArgumentValueError as e:
        raise MalformedRecordError(
            f"row id {record.id} ({record.name!r} version {record.version}) has a recipe this "
            f"reprovar cannot make: {e}"
        ) from None


#: Dtypes a constant's row may have besides the sampler's floats (integer and boolean buffers).
_PLAIN_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})

