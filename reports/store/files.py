"""Writing files so that a crash never leaves a half-written one."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..intake.digest import sha256_file
from ..model.errors import CannotWrite


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], mode: str = "wb",
                  perms: int | None = None) -> Iterator[IO]:
    """Open a temporary file beside `path`; on success fsync it and rename it into place.

    On any exception the temporary file is removed and `path` is untouched.  The file
    gets `perms`, or by default the mode a new file gets under the umask (mkstemp's
    own 0600 would make a briefing unreadable to the colleagues it is for).

    An operating-system error in writing (no permission, a full disk, a read-only file
    system, a folder in the way) is raised as `CannotWrite`, whose message is one line:
    "cannot write PATH: <reason>".  An OSError with another file's name (an input read
    while the output is written) passes through unchanged.
    """
    target = Path(path)
    try:
        if target.parent.exists() and not target.parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                   dir=target.parent)
    except OSError as e:
        raise CannotWrite(target, e) from e
    try:
        encoding = None if "b" in mode else "utf-8"
        newline = None if "b" in mode else ""
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, perms if perms is not None else 0o666 & ~_umask())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.filename in (None, tmp, str(target), target):
            raise CannotWrite(target, e) from e
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["atomic_output", "fsync_dir", "sha256_file"]
