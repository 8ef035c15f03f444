"""Credentials out of recorded command lines: what a run row's ``argv`` must never hold.

Each form is found the way the program that consumes it reads it, so that what that program
would take as the secret is exactly what is masked (the value becomes ``***``; everything
else is kept, so the command stays readable):

* database URLs as SQLAlchemy parses them (the password runs from the ``:`` after the user
  name to the ``@``, and may hold ``/``, ``:`` or spaces):
  ``postgresql://me:s3/cret@host/db`` -> ``postgresql://me:***@host/db``;
* web URLs (``http``, ``https``, ``ws``, ``wss``, ``ftp``) as :func:`urllib.parse.urlsplit`
  splits them: the password of ``user:password@``, a lone ``TOKEN@`` (how tokens ride in
  ``https://TOKEN@host``), and secret query parameters (``?sig=``, ``?key=``,
  ``?access_token=``, ``X-Amz-Signature=`` ...);
* an option whose name says it is a secret, as ``--password=x`` or ``--password x`` (the
  next argument is masked whatever it looks like: ``--password -X`` too, since click and
  argparse both may take it as the value);
* ``name=value`` pairs with such a name anywhere in an argument: ``db.password=x`` (Hydra),
  ``PGPASSWORD=x``, ``REPROVAR_LEDGER_KEY=x``, ``host=h password=x`` (libpq);
* HTTP headers and ``name: value`` lines: ``Authorization: Bearer x`` (the scheme word is
  kept), ``X-Api-Key: x``;
* JSON members, as :mod:`json` decodes them: ``{"db_password": "x"}``.

A name is a secret's when one of its parts (split at ``-``, ``_``, ``.``, in any case) is
``password``, ``passwd``, ``pwd``, ``pw``, ``pass``, ``passphrase``, ``secret``, ``token``,
``credential(s)``, ``auth``, ``authorization``, ``cookie`` or ``apikey``, or two parts are a
kind of key (``api-key``, ``access-key``, ``secret-key``, ``private-key``, ``signing-key``,
``ledger-key``, ``encryption-key``, ``hmac-key``, ...). A name ending in ``file``, ``path``
or ``dir`` names where a secret is kept, not the secret (``--password-file``), and is kept.

Not recognized: a secret glued to a short option (``mysql -psecret``) or a bare positional
secret. Such scripts should read secrets from the environment or a file.

Example:
    >>> redact_argv(["train.py", "--ledger", "postgresql+psycopg://me:s3/cret@db/ledger", "--token", "abc", "--lr=0.1"])
    ['train.py', '--ledger', 'postgresql+psycopg://me:***@db/ledger', '--token', '***', '--lr=0.1']
"""

from __future__ import annotations

import json
import re
from typing import Iterable, Iterator

from sqlalchemy.engine import make_url

#: What a redacted value becomes.
MASK = "***"

_SECRET_PARTS = {"password", "passwd", "pwd", "pw", "pass", "passphrase", "secret", "token",
                 "credential", "credentials", "auth", "authorization", "cookie", "apikey"}
#: Words that make the part ``key`` after them a secret: ``--signing-key``, ``LEDGER_KEY``.
_KEY_KINDS = {"api", "access", "secret", "private", "signing", "sign", "ledger", "seal",
              "encryption", "hmac", "master", "session", "client", "license", "shared"}
#: Last parts that name where a secret is kept rather than the secret itself.
_WHERE_PARTS = {"file", "path", "dir"}
#: Query parameters that carry signatures and keys in web URLs (besides secret names).
_SECRET_QUERY_NAMES = {"sig", "signature", "key", "x-amz-signature", "x-amz-credential",
                       "x-amz-security-token", "x-goog-signature", "x-goog-credential"}
_WEB_SCHEMES = {"http", "https", "ws", "wss", "ftp", "ftps"}
#: Web schemes where a user name without a password is a token (``https://TOKEN@host``).
_TOKEN_USER_SCHEMES = {"http", "https", "ws", "wss"}
_SPLIT = re.compile(r"[-_.]+")
_SCHEME = re.compile(r"(?<![\w+.-])(?P<scheme>[A-Za-z][\w+.-]*)://")
# "name=" inside an argument (query strings, libpq conninfo, Hydra overrides); the value
# runs to the next separator, or is quoted.
_NAME_EQ = re.compile(r"(?:^|(?<=[\s?&;,]))-{0,2}(?P<name>[A-Za-z][\w.-]*)\s*=\s*")
_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|[^\s&;,]*")
# "Name: value" (an HTTP header, a YAML line): the value runs to the end of the line; an
# authorization scheme word before it is kept.
_HEADER = re.compile(r"(?m)(?:^|(?<=[\s\"'{,]))(?P<name>[A-Za-z][\w.-]*)[ \t]*:[ \t]*"
                     r"(?:(?:Bearer|Basic|Token|Digest|Negotiate|Bot)[ \t]+)?(?P<value>[^\r\n\"']+)")
# A JSON member name: a JSON string followed by ':'.
_JSON_NAME = re.compile(r'"(?P<name>(?:[^"\\]|\\.)*)"\s*:\s*')
_JSON = json.JSONDecoder()


