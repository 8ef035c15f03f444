"""Every environment variable reprovar reads, read here and nowhere else.

==============================  =========================================  ==========================
variable                        accepted values                            when unset or empty
==============================  =========================================  ==========================
``REPROVAR_LEDGER``             a path or any SQLAlchemy URL               ``./reprovar.db``
                                (:func:`ledger_location`)                  (absolute, at the call)
``REPROVAR_LEDGER_KEY``         the seal key as text, at least             no key from it
                                :data:`MIN_KEY_BYTES` bytes (:func:`ledger_key`)
``REPROVAR_LEDGER_KEY_FILE``    a path to a file holding the key, used     no key file
                                when ``REPROVAR_LEDGER_KEY`` is unset
                                (:func:`ledger_key_file`)
``REPROVAR_RECORD``             ``1``/``0``, ``true``/``false``,           on: variables are recorded
                                ``yes``/``no``, ``on``/``off`` (any case)
                                (:func:`record_by_default`)
``REPROVAR_LOG_TO_TRACKERS``    the same on/off words                      off
                                (:func:`log_to_trackers`)
==============================  =========================================  ==========================

Each function reads its variable when called, never at import, so a change to the
environment (a test's ``monkeypatch.setenv``) takes effect at the next call. A value that is
not understood is an :class:`~reprovar.errors.ArgumentValueError` naming the variable and
the accepted values. This module imports only the standard library and
:mod:`reprovar.errors`: a command line tool can read the settings without loading SQLAlchemy
or numpy.

Example:
    >>> VARIABLES
    ('REPROVAR_LEDGER', 'REPROVAR_LEDGER_KEY', 'REPROVAR_LEDGER_KEY_FILE', 'REPROVAR_RECORD', 'REPROVAR_LOG_TO_TRACKERS')
    >>> environment_switch("REPROVAR_NOT_SET_ANYWHERE", unset=True)
    True
"""

from __future__ import annotations

import os

from .errors import ArgumentValueError

#: A path or SQLAlchemy URL: the ledger used when a call names none.
LEDGER = "REPROVAR_LEDGER"
#: The secret that keys row seals, as text.
LEDGER_KEY = "REPROVAR_LEDGER_KEY"
#: A file holding the seal key (read when :data:`LEDGER_KEY` is unset).
LEDGER_KEY_FILE = "REPROVAR_LEDGER_KEY_FILE"
#: On/off: whether variables are recorded when no call or block decides.
RECORD = "REPROVAR_RECORD"
#: On/off: whether adapters log to the active tracker runs when ``log_to_trackers`` is not given.
LOG_TO_TRACKERS = "REPROVAR_LOG_TO_TRACKERS"
#: Every variable this module reads.
VARIABLES = (LEDGER, LEDGER_KEY, LEDGER_KEY_FILE, RECORD, LOG_TO_TRACKERS)

#: The default ledger: a SQLite file in the working directory.
DEFAULT_LEDGER_FILE = "reprovar.db"
#: Shortest seal key accepted: a guessable key would make keyed seals forgeable.
MIN_KEY_BYTES = 16

_SWITCH_ON = {"1", "true", "yes", "on"}
_SWITCH_OFF = {"0", "false", "no", "off"}


def environment_switch(name: str, *, unset: bool) -> bool:
    """The on/off environment variable ``name`` (``1``/``0``, ``true``/``false``, ``yes``/``no``,
    ``on``/``off``, any case); ``unset`` when it is unset or empty. Anything else is an
    :class:`~reprovar.errors.ArgumentValueError` naming the variable and the accepted values.

    Example:
        >>> import os
        >>> os.environ["REPROVAR_EXAMPLE_SWITCH"] = "Off"
        >>> environment_switch("REPROVAR_EXAMPLE_SWITCH", unset=True)
        False
        >>> del os.environ["REPROVAR_EXAMPLE_SWITCH"]
        >>> environment_switch("REPROVAR_EXAMPLE_SWITCH", unset=True)
        True
    """
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return unset
    if value in _SWITCH_ON:
        return True
    if value in _SWITCH_OFF:
        return False
    raise ArgumentValueError(
        f"{name}={os.environ[name]!r} is not understood; accepted: 1/0, true/false, yes/no, on/off"
    )


