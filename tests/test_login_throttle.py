"""Failed logins are throttled, never locked (reports.services.users.log_in): growing
waits for one name from one address, a ceiling per address across names, a ceiling per
name for addresses the user never logged in from, and none of it ever holds back an
address the user has logged in from before.  A refused try computes no password hash.
The throttle is in the store, so it holds across a restart.  Repeated failures are one
audit row with a count and a time range, and the Audit page pages through everything.

Times are injected (`now=`): no verdict here depends on the wall clock."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from reports.services import audit, users
from reports.store.accounts import Accounts, now_utc
from reports.store.db import Store
from tests.portal_helpers import PASSWORD, csrf, log_in
from web.app import create_app

T0 = datetime(2030, 1, 1, 9, 0, 0)      # naive UTC, as the store keeps times
WRONG = "not the password at all"


class CountingHasher(PasswordHasher):
    """The test's cheap argon2, counting every hash and verify it computes."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0
        self.hashed = 0

    def verify(self, hash: Any, password: Any) -> bool:
        self.verified += 1
        return super().verify(hash, password)

    def hash(self, password: Any, **kw: Any) -> str:
        self.hashed += 1
        return super().hash(password, **kw)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A store with users admin and hr (no datasets: the throttle needs none)."""
    root = tmp_path / "store"
    with Store(root) as store:
        accounts = Accounts(store)
        users.add_user(accounts, "admin", "admin", PASSWORD, by="setup")
        users.add_user(accounts, "hr", "hr", PASSWORD, by="setup")
    return root


@pytest.fixture(autouse=True)
def still(monkeypatch: Any) -> datetime:
    """The portal's throttle clock held still: the waits never pass by themselves."""
    frozen = now_utc()
    monkeypatch.setattr(users, "clock", lambda: frozen)
    return frozen


@pytest.fixture()
def accounts(root: Path) -> Any:
    with Store(root) as store:
        yield Accounts(store)


def from_address(app: Any, addr: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return client


def attempt(accounts: Accounts, name: str, password: str, addr: str, now: datetime,
            ph: PasswordHasher | None = None) -> users.Login:
    return users.log_in(accounts, name, password, address=addr, now=now, ph=ph)


# -- the portal: nothing is ever locked -------------------------------------------


def test_fifty_failures_from_elsewhere_never_stop_a_known_address(root: Path) -> None:
    app = create_app(root)
    admin_desk = from_address(app, "127.0.0.1")
    assert log_in(admin_desk, "admin").status_code == 302       # a known address from now
    admin_desk.post("/logout", data={"csrf_token": csrf(admin_desk.get("/datasets")
                                                        .get_data(as_text=True))})
    stranger = from_address(app, "127.0.0.2")
    statuses = [log_in(stranger, "admin", WRONG).status_code for _ in range(50)]
    assert statuses[:3] == [401, 401, 401] and set(statuses[3:]) == {429}
    r = log_in(stranger, "admin")                     # even the right password, from there
    assert r.status_code == 429 and "wait" in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) > 0
    r = log_in(admin_desk, "admin")                   # at once, from the known address
    assert r.status_code == 302
    assert admin_desk.get("/users").status_code == 200


def test_spraying_many_names_from_one_address_is_throttled(root: Path,
                                                           monkeypatch: Any) -> None:
    ph = CountingHasher()
    monkeypatch.setattr(users, "hasher", lambda: ph)
    sprayer = from_address(create_app(root), "127.0.0.3")
    statuses = [log_in(sprayer, f"user{i}", "Winter2024!!").status_code for i in range(100)]
    ceiling = users.ADDRESS_CEILING
    assert statuses[:ceiling] == [401] * ceiling
    assert statuses[ceiling:] == [429] * (100 - ceiling)
    assert ph.verified == ceiling                     # the refused 80 were never checked
    page = log_in(sprayer, "user500", "x" * 12).get_data(as_text=True)
    assert "Too many tries from here; wait" in page
    # another address is not held back by this one's failures
    assert log_in(from_address(create_app(root), "127.0.0.4"), "hr").status_code == 302


