"""The framework-neutral loop every model adapter goes through: plan -> generate -> record -> restore.

An adapter (:mod:`reprovar.torch`, :mod:`reprovar.keras`, and any future one) only translates
its framework's vocabulary (tensors, layers, variable paths) into the calls of this module;
the framework is imported by the adapter, never here.

1. plan: the adapter turns its model into a list of :class:`Planned` entries (a name, a
   shape, a dtype, and a :class:`Draw`, a recipe or a constant);
2. generate: :func:`generate` makes every recorded entry's values into buffers of their own
   (or the framework's own memory), with a seed derived from (model seed, name)
   (:func:`reprovar.seeding.derive_seed`);
3. record: :func:`record_all` records all of them in one ledger transaction, whole or not
   at all. :func:`initialize` is the whole of 2 and 3 for an adapter: every check first,
   then the values made, handed to the adapter's ``apply``, and recorded, so that an error
   leaves nothing half done;
4. restore: :func:`restore` looks up the records of a model's entries (one query per 500
   names), checks them, makes their values again, checks the digests, and only then hands
   the values to the adapter's ``write``.

Example:
    >>> import numpy as np
    >>> from reprovar.seeding import derive_seed
    >>> draw = Draw("normal", {"mean": 0.0, "scale": 1.0})
    >>> made = generate([Planned("w", (2, 3), np.dtype("float32"), draw)], seed=7)
    >>> made[0].values.shape, made[0].seed == derive_seed(7, "w")
    ((2, 3), True)
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from .distributions import get as get_distribution
from .errors import ArgumentTypeError, ArgumentValueError, RecordingError, ReprovarError
from .recipes import Draw, Recipe, constant_row_draw, make_into
from .seeding import fresh_seed, name_key
from .validation import check_name, check_seed
from .variable import Provenance, Variable

if TYPE_CHECKING:
    from .ledger import Ledger, VariableRecord

#: What ``on_unknown`` accepts: parameters of module types whose initialization is not known.
ON_UNKNOWN = ("raise", "warn", "skip")


@dataclass(frozen=True)
class Planned:
    """One parameter of a model: its ledger name, shape, dtype, and either a draw or a constant.

    ``recipe`` says how the whole value is made beyond ``draw`` (an Embedding's zero padding
    row, a constant, a tie: :mod:`reprovar.recipes`).

    Example:
        >>> Planned("ln.weight", (4,), np.dtype("float32"), constant=1.0).is_random
        False
    """

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    draw: Draw | None = None
    constant: float | None = None
    target: Any = field(default=None, compare=False)  # the framework's own object (tensor, variable)
    #: How the whole value is made beyond ``draw`` (a constant base, partial writes, a tie);
    #: an entry with a recipe is made and recorded even without a draw.
    recipe: Recipe | None = None

    @property
    def is_random(self) -> bool:
        return self.draw is not None

    @property
    def recorded(self) -> bool:
        """Whether the entry is made and recorded (a draw or a recipe), not only set."""
        return self.draw is not None or self.recipe is not None


@dataclass
class Made:
    """A generated random parameter: its values and what the ledger will say about them."""

    planned: Planned
    seed: int
    seed_source: str
    values: np.ndarray
    digest: str
    in_place: bool = False  # values is a view of the framework's own storage
    record: Any = None

    def variable(self) -> Variable:
        p = self.planned
        return make_variable(self.values, p.name, p.draw, self.seed, self.seed_source, p.recipe)


class Initialized(dict):
    """What ``init_module`` and ``initialize`` return: a dict from parameter name to its ledger
    record (None when recording was off), and ``.seed``, the model seed the names' seeds were
    derived from (drawn from the OS when ``seed=None``).

    Example:
        >>> r = Initialized({"w": None}, seed=7)
        >>> r["w"] is None, r.seed
        (True, 7)
    """

    def __init__(self, records: dict, *, seed: int):
        super().__init__(records)
        self.seed = seed

    def __repr__(self) -> str:
        return f"Initialized(seed={self.seed}, {dict.__repr__(self)})"


@dataclass(frozen=True)
class Stored:
    """One entry of a model that :func:`restore` may bring back: its ledger name, the shape the
    model holds, the framework's own object (handed back to the adapter's callables), and
    whether a missing record is the caller's concern (``required``: a parameter) or is left
    as it is without a word (a buffer that may have been set by other means).

    Example:
        >>> Stored("0.weight", (2, 3)).required
        True
    """

    name: str
    shape: tuple[int, ...]
    target: Any = field(default=None, compare=False)
    required: bool = True


def check_on_unknown(on_unknown: object) -> str:
    """``on_unknown`` is one of :data:`ON_UNKNOWN`.

    Example:
        >>> check_on_unknown("skip")
        'skip'
    """
    if on_unknown not in ON_UNKNOWN:
        raise ArgumentValueError(
            f"on_unknown must be one of {', '.join(map(repr, ON_UNKNOWN))}, got {on_unknown!r}"
        )
    return on_unknown  # type: ignore[return-value]


def check_prefix(prefix: object) -> str:
    """``prefix`` is a str (possibly empty): it is put in front of every parameter name.

    Example:
        >>> check_prefix("encoder.")
        'encoder.'
    """
    if not isinstance(prefix, str):
        raise ArgumentTypeError(f"prefix must be a str, got {type(prefix).__name__}")
    return prefix


def model_seed_and_source(seed: object) -> tuple[int, str]:
    """The model seed to derive from and its ``seed_source``: ``"os"`` for ``None``, else ``"user"``.

    Example:
        >>> model_seed_and_source(5)
        (5, 'user')
    """
    if seed is None:
        return fresh_seed(), "os"
    return check_seed(seed), "user"


def algorithm_for(distribution: str):
    """The algorithm new variables of ``distribution`` are made with (from the registry)."""
    return get_distribution(distribution).default


def check_draw(draw: Draw, dtype: np.dtype, shape: tuple[int, ...] | None = None) -> None:
    """The draw's parameters are valid for ``dtype`` (and ``shape``, which an orthogonal
    draw needs), with the checks (and messages) of the public makers: the registry's.

    Example:
        >>> check_draw(Draw("uniform", {"low": 1.0, "high": 0.0}), np.dtype("float32"))
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: low must be < high (values lie in [low, high)), got low=1.0, high=0.0
    """
    if dtype.kind not in "fV":  # integer and boolean entries are constants, made by recipes only
        raise ArgumentValueError(f"a {dtype.name} value cannot be drawn from {draw.distribution}")
    d = get_distribution(draw.distribution)  # raises, naming the distributions there are
    if shape is None and not d.elementwise:
        raise ArgumentValueError(f"an {draw.distribution} draw needs the variable's shape")
    d.checked(draw.params, dtype, () if shape is None else tuple(shape))


def check_planned(p: Planned) -> None:
    """The entry's draws (its own and its recipe's partial ones) are valid for its dtype."""
    from .recipes import PartDraw

    if p.draw is not None:
        check_draw(p.draw, p.dtype, p.shape)
    if p.recipe is not None:
        if p.draw is None and p.recipe.draws_base:
            raise ArgumentValueError(f"{p.name!r}: a recipe without a constant base needs a draw")
        for step in p.recipe.steps:
            if isinstance(step, PartDraw):
                check_draw(step.draw, p.dtype, step.region.size)
            if step.region is not None:
                step.region.check(int(np.prod(p.shape, dtype=np.int64)))


def make_variable(values: np.ndarray, name: str, draw: Draw | None, seed: int, seed_source: str,
                  recipe: Recipe | None = None) -> Variable:
    """Wrap generated ``values`` as a :class:`~reprovar.Variable` with its provenance.

    Example:
        >>> import numpy as np
        >>> v = make_variable(np.zeros(2, np.float32), "b", Draw("normal", {"mean": 0.0, "scale": 0.0}), 3, "user")
        >>> v.name, v.seed, v.provenance.distribution
        ('b', 3, 'normal')
    """
    if draw is None:  # a constant: the row shows a point mass, the recipe makes the values
        draw = constant_row_draw(recipe.base.value)
    algorithm = algorithm_for(draw.distribution)
    provenance = Provenance(
        algorithm.name,
        algorithm.version,
        seed=seed,
        distribution=draw.distribution,
        seed_source=seed_source,
        recipe=None if recipe is None else recipe.to_json(),
        **draw.params,
    )
    return Variable(values, name, provenance)


def fill(out: np.ndarray, draw: Draw, seed: int) -> None:
    """Fill the C-contiguous array ``out`` with the variable (``draw``, ``seed``) of its shape.

    Example:
        >>> out = np.empty((2, 2), np.float64)
        >>> fill(out, Draw("normal", {"mean": 5.0, "scale": 0.0}), 1)
        >>> out.tolist()
        [[5.0, 5.0], [5.0, 5.0]]
    """
    algorithm_for(draw.distribution).make_into(out, seed=seed, **draw.params)


def generate(
    planned: Sequence[Planned],
    *,
    seed: int,
    seed_source: str = "user",
    storage: Callable[[Planned], np.ndarray | None] | None = None,
) -> list[Made]:
    """Make the values of every random entry of ``planned``, each with its derived seed, and
    their digests (while the values are still in cache).

    ``storage(p)``, when given, returns a C-contiguous array of ``p.shape`` and ``p.dtype``
    that is the framework's own memory for ``p`` (then the values are made there, with no
    copy), or None (then they are made in a buffer of their own). Constants are not made here;
    nothing is recorded.
    """
    from .ledger import digest as digests

    made = []
    by_name: dict[str, Made] = {}
    for p in planned:
        if not p.recorded:
            continue
        tied_to = None if p.recipe is None else p.recipe.tied_to
        values = storage(p) if storage is not None else None
        if tied_to is not None and tied_to in by_name:
            # Its target's value under a second name, made once: a tied weight (the same
            # memory), or a copy of it (its own memory, written with the same values).
            target = by_name[tied_to]
            if values is None:
                values, in_place = target.values, False
            else:
                if not np.shares_memory(values, target.values):
                    np.copyto(values, target.values)
                in_place = True
            made.append(Made(p, target.seed, seed_source, values, target.digest, in_place))
            continue
        in_place = values is not None
        if values is None:
            values = np.empty(p.shape, p.dtype)
        s = seed ^ name_key(p.name if tied_to is None else tied_to)  # derive_seed, for a seed already checked
        if p.recipe is None:
            fill(values, p.draw, s)
        else:
            make_into(values, p.draw, s, p.recipe)
        m = Made(p, s, seed_source, values, digests.digest(values), in_place)
        by_name[p.name] = m
        made.append(m)
    return made


def check_names(planned: Iterable[Planned]) -> None:
    """Every name is a valid ledger name (checked before anything is made).

    Example:
        >>> check_names([Planned("", (1,), np.dtype("float32"), constant=0.0)])
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: name must be a non-empty str or None, got ''
    """
    for p in planned:
        check_name(p.name)


def recording_on(record: bool | None, ledger: object) -> bool:
    """Validate ``record`` and ``ledger``; whether this call records.

    Example:
        >>> recording_on(False, None)
        False
    """
    if record is False:  # as random_normal_variable: the ledger is not loaded when not used
        return False
    from .recorder import check_recording_options, recording_enabled

    check_recording_options(record, ledger, "raise")
    return record is True or (record is None and recording_enabled())


def record_all(made: Sequence[Made], *, ledger: Ledger | str | os.PathLike | None, what: str) -> None:
    """Record every made variable in ONE ledger transaction (all rows or none); set ``.record``.

    The digests were computed when the values were made, so the transaction holds the
    database only for the inserts. A failure raises :class:`~reprovar.errors.RecordingError`
    (``what`` says what was done without being recorded) and leaves no row.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from .recorder import get_ledger

    if not made:
        return
    prepared = [(m.variable(), m.digest) for m in made]
    try:
        led = get_ledger(ledger)
        with led.transaction():
            records = [led.record(variable, digest=digest) for variable, digest in prepared]
    except (ReprovarError, SQLAlchemyError, OSError) as e:
        raise RecordingError(f"{what}, but nothing was recorded (the transaction rolled back): {e}") from e
    for m, r in zip(made, records):
        m.record = r


