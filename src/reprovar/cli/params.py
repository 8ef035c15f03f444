"""Click parameter types and filter options for the audit commands (find, export)."""

from __future__ import annotations

import functools
from typing import Callable

import click

from ..audit.errors import BadFilterError
from ..audit.times import parse_time

TIME_HELP = ("ISO 8601 date or date-time (2026-11-29, 2026-11-29T16:30, ...+01:00); "
             "a time without an offset is UTC")


class SeedType(click.ParamType):
    """A seed in [0, 2**64): decimal, or hex with ``0x``."""

    name = "SEED"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            seed = int(str(value).strip(), 0)
        except ValueError:
            self.fail(f"{value!r} is not an integer seed", param, ctx)
        if not 0 <= seed < 2**64:
            self.fail(f"{value} is outside [0, 2**64)", param, ctx)
        return seed


class TimeType(click.ParamType):
    """An ISO 8601 date or date-time, checked at parse time; passed on as the text given."""

    name = "TIME"

    def convert(self, value, param, ctx):
        try:
            parse_time(value)
        except BadFilterError as e:
            self.fail(str(e), param, ctx)
        return value


SEED = SeedType()
TIME = TimeType()


def filter_options(command: Callable) -> Callable:
    """Add the variable filters; the command receives them as one dict, ``filters``."""

    @click.option("--name", metavar="PATTERN",
                  help="Exact name, or a glob with * and ? (quote it: 'dense_*'). Case-sensitive.")
    @click.option("--seed", type=SEED, help="Seed (decimal or 0x hex).")
    @click.option("--run", "run", type=click.IntRange(min=0), metavar="ID", help="Run id (see `reprovar runs`).")
    @click.option("--since", type=TIME, help=f"Created at or after this time: {TIME_HELP}.")
    @click.option("--until", type=TIME,
                  help="Created before this time (a bare date includes that whole day); same forms as --since.")
    @click.option("--dtype", type=click.Choice(["float32", "float64", "float16", "bfloat16"]), help="Data type.")
    @click.option("--algorithm", metavar="NAME", help="Sampler algorithm name.")
    @click.option("--shape", metavar="SHAPE", help="Exact shape, e.g. 2x3, '(2, 3)' or () for a scalar.")
    @functools.wraps(command)
    def wrapper(*args, name, seed, run, since, until, dtype, algorithm, shape, **kwargs):
        filters = dict(name=name, seed=seed, run=run, since=since, until=until, dtype=dtype,
                       algorithm=algorithm, shape=shape)
        return command(*args, filters=filters, **kwargs)

    return wrapper
