"""``reprovar show`` and ``reprovar history``: one variable, and all versions of a name."""

from __future__ import annotations

import click

from ..audit.query import PARAMETER_FIELDS, changes
from ..errors import UnknownRunError
from ..ledger.records import format_number, json_number
from .options import check_variable_choice, id_option, ledger_option, open_ledger, version_option
from .output import emit, emit_record, output_options
from .rows import params_text, prefixed, run_row, variable_row

#: What ``history`` reports as changed between versions (the digest follows from these).
HISTORY_FIELDS = ("seed", "seed_source", "shape", "dtype", "distribution", *PARAMETER_FIELDS, "algorithm",
                  "algorithm_version", "recipe")
HISTORY_COLUMNS = ("version", "id", "created", "seed", "shape", "dtype", "distribution", "params", "run_id",
                   "changed")


@click.command()
@click.argument("name", required=False)
@version_option
@id_option
@ledger_option
@output_options
def show(name, version, row_id, ledger_url, output_format):
    """Show everything recorded about a variable and the run that made it.

    \b
    Example:
        reprovar show dense/kernel --version 2
    """
    check_variable_choice(name, version, row_id)
    ledger = open_ledger(ledger_url)
    record = ledger.get(name, version, id=row_id)
    row = variable_row(record, output_format)
    try:
        run = ledger.run(record.run_id)
    except UnknownRunError:
        emit_record(row, output_format)
        raise UnknownRunError(
            f"run {record.run_id}, which recorded {record.name!r} version {record.version}, is missing "
            f"from ledger {ledger.location} (deleted; `reprovar verify` reports it)") from None
    row.update(prefixed(run_row(run, output_format), "run_"))
    del row["run_id"]  # the same as run_id from the run's side
    emit_record(row, output_format)


@click.command()
@click.argument("name")
@ledger_option
@output_options
def history(name, ledger_url, output_format):
    """List every version of NAME and what changed from the version before
    (seed, shape, dtype, distribution or any of its parameters, algorithm, recipe).

    \b
    Example:
        reprovar history dense/kernel
    """
    versions = open_ledger(ledger_url).history(name)
    rows = []
    previous = None
    for record in versions:
        row = variable_row(record, output_format)
        diff = {} if previous is None else changes(previous, record)
        shown = {k: v for k, v in diff.items() if k in HISTORY_FIELDS}
        if output_format == "json":
            row["changed"] = {k: [_plain(old), _plain(new)] for k, (old, new) in shown.items()}
        else:
            row["changed"] = _describe(previous, record, shown, diff)
        rows.append(row)
        previous = record
    emit(rows, output_format, HISTORY_COLUMNS)


def _plain(value):
    return list(value) if isinstance(value, tuple) else json_number(value)


def _describe(previous, record, shown: dict, diff: dict) -> str:
    if previous is None:
        return "(first version)"
    if "distribution" in shown:  # other parameters: each side's own, not field by field
        described = {}
        for key, value in shown.items():
            if key not in PARAMETER_FIELDS:
                described[key] = value
            if key == "distribution":
                described["params"] = (params_text(previous), params_text(record))
        shown = described
    if shown:
        return "; ".join(f"{k} {_fmt(k, old)} -> {_fmt(k, new)}" for k, (old, new) in shown.items())
    if "digest" in diff:  # same inputs, different bytes: the sampler itself changed
        return "digest only (same inputs, different values!)"
    return "nothing (made again)"


def _fmt(key: str, value) -> str:
    if key in PARAMETER_FIELDS and value is not None:
        return format_number(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
    return str(value)
