"""Links between reprovar runs and experiment-tracker runs (MLflow, Weights & Biases).

A run row says which process recorded variables; a link row says which tracker run that
process (or a later call) belonged to. A reprovar run may be linked to several tracker runs
and a tracker run to several reprovar runs (one per process or ledger); a link may be added
long after the run started (:meth:`reprovar.ledger.Ledger.link`).

Which tracker runs are active is read only from trackers the process already imported
(:func:`active_tracker_runs` looks in ``sys.modules``): reprovar never imports a tracker to
find out, so recording costs nothing extra in a script that uses none.

Which variables belong to a tracker run: a link remembers the largest id among its run's
variable rows when it was made (``after_variable_id``); the tracker run owns the rows its
reprovar run recorded after that, up to the next link of the same reprovar run to a run of
the same tracker (:func:`window_of`). So a process that trains several MLflow runs one after
the other (a sweep) restores each run's own initial state. Variables recorded after a
tracker run ended and before the next one was linked count as the earlier run's.

Each link row is sealed on its own: SHA-256 (or, with the ledger key, HMAC-SHA256) over a
canonical text of its fields with its own prefix, so a link seal can never pass for a
variable seal (:mod:`.seal`) or the other way round. Seals protect each row's fields;
a deleted link leaves no trace.

Example:
    >>> import datetime as dt
    >>> row = dict(run_id=1, tracker="mlflow", tracker_run_id="3f2a", experiment="0",
    ...            url="sqlite:///mlflow.db", linked=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    ...            after_variable_id=None)
    >>> s = link_seal(row, None)
    >>> s.startswith("rl1:sha256:"), check_link_seal(row, s, None).status
    (True, 'ok')
    >>> check_link_seal(dict(row, tracker_run_id="3f2b"), s, None).status
    'broken'
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.engine import Connection

from ..errors import ArgumentTypeError, ArgumentValueError, RecordingWarning
from .models import links_table, variables_table
from .redaction import redact_text
from .seal import SealCheck, SealKey, check_sealed, seal_text

#: The trackers a link can name.
TRACKERS = ("mlflow", "wandb")
#: How each tracker is named in messages.
TRACKER_NAMES = {"mlflow": "MLflow", "wandb": "W&B"}
#: The first bytes of a link row's canonical text (frozen: changing it breaks every seal).
LINK_CANONICAL_PREFIX = b"reprovar-link-seal-1\n"
LINK_UNKEYED = "rl1:sha256:"
LINK_KEYED = "rl1:hmac-sha256:"
#: The columns a link seal covers.
LINK_SEALED_COLUMNS = ("run_id", "tracker", "tracker_run_id", "experiment", "url", "linked", "after_variable_id")
#: Longest text the link columns keep (``experiment`` and ``tracker_run_id``).
MAX_LINK_TEXT = 255


@dataclass(frozen=True)
class TrackerRun:
    """A tracker run as a link names it.

    Args:
        tracker: ``"mlflow"`` or ``"wandb"``.
        run_id: MLflow's run id, or the W&B run id within its project.
        experiment: MLflow's experiment id, or W&B's ``"entity/project"`` (``"project"``
            when offline without an entity).
        url: MLflow's tracking URI, or the W&B run's URL; secrets are masked as in recorded
            command lines (:func:`~reprovar.ledger.redaction.redact_text`).

    Example:
        >>> TrackerRun("mlflow", "3f2a", "0", "https://me:s3cret@mlflow.example/").url
        'https://me:***@mlflow.example/'
    """

    tracker: str
    run_id: str
    experiment: str | None = None
    url: str | None = None

    def __post_init__(self):
        if self.tracker not in TRACKERS:
            raise ArgumentValueError(f"tracker must be one of {', '.join(map(repr, TRACKERS))}, got {self.tracker!r}")
        for field in ("run_id", "experiment", "url"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, str):
                raise ArgumentTypeError(f"{field} must be a str, got {type(value).__name__}")
        if not self.run_id or len(self.run_id) > MAX_LINK_TEXT:
            raise ArgumentValueError(f"run_id must be 1 to {MAX_LINK_TEXT} characters, got {self.run_id!r}")
        if self.experiment is not None and len(self.experiment) > MAX_LINK_TEXT:
            raise ArgumentValueError(f"experiment must be at most {MAX_LINK_TEXT} characters")
        if self.url is not None:
            object.__setattr__(self, "url", redact_text(self.url))

    def describe(self) -> str:
        """``MLflow run 3f2a…`` or ``W&B run entity/project/id``, for messages."""
        if self.tracker == "wandb" and self.experiment:
            return f"W&B run {self.experiment}/{self.run_id}"
        return f"{TRACKER_NAMES[self.tracker]} run {self.run_id!r}"


@dataclass(frozen=True)
class LinkRecord:
    """A link row: reprovar run ``run_id`` belongs to a tracker run.

    Example:
        >>> import datetime as dt
        >>> r = LinkRecord(1, 2, "wandb", "abc", "me/proj", None, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), None, "")
        >>> r.path
        'me/proj/abc'
    """

    id: int
    run_id: int
    tracker: str
    tracker_run_id: str
    experiment: str | None
    url: str | None
    linked: dt.datetime
    after_variable_id: int | None
    seal: str | None

    @property
    def path(self) -> str:
        """W&B's ``entity/project/id`` (``experiment/id``); MLflow's run id."""
        if self.tracker == "wandb" and self.experiment:
            return f"{self.experiment}/{self.tracker_run_id}"
        return self.tracker_run_id

    @classmethod
    def from_row(cls, row: Any) -> LinkRecord:
        m = row._mapping if hasattr(row, "_mapping") else row
        return cls(**{name: m[name] for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (``linked`` as ISO 8601 with its UTC offset)."""
        d = asdict(self)
        d["linked"] = self.linked.isoformat() if isinstance(self.linked, dt.datetime) else self.linked
        return d


