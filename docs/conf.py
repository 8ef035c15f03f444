"""Sphinx configuration: Markdown pages (MyST), the API reference from docstrings (autodoc,
Google style through napoleon) and the CLI reference from the Click tree (sphinx-click).

Build: ``pip install '.[docs]'`` then ``python -m sphinx -W docs docs/_build/html``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the checkout's reprovar, installed or not

# Keras reads its backend once, when first imported; the adapter is documented (and tested)
# on the torch backend, and on the numpy one where torch is not installed.
os.environ.setdefault("KERAS_BACKEND", "torch" if importlib.util.find_spec("torch") else "numpy")

project = "reprovar"
author = "the reprovar authors"
copyright = "the reprovar authors"
release = version = __import__("reprovar").__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_click",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
# Option names must print as typed: smart quotes would turn the help texts' `--id` into `–id`.
smartquotes = False
exclude_patterns = ["_build"]
# Pages that other changes add are listed in index.md's toctree by a glob pattern (`seals*`)
# that matches nothing until the page exists. Sphinx warns about an empty glob without a
# warning type that suppress_warnings could name, so the filter in setup() drops exactly
# those warnings, for exactly these patterns.
OPTIONAL_PAGES = ("seals*", "trackers*")

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # [text](ledger.md#where-the-ledger-lives) links between pages

autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
# The adapters' frameworks are optional extras: a docs-only install documents them through
# stand-ins instead of failing the build.
autodoc_mock_imports = [
    name for name in ("torch", "keras", "dask", "distributed", "zarr", "matplotlib", "jinja2")
    if importlib.util.find_spec(name) is None
]
napoleon_google_docstring = True
napoleon_numpy_docstring = False


html_theme = "alabaster"
html_title = f"reprovar {release}"
html_theme_options = {"description": "Random variables that can always be made again."}


class _OptionalPages(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == "toctree glob pattern %r didn't match any documents"
                    and record.args and record.args[0] in OPTIONAL_PAGES)


def setup(app):
    logging.getLogger("sphinx.sphinx.directives.other").addFilter(_OptionalPages())
