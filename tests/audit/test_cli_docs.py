"""Every command documents itself: help text with an example, and a section of the CLI
reference (docs/cli.md), which sphinx-click generates from this Click tree."""

from __future__ import annotations

import html
import re
from pathlib import Path

import click
import pytest

from reprovar.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: click.Group, prefix: str = "reprovar"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


COMMANDS = list(_commands(main))


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


def test_the_cli_reference_covers_every_command(docs_html):
    """The built reference has a section per command, holding the first line of its help."""
    page = (docs_html / "cli.html").read_text(encoding="utf-8")
    sections = dict(re.findall(r'<section id="(reprovar[a-z0-9-]*)">(.*?)(?=<section id=|</section>\s*</section>|$)',
                               page, flags=re.S))
    missing, undescribed = [], []
    for path, command in COMMANDS:
        anchor = path.replace(" ", "-")
        if anchor not in sections:
            missing.append(path)
            continue
        first = " ".join((command.help or "").strip().split("\n\n")[0].split())
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", sections[anchor])).split())
        if first[:40] not in text.replace(" ,", ",").replace(" .", "."):
            undescribed.append(path)
    assert not missing, f"docs/cli.md's reference lacks: {missing}"
    assert not undescribed, f"docs/cli.md's reference lacks the help of: {undescribed}"
