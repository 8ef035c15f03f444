"""``reprovar replay``: make a recorded variable again, verify it, optionally save it."""

from __future__ import annotations

import click
import numpy as np

from ..atomic_file import write_atomically
from .options import check_variable_choice, ledger_option, open_ledger
from .output import emit_record, output_options


@click.command()
@click.argument("name", required=False)
@click.option("--version", "version", type=click.IntRange(min=1), help="Version of NAME (default: latest).")
@click.option("--id", "row_id", type=click.IntRange(min=1), help="Ledger row id instead of NAME.")
@click.option("-o", "--output", type=click.Path(), help="Write the values to this .npy file (a regular file).")
@click.option("--force", is_flag=True, help="Overwrite the --output file if it exists.")
@ledger_option
@output_options
def replay(name, version, row_id, output, force, ledger_url, output_format):
    """Regenerate a recorded variable and verify it against its recorded digest.

    Prints name, version, shape, dtype, seed, digest and verified; exits 0 only when the
    bytes match. With -o, writes a .npy file atomically (never a half-written file).

    \b
    Example:
        reprovar replay dense/kernel --version 2 -o kernel.npy
    """
    check_variable_choice(name, version, row_id)
    ledger = open_ledger(ledger_url)
    variable = ledger.replay(name, version, id=row_id)
    record = variable.record
    summary = {
        "name": record.name,
        "version": record.version,
        "id": record.id,
        "shape": record.shape,
        "dtype": record.dtype,
        "seed": record.seed,
        "digest": record.digest,
        "verified": True,
    }
    if output is not None:
        # np.save writes bfloat16 as opaque 2-byte records ('|V2'); np.load gives them back.
        write_atomically(output, lambda f: np.save(f, variable.numpy(), allow_pickle=False), force=force)
        summary["output"] = output
    if output_format == "table":
        summary["verified"] = "yes (digest matches)"
    emit_record(summary, output_format)
