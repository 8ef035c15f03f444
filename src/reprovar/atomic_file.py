"""Writing output files atomically: a complete file or none, never a half-written one."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Callable

from .errors import OutputExistsError, ReprovarError


def write_atomically(
    path: str | os.PathLike, write: Callable[[IO], None], *, force: bool = False, text: bool = False
) -> Path:
    """Write ``path`` through ``write(file)``: to a temporary file beside it, then moved into place.

    Readers see the old file or the complete new one; a failure leaves nothing behind.
    Without ``force`` an existing file is refused (:class:`OutputExistsError`), also one that
    appears while writing: the final step is a hard link, which fails if the name exists.
    With ``force`` only a regular file is replaced. A symbolic link (even one to a regular
    file), a FIFO, a device, a socket or a directory is always refused, never replaced or
    written through: ``--force`` means "replace this file", and replacing a link would drop
    it while following it would write somewhere the command line did not name.
    ``text=True`` gives ``write`` a UTF-8 text file (newlines as written), else a binary one.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "out.bin")
        >>> write_atomically(p, lambda f: f.write(b"hi")).read_bytes()
        b'hi'
        >>> write_atomically(p, lambda f: f.write(b"again"))
        Traceback (most recent call last):
        ...
        reprovar.errors.OutputExistsError: ... already exists; use --force (force=True) to overwrite it
    """
    path = Path(path)
    exists = f"{path} already exists; use --force (force=True) to overwrite it"
    if check_replaceable(path) and not force:
        raise OutputExistsError(exists)
    directory = path.parent
    if not directory.is_dir():
        raise ReprovarError(f"cannot write {path}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise ReprovarError(f"cannot write {path}: {e.strerror or e}") from e
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the output gets the usual permissions
        opened = os.fdopen(fd, "w", encoding="utf-8", newline="") if text else os.fdopen(fd, "wb")
        with opened as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if force:
            check_replaceable(path)  # again: it may have changed while we wrote
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExistsError(exists) from None
            except OSError:  # a file system without hard links: check, then rename
                if path.exists():
                    raise OutputExistsError(exists) from None
                os.replace(tmp, path)
    except OSError as e:
        raise ReprovarError(f"cannot write {path}: {e.strerror or e}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def check_replaceable(path: str | os.PathLike, *, directory: bool = False) -> bool:
    """Whether ``path`` exists as a regular file (or, with ``directory``, a directory: a store
    such as Zarr's); raise :class:`ReprovarError` if it exists as anything else. A symbolic
    link is never followed: dangling or not, it is refused.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> os.symlink(os.path.join(d, "nowhere"), os.path.join(d, "link"))
        >>> check_replaceable(os.path.join(d, "new")), check_replaceable(d, directory=True)
        (False, True)
        >>> check_replaceable(os.path.join(d, "link"), directory=True)
        Traceback (most recent call last):
        ...
        reprovar.errors.ReprovarError: cannot write .../link: it is a symbolic link to .../nowhere; name the target itself, or remove the link; reprovar replaces only regular files and directories
    """
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as e:
        raise ReprovarError(f"cannot write {path}: {e.strerror or e}") from e
    if stat.S_ISREG(mode) or (directory and stat.S_ISDIR(mode)):
        return True
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    detail = ""
    if stat.S_ISLNK(mode):
        detail = f" to {os.readlink(path)}; name the target itself, or remove the link"
    replaced = "regular files and directories" if directory else "regular files"
    raise ReprovarError(f"cannot write {path}: it is {kind}{detail}; reprovar replaces only {replaced}")
