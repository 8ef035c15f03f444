"""MLflow: the provenance of a model's initial state in the MLflow run that trained it.

:func:`log_variables` logs, to an MLflow run (default: the active one):

* the tags ``reprovar.run_id`` (the reprovar run) and ``reprovar.ledger`` (its location,
  secrets masked);
* the param ``reprovar.model_seed``, when the variables come from an ``initialize`` result;
* the artifact ``reprovar/variables.json``: for each variable its name, version, shape,
  dtype, distribution and parameters, seed, algorithm, digest, and the id and seal of its
  ledger row;

and links the reprovar run to the MLflow run in the ledger. Needs ``pip install
'reprovar[mlflow]'`` (``mlflow-skinny`` is enough); importing this module imports no MLflow.

Example:
    >>> import reprovar.mlflow
    >>> reprovar.mlflow.ARTIFACT_PATH
    'reprovar/variables.json'
"""

from __future__ import annotations

from typing import Any

from .errors import ArgumentTypeError, ArgumentValueError
from .trackers import ARTIFACT_PATH, Logged

__all__ = ["ARTIFACT_PATH", "log_variables"]


def log_variables(
    run_id: str | None = None, *, initialized: Any = None, reprovar_run: int | None = None, ledger: Any = None
) -> Logged:
    """Log a reprovar run's variables to an MLflow run, and link the two in the ledger.

    Args:
        run_id: the MLflow run (default: ``mlflow.active_run()``); an unknown id raises
            :class:`~reprovar.errors.UnknownTrackerRunError` and nothing is logged or recorded.
        initialized: what an adapter's ``initialize``/``init_module`` returned: its records
            and its model seed are logged.
        reprovar_run: a reprovar run id: all its variables are logged (no model seed).
        ledger: the ledger (default: the current one).

    Without ``initialized`` or ``reprovar_run``, the variables of this process's run in the
    ledger are logged. Everything is read and checked first; then the link is recorded, then
    the tags, the param and the artifact are logged. A tracker that fails on the way raises
    :class:`~reprovar.errors.TrackerError` saying what was and was not logged; the ledger
    stays consistent (its variable rows are never touched).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "m.db"))
        >>> log_variables("0123", ledger=led)  # nothing recorded yet
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: this process has recorded nothing in ledger ...; pass initialized= (what initialize returned) or reprovar_run= (a run id)
    """
    from . import trackers

    if run_id is not None and (not isinstance(run_id, str) or not run_id):
        raise ArgumentTypeError(f"run_id must be an MLflow run id (str) or None, got {run_id!r}")
    led, records, reprovar_run_id, seed = trackers.records_to_log(initialized, reprovar_run, ledger)
    mlflow = trackers._import("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    if run_id is None:
        active = mlflow.active_run()
        if active is None:
            raise ArgumentValueError(
                "run_id: no MLflow run is active in this process (mlflow.start_run()); pass run_id="
            )
        run_id = active.info.run_id
    tracker_run = trackers.mlflow_tracker_run_of(run_id)  # UnknownTrackerRunError before any write
    document = trackers.variables_document(records, reprovar_run=reprovar_run_id, model_seed=seed, ledger=led)
    client = MlflowClient()
    link = trackers.link_for_logging(led, tracker_run, reprovar_run_id, records)
    tags = {"reprovar.ledger": led.location}
    if reprovar_run_id is not None:
        tags["reprovar.run_id"] = str(reprovar_run_id)
    steps = [(f"tags {', '.join(sorted(tags))}", lambda: _set_tags(client, run_id, tags))]
    if seed is not None:
        steps.append(("param reprovar.model_seed", lambda: client.log_param(run_id, "reprovar.model_seed", str(seed))))
    steps.append((f"artifact {ARTIFACT_PATH}",
                  lambda: client.log_text(run_id, trackers.document_text(document), ARTIFACT_PATH)))
    done = trackers.run_steps(tracker_run.describe(), steps, trackers.ledger_state(led, link, tracker_run))
    return Logged(tracker_run, reprovar_run_id, seed, len(records), done, link)


def _set_tags(client, run_id: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
