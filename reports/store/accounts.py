"""The portal's own store data: users, login sessions, the failed-login throttle, the
addresses each user has logged in from, the audit log and which datasets have a
published public briefing.

These tables live in the store's database, beside the versions (SQLAlchemy Core on the
`Store`'s engine, so SQLite and a PostgreSQL URL alike), so that a throttle or a logout
holds across server processes and restarts, and a backup of the store carries them.
Counters are incremented in SQL (`UPDATE ... SET failures = failures + 1`), so failures
arriving at the same moment in several processes are all counted.
Nothing here knows about HTTP: the use cases are in `reports.services.users` and
`reports.services.audit`; this module only reads and writes rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..model.errors import StoreError
from .db import Store, db_message
from .paths import MAX_NAME

ROLES = ("hr", "union", "admin")
MAX_USER_NAME = 100

metadata = MetaData()

users_t = Table(
    "portal_users", metadata,
    Column("name", String(MAX_USER_NAME), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# one row per logged-in browser: the cookie holds the token, the row says it is live
sessions_t = Table(
    "portal_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(MAX_USER_NAME), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Index("ix_portal_sessions_user", "user_name"),
)

MAX_ADDRESS = 64

# The throttle (policy in reports.services.users).  Failed logins for one name from one
# address: how many since the last success (forgotten a while after the last failure)
# and until when the next try from there is refused unchecked.
throttle_pairs_t = Table(
    "portal_throttle_pairs", metadata,
    Column("name", String(MAX_USER_NAME), primary_key=True),
    Column("address", String(MAX_ADDRESS), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure", DateTime, nullable=False),
    Column("wait_until", DateTime, nullable=True),
    Index("ix_portal_throttle_pairs_last", "last_failure"),
)

# Failures in a fixed window: kind "address" (one address, every name) or "name" (one
# name, every address).
throttle_windows_t = Table(
    "portal_throttle_windows", metadata,
    Column("kind", String(10), primary_key=True),
    Column("key", String(MAX_USER_NAME), primary_key=True),
    Column("window_start", DateTime, nullable=False),
    Column("failures", Integer, nullable=False),
)

# Each address a user has logged in from: others' failures never block it.
known_addresses_t = Table(
    "portal_known_addresses", metadata,
    Column("user_name", String(MAX_USER_NAME), primary_key=True),
    Column("address", String(MAX_ADDRESS), primary_key=True),
    Column("first_at", DateTime, nullable=False),
    Column("last_at", DateTime, nullable=False),
)

audit_t = Table(
    "portal_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("who", String(MAX_USER_NAME), nullable=False),
    Column("action", String(40), nullable=False),
    Column("what", Text, nullable=False),
    Column("address", String(64), nullable=False),
    # repeats of one event collapsed into this row (reports.services.audit): how many,
    # and when the last was (null: just the one, at `at`).  Added to an older store's
    # table on opening (Store.add_missing_columns).
    Column("count", Integer, nullable=False, server_default="1"),
    Column("last_at", DateTime, nullable=True),
    Index("ix_portal_audit_at", "at"),
)

published_t = Table(
    "portal_published", metadata,
    Column("dataset", String(MAX_NAME), primary_key=True),
    Column("published_by", String(MAX_USER_NAME), nullable=False),
    Column("published_at", DateTime, nullable=False),
)


def now_utc() -> datetime:
    """Naive UTC to the second, as the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    who: str
    action: str
    what: str
    address: str
    count: int = 1
    last_at: datetime | None = None      # the last of `count` repeats (None: just one)

    @property
    def until(self) -> datetime:
        return self.last_at or self.at


@dataclass(frozen=True)
class ThrottleState:
    """What the throttle holds for one (name, address): the pair's failures and wait, and
    the failures in the current windows of the address and of the name (0 and None when
    there is no row)."""

    pair_failures: int = 0
    wait_until: datetime | None = None
    address_failures: int = 0
    address_window: datetime | None = None
    name_failures: int = 0
    name_window: datetime | None = None


# The statements every portal request runs, built once: building a statement and its
# cache key costs about as much as running it (0.8 ms of a 4.2 ms download, measured
# in-process with Flask's test client).
_SESSION_USER = (select(users_t, sessions_t.c.last_seen)
                 .join(sessions_t, sessions_t.c.user_name == users_t.c.name)
                 .where(sessions_t.c.token_hash == bindparam("token")))