def link_canonical(row: Mapping[str, Any]) -> bytes:
    """The canonical text of a link row: sorted-key JSON of the sealed columns, the time as
    UTC ISO 8601 with microseconds.

    Example:
        >>> import datetime as dt
        >>> link_canonical(dict(run_id=1, tracker="wandb", tracker_run_id="a", experiment=None, url=None,
        ...                     linked=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), after_variable_id=4))[-50:]
        b'"tracker":"wandb","tracker_run_id":"a","url":null}'
    """
    fields = {}
    for name in LINK_SEALED_COLUMNS:
        value = row[name]
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            value = value.isoformat("T", "microseconds") + "Z"
        fields[name] = value
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return LINK_CANONICAL_PREFIX + text.encode("ascii")


def link_seal(row: Mapping[str, Any], key: SealKey | None) -> str:
    """The seal of a link row (``rl1:sha256:...``, or ``rl1:hmac-sha256:<key id>:...``)."""
    return seal_text(link_canonical(row), key, LINK_UNKEYED, LINK_KEYED)


def check_link_seal(row: Mapping[str, Any], seal: str | None, key: SealKey | None) -> SealCheck:
    """Check a link row's ``seal``, with the rules of :func:`reprovar.ledger.seal.check_seal`."""
    return check_sealed(seal, key, LINK_UNKEYED, LINK_KEYED, lambda k: link_seal(row, k))


# --- the tracker runs active in this process ----------------------------------------------


def active_tracker_runs() -> list[TrackerRun]:
    """The MLflow and W&B runs active in this process, from trackers already imported only.

    A tracker whose state cannot be read is skipped with a
    :class:`~reprovar.errors.RecordingWarning` (recording goes on; ``reprovar.link_run``
    links it later).

    Example:
        >>> import sys
        >>> active_tracker_runs() if "mlflow" not in sys.modules and "wandb" not in sys.modules else []
        []
    """
    found = []
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        try:
            run = mlflow.active_run()
            if run is not None:
                found.append(mlflow_tracker_run(run, mlflow.get_tracking_uri()))
        except Exception as e:  # a tracker's failure must not fail recording
            _cannot_read("MLflow", "mlflow.active_run()", e)
    wandb = sys.modules.get("wandb")
    if wandb is not None:
        try:
            run = getattr(wandb, "run", None)
            if run is not None:
                found.append(wandb_tracker_run(run))
        except Exception as e:
            _cannot_read("W&B", "wandb.run", e)
    return found


def _cannot_read(name: str, what: str, error: Exception) -> None:
    warnings.warn(
        f"could not read the active {name} run ({what}: {type(error).__name__}: {error}); the "
        "reprovar run is not linked to it (reprovar.link_run links it explicitly)",
        RecordingWarning, stacklevel=4,
    )


def mlflow_tracker_run(run: Any, tracking_uri: str | None) -> TrackerRun:
    """The :class:`TrackerRun` of an MLflow ``Run``/``ActiveRun`` at ``tracking_uri``.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> mlflow_tracker_run(NS(info=NS(run_id="3f2a", experiment_id="0")), "databricks").experiment
        '0'
    """
    info = run.info
    return TrackerRun("mlflow", str(info.run_id), str(info.experiment_id),
                      None if tracking_uri is None else str(tracking_uri))


