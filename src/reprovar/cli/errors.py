"""The CLI's error policy: bad input is one line on stderr and exit status 1, never a traceback
or a usage screen.

A library error (:class:`~reprovar.errors.ReprovarError`) and a value click refuses while
parsing (an out-of-range ``--version 0``, ``--id abc``, an unknown option) take the same
form: ``Error: <one line>``, exit status 1. Only a bare group (``reprovar db``) still prints
its help.
"""

from __future__ import annotations

import click

from ..display import visible
from ..errors import ReprovarError


def one_line(text: str) -> str:
    """``text`` as one line for the terminal: whitespace runs (newlines included) made single
    spaces, then what is left that a terminal would act on escaped
    (:func:`reprovar.display.visible`).

    Example:
        >>> one_line("no such option:\\n  --frce")
        'no such option: --frce'
        >>> one_line("no variable named 'a\\x1b[2Jb'")
        "no variable named 'a\\\\x1b[2Jb'"
    """
    return visible(" ".join(text.split()))


def usage_line(error: click.UsageError) -> click.ClickException:
    """Click's refusal of an argument as one ``Error:`` line, naming the command's help."""
    message = one_line(error.format_message()) or type(error).__name__
    if error.ctx is not None:
        message += f" (see '{error.ctx.command_path} --help')"
    return click.ClickException(message)


class ReprovarGroup(click.Group):
    """A click group that turns :class:`~reprovar.errors.ReprovarError` and click's usage
    errors of its commands into ``Error: <one line>`` and exit status 1."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as e:
            raise usage_line(e) from e

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as e:
            raise usage_line(e) from e
        except ReprovarError as e:
            raise click.ClickException(one_line(str(e)) or type(e).__name__) from e