def ledger_location() -> str:
    """``$REPROVAR_LEDGER`` as given (a path or SQLAlchemy URL), else the absolute path of
    ``reprovar.db`` in the working directory.

    Example:
        >>> import os
        >>> os.environ["REPROVAR_LEDGER"] = "sqlite:////tmp/team.db"
        >>> ledger_location()
        'sqlite:////tmp/team.db'
        >>> del os.environ["REPROVAR_LEDGER"]
        >>> ledger_location() == os.path.abspath("reprovar.db")
        True
    """
    return os.environ.get(LEDGER) or os.path.abspath(DEFAULT_LEDGER_FILE)


def ledger_key() -> bytes | None:
    """The seal key in ``$REPROVAR_LEDGER_KEY`` as bytes (its text in UTF-8; bytes that are
    not UTF-8 are kept as they are), None when unset or empty. A key shorter than
    :data:`MIN_KEY_BYTES` bytes is an :class:`~reprovar.errors.ArgumentValueError`.

    Example:
        >>> import os
        >>> os.environ["REPROVAR_LEDGER_KEY"] = "correct horse battery staple"
        >>> ledger_key()
        b'correct horse battery staple'
        >>> os.environ["REPROVAR_LEDGER_KEY"] = "short"
        >>> ledger_key()
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: REPROVAR_LEDGER_KEY: key must be at least 16 bytes long, got 5
        >>> del os.environ["REPROVAR_LEDGER_KEY"]
    """
    text = os.environ.get(LEDGER_KEY)
    if not text:
        return None
    secret = text.encode("utf-8", "surrogateescape")
    if len(secret) < MIN_KEY_BYTES:
        raise ArgumentValueError(
            f"{LEDGER_KEY}: key must be at least {MIN_KEY_BYTES} bytes long, got {len(secret)}"
        )
    return secret


def ledger_key_file() -> str | None:
    """The path in ``$REPROVAR_LEDGER_KEY_FILE`` (a file whose content is the seal key), None
    when unset or empty. The file is read, and its key checked, by
    :func:`reprovar.ledger.seal.key_from_environment`, which uses it only when
    ``$REPROVAR_LEDGER_KEY`` is unset.

    Example:
        >>> import os
        >>> os.environ.pop("REPROVAR_LEDGER_KEY_FILE", None) is None or True
        True
        >>> ledger_key_file() is None
        True
    """
    return os.environ.get(LEDGER_KEY_FILE) or None


def record_by_default() -> bool:
    """``$REPROVAR_RECORD``: whether variables are recorded when neither the call, a
    ``with reprovar.recording(...)`` block nor :func:`reprovar.disable_recording` decides
    (on when unset).

    Example:
        >>> import os
        >>> os.environ["REPROVAR_RECORD"] = "0"
        >>> record_by_default()
        False
        >>> os.environ["REPROVAR_RECORD"] = "maybe"
        >>> record_by_default()
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentValueError: REPROVAR_RECORD='maybe' is not understood; accepted: 1/0, true/false, yes/no, on/off
        >>> del os.environ["REPROVAR_RECORD"]
    """
    return environment_switch(RECORD, unset=True)


def log_to_trackers() -> bool:
    """``$REPROVAR_LOG_TO_TRACKERS``: whether :func:`reprovar.trackers.after_initialize`
    (the end of an adapter's initialization) logs to the active tracker runs when the call's
    ``log_to_trackers`` is None (off when unset); see :func:`reprovar.trackers.tracker_logging`.

    Example:
        >>> import os
        >>> os.environ["REPROVAR_LOG_TO_TRACKERS"] = "Yes"
        >>> log_to_trackers()
        True
        >>> del os.environ["REPROVAR_LOG_TO_TRACKERS"]
        >>> log_to_trackers()
        False
    """
    return environment_switch(LOG_TO_TRACKERS, unset=False)