def test_a_throttled_attempt_computes_no_hash(accounts: Accounts, monkeypatch: Any) -> None:
    monkeypatch.setattr(users, "_DUMMY", {})     # the unknown names' hash: made here, once
    ph = CountingHasher()
    later = T0 + timedelta(seconds=3)            # within the 5 s wait after the 3rd failure
    for i in range(users.FREE_TRIES):
        assert attempt(accounts, "admin", WRONG, "10.0.0.9", T0 + timedelta(seconds=i),
                       ph).refused is None
        assert attempt(accounts, "nobody", WRONG, "10.0.0.9", T0 + timedelta(seconds=i),
                       ph).refused is None
    assert (ph.verified, ph.hashed) == (2 * users.FREE_TRIES, 1)
    for _ in range(20):
        r = attempt(accounts, "admin", PASSWORD, "10.0.0.9", later, ph)
        assert r.refused == "pair" and r.user is None
        assert attempt(accounts, "nobody", WRONG, "10.0.0.9", later, ph).refused == "pair"
    assert (ph.verified, ph.hashed) == (2 * users.FREE_TRIES, 1)   # none for the 40 refused


def test_waits_grow_per_name_and_address_and_end_when_they_pass(accounts: Accounts) -> None:
    addr = "192.0.2.7"
    assert attempt(accounts, "hr", PASSWORD, addr, T0).user is not None   # known address
    now = T0
    waits = []
    for failures in range(1, 13):
        r = attempt(accounts, "hr", WRONG, addr, now)
        assert r.refused is None and r.user is None          # checked, and wrong
        assert r.wait == users.wait_after(failures)
        if r.wait is None:
            now += timedelta(seconds=1)
            continue
        waits.append(int(r.wait.total_seconds()))
        # refused (even the right password) until the wait has passed, then checked
        early = attempt(accounts, "hr", PASSWORD, addr, now + r.wait - timedelta(seconds=1))
        assert early.refused == "pair" and early.user is None
        assert early.wait == timedelta(seconds=1)
        now += r.wait
    assert waits == [5, 10, 20, 40, 80, 160, 320, 640, 900, 900]
    assert attempt(accounts, "hr", PASSWORD, addr, now).user is not None
    # a success from there starts the count again: three free tries
    assert [attempt(accounts, "hr", WRONG, addr, now).wait for _ in range(2)] == [None, None]
    # the other name from the same address was never throttled
    assert attempt(accounts, "admin", PASSWORD, addr, now).user is not None


def test_a_pairs_count_is_forgotten_a_day_after_its_last_failure(accounts: Accounts) -> None:
    for i in range(3):
        attempt(accounts, "hr", WRONG, "192.0.2.8", T0 + timedelta(seconds=i))
    later = T0 + users.FORGET_AFTER + timedelta(seconds=3)
    assert attempt(accounts, "hr", WRONG, "192.0.2.8", later).wait is None   # failure 1


def test_new_addresses_share_a_ceiling_per_name_but_known_ones_do_not(
        accounts: Accounts) -> None:
    assert attempt(accounts, "admin", PASSWORD, "10.1.0.1", T0).user is not None
    for i in range(users.NAME_CEILING):                  # one failure from each of 10
        r = attempt(accounts, "admin", WRONG, f"10.9.0.{i}", T0 + timedelta(seconds=i))
        assert r.refused is None
    r = attempt(accounts, "admin", PASSWORD, "10.9.1.1", T0 + timedelta(seconds=20))
    assert r.refused == "name" and r.user is None
    assert attempt(accounts, "admin", PASSWORD, "10.1.0.1",
                   T0 + timedelta(seconds=20)).user is not None        # known: never held
    # an unknown name is answered as a known one
    for i in range(users.NAME_CEILING):
        attempt(accounts, "ghost", WRONG, f"10.8.0.{i}", T0 + timedelta(seconds=i))
    assert attempt(accounts, "ghost", WRONG, "10.8.1.1", T0 + timedelta(seconds=20)
                   ).refused == "name"
    after = T0 + users.WINDOW + timedelta(seconds=1)
    assert attempt(accounts, "admin", PASSWORD, "10.9.1.1", after).user is not None