def initialize(
    planned: Sequence[Planned],
    apply: Callable[[dict[str, np.ndarray], frozenset[str]], None],
    *,
    seed: object,
    storage: Callable[[Planned], np.ndarray | None] | None,
    recording: bool,
    ledger: Ledger | str | os.PathLike | None,
    what: str,
    seed_source: str | None = None,
) -> Initialized:
    """Check, make, apply and record a model's planned entries: what every adapter's
    initializing function does once it has planned the model in its own vocabulary.

    Every name and draw is checked before anything is made; the values are made (in the
    framework's own memory where ``storage`` gives it), handed to ``apply(values_by_name,
    made_in_place)``, then all recorded in one transaction. ``what`` names the call and what
    it initialized (``"init_module: the module"``) for the message of a failed recording.

    Example:
        >>> planned = [Planned("w", (2,), np.dtype("float32"), draw=Draw("uniform", {"low": 0.0, "high": 1.0}))]
        >>> got = {}
        >>> r = initialize(planned, lambda values, _: got.update(values), seed=7, storage=None,
        ...                recording=False, ledger=None, what="example: the model")
        >>> sorted(got), r.seed
        (['w'], 7)
    """
    check_names(planned)
    for p in planned:
        check_planned(p)
    if seed_source is None:
        model_seed, source = model_seed_and_source(seed)
    else:  # the caller already resolved the model seed (it planned with it)
        model_seed, source = seed, seed_source
    made = generate(planned, seed=model_seed, seed_source=source, storage=storage)
    apply({m.planned.name: m.values for m in made}, frozenset(m.planned.name for m in made if m.in_place))
    if recording:
        record_all(
            made,
            ledger=ledger,
            what=(
                f"{what} was initialized (model seed {model_seed}; the same seed makes the same "
                f"values again) and its {len(made)} random values were made"
            ),
        )
    return Initialized({m.planned.name: m.record for m in made}, seed=model_seed)


