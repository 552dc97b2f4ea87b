"""Two portal servers, one PostgreSQL store: two real `impact serve` processes (waitress)
on two free loopback ports, each with its own, at first empty, local folder, sharing one
throwaway PostgreSQL database (tests/pg.py; under CI a server that cannot start fails
the test).  The database holds everything shared (the originals, the built outputs,
the session key, the throttle, the sessions, the ledger); each folder is a cache.

Nothing here waits a fixed time: builds are awaited by polling their jobs' state in the
database (or a download's "being prepared" answer), with a generous bound."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reports.services import builds, users
from reports.store.accounts import Accounts
from reports.store.db import Store, Version
from reports.store.jobs import DONE, FAILED, Jobs
from reports.store.ledger import Ledger
from tests.pg import PgServer
from tests.portal_helpers import DATA, PASSWORD, csrf
from tests.server_helpers import Client, serving

ROOT = Path(__file__).resolve().parents[1]
DATASET = "Derbyshire early help"
OTHER = "Co-op working"
UNION_OUTPUTS = sorted(n for n, o in builds.CATALOGUE.items()
                       if users.may("union", o.permission) and not n.startswith("changes-"))
BUILD_LIMIT_S = 900          # a bound on waiting for builds, never a timing verdict


@dataclass
class Shared:
    url: str
    setup: Path              # a third folder, for this test's own look at the store
    a: Path                  # server A's folder
    b: Path                  # server B's folder
    port_a: int
    port_b: int

    def store(self) -> Store:
        return Store(self.setup, url=self.url, create=False, lock=None)

    def client(self, port: int) -> Client:
        return Client(port)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.pop("IMPACT_DB", None)
    exe = Path(sys.executable).with_name("impact")
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def _attempt(client: Client, name: str, password: str) -> tuple[int, bytes]:
    """One login try: its final status (200 after the redirect in, 401 refused, 429
    throttled) and page."""
    _, _, page = client.get("/login")
    body = urllib.parse.urlencode({"name": name, "password": password,
                                   "csrf_token": csrf(page.decode())}).encode()
    status, _, got = client.request("/login", body)
    return status, got


def _is_login_page(body: bytes) -> bool:
    """The login form (where a request without a valid session is sent)."""
    return b'autocomplete="current-password"' in body


def _post_form(client: Client, page_path: str, action: str) -> int:
    """POST the form of `page_path` (its CSRF token) to `action`; the final status."""
    _, _, page = client.get(page_path)
    body = urllib.parse.urlencode({"csrf_token": csrf(page.decode())}).encode()
    status, _, _ = client.request(action, body)
    return status


def _wait_built(store: Store, version: Version) -> dict[str, Any]:
    """Every job of `version`, once none is queued or running (polled in the database)."""
    deadline = time.monotonic() + BUILD_LIMIT_S
    while True:
        jobs = Jobs(store).of_version(version.dataset, version.number, version.sha256)
        if jobs and all(j.state in (DONE, FAILED) for j in jobs.values()):
            return jobs
        assert time.monotonic() < deadline, {n: j.state for n, j in jobs.items()}
        time.sleep(0.5)


@pytest.fixture(scope="module")
def shared(pg_server: PgServer, tmp_path_factory: Any) -> Iterator[Shared]:
    """Servers A (one background builder) and B (none: a download it cannot find in the
    database builds in its own thread) on one new database, with users made through a
    third folder; A's and B's folders are new and empty."""
    name, url = pg_server.new_database()
    base = tmp_path_factory.mktemp("multi")
    setup, a, b = base / "setup", base / "a", base / "b"
    with Store(setup, url=url) as store:
        accounts = Accounts(store)
        for user, role in (("hr", "hr"), ("union", "union"), ("admin", "admin"),
                           ("leaver", "union"), ("throttled", "hr")):
            users.add_user(accounts, user, role, PASSWORD, by="setup")
    a.mkdir()
    b.mkdir()
    try:
        with serving(a, "--db", url, "--build-workers", "1") as port_a, \
                serving(b, "--db", url, "--build-workers", "0") as port_b:
            yield Shared(url, setup, a, b, port_a, port_b)
    finally:
        pg_server.drop_database(name)


@pytest.fixture(scope="module")
def uploaded(shared: Shared) -> tuple[Version, dict[str, Any]]:
    """HR uploads the Derbyshire sample on server A, through the upload form; every
    output of the version is then built by A's builder (awaited in the database)."""
    hr = shared.client(shared.port_a)
    hr.log_in("hr")
    status, page = hr.upload(b"derbyshire.xlsx",
                             (DATA / "derbyshire_early_help.xlsx").read_bytes(), DATASET)
    assert status == 200, page
    assert "132.5 of 221.5 FTE (59.8%) proposed for deletion" in page    # data/README.md
    with shared.store() as store:
        version = store.version(DATASET, 1)
        jobs = _wait_built(store, version)
    assert {j.state for j in jobs.values()} == {DONE}, {n: j.error for n, j in jobs.items()}
    return version, jobs


