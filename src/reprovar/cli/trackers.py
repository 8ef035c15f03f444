"""Options that name a tracker run (MLflow, W&B), shared by ``runs``, ``find`` and ``replay``."""

from __future__ import annotations

import functools
from typing import Callable

import click

from ..errors import ArgumentValueError


def tracker_run_options(command: Callable) -> Callable:
    """Add ``--mlflow-run ID`` and ``--wandb-run PATH``."""

    @click.option("--mlflow-run", "mlflow_run", metavar="ID",
                  help="The reprovar run(s) linked to this MLflow run id.")
    @click.option("--wandb-run", "wandb_run", metavar="PATH",
                  help="The reprovar run(s) linked to this W&B run: entity/project/id, project/id or id.")
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        if kwargs["mlflow_run"] is not None and kwargs["wandb_run"] is not None:
            raise ArgumentValueError("give --mlflow-run or --wandb-run, not both")
        return command(*args, **kwargs)

    return wrapper


def parse_run_of(text: str) -> tuple[str | None, str | None]:
    """``--run-of mlflow:ID`` or ``--run-of wandb:PATH`` as (mlflow_run, wandb_run).

    Example:
        >>> parse_run_of("wandb:team/proj/abc")
        (None, 'team/proj/abc')
    """
    tracker, sep, path = text.partition(":")
    if not sep or tracker.strip().lower() not in ("mlflow", "wandb") or not path.strip():
        raise ArgumentValueError(f"--run-of must be mlflow:RUN_ID or wandb:ENTITY/PROJECT/RUN_ID, got {text!r}")
    path = path.strip()
    return (path, None) if tracker.strip().lower() == "mlflow" else (None, path)


def tracker_runs(ledger, mlflow_run: str | None, wandb_run: str | None) -> list[int]:
    """The reprovar runs linked to the tracker run (an unknown one is a one-line error)."""
    from ..trackers import reprovar_runs_of

    return reprovar_runs_of(mlflow_run=mlflow_run, wandb_run=wandb_run, ledger=ledger)
