"""The wheel carries the migrations: an installed (not editable) reprovar creates and upgrades ledgers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from reprovar.ledger.schema import head_revision

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src" / "reprovar").rglob("__init__.py")
    }
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"
    assert {"reprovar._migrations", "reprovar._migrations.versions"} <= listed


@pytest.mark.slow
def test_installed_wheel_creates_upgrades_and_replays(tmp_path):
    # Build from a copy of the files a release is made of, so nothing is written into the
    # checkout and nothing outside them (e.g. the checkout's migrations/) can leak in.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    (source / "README.md").touch()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.nbi", "*.nbc")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    shutil.copytree(ROOT / "migrations", source / "migrations", ignore=ignore)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    wheel = next(dist.glob("reprovar-*.whl"))

    # A fresh venv with the wheel installed; dependencies come from this environment's
    # site-packages as a plain path (its .pth files, such as an editable reprovar, are not run).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    # Only now: pip would take a reprovar installed in this environment as already satisfied.
    (purelib / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    old = tmp_path / "work" / "old.db"
    old.parent.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "ledger-schema-0001.db", old)
    script = textwrap.dedent(
        """
        import sys, reprovar
        from reprovar.ledger.schema import migrations_dir
        site = sys.argv[1]
        assert reprovar.__file__.startswith(site), reprovar.__file__
        assert str(migrations_dir()).startswith(site), migrations_dir()
        from importlib.resources import files
        assert (files("reprovar.audit") / "templates" / "report.html.j2").is_file()  # the report's template
        v = reprovar.random_normal_variable((3,), 0.0, 1.0, name="w", seed=7, ledger="new.db")
        assert reprovar.replay("w", ledger="new.db").numpy().tobytes() == v.numpy().tobytes()
        print("ok", reprovar.Ledger("new.db").schema_revision)
        """
    )
    cwd = old.parent  # outside the checkout
    out = subprocess.run([str(python), "-c", script, str(purelib)], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"ok {head_revision()}"
    out = subprocess.run([str(python), "-m", "reprovar", "db", "upgrade", "--ledger", "old.db"],
                         cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"from schema revision 0001 to {head_revision()}" in out.stdout
