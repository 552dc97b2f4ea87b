"""The sha256 of a file or of bytes: how an input, a stored copy and a written report
are identified."""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """The sha256 of bytes already read (hashlib lets go of the GIL on big buffers)."""
    return hashlib.sha256(data).hexdigest()