_AUDIT_INSERT = audit_t.insert()


@dataclass(eq=False)
class _Ticket:
    """One entry waiting for its batch: done once its batch is written (or failed)."""

    entry: dict[str, Any]
    done: bool = False
    error: BaseException | None = field(default=None, repr=False)


class GroupCommit:
    """Entries from many threads written to the database in shared transactions: each
    caller returns only once its own entry is committed, but the entries that arrive while
    one transaction is being written go together in the next one (one `BEGIN`, one insert
    of many rows, one commit and so one fsync for all of them).

    There is no writer thread: the first caller that finds no write under way writes
    every entry waiting at that moment, its own among them; the callers that arrive
    meanwhile wait, and one of them writes the next batch.  The queue is the only state
    the threads share, and it is touched only under the condition's lock.  A batch that
    fails fails for every caller in it, as each would have failed alone."""

    def __init__(self, write: Callable[[list[dict[str, Any]]], None]) -> None:
        self._write = write
        self._cond = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._writing = False

    def add(self, entry: dict[str, Any]) -> None:
        ticket = _Ticket(entry)
        with self._cond:
            self._waiting.append(ticket)
            while not ticket.done:
                if self._writing:
                    self._cond.wait()
                    continue
                self._writing = True
                batch, self._waiting = self._waiting, []
                error: BaseException | None = None
                self._cond.release()
                try:
                    self._write([t.entry for t in batch])
                except BaseException as e:      # passed to every caller of the batch
                    error = e
                finally:
                    self._cond.acquire()
                    for t in batch:
                        t.done, t.error = True, error
                    self._writing = False
                    self._cond.notify_all()
        if ticket.error is not None:
            raise ticket.error