def lookup(
    names: Sequence[str], *, run: int | None = None, ledger: Ledger | str | os.PathLike | None = None,
    ids: tuple[int, int | None] | None = None,
) -> tuple[dict[str, VariableRecord], list[str]]:
    """The records of ``names``: the latest version of each, or the latest one run ``run`` made
    (with ``ids=(low, high)``: among its rows with ids in ``(low, high]``, ``high`` None for
    no end: those a tracker run owns, see :func:`reprovar.trackers.restore_selection`).

    Returns (found records by name, names with no record). One query per 500 names.
    """
    from sqlalchemy import func, select

    from .ledger.models import variables_table as t
    from .ledger.records import VariableRecord
    from .recorder import get_ledger

    led = get_ledger(ledger)
    found: dict[str, VariableRecord] = {}
    unique = list(dict.fromkeys(names))
    with led.connect() as connection:
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            newest = select(t.c.name, func.max(t.c.version).label("version")).where(t.c.name.in_(chunk))
            if run is not None:
                newest = newest.where(t.c.run_id == run)
            if ids is not None:
                newest = newest.where(t.c.id > ids[0])
                if ids[1] is not None:
                    newest = newest.where(t.c.id <= ids[1])
            newest = newest.group_by(t.c.name).subquery()
            stmt = select(t).join(newest, (t.c.name == newest.c.name) & (t.c.version == newest.c.version))
            for row in connection.execute(stmt):
                record = VariableRecord.from_row(row)
                found[record.name] = record
    return found, [n for n in unique if n not in found]


