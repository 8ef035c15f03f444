"""Experiment trackers: reprovar runs linked to MLflow and Weights & Biases runs, both ways.

* **Automatically**: a run row links the tracker runs active when it starts, and every
  :func:`reprovar.transaction` block (so every model initialization) links those started
  since. Only trackers the process imported itself are asked (``mlflow.active_run()``,
  ``wandb.run``): reprovar never imports one to find out.
* **Explicitly**: :func:`link_run` links a tracker run to the current (or any) reprovar run.
* **Into the tracker**: :func:`reprovar.mlflow.log_variables` and
  :func:`reprovar.wandb.log_variables` log the model seed, the reprovar run id and
  ``reprovar/variables.json`` (what each variable is and where its sealed row is);
  :func:`after_initialize` does it at the end of an adapter's ``initialize`` when switched on
  (an argument, or ``$REPROVAR_LOG_TO_TRACKERS``).
* **Back from the tracker**: :func:`reprovar_run_of` gives the reprovar run linked to a
  tracker run, from the ledger alone (no tracker needed): ``restore(model, mlflow_run=ID)``,
  ``reprovar runs --mlflow-run ID``, ``reprovar find --run-of mlflow:ID``.

Example:
    >>> import reprovar, tempfile, os
    >>> from reprovar.ledger.links import TrackerRun
    >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "tr.db"))
    >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
    >>> _ = led.link([TrackerRun("mlflow", "3f2a", "0")])
    >>> reprovar_run_of(mlflow_run="3f2a", ledger=led) == v.record.run_id
    True
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .errors import ArgumentTypeError, ArgumentValueError, TrackerError, UnknownTrackerRunError
from .config import log_to_trackers

if TYPE_CHECKING:
    from .ledger import Ledger, VariableRecord
    from .ledger.links import LinkRecord, TrackerRun

#: Environment switch for :func:`after_initialize`: ``1``/``true``/``yes``/``on`` logs.
LOG_ENV = "REPROVAR_LOG_TO_TRACKERS"
#: Where the variables document goes, in MLflow's artifacts and W&B's run files.
ARTIFACT_PATH = "reprovar/variables.json"



@dataclass(frozen=True)
class Logged:
    """What a ``log_variables`` call logged: to which tracker run, about which reprovar run.

    Example:
        >>> from reprovar.ledger.links import TrackerRun
        >>> Logged(TrackerRun("mlflow", "3f2a"), 4, 7, 2, ["tags"]).reprovar_run_id
        4
    """

    tracker_run: TrackerRun
    reprovar_run_id: int | None
    model_seed: int | None
    variables: int
    logged: list[str] = field(default_factory=list)
    link: LinkRecord | None = None


# --- explicit links --------------------------------------------------------------------


def link_run(
    *, mlflow_run: Any = None, wandb_run: Any = None, ledger: Any = None, run: int | None = None
) -> list[LinkRecord]:
    """Link a reprovar run to tracker runs; return the links.

    Args:
        mlflow_run: an MLflow run id (checked with the tracking server: an unknown id raises
            :class:`~reprovar.errors.UnknownTrackerRunError` and nothing is written) or an
            MLflow ``Run``/``ActiveRun``.
        wandb_run: a W&B ``Run``, or the path (``entity/project/id``, or the id) of the W&B
            run active in this process (checking any other path would need the W&B server).
        ledger: the ledger (default: the current one).
        run: the reprovar run id (default: this process's run, started now if it has none).

    With neither tracker given, the runs active in this process are linked (of the trackers
    it imported), and having none is an error. Linking twice is harmless.

    Example:
        >>> import reprovar, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "lr.db")
        >>> link_run(ledger=path)
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: link_run: no MLflow or W&B run is active in this process; start one, or pass mlflow_run= or wandb_run=
    """
    from .ledger.links import active_tracker_runs
    from .adapter import check_run
    from .recorder import get_ledger

    run = check_run(run)
    if mlflow_run is None and wandb_run is None:
        tracker_runs = active_tracker_runs()
        if not tracker_runs:
            raise ArgumentValueError(
                "link_run: no MLflow or W&B run is active in this process; start one, or pass "
                "mlflow_run= or wandb_run="
            )
    else:
        tracker_runs = []
        if mlflow_run is not None:
            tracker_runs.append(mlflow_tracker_run_of(mlflow_run))
        if wandb_run is not None:
            tracker_runs.append(wandb_tracker_run_of(wandb_run))
    return get_ledger(ledger).link(tracker_runs, run_id=run)


def mlflow_tracker_run_of(mlflow_run: Any) -> TrackerRun:
    """The :class:`~reprovar.ledger.links.TrackerRun` of an MLflow run id (looked up with the
    tracking server) or ``Run``/``ActiveRun`` object."""
    from .ledger.links import mlflow_tracker_run
    from .ledger.redaction import redact_text

    if hasattr(mlflow_run, "info"):
        mlflow = sys.modules.get("mlflow")
        return mlflow_tracker_run(mlflow_run, None if mlflow is None else mlflow.get_tracking_uri())
    if not isinstance(mlflow_run, str) or not mlflow_run:
        raise ArgumentTypeError(
            f"mlflow_run must be an MLflow run id (str) or an mlflow Run, got {type(mlflow_run).__name__}"
        )
    mlflow = _import("mlflow", "mlflow")
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri = mlflow.get_tracking_uri()
    try:
        found = MlflowClient().get_run(mlflow_run)
    except MlflowException as e:
        raise UnknownTrackerRunError(
            f"MLflow run {mlflow_run!r} was not found at tracking URI {redact_text(str(uri))} "
            f"({_first_line(e)}); nothing was linked, logged or recorded"
        ) from e
    return mlflow_tracker_run(found, uri)


def wandb_tracker_run_of(wandb_run: Any) -> TrackerRun:
    """The :class:`~reprovar.ledger.links.TrackerRun` of a W&B ``Run``, or of the path or id
    of the W&B run active in this process."""
    from .ledger.links import wandb_tracker_run

    if isinstance(wandb_run, str):
        wandb = sys.modules.get("wandb")
        active = None if wandb is None else getattr(wandb, "run", None)
        if active is not None:
            tr = wandb_tracker_run(active)
            path = wandb_run.strip("/")
            if path == tr.run_id or (tr.experiment and f"{tr.experiment}/{tr.run_id}".endswith(path)):
                return tr
        raise UnknownTrackerRunError(
            f"W&B run {wandb_run!r} is not the W&B run active in this process; pass its Run "
            "object (checking a path needs the W&B server); nothing was linked"
        )
    if hasattr(wandb_run, "id") and hasattr(wandb_run, "project"):
        return wandb_tracker_run(wandb_run)
    raise ArgumentTypeError(f"wandb_run must be a W&B Run or a run path (str), got {type(wandb_run).__name__}")


# --- back from the tracker -------------------------------------------------------------


def tracker_and_path(mlflow_run: Any, wandb_run: Any) -> tuple[str, str]:
    """``("mlflow", run id)`` or ``("wandb", path)`` for exactly one of the two given.

    Example:
        >>> tracker_and_path("3f2a", None)
        ('mlflow', '3f2a')
    """
    if (mlflow_run is None) == (wandb_run is None):
        raise ArgumentValueError("give mlflow_run or wandb_run (exactly one)")
    if mlflow_run is not None:
        if isinstance(mlflow_run, str):
            return "mlflow", mlflow_run
        if hasattr(mlflow_run, "info"):
            return "mlflow", str(mlflow_run.info.run_id)
        raise ArgumentTypeError(
            f"mlflow_run must be an MLflow run id (str) or an mlflow Run, got {type(mlflow_run).__name__}"
        )
    if isinstance(wandb_run, str):
        return "wandb", wandb_run
    if hasattr(wandb_run, "id") and hasattr(wandb_run, "project"):
        from .ledger.links import wandb_tracker_run

        tr = wandb_tracker_run(wandb_run)
        return "wandb", f"{tr.experiment}/{tr.run_id}" if tr.experiment else tr.run_id
    raise ArgumentTypeError(f"wandb_run must be a W&B Run or a run path (str), got {type(wandb_run).__name__}")


def reprovar_runs_of(*, mlflow_run: Any = None, wandb_run: Any = None, ledger: Any = None) -> list[int]:
    """Every reprovar run linked to the tracker run, in id order; none raises
    :class:`~reprovar.errors.UnknownTrackerRunError` (suggesting close ids).

    Example:
        >>> import reprovar, tempfile, os
        >>> reprovar_runs_of(mlflow_run="3f2a", ledger=os.path.join(tempfile.mkdtemp(), "none.db"))
        Traceback (most recent call last):
        ...
        reprovar.errors.UnknownTrackerRunError: no reprovar run in ledger ... is linked to MLflow run '3f2a' (the ledger has no MLflow links)
    """
    from sqlalchemy import select

    from .ledger.links import TRACKER_NAMES, links_to
    from .ledger.models import links_table as t
    from .recorder import get_ledger

    tracker, path = tracker_and_path(mlflow_run, wandb_run)
    led = get_ledger(ledger)
    with led.connect() as connection:
        links = links_to(connection, tracker, path)
        if links:
            return sorted({link.run_id for link in links})
        known = connection.execute(select(t.c.tracker_run_id).where(t.c.tracker == tracker).distinct()).scalars().all()
    name = TRACKER_NAMES[tracker]
    close = difflib.get_close_matches(path.strip("/").rpartition("/")[2], known, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else (
        f" (the ledger has no {name} links)" if not known else "")
    raise UnknownTrackerRunError(f"no reprovar run in ledger {led.location} is linked to {name} run {path!r}{hint}")


def reprovar_run_of(*, mlflow_run: Any = None, wandb_run: Any = None, ledger: Any = None) -> int:
    """The one reprovar run linked to the tracker run (see :func:`reprovar_runs_of`); a
    tracker run linked to several raises :class:`~reprovar.errors.ArgumentValueError` naming
    them (pass ``run=`` to choose).

    Example:
        >>> import reprovar, tempfile, os
        >>> from reprovar.ledger.links import TrackerRun
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "one.db"))
        >>> link = led.link([TrackerRun("wandb", "abc", "me/proj")])[0]
        >>> reprovar_run_of(wandb_run="me/proj/abc", ledger=led) == link.run_id
        True
    """
    runs = reprovar_runs_of(mlflow_run=mlflow_run, wandb_run=wandb_run, ledger=ledger)
    if len(runs) > 1:
        tracker, path = tracker_and_path(mlflow_run, wandb_run)
        from .ledger.links import TRACKER_NAMES

        raise ArgumentValueError(
            f"{TRACKER_NAMES[tracker]} run {path!r} is linked to reprovar runs "
            f"{', '.join(map(str, runs))}; pass run= (one of them) instead"
        )
    return runs[0]


def tracker_selection(*, mlflow_run: Any = None, wandb_run: Any = None, ledger: Any = None
                      ) -> list[tuple[int, int, int | None]]:
    """For each reprovar run linked to the tracker run: (run id, low, high), the ids of the
    variable rows that tracker run owns being in ``(low, high]`` (``high`` None: no end; see
    :mod:`reprovar.ledger.links`). Unknown: :class:`~reprovar.errors.UnknownTrackerRunError`.

    Example:
        >>> import reprovar, tempfile, os
        >>> from reprovar.ledger.links import TrackerRun
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "sel.db"))
        >>> _ = led.link([TrackerRun("mlflow", "a")])
        >>> _ = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> _ = led.link([TrackerRun("mlflow", "b")])
        >>> tracker_selection(mlflow_run="a", ledger=led), tracker_selection(mlflow_run="b", ledger=led)
        ([(1, 0, 1)], [(1, 1, None)])
    """
    from .ledger.links import links_to, window_of
    from .recorder import get_ledger

    reprovar_runs_of(mlflow_run=mlflow_run, wandb_run=wandb_run, ledger=ledger)  # unknown: raises
    tracker, path = tracker_and_path(mlflow_run, wandb_run)
    led = get_ledger(ledger)
    with led.connect() as connection:
        return [(link.run_id, *window_of(connection, link)) for link in links_to(connection, tracker, path)]


def restore_selection(run: Any, mlflow_run: Any, wandb_run: Any, ledger: Any
                      ) -> tuple[int | None, tuple[int, int | None] | None, str | None]:
    """What an adapter's ``restore`` reads: (run, ids, source), the ``selection`` of
    :func:`reprovar.adapter.restore`: ``run`` alone, or the reprovar run linked
    to the tracker run given and the ids of the rows that tracker run owns (at most one of
    ``run``, ``mlflow_run`` and ``wandb_run``). A tracker run linked to several reprovar runs
    raises :class:`~reprovar.errors.ArgumentValueError` naming them.

    Example:
        >>> restore_selection(3, None, None, None)
        (3, None, None)
    """
    from .ledger.links import TRACKER_NAMES
    from .adapter import check_run

    run = check_run(run)
    if mlflow_run is None and wandb_run is None:
        return run, None, None
    if run is not None:
        raise ArgumentValueError("give run, mlflow_run or wandb_run (at most one)")
    run = reprovar_run_of(mlflow_run=mlflow_run, wandb_run=wandb_run, ledger=ledger)
    [(_, low, high)] = [s for s in tracker_selection(mlflow_run=mlflow_run, wandb_run=wandb_run, ledger=ledger)
                        if s[0] == run]
    tracker, path = tracker_and_path(mlflow_run, wandb_run)
    return run, (low, high), f"reprovar run {run} for {TRACKER_NAMES[tracker]} run {path!r}"


# --- into the tracker ------------------------------------------------------------------


def records_to_log(
    initialized: Any, reprovar_run: Any, ledger: Any
) -> tuple[Ledger, list[VariableRecord], int | None, int | None]:
    """(ledger, records, reprovar run id, model seed) for ``log_variables``: those of an
    adapter's ``initialize`` result, of run ``reprovar_run``, or of this process's run."""
    from .adapter import check_run
    from .recorder import get_ledger

    led = get_ledger(ledger)
    if initialized is not None:
        if reprovar_run is not None:
            raise ArgumentValueError("give initialized or reprovar_run, not both")
        if not isinstance(initialized, dict):
            raise ArgumentTypeError(
                f"initialized must be what initialize/init_module returned, got {type(initialized).__name__}"
            )
        records = [r for r in initialized.values() if r is not None]
        runs = sorted({r.run_id for r in records})
        if len(runs) > 1:
            raise ArgumentValueError(f"initialized holds records of several reprovar runs ({runs}); log them one by one")
        seed = getattr(initialized, "seed", None)
        return led, records, (runs[0] if runs else None), seed
    run = check_run(reprovar_run)
    if run is None:
        run = led.run_id
        if run is None:
            raise ArgumentValueError(
                f"this process has recorded nothing in ledger {led.location}; pass initialized= "
                "(what initialize returned) or reprovar_run= (a run id)"
            )
    led.run(run)  # UnknownRunError
    return led, list(led.find(run=run)), run, None


def variables_document(records: Sequence[VariableRecord], *, reprovar_run: int | None,
                       model_seed: int | None, ledger: Ledger) -> dict:
    """The ``reprovar/variables.json`` document: the run, the model seed, and for each
    variable what makes it again and which sealed row says so.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "doc.db"))
        >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=led)
        >>> doc = variables_document([v.record], reprovar_run=v.record.run_id, model_seed=None, ledger=led)
        >>> doc["variables"][0]["name"], doc["variables"][0]["params"]
        ('w', {'mean': 0.0, 'scale': 1.0})
    """
    from . import __version__
    from .ledger.records import params_json

    return {
        "reprovar_version": __version__,
        "ledger": ledger.location,
        "reprovar_run_id": reprovar_run,
        "model_seed": model_seed,
        "variables": [
            {
                "name": r.name,
                "version": r.version,
                "shape": list(r.shape),
                "dtype": r.dtype,
                "distribution": r.distribution,
                "params": params_json(r.params),
                "seed": r.seed,
                "seed_source": r.seed_source,
                "algorithm": r.algorithm,
                "algorithm_version": r.algorithm_version,
                "digest": r.digest,
                "row_id": r.id,
                "seal": r.seal,
            }
            for r in records
        ],
    }


def document_text(document: dict) -> str:
    """The document as the JSON text written to the tracker.

    Example:
        >>> document_text({"variables": []}).splitlines()
        ['{', '  "variables": []', '}']
    """
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def run_steps(where: str, steps: Sequence[tuple[str, Callable[[], None]]], ledger_state: str) -> list[str]:
    """Run the logging ``steps`` (what, action) in order; a step that raises stops the rest
    with a :class:`~reprovar.errors.TrackerError` saying what was and was not logged.

    Example:
        >>> run_steps("MLflow run 'x'", [("tags", lambda: None), ("artifact", lambda: 1 / 0)], "ledger unchanged")
        Traceback (most recent call last):
        ...
        reprovar.errors.TrackerError: logging to MLflow run 'x' failed at artifact (ZeroDivisionError: division by zero); logged: tags; not logged: artifact; ledger unchanged
    """
    done: list[str] = []
    for i, (what, action) in enumerate(steps):
        try:
            action()
        except Exception as e:  # the tracker's own errors, whatever their class
            rest = [w for w, _ in steps[i:]]
            raise TrackerError(
                f"logging to {where} failed at {what} ({type(e).__name__}: {_first_line(e)}); "
                f"logged: {', '.join(done) or 'nothing'}; not logged: {', '.join(rest)}; {ledger_state}"
            ) from e
        done.append(what)
    return done


def ledger_state(ledger: Ledger, link: LinkRecord | None, tracker_run: TrackerRun) -> str:
    """What the ledger holds after a failed ``log_variables``, for its message.

    Example:
        >>> import reprovar, tempfile, os
        >>> from reprovar.ledger.links import TrackerRun
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "ls.db"))
        >>> ledger_state(led, None, TrackerRun("mlflow", "a"))
        'the reprovar ledger ... is unchanged'
    """
    if link is None:
        return f"the reprovar ledger {ledger.location} is unchanged"
    return (f"the reprovar ledger {ledger.location} is consistent: no variable row changed, and "
            f"run {link.run_id} is linked to {tracker_run.describe()} (link {link.id})")


def link_for_logging(ledger: Ledger, tracker_run: TrackerRun, reprovar_run: int | None,
                     records: Sequence[VariableRecord]) -> LinkRecord | None:
    """Link ``reprovar_run`` to the tracker run being logged to (None: nothing to link); a
    new link owns the run's rows from the first of ``records`` on."""
    from .ledger.links import NOW

    if reprovar_run is None:
        return None
    after = min(r.id for r in records) - 1 if records else NOW
    return ledger.link([tracker_run], run_id=reprovar_run, after_variable_id=after)[0]


