"""Column types that store the same Python value identically on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

_TWO_64 = 1 << 64
_TWO_63 = 1 << 63


def uint64_to_db(value: int) -> int:
    """The signed 64-bit integer with the same bits as ``value`` in [0, 2**64).

    Example:
        >>> uint64_to_db(7), uint64_to_db(2**64 - 1)
        (7, -1)
    """
    return value - _TWO_64 if value >= _TWO_63 else value


def uint64_from_db(value: int) -> int:
    """Inverse of :func:`uint64_to_db`.

    Example:
        >>> uint64_from_db(-1) == 2**64 - 1
        True
    """
    return value + _TWO_64 if value < 0 else value


class UInt64(TypeDecorator):
    """An unsigned 64-bit integer stored as the signed BIGINT with the same bits.

    No portable SQL type holds [0, 2**64): SQLite's INTEGER is signed 64-bit (and NUMERIC
    affinity silently turns larger numbers into lossy REAL), PostgreSQL has no unsigned
    BIGINT. Two's complement round-trips exactly everywhere, keeps an 8-byte native index, and
    leaves seeds below 2**63 (all hand-picked ones) readable as themselves in raw SQL; seeds at
    or above 2**63 read as ``seed - 2**64``. Comparisons written with this column type (the
    query API) convert automatically; equality and grouping are exact, ordering is not.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else uint64_to_db(int(value))

    def process_result_value(self, value, dialect):
        if not isinstance(value, int) or isinstance(value, bool):
            return value  # NULL, or not an integer (raw SQL on SQLite): records report it
        return uint64_from_db(value)


#: Microsecond precision everywhere (MariaDB's DATETIME defaults to whole seconds).
_DATETIME = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime, whatever the backend keeps.

    PostgreSQL stores ``timestamptz``; SQLite and MariaDB have no time zones, so the value is
    stored as naive UTC and given its ``timezone.utc`` back when read.
    """

    impl = _DATETIME
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def result_processor(self, dialect, coltype):
        # Text that is not a time (raw SQL on SQLite) comes back as it is, for the record
        # builders to report, instead of failing the whole query.
        impl = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)

        def process(value):
            if impl is not None:
                try:
                    value = impl(value)
                except (TypeError, ValueError):
                    return value
            return self.process_result_value(value, dialect)

        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite through raw SQL paths
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if not isinstance(value, datetime):
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