def test_the_throttle_survives_a_restart(root: Path) -> None:
    first = from_address(create_app(root), "198.51.100.1")
    for _ in range(users.FREE_TRIES):
        assert log_in(first, "hr", WRONG).status_code == 401
    restarted = from_address(create_app(root), "198.51.100.1")   # a new process's app
    assert log_in(restarted, "hr").status_code == 429
    assert log_in(from_address(create_app(root), "198.51.100.2"), "hr").status_code == 302
    with Store(root) as store:                       # and for the library, on new Accounts
        state = Accounts(store).throttle_state("hr", "198.51.100.1")
    assert state.pair_failures == users.FREE_TRIES and state.wait_until is not None


def test_a_new_password_clears_the_names_throttle(accounts: Accounts) -> None:
    for i in range(users.NAME_CEILING):
        attempt(accounts, "hr", WRONG, f"10.7.0.{i}", T0 + timedelta(seconds=i))
    assert attempt(accounts, "hr", PASSWORD, "10.7.0.0", T0 + timedelta(seconds=10)).refused
    users.change_password(accounts, "hr", "a fresh passphrase 9", by="test")
    r = attempt(accounts, "hr", "a fresh passphrase 9", "10.7.0.0", T0 + timedelta(seconds=11))
    assert r.user is not None


def test_removing_a_user_forgets_their_known_addresses(accounts: Accounts) -> None:
    assert attempt(accounts, "hr", PASSWORD, "10.6.0.1", T0).user is not None
    assert accounts.known_address("hr", "10.6.0.1")
    users.remove_user(accounts, "hr", by="test")
    assert not accounts.known_address("hr", "10.6.0.1")


# -- the audit log ----------------------------------------------------------------


def test_fifty_failures_from_one_address_are_one_audit_row(accounts: Accounts) -> None:
    before = len(accounts.audit())
    for i in range(50):
        audit.record_repeated(accounts, "admin", "login-failed", "wrong name or password",
                              "203.0.113.5", now=T0 + timedelta(seconds=10 * i))
    rows = accounts.audit()
    assert len(rows) == before + 1
    row = rows[0]
    assert (row.who, row.action, row.address, row.count) == ("admin", "login-failed",
                                                              "203.0.113.5", 50)
    assert row.at == T0 and row.last_at == T0 + timedelta(seconds=490)
    # past the collapsing window a new row starts; another address has its own
    audit.record_repeated(accounts, "admin", "login-failed", "wrong name or password",
                          "203.0.113.5", now=T0 + audit.COLLAPSE_WITHIN + timedelta(seconds=1))
    audit.record_repeated(accounts, "admin", "login-failed", "wrong name or password",
                          "203.0.113.6", now=T0 + timedelta(seconds=500))
    assert [r.count for r in accounts.audit(2)] == [1, 1]
    csv_text = audit.audit_csv(accounts.audit())
    assert ("2030-01-01 09:00:00Z,admin,login-failed,wrong name or password,203.0.113.5,50,"
            "2030-01-01 09:08:10Z") in csv_text


