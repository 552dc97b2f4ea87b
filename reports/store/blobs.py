"""What a store on PostgreSQL keeps in its database that an embedded store keeps only in
its folder: the stored originals and the portal's built outputs, as content-addressed
blobs, so that any number of servers, each with its own local folder, share one store.

A blob is named by the sha256 of its bytes (`blobs`) and held as `bytea` chunks of at
most `CHUNK` bytes (`blob_chunks`), written and read one chunk at a time, so that no
file is ever whole in memory.  Chunks rather than PostgreSQL large objects: they are
ordinary rows, so they live and die with the transaction that writes them (a version's
original commits with its row, or not at all; a large object outlives a rolled-back
row unless it is unlinked by hand), need no lo_* privileges or `vacuumlo`, and SQLAlchemy
Core reads and writes them like any other table.

`built_outputs` names the blob of each built output of a version (by dataset, version
number, the version's sha256 and the output's name, as the build queue names its jobs).

The store's folder is then a cache (`Store.path_of`, `Store.fetch_output`): a file there
is used when its sha256 is right, and fetched again from here when it is missing or
damaged.  An embedded (SQLite) store never makes these tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from .paths import MAX_NAME

CHUNK = 1 << 20        # 1 MB a row: big enough to be few rows, small enough to stream

metadata = MetaData()

blobs_t = Table(
    "blobs", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),      # naive UTC
)

chunks_t = Table(
    "blob_chunks", metadata,
    Column("sha256", String(64), ForeignKey("blobs.sha256", ondelete="CASCADE"),
           nullable=False),
    Column("seq", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("sha256", "seq", name="pk_blob_chunks"),
)

outputs_t = Table(
    "built_outputs", metadata,
    Column("dataset", String(MAX_NAME), nullable=False),
    Column("version", Integer, nullable=False),
    Column("version_sha256", String(64), nullable=False),
    Column("output", String(100), nullable=False),
    Column("blob", String(64), ForeignKey("blobs.sha256"), nullable=False),
    Column("built_at", DateTime, nullable=False),
    PrimaryKeyConstraint("dataset", "version", "version_sha256", "output",
                         name="pk_built_outputs"),
)


class Mismatch(ValueError):
    """The bytes given (or read back) are not the ones their sha256 names."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def put(conn: Connection, src: IO[bytes], sha256: str) -> bool:
    """Write the bytes of `src` as the blob `sha256` in `conn`'s transaction, a chunk at a
    time, unless the blob is there already; whether this wrote it.  Two transactions
    writing the same blob at once: the second waits on the first's row, then finds it
    (INSERT ... ON CONFLICT DO NOTHING).  `Mismatch` (roll the transaction back) if the
    bytes are not `sha256`'s."""
    made = conn.execute(pg_insert(blobs_t).values(sha256=sha256, size=0, chunks=0,
                                                  created_at=_now())
                        .on_conflict_do_nothing().returning(blobs_t.c.sha256)).first()
    if made is None:
        return False
    digest, size, seq = hashlib.sha256(), 0, 0
    for chunk in iter(lambda: src.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
        conn.execute(chunks_t.insert().values(sha256=sha256, seq=seq, data=chunk))
        seq += 1
    if digest.hexdigest() != sha256:
        raise Mismatch(f"the bytes given for blob {sha256[:12]} are not its own")
    conn.execute(update(blobs_t).where(blobs_t.c.sha256 == sha256)
                 .values(size=size, chunks=seq))
    return True


def has(conn: Connection, sha256: str) -> bool:
    return conn.execute(select(blobs_t.c.sha256).where(blobs_t.c.sha256 == sha256)
                        ).first() is not None


def _chunks(engine: Engine, sha256: str) -> Generator[bytes, None, None] | None:
    """The blob's chunks in order, read through a server-side cursor (a few at a time),
    or None if there is no such blob."""
    conn = engine.connect()
    try:
        row = conn.execute(select(blobs_t.c.chunks).where(blobs_t.c.sha256 == sha256)).first()
        if row is None:
            conn.close()
            return None
    except BaseException:
        conn.close()
        raise

    def stream() -> Generator[bytes, None, None]:
        try:
            result = conn.execution_options(stream_results=True, yield_per=4).execute(
                select(chunks_t.c.data).where(chunks_t.c.sha256 == sha256)
                .order_by(chunks_t.c.seq))
            seen = 0
            for (data,) in result:
                seen += 1
                yield bytes(data)
            if seen != row.chunks:
                raise Mismatch(f"blob {sha256[:12]} has {seen} of its {row.chunks} chunks")
        finally:
            conn.close()

    return stream()


def copy_out(engine: Engine, sha256: str, dest: IO[bytes]) -> bool:
    """Write the blob `sha256` into `dest`, a chunk at a time; False if there is no such
    blob.  `Mismatch` if what was read is not `sha256`'s bytes."""
    chunks = _chunks(engine, sha256)
    if chunks is None:
        return False
    digest = hashlib.sha256()
    try:
        for chunk in chunks:
            digest.update(chunk)
            dest.write(chunk)
    finally:
        chunks.close()          # its connection, at once, even when writing failed
    if digest.hexdigest() != sha256:
        raise Mismatch(f"blob {sha256[:12]} read back is not its own bytes")
    return True


def put_output(conn: Connection, key: tuple[str, int, str, str], src: IO[bytes],
               sha256: str) -> None:
    """Record built output `key` (dataset, version, version's sha256, output) as the blob
    `sha256`, written from `src` unless it is there already."""
    put(conn, src, sha256)
    dataset, version, version_sha, output = key
    conn.execute(pg_insert(outputs_t).values(
        dataset=dataset, version=version, version_sha256=version_sha, output=output,
        blob=sha256, built_at=_now()).on_conflict_do_update(
            constraint="pk_built_outputs", set_={"blob": sha256, "built_at": _now()}))


def output_blob(conn: Connection, key: tuple[str, int, str, str]) -> str | None:
    """The sha256 of built output `key`'s blob, or None if it was never put here."""
    dataset, version, version_sha, output = key
    found = conn.execute(select(outputs_t.c.blob).where(
        outputs_t.c.dataset == dataset, outputs_t.c.version == version,
        outputs_t.c.version_sha256 == version_sha, outputs_t.c.output == output)).scalar()
    return None if found is None else str(found)