def records_to_restore(
    wanted: Sequence[tuple[str, tuple[int, ...]]],
    *,
    run: int | None,
    ledger: Ledger | str | os.PathLike | None,
    action: str,
    noun: str,
    ids: tuple[int, int | None] | None = None,
    source: str | None = None,
) -> dict[str, VariableRecord]:
    """The record of every (name, shape) in ``wanted`` (see :func:`lookup`), all checked first:
    a missing name raises :class:`~reprovar.errors.UnknownVariableError`, a recorded shape
    that differs :class:`~reprovar.errors.ShapeMismatchError`, each listing what is wrong.
    ``ids`` (see :func:`lookup`) and ``source`` (what the records were made by, for the
    message) come with a tracker run. :func:`restore` runs the same checks, then makes the
    values.
    """
    return _checked_records([Stored(name, tuple(shape)) for name, shape in wanted], (run, ids, source), ledger,
                            action, noun)


#: What :func:`reprovar.trackers.restore_selection` returns: (run, ids, source).
Selection = tuple[int | None, tuple[int, int | None] | None, str | None]


def _checked_records(entries: Sequence[Stored], selection: Selection, ledger: Ledger | str | os.PathLike | None,
                     action: str, noun: str, on_missing: str = "raise",
                     check_dtype: Callable[[Any, str], str | None] | None = None) -> dict[str, VariableRecord]:
    # The records of ``entries`` found (see :func:`restore`), every check run before any
    # value is made: versions (with a tracker run), missing records, shapes and dtypes.
    from .errors import ShapeMismatchError, UnknownVariableError

    run, ids, source = selection
    found, missing = lookup([e.name for e in entries], run=run, ledger=ledger, ids=ids)
    if ids is not None:
        check_one_version([e.name for e in entries if e.name in found], run=run, ids=ids, ledger=ledger,
                          action=action, source=source)
    required = {e.name for e in entries if e.required}
    missing = [name for name in missing if name in required]
    if missing and on_missing == "raise":
        where = f" by {source}" if source else f" by run {run}" if run is not None else ""
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise UnknownVariableError(
            f"{action}: {len(missing)} {noun}(s) have no record{where}: "
            f"{', '.join(repr(n) for n in missing[:10])}{more}; nothing was changed"
        )
    if missing and on_missing == "warn":
        warnings.warn(f"{action}: {len(missing)} {noun}(s) have no record and were left "
                      f"as they are: {', '.join(missing[:10])}", UserWarning, stacklevel=4)
    bad = []
    for e in entries:
        r = found.get(e.name)
        if r is None:
            continue
        if tuple(r.shape) != tuple(e.shape):
            bad.append(f"{e.name}: recorded {tuple(r.shape)}, model has {tuple(e.shape)}")
        elif check_dtype is not None:
            why = check_dtype(e.target, r.dtype)
            if why is not None:
                bad.append(f"{e.name}: {why}")
    if bad:
        differ = "shapes" if check_dtype is None else "entries"
        raise ShapeMismatchError(
            f"{action}: {differ} differ from the records ({'; '.join(bad[:10])}); nothing was changed"
        )
    return found