# --- automatic logging at the end of an initialization -----------------------------------


def tracker_logging(log: object) -> bool:
    """Whether :func:`after_initialize` logs: ``log`` (True/False), or for None
    ``$REPROVAR_LOG_TO_TRACKERS`` (off when unset). ``log=True`` with no tracker run active
    is an error, raised here so that an adapter fails before it initializes anything.

    Example:
        >>> tracker_logging(False)
        False
    """
    if log is None:
        return log_to_trackers()
    if not isinstance(log, bool):
        raise ArgumentTypeError(f"log_to_trackers must be True, False or None, got {type(log).__name__}")
    if log and not _active():
        raise ArgumentValueError(
            "log_to_trackers=True, but no MLflow or W&B run is active in this process "
            "(mlflow.start_run() or wandb.init() first); nothing was initialized"
        )
    return log


def _active() -> list[str]:
    active = []
    mlflow, wandb = sys.modules.get("mlflow"), sys.modules.get("wandb")
    if mlflow is not None and mlflow.active_run() is not None:
        active.append("mlflow")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        active.append("wandb")
    return active


def after_initialize(initialized: Any, *, log: bool | None = None, ledger: Any = None) -> list[Logged]:
    """Log an adapter's ``initialize`` result to the tracker runs active in this process,
    when logging is on (see :func:`tracker_logging`); return what was logged.

    With ``$REPROVAR_LOG_TO_TRACKERS`` on and no tracker run active, nothing is logged.

    Example:
        >>> after_initialize({}, log=False)
        []
    """
    if not tracker_logging(log):
        return []
    logged = []
    for tracker in _active():
        if tracker == "mlflow":
            from .mlflow import log_variables as log_mlflow

            logged.append(log_mlflow(initialized=initialized, ledger=ledger))
        else:
            from .wandb import log_variables as log_wandb

            logged.append(log_wandb(initialized=initialized, ledger=ledger))
    return logged


def _import(module: str, extra: str):
    try:
        return __import__(module)
    except ImportError as e:
        from .errors import MissingExtraError

        raise MissingExtraError(f"this needs {module}: pip install 'reprovar[{extra}]'") from e


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
