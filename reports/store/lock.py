"""The store-wide lock: many commands may use a store at once, a restore only alone.

A store's lock is the file STORE/impact.lock, locked with `fcntl.flock`:

- *shared* by every command that uses the store (upload, monthly, the portal's
  uploads and build jobs, and every command that reads it), for as long as it runs;
- *exclusive* by `impact store restore`, which replaces the database under them.

A command that cannot get the lock waits at most `wait_seconds()` ($IMPACT_LOCK_WAIT,
default 120 s), then fails with one line saying what holds it: the exclusive holder
writes what it is (command and process id) into the lock file.  The kernel releases
a flock when its process dies, however it dies, so a killed command never leaves the
store locked.

Why not the `filelock` package: it has exclusive locks only, and this lock must let
any number of readers and uploads share the store while keeping a restore apart from
all of them.  `flock` gives exactly that, and nothing else is needed on Linux.

A store whose tables are on PostgreSQL (--db) is locked twice, in the same mode: the
folder's flock as above (its files/ folder may be shared by several machines), and then
a PostgreSQL advisory lock on its database (`pg_try_advisory_lock`, or
`pg_try_advisory_lock_shared` for a shared one, on key `PG_LOCK_KEY`), held by a
connection of its own for as long as the lock is held.  So commands on different
machines that share one database keep apart as commands on one machine do.  The wait
is the same bounded one (polled, so it can end); the holder is named from the
server's own tables (its connection's application_name says what it is and its
process id).  The server releases a session's advisory locks when its connection
ends, so a killed command's lock goes with it here too.

Within one process the lock is taken once per store and counted (the portal's
threads share it; a restore that opens the store again for its own checks does
not wait for itself).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.errors import StoreError
from .files import PRIVATE_FILE
from .urls import db_message, shown_url

LOCK_NAME = "impact.lock"
LOCK_WAIT_ENV = "IMPACT_LOCK_WAIT"
DEFAULT_WAIT_S = 120.0
_POLL_S = 0.05
PG_LOCK_KEY = 0x1A7AC8       # the store-wide advisory lock (db.py's schema lock is 0x1A7AC7)


def wait_seconds() -> float:
    """How long a command waits for the store's lock: $IMPACT_LOCK_WAIT seconds, else 120."""
    given = os.environ.get(LOCK_WAIT_ENV, "").strip()
    try:
        return max(0.0, float(given)) if given else DEFAULT_WAIT_S
    except ValueError:
        return DEFAULT_WAIT_S


@dataclass
class _Held:
    fd: int
    mode: str          # "shared" or "exclusive"
    count: int
    pg: Any = None     # PostgreSQL: the connection that holds the advisory lock


# What this process holds, by lock file: a flock belongs to the process (its open file),
# so threads of one process share one hold, counted.  `_guard` protects both dicts;
# `_taking[key]` lets one thread at a time take a store's lock, so that two threads
# never both find it unheld and each take and register it (one registration lost, and
# the second release failing).
_held: dict[str, _Held] = {}
_taking: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _key(root: Path) -> str:
    return os.path.realpath(root / LOCK_NAME)


