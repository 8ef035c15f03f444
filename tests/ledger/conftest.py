"""Helpers for ledger tests."""

from __future__ import annotations

import pytest

import reprovar


@pytest.fixture
def make(ledger):
    """Create (and record in the test's ledger) a variable: ``make("w", seed=1)``."""

    def _make(name="w", shape=(2, 3), *, seed=1, mean=0.0, scale=1.0, dtype=None):
        return reprovar.random_normal_variable(
            shape, mean, scale, dtype=dtype, name=name, seed=seed, ledger=ledger
        )

    return _make
