"""The portal's own store data: users, login sessions, failed-login locks, the audit log
and which datasets have a published public briefing.

These tables live in the store's database, beside the versions (SQLAlchemy Core on the
`Store`'s engine, so SQLite and a PostgreSQL URL alike), so that a lock or a logout
holds across server processes and restarts, and a backup of the store carries them.
Nothing here knows about HTTP: the use cases are in `reports.services.users` and
`reports.services.audit`; this module only reads and writes rows.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    delete,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..model.errors import StoreError
from .db import Store
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

# failed logins in a row for one name, and until when it is locked
locks_t = Table(
    "portal_login_failures", metadata,
    Column("name", String(MAX_USER_NAME), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", DateTime, nullable=True),
)

audit_t = Table(
    "portal_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("who", String(MAX_USER_NAME), nullable=False),
    Column("action", String(40), nullable=False),
    Column("what", Text, nullable=False),
    Column("address", String(64), nullable=False),
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


class Accounts:
    """The portal's tables in a store's database (made on first use)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine: Engine = store.engine
        try:
            store.create_tables(metadata)          # under the store's schema lock
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open the portal's tables in {store.url}: "
                             f"{_message(e)}") from None

    def _run(self, what: str, work: Any) -> Any:
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except IntegrityError:
            raise
        except SQLAlchemyError as e:
            raise StoreError(f"cannot {what} in the store database at {self.store.url}: "
                             f"{_message(e)}") from None

    # -- users --------------------------------------------------------------

    def user(self, name: str) -> User | None:
        rows = self._run("read the users", lambda c: c.execute(
            select(users_t).where(users_t.c.name == name)).all())
        return User(*rows[0]) if rows else None

    def users(self) -> list[User]:
        rows = self._run("read the users", lambda c: c.execute(
            select(users_t).order_by(users_t.c.name)).all())
        return [User(*r) for r in rows]

    def add_user(self, name: str, role: str, password_hash: str) -> None:
        """`IntegrityError` if the name is taken."""
        self._run("add a user", lambda c: c.execute(users_t.insert().values(
            name=name, role=role, password_hash=password_hash, created_at=now_utc())))

    def remove_user(self, name: str) -> bool:
        def work(conn: Any) -> bool:
            conn.execute(delete(sessions_t).where(sessions_t.c.user_name == name))
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
        rows = self._run("read a session", lambda c: c.execute(
            select(users_t, sessions_t.c.last_seen)
            .join(sessions_t, sessions_t.c.user_name == users_t.c.name)
            .where(sessions_t.c.token_hash == token_hash)).all())
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

    # -- failed logins ------------------------------------------------------

    def locked_until(self, name: str) -> datetime | None:
        rows = self._run("read the login locks", lambda c: c.execute(
            select(locks_t.c.locked_until).where(locks_t.c.name == name)).all())
        return rows[0][0] if rows and rows[0][0] is not None else None

    def record_failure(self, name: str, limit: int, lock_for: timedelta) -> datetime | None:
        """Count one failed login for `name`; at `limit` in a row, lock it for `lock_for`
        and start counting again.  Returns the end of a lock this failure started.  The
        count is incremented in the database (UPDATE ... + 1), so failures arriving at
        the same moment in several processes are all counted."""
        def work(conn: Any) -> datetime | None:
            bumped = conn.execute(update(locks_t).where(locks_t.c.name == name)
                                  .values(failures=locks_t.c.failures + 1)).rowcount
            if not bumped:
                conn.execute(locks_t.insert().values(name=name, failures=1, locked_until=None))
            failures = conn.execute(select(locks_t.c.failures).where(locks_t.c.name == name)
                                    ).scalar_one()
            if failures < limit:
                return None
            until = now_utc() + lock_for
            conn.execute(update(locks_t).where(locks_t.c.name == name)
                         .values(failures=0, locked_until=until))
            return until
        for attempt in range(3):
            try:
                return self._run("record a failed login", work)  # type: ignore[no-any-return]
            except IntegrityError:      # another process inserted the first failure
                if attempt == 2:
                    raise
        return None

    def clear_failures(self, name: str) -> None:
        self._run("clear failed logins", lambda c: c.execute(
            delete(locks_t).where(locks_t.c.name == name)))

    # -- the audit log ------------------------------------------------------

    def log(self, who: str, action: str, what: str, address: str) -> None:
        self._run("write the audit log", lambda c: c.execute(audit_t.insert().values(
            at=now_utc(), who=who[:MAX_USER_NAME], action=action[:40], what=what,
            address=(address or "")[:64])))

    def audit(self, limit: int | None = None) -> list[AuditEntry]:
        """The newest entries first."""
        query = select(audit_t).order_by(audit_t.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        rows = self._run("read the audit log", lambda c: c.execute(query).all())
        return [AuditEntry(*r) for r in rows]

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
        rows = self._run("read the published briefings", lambda c: c.execute(
            select(published_t.c.dataset, published_t.c.published_at)).all())
        return {r[0]: r[1] for r in rows}


def _message(e: SQLAlchemyError) -> str:
    orig = getattr(e, "orig", None)
    return str(orig or e).splitlines()[0]
