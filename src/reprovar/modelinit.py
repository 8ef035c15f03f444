"""The former name of :mod:`reprovar.adapter`, kept so that existing imports keep working.

Example:
    >>> import reprovar.adapter, reprovar.modelinit
    >>> reprovar.modelinit.generate is reprovar.adapter.generate
    True
"""

from __future__ import annotations

from .adapter import (
    ON_UNKNOWN,
    Draw,
    Initialized,
    Made,
    Planned,
    Recipe,
    algorithm_for,
    check_draw,
    check_names,
    check_on_unknown,
    check_one_version,
    check_planned,
    check_prefix,
    check_run,
    fill,
    generate,
    initialize,
    lookup,
    make_variable,
    model_seed_and_source,
    record_all,
    recording_on,
    records_to_restore,
    replay_values,
)

__all__ = [
    "ON_UNKNOWN",
    "Draw",
    "Initialized",
    "Made",
    "Planned",
    "Recipe",
    "algorithm_for",
    "check_draw",
    "check_names",
    "check_on_unknown",
    "check_one_version",
    "check_planned",
    "check_prefix",
    "check_run",
    "fill",
    "generate",
    "initialize",
    "lookup",
    "make_variable",
    "model_seed_and_source",
    "record_all",
    "recording_on",
    "records_to_restore",
    "replay_values",
]
