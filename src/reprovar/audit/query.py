"""Finding recorded variables: filters, their SQL, and the records that come back.

Every filter becomes a SQL condition the indexes can serve (name, seed, created, run); name
patterns are then rechecked exactly in Python, because ``LIKE`` and ``=`` on names differ
between backends in case and trailing spaces (see :mod:`.patterns`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from sqlalchemy import and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from ..errors import ArgumentTypeError, ArgumentValueError, MalformedRecordError, UnknownRunError
from ..ledger.models import PARAMETER_COLUMNS, runs_table, variables_table
from ..ledger.records import MalformedRow, RunRecord, VariableRecord
from .errors import BadFilterError
from .patterns import LIKE_ESCAPE, POSTGRESQL_LIKE_ESCAPE, glob_matcher, glob_to_like, is_pattern
from .times import parse_time

if TYPE_CHECKING:
    from ..ledger import Ledger

_V = variables_table.c
_R = runs_table.c
_INT64_MAX = 2**63 - 1
_UINT64_MAX = (1 << 64) - 1
#: Backends whose name column sorts by code point (SQLite BINARY, MariaDB utf8mb4_bin).
_CODE_POINT_ORDER = {"sqlite", "mysql", "mariadb"}
#: Rows fetched per round trip when streaming (verification, export).
BATCH = 1000


class Records(list):
    """A list of :class:`~reprovar.ledger.VariableRecord` that can become a pandas DataFrame.

    Example:
        >>> Records().to_dicts()
        []
    """

    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-ready dicts, one per record."""
        return [r.to_dict() for r in self]

    record_type: type = VariableRecord

    def to_dataframe(self):
        """A pandas DataFrame, one row per record (needs pandas: ``pip install pandas``)."""
        from .frames import records_to_dataframe

        return records_to_dataframe(self, self.record_type)


class RunRecords(Records):
    """A list of :class:`~reprovar.ledger.RunRecord` that can become a pandas DataFrame.

    Example:
        >>> RunRecords().record_type.__name__
        'RunRecord'
    """

    record_type = RunRecord


