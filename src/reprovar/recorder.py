"""The recorder: whether variables are recorded, in which ledger, and what a failure does.

Order of precedence for "record this variable?": the call's ``record=`` argument, then the
innermost ``with reprovar.recording(...)`` block (per thread / async task), then
:func:`enable_recording` / :func:`disable_recording`, then ``$REPROVAR_RECORD``, then on.

For "which ledger?": the call's ``ledger=``, then the innermost ``with
reprovar.transaction(...)`` block (per thread / async task), then :func:`use_ledger`, then
``$REPROVAR_LEDGER``, then ``reprovar.db`` in the working directory. Ledgers are opened once
per location and kept for the life of the process; they are :class:`reprovar.Ledger`
objects (the audit layer's, with queries), so this module sits above :mod:`reprovar.audit`.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Iterator

from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from .audit.ledger import Ledger
from .errors import (
    ArgumentTypeError,
    ArgumentValueError,
    RecordingError,
    RecordingWarning,
    ReprovarError,
)
from .ledger import ledger as _ledger
from .ledger.locks import ForkSafeLock
from .ledger.records import VariableRecord
from . import config
from .ledger.urls import default_target, to_url
from .validation import ON_RECORD_ERROR

if TYPE_CHECKING:
    from .variable import Variable

#: Any ledger a caller may pass: the public one or the ledger layer's own.
AnyLedger = _ledger.Ledger

#: Environment switch: ``0``/``false``/``no``/``off`` turns recording off by default.
RECORD_ENV = config.RECORD


_process_setting: bool | None = None
_scoped_setting: ContextVar[bool | None] = ContextVar("reprovar_recording", default=None)
_scoped_ledger: ContextVar[Ledger | None] = ContextVar("reprovar_transaction_ledger", default=None)
_selected: Ledger | None = None
_open_ledgers: dict[str, Ledger] = {}  # by canonical URL
_by_target: dict[str, Ledger] = {}  # by location as given (absolute for paths)
_open_lock = ForkSafeLock()  # another thread may hold it at fork(): a child gets it new


def recording_enabled() -> bool:
    """Whether a variable created with ``record=None`` is recorded right now.

    Example:
        >>> import reprovar
        >>> with reprovar.recording(False):
        ...     reprovar.recording_enabled()
        False
    """
    scoped = _scoped_setting.get()
    if scoped is not None:
        return scoped
    if _process_setting is not None:
        return _process_setting
    return config.record_by_default()


def enable_recording() -> None:
    """Record variables by default in this process (overrides ``$REPROVAR_RECORD``).

    Example:
        >>> import reprovar
        >>> reprovar.enable_recording(); reprovar.recording_enabled()
        True
    """
    global _process_setting
    _process_setting = True


def disable_recording() -> None:
    """Stop recording variables by default in this process, for code that must not write.

    A call's ``record=True`` still records.

    Example:
        >>> import reprovar
        >>> reprovar.disable_recording(); reprovar.recording_enabled()
        False
        >>> reprovar.enable_recording()
    """
    global _process_setting
    _process_setting = False


@contextmanager
def recording(enabled: bool = True) -> Iterator[None]:
    """Switch recording on or off inside a ``with`` block (this thread / task only).

    Example:
        >>> import reprovar
        >>> with reprovar.recording(False):
        ...     v = reprovar.random_normal_variable((2,), 0.0, 1.0)
        >>> v.record is None
        True
    """
    if not isinstance(enabled, bool):
        raise ArgumentTypeError(f"enabled must be a bool, got {type(enabled).__name__}")
    token = _scoped_setting.set(enabled)
    try:
        yield
    finally:
        _scoped_setting.reset(token)


def use_ledger(ledger: Ledger | str | os.PathLike | URL | None) -> Ledger | None:
    """Make ``ledger`` the default for this process (None goes back to the environment default).

    Opens it now, so a bad location fails here rather than at the first variable.

    Example:
        >>> import reprovar, tempfile, os
        >>> led = reprovar.use_ledger(os.path.join(tempfile.mkdtemp(), "team.db"))
        >>> reprovar.current_ledger() is led
        True
        >>> reprovar.use_ledger(None)
    """
    global _selected
    _selected = None if ledger is None else get_ledger(ledger)
    return _selected


def current_ledger() -> Ledger:
    """The ledger a variable created now (without ``ledger=``) would be recorded in.

    Example:
        >>> import reprovar, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "now.db")
        >>> reprovar.use_ledger(path).location == reprovar.current_ledger().location == path
        True
        >>> reprovar.use_ledger(None)
    """
    return get_ledger(None)


def get_ledger(ledger: Ledger | str | os.PathLike | URL | None) -> Ledger:
    """``ledger`` itself, or the process's open :class:`Ledger` for a location (opened once).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "once.db")
        >>> get_ledger(path) is get_ledger(path)
        True
    """
    if isinstance(ledger, AnyLedger):
        return ledger
    if ledger is None:
        scoped = _scoped_ledger.get()
        if scoped is not None:
            return scoped
        if _selected is not None:
            return _selected
        ledger = default_target()
    # Cheap key first (this runs for every variable): the text as given, made absolute for
    # paths. Parsing a URL costs more than recording a small variable.
    if isinstance(ledger, URL):
        key = ledger.render_as_string(hide_password=False)
    else:
        text = os.fspath(ledger)
        key = text if isinstance(text, str) and "://" in text else os.path.abspath(text)
    found = _by_target.get(key)
    if found is not None:
        return found
    with _open_lock:
        found = _by_target.get(key)
        if found is None:
            url = to_url(ledger).render_as_string(hide_password=False)
            found = _open_ledgers.get(url)
            if found is None:
                found = _open_ledgers[url] = Ledger(url)
            _by_target[key] = found
        return found


@contextmanager
def transaction(ledger: Ledger | str | os.PathLike | URL | None = None) -> Iterator[Ledger]:
    """Record every variable made inside the block in one database transaction.

    The rows are committed when the block ends and all rolled back if it raises (each such
    variable's ``record`` is then reset to None). Inside the block ``ledger`` (default: the
    current ledger) is the current ledger of this thread / async task, so variables made
    without ``ledger=`` are recorded in it; a variable given another ledger is recorded
    there on its own. Before the commit, ``variable.record`` is the record the row will
    have (id and version included; on SQLite its seals are set once the row is written,
    every 256 rows and at the commit); other connections do not see it yet. Versions stay
    gapless and unique with other writers; blocks nest (the outermost commits). See
    :meth:`reprovar.ledger.Ledger.transaction` for the details.

    Example:
        >>> import reprovar, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "batch.db")
        >>> with reprovar.transaction(path) as led:
        ...     vs = [reprovar.random_normal_variable((2, 3), 0.0, 1.0, name=f"w{i}") for i in range(3)]
        >>> [v.record.version for v in vs], led.count()
        ([1, 1, 1], 3)
        >>> try:
        ...     with reprovar.transaction(path):
        ...         v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="w0")
        ...         raise KeyboardInterrupt
        ... except KeyboardInterrupt:
        ...     pass
        >>> v.record is None, reprovar.Ledger(path).get("w0").version
        (True, 1)
    """
    led = get_ledger(ledger)
    token = _scoped_ledger.set(led)
    try:
        with led.transaction():
            yield led
    finally:
        _scoped_ledger.reset(token)


def forget_ledgers() -> None:
    """Close every ledger this module opened and forget the default (tests, long-lived hosts).

    Example:
        >>> forget_ledgers()
    """
    global _selected
    with _open_lock:
        for ledger in _open_ledgers.values():
            ledger.close()
        _open_ledgers.clear()
        _by_target.clear()
        _selected = None


def check_recording_options(record: object, ledger: object, on_record_error: object) -> None:
    """Validate ``record``, ``ledger`` and ``on_record_error`` (call before generating).

    Example:
        >>> check_recording_options(None, None, "warn")
        >>> check_recording_options("yes", None, "raise")
        Traceback (most recent call last):
        ...
        reprovar.errors.ArgumentTypeError: record must be True, False or None, got str 'yes'
    """
    if type(ledger) is Ledger and on_record_error == "raise" and record is None:
        return  # the common case, checked per variable: keep it cheap
    if record is not None and not isinstance(record, bool):
        raise ArgumentTypeError(
            f"record must be True, False or None, got {type(record).__name__} {record!r}"
        )
    if on_record_error not in ON_RECORD_ERROR:
        raise ArgumentValueError(
            f"on_record_error must be one of {', '.join(map(repr, ON_RECORD_ERROR))}, "
            f"got {on_record_error!r}"
        )
    if ledger is not None and not isinstance(ledger, (AnyLedger, str, os.PathLike, URL)):
        raise ArgumentTypeError(
            "ledger must be a reprovar.Ledger, a path, a SQLAlchemy URL or None, "
            f"got {type(ledger).__name__}"
        )


def record_variable(
    variable: Variable,
    *,
    record: bool | None = None,
    ledger: Ledger | str | os.PathLike | URL | None = None,
    on_record_error: str = "raise",
) -> VariableRecord | None:
    """Record ``variable`` unless recording is off; return its record (None when not recorded).

    With ``on_record_error="raise"`` a failure raises :class:`~reprovar.errors.RecordingError`
    (the variable is never silently unrecorded); with ``"warn"`` it emits a
    :class:`~reprovar.errors.RecordingWarning` and returns None.

    Example:
        >>> import reprovar, tempfile, os
        >>> v = reprovar.random_normal_variable((2,), 0.0, 1.0, name="x", seed=1, record=False)
        >>> path = os.path.join(tempfile.mkdtemp(), "rv.db")
        >>> record_variable(v, ledger=path).version
        1
        >>> record_variable(v, record=False) is None
        True
    """
    check_recording_options(record, ledger, on_record_error)
    return record_checked_variable(variable, record=record, ledger=ledger, on_record_error=on_record_error)


def will_record(record: bool | None) -> bool:
    """Whether a variable made with ``record=record`` is recorded (``None``: the current setting).

    Example:
        >>> will_record(False), will_record(True)
        (False, True)
    """
    return record is True or (record is None and recording_enabled())


def record_checked_variable(
    variable: Variable,
    *,
    record: bool | None,
    ledger: Ledger | str | os.PathLike | URL | None,
    on_record_error: str,
    digest: str | None = None,
) -> VariableRecord | None:
    """:func:`record_variable` for options already passed through :func:`check_recording_options`.

    ``random_normal_variable`` checks them before making the variable; this spares the
    per-variable hot path a second check. ``digest``: the variable's digest where it was
    computed elsewhere (on a cluster); by default it is computed from ``variable.numpy()``.
    """
    if not (record is True or (record is None and recording_enabled())):  # will_record(), inlined
        return None
    try:
        return get_ledger(ledger).record(variable, digest=digest)
    except (ReprovarError, SQLAlchemyError, OSError) as e:
        failure = RecordingError(f"variable {variable.name!r} was created but not recorded: {e}")
        if on_record_error == "raise":
            raise failure from e
        warnings.warn(str(failure), RecordingWarning, stacklevel=3)
        return None


def replay(
    name: str | None = None,
    version: int | None = None,
    ledger: Ledger | str | os.PathLike | URL | None = None,
    *,
    id: int | None = None,
) -> Variable:
    """Make a recorded variable again, bit for bit, and check it against its recorded digest.

    Args:
        name: the variable's name.
        version: which version of ``name`` (default: the latest).
        ledger: a :class:`~reprovar.Ledger`, path or URL (default: the current ledger).
        id: the row id instead of a name and version.

    Raises :class:`~reprovar.errors.UnknownVariableError` (suggesting close names) and
    :class:`~reprovar.errors.DigestMismatchError`.

    Example:
        >>> import reprovar, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "replay.db")
        >>> v = reprovar.random_normal_variable((2, 2), 0.0, 1.0, name="w", ledger=path)
        >>> w = reprovar.replay("w", ledger=path)
        >>> bool((w.numpy() == v.numpy()).all()), w.seed == v.seed
        (True, True)
    """
    return get_ledger(ledger).replay(name, version, id=id)
