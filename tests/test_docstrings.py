"""Every docstring example in the package runs and shows what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import reprovar

# The Alembic environment runs migrations when imported: it has no examples to run.
MODULES = ["reprovar"] + sorted(
    info.name
    for info in pkgutil.walk_packages(reprovar.__path__, prefix="reprovar.")
    if not info.name.startswith("reprovar._migrations")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that use the default ledger write here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
