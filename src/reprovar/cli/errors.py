"""The CLI's error policy: a library error is one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import click

from ..errors import ReprovarError


class ReprovarGroup(click.Group):
    """A click group that turns :class:`~reprovar.errors.ReprovarError` into ``Error: <one line>``."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ReprovarError as e:
            message = " ".join(str(e).split()) or type(e).__name__
            raise click.ClickException(message) from e
