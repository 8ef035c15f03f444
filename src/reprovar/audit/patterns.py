"""Glob-style name patterns (``*`` and ``?``) turned into portable SQL ``LIKE`` patterns.

``LIKE`` differs between backends (SQLite and MariaDB's default collation ignore case, MariaDB
ignores trailing spaces in ``=``), so a pattern is used twice: as ``LIKE`` to let the database
narrow the rows with its index, then as an exact, case-sensitive match in Python.
"""

from __future__ import annotations

import functools
import re

LIKE_ESCAPE = "!"  # not a backslash: backslash needs different quoting on each backend
#: PostgreSQL's default ``LIKE`` escape. Its planner turns a literal prefix into an index range
#: only for a pattern without an ``ESCAPE`` clause, so there patterns escape with a backslash.
POSTGRESQL_LIKE_ESCAPE = "\\"


def is_pattern(text: str) -> bool:
    """Whether ``text`` contains a glob wildcard (``*`` or ``?``).

    Example:
        >>> is_pattern("layer*/kernel"), is_pattern("bias")
        (True, False)
    """
    return "*" in text or "?" in text


def glob_to_like(pattern: str, escape: str = LIKE_ESCAPE) -> str:
    """The ``LIKE`` pattern (escape character ``escape``) matching what ``pattern`` matches.

    Example:
        >>> glob_to_like("dense_?/w*")
        'dense!__/w%'
        >>> glob_to_like("100%!")
        '100!%!!'
        >>> print(glob_to_like("dense_*", POSTGRESQL_LIKE_ESCAPE))
        dense\\_%
    """
    out = []
    for ch in pattern:
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in ("%", "_", escape):
            out.append(escape + ch)
        else:
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=64)  # a query checks every row against one pattern
def glob_matcher(pattern: str):
    """A predicate: does a name match ``pattern`` exactly and case-sensitively?

    Only ``*`` (any run of characters, including none and newlines) and ``?`` (one character)
    are special; brackets and every other character match themselves.

    Example:
        >>> m = glob_matcher("w?_*")
        >>> m("w1_kernel"), m("W1_kernel"), m("w_")
        (True, False, False)
    """
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    compiled = re.compile(regex, re.DOTALL)
    return lambda name: compiled.fullmatch(name) is not None
