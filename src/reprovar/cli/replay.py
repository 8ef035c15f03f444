"""``reprovar replay``: make a recorded variable again, verify it, optionally save it."""

from __future__ import annotations

import click
import numpy as np

from ..atomic_file import write_atomically
from ..errors import ArgumentValueError
from .options import (check_variable_choice, cluster_client, id_option, ledger_option, open_ledger,
                      scheduler_options, version_option)
from .output import emit_record, output_options
from .rows import variable_row
from .trackers import tracker_run_options


def parse_chunks(text: str):
    """``--chunks``: ``auto``, one size for every dimension (``1000``), or one per dimension
    (``1000,500``; ``-1`` spans the dimension whole). One size per dimension: Zarr's rule."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        sizes = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        raise ArgumentValueError(
            f"--chunks must be 'auto', a size, or one size per dimension such as 1000,500; got {text!r}"
        ) from None
    if any(s == 0 or s < -1 for s in sizes):
        raise ArgumentValueError(f"--chunks sizes must be positive (or -1 for a whole dimension), got {text!r}")
    return sizes[0] if len(sizes) == 1 else sizes


@click.command()
@click.argument("name", required=False)
@version_option
@id_option
@click.option("-o", "--output", type=click.Path(), help="Write the values to this .npy file (a regular file).")
@click.option("--zarr", "zarr_path", type=click.Path(), metavar="PATH",
              help="Write the values to this Zarr store through Dask (needs reprovar[zarr]).")
@click.option("--chunks", default="auto", show_default=True,
              help="Zarr chunk sizes: auto, one size, or one per dimension (1000,500; -1: whole).")
@scheduler_options
@click.option("--force", is_flag=True, help="Overwrite the --output file or --zarr store if it exists.")
@tracker_run_options
@ledger_option
@output_options
def replay(name, version, row_id, output, zarr_path, chunks, scheduler, connect_timeout, force, mlflow_run,
           wandb_run, ledger_url, output_format):
    """Regenerate a recorded variable and verify it against its recorded digest.

    With --mlflow-run ID or --wandb-run PATH, replays the version of NAME recorded for that
    tracker run (an error if its reprovar run recorded several versions of NAME for it).

    Prints name, version, shape, dtype, distribution and its parameters, seed, digest and
    verified; exits 0 only when the bytes match. With -o, writes a .npy file atomically (never
    a half-written file). With --zarr, writes a Zarr store chunk by chunk on Dask workers
    (--scheduler ADDRESS, else local threads): the digest is checked there first, leaf by
    leaf, and the variable never exists in one place.

    \b
    Example:
        reprovar replay dense/kernel --version 2 -o kernel.npy
        reprovar replay embeddings --zarr emb.zarr --chunks 65536,-1 --scheduler tcp://10.0.0.5:8786
        reprovar replay dense/kernel --mlflow-run 3f2a9c0d1e8b4f6a8c7d5e4f3a2b1c0d
    """
    check_variable_choice(name, version, row_id)
    if mlflow_run is not None or wandb_run is not None:
        if name is None or version is not None:
            raise ArgumentValueError("--mlflow-run and --wandb-run go with NAME, not with --version or --id")
    if output is not None and zarr_path is not None:
        raise ArgumentValueError("give -o/--output or --zarr, not both")
    if zarr_path is None and (scheduler is not None or chunks != "auto"):
        raise ArgumentValueError("--scheduler and --chunks go with --zarr")
    ledger = open_ledger(ledger_url)
    if mlflow_run is not None or wandb_run is not None:
        # The version of NAME the linked run recorded (its latest, if it recorded several).
        name, row_id = None, _recorded_by_linked_run(ledger, name, mlflow_run, wandb_run)
    if zarr_path is not None:
        from ..dask import write_zarr

        with cluster_client(scheduler, connect_timeout) as client:
            record = write_zarr(name, zarr_path, version, ledger=ledger, chunks=parse_chunks(chunks),
                                client=client, force=force, id=row_id)
    else:
        variable = ledger.replay(name, version, id=row_id)
        record = variable.record
    row = variable_row(record, output_format)
    summary = {
        "name": record.name,
        "version": record.version,
        "id": record.id,
        "shape": record.shape,
        "dtype": record.dtype,
        "distribution": record.distribution,
        "params": row["params"],
        "seed": record.seed,
        "digest": record.digest,
        "verified": True,
    }
    if output is not None:
        # np.save writes bfloat16 as opaque 2-byte records ('|V2'); np.load gives them back.
        write_atomically(output, lambda f: np.save(f, variable.numpy(), allow_pickle=False), force=force)
        summary["output"] = output
    if zarr_path is not None:
        summary["zarr"] = zarr_path
    if output_format == "table":
        summary["verified"] = "yes (digest matches)"
    emit_record(summary, output_format)


def _recorded_by_linked_run(ledger, name: str, mlflow_run, wandb_run) -> int:
    from ..errors import UnknownVariableError
    from ..adapter import check_one_version, lookup
    from ..trackers import restore_selection

    run, ids, source = restore_selection(None, mlflow_run, wandb_run, ledger)
    found, _ = lookup([name], run=run, ledger=ledger, ids=ids)
    if name not in found:
        raise UnknownVariableError(f"{source} recorded no variable named {name!r}")
    check_one_version([name], run=run, ids=ids, ledger=ledger, action="replay", source=source)
    return found[name].id