def test_a_login_flood_is_two_rows_and_real_events_stay_on_page_one(root: Path) -> None:
    app = create_app(root)
    admin = from_address(app, "127.0.0.1")
    assert log_in(admin, "admin").status_code == 302
    token = csrf(admin.get("/users").get_data(as_text=True))
    assert admin.post("/users", data={"csrf_token": token, "name": "rep9", "role": "union",
                                      "password": "kx7#Lm2qPz9w"}).status_code == 302
    flood = from_address(app, "127.0.0.2")
    for _ in range(300):
        log_in(flood, "admin", WRONG)
    with sqlite3.connect(root / "impact.db") as db:
        rows = db.execute("SELECT action, count, at, last_at FROM portal_audit "
                          "WHERE address = '127.0.0.2' ORDER BY id").fetchall()
    assert [(a, c) for a, c, _, _ in rows] == [("login-failed", 3), ("login-refused", 297)]
    assert all(last is not None and last >= at for _, _, at, last in rows)
    page = admin.get("/audit").get_data(as_text=True)
    assert "added user &#39;rep9&#39; with role union" in page
    assert "<td>297</td>" in page and "Page 1 of 1" in page
    csv_text = admin.get("/audit.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "when (UTC),who,action,what,address,count,last (UTC)"
    assert ",127.0.0.2,297," in csv_text


def test_the_audit_page_pages_through_everything(root: Path) -> None:
    with Store(root) as store:
        accounts = Accounts(store)
        for i in range(250):
            accounts.log("setup", "note", f"event number {i:03d}", "test")
    admin = from_address(create_app(root), "127.0.0.1")
    assert log_in(admin, "admin").status_code == 302
    first = admin.get("/audit").get_data(as_text=True)
    total = 2 + 250 + 1                  # two user-adds, the notes, the login
    assert f"Page 1 of 3 ({total} entries)" in first
    assert "event number 249" in first and "event number 100" not in first
    assert 'href="/audit?page=2"' in first and "Newer entries" not in first
    second = admin.get("/audit?page=2").get_data(as_text=True)
    assert "Page 2 of 3" in second and "Entries 101 to 200" in second
    assert "event number 150" in second and "event number 249" not in second
    assert 'href="/audit?page=1"' in second and 'href="/audit?page=3"' in second
    third = admin.get("/audit?page=3").get_data(as_text=True)
    assert "added user &#39;admin&#39;" in third and "Older entries" not in third
    assert admin.get("/audit?page=4").status_code == 404
    assert admin.get("/audit?page=x").status_code == 200          # page 1


def test_an_older_stores_audit_table_gains_the_new_columns(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Store(root):
        pass
    with sqlite3.connect(root / "impact.db") as db:       # the table as impact made it before
        db.execute("CREATE TABLE portal_audit (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, "
                   "who VARCHAR(100) NOT NULL, action VARCHAR(40) NOT NULL, what TEXT NOT "
                   "NULL, address VARCHAR(64) NOT NULL)")
        db.execute("INSERT INTO portal_audit (at, who, action, what, address) VALUES "
                   "('2024-01-01 10:00:00.000000', 'old', 'login', 'logged in as hr', 'x')")
    with Store(root) as store:
        accounts = Accounts(store)
        (old,) = accounts.audit()
        assert (old.who, old.count, old.last_at) == ("old", 1, None)
        for i in range(3):
            audit.record_repeated(accounts, "a", "login-failed", "wrong", "y",
                                  now=T0 + timedelta(seconds=i))
        assert [(e.who, e.count) for e in accounts.audit()] == [("a", 3), ("old", 1)]
    with Store(root) as store:                 # opening again changes nothing
        assert len(Accounts(store).audit()) == 2


def test_an_older_postgresql_audit_table_gains_the_new_columns(tmp_path: Path,
                                                               pg_url: str) -> None:
    from sqlalchemy import create_engine, text

    root = tmp_path / "store"
    with Store(root, url=pg_url):
        pass
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE portal_audit (id SERIAL PRIMARY KEY, at TIMESTAMP "
                              "NOT NULL, who VARCHAR(100) NOT NULL, action VARCHAR(40) NOT "
                              "NULL, what TEXT NOT NULL, address VARCHAR(64) NOT NULL)"))
            conn.execute(text("INSERT INTO portal_audit (at, who, action, what, address) "
                              "VALUES ('2024-01-01 10:00:00', 'old', 'login', 'in', 'x')"))
    finally:
        engine.dispose()
    with Store(root, url=pg_url) as store:
        accounts = Accounts(store)
        for i in range(3):
            audit.record_repeated(accounts, "a", "login-failed", "wrong", "y",
                                  now=T0 + timedelta(seconds=i))
        assert [(e.who, e.count, e.last_at) for e in accounts.audit()] == [
            ("a", 3, T0 + timedelta(seconds=2)), ("old", 1, None)]
        # the throttle's increments, on PostgreSQL
        for i in range(4):
            attempt(accounts, "hr", WRONG, "10.5.0.1", T0 + timedelta(seconds=10 * i))
        state = accounts.throttle_state("hr", "10.5.0.1")
        assert (state.pair_failures, state.address_failures, state.name_failures) == (4, 4, 4)
        assert state.wait_until == T0 + timedelta(seconds=30 + 10)
