"""``reprovar plot``: one variable's histogram, recorded density and Q-Q plot as PNG or SVG."""

from __future__ import annotations

import click

from .output import say
from .options import check_variable_choice, id_option, ledger_option, open_ledger, version_option


@click.command()
@click.argument("name", required=False)
@version_option
@id_option
@click.option("-o", "--output", required=True, type=click.Path(),
              help="The image to write: FILE.png or FILE.svg (atomically).")
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@ledger_option
def plot(name, version, row_id, output, force, ledger_url):
    """Draw a recorded variable (NAME [--version N] or --id ID): a histogram of its values
    under the recorded distribution's density, and a Q-Q plot against that distribution.
    The format follows the -o suffix (.png or .svg).

    Variables of more than 10^6 elements are drawn from their first 10^6 elements (C order).
    Needs the report extra: pip install 'reprovar[report]'.

    \b
    Example:
        reprovar plot dense/kernel --version 2 -o kernel.png
    """
    from ..audit.plots import plot_format, plot_variable, require_matplotlib

    check_variable_choice(name, version, row_id)
    require_matplotlib("reprovar plot")
    plot_format(output)
    record = open_ledger(ledger_url).get(name, version, id=row_id)
    summary = plot_variable(record, output, force=force)
    drawn = f"{summary.n:,}" + (f" of {summary.total:,}" if summary.partial else "")
    say(f"wrote {output}: {record.name} v{record.version}, {drawn} values", err=True)
