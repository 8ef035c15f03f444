"""Where a ledger lives: a path or SQLAlchemy URL, the environment, or ``reprovar.db`` here."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .. import config
from ..config import DEFAULT_LEDGER_FILE  # noqa: F401  (its old import path)
from ..errors import ArgumentTypeError, LedgerOpenError

#: Environment variable naming the default ledger (a path or any SQLAlchemy URL).
LEDGER_ENV = config.LEDGER

#: The drivers reprovar supports, with the pip extra that installs each.
SUPPORTED_DRIVERS = {
    ("postgresql", "psycopg"): ("postgresql+psycopg://", "postgres"),
    ("mysql", "pymysql"): ("mysql+pymysql://", "mysql"),
    ("mariadb", "pymysql"): ("mariadb+pymysql://", "mysql"),
}


def driver_hint(url: URL) -> str:
    """How to get a working driver for ``url``'s backend, naming the reprovar extra.

    Example:
        >>> driver_hint(make_url("postgresql+psycopg2://u@h/db"))
        "use postgresql+psycopg:// URLs and pip install 'reprovar[postgres]' (or install the psycopg2 driver)"
    """
    backend, driver = url.get_backend_name(), url.get_driver_name()
    supported = SUPPORTED_DRIVERS.get((backend, driver))
    if supported is not None:
        return f"pip install 'reprovar[{supported[1]}]'"
    for (b, d), (prefix, extra) in SUPPORTED_DRIVERS.items():
        if b == backend:
            return f"use {prefix} URLs and pip install 'reprovar[{extra}]' (or install the {driver} driver)"
    return f"install the Python driver {driver!r} for {backend}"


def default_target() -> str:
    """The ledger used when none is given: ``$REPROVAR_LEDGER``, else ``./reprovar.db``
    (:func:`reprovar.config.ledger_location`).

    Example:
        >>> import os
        >>> os.environ.pop("REPROVAR_LEDGER", None) is None or True
        True
        >>> default_target().endswith("reprovar.db")
        True
    """
    return config.ledger_location()


def to_url(target: str | os.PathLike | URL) -> URL:
    """A SQLAlchemy URL for a path or URL; a bare path becomes an absolute ``sqlite:///`` URL.

    Example:
        >>> to_url("/tmp/x.db").render_as_string()
        'sqlite:////tmp/x.db'
        >>> to_url("postgresql+psycopg://u@h/db").get_backend_name()
        'postgresql'
    """
    if isinstance(target, URL):
        url = target
    elif isinstance(target, (str, os.PathLike)):
        text = os.fspath(target)
        if isinstance(text, bytes):
            raise ArgumentTypeError("ledger path must be str or os.PathLike[str], got bytes")
        if not text:
            raise LedgerOpenError("ledger location is empty: give a path or a SQLAlchemy URL")
        if "://" not in text:
            # An absolute path, so a later chdir() does not move the ledger.
            return URL.create("sqlite", database=str(Path(text).expanduser().absolute()))
        try:
            url = make_url(text)
        except (ArgumentError, ValueError) as e:
            raise LedgerOpenError(f"cannot parse ledger URL {text!r}: {e}") from e
    else:
        raise ArgumentTypeError(
            "ledger must be a reprovar.Ledger, a path, a SQLAlchemy URL string or None, "
            f"got {type(target).__name__}"
        )
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not url.database.startswith("file:"):
            url = url.set(database=str(Path(url.database).expanduser().absolute()))
    return url


def display(url: URL) -> str:
    """The URL as it may be shown to people: passwords masked, SQLite as its path.

    Example:
        >>> display(to_url("postgresql+psycopg://u:secret@h/db"))
        'postgresql+psycopg://u:***@h/db'
    """
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)
