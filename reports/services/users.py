"""Users, roles, logins and sessions, for `impact users` and the web portal alike.

Passwords follow NIST SP 800-63B (`check_password`: 12 characters or more, not a common
password, not repetitive or a sequence, not containing the user name) and are kept only
as argon2 hashes; no password is ever logged.

Failed logins are throttled, never locked (`log_in`; the rules are in the README's
"Security promises"): growing waits for one name from one address, a ceiling on the
failures from one address across all names, and a ceiling on the failures for one name
from addresses it has never logged in from.  An address the user has logged in from
before is never held back by failures from elsewhere.  A refused try is answered before
any password hash is computed.  The throttle is store data (`reports.store.accounts`), so
it survives a restart and holds across server processes.  (Flask-Limiter and `limits`
keep their counters in memory, Redis, Memcached or MongoDB, none of which the portal
has; the store's own database is shared by every process already.)

A session is a random token whose hash is a row in the store: logging out deletes the
row, so a copied cookie is dead too, and a session idle for 8 hours ends.

What each role may do is `PERMISSIONS`: the portal checks it on every request.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import string
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError

from ..model.errors import UsageProblem
from ..store.accounts import (
    MAX_ADDRESS,
    MAX_USER_NAME,
    ROLES,
    Accounts,
    ThrottleState,
    User,
    now_utc,
)
from . import audit

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
# the throttle (see log_in)
FREE_TRIES = 3                           # failures of a name from an address before a wait
FIRST_WAIT = timedelta(seconds=5)        # after the 3rd; doubled by each further failure
MAX_WAIT = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)       # a pair's count restarts a day after its last failure
WINDOW = timedelta(minutes=15)           # the ceilings' fixed window
ADDRESS_CEILING = 20                     # failures from one address, every name, per window
NAME_CEILING = 10                        # failures for one name, every address, per window
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
    "admin": frozenset(_HR | {"users", "audit", "publish", "delivery"}),
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
_DUMMY_LOCK = threading.Lock()       # request threads share the one hash per cost setting


def _dummy_hash(ph: PasswordHasher) -> str:
    """A hash to verify against for an unknown name, so that it takes as long."""
    key = f"{ph.time_cost}/{ph.memory_cost}"
    with _DUMMY_LOCK:
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


# The common-password list (data/common-passwords.txt, package data): the 10,000 most
# common passwords of zxcvbn's list, and every one of 12 or more characters in the rest of
# its 30,000, lower-cased (data/README.md says how it was made).
COMMON_PASSWORDS = "common-passwords.txt"
MIN_NAME_IN_PASSWORD = 3     # a shorter user name ("hr") is not looked for in a password
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm",
                  "qwertyuiopasdfghjklzxcvbnm")


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("reports.data").joinpath(COMMON_PASSWORDS).read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line)


def _repeated_unit(text: str) -> str | None:
    """The shortest piece that `text` is two or more copies of, if any."""
    n = len(text)
    for size in range(1, n // 2 + 1):
        if n % size == 0 and text[:size] * (n // size) == text:
            return text[:size]
    return None


def _is_sequence(text: str) -> bool:
    """Each character one after the last (or one before): abcdefghijkl, 123456789012
    (9 is followed by 0), lkjihgfedcba; or a run along a keyboard row, both ways."""
    def step(a: str, b: str) -> int | None:
        if a.isdigit() and b.isdigit():
            return (int(b) - int(a)) % 10 if (int(b) - int(a)) % 10 in (1, 9) else None
        d = ord(b) - ord(a)
        return d % 10 if d in (1, -1) else None
    steps = {step(a, b) for a, b in zip(text, text[1:])}
    if len(steps) == 1 and None not in steps:
        return True
    for row in _KEYBOARD_ROWS:
        ring = row * (len(text) // len(row) + 2)
        if text in ring or text[::-1] in ring:
            return True
    return False


def check_password(password: str, name: str | None = None) -> str:
    """The password, or `UserProblem` naming the rule it breaks (NIST SP 800-63B:
    length, a list of common passwords, repetition and sequences, the user's name)."""
    if len(password) < MIN_PASSWORD:
        raise UserProblem(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserProblem(f"the password is too long: use at most {MAX_PASSWORD} characters")
    folded = password.casefold()
    core = folded.strip(string.digits + string.punctuation + string.whitespace)
    common = common_passwords()
    if folded in common or core in common:
        raise UserProblem("the password is too common: it is on the list of common "
                          "passwords" + ("" if folded in common else " with only digits or "
                                         "symbols added") + "; choose another")
    # (the messages never quote the password: they may be shown or logged)
    if _repeated_unit(folded) is not None:
        raise UserProblem("the password is too repetitive: it is one piece repeated (like "
                          "abcabcabcabc); choose another")
    if len(set(folded)) < 4:
        raise UserProblem("the password is too repetitive: it has fewer than 4 different "
                          "characters; choose another")
    if _is_sequence(folded):
        raise UserProblem("the password is a sequence (like abcdefghijkl or 123456789012); "
                          "choose another")
    if name is not None:
        folded_name = unicodedata.normalize("NFC", name).strip().casefold()
        if len(folded_name) >= MIN_NAME_IN_PASSWORD and folded_name in folded:
            raise UserProblem("the password contains the user name; choose one that "
                              "does not")
    return password


def add_user(accounts: Accounts, name: str, role: str, password: str, *, by: str,
             address: str = "command line") -> User:
    name, role = check_user_name(name), check_role(role)
    check_password(password, name)
    try:
        accounts.add_user(name, role, hasher().hash(password))
    except IntegrityError:
        raise UserProblem(f"there is already a user named '{name}'; remove it first, or "
                          f"change its password") from None
    accounts.log(by, "user-add", f"added user '{name}' with role {role}", address)
    user = accounts.user(name)
    assert user is not None
    return user


def remove_user(accounts: Accounts, name: str, *, by: str,
                address: str = "command line") -> None:
    name = check_user_name(name)
    if not accounts.remove_user(name):
        raise UserProblem(f"there is no user named '{name}'")
    accounts.log(by, "user-remove", f"removed user '{name}'", address)


def change_password(accounts: Accounts, name: str, password: str, *, by: str,
                    address: str = "command line") -> None:
    name = check_user_name(name)
    check_password(password, name)
    if not accounts.set_password(name, hasher().hash(password)):
        raise UserProblem(f"there is no user named '{name}'")
    accounts.clear_throttle(name)
    accounts.log(by, "user-passwd", f"changed the password of '{name}'", address)


@dataclass(frozen=True)
class Login:
    """A login attempt's outcome: a user and session token, or why not.  `refused`: the
    try was refused unchecked by the throttle ("pair": this name from this address is
    waiting; "address": too many failures from this address; "name": too many failures
    for this name from new addresses); `wait`: how long until a try from this address
    for this name is checked again (after a refusal, or a failure that started a wait)."""

    user: User | None = None
    token: str | None = None
    refused: str | None = None
    wait: timedelta | None = None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def wait_after(failures: int) -> timedelta | None:
    """The wait after the `failures`-th failure in a row of one name from one address:
    none for the first FREE_TRIES - 1, then FIRST_WAIT doubled per further failure, at
    most MAX_WAIT."""
    if failures < FREE_TRIES:
        return None
    return min(FIRST_WAIT * 2 ** min(failures - FREE_TRIES, 30), MAX_WAIT)


def _refusal(state: ThrottleState, known: bool, now: datetime) -> tuple[str, datetime] | None:
    """Why and until when a try is refused unchecked, or None to check it."""
    if state.wait_until is not None and state.wait_until > now:
        return "pair", state.wait_until
    if known:                  # an address this user has logged in from: no ceiling
        return None
    for why, failures, start, ceiling in (
            ("address", state.address_failures, state.address_window, ADDRESS_CEILING),
            ("name", state.name_failures, state.name_window, NAME_CEILING)):
        if start is not None and start + WINDOW > now and failures >= ceiling:
            return why, start + WINDOW
    return None


_REFUSED = {
    "pair": "login refused unchecked: too many failed logins for this name from this address",
    "address": "login refused unchecked: too many failed logins from this address",
    "name": "login refused unchecked: too many failed logins for this name from new "
            "addresses",
}


def clock() -> datetime:
    """Now, naive UTC, for the throttle (a test replaces it to hold time still)."""
    return now_utc()


def log_in(accounts: Accounts, name: str, password: str, *, address: str,
           now: datetime | None = None, ph: PasswordHasher | None = None) -> Login:
    """Check a name and password, unless the throttle refuses the try first (then no
    hash is computed).  An unknown name is throttled and answered as a known one is
    (same answer, same work), so the page cannot tell which names exist.  `now` (naive
    UTC; else `clock()`) and `ph` (the hasher; else `hasher()`) are for tests."""
    now = now or clock()
    name = unicodedata.normalize("NFC", name or "").strip()[:MAX_USER_NAME]
    address = (address or "unknown")[:MAX_ADDRESS]
    shown = name or "(blank)"
    known = bool(name) and accounts.known_address(name, address)
    refusal = _refusal(accounts.throttle_state(name, address), known, now)
    if refusal is not None:
        why, until = refusal
        audit.record_repeated(accounts, "(any name)" if why == "address" else shown,
                              "login-refused", _REFUSED[why], address, now=now)
        return Login(refused=why, wait=until - now)
    ph = ph or hasher()
    user = accounts.user(name) if name else None
    try:
        ph.verify(user.password_hash if user else _dummy_hash(ph), password[:MAX_PASSWORD])
        ok = user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        state = accounts.record_failure(name, address, now, forget_before=now - FORGET_AFTER,
                                        window_from=now - WINDOW, wait_for=wait_after)
        audit.record_repeated(accounts, shown, "login-failed", "wrong name or password",
                              address, now=now)
        waiting = state.wait_until is not None and state.wait_until > now
        return Login(wait=state.wait_until - now if waiting and state.wait_until else None)
    accounts.clear_throttle(name, address)
    accounts.remember_address(user.name, address, now)
    accounts.prune_throttle(now - FORGET_AFTER)
    if ph.check_needs_rehash(user.password_hash):
        accounts.set_password(name, ph.hash(password))
    token = secrets.token_urlsafe(32)
    accounts.open_session(_token_hash(token), user.name)
    accounts.log(user.name, "login", f"logged in as {user.role}", address, now=now)
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