def is_secret_name(name: str) -> bool:
    """Whether an option or key name says its value is a secret.

    Example:
        >>> [is_secret_name(n) for n in ("--db-password", "HF_TOKEN", "--api-key", "--author", "--lr")]
        [True, True, True, False, False]
        >>> [is_secret_name(n) for n in ("--signing-key", "REPROVAR_LEDGER_KEY", "--pw", "--password-file")]
        [True, True, True, False]
    """
    parts = [p for p in _SPLIT.split(name.lower().lstrip("-")) if p]
    if not parts or parts[-1] in _WHERE_PARTS:
        return False
    if any(p in _SECRET_PARTS or p.endswith("password") for p in parts):
        return True
    return any(kind in _KEY_KINDS and key in ("key", "keys") for kind, key in zip(parts, parts[1:]))


def redact_text(text: str) -> str:
    """``text`` with the secrets of every form the module lists masked.

    Example:
        >>> redact_text("host=db user=me password=s3cret")
        'host=db user=me password=***'
        >>> redact_text("Authorization: Bearer abc.def")
        'Authorization: Bearer ***'
        >>> redact_text('{"db_password": "x", "lr": 0.1}')
        '{"db_password": "***", "lr": 0.1}'
    """
    spans = sorted([*_url_spans(text), *_pair_spans(text), *_header_spans(text), *_json_spans(text)])
    pieces, done = [], 0
    for start, end, replacement in spans:
        if start < done:
            continue  # inside a value already masked
        pieces += [text[done:start], replacement]
        done = end
    return "".join(pieces) + text[done:]


def redact_argv(argv: Iterable[str]) -> list[str]:
    """A command line with its credentials masked (see the module for what is recognized).

    Example:
        >>> redact_argv(["run.py", "--password=hunter2", "-v"])
        ['run.py', '--password=***', '-v']
        >>> redact_argv(["run.py", "--password", "-X", "-v"])
        ['run.py', '--password', '***', '-v']
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        arg = str(arg)
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if arg.startswith("-") and "=" not in arg and not arg.startswith("--no-") and is_secret_name(arg):
            hide_next = True  # --password VALUE
            out.append(arg)
            continue
        out.append(redact_text(arg))
    return out


Span = tuple[int, int, str]


def _url_spans(text: str) -> Iterator[Span]:
    for m in _SCHEME.finditer(text):
        scheme = m["scheme"].lower()
        start = m.end()
        # A URL that is the whole argument (or the whole value of name=) is read to its end,
        # as its consumer reads it; one inside longer text ends at white space.
        whole = not text[:m.start()].strip() or re.fullmatch(r"\S*=", text[:m.start()]) is not None
        stop = len(text) if whole else _next_space(text, start)
        if scheme in _WEB_SCHEMES:
            yield from _web_url_spans(text, scheme, start, stop)
        else:
            yield from _database_url_spans(text, m.start(), start, stop)


def _next_space(text: str, start: int) -> int:
    found = re.compile(r"\s").search(text, start)
    return found.start() if found else len(text)


def _database_url_spans(text: str, url_start: int, start: int, stop: int) -> Iterator[Span]:
    # SQLAlchemy's grammar: user [^:/]*, then ':' and a password [^@]*, then '@'.
    userinfo = re.compile(r"[^:/]*:(?P<password>[^@]*)@").match(text, start, stop)
    if userinfo is None:
        return
    try:
        parsed = make_url(text[url_start:stop]).password
    except Exception:  # SQLAlchemy cannot read it: mask what its grammar calls the password
        parsed = userinfo["password"]
    if parsed is not None and userinfo.end("password") > userinfo.start("password"):
        yield userinfo.start("password"), userinfo.end("password"), MASK


def _web_url_spans(text: str, scheme: str, start: int, stop: int) -> Iterator[Span]:
    # urllib.parse.urlsplit: the authority ends at the first '/', '?' or '#'; the user info
    # is what comes before its last '@'.
    authority_end = re.compile(r"[/?#]").search(text, start, stop)
    authority_end = authority_end.start() if authority_end else stop
    at = text.rfind("@", start, authority_end)
    if at > start:
        colon = text.find(":", start, at)
        if colon >= 0 and colon + 1 < at:
            yield colon + 1, at, MASK
        elif colon < 0 and scheme in _TOKEN_USER_SCHEMES:
            yield start, at, MASK
    query = text.find("?", authority_end, stop)
    if query < 0:
        return
    fragment = text.find("#", query, stop)
    end = fragment if fragment >= 0 else stop
    position = query + 1
    for field in text[query + 1:end].split("&"):
        name, equals, value = field.partition("=")
        if equals and value and (is_secret_name(name) or name.lower() in _SECRET_QUERY_NAMES):
            value_start = position + len(name) + 1
            yield value_start, value_start + len(value), MASK
        position += len(field) + 1


def _pair_spans(text: str) -> Iterator[Span]:
    for m in _NAME_EQ.finditer(text):
        if not is_secret_name(m["name"]):
            continue
        value = _VALUE.match(text, m.end())
        if value.end() > m.end():
            yield m.end(), value.end(), MASK


def _header_spans(text: str) -> Iterator[Span]:
    for m in _HEADER.finditer(text):
        if is_secret_name(m["name"]) and m["value"].strip():
            yield m.start("value"), m.start("value") + len(m["value"].rstrip()), MASK


def _json_spans(text: str) -> Iterator[Span]:
    if '"' not in text:
        return
    for m in _JSON_NAME.finditer(text):
        try:
            name = json.loads(f'"{m["name"]}"')
        except ValueError:
            continue
        if not is_secret_name(name):
            continue
        try:
            _, end = _JSON.raw_decode(text, m.end())
        except ValueError:
            continue  # not JSON after all; the other forms still apply
        yield m.end(), end, f'"{MASK}"'
