"""Every docstring example in the ledger and CLI packages runs and shows what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import reprovar.cli
import reprovar.ledger

MODULES = sorted(
    f"{package.__name__}.{info.name}"
    for package in (reprovar.ledger, reprovar.cli)
    for info in pkgutil.iter_modules(package.__path__)
) + ["reprovar.ledger", "reprovar.cli"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that use the default ledger write here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