def test_server_b_serves_what_server_a_built_as_the_cli_makes_it(
        shared: Shared, uploaded: tuple[Version, dict[str, Any]], tmp_path: Path) -> None:
    version, jobs = uploaded
    assert not (shared.b / "outputs").exists()        # B has built nothing itself
    union = shared.client(shared.port_b)
    union.log_in("union")
    got = {}
    for name in UNION_OUTPUTS:
        status, _, body = union.get(f"/datasets/{version.slug}/v1/{name}")
        assert status == 200, (name, status, body[:300])
        got[name] = body
    with shared.store() as store:
        after = Jobs(store).of_version(version.dataset, version.number, version.sha256)
    assert after == jobs                    # no build was queued again or run by B
    for name, body in got.items():          # A's bytes, now in B's cache too
        assert (builds.folder_of(shared.a, version) / name).read_bytes() == body, name
        assert (builds.folder_of(shared.b, version) / name).read_bytes() == body, name
    # the briefings are the CLI's, as `impact brief --reproducible` makes them from the
    # same store (through a folder of its own)
    for audience in ("union", "public"):
        for name, extra in ((f"briefing-{audience}.pdf", []),
                            (f"briefing-{audience}.docx", ["--format", "docx"]),
                            (f"briefing-{audience}.html", ["--format", "html"]),
                            (f"briefing-{audience}-tagged.pdf", ["--accessible"])):
            if name not in got:
                continue
            out = tmp_path / name
            r = _cli("brief", "--dataset", DATASET, "--version", "1", "--audience", audience,
                     "--reproducible", "-o", str(out), "--store", str(shared.setup),
                     "--db", shared.url, *extra)
            assert r.returncode == 0, r.stderr
            assert out.read_bytes() == got[name], name
    # the public summary's figures are the CLI's
    import openpyxl

    out = tmp_path / "summary-public.xlsx"
    r = _cli("summary", "--dataset", DATASET, "--version", "1", "--audience", "public",
             "--format", "xlsx", "-o", str(out), "--store", str(shared.setup),
             "--db", shared.url)
    assert r.returncode == 0, r.stderr
    served = tmp_path / "served.xlsx"
    served.write_bytes(got["summary-public.xlsx"])

    def cells(path: Path) -> list[list[Any]]:
        book = openpyxl.load_workbook(path, read_only=True)
        return [[list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets]

    assert cells(served) == cells(out)


def test_deleting_a_servers_folder_loses_nothing(
        shared: Shared, uploaded: tuple[Version, dict[str, Any]]) -> None:
    version, _ = uploaded
    union = shared.client(shared.port_b)
    union.log_in("union")
    first = {}
    for name in ("briefing-union.pdf", "summary-public.xlsx"):
        status, _, first[name] = union.get(f"/datasets/{version.slug}/v1/{name}")
        assert status == 200
    for child in shared.b.iterdir():            # the cache emptied under the running server
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    for name, body in first.items():
        status, _, again = union.get(f"/datasets/{version.slug}/v1/{name}")
        assert status == 200 and again == body, name
        assert (builds.folder_of(shared.b, version) / name).read_bytes() == body
    with shared.store() as store:            # from the database: nothing was built again
        jobs = Jobs(store).of_version(version.dataset, version.number, version.sha256)
    assert jobs == uploaded[1]
    # the stored original too: a command reading it through B's emptied folder refills it
    r = _cli("summary", "--dataset", DATASET, "--version", "1", "--format", "json",
             "--store", str(shared.b), "--db", shared.url)
    assert r.returncode == 0, r.stderr
    assert '"baseline_fte": "221.5"' in r.stdout or '"baseline_fte": 221.5' in r.stdout
    cached = shared.b / "files" / version.stored_name
    assert cached.is_file()
    import hashlib

    assert hashlib.sha256(cached.read_bytes()).hexdigest() == version.sha256
    assert (shared.b / "store-id").read_text() == (shared.setup / "store-id").read_text()


def test_a_login_throttled_on_a_is_throttled_on_b(shared: Shared) -> None:
    on_a = shared.client(shared.port_a)
    for _ in range(users.FREE_TRIES):
        status, _ = _attempt(on_a, "throttled", "not the password at all")
        assert status == 401
    # B refuses even the right password: refused before any password is checked
    status, page = _attempt(shared.client(shared.port_b), "throttled", PASSWORD)
    assert status == 429 and b"wait" in page


def test_a_session_is_every_servers_and_ends_on_every_server(shared: Shared) -> None:
    admin_a = shared.client(shared.port_a)
    admin_a.log_in("admin")
    admin_b = shared.client(shared.port_b)
    admin_b.jar, admin_b.opener = admin_a.jar, admin_a.opener   # the same browser
    status, _, page = admin_b.get("/users")        # B accepts the session A issued
    assert status == 200 and not _is_login_page(page) and b"leaver" in page
    leaver = shared.client(shared.port_b)
    leaver.log_in("leaver")
    status, _, page = leaver.get("/datasets")
    assert status == 200 and not _is_login_page(page)
    # the admin removes the user on A: the session on B ends at once
    assert _post_form(admin_a, "/users/leaver/remove", "/users/leaver/remove") == 200
    status, _, page = leaver.get("/datasets")
    assert _is_login_page(page)
    # logging out on B ends the session on A
    assert _post_form(admin_b, "/users", "/logout") == 200
    _, _, page = admin_a.get("/users")
    assert _is_login_page(page)


def test_the_ledger_sees_releases_from_both_servers(
        shared: Shared, uploaded: tuple[Version, dict[str, Any]]) -> None:
    version, _ = uploaded
    on_b = shared.client(shared.port_b)
    on_b.log_in("union")
    status, _, _ = on_b.get_built(f"/datasets/{version.slug}/v1/summary-public.xlsx")
    assert status == 200
    hr_b = shared.client(shared.port_b)                  # a second dataset, uploaded on B
    hr_b.log_in("hr")
    status, page = hr_b.upload(b"coop.csv", (DATA / "coop_working.csv").read_bytes(), OTHER)
    assert status == 200, page
    slug = re.search(r'/datasets/([^/"]+)"', page)
    with shared.store() as store:
        other = store.version(OTHER, 1)
    assert slug is None or slug.group(1) == other.slug
    on_a = shared.client(shared.port_a)
    on_a.log_in("union")
    status, _, _ = on_a.get_built(f"/datasets/{other.slug}/v1/summary-public.xlsx",
                                  BUILD_LIMIT_S)
    assert status == 200
    with shared.store() as store:
        ledger = Ledger.of_store(store)
        try:
            released = {d: {e.output for e in ledger.entries(d)} for d in (DATASET, OTHER)}
        finally:
            ledger.close()
    assert "summary-public.xlsx" in released[DATASET], released
    assert "summary-public.xlsx" in released[OTHER], released
