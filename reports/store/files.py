"""Writing files so that a crash never leaves a half-written one; and the store's own
files and folders, which only their owner may read (`private_dir`, `write_private`,
`PRIVATE_FILE`), whatever the umask."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
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

    A device or a pipe (`-o /dev/null`, `/dev/stdout`, a FIFO) is written in place:
    renaming a file over it would replace the device with a plain file.
    """
    target = Path(path)
    encoding = None if "b" in mode else "utf-8"
    newline = None if "b" in mode else ""
    if _special(target):
        try:
            with open(target, mode, encoding=encoding, newline=newline) as fh:
                yield fh
        except OSError as e:
            if _ours(e, target):
                raise CannotWrite(target, e) from e
            raise
        return
    try:
        if target.parent.exists() and not target.parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                   dir=target.parent)
    except OSError as e:
        raise CannotWrite(target, e) from e
    try:
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
        if isinstance(e, OSError) and _ours(e, target, tmp):
            raise CannotWrite(target, e) from e
        raise


def _ours(error: OSError, target: Path, *also: str) -> bool:
    """Whether `error` is the output's own (no file named, or the output or its
    temporary file), not an input's read while the output is written."""
    return error.filename in (None, str(target), target, *also)


def _special(path: Path) -> bool:
    """Whether `path` (followed through symlinks) is there and is neither a plain file
    nor a folder: a character device, a pipe or a socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


PRIVATE_FILE = 0o600     # the store's database, profiles, caches, held uploads, secret key
PRIVATE_DIR = 0o700      # the store's folders
STORED_FILE = 0o400      # an uploaded original: owner-only and never rewritten


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make the folder `path` and any missing parents with mode 0700 (a folder that
    exists already is left as it is).  A umask can only take bits away, and a folder
    made here gets exactly 0700 even under a umask such as 0o277."""
    target = Path(path)
    missing = []
    at = target
    while not at.exists() and at.parent != at:
        missing.append(at)
        at = at.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(folder, PRIVATE_DIR)
    return target


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to a new file (or over one) that only its owner may read (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0),
                 PRIVATE_FILE)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), PRIVATE_FILE)
        fh.write(data)


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


__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "STORED_FILE", "atomic_output", "fsync_dir",
           "private_dir", "sha256_file", "write_private"]
