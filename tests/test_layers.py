"""The import arrows point one way: cli -> audit -> ledger; the recorder sits above audit;
api -> distributions -> sampler, and the sampler imports nothing of reprovar but its errors.

Checked twice: statically, every ``import`` in the source tree (also those inside functions
and under ``TYPE_CHECKING``), and at run time, by what importing a layer loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import reprovar

SOURCE = Path(reprovar.__file__).resolve().parent

#: Package -> the packages and modules it must never import.
_ABOVE_DISTRIBUTIONS = (
    "reprovar.api", "reprovar.recorder", "reprovar.ledger", "reprovar.audit", "reprovar.cli",
    "reprovar.adapter", "reprovar.modelinit", "reprovar.recipes", "reprovar.variable",
    "reprovar.dask", "reprovar.torch", "reprovar.keras", "reprovar.trackers", "reprovar.mlflow", "reprovar.wandb",
    "sqlalchemy", "alembic",
)
FORBIDDEN = {
    "reprovar.ledger": ("reprovar.audit", "reprovar.cli", "reprovar.recorder"),
    "reprovar.audit": ("reprovar.cli", "reprovar.recorder"),
    "reprovar.distributions": _ABOVE_DISTRIBUTIONS,
    "reprovar.sampler": (*_ABOVE_DISTRIBUTIONS, "reprovar.distributions", "reprovar.validation", "reprovar.seeding"),
}

#: What the sampler may import besides the standard library: numpy, Numba and its own files.
SAMPLER_ALLOWED = ("numpy", "numba", "llvmlite", "ml_dtypes", "reprovar.errors", "reprovar.sampler")


def _module_name(path: Path, root: Path = SOURCE.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = SOURCE.parent) -> set[str]:
    """Every module an ``import`` statement in ``path`` may load, as absolute names.

    ``from X import y`` counts as importing ``X`` and ``X.y`` (``y`` may be a submodule).
    """
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_imported_modules_resolves_relative_imports(tmp_path):
    modules = imported_modules(SOURCE / "audit" / "ledger.py")
    assert "reprovar.ledger" in modules and "reprovar.ledger.ledger" in modules
    assert "reprovar.audit.query" in modules  # a function-level import


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_never_imports_the_layers_above(package):
    folder = SOURCE.joinpath(*package.split(".")[1:])
    files = sorted(folder.rglob("*.py"))
    assert files, f"no source files under {folder}"
    violations = [
        f"{_module_name(path)} imports {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if any(_within(module, above) for above in FORBIDDEN[package])
    ]
    assert violations == []


def test_sampler_imports_only_numpy_numba_and_itself():
    files = sorted((SOURCE / "sampler").rglob("*.py"))
    assert len(files) > 10
    foreign = [
        f"{_module_name(path)} imports {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if module.partition(".")[0] not in sys.stdlib_module_names
        and not any(_within(module, allowed) for allowed in SAMPLER_ALLOWED)
        and not (module.startswith("reprovar.errors.") or module == "reprovar")  # `from .. import errors`
    ]
    assert foreign == []


def test_the_layer_checks_see_a_forbidden_import(tmp_path):
    # The checks above are not vacuous: a sampler file importing the ledger is caught
    # (written to a copy of the package's layout, never into the source tree).
    path = tmp_path / "reprovar" / "sampler" / "kernels" / "probe.py"
    path.parent.mkdir(parents=True)
    path.write_text("from ...ledger import Ledger\nimport sqlalchemy\n")
    modules = imported_modules(path, tmp_path)
    assert {"reprovar.ledger", "reprovar.ledger.Ledger", "sqlalchemy"} <= modules
    assert [m for m in modules if any(_within(m, p) for p in FORBIDDEN["reprovar.sampler"])]


def test_making_values_loads_no_database_code():
    loaded = _loaded_after(
        "import numpy as np\n"
        "from reprovar.distributions import get\n"
        "for name in ('normal', 'uniform', 'truncated_normal', 'orthogonal'):\n"
        "    d = get(name)\n"
        "    params = {'normal': {'mean': 0.0, 'scale': 1.0}, 'uniform': {'low': 0.0, 'high': 1.0},\n"
        "              'truncated_normal': {'mean': 0.0, 'scale': 1.0, 'low': -2.0, 'high': 2.0},\n"
        "              'orthogonal': {'scale': 1.0}}[name]\n"
        "    d.default.generate((4, 4), np.dtype('float32'), seed=1, **params)\n"
    )
    assert "reprovar.sampler.kernels.orthogonal" in loaded and "numba" in loaded
    assert sorted(m for m in loaded if any(_within(m, p) for p in ("sqlalchemy", "alembic", "reprovar.ledger",
                                                                   "reprovar.recorder", "reprovar.audit"))) == []


def _loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_ledger_loads_no_layer_above(tmp_path):
    loaded = _loaded_after(
        "import reprovar.ledger\n"
        "import reprovar.ledger.replay, reprovar.ledger.digest, reprovar.ledger.schema\n"
        "import numpy as np\n"
        "from reprovar.variable import Provenance, Variable\n"
        f"led = reprovar.ledger.Ledger({str(tmp_path / 'layer.db')!r})\n"
        "p = Provenance('philox4x32-10/box-muller', 1, seed=1, mean=0.0, scale=1.0)\n"
        "led.record(Variable(np.zeros(3, np.float32), 'w', p))\n"  # no kernels: a quick check
        "assert led.get('w').version == 1 and led.latest()[0].name == 'w'"
    )
    assert "reprovar.ledger.ledger" in loaded  # the check itself can see modules
    above = sorted(m for m in loaded for p in FORBIDDEN["reprovar.ledger"] if _within(m, p))
    assert above == []


def test_importing_the_audit_layer_loads_no_cli():
    loaded = _loaded_after("import reprovar.audit\nfrom reprovar.audit import *")
    assert "reprovar.audit.query" in loaded
    above = sorted(m for m in loaded for p in FORBIDDEN["reprovar.audit"] if _within(m, p))
    assert above == []


def test_recording_a_variable_loads_no_audit_code_no_alembic_no_orm(tmp_path):
    path = str(tmp_path / "lazy.db")
    reprovar.Ledger(path).close()  # created (and migrated) here, at head when reopened
    loaded = _loaded_after(
        "import reprovar\n"
        f"v = reprovar.random_normal_variable((2, 3), 0.0, 1.0, ledger={path!r})\n"
        "assert v.record.version == 1"
    )
    assert "reprovar.audit.ledger" in loaded  # the public Ledger class, without its modules
    audit_code = sorted(m for m in loaded if _within(m, "reprovar.audit") and
                        m not in ("reprovar.audit", "reprovar.audit.ledger"))
    assert audit_code == []
    assert sorted(m for m in loaded if _within(m, "alembic") or _within(m, "sqlalchemy.orm")) == []


def test_importing_reprovar_and_querying_a_ledger_load_no_compiler(tmp_path):
    # Numba (and the scipy.linalg it loads where scipy is installed) is most of a process's
    # start-up: only making values needs it, not `import reprovar` or the audit commands.
    path = tmp_path / "query.db"
    reprovar.random_normal_variable((2, 3), 0.0, 1.0, name="w", seed=1, ledger=str(path))
    loaded = _loaded_after(
        "import reprovar\n"
        "from reprovar.cli import main\n"
        f"for command in (['list'], ['show', 'w'], ['find', '--name', 'w*'], ['history', 'w']):\n"
        f"    main(args=[*command, '--ledger', {str(path)!r}], prog_name='reprovar', standalone_mode=False)\n"
    )
    assert "reprovar.cli" in loaded and "reprovar.audit.query" in loaded
    assert not {"numba", "llvmlite", "scipy"} & loaded
    made = _loaded_after("import reprovar\nreprovar.random_normal_variable((2,), 0.0, 1.0, record=False)")
    assert "numba" in made  # the check itself sees the compiler where values are made