def wandb_tracker_run(run: Any) -> TrackerRun:
    """The :class:`TrackerRun` of a W&B ``Run`` (its URL is None offline).

    Example:
        >>> from types import SimpleNamespace as NS
        >>> wandb_tracker_run(NS(id="abc", entity="", project="proj", url=None)).describe()
        'W&B run proj/abc'
    """
    entity, project = getattr(run, "entity", None) or "", getattr(run, "project", None) or ""
    experiment = f"{entity}/{project}" if entity else (project or None)
    url = getattr(run, "url", None)
    return TrackerRun("wandb", str(run.id), experiment, None if url is None else str(url))


# --- rows ---------------------------------------------------------------------------------


#: ``insert_links(after=NOW)``: the run's largest variable id at the time of linking.
NOW = object()


def insert_links(
    connection: Connection, run_id: int, tracker_runs: Iterable[TrackerRun], key: SealKey | None,
    after: int | None | object = NOW,
) -> list[LinkRecord]:
    """Link ``run_id`` to each tracker run inside the caller's transaction; a link that
    exists already is returned as it is. Returns the links, in the order given.

    ``after``: the ``after_variable_id`` of new links (:data:`NOW`: the run's largest
    variable id now; None: the tracker run owns the run's rows from the first).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "il.db"))
        >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, seed=1, ledger=led)
        >>> with led.engine.begin() as c:
        ...     [r.after_variable_id for r in insert_links(c, v.record.run_id, [TrackerRun("mlflow", "a")], None)]
        [1]
    """
    t = links_table
    tracker_runs = list(tracker_runs)
    if after is NOW and tracker_runs:
        v = variables_table
        after = connection.execute(select(func.max(v.c.id)).where(v.c.run_id == run_id)).scalar()
    out = []
    for tr in tracker_runs:
        existing = connection.execute(
            select(t).where(t.c.run_id == run_id, t.c.tracker == tr.tracker, t.c.tracker_run_id == tr.run_id)
        ).first()
        if existing is not None:
            out.append(LinkRecord.from_row(existing))
            continue
        values = {"run_id": run_id, "tracker": tr.tracker, "tracker_run_id": tr.run_id,
                  "experiment": tr.experiment, "url": tr.url, "linked": dt.datetime.now(dt.timezone.utc),
                  "after_variable_id": after}
        values["seal"] = link_seal(values, key)
        row_id = connection.execute(insert(t), values).inserted_primary_key[0]
        out.append(LinkRecord(id=row_id, **values))
    return out


class LinkWriter:
    """Writes link rows on a DBAPI connection inside a transaction the caller owns (a
    :class:`~reprovar.ledger.writer.BatchWriter`'s, so that a :func:`reprovar.transaction`
    block links the tracker runs started since its run began in its own transaction, with
    no commit of its own). Statements are compiled once, as the variable writer's are."""

    def __init__(self, engine):
        from .writer import _Statement

        dialect = engine.dialect
        t, v = links_table, variables_table
        self._lastrowid = bool(dialect.postfetch_lastrowid)
        columns = ("run_id", "tracker", "tracker_run_id", "experiment", "url", "linked", "after_variable_id", "seal")
        stmt = insert(t) if self._lastrowid else insert(t).returning(t.c.id)
        self._insert = _Statement(stmt.compile(dialect=dialect, column_keys=list(columns)), engine,
                                  {c: t.c[c].type for c in columns})
        keys = {"run_id": t.c.run_id.type, "tracker": t.c.tracker.type, "tracker_run_id": t.c.tracker_run_id.type}
        self._existing = _Statement(
            select(t.c.id).where(t.c.run_id == bindparam("run_id"), t.c.tracker == bindparam("tracker"),
                                 t.c.tracker_run_id == bindparam("tracker_run_id")).compile(dialect=dialect),
            engine, keys)
        self._largest = _Statement(
            select(func.max(v.c.id)).where(v.c.run_id == bindparam("run_id")).compile(dialect=dialect),
            engine, {"run_id": v.c.run_id.type})

    def insert(self, connection, run_id: int, tracker_runs: Iterable[TrackerRun], key: SealKey | None,
               *, new_run: bool = False) -> list[int]:
        """Link ``run_id`` to each tracker run not linked yet (``after_variable_id``: the run's
        largest variable id now); return the new rows' ids. ``new_run``: the run row was
        written in this transaction (it has no variables and no links yet)."""
        cursor = connection.cursor()
        try:
            after = None
            if not new_run:
                cursor.execute(self._largest.sql, self._largest.params({"run_id": run_id}))
                after = cursor.fetchone()[0]
            ids = []
            for tr in tracker_runs:
                if not new_run:
                    cursor.execute(self._existing.sql, self._existing.params(
                        {"run_id": run_id, "tracker": tr.tracker, "tracker_run_id": tr.run_id}))
                    if cursor.fetchone() is not None:
                        continue
                values = {"run_id": run_id, "tracker": tr.tracker, "tracker_run_id": tr.run_id,
                          "experiment": tr.experiment, "url": tr.url,
                          "linked": dt.datetime.now(dt.timezone.utc), "after_variable_id": after}
                values["seal"] = link_seal(values, key)
                cursor.execute(self._insert.sql, self._insert.params(values))
                ids.append(cursor.lastrowid if self._lastrowid else cursor.fetchone()[0])
            return ids
        finally:
            cursor.close()


