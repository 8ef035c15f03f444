"""One exception root: every exception class reprovar defines derives from ReprovarError, and
each name is one class wherever it is imported from."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from pathlib import Path

import pytest

import reprovar
import reprovar.audit
import reprovar.audit.errors
import reprovar.errors
from reprovar.errors import MissingExtraError, ReprovarError

PACKAGE = Path(reprovar.__file__).parent
#: Exceptions that never leave reprovar: each is caught where it is raised and turned into a
#: ReprovarError there.
INTERNAL = {
    # caught in reprovar.torch.model, raised as UnreproducibleError naming each entry
    "reprovar.torch.planning.Problem",
}


def _modules_defining_classes() -> list[str]:
    """Every module of the package (migrations aside) that defines a class, found in its source."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        if "_migrations" in relative.parts:
            continue
        if any(isinstance(node, ast.ClassDef) for node in ast.walk(ast.parse(path.read_text()))):
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            names.append(".".join(parts))
    return names


def _exception_classes() -> dict[str, type]:
    found = {}
    for name in _modules_defining_classes():
        try:
            module = importlib.import_module(name)
        except ImportError as e:  # an adapter whose framework is not installed here
            if e.name and e.name.split(".")[0] in ("torch", "keras", "tensorflow", "jax", "dask",
                                                    "distributed", "mlflow", "wandb", "zarr"):
                continue
            raise
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, BaseException) and not issubclass(cls, Warning)
                    and cls.__module__ == name):
                found[f"{name}.{cls.__qualname__}"] = cls
    return found


def test_every_exception_class_derives_from_the_root():
    classes = _exception_classes()
    # The walk must see the hierarchy itself and the audit layer's classes.
    assert "reprovar.errors.MissingExtraError" in classes
    assert "reprovar.errors.ReadOnlyViolationError" in classes
    outside = sorted(n for n, cls in classes.items() if not issubclass(cls, ReprovarError) and n not in INTERNAL)
    assert outside == [], f"exception classes outside reprovar.errors.ReprovarError: {outside}"


def test_every_class_is_defined_once():
    # reprovar.audit.errors holds no classes of its own: the names are reprovar.errors' objects.
    for name in reprovar.audit.errors.__all__:
        assert getattr(reprovar.audit.errors, name) is getattr(reprovar.errors, name), name
    source = (PACKAGE / "audit" / "errors.py").read_text()
    assert not [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef)]
    assert reprovar.audit.MissingExtraError is MissingExtraError
    assert reprovar.audit.AuditError is reprovar.errors.AuditError


@pytest.mark.parametrize("missing", ["matplotlib", "jinja2"])
def test_a_missing_report_extra_is_the_one_missing_extra_error(monkeypatch, missing):
    from reprovar.audit.report import require_report_extra

    monkeypatch.setitem(sys.modules, missing, None)  # "import matplotlib" now raises ImportError
    with pytest.raises(reprovar.errors.MissingExtraError, match=r"reprovar\[report\]") as caught:
        require_report_extra()
    assert isinstance(caught.value, ReprovarError) and isinstance(caught.value, ImportError)


def test_a_missing_plot_extra_through_the_cli(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from reprovar.cli import main

    path = tmp_path / "l.db"
    reprovar.random_normal_variable((2,), 0.0, 1.0, name="w", seed=1, ledger=str(path))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(main, ["plot", "w", "--ledger", str(path), "-o", str(tmp_path / "w.svg")])
    assert result.exit_code == 1
    assert "needs matplotlib" in result.output and "reprovar[report]" in result.output
