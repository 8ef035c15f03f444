"""Fixtures for the audit tests: ways to fill a ledger.

``ledger`` and ``ledger_url`` (a fresh database per test, on SQLite, PostgreSQL and MariaDB)
come from ``tests/conftest.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

import reprovar
from reprovar.ledger.models import variables_table


@pytest.fixture
def make(ledger):
    """``make(name, seed, shape=(2, 3), dtype=None, mean=0.0)``: create, record, return the record."""

    def make(name, seed, shape=(2, 3), dtype=None, mean=0.0, scale=1.0):
        return reprovar.random_normal_variable(shape, mean, scale, dtype=dtype, name=name, seed=seed,
                                               ledger=ledger).record

    return make


@pytest.fixture
def backdate(ledger):
    """``backdate(record_id, *utc_datetime_fields)``: time filters need rows from other days."""

    def backdate(record_id, *when):
        with ledger.engine.begin() as c:
            c.execute(update(variables_table).where(variables_table.c.id == record_id)
                      .values(created=dt.datetime(*when, tzinfo=dt.timezone.utc)))

    return backdate
