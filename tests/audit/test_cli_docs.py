"""Every command documents itself: help text with an example, and an entry in the README's
CLI reference (between the cli-reference markers)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from reprovar.cli import main

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"


def _commands(group: click.Group, prefix: str = "reprovar"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


COMMANDS = list(_commands(main))


def _headings(text: str) -> set[str]:
    return set(re.findall(r"^###\s+`([^`]+)`\s*$", text, flags=re.M))


def test_the_tree_is_walked():
    paths = [p for p, _ in COMMANDS]
    assert {"reprovar find", "reprovar runs show", "reprovar audit seeds", "reprovar db upgrade"} <= set(paths)


@pytest.mark.parametrize("path, command", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_help_has_an_example(path, command):
    help_text = command.help or ""
    assert help_text.strip(), f"{path} has no help text"
    assert "Example" in help_text, f"{path}: help has no 'Example:' section"
    after = help_text.split("Example", 1)[1]
    assert re.search(rf"^\s+{re.escape(path)}\b", after, flags=re.M), \
        f"{path}: the example does not run {path!r}"


def test_readme_cli_reference_covers_every_command():
    readme = ROOT / "README.md"
    assert readme.exists(), "README.md is missing"
    text = readme.read_text(encoding="utf-8")
    assert START in text and END in text, (
        f"README.md has no {START} ... {END} section"
    )
    section = text.split(START, 1)[1].split(END, 1)[0]
    missing = sorted({p for p, _ in COMMANDS} - _headings(section))
    assert not missing, f"README's CLI reference lacks: {missing}"
