"""Small files that every server on a PostgreSQL store must see alike: the portal's held
uploads (an upload waiting for its mapping step), the datasets' reading profiles and
their briefing template overrides.

An embedded (SQLite) store keeps these only in its folder, as it always has, and never
makes these tables.  On PostgreSQL the database holds them and the folder is a cache of
them, as it is of the originals (`blobs`): a file is named by its `kind` ("held",
"profile", "template"), a `key` (a held upload's token, a dataset's slug) and its
`name` in that folder, and is kept as `bytea` chunks of at most `blobs.CHUNK` bytes
(`shared_file_chunks`), written and read a chunk at a time, with its size, sha256 and
the time it was last written (`shared_files`, naive UTC).  Writing a file replaces it
whole in one transaction, so a reader on another server sees the old file or the new.

The callers (`reports.services.uploads`, `profiles`, `monthly`) decide what the folder
holds; this module only moves files between it and the database.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.engine import Connection

from ..model.errors import StoreError
from .blobs import CHUNK
from .files import PRIVATE_FILE, atomic_output, private_dir

if TYPE_CHECKING:
    from .db import Store

HELD, PROFILE, TEMPLATE = "held", "profile", "template"

metadata = MetaData()

files_t = Table(
    "shared_files", metadata,
    Column("kind", String(20), nullable=False),
    Column("key", String(200), nullable=False),
    Column("name", String(300), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("updated_at", DateTime, nullable=False),       # naive UTC
    PrimaryKeyConstraint("kind", "key", "name", name="pk_shared_files"),
)

file_chunks_t = Table(
    "shared_file_chunks", metadata,
    Column("kind", String(20), nullable=False),
    Column("key", String(200), nullable=False),
    Column("name", String(300), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("kind", "key", "name", "seq", name="pk_shared_file_chunks"),
    ForeignKeyConstraint(["kind", "key", "name"],
                         ["shared_files.kind", "shared_files.key", "shared_files.name"],
                         ondelete="CASCADE", name="fk_shared_file_chunks"),
)


@dataclass(frozen=True)
class Entry:
    """A shared file as the database lists it."""

    name: str
    size: int
    sha256: str
    updated_at: datetime           # naive UTC


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_EPOCH = datetime(1970, 1, 1)


def _ns(at: datetime) -> int:
    """A naive UTC time as nanoseconds since the epoch, exactly (a file's st_mtime_ns)."""
    return (at - _EPOCH) // timedelta(microseconds=1) * 1000


def _where(table: Table, kind: str, key: str, name: str | None = None) -> list[Any]:
    found = [table.c.kind == kind, table.c.key == key]
    if name is not None:
        found.append(table.c.name == name)
    return found


# -- on a connection (in the caller's transaction) ------------------------------------


def write(conn: Connection, kind: str, key: str, name: str, src: IO[bytes],
          at: datetime | None = None) -> None:
    """Replace the shared file (kind, key, name) with the bytes of `src`, a chunk at a
    time, in `conn`'s transaction."""
    conn.execute(files_t.delete().where(*_where(files_t, kind, key, name)))
    conn.execute(files_t.insert().values(kind=kind, key=key, name=name, size=0, sha256="",
                                         updated_at=at or now()))
    digest, size, seq = hashlib.sha256(), 0, 0
    for chunk in iter(lambda: src.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
        conn.execute(file_chunks_t.insert().values(kind=kind, key=key, name=name, seq=seq,
                                                   data=chunk))
        seq += 1
    conn.execute(files_t.update().where(*_where(files_t, kind, key, name))
                 .values(size=size, sha256=digest.hexdigest()))


def delete(conn: Connection, kind: str, key: str, name: str | None = None) -> None:
    """Remove the shared file (kind, key, name), or every file of (kind, key)."""
    conn.execute(file_chunks_t.delete().where(*_where(file_chunks_t, kind, key, name)))
    conn.execute(files_t.delete().where(*_where(files_t, kind, key, name)))


def listing(conn: Connection, kind: str, key: str) -> dict[str, Entry]:
    """The shared files of (kind, key), by name."""
    rows = conn.execute(select(files_t.c.name, files_t.c.size, files_t.c.sha256,
                               files_t.c.updated_at).where(*_where(files_t, kind, key)))
    return {r.name: Entry(r.name, int(r.size), r.sha256, r.updated_at) for r in rows}


def idle_keys(conn: Connection, kind: str, before: datetime) -> list[str]:
    """The keys of `kind` none of whose files was written since `before`."""
    newest = func.max(files_t.c.updated_at)
    return [str(k) for (k,) in conn.execute(
        select(files_t.c.key).where(files_t.c.kind == kind).group_by(files_t.c.key)
        .having(newest < before))]


def read_into(conn: Connection, kind: str, key: str, name: str, dest: IO[bytes]) -> str:
    """Write the shared file's chunks into `dest`; the sha256 of what was written."""
    digest = hashlib.sha256()
    result = conn.execution_options(stream_results=True, yield_per=4).execute(
        select(file_chunks_t.c.data).where(*_where(file_chunks_t, kind, key, name))
        .order_by(file_chunks_t.c.seq))
    for (data,) in result:
        chunk = bytes(data)
        digest.update(chunk)
        dest.write(chunk)
    return digest.hexdigest()


# -- through a store: its folder a cache of its database -------------------------------


def _ready(store: Store) -> None:
    store.create_tables(metadata)


def put(store: Store, kind: str, key: str, name: str, path: Path,
        at: datetime | None = None) -> None:
    """Put the file `path` into the database as (kind, key, name)."""
    _ready(store)

    def work(conn: Connection) -> None:
        with open(path, "rb") as fh:
            write(conn, kind, key, name, fh, at)
    store.run(f"keep {path.name}", work)


def remove(store: Store, kind: str, key: str, name: str | None = None) -> None:
    """Remove (kind, key, name), or every file of (kind, key), from the database."""
    _ready(store)
    store.run("remove a shared file", lambda conn: delete(conn, kind, key, name))


REMOVED = -1     # the size of a file removed on purpose: its row stays, as a tombstone


def withdraw(store: Store, kind: str, key: str, name: str) -> None:
    """Remove (kind, key, name) so that no server's folder puts it back: its row stays,
    with no content and the size `REMOVED`, so that `cache` deletes a copy a folder still
    holds, unless that copy was edited by hand after the removal."""
    _ready(store)

    def work(conn: Connection) -> None:
        delete(conn, kind, key, name)
        conn.execute(files_t.insert().values(kind=kind, key=key, name=name, size=REMOVED,
                                             sha256="", updated_at=now()))
    store.run("remove a shared file", work)


def entries(store: Store, kind: str, key: str) -> dict[str, Entry]:
    """What the database holds of (kind, key), by name."""
    _ready(store)
    return store.read("read the shared files",   # type: ignore[no-any-return]
                      lambda conn: listing(conn, kind, key))


def remove_idle(store: Store, kind: str, before: datetime) -> list[str]:
    """Remove every key of `kind` none of whose files was written since `before`; the keys
    removed."""
    _ready(store)

    def work(conn: Connection) -> list[str]:
        keys = idle_keys(conn, kind, before)
        for key in keys:
            delete(conn, kind, key)
        return keys
    return store.run("remove idle shared files", work)  # type: ignore[no-any-return]


def fetch(store: Store, kind: str, key: str, entry: Entry, path: Path,
          perms: int = PRIVATE_FILE) -> bool:
    """Fill the cache file `path` with the shared file `entry` of (kind, key), atomically
    (a reader sees the whole file or none), owner-only, its modification time the time
    it was written to the database; False if the database no longer has it (or it
    changed meanwhile: the caller reads the listing again)."""
    private_dir(path.parent)

    def work(conn: Connection) -> bool:
        with atomic_output(path, perms=perms) as fh:
            if read_into(conn, kind, key, entry.name, fh) != entry.sha256:
                raise _Changed
        return True
    try:
        store.read(f"read {entry.name}", work)
    except _Changed:
        return False
    os.utime(path, ns=(_ns(entry.updated_at), _ns(entry.updated_at)))
    return True


class _Changed(Exception):
    """The shared file read is not the one listed (written or removed meanwhile)."""


def cached(path: Path, entry: Entry) -> bool:
    """Whether the cache file `path` holds the shared file `entry` (size, then sha256)."""
    try:
        if not path.is_file() or path.stat().st_size != entry.size:
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest() == entry.sha256
    except OSError:
        return False


def keep(store: Store, kind: str, key: str, name: str, path: Path) -> None:
    """Put the file `path` (just written in the folder) into the database as (kind, key,
    name), and give the file the time it was written there: `cache` then knows it for
    the database's copy, not one edited by hand since."""
    at = now()
    put(store, kind, key, name, path, at)
    os.utime(path, ns=(_ns(at), _ns(at)))


def cache(store: Store, kind: str, key: str, name: str, path: Path) -> Path | None:
    """The file (kind, key, name) of a PostgreSQL store, read from the database first, with
    `path` in the store's folder its cache: `path` once it holds the database's copy, or
    None if neither has one.  A file in the folder the database lacks (kept there before
    the database kept such files, or placed by hand) is put into the database, and so is
    one changed by hand since it was last written there (newer than the database's): the
    folder is where a person edits a profile or template, the database what every server
    reads."""
    for _ in range(3):             # written on another server meanwhile: read it again
        entry = entries(store, kind, key).get(name)
        if entry is not None and entry.size == REMOVED and not _edited_here(path, entry):
            path.unlink(missing_ok=True)     # removed on purpose (`withdraw`), on any server
            return None
        if entry is None or _edited_here(path, entry):
            if not path.is_file():
                return None
            keep(store, kind, key, name, path)
            return path
        if cached(path, entry) or fetch(store, kind, key, entry, path):
            return path
    raise StoreError(f"{name} kept changing in the store database while it was read; "
                     f"try again")


def _edited_here(path: Path, entry: Entry) -> bool:
    """Whether the folder's `path` was written after the database's copy `entry` (and
    differs from it)."""
    try:
        newer = path.stat().st_mtime_ns > _ns(entry.updated_at)
    except OSError:
        return False
    return newer and not cached(path, entry)
