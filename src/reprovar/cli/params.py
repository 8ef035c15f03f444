"""Filter options for the audit commands (find, export).

Values reach the library as text and are checked there, so a bad one is the library's one-line
error (``Error: malformed time ...``), like every other bad input, not a usage screen.
"""

from __future__ import annotations

import functools
from typing import Callable

import click

from ..distributions import REGISTRY

TIME_HELP = ("ISO 8601 date or date-time (2026-11-29, 2026-11-29T16:30, ...+01:00); "
             "a time without an offset is UTC")


def filter_options(command: Callable) -> Callable:
    """Add the variable filters; the command receives them as one dict, ``filters``."""

    @click.option("--name", metavar="PATTERN",
                  help="Exact name, or a glob with * and ? (quote it: 'dense_*'). Case-sensitive.")
    @click.option("--seed", metavar="SEED", help="Seed (decimal or 0x hex).")
    @click.option("--run", "run", metavar="ID", help="Run id (see `reprovar runs`).")
    @click.option("--since", metavar="TIME", help=f"Created at or after this time: {TIME_HELP}.")
    @click.option("--until", metavar="TIME",
                  help="Created before this time (a bare date includes that whole day); same forms as --since.")
    @click.option("--dtype", metavar="DTYPE", help="Data type: float32, float64, float16 or bfloat16.")
    @click.option("--algorithm", metavar="NAME", help="Sampler algorithm name.")
    @click.option("--shape", metavar="SHAPE", help="Exact shape, e.g. 2x3, '(2, 3)' or () for a scalar.")
    @click.option("--distribution", metavar="NAME",
                  help=f"Distribution: {', '.join(REGISTRY)}.")
    @functools.wraps(command)
    def wrapper(*args, name, seed, run, since, until, dtype, algorithm, shape, distribution, **kwargs):
        filters = dict(name=name, seed=seed, run=run, since=since, until=until, dtype=dtype,
                       algorithm=algorithm, shape=shape, distribution=distribution)
        return command(*args, filters=filters, **kwargs)

    return wrapper
