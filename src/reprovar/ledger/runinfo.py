"""What a run row says about the process: where, when, who, and with which software."""

from __future__ import annotations

import getpass
import json
import os
import platform
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from .redaction import redact_argv


def collect_run_info() -> dict:
    """The run row's values for this process, gathered once per run.

    Example:
        >>> info = collect_run_info()
        >>> info["pid"] == __import__("os").getpid(), sorted(info)[:3]
        (True, ['argv', 'cwd', 'git_commit'])
    """
    import numpy

    from .. import __version__

    cwd = _cwd()
    return {
        "started": datetime.now(timezone.utc),
        "host": socket.gethostname()[:255],
        "user": _user()[:255],
        "pid": os.getpid(),
        "argv": json.dumps(redact_argv(sys.argv)),  # no passwords or tokens in the ledger
        "cwd": cwd,
        "git_commit": git_commit(cwd) if cwd else None,
        "python_version": platform.python_version(),
        "reprovar_version": __version__,
        "numpy_version": numpy.__version__,
        "numba_version": _version_of("numba"),
        "platform": platform.platform()[:255],
    }


def _version_of(package: str) -> str:
    # Without importing it: a process that only records (or replays nothing) never loads
    # Numba, and importing it costs about half a second.
    module = sys.modules.get(package)
    if module is not None:
        return module.__version__
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:  # the working directory was deleted
        return ""


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no USER variable
        return str(os.getuid()) if hasattr(os, "getuid") else ""


def git_commit(start: str | os.PathLike) -> str | None:
    """The commit checked out in the git repository containing ``start``, or None.

    Reads ``.git`` files directly (HEAD, loose refs, packed-refs, worktree and submodule
    ``gitdir:`` links) instead of starting ``git``: it is cheap, needs no git binary, and
    never forks from a process that may hold threads and database connections.

    Example:
        >>> git_commit("/") is None
        True
    """
    try:
        gitdir = _find_gitdir(Path(start))
        if gitdir is None:
            return None
        head = (gitdir / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None  # detached HEAD holds the commit itself
        ref = head[4:].strip()
        commondir = gitdir
        if (gitdir / "commondir").is_file():  # linked worktree: refs live in the main gitdir
            commondir = (gitdir / (gitdir / "commondir").read_text().strip()).resolve()
        for base in (gitdir, commondir):
            loose = base / ref
            if loose.is_file():
                return loose.read_text().strip() or None
        packed = commondir / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line and line[0] not in "#^":
                    sha, _, name = line.partition(" ")
                    if name.strip() == ref:
                        return sha
        return None  # a repository with no commits yet
    except (OSError, UnicodeDecodeError):
        return None


def _find_gitdir(start: Path) -> Path | None:
    for directory in [start, *start.parents]:
        dotgit = directory / ".git"
        if dotgit.is_dir():
            return dotgit
        if dotgit.is_file():  # "gitdir: <path>" for worktrees and submodules
            text = dotgit.read_text().strip()
            if text.startswith("gitdir:"):
                return (directory / text[7:].strip()).resolve()
            return None
    return None
