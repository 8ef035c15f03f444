"""Weights & Biases: the provenance of a model's initial state in the W&B run that trained it.

:func:`log_variables` logs, to a W&B run (default: ``wandb.run``):

* ``wandb.config["reprovar"]``: ``run_id`` (the reprovar run), ``ledger`` (its location,
  secrets masked) and ``model_seed`` (when the variables come from an ``initialize`` result);
* the file ``reprovar/variables.json`` in the run's files (``run.dir``), and the same file as
  the artifact ``reprovar-variables-<run id>`` (type ``reprovar-variables``): for each
  variable its name, version, shape, dtype, distribution and parameters, seed, algorithm,
  digest, and the id and seal of its ledger row;

and links the reprovar run to the W&B run in the ledger. Works offline
(``WANDB_MODE=offline``: everything is in the offline run directory for ``wandb sync``).
Needs ``pip install 'reprovar[wandb]'``; importing this module imports no W&B.

Example:
    >>> import reprovar.wandb
    >>> reprovar.wandb.ARTIFACT_TYPE
    'reprovar-variables'
"""

from __future__ import annotations

import os
from typing import Any

from .errors import ArgumentValueError
from .trackers import ARTIFACT_PATH, Logged

__all__ = ["ARTIFACT_PATH", "ARTIFACT_TYPE", "log_variables"]

#: The W&B artifact type of the variables document.
ARTIFACT_TYPE = "reprovar-variables"


def log_variables(
    run: Any = None, *, initialized: Any = None, reprovar_run: int | None = None, ledger: Any = None
) -> Logged:
    """Log a reprovar run's variables to a W&B run, and link the two in the ledger.

    Args:
        run: the W&B ``Run`` (default: ``wandb.run``, the active one).
        initialized: what an adapter's ``initialize``/``init_module`` returned: its records
            and its model seed are logged.
        reprovar_run: a reprovar run id: all its variables are logged (no model seed).
        ledger: the ledger (default: the current one).

    Without ``initialized`` or ``reprovar_run``, the variables of this process's run in the
    ledger are logged. Everything is read and checked first; then the link is recorded, then
    the config, the run file and the artifact are logged. A tracker that fails on the way
    raises :class:`~reprovar.errors.TrackerError` saying what was and was not logged; the
    ledger stays consistent (its variable rows are never touched).

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.Ledger(os.path.join(tempfile.mkdtemp(), "w.db"))
        >>> log_variables(object(), reprovar_run=1, ledger=led)
        Traceback (most recent call last):
        ...
        reprovar.errors.UnknownRunError: no run with id 1 in ledger ...
    """
    from . import trackers
    from .atomic_file import write_atomically

    led, records, reprovar_run_id, seed = trackers.records_to_log(initialized, reprovar_run, ledger)
    wandb = trackers._import("wandb", "wandb")
    if run is None:
        run = getattr(wandb, "run", None)
        if run is None:
            raise ArgumentValueError("run: no W&B run is active in this process (wandb.init()); pass run=")
    tracker_run = trackers.wandb_tracker_run_of(run)
    document = trackers.variables_document(records, reprovar_run=reprovar_run_id, model_seed=seed, ledger=led)
    text = trackers.document_text(document)
    config = {"ledger": led.location}
    if reprovar_run_id is not None:
        config["run_id"] = reprovar_run_id
    if seed is not None:
        config["model_seed"] = seed
    path = os.path.join(run.dir, *ARTIFACT_PATH.split("/"))

    def write_file() -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(path, lambda f: f.write(text.encode("utf-8")), force=True)

    def log_artifact() -> None:
        artifact = wandb.Artifact(f"{ARTIFACT_TYPE}-{tracker_run.run_id}", type=ARTIFACT_TYPE,
                                  metadata={"reprovar_run_id": reprovar_run_id, "model_seed": seed})
        artifact.add_file(path, name=ARTIFACT_PATH)
        run.log_artifact(artifact)

    link = trackers.link_for_logging(led, tracker_run, reprovar_run_id, records)
    steps = [
        (f"config reprovar.{', reprovar.'.join(config)}",
         lambda: run.config.update({"reprovar": config}, allow_val_change=True)),
        (f"run file {ARTIFACT_PATH}", write_file),
        (f"artifact {ARTIFACT_TYPE}-{tracker_run.run_id}", log_artifact),
    ]
    done = trackers.run_steps(tracker_run.describe(), steps, trackers.ledger_state(led, link, tracker_run))
    return Logged(tracker_run, reprovar_run_id, seed, len(records), done, link)
