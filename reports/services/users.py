"""Users, roles, logins and sessions, for `impact users` and the web portal alike.

Passwords are at least 12 characters and kept only as argon2 hashes; no password is
ever logged.  Five failed logins in a row for one name lock that name for 15 minutes;
the count and the lock are store data (`reports.store.accounts`), so they survive a
restart and hold across server processes.  A session is a random token whose hash is
a row in the store: logging out deletes the row, so a copied cookie is dead too, and a
session idle for 8 hours ends.

What each role may do is `PERMISSIONS`: the portal checks it on every request.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError

from ..model.errors import UsageProblem
from ..store.accounts import MAX_USER_NAME, ROLES, Accounts, User, now_utc

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
FAILURES_BEFORE_LOCK = 5
LOCK_FOR = timedelta(minutes=15)
IDLE_LIMIT = timedelta(hours=8)
_TOUCH_EVERY = timedelta(seconds=60)     # how stale last_seen may get before it is written
# IMPACT_TEST_CHEAP_HASH=1: argon2 with tiny costs, so that a test's logins take
# milliseconds.  Never set in production (hashes made with it are weak).
CHEAP_HASH_ENV = "IMPACT_TEST_CHEAP_HASH"

# What each role may do.  "brief:AUDIENCE" is that audience's briefing; "summary:full"
# and "changes:full" are the unsuppressed exports; "monthly:full" the month's
# unsuppressed files.
_READ = {"datasets", "brief:union", "brief:public", "summary:public", "changes:public",
         "monthly:union", "monthly:public"}
_HR = _READ | {"upload", "map", "brief:management", "summary:full", "changes:full",
               "monthly:management", "monthly:full"}
PERMISSIONS: dict[str, frozenset[str]] = {
    "union": frozenset(_READ),
    "hr": frozenset(_HR),
    "admin": frozenset(_HR | {"users", "audit", "publish"}),
}


def may(role: str | None, action: str) -> bool:
    """Whether a user with `role` may do `action` (an unknown role may do nothing)."""
    return role is not None and action in PERMISSIONS.get(role, frozenset())


class UserProblem(UsageProblem):
    """A user name, role or password that cannot be used; the message says why."""


def hasher() -> PasswordHasher:
    if os.environ.get(CHEAP_HASH_ENV):
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


_DUMMY: dict[str, str] = {}


def _dummy_hash(ph: PasswordHasher) -> str:
    """A hash to verify against for an unknown name, so that it takes as long."""
    key = f"{ph.time_cost}/{ph.memory_cost}"
    if key not in _DUMMY:
        _DUMMY[key] = ph.hash(secrets.token_urlsafe(16))
    return _DUMMY[key]


def check_user_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise UserProblem("a user name cannot be blank")
    if len(name) > MAX_USER_NAME:
        raise UserProblem(f"a user name is at most {MAX_USER_NAME} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise UserProblem("a user name cannot hold control characters")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserProblem(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserProblem(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserProblem(f"the password is too long: use at most {MAX_PASSWORD} characters")
    return password


def add_user(accounts: Accounts, name: str, role: str, password: str, *, by: str,
             address: str = "command line") -> User:
    name, role = check_user_name(name), check_role(role)
    check_password(password)
    try:
        accounts.add_user(name, role, hasher().hash(password))
    except IntegrityError:
        raise UserProblem(f"there is already a user named '{name}'; remove it first, or "
                          f"change its password with impact users passwd") from None
    accounts.log(by, "user-add", f"added user '{name}' with role {role}", address)
    user = accounts.user(name)
    assert user is not None
    return user


def remove_user(accounts: Accounts, name: str, *, by: str,
                address: str = "command line") -> None:
    name = check_user_name(name)
    if not accounts.remove_user(name):
        raise UserProblem(f"there is no user named '{name}' (see impact users list)")
    accounts.log(by, "user-remove", f"removed user '{name}'", address)


def change_password(accounts: Accounts, name: str, password: str, *, by: str,
                    address: str = "command line") -> None:
    name = check_user_name(name)
    check_password(password)
    if not accounts.set_password(name, hasher().hash(password)):
        raise UserProblem(f"there is no user named '{name}' (see impact users list)")
    accounts.clear_failures(name)
    accounts.log(by, "user-passwd", f"changed the password of '{name}'", address)


@dataclass(frozen=True)
class Login:
    """A login attempt's outcome: a user and session token, or why not."""

    user: User | None = None
    token: str | None = None
    locked_until: datetime | None = None     # naive UTC


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def log_in(accounts: Accounts, name: str, password: str, *, address: str) -> Login:
    """Check a name and password.  A locked name is refused without checking the
    password; an unknown name counts failures as a known one does (same answer, same
    time), so the page cannot tell which names exist."""
    name = unicodedata.normalize("NFC", name or "").strip()[:MAX_USER_NAME]
    shown = name or "(blank)"
    until = accounts.locked_until(name)
    if until is not None and until > now_utc():
        accounts.log(shown, "login-locked", "login refused: the name is locked", address)
        return Login(locked_until=until)
    ph = hasher()
    user = accounts.user(name) if name else None
    try:
        ph.verify(user.password_hash if user else _dummy_hash(ph), password[:MAX_PASSWORD])
        ok = user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        locked = accounts.record_failure(name, FAILURES_BEFORE_LOCK, LOCK_FOR)
        accounts.log(shown, "login-failed",
                     "wrong name or password" + ("; the name is now locked for 15 minutes"
                                                 if locked else ""), address)
        return Login(locked_until=locked)
    accounts.clear_failures(name)
    if ph.check_needs_rehash(user.password_hash):
        accounts.set_password(name, ph.hash(password))
    token = secrets.token_urlsafe(32)
    accounts.open_session(_token_hash(token), user.name)
    accounts.log(user.name, "login", f"logged in as {user.role}", address)
    return Login(user=user, token=token)


def session_user(accounts: Accounts, token: str, *, idle: timedelta = IDLE_LIMIT) -> User | None:
    """The user of a live session; None (and the session ended) after `idle` unused."""
    key = _token_hash(token)
    found = accounts.session_user(key)
    if found is None:            # logged out, or the user removed (their sessions with them)
        return None
    user, last_seen = found
    now = now_utc()
    if now - last_seen > idle:
        accounts.close_session(key)
        return None
    if now - last_seen >= _TOUCH_EVERY:
        accounts.touch_session(key, now)
    return user


def log_out(accounts: Accounts, token: str, *, who: str, address: str) -> None:
    accounts.close_session(_token_hash(token))
    accounts.log(who, "logout", "logged out", address)