class Accounts:
    """The portal's tables in a store's database (made on first use)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine: Engine = store.engine
        try:
            store.create_tables(metadata)          # under the store's schema lock
            store.add_missing_columns(audit_t)     # count and last_at, on an older store
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open the portal's tables in {store.url}: "
                             f"{db_message(e)}") from None
        self._entries = GroupCommit(self._write_entries)

    def _run(self, what: str, work: Any) -> Any:
        return self.store.run(what, work)

    # -- users --------------------------------------------------------------

    def user(self, name: str) -> User | None:
        rows = self.store.read("read the users", lambda c: c.execute(
            select(users_t).where(users_t.c.name == name)).all())
        return User(*rows[0]) if rows else None

    def users(self) -> list[User]:
        rows = self.store.read("read the users", lambda c: c.execute(
            select(users_t).order_by(users_t.c.name)).all())
        return [User(*r) for r in rows]

    def add_user(self, name: str, role: str, password_hash: str) -> None:
        """`IntegrityError` if the name is taken."""
        self._run("add a user", lambda c: c.execute(users_t.insert().values(
            name=name, role=role, password_hash=password_hash, created_at=now_utc())))

    def remove_user(self, name: str) -> bool:
        def work(conn: Any) -> bool:
            conn.execute(delete(sessions_t).where(sessions_t.c.user_name == name))
            conn.execute(delete(known_addresses_t)
                         .where(known_addresses_t.c.user_name == name))
            return bool(conn.execute(delete(users_t).where(users_t.c.name == name)).rowcount)
        return bool(self._run("remove a user", work))

    def set_password(self, name: str, password_hash: str) -> bool:
        """Changing a password ends every session of that user."""
        def work(conn: Any) -> bool:
            conn.execute(delete(sessions_t).where(sessions_t.c.user_name == name))
            return bool(conn.execute(update(users_t).where(users_t.c.name == name)
                                     .values(password_hash=password_hash)).rowcount)
        return bool(self._run("change a password", work))

    # -- sessions -----------------------------------------------------------

    def open_session(self, token_hash: str, name: str) -> None:
        stamp = now_utc()
        self._run("record a login", lambda c: c.execute(sessions_t.insert().values(
            token_hash=token_hash, user_name=name, created_at=stamp, last_seen=stamp)))

    def session_user(self, token_hash: str) -> tuple[User, datetime] | None:
        """The user of a live session and when it was last seen, in one query."""
        rows = self.store.read("read a session", lambda c: c.execute(
            _SESSION_USER, {"token": token_hash}).all())
        if not rows:
            return None
        row = tuple(rows[0])
        return User(*row[:4]), row[4]

    def touch_session(self, token_hash: str, stamp: datetime) -> None:
        self._run("record activity", lambda c: c.execute(
            update(sessions_t).where(sessions_t.c.token_hash == token_hash)
            .values(last_seen=stamp)))

    def close_session(self, token_hash: str) -> None:
        self._run("end a session", lambda c: c.execute(
            delete(sessions_t).where(sessions_t.c.token_hash == token_hash)))

    def close_idle_sessions(self, before: datetime) -> None:
        self._run("end idle sessions", lambda c: c.execute(
            delete(sessions_t).where(sessions_t.c.last_seen < before)))

    # -- the failed-login throttle ----------------------------------------------

    def throttle_state(self, name: str, address: str) -> ThrottleState:
        """The rows as they are (the policy decides what is current)."""
        p, w = throttle_pairs_t, throttle_windows_t

        def work(conn: Any) -> ThrottleState:
            pair = conn.execute(select(p.c.failures, p.c.wait_until).where(
                p.c.name == name, p.c.address == address)).first()
            windows = {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(
                select(w.c.kind, w.c.key, w.c.failures, w.c.window_start).where(
                    ((w.c.kind == "address") & (w.c.key == address))
                    | ((w.c.kind == "name") & (w.c.key == name)))).all()}
            a = windows.get(("address", address), (0, None))
            n = windows.get(("name", name), (0, None))
            return ThrottleState(pair[0] if pair else 0, pair[1] if pair else None,
                                 a[0], a[1], n[0], n[1])
        return self.store.read("read the login throttle", work)  # type: ignore[no-any-return]

    def record_failure(self, name: str, address: str, now: datetime, *,
                       forget_before: datetime, window_from: datetime,
                       wait_for: Callable[[int], timedelta | None]) -> ThrottleState:
        """Count one failed login for (`name`, `address`): the pair's count (restarted if
        its last failure is before `forget_before`) and its wait (`wait_for(count)` from
        `now`), and the address's and the name's windows (a window that began before
        `window_from` starts again at `now`).  The increments are made by the database,
        so concurrent failures in several processes are all counted."""
        p = throttle_pairs_t

        def work(conn: Any) -> ThrottleState:
            bumped = conn.execute(update(p).where(p.c.name == name, p.c.address == address)
                                  .values(failures=case((p.c.last_failure < forget_before,
                                                         literal(1)),
                                                        else_=p.c.failures + 1),
                                          last_failure=now)).rowcount
            if not bumped:
                conn.execute(p.insert().values(name=name, address=address, failures=1,
                                               last_failure=now, wait_until=None))
            failures = conn.execute(select(p.c.failures).where(
                p.c.name == name, p.c.address == address)).scalar_one()
            wait = wait_for(failures)
            until = now + wait if wait is not None else None
            if until is not None:
                conn.execute(update(p).where(p.c.name == name, p.c.address == address)
                             .values(wait_until=until))
            a_count, a_start = _bump_window(conn, "address", address, now, window_from)
            n_count, n_start = _bump_window(conn, "name", name, now, window_from)
            return ThrottleState(failures, until, a_count, a_start, n_count, n_start)
        for attempt in range(3):
            try:
                return self._run("record a failed login", work)  # type: ignore[no-any-return]
            except IntegrityError:      # another process inserted the first row
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def clear_throttle(self, name: str, address: str | None = None) -> None:
        """Forget `name`'s failures from `address` (a successful login), or from every
        address and its window too (a new password)."""
        p, w = throttle_pairs_t, throttle_windows_t

        def work(conn: Any) -> None:
            if address is not None:
                conn.execute(delete(p).where(p.c.name == name, p.c.address == address))
                return
            conn.execute(delete(p).where(p.c.name == name))
            conn.execute(delete(w).where(w.c.kind == "name", w.c.key == name))
        self._run("clear failed logins", work)

    def prune_throttle(self, before: datetime) -> None:
        """Drop throttle rows whose last failure or window began before `before`."""
        p, w = throttle_pairs_t, throttle_windows_t

        def work(conn: Any) -> None:
            conn.execute(delete(p).where(p.c.last_failure < before,
                                         (p.c.wait_until.is_(None)) | (p.c.wait_until < before)))
            conn.execute(delete(w).where(w.c.window_start < before))
        self._run("forget old failed logins", work)

    def known_address(self, name: str, address: str) -> bool:
        k = known_addresses_t
        return bool(self.store.read("read the known addresses", lambda c: c.execute(
            select(k.c.user_name).where(k.c.user_name == name, k.c.address == address)
        ).first()))

    def remember_address(self, name: str, address: str, now: datetime) -> None:
        """Record that `name` logged in from `address`."""
        k = known_addresses_t

        def work(conn: Any) -> None:
            if not conn.execute(update(k).where(k.c.user_name == name, k.c.address == address)
                                .values(last_at=now)).rowcount:
                conn.execute(k.insert().values(user_name=name, address=address, first_at=now,
                                               last_at=now))
        try:
            self._run("record a login's address", work)
        except IntegrityError:          # another process recorded it at the same moment
            pass

    # -- the audit log ------------------------------------------------------

    def log(self, who: str, action: str, what: str, address: str, *,
            now: datetime | None = None, collapse_since: datetime | None = None) -> None:
        """One entry; with `collapse_since`, a repeat of an entry (same who, action and
        address) made since then adds one to its count and moves its last time instead
        (in SQL, so concurrent repeats are all counted)."""
        at = now or now_utc()
        who, action, address = who[:MAX_USER_NAME], action[:40], (address or "")[:64]
        a = audit_t
        if collapse_since is None:     # most entries: written with whichever come at once
            self._entries.add({"at": at, "who": who, "action": action, "what": what,
                               "address": address})
            return

        def work(conn: Any) -> None:
            if collapse_since is not None:
                newest = (select(func.max(a.c.id)).where(
                    a.c.at >= collapse_since, a.c.who == who, a.c.action == action,
                    a.c.address == address).scalar_subquery())
                if conn.execute(update(a).where(a.c.id == newest).values(
                        {a.c["count"]: a.c["count"] + 1, a.c.last_at: at})).rowcount:
                    return
            conn.execute(_AUDIT_INSERT, {"at": at, "who": who, "action": action,
                                         "what": what, "address": address})
        self._run("write the audit log", work)

    def _write_entries(self, entries: list[dict[str, Any]]) -> None:
        self._run("write the audit log", lambda c: c.execute(_AUDIT_INSERT, entries))

    def audit(self, limit: int | None = None, offset: int = 0) -> list[AuditEntry]:
        """The newest entries first (an entry is as new as its first time)."""
        query = select(audit_t).order_by(audit_t.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        rows = self.store.read("read the audit log", lambda c: c.execute(query).all())
        return [AuditEntry(*r) for r in rows]

    def audit_size(self) -> int:
        """How many entries (rows) the audit log has."""
        return int(self.store.read("read the audit log", lambda c: c.execute(
            select(func.count()).select_from(audit_t)).scalar_one()))

    # -- published briefings ------------------------------------------------

    def publish(self, dataset: str, by: str) -> None:
        def work(conn: Any) -> None:
            conn.execute(delete(published_t).where(published_t.c.dataset == dataset))
            conn.execute(published_t.insert().values(dataset=dataset, published_by=by,
                                                     published_at=now_utc()))
        self._run("publish a briefing", work)

    def unpublish(self, dataset: str) -> bool:
        return bool(self._run("withdraw a briefing", lambda c: c.execute(
            delete(published_t).where(published_t.c.dataset == dataset)).rowcount))

    def published(self) -> dict[str, datetime]:
        rows = self.store.read("read the published briefings", lambda c: c.execute(
            select(published_t.c.dataset, published_t.c.published_at)).all())
        return {r[0]: r[1] for r in rows}


def _bump_window(conn: Any, kind: str, key: str, now: datetime,
                 window_from: datetime) -> tuple[int, datetime]:
    """One more failure in the window of (`kind`, `key`); a window begun before
    `window_from` starts again at `now`.  Its count and start."""
    w = throttle_windows_t
    where = (w.c.kind == kind, w.c.key == key)
    stale = w.c.window_start < window_from
    if not conn.execute(update(w).where(*where).values(
            failures=case((stale, literal(1)), else_=w.c.failures + 1),
            window_start=case((stale, literal(now)), else_=w.c.window_start))).rowcount:
        conn.execute(w.insert().values(kind=kind, key=key, window_start=now, failures=1))
    row = conn.execute(select(w.c.failures, w.c.window_start).where(*where)).one()
    return int(row[0]), row[1]

