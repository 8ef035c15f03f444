"""The documentation is checked like the code: the Sphinx site builds with warnings as errors,
every Python block of the README and of the docs pages runs, every command line they show
parses against the real Click tree, and the README's two set-up blocks are the ones
``.ci/run`` and a newcomer use."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from markdown_it import MarkdownIt

from reprovar.cli import main

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MARKERS = {"main-job": "<!-- main-job:start -->", "test-command": "<!-- test-command:start -->"}


def code_blocks(path: Path) -> list[tuple[str, int, str]]:
    """(language, first line number, code) of each fenced block, as a Markdown parser sees it."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    return [(t.info.split()[0] if t.info.strip() else "", t.map[0] + 2, t.content)
            for t in tokens if t.type == "fence"]


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_pages_are_found():
    names = {p.name for p in PAGES}
    assert {"README.md", "index.md", "getting-started.md", "cli.md", "api.md"} <= names


def test_the_site_builds_with_warnings_as_errors(docs_html):
    for page in ("index", "getting-started", "cli", "api", "performance", "verification"):
        assert (docs_html / f"{page}.html").is_file(), page
    api = (docs_html / "api.html").read_text(encoding="utf-8")
    # autodoc imported the adapters (a failed import would leave their entries out)
    for name in ("reprovar.random_normal_variable", "reprovar.torch.init_module",
                 "reprovar.keras.initialize", "reprovar.dask.random_normal_variable"):
        assert f'id="{name}"' in api, name


def _runner(path: Path, blocks: list[tuple[str, int, str]]) -> str:
    """A script that runs the page's Python blocks in order in one namespace, as a reader
    following the page would; a failure names the page and the block's line."""
    return "\n".join([
        "ns = {'__name__': '__main__'}",
        *(f"exec(compile({code!r}, {f'{page_id(path)}:{line}'!r}, 'exec'), ns)"
          for _, line, code in blocks),
    ])


PYTHON_PAGES = [p for p in PAGES if any(lang == "python" for lang, _, _ in code_blocks(p))]


@pytest.mark.parametrize("path", PYTHON_PAGES, ids=page_id)
def test_python_blocks_run(path, tmp_path):
    blocks = [b for b in code_blocks(path) if b[0] == "python"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPROVAR_")}
    env["KERAS_BACKEND"] = "torch"
    out = subprocess.run([sys.executable, "-c", _runner(path, blocks)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]


def _command_lines(path: Path):
    """(line number, argv) of each command in the page's shell blocks, comments removed."""
    for lang, first, code in code_blocks(path):
        if lang not in ("bash", "sh", "console"):
            continue
        for offset, line in enumerate(code.splitlines()):
            for part in re.split(r"\s*(?:&&|;|\|\|)\s*", line):
                argv = shlex.split(part, comments=True)
                if argv:
                    yield first + offset, argv


def _reprovar_args(argv: list[str]) -> list[str] | None:
    if argv[0] == "reprovar":
        return argv[1:]
    if argv[:3] in (["python", "-m", "reprovar"], ["python3", "-m", "reprovar"]):
        return argv[3:]
    return None


def _parse(args: list[str]) -> None:
    """Parse a reprovar command line as the CLI would, without running it."""
    command, path = main, ["reprovar"]
    while isinstance(command, click.Group) and args and args[0] in command.commands:
        command, path, args = command.commands[args[0]], [*path, args[0]], args[1:]
    try:
        command.make_context(" ".join(path), list(args))
    except click.exceptions.Exit:  # --help, --version
        pass


def _extras() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["optional-dependencies"]


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_command_lines_are_real(path):
    """Each `reprovar ...` line parses (commands, options, arguments exist), each extra in a
    `pip install` line is declared, and each script a `python` line runs exists."""
    problems = []
    for line, argv in _command_lines(path):
        where = f"{page_id(path)}:{line}: {shlex.join(argv)}"
        args = _reprovar_args(argv)
        if args is not None:
            try:
                _parse(args)
            except click.UsageError as e:
                problems.append(f"{where}: {e.format_message()}")
        elif argv[:2] == ["pip", "install"]:
            for spec in argv[2:]:
                extras = re.fullmatch(r"[^\[]+\[([^\]]+)\]", spec)
                for extra in (extras.group(1).split(",") if extras else []):
                    if extra not in _extras():
                        problems.append(f"{where}: no extra {extra!r} in pyproject.toml")
        elif argv[0] in ("python", "python3") and argv[1:] and argv[1].endswith(".py"):
            if not (ROOT / argv[1]).is_file():
                problems.append(f"{where}: no file {argv[1]}")
    assert not problems, "\n".join(problems)


def test_a_wrong_command_line_is_caught():
    """The check above is not a formality: an unknown option or command fails it."""
    for args in (["list", "--no-such-option"], ["replay", "x", "--version", "zero"]):
        with pytest.raises(click.UsageError):
            _parse(args)


def _marked_block(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    start, end = MARKERS[name], MARKERS[name].replace(":start", ":end")
    assert start in text and end in text, f"README.md lacks the {name} markers"
    return text.split(start, 1)[1].split(end, 1)[0]


def test_the_set_up_blocks_come_first():
    """The README's first two code blocks are the marked ones: a newcomer meets them first."""
    first_two = [code.strip() for _, _, code in code_blocks(README)[:2]]
    marked = [re.sub(r"^\s*```\w*\n|```\s*$", "", _marked_block(n).strip()).strip()
              for n in ("main-job", "test-command")]
    assert first_two == marked


def test_ci_reads_the_readme_test_command():
    """``.ci/run`` extracts the test command with a sed pipeline: run that very pipeline."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pipeline = re.search(r"^test_command=\$\((.*)\)$", ci, flags=re.M).group(1)
    out = subprocess.run(["bash", "-c", pipeline], cwd=ROOT, capture_output=True, text=True,
                         timeout=30, check=True)
    command = out.stdout.strip()
    assert command == 'python3 -m venv .venv && . .venv/bin/activate && pip install ".[test]" && python -m pytest'
    assert command in _marked_block("test-command")


def test_the_main_job_is_what_the_tests_run():
    """tests/ledger/test_cli.py runs the main job's script and replay; they stay the README's."""
    block = _marked_block("main-job")
    assert "python examples/train.py" in block and "reprovar replay dense_1/kernel" in block
    assert "pip install ." in block


def test_the_docs_extra_builds_the_site():
    """`pip install '.[docs]'` brings what conf.py loads, and the test extra brings it too."""
    extras = _extras()
    names = {re.split(r"[<>=\[ ;]", req, maxsplit=1)[0].lower() for req in extras["docs"]}
    assert {"sphinx", "myst-parser", "sphinx-click"} <= names
    test_names = {re.split(r"[<>=\[ ;]", req, maxsplit=1)[0].lower() for req in extras["test"]}
    assert names <= test_names
    readme = README.read_text(encoding="utf-8")
    assert "pip install '.[docs]'" in readme and "python -m sphinx -W docs docs/_build/html" in readme
