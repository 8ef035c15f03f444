"""ISO 8601 times for ``--since``/``--until`` filters: naive means UTC, everything becomes UTC."""

from __future__ import annotations

import datetime as dt

from .errors import BadFilterError

_HELP = "an ISO 8601 date or date-time such as 2026-11-29, 2026-11-29T16:30 or 2026-11-29T16:30:00+01:00"


def parse_time(text: str | dt.datetime | dt.date, *, end_of_day: bool = False) -> dt.datetime:
    """An aware UTC datetime from an ISO 8601 date or date-time; a naive time is taken as UTC.

    A bare date means the start of that day (UTC), or with ``end_of_day`` the start of the next
    one, so that ``until=2026-11-29`` includes the whole 29th.

    Example:
        >>> parse_time("2026-11-29T17:30+01:00")
        datetime.datetime(2026, 11, 29, 16, 30, tzinfo=datetime.timezone.utc)
        >>> parse_time("2026-11-29", end_of_day=True)
        datetime.datetime(2026, 11, 30, 0, 0, tzinfo=datetime.timezone.utc)
    """
    if isinstance(text, dt.datetime):
        value = text
    elif isinstance(text, dt.date):
        value = dt.datetime.combine(text, dt.time())
        if end_of_day:
            value += dt.timedelta(days=1)
    else:
        if not isinstance(text, str):
            raise BadFilterError(f"time must be a string, date or datetime, not {type(text).__name__}")
        raw = text.strip().upper()  # ISO allows t and z in lower case; fromisoformat does not
        try:
            if "T" not in raw and " " not in raw:  # a date alone
                value = dt.datetime.combine(dt.date.fromisoformat(raw), dt.time())
                if end_of_day:
                    value += dt.timedelta(days=1)
            else:
                value = dt.datetime.fromisoformat(raw)
        except ValueError:
            raise BadFilterError(f"malformed time {text!r}: expected {_HELP}") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)
