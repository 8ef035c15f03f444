"""``DaskVariable``, its constructors, replay as a Dask array, and writing to Zarr."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..api import check_arguments
from ..atomic_file import check_replaceable
from ..errors import (
    ArgumentValueError,
    DigestMismatchError,
    MissingExtraError,
    OutputExistsError,
    ReprovarError,
)
from ..seeding import fresh_seed
from ..distributions import get as get_distribution
from ..variable import Provenance, default_name
from .graph import chunk_array, compute_digest, normalize_chunks, regular_chunks
from .tasks import VariableSpec, spec_of_record

#: Most elements a variable may have: flat indices are int64 in the plans of its chunks.
MAX_ELEMENTS = 2**63 - 1


class DaskVariable:
    """A variable as a Dask array, with the provenance and ledger record of an in-memory one.

    ``.array`` is a ``dask.array.Array`` (lazy: nothing is made until it is computed);
    ``.record`` the ledger row (None when not recorded); ``.name``, ``.shape``, ``.dtype``,
    ``.seed``, ``.provenance``, ``.nbytes`` as on :class:`reprovar.Variable`.

    Example:
        >>> import reprovar.dask
        >>> v = reprovar.dask.random_normal_variable((4, 3), 0.0, 1.0, name="w", seed=1, chunks=2, record=False)
        >>> v.name, v.shape, str(v.dtype), v.array.chunks
        ('w', (4, 3), 'float32', ((2, 2), (2, 1)))
    """

    __slots__ = ("_array", "_name", "_provenance", "_spec", "record")

    def __init__(self, array, name: str, provenance: Provenance, spec: VariableSpec, record: Any = None):
        self._array = array
        self._name = name
        self._provenance = provenance
        self._spec = spec
        self.record = record  # the ledger row this variable was recorded as, if any

    @property
    def array(self):
        return self._array

    @property
    def name(self) -> str:
        return self._name

    @property
    def shape(self) -> tuple[int, ...]:
        return self._spec.shape

    @property
    def dtype(self) -> np.dtype:
        return self._spec.numpy_dtype()

    @property
    def seed(self) -> int:
        return self._provenance.seed

    @property
    def provenance(self) -> Provenance:
        return self._provenance

    @property
    def size(self) -> int:
        return self._spec.size

    @property
    def nbytes(self) -> int:
        return self._spec.nbytes

    @property
    def spec(self) -> VariableSpec:
        """What each task is sent: everything that determines the values."""
        return self._spec

    def __repr__(self) -> str:
        return (
            f"<reprovar.dask.DaskVariable {self._name!r} shape={self.shape} dtype={self.dtype} "
            f"chunks={self._array.chunksize}>"
        )


def _check_size(shape: tuple[int, ...], dtype: np.dtype) -> None:
    # No limit from this machine's memory: the variable never exists in one place.
    if math.prod(shape) > MAX_ELEMENTS:
        raise ArgumentValueError(f"shape={shape} has {math.prod(shape)} elements; at most 2**63 - 1 are supported")


def _variable(distribution, params, shape, dtype, name, seed, chunks, record, ledger, on_record_error,
              *, resolve=None) -> DaskVariable:
    # The one path of every Dask maker: the in-memory makers' checks (so the same first
    # error), then a chunked graph; recorded, with its digest computed on the cluster,
    # unless recording is off.
    a = check_arguments(distribution, params, shape, dtype, name, seed, record, ledger, on_record_error,
                        resolve=resolve, check_size=_check_size)
    d = a.distribution
    if not d.elementwise:
        raise ArgumentValueError(
            f"a {d.name} variable's values depend on the whole variable, so it cannot be "
            "made in chunks; make it in memory (reprovar.orthogonal_variable)"
        )
    algorithm = d.default
    seed_source = "os" if a.seed is None else "user"
    seed = fresh_seed() if a.seed is None else a.seed
    name = default_name() if a.name is None else a.name
    spec = VariableSpec(algorithm.name, algorithm.version, a.shape, a.dtype.name, seed, tuple(a.params.items()))
    array = chunk_array(spec, normalize_chunks(chunks, spec))
    provenance = Provenance(
        algorithm.name, algorithm.version, seed=seed, distribution=d.name, seed_source=seed_source, **a.params
    )
    variable = DaskVariable(array, name, provenance, spec)
    if record is not False:
        from ..recorder import record_checked_variable, will_record

        if will_record(record):
            variable.record = record_checked_variable(
                variable, record=record, ledger=ledger, on_record_error=on_record_error,
                digest=compute_digest(spec),
            )
    return variable


def random_variable(
    distribution,
    shape,
    dtype=None,
    name=None,
    seed=None,
    *,
    chunks="auto",
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
    **params,
) -> DaskVariable:
    """:func:`reprovar.random_variable` as a Dask array, in any ``chunks``, for any elementwise
    registered distribution.

    Example:
        >>> import reprovar, reprovar.dask
        >>> v = reprovar.dask.random_variable("uniform", (5, 4), low=-1.0, high=1.0, seed=3, chunks=2, record=False)
        >>> w = reprovar.random_uniform_variable((5, 4), -1.0, 1.0, seed=3, record=False)
        >>> bool((v.array.compute() == w.numpy()).all())
        True
    """
    get_distribution(distribution)  # the name first: a bad one is the error, whatever the rest
    return _variable(distribution, params, shape, dtype, name, seed, chunks, record, ledger, on_record_error)


def random_normal_variable(
    shape,
    mean,
    scale,
    dtype=None,
    name=None,
    seed=None,
    *,
    chunks="auto",
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> DaskVariable:
    """:func:`reprovar.random_normal_variable` as a Dask array, in any ``chunks``.

    The arguments are those of the in-memory function, plus ``chunks``: ``"auto"`` (Dask's
    default size), an int, a tuple per dimension, explicit (also irregular) sizes such as
    ``((3, 5, 2), (4,))``, or a dict. When recorded, the digest is computed on the current
    Dask scheduler before this returns, without gathering the values.

    Example:
        >>> import reprovar, reprovar.dask, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "dask.db"))
        >>> v = reprovar.dask.random_normal_variable((10, 4), 0.0, 1.0, name="w", seed=3,
        ...                                          chunks=((3, 7), (1, 3)), ledger=led)
        >>> w = reprovar.random_normal_variable((10, 4), 0.0, 1.0, seed=3, record=False)
        >>> v.record.digest == led.get("w").digest, bool((v.array.compute() == w.numpy()).all())
        (True, True)
    """
    return _variable("normal", {"mean": mean, "scale": scale}, shape, dtype, name, seed, chunks,
                     record, ledger, on_record_error)


def random_uniform_variable(
    shape,
    low,
    high,
    dtype=None,
    name=None,
    seed=None,
    *,
    chunks="auto",
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> DaskVariable:
    """:func:`reprovar.random_uniform_variable` as a Dask array, in any ``chunks``.

    Example:
        >>> import reprovar, reprovar.dask
        >>> v = reprovar.dask.random_uniform_variable((5, 4), -1.0, 1.0, seed=3, chunks=2, record=False)
        >>> w = reprovar.random_uniform_variable((5, 4), -1.0, 1.0, seed=3, record=False)
        >>> bool((v.array.compute() == w.numpy()).all())
        True
    """
    return _variable("uniform", {"low": low, "high": high}, shape, dtype, name, seed, chunks,
                     record, ledger, on_record_error)


def truncated_normal_variable(
    shape,
    mean,
    scale,
    dtype=None,
    name=None,
    seed=None,
    *,
    low=None,
    high=None,
    chunks="auto",
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> DaskVariable:
    """:func:`reprovar.truncated_normal_variable` as a Dask array, in any ``chunks``.

    Example:
        >>> import reprovar, reprovar.dask
        >>> v = reprovar.dask.truncated_normal_variable((5, 4), 0.0, 1.0, seed=3, chunks=2, record=False)
        >>> w = reprovar.truncated_normal_variable((5, 4), 0.0, 1.0, seed=3, record=False)
        >>> bool((v.array.compute() == w.numpy()).all())
        True
    """
    params = {"mean": mean, "scale": scale, "low": low, "high": high}
    return _variable("truncated_normal", params, shape, dtype, name, seed, chunks, record, ledger, on_record_error)


def variance_scaling_variable(
    shape,
    scale=1.0,
    mode="fan_in",
    distribution="truncated_normal",
    dtype=None,
    name=None,
    seed=None,
    *,
    chunks="auto",
    record: bool | None = None,
    ledger: Any = None,
    on_record_error: str = "raise",
) -> DaskVariable:
    """:func:`reprovar.variance_scaling_variable` as a Dask array, in any ``chunks``: the
    same resolved distribution and parameters (:func:`reprovar.variance_scaling.resolve`).

    Example:
        >>> import reprovar, reprovar.dask
        >>> v = reprovar.dask.variance_scaling_variable((6, 4), 2.0, "fan_avg", "uniform", seed=3, chunks=3, record=False)
        >>> w = reprovar.variance_scaling_variable((6, 4), 2.0, "fan_avg", "uniform", seed=3, record=False)
        >>> bool((v.array.compute() == w.numpy()).all()), v.provenance.distribution
        (True, 'uniform')
    """
    from ..distributions.variance_scaling import resolve_for

    def resolve(checked_shape, checked_dtype):
        return resolve_for(checked_shape, scale, mode, distribution, checked_dtype)

    return _variable(None, None, shape, dtype, name, seed, chunks, record, ledger, on_record_error, resolve=resolve)


def digest(variable: DaskVariable, *, client=None) -> str:
    """The variable's digest, computed on the workers leaf by leaf (``client``: a
    ``distributed.Client``; None: Dask's current scheduler).

    Example:
        >>> import reprovar, reprovar.dask
        >>> v = reprovar.dask.random_normal_variable((3, 3), 0.0, 1.0, seed=2, chunks=2, record=False)
        >>> from reprovar.ledger.digest import digest as in_memory
        >>> digest(v) == in_memory(reprovar.random_normal_variable((3, 3), 0.0, 1.0, seed=2, record=False).numpy())
        True
    """
    return compute_digest(variable.spec, scheduler=client)


def _check_digest(record, spec: VariableSpec, client) -> None:
    from ..ledger.digest import SCHEME, scheme_of
    from ..ledger.replay import mismatch_message

    if scheme_of(record.digest) != SCHEME:
        raise ReprovarError(f"digest scheme of {record.digest!r} cannot be computed on a cluster")
    actual = compute_digest(spec, scheduler=client)
    if actual != record.digest:
        raise DigestMismatchError(mismatch_message(record, actual))


def _replayed(record, chunks) -> DaskVariable:
    spec = spec_of_record(record)
    provenance = Provenance(
        spec.algorithm, spec.algorithm_version, seed=spec.seed, distribution=record.distribution,
        seed_source=record.seed_source or "user", **spec.params,
    )
    return DaskVariable(chunk_array(spec, normalize_chunks(chunks, spec)), record.name, provenance, spec, record)


def replay(
    name: str | None = None,
    version: int | None = None,
    *,
    ledger: Any = None,
    chunks="auto",
    verify: bool = False,
    client=None,
    id: int | None = None,
):
    """A recorded variable made again as a Dask array (lazy), in any ``chunks``.

    Args:
        name, version, id: which variable, as for :func:`reprovar.replay`.
        ledger: a :class:`~reprovar.Ledger`, path or URL (default: the current ledger).
        chunks: any Dask chunks specification.
        verify: first compute the digest on the workers (one pass over the values) and raise
            :class:`~reprovar.errors.DigestMismatchError` if it differs from the record.
        client: the ``distributed.Client`` for ``verify`` (None: Dask's current scheduler).

    Example:
        >>> import reprovar, reprovar.dask, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "replay.db")
        >>> v = reprovar.random_normal_variable((4, 4), 0.0, 1.0, name="w", seed=8, ledger=path)
        >>> a = reprovar.dask.replay("w", ledger=path, chunks=3, verify=True)
        >>> bool((a.compute() == v.numpy()).all())
        True
    """
    from ..recorder import get_ledger

    record = get_ledger(ledger).get(name, version, id=id)
    variable = _replayed(record, chunks)
    if verify:
        _check_digest(record, variable.spec, client)
    return variable.array


def write_zarr(
    name: str | None,
    path: str | os.PathLike,
    version: int | None = None,
    *,
    ledger: Any = None,
    chunks="auto",
    client=None,
    force: bool = False,
    id: int | None = None,
):
    """Replay a recorded variable into a Zarr store at ``path``; return its record.

    The digest is checked on the workers first (nothing is written for a variable that does
    not match its record); then each chunk is made and written by a worker. Chunks are made
    regular (one size per dimension, the largest given), as Zarr requires. The store is
    written beside ``path`` and renamed into place: a complete store or none. Its attributes
    name the variable (``reprovar`` key: name, version, id, seed, digest, algorithm, ...).
    Zarr has no bfloat16 data type: such variables are refused. ``path`` is a local path, on a
    file system the workers share with this process.

    Example:
        >>> import reprovar, reprovar.dask, tempfile, os, zarr
        >>> d = tempfile.mkdtemp()
        >>> v = reprovar.random_normal_variable((5, 3), 0.0, 1.0, name="w", seed=8, ledger=os.path.join(d, "z.db"))
        >>> r = write_zarr("w", os.path.join(d, "w.zarr"), ledger=os.path.join(d, "z.db"), chunks=2)
        >>> z = zarr.open_array(os.path.join(d, "w.zarr"), mode="r")
        >>> z.chunks, bool((z[:] == v.numpy()).all()), z.attrs["reprovar"]["digest"] == r.digest
        ((2, 2), True, True)
    """
    import dask

    try:
        import zarr
    except ImportError as e:
        raise MissingExtraError("writing Zarr stores needs zarr: pip install 'reprovar[zarr]'") from e
    from ..recorder import get_ledger

    record = get_ledger(ledger).get(name, version, id=id)
    target = Path(path)
    # A link is refused, dangling or not, as -o refuses one: replacing it would drop it, and
    # writing through it would write where the command line did not say.
    if check_replaceable(target, directory=True) and not force:
        raise OutputExistsError(f"{target} already exists; use --force (force=True) to overwrite it")
    if not target.parent.is_dir():
        raise ReprovarError(f"cannot write {target}: directory {target.parent} does not exist")
    if record.dtype == "bfloat16":
        raise ArgumentValueError(f"Zarr has no bfloat16 data type: {record.name!r} cannot be written to Zarr")
    variable = _replayed(record, chunks)
    spec = variable.spec
    array = chunk_array(spec, regular_chunks(variable.array.chunks, spec.shape))
    _check_digest(record, spec, client)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        store = staging / "store.zarr"
        dask.compute(array.to_zarr(str(store), compute=False, mode="w-"), scheduler=client)
        zarr.open_array(str(store), mode="r+").attrs["reprovar"] = record.to_dict()
        if check_replaceable(target, directory=True):  # again: it may have changed meanwhile
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(store, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record