@dataclass(frozen=True)
class VariableFilter:
    """Which variables a query selects; every field left as None selects everything.

    ``name`` is an exact name, or a glob pattern when it contains ``*`` (any characters) or
    ``?`` (one character); matching is case-sensitive on every backend. ``since`` is
    inclusive and ``until`` exclusive; build one with :meth:`create` to accept ISO 8601
    strings (naive times are UTC; ``until`` as a bare date includes that whole day).
    ``distribution`` is a name in :data:`reprovar.distributions.REGISTRY` (``"normal"``,
    ``"uniform"``, ...).

    Example:
        >>> f = VariableFilter.create(name="dense_*", since="2026-11-29", shape="2x3")
        >>> f.shape, f.since.isoformat()
        ((2, 3), '2026-11-29T00:00:00+00:00')
        >>> VariableFilter.create(distribution="uniform").distribution
        'uniform'
    """

    name: str | None = None
    run: int | None = None
    seed: int | None = None
    dtype: str | None = None
    algorithm: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    shape: tuple[int, ...] | None = None
    distribution: str | None = None

    @classmethod
    def create(
        cls,
        *,
        name: str | None = None,
        run: int | str | None = None,
        seed: int | str | None = None,
        dtype: str | None = None,
        algorithm: str | None = None,
        since: str | dt.date | dt.datetime | None = None,
        until: str | dt.date | dt.datetime | None = None,
        shape: str | int | tuple[int, ...] | list[int] | None = None,
        distribution: str | None = None,
    ) -> VariableFilter:
        """Validate and normalize filter values; raises :class:`BadFilterError` on bad input.

        ``run`` and ``seed`` may be given as text too (decimal, or ``0x`` hex for seeds), as
        a command line passes them.
        """
        if name is not None and not isinstance(name, str):
            raise BadFilterError(f"name must be a str, got {type(name).__name__}")
        if run is not None:
            run = _check_int(_from_text(run, "run id"), "run", 0, None)
        if seed is not None:
            seed = _check_int(_from_text(seed, "seed"), "seed", 0, _UINT64_MAX)
        if dtype is not None:
            dtype = _check_dtype(dtype)
        if algorithm is not None and not isinstance(algorithm, str):
            raise BadFilterError(f"algorithm must be a str, got {type(algorithm).__name__}")
        if distribution is not None:
            distribution = _check_distribution(distribution)
        since_t = None if since is None else parse_time(since)
        until_t = None if until is None else parse_time(until, end_of_day=True)
        return cls(name, run, seed, dtype, algorithm, since_t, until_t,
                   None if shape is None else parse_shape(shape), distribution)

    def conditions(self, dialect: str | None = None) -> list[ColumnElement[bool]]:
        """The SQL conditions on the ``variables`` table (names still need :meth:`accepts`).

        ``dialect`` (``ledger.engine.dialect.name``) enables a range on the name index for
        patterns with a literal prefix, where names sort by code point (SQLite, MariaDB's
        binary collation). PostgreSQL's collation may be linguistic: there ``LIKE 'prefix%'``
        without an ``ESCAPE`` clause lets the planner use the ``varchar_pattern_ops`` index.
        """
        out: list[ColumnElement[bool]] = []
        if self.name is not None:
            if is_pattern(self.name) and dialect == "postgresql":
                out.append(_V.name.like(glob_to_like(self.name, POSTGRESQL_LIKE_ESCAPE)))
            elif is_pattern(self.name):
                out.append(_V.name.like(glob_to_like(self.name), escape=LIKE_ESCAPE))
                prefix = _literal_prefix(self.name)
                if prefix and dialect in _CODE_POINT_ORDER:  # SQLite's LIKE cannot use the index
                    out.append(_V.name >= prefix)
                    upper = _prefix_upper_bound(prefix)
                    if upper is not None:
                        out.append(_V.name < upper)
            else:
                out.append(_V.name == self.name)
        if self.run is not None:
            out.append(_V.run_id == self.run)
        if self.seed is not None:
            out.append(_V.seed == self.seed)
        if self.dtype is not None:
            out.append(_V.dtype == self.dtype)
        if self.algorithm is not None:
            out.append(_V.algorithm == self.algorithm)
        if self.since is not None:
            out.append(_V.created >= self.since)
        if self.until is not None:
            out.append(_V.created < self.until)
        if self.shape is not None:
            out.append(_V.shape == json.dumps(list(self.shape)))  # as the ledger writes it
        if self.distribution is not None:
            out.append(_V.distribution == self.distribution)
        return out

    def accepts(self, record: VariableRecord) -> bool:
        """The exact, case-sensitive name check that the SQL conditions only approximate."""
        return self.accepts_name(record.name)

    def accepts_name(self, name: str) -> bool:
        """Whether ``name`` matches :attr:`name` exactly (glob or not), case-sensitively."""
        if self.name is None:
            return True
        if is_pattern(self.name):
            return glob_matcher(self.name)(name)
        return name == self.name