_writers: dict[tuple, LinkWriter] = {}


def link_writer_for(engine) -> LinkWriter:
    """The :class:`LinkWriter` for ``engine``'s dialect, compiled once per process (its
    statements depend on the dialect only, not on the database).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "lw.db"))
        >>> link_writer_for(led.engine) is link_writer_for(led.engine)
        True
    """
    dialect = engine.dialect
    which = (dialect.name, dialect.driver, dialect.paramstyle, getattr(dialect, "server_version_info", None))
    writer = _writers.get(which)
    if writer is None:
        writer = _writers[which] = LinkWriter(engine)
    return writer


def links_of_runs(connection: Connection, run_ids: Iterable[int] | None = None) -> list[LinkRecord]:
    """The links of ``run_ids`` (all links when None), in id order.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "lr.db"))
        >>> _ = led.link([TrackerRun("mlflow", "a")])
        >>> with led.connect() as c:
        ...     [r.tracker_run_id for r in links_of_runs(c, [1])], links_of_runs(c, [])
        (['a'], [])
    """
    t = links_table
    stmt = select(t).order_by(t.c.id)
    if run_ids is not None:
        ids = sorted(set(run_ids))
        if not ids:
            return []
        stmt = stmt.where(t.c.run_id.in_(ids))
    return [LinkRecord.from_row(row) for row in connection.execute(stmt)]


def links_to(connection: Connection, tracker: str, path: str) -> list[LinkRecord]:
    """The links to one tracker run: an MLflow run id, or a W&B ``entity/project/id``,
    ``project/id`` or ``id`` (the parts given must match).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "lt.db"))
        >>> _ = led.link([TrackerRun("wandb", "abc", "team/proj")])
        >>> with led.connect() as c:
        ...     [len(links_to(c, "wandb", p)) for p in ("abc", "proj/abc", "other/abc")]
        [1, 1, 0]
    """
    if tracker not in TRACKERS:
        raise ArgumentValueError(f"tracker must be one of {', '.join(map(repr, TRACKERS))}, got {tracker!r}")
    if not isinstance(path, str) or not path.strip("/"):
        raise ArgumentValueError(f"the {TRACKER_NAMES[tracker]} run must be a non-empty str, got {path!r}")
    prefix, run_id = "", path
    if tracker == "wandb":
        prefix, _, run_id = path.strip("/").rpartition("/")
    t = links_table
    rows = connection.execute(
        select(t).where(t.c.tracker == tracker, t.c.tracker_run_id == run_id).order_by(t.c.id)
    ).all()
    links = [LinkRecord.from_row(row) for row in rows]
    if prefix:
        # A run recorded offline has no entity: "project" matches "entity/project" either way.
        links = [r for r in links if r.experiment and (
            r.experiment == prefix or r.experiment.endswith("/" + prefix) or prefix.endswith("/" + r.experiment))]
    return links


def window_of(connection: Connection, link: LinkRecord) -> tuple[int, int | None]:
    """The variable ids the tracker run of ``link`` owns in its reprovar run: ids in
    ``(low, high]`` (``high`` None: no end), see the module doc.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "win.db"))
        >>> first = led.link([TrackerRun("mlflow", "a")])[0]
        >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> second = led.link([TrackerRun("mlflow", "b")])[0]
        >>> with led.connect() as c:
        ...     window_of(c, first), window_of(c, second)
        ((0, 1), (1, None))
    """
    low = link.after_variable_id or 0
    t = links_table
    later = connection.execute(
        select(func.min(t.c.after_variable_id)).where(
            t.c.run_id == link.run_id, t.c.tracker == link.tracker, t.c.after_variable_id > low)
    ).scalar()
    return low, later
