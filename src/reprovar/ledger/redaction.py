"""Credentials out of recorded command lines: what a run row's ``argv`` must never hold.

Redacted (the value becomes ``***``, everything else is kept, so the command stays readable):

* the password in a URL: ``postgresql://me:secret@host/db`` -> ``postgresql://me:***@host/db``;
* the value of an option whose name says it is a secret, given as ``--password=x`` or as
  ``--password x`` (names with a part ``password``, ``passwd``, ``pwd``, ``pass``,
  ``passphrase``, ``secret``, ``token``, ``credential(s)``, ``auth``, or ``apikey``,
  ``api-key``, ``access-key``, ``secret-key``, ``private-key``, in any case, parts split at
  ``-``, ``_`` and ``.``: ``--db-password``, ``--hf_token``, ``--api-key``);
* ``name=value`` pairs with such a name anywhere in an argument: ``db.password=x`` (Hydra),
  ``PGPASSWORD=x``, ``host=h password=x`` (libpq), ``?token=x&...`` (query strings).

Not recognized: a secret glued to a short option (``mysql -psecret``) or a bare positional
secret. Such scripts should read secrets from the environment or a file.

Example:
    >>> redact_argv(["train.py", "--ledger", "postgresql+psycopg://me:s3cret@db/ledger", "--token", "abc", "--lr=0.1"])
    ['train.py', '--ledger', 'postgresql+psycopg://me:***@db/ledger', '--token', '***', '--lr=0.1']
"""

from __future__ import annotations

import re
from typing import Iterable

#: What a redacted value becomes.
MASK = "***"

_SECRET_PARTS = {"password", "passwd", "pwd", "pass", "passphrase", "secret", "token",
                 "credential", "credentials", "auth", "apikey"}
_SECRET_PAIRS = {("api", "key"), ("access", "key"), ("secret", "key"), ("private", "key")}
_SPLIT = re.compile(r"[-_.]+")
# scheme://user:password@ (the password may hold anything but '@' and '/').
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^/\s:@]*:)(?P<secret>[^@/\s]+)(?P<at>@)")
# "name=" inside an argument (query strings, libpq conninfo, Hydra overrides); the value
# runs to the next separator, or is quoted.
_NAME_EQ = re.compile(r"(?:^|(?<=[\s?&;,]))-{0,2}(?P<name>[A-Za-z][\w.-]*)\s*=\s*")
_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|[^\s&;,]*")


def is_secret_name(name: str) -> bool:
    """Whether an option or key name says its value is a secret.

    Example:
        >>> [is_secret_name(n) for n in ("--db-password", "HF_TOKEN", "--api-key", "--author", "--lr")]
        [True, True, True, False, False]
    """
    parts = [p for p in _SPLIT.split(name.lower().lstrip("-")) if p]
    if any(p in _SECRET_PARTS or p.endswith("password") for p in parts):
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(parts, parts[1:]))


def redact_text(text: str) -> str:
    """``text`` with URL passwords and secret ``name=value`` values masked.

    Example:
        >>> redact_text("host=db user=me password=s3cret")
        'host=db user=me password=***'
    """
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["at"], text)
    pieces, done = [], 0
    for m in _NAME_EQ.finditer(text):
        if m.start() < done or not is_secret_name(m["name"]):
            continue  # inside a value already masked, or not a secret
        value = _VALUE.match(text, m.end())
        if value.end() > m.end():
            pieces += [text[done:m.end()], MASK]
            done = value.end()
    return "".join(pieces) + text[done:]


def redact_argv(argv: Iterable[str]) -> list[str]:
    """A command line with its credentials masked (see the module for what is recognized).

    Example:
        >>> redact_argv(["run.py", "--password=hunter2", "-v"])
        ['run.py', '--password=***', '-v']
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        arg = str(arg)
        if hide_next and not (arg.startswith("-") and len(arg) > 1 and not arg[1:2].isdigit()):
            out.append(MASK)
            hide_next = False
            continue
        hide_next = False
        if arg.startswith("-") and "=" not in arg and not arg.startswith("--no-") and is_secret_name(arg):
            hide_next = True  # --password VALUE
            out.append(arg)
            continue
        out.append(redact_text(arg))
    return out
