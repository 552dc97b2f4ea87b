"""The portal on a PostgreSQL store (--db): its own tables (users, sessions, the login
throttle, audit log) live in the same database as the store's, and the pages, downloads
and the throttle work as on SQLite.  Uses the throwaway PostgreSQL 15 server of
tests/pg.py (under CI a server that cannot start fails the test)."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import create_engine, text

from reports.services import users
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests.portal_helpers import DATA, PASSWORD, csrf, log_in
from web.app import create_app


def test_the_portal_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    root = tmp_path / "store"
    with Store(root, url=pg_url) as store:
        accounts = Accounts(store)
        for role in ("hr", "union"):
            users.add_user(accounts, role, role, PASSWORD, by="setup")
    assert not (root / "impact.db").exists()          # nothing went to SQLite
    hr = create_app(root, db=pg_url).test_client()
    assert log_in(hr, "hr").status_code == 302
    token = csrf(hr.get("/upload").get_data(as_text=True))
    r = hr.post("/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "new_dataset": "Derbyshire", "as_of": "2024-03-01",
        "file": (io.BytesIO((DATA / "derbyshire_early_help.xlsx").read_bytes()), "d.xlsx")})
    assert r.status_code == 200, r.get_data(as_text=True)
    # data/README.md: 132.5 of 221.5 FTE deleted
    assert "132.5 of 221.5 FTE (59.8%) proposed for deletion" in r.get_data(as_text=True)
    union = create_app(root, db=pg_url).test_client()
    assert log_in(union, "union").status_code == 302
    page = union.get("/datasets/derbyshire").get_data(as_text=True)
    assert "132.5 of 221.5 FTE" in page and "management.pdf" not in page
    pdf = union.get("/datasets/derbyshire/briefing/union.pdf")
    assert pdf.status_code == 200
    assert "132.5" in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert union.get("/datasets/derbyshire/briefing/management.pdf").status_code == 403
    # three failures make this name wait at this address, in the database, for every
    # server process; the failures are one audit row with their count
    other = create_app(root, db=pg_url).test_client()
    for _ in range(3):
        assert log_in(other, "union", "not the password").status_code == 401
    assert log_in(create_app(root, db=pg_url).test_client(), "union").status_code == 429
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            actions = [r[0] for r in conn.execute(text(
                "SELECT action FROM portal_audit ORDER BY id"))]
            failed = conn.execute(text("SELECT count FROM portal_audit "
                                       "WHERE action = 'login-failed'")).scalar()
            pair = conn.execute(text("SELECT failures, wait_until FROM portal_throttle_pairs "
                                     "WHERE name = 'union'")).one()
    finally:
        engine.dispose()
    assert pair[0] == 3 and pair[1] is not None
    assert actions[:3] == ["user-add", "user-add", "login"]
    assert "upload" in actions and "download" in actions
    assert actions.count("login-failed") == 1 and failed == 3
    assert actions[-1] == "login-refused"
