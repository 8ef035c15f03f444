"""Writing output files atomically: a complete file or none, never a half-written one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable

from ..errors import ReprovarError


class OutputExistsError(ReprovarError, FileExistsError):
    """The output file exists and overwriting was not asked for."""


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None], *, force: bool = False) -> Path:
    """Write ``path`` through ``write(file)``: to a temporary file beside it, then renamed.

    Without ``force`` an existing file is refused, and the check cannot race with another
    writer (the final step is a hard link, which fails if the name exists). Readers see the
    old file or the complete new one; a crash leaves at most a hidden temporary file.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "out.bin")
        >>> write_atomically(p, lambda f: f.write(b"hi")).read_bytes()
        b'hi'
    """
    path = Path(path)
    if not force and path.exists():
        raise OutputExistsError(f"{path} exists; pass --force to overwrite it")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ReprovarError(f"cannot write {path}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise ReprovarError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExistsError(f"{path} exists; pass --force to overwrite it") from None
            except OSError:  # a filesystem without hard links: check, then rename
                if path.exists():
                    raise OutputExistsError(f"{path} exists; pass --force to overwrite it") from None
                os.replace(tmp, path)
    except OSError as e:
        raise ReprovarError(f"cannot write {path}: {e.strerror or e}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