def restore(
    entries: Sequence[Stored],
    write: Callable[[dict[str, np.ndarray]], None],
    *,
    ledger: Ledger | str | os.PathLike | None,
    action: str,
    noun: str,
    selection: Selection = (None, None, None),
    on_missing: str = "raise",
    check_dtype: Callable[[Any, str], str | None] | None = None,
) -> dict[str, VariableRecord]:
    """Bring back a model's entries from the ledger: what every adapter's ``restore`` does
    once it has listed its model's entries in its own vocabulary.

    Every entry's record is looked up (see :func:`lookup`): the latest version, or with
    ``selection``, what :func:`reprovar.trackers.restore_selection` returned, the latest one
    a run made, or the one a tracker run owns (then each name must have one version there).
    Everything is checked before any value is made:

    * a ``required`` entry with no record raises
      :class:`~reprovar.errors.UnknownVariableError` (``on_missing="raise"``), or is left as
      it is, with a warning (``"warn"``) or without (``"skip"``); an entry not required with
      no record is left as it is;
    * a recorded shape that differs from ``entry.shape``, or a dtype ``check_dtype`` objects
      to, raises :class:`~reprovar.errors.ShapeMismatchError` listing them.

    Then the values of every entry found are made again from its record alone and checked
    against its digest (:class:`~reprovar.errors.DigestMismatchError`), and only then handed
    to the adapter, once: ``write(values_by_name)`` writes them into the framework's storage
    (and may reset what the ledger does not hold, such as plain constants); it is not to fail
    on input, since everything was checked. ``check_dtype(entry.target, recorded_dtype)``
    returns None when the target holds the recorded dtype, else what differs, as it is
    listed in the error (``"recorded float32, model has float64"``); without it only shapes
    are compared. ``action`` (the public call's name) and ``noun`` (``"parameter"``,
    ``"weight"``) word the messages.

    Returns:
        A dict from name to the record each entry was restored from, in the order of ``entries``.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "a.db")
        >>> planned = [Planned("w", (2,), np.dtype("float32"), Draw("uniform", {"low": 0.0, "high": 1.0}))]
        >>> made, got = {}, {}
        >>> _ = initialize(planned, lambda values, _: made.update(values), seed=7, storage=None,
        ...                recording=True, ledger=path, what="example: the model")
        >>> records = restore([Stored("w", (2,))], got.update, ledger=path, action="example", noun="weight")
        >>> sorted(records), bool((got["w"] == made["w"]).all())
        (['w'], True)
    """
    found = _checked_records(entries, selection, ledger, action, noun, on_missing, check_dtype)
    names = [e.name for e in entries if e.name in found]
    write({name: replay_values(found[name]) for name in names})
    return {name: found[name] for name in names}


