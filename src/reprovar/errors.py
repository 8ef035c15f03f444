"""The exception hierarchy: every error reprovar raises derives from :class:`ReprovarError`.

Argument errors also derive from the matching built-in (``TypeError`` or ``ValueError``)
so that callers who catch the built-ins keep working.
"""

from __future__ import annotations


class ReprovarError(Exception):
    """Root of every exception raised by reprovar."""


class ArgumentTypeError(ReprovarError, TypeError):
    """An argument has the wrong type; the message names the parameter and the accepted types."""


class ArgumentValueError(ReprovarError, ValueError):
    """An argument has an unacceptable value; the message names the parameter and the accepted values."""


class UnknownAlgorithmError(ReprovarError, LookupError):
    """No sampler algorithm is registered under the requested name and version."""
