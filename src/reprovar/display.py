"""Ledger text as people see it: every character a terminal or a browser would act on or
hide, shown as its escape instead.

Names, command lines and paths in a ledger are whatever their writers made them: an escape
sequence (``\\x1b]0;title\\x07``) would retitle or recolor the terminal that prints it, a
newline would forge a line of output, and a right-to-left override (``\\u202e``) would make
``weights_\\u202egnp.exe`` read as "weights_exe.png". :func:`visible` is the one escaping that
every output of the CLI (tables, records, messages, ``Error:`` lines, JSON) and the HTML
report apply: a character that is not printable (``str.isprintable``: control and format
characters, bidi controls, line and paragraph separators, unassigned code points) becomes
its Python escape. JSON keeps values exact: :func:`visible_json` writes such characters as
JSON ``\\u`` escapes, which decode to the same text.
"""

from __future__ import annotations

import json
from typing import Any


def visible(text: str) -> str:
    """``text`` with each non-printable character written as its escape (``\\n``, ``\\x1b``,
    ``\\u202e``); printable text is returned as it is.

    Example:
        >>> visible("weights_\\u202egnp.exe"), visible("a\\nb"), visible("dense/kernel")
        ('weights_\\\\u202egnp.exe', 'a\\\\nb', 'dense/kernel')
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def visible_json(data: Any, *, indent: int | None = 2, default=None) -> str:
    """``data`` as JSON (indented by ``indent``) whose every non-printable character is a
    ``\\u`` escape, so the text is safe on a terminal and decodes to exactly ``data``;
    ``default`` is :func:`json.dumps`'s.

    Example:
        >>> visible_json({"name": "a\\u202eb"})
        '{\\n  "name": "a\\\\u202eb"\\n}'
        >>> json.loads(visible_json({"name": "a\\u202eb"}))["name"] == "a\\u202eb"
        True
    """
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=default)
    if text.replace("\n", "").isprintable():
        return text
    return "".join(ch if ch == "\n" or ch.isprintable() else json.dumps(ch)[1:-1] for ch in text)