def check_one_version(
    names: Sequence[str], *, run: int, ids: tuple[int, int | None], ledger: Ledger | str | os.PathLike | None,
    action: str, source: str | None,
) -> None:
    """Each of ``names`` has one version among run ``run``'s rows with ids in ``ids`` (see
    :func:`lookup`); several raise :class:`~reprovar.errors.ArgumentValueError` naming them.

    A tracker run's rows are those its reprovar run recorded from its link to the next
    link; a name recorded twice in that span (the model initialized again after the tracker
    run ended, before another was linked) cannot say which version was the tracker run's.
    """
    from sqlalchemy import func, select

    from .ledger.models import variables_table as t
    from .recorder import get_ledger

    several: dict[str, list[int]] = {}
    unique = list(dict.fromkeys(names))
    with get_ledger(ledger).connect() as connection:
        for i in range(0, len(unique), 500):
            stmt = select(t.c.name, t.c.version).where(t.c.name.in_(unique[i : i + 500]), t.c.run_id == run,
                                                       t.c.id > ids[0])
            if ids[1] is not None:
                stmt = stmt.where(t.c.id <= ids[1])
            rows = stmt.subquery()
            counted = select(rows.c.name).group_by(rows.c.name).having(func.count() > 1)
            for name in connection.execute(counted).scalars():
                several[name] = []
            if several:
                for name, version in connection.execute(stmt.where(t.c.name.in_(list(several)))):
                    several[name].append(version)
    if several:
        shown = "; ".join(f"{name!r} versions {', '.join(map(str, sorted(v)))}" for name, v in list(several.items())[:5])
        raise ArgumentValueError(
            f"{action}: {source or f'run {run}'} recorded several versions of {len(several)} name(s) "
            f"({shown}): which one was that tracker run's is not recorded (the model was initialized "
            "again before another tracker run was linked); restore by row ids instead "
            "(reprovar/variables.json in the tracker run lists them); nothing was changed"
        )


def check_run(run: object) -> int | None:
    """``run`` is None or a run id (an int >= 1).

    Example:
        >>> check_run(None) is None, check_run(3)
        (True, 3)
    """
    if run is None:
        return None
    if isinstance(run, bool) or not isinstance(run, (int, np.integer)):
        raise ArgumentTypeError(f"run must be a run id (int) or None, got {type(run).__name__}")
    if run < 1:
        raise ArgumentValueError(f"run must be a run id >= 1, got {run}")
    return int(run)


def replay_values(record: VariableRecord) -> np.ndarray:
    """The values of ``record`` made again and checked against its digest.

    Raises :class:`~reprovar.errors.DigestMismatchError` when they differ.
    """
    from .ledger.replay import replay_record

    return replay_record(record).numpy()