def parse_shape(shape: str | int | tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """A shape from a tuple, an int, or text such as ``"2x3"``, ``"2,3"``, ``"(2, 3)"``, ``"()"``.

    Example:
        >>> parse_shape("2x3"), parse_shape("[4]"), parse_shape("()"), parse_shape(5)
        ((2, 3), (4,), (), (5,))
    """
    if isinstance(shape, str):
        text = shape.strip().strip("()[]").strip()
        parts = [p for p in re.split(r"[x,\s]+", text) if p] if text else []
        try:
            dims = [int(p) for p in parts]
        except ValueError:
            raise BadFilterError(f"malformed shape {shape!r}: expected e.g. 2x3, 2,3 or (2, 3)") from None
        shape = tuple(dims)
    from ..validation import check_shape

    try:
        return check_shape(shape)
    except (ArgumentTypeError, ArgumentValueError) as e:
        raise BadFilterError(str(e)) from None


def select_variables(flt: VariableFilter, dialect: str | None = None):
    """The SELECT for ``flt``, in creation order (row id).

    Example:
        >>> "ORDER BY reprovar_variables.id" in str(select_variables(VariableFilter.create(seed=3)))
        True
    """
    return select(variables_table).where(and_(True, *flt.conditions(dialect))).order_by(_V.id)


def find(ledger: Ledger, flt: VariableFilter | None = None, *, limit: int | None = None) -> Records:
    """The records ``flt`` selects, oldest first; see :meth:`reprovar.Ledger.find`.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "fd.db"))
        >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=3, ledger=led)
        >>> [r.name for r in find(led, VariableFilter.create(seed=3))]
        ['w']
    """
    flt = flt or VariableFilter()
    if limit is not None:
        limit = _check_int(limit, "limit", 0, None)
    out = Records()
    if limit == 0:
        return out
    batch = BATCH if limit is None else min(BATCH, limit)  # a small limit fetches little
    for record in iter_variables(ledger, flt, batch=batch):
        out.append(record)
        if limit is not None and len(out) >= limit:
            break
    return out


def iter_rows(ledger: Ledger, flt: VariableFilter | None = None, *, batch: int = BATCH) -> Iterator[VariableRecord | MalformedRow]:
    """Stream the selected rows in id order, ``batch`` per query (bounded memory): a
    :class:`~reprovar.ledger.VariableRecord` for each row, or a
    :class:`~reprovar.ledger.records.MalformedRow` saying why a row cannot be one.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "ir.db"))
        >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> [type(r).__name__ for r in iter_rows(led)]
        ['VariableRecord']
    """
    flt = flt or VariableFilter()
    if flt.run is not None:
        ledger.run(flt.run)  # raises UnknownRunError with the ledger's message
    base = select_variables(flt, ledger.engine.dialect.name)
    last = None
    while True:
        stmt = base if last is None else base.where(_V.id > last)
        with ledger.connect() as connection:
            rows = connection.execute(stmt.limit(batch)).all()
        for item in map(read_row, rows):
            if isinstance(item.name, str) and flt.accepts_name(item.name):
                yield item
            elif not isinstance(item.name, str):
                yield item  # a malformed name: reported, whatever the filter
        if len(rows) < batch:
            return
        last = rows[-1].id


def read_row(row: Any) -> VariableRecord | MalformedRow:
    """A ``variables`` row as a record, or as a :class:`~reprovar.ledger.records.MalformedRow`."""
    try:
        return VariableRecord.from_row(row)
    except MalformedRecordError as e:
        return e.row


def iter_variables(
    ledger: Ledger,
    flt: VariableFilter | None = None,
    *,
    batch: int = BATCH,
    on_malformed: Callable[[MalformedRow], None] | None = None,
) -> Iterator[VariableRecord]:
    """Stream the selected records in id order, ``batch`` rows per query (bounded memory).

    A malformed row raises :class:`~reprovar.errors.MalformedRecordError`, or, given
    ``on_malformed``, is handed to it and skipped.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "it.db"))
        >>> for i in range(3):
        ...     _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name=f"w{i}", seed=i, ledger=led)
        >>> [r.name for r in iter_variables(led, batch=2)]
        ['w0', 'w1', 'w2']
    """
    for item in iter_rows(ledger, flt, batch=batch):
        if isinstance(item, MalformedRow):
            if on_malformed is None:
                raise MalformedRecordError(item.message(), item)
            on_malformed(item)
        else:
            yield item


def count(ledger: Ledger, flt: VariableFilter | None = None) -> int:
    """How many records ``flt`` selects (exact, with the Python name check).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "n.db"))
        >>> count(led)
        0
    """
    flt = flt or VariableFilter()
    if flt.run is not None:
        ledger.run(flt.run)
    where = and_(True, *flt.conditions(ledger.engine.dialect.name))
    if flt.name is None:
        stmt = select(func.count()).select_from(variables_table).where(where)
        with ledger.connect() as connection:
            return connection.execute(stmt).scalar_one()
    # Names are rechecked in Python (grouping by name would merge "a" and "a " on MariaDB).
    with ledger.connect() as connection:
        names = connection.execute(select(_V.name).where(where)).scalars()
        return sum(1 for name in names if flt.accepts_name(name))


def history(ledger: Ledger, name: str) -> Records:
    """Every version of ``name``, oldest first; raises ``UnknownVariableError`` with suggestions.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "hi.db"))
        >>> for s in (1, 2):
        ...     _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=s, ledger=led)
        >>> [r.version for r in history(led, "w")]
        [1, 2]
    """
    records = Records()
    for item in history_rows(ledger, name):
        if isinstance(item, MalformedRow):
            raise MalformedRecordError(item.message(), item)
        records.append(item)
    return records


def history_rows(ledger: Ledger, name: str) -> list[VariableRecord | MalformedRow]:
    """:func:`history`, with a :class:`~reprovar.ledger.records.MalformedRow` for each row that
    cannot be read as a record."""
    if not isinstance(name, str):
        raise BadFilterError(f"name must be a str, got {type(name).__name__}")
    stmt = select(variables_table).where(_V.name == name).order_by(_V.version)
    with ledger.connect() as connection:
        rows = connection.execute(stmt).all()
    found = [item for item in map(read_row, rows) if item.name == name]
    if not found:
        ledger.get(name)  # raises the ledger's "no variable named ...; did you mean ..." error
    return found


def seal_of(ledger: Ledger, name: str, version: int) -> str | None:
    """The seal the ledger holds for ``name`` version ``version`` ("" for a row without one),
    or None when there is no such row.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "so.db"))
        >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=3, ledger=led)
        >>> seal_of(led, "w", 1) == v.record.seal, seal_of(led, "w", 2)
        (True, None)
    """
    stmt = select(_V.name, _V.seal).where(_V.name == name, _V.version == version)
    with ledger.connect() as connection:
        for found, seal in connection.execute(stmt):
            if found == name:  # exact, whatever the backend's collation
                return seal or ""
    return None


#: Distribution parameters, compared as the distribution has them (see :func:`changes`).
PARAMETER_FIELDS = PARAMETER_COLUMNS
#: Fields compared between consecutive versions by :func:`changes`.
COMPARED_FIELDS = ("seed", "seed_source", "shape", "dtype", "distribution", *PARAMETER_FIELDS, "algorithm",
                   "algorithm_version", "recipe", "digest", "run_id")


def changes(older: VariableRecord, newer: VariableRecord) -> dict[str, tuple[Any, Any]]:
    """What differs between two records: ``{field: (old, new)}`` over :data:`COMPARED_FIELDS`.

    A parameter (:data:`PARAMETER_FIELDS`) is compared as the record's distribution has it
    (:attr:`~reprovar.ledger.VariableRecord.params`): ``None`` where the distribution has no
    such parameter, ``inf``/``-inf`` for a truncated normal's infinite bound.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "h.db"))
        >>> for seed in (1, 2):
        ...     _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=seed, ledger=led)
        >>> a, b = led.history("w")
        >>> changes(a, b)["seed"]
        (1, 2)
        >>> for high in (0.1, 0.2):
        ...     _ = reprovar.random_uniform_variable((2,), -0.1, high, name="u", seed=1, ledger=led)
        >>> a, b = led.history("u")
        >>> changes(a, b)["high"]
        (0.1, 0.2)
    """
    old_params, new_params = _params_or_none(older), _params_or_none(newer)
    out = {}
    for field in COMPARED_FIELDS:
        if field in PARAMETER_FIELDS and old_params is not None and new_params is not None:
            old, new = old_params.get(field), new_params.get(field)
        else:
            old, new = getattr(older, field), getattr(newer, field)
        if old != new:
            out[field] = (old, new)
    return out


def _params_or_none(record: VariableRecord) -> dict[str, float] | None:
    try:
        return record.params
    except ValueError:  # a distribution this version does not know: compare the stored columns
        return None


def runs(ledger: Ledger, *, since=None, until=None) -> RunRecords:
    """All runs, oldest first, optionally only those started in [since, until).

    Example:
        >>> import reprovar, tempfile, os
        >>> runs(reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "ru.db")))
        []
    """
    stmt = select(runs_table).order_by(_R.id)
    if since is not None:
        stmt = stmt.where(_R.started >= parse_time(since))
    if until is not None:
        stmt = stmt.where(_R.started < parse_time(until, end_of_day=True))
    with ledger.connect() as connection:
        return RunRecords(RunRecord.from_row(row) for row in connection.execute(stmt))


def variable_counts(ledger: Ledger) -> dict[int, int]:
    """How many variables each run created: ``{run_id: count}`` (runs with none are absent).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "vc.db"))
        >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, seed=1, ledger=led)
        >>> variable_counts(led) == {v.record.run_id: 1}
        True
    """
    stmt = select(_V.run_id, func.count()).group_by(_V.run_id)
    with ledger.connect() as connection:
        return {run_id: n for run_id, n in connection.execute(stmt)}


def get_run(ledger: Ledger, run_id: int) -> RunRecord:
    """The run ``run_id`` (an int or its text); raises :class:`~reprovar.errors.UnknownRunError`.

    Example:
        >>> import reprovar, tempfile, os
        >>> get_run(reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "gr.db")), "7")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        reprovar.errors.UnknownRunError: no run with id 7 in ledger ...
    """
    try:
        run_id = _check_int(_from_text(run_id, "run id"), "run id", 0, None)
    except BadFilterError as e:
        raise UnknownRunError(f"{e}; run ids are the numbers `reprovar runs` lists") from None
    return ledger.run(run_id)


# --- helpers -------------------------------------------------------------------------------

def _from_text(value: Any, what: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return int(value.strip(), 0 if what == "seed" else 10)
    except ValueError:
        raise BadFilterError(f"{what} must be an integer, got {value!r}") from None


def _check_int(value: Any, what: str, low: int, high: int | None) -> int:
    # Without an explicit bound, what every backend's 64-bit integer columns can compare with.
    high = _INT64_MAX if high is None else high
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadFilterError(f"{what} must be an int, got {type(value).__name__} {value!r}")
    if value < low or value > high:
        raise BadFilterError(f"{what} must be in [{low}, {high}], got {value}")
    return value


def _check_dtype(dtype: Any) -> str:
    from ..validation import SUPPORTED_DTYPES

    if not isinstance(dtype, str):
        try:
            import numpy as np

            dtype = np.dtype(dtype).name
        except TypeError:
            raise BadFilterError(f"dtype must be a dtype name, got {type(dtype).__name__}") from None
    if dtype not in SUPPORTED_DTYPES:
        raise BadFilterError(f"unknown dtype {dtype!r}; known: {', '.join(SUPPORTED_DTYPES)}")
    return dtype


def _check_distribution(distribution: Any) -> str:
    from ..distributions import REGISTRY

    if not isinstance(distribution, str):
        raise BadFilterError(f"distribution must be a str, got {type(distribution).__name__}")
    if distribution not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise BadFilterError(f"unknown distribution {distribution!r}; known: {known}")
    return distribution


def _literal_prefix(pattern: str) -> str:
    for i, ch in enumerate(pattern):
        if ch in "*?":
            return pattern[:i]
    return pattern


def _prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string starting with ``prefix`` (code-point order)."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored; skip past them
            code = 0xE000
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None