def _holder(path: str) -> str:
    """What the lock file says holds the store exclusively ('' if nothing does)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read(300).strip().splitlines()
    except OSError:
        return ""
    return lines[0] if lines else ""


@contextlib.contextmanager
def store_lock(root: Path, mode: str = "shared", *, what: str = "impact",
               wait: float | None = None, db: str | None = None) -> Iterator[None]:
    """Hold the lock of the store at `root` (`mode` "shared" or "exclusive") for the
    block.  `what` names the holder in the lock file when exclusive ('impact store
    restore').  `db`: the store's PostgreSQL URL, whose advisory lock is taken too.
    `StoreError`, one line, if it is not free within `wait` seconds."""
    key = _key(root)
    limit = wait_seconds() if wait is None else wait
    with _guard:
        taking = _taking.setdefault(key, threading.Lock())
    with taking:
        registered = _take(key, root, mode, what, limit, db)
    if not registered:             # read-only media: there is nothing to hold
        yield
        return
    try:
        yield
    finally:
        _release(key)


def _take(key: str, root: Path, mode: str, what: str, limit: float,
          db: str | None) -> bool:
    """Take the lock (or count one more use of this process's hold) and register it;
    False for a store nobody may write, whose lock file cannot be made."""
    started = time.monotonic()
    with _guard:
        held = _held.get(key)
        if held is not None and (held.mode == "exclusive" or mode == "shared"):
            held.count += 1      # this process holds it already (in a mode at least as strong)
            return True
    if held is not None:
        raise StoreError(f"the store at {root} is in use by this process, so it cannot be "
                         f"locked for {what}; close it first")
    try:
        fd = os.open(key, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE)
    except OSError as e:
        if mode == "shared" and e.errno in (errno.EROFS, errno.EACCES):
            return False   # a store nobody may write (read-only media): nothing to keep apart
        raise StoreError(f"cannot lock the store at {root}: {e.strerror or e}") from None
    pg, locked = None, False
    try:
        _acquire(fd, key, root, mode, limit)
        locked = True
        if mode == "exclusive":
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{what} (process {os.getpid()})\n".encode(), 0)
        if db is not None:
            pg = _pg_acquire(db, root, mode, what, started + limit, limit)
    except BaseException:
        if locked and mode == "exclusive":
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        os.close(fd)
        raise
    with _guard:
        _held[key] = _Held(fd, mode, 1, pg)
    return True


def _acquire(fd: int, key: str, root: Path, mode: str, limit: float) -> None:
    flag = fcntl.LOCK_EX if mode == "exclusive" else fcntl.LOCK_SH
    deadline = time.monotonic() + limit
    while True:
        try:
            fcntl.flock(fd, flag | fcntl.LOCK_NB)
            return
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreError(f"cannot lock the store at {root}: {e.strerror or e}") \
                    from None
        if time.monotonic() >= deadline:
            break
        time.sleep(_POLL_S)
    holder = _holder(key) if mode == "shared" else ""
    who = (f"{holder} holds it" if holder else
           "other impact commands (uploads, monthly runs, the portal) are using it"
           if mode == "exclusive" else "another impact command holds it alone")
    raise _busy(root, who, limit)


def _busy(root: Path, who: str, limit: float) -> StoreError:
    return StoreError(f"the store at {root} is busy: {who}; waited {limit:g} s "
                      f"(${LOCK_WAIT_ENV}); try again when it has finished")


def _pg_acquire(db: str, root: Path, mode: str, what: str, deadline: float,
                limit: float) -> Any:
    """The advisory lock of the store's PostgreSQL database, on a connection of its own
    (returned: closing it releases the lock), polled until `deadline`."""
    from sqlalchemy import create_engine, text  # lazy: only stores on PostgreSQL need it
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    name = f"{what} (process {os.getpid()})"[:63]
    engine = create_engine(db, poolclass=NullPool,
                           connect_args={"connect_timeout": 10, "application_name": name})
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as e:
        engine.dispose()
        raise StoreError(f"cannot open the store database at {shown_url(db)}: "
                         f"{db_message(e)}; check "
                         f"the --db URL (or $IMPACT_DB) and that the database server is "
                         f"running and lets you in") from None
    take = "pg_try_advisory_lock" if mode == "exclusive" else "pg_try_advisory_lock_shared"
    try:
        while True:
            if conn.execute(text(f"SELECT {take}(:key)"), {"key": PG_LOCK_KEY}).scalar():
                return conn
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_S)
        holders = conn.execute(text(
            "SELECT a.application_name, l.mode FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 "
            "AND l.objid = :key AND l.objsubid = 1 AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY a.application_name"), {"key": PG_LOCK_KEY}).all()
    except SQLAlchemyError as e:
        conn.close()
        engine.dispose()
        raise StoreError(f"cannot lock the store at {root} in its database: "
                         f"{db_message(e)}") from None
    conn.close()
    engine.dispose()
    alone = [str(h[0] or "a PostgreSQL session") for h in holders if h[1] == "ExclusiveLock"]
    shared = sorted({str(h[0] or "a PostgreSQL session") for h in holders
                     if h[1] == "ShareLock"})
    who = (f"{alone[0]} holds it" if alone else
           f"other impact commands are using it ({', '.join(shared[:5])})" if shared else
           "another impact command holds it")
    raise _busy(root, f"{who} in its PostgreSQL database", limit)


def _release(key: str) -> None:
    with _guard:
        held = _held[key]
        held.count -= 1
        if held.count:
            return
        del _held[key]
    if held.pg is not None:
        engine = held.pg.engine
        with contextlib.suppress(Exception):
            held.pg.close()          # the session ends: the advisory lock is released
        engine.dispose()
    if held.mode == "exclusive":
        with contextlib.suppress(OSError):
            os.ftruncate(held.fd, 0)
    os.close(held.fd)          # closing the descriptor releases the flock


def held_here(root: Path) -> str | None:
    """The mode in which this process holds the store's lock, or None."""
    with _guard:
        held = _held.get(_key(root))
        return None if held is None else held.mode
