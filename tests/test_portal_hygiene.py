"""Every response looks like the site (issue point 4): the portal's own limits on a
request, file names (too long, not UTF-8), names and text that could mislead (bidi
controls, control characters), datasets named outside ASCII, and going back to an
earlier file.  Through Flask's test client and the CLI; tests/test_portal_server.py
does the same through a real `impact serve`."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from reports.model.errors import UsageProblem
from reports.render import data as render_data
from reports.services import datasets, users
from reports.store.accounts import Accounts
from reports.store.db import Store
from reports.store.paths import check_name, fit_name
from tests.conftest import make_csv
from tests.portal_helpers import DATA, PASSWORD, csrf, log_in, write_rows
from tests.store_helpers import invoke
from web.app import create_app
from web.security import HEADERS

HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status"]


@pytest.fixture()
def store_dir(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    with Store(root) as store:
        accounts = Accounts(store)
        for name in ("hr", "union", "admin"):
            users.add_user(accounts, name, name, PASSWORD, by="setup")
    return root


def client_for(store_dir: Path, who: str) -> Any:
    client = create_app(store_dir).test_client()
    assert log_in(client, who).status_code == 302
    return client


def upload(client: Any, path: Path | tuple[bytes, str], dataset: str = "",
           existing: str = "") -> Any:
    token = csrf(client.get("/upload").get_data(as_text=True))
    file = (io.BytesIO(path.read_bytes()), path.name) if isinstance(path, Path) else \
        (io.BytesIO(path[0]), path[1])
    return client.post("/upload", data={"csrf_token": token, "new_dataset": dataset,
                                        "dataset": existing, "as_of": "2024-03-01",
                                        "note": "", "file": file},
                       content_type="multipart/form-data")


def assert_site_page(r: Any, status: int, title: str) -> str:
    page = r.get_data(as_text=True)
    assert r.status_code == status, page[:600]
    assert '<link rel="stylesheet" href="/static/portal.css">' in page
    assert f"<h1>{title}</h1>" in page
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, name
    return page


class Untouchable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        raise AssertionError("the body was read")


# -- 1. the portal's own limits, before the body is read -----------------------------


@pytest.mark.parametrize("length", ["abc", "-1", "1.5", "0x10"])
def test_a_bad_content_length_is_a_styled_400_and_the_body_is_not_read(
        store_dir: Path, length: str) -> None:
    client = client_for(store_dir, "hr")
    r = client.post("/upload", environ_overrides={
        "wsgi.input": Untouchable(), "CONTENT_LENGTH": length,
        "CONTENT_TYPE": "multipart/form-data; boundary=xyz"})
    page = assert_site_page(r, 400, "Bad request")
    assert "Content-Length" in page and "not a whole number of bytes" in page


def test_a_content_length_over_the_limit_is_a_styled_413_before_csrf(store_dir: Path) -> None:
    client = client_for(store_dir, "hr")
    # no CSRF token at all: the size is judged first, so the answer is 413, not 400
    r = client.post("/upload", environ_overrides={
        "wsgi.input": Untouchable(), "CONTENT_LENGTH": str(20 * 1024 * 1024 + 1),
        "CONTENT_TYPE": "multipart/form-data; boundary=xyz"})
    assert "20 MB" in assert_site_page(r, 413, "File too large")


def test_headers_over_the_limit_are_a_styled_431(store_dir: Path) -> None:
    client = create_app(store_dir).test_client()
    r = client.get("/login", headers={"X-Padding": "x" * (33 * 1024)})
    assert "32 KB" in assert_site_page(r, 431, "Request headers too large")
    assert client.get("/login", headers={"X-Padding": "x" * 1024}).status_code == 200


# -- 2. file names ----------------------------------------------------------------------


def test_fit_name_keeps_the_extension_within_255_bytes() -> None:
    name = "é" * 200 + ".xlsx"                           # 405 bytes
    short = fit_name(name)
    assert len(short.encode("utf-8")) <= 255 and short.endswith("….xlsx")
    assert short.startswith("é" * 100)
    assert fit_name("posts.csv") == "posts.csv"
    assert len(fit_name("x" * 600 + ".csv", 500, chars=True)) == 500


def test_a_file_name_over_255_bytes_is_stored_shortened_and_shown_whole(
        store_dir: Path, tmp_path: Path) -> None:
    good = (DATA / "coop_working.csv").read_bytes()
    long_name = "Équipe " + "proposition très détaillée " * 12 + ".csv"
    assert len(long_name.encode("utf-8")) > 255
    client = client_for(store_dir, "hr")
    r = upload(client, (good, long_name), "Co-op")
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page[:2000]
    assert f"File: {long_name}" in page
    with Store(store_dir) as store:
        v = store.version("Co-op")
    assert v.original_name == long_name
    slug = v.slug
    history = client.get(f"/datasets/{slug}").get_data(as_text=True)
    assert long_name in history
    out = invoke("history", "Co-op", "--store", store_dir)
    assert long_name in out.stdout


def test_a_file_name_that_is_not_utf8_is_named_as_the_problem(store_dir: Path) -> None:
    client = client_for(store_dir, "hr")
    token = csrf(client.get("/upload").get_data(as_text=True))
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"new_dataset\""
            f"\r\n\r\nLatin\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"").encode() + "Équipe.csv".encode("latin-1") + (
        f"\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n\r\n--{boundary}--\r\n").encode()
    r = client.post("/upload", data=body,
                    content_type=f"multipart/form-data; boundary={boundary}")
    page = assert_site_page(r, 400, "The file name cannot be read")
    assert "not valid UTF-8" in page
    assert "expired" not in page


# -- 3. names and cell text -------------------------------------------------------------


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                  "\u2066", "\u2067", "\u2068", "\u2069"])
def test_a_bidi_control_in_a_dataset_name_is_refused(char: str) -> None:
    with pytest.raises(UsageProblem, match="bidirectional control character"):
        check_name(f"Team {char}A")
    assert check_name("Team \u05d0") == "Team \u05d0"     # right-to-left letters are fine


def test_a_bidi_name_is_refused_by_the_cli_and_the_portal(store_dir: Path) -> None:
    name = "Pay\u202eroll"
    out = invoke("upload", DATA / "coop_working.csv", "--dataset", name, "--as-of",
                 "2024-03-01", "--store", store_dir)
    assert out.exit_code != 0 and "bidirectional control character (U+202E)" in out.stderr
    r = upload(client_for(store_dir, "hr"), DATA / "coop_working.csv", name)
    assert r.status_code == 400
    assert "bidirectional control character (U+202E)" in r.get_data(as_text=True)
    with Store(store_dir) as store:
        assert store.datasets() == []


def test_control_characters_are_shown_escaped_on_pages_and_in_csv(
        store_dir: Path, tmp_path: Path) -> None:
    bad = "Ops\x1b[31m"
    rows = [["P1", bad, "Clerk", "G4", 1, 1, "Deleted"],
            ["P2", "Ops", "Officer", "G5", 1, 1, "Retained"]]
    first = make_csv(tmp_path, [HEADER, *rows], name="one.csv")
    second = make_csv(tmp_path, [HEADER, rows[0], ["P2", "Ops", "Officer", "G5", 1, 1,
                                                   "Deleted"]], name="two.csv")
    with Store(store_dir) as store:
        for path in (first, second):
            r = datasets.upload(store, path, "Ctl", as_of=date(2024, 3, 1), by="x\x07y")
            assert r.version is not None, r.report.to_dict()
        slug = r.version.slug
    client = client_for(store_dir, "admin")
    page = client.get(f"/datasets/{slug}").get_data(as_text=True)
    assert "\x1b" not in page and "\x07" not in page
    assert "Ops\\x1b[31m" in page and "x\\x07y" in page
    changes = client.get(f"/datasets/{slug}/changes/full.csv").get_data(as_text=True)
    assert "\x1b" not in changes and "Ops\\x1b[31m" in changes
    assert render_data.csv_text("=1\x1b") == "'=1\\x1b"
    assert render_data.csv_text("\tx") == "\\x09x"


def test_the_audit_csv_shows_control_characters_escaped(store_dir: Path) -> None:
    with Store(store_dir) as store:
        Accounts(store).log("x\x1by", "upload", "what\x00ever", "127.0.0.1")
    body = client_for(store_dir, "admin").get("/audit.csv").get_data(as_text=True)
    assert "x\\x1by" in body and "what\\x00ever" in body
    assert "\x1b" not in body and "\x00" not in body


# -- 4. names outside ASCII ----------------------------------------------------------


def test_equipe_sud_uploads_opens_and_downloads(store_dir: Path) -> None:
    client = client_for(store_dir, "hr")
    r = upload(client, DATA / "coop_working.xlsx", "Équipe Sud")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    with Store(store_dir) as store:
        slug = store.slug("Équipe Sud")
    assert slug == "équipe-sud"
    link = 'href="/datasets/%C3%A9quipe-sud"'
    assert link in r.get_data(as_text=True)
    listing = client.get("/datasets").get_data(as_text=True)
    assert link in listing
    page = client.get("/datasets/%C3%A9quipe-sud")
    assert page.status_code == 200 and "<h1>Équipe Sud</h1>" in page.get_data(as_text=True)
    # the same slug decomposed (NFD: e + combining acute), as some browsers send it
    assert client.get("/datasets/e%CC%81quipe-sud").status_code == 200
    summary = client.get("/datasets/%C3%A9quipe-sud/summary/full.xlsx")
    assert summary.status_code == 200 and summary.data[:2] == b"PK"
    assert "quipe-sud-v1-summary-full.xlsx" in summary.headers["Content-Disposition"]
    union = client_for(store_dir, "union")
    pdf = union.get("/datasets/%C3%A9quipe-sud/briefing/union.pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    for bad in ("/datasets/%C3%A9quipe.sud", "/datasets/..%2F", "/datasets/%C3%A9quipe_sud"):
        assert client.get(bad).status_code == 404


# -- 7. going back to an earlier file ---------------------------------------------------


def _csv_versions(tmp_path: Path) -> tuple[Path, Path]:
    a = write_rows(tmp_path / "a.xlsx", HEADER, [["P1", "A", "Clerk", "G4", 1, 1, "Deleted"],
                                                 ["P2", "A", "Officer", "G5", 1, 1, "Retained"]])
    b = write_rows(tmp_path / "b.xlsx", HEADER, [["P1", "A", "Clerk", "G4", 1, 1, "Retained"],
                                                 ["P2", "A", "Officer", "G5", 1, 1, "Retained"]])
    return a, b


def test_the_cli_goes_back_to_an_earlier_file_as_a_new_version(store_dir: Path,
                                                                tmp_path: Path) -> None:
    a, b = _csv_versions(tmp_path)

    def up(path: Path) -> Any:
        return invoke("upload", path, "--dataset", "Back", "--as-of", "2024-03-01",
                      "--store", store_dir)

    assert up(a).exit_code == 0 and up(b).exit_code == 0
    again = up(a)
    assert again.exit_code == 0, again.stderr
    assert "as version 3 of 'Back'" in again.stdout
    assert "It is the same file as version 1 (the same bytes)" in again.stdout
    same = up(a)                                      # identical to the latest: nothing
    assert "is already stored as version 3" in same.stdout
    assert "no new version was made" in same.stdout
    with Store(store_dir) as store:
        versions = store.versions("Back")
    assert [v.number for v in versions] == [1, 2, 3]
    assert versions[0].sha256 == versions[2].sha256 != versions[1].sha256
    history = invoke("history", "Back", "--store", store_dir).stdout
    assert "The same file as version 1." in history
    items = json.loads(invoke("history", "Back", "--format", "json", "--store",
                              store_dir).stdout)
    assert [i["same_as"] for i in items] == [None, None, 1]
    assert items[2]["changes"]["since"] == 2


def test_the_portal_goes_back_to_an_earlier_file_as_a_new_version(store_dir: Path,
                                                                   tmp_path: Path) -> None:
    a, b = _csv_versions(tmp_path)
    client = client_for(store_dir, "hr")
    assert upload(client, a, "Back").status_code == 200
    assert upload(client, b, existing="Back").status_code == 200
    r = upload(client, a, existing="Back")
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page[:2000]
    assert "This file is the same as version 1" in page and "as version 3" in page
    r = upload(client, a, existing="Back")
    assert "no new version was made" in r.get_data(as_text=True)
    with Store(store_dir) as store:
        assert [v.number for v in store.versions("Back")] == [1, 2, 3]
        slug = store.slug("Back")
    history = client.get(f"/datasets/{slug}").get_data(as_text=True)
    assert "(the same file as version 1)" in history


def test_a_schema_2_store_is_migrated_and_keeps_its_versions(store_dir: Path,
                                                             tmp_path: Path) -> None:
    import sqlite3

    a, b = _csv_versions(tmp_path)
    with Store(store_dir) as store:
        for path in (a, b):
            datasets.upload(store, path, "Old", as_of=date(2024, 3, 1), by="x")
    db = sqlite3.connect(store_dir / "impact.db")
    db.isolation_level = None
    # the versions table as schema 2 made it: the file unique within a dataset
    made = db.execute("SELECT sql FROM sqlite_master WHERE name = 'versions'").fetchone()[0]
    assert "uq_version_file" not in made
    old = made.rstrip().removesuffix(")") + \
        ", CONSTRAINT uq_version_file UNIQUE (dataset_id, sha256))"
    db.execute("BEGIN")
    db.execute("ALTER TABLE versions RENAME TO versions_now")
    db.execute("DROP INDEX ix_versions_as_of")
    db.execute("DROP INDEX ix_versions_file")
    db.execute(old)
    db.execute("CREATE INDEX ix_versions_as_of ON versions (dataset_id, as_of)")
    db.execute("INSERT INTO versions SELECT * FROM versions_now")
    db.execute("DROP TABLE versions_now")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    db.execute("COMMIT")
    with pytest.raises(sqlite3.IntegrityError):      # the schema-2 constraint holds
        db.execute("INSERT INTO versions SELECT NULL, dataset_id, 9, as_of, uploaded_at, "
                   "uploaded_by, note, sha256, original_name, stored_name, size, sheets, "
                   "rows, totals, read_options FROM versions WHERE number = 1")
    db.close()
    with Store(store_dir) as store:
        assert store.schema == "3"
        assert [v.number for v in store.versions("Old")] == [1, 2]
        r = datasets.upload(store, a, "Old", as_of=date(2024, 3, 1), by="x")
        assert r.created and r.version is not None and r.version.number == 3
        assert r.same_as == 1



# -- 6. a file with thousands of findings ---------------------------------------------


def test_thousands_of_findings_make_a_small_page_and_a_full_csv(store_dir: Path,
                                                                tmp_path: Path) -> None:
    from reports import intake

    n = 4000
    rows = [[f"P{i}", "Ops", "Clerk", "G4", "lots", 1, "Deleted"] for i in range(n)]
    path = make_csv(tmp_path, [HEADER, *rows], name="many.csv")
    every = intake.check(path)
    assert len(every.findings.errors) >= n
    wanted = every.findings.errors + every.findings.warnings
    client = client_for(store_dir, "hr")
    r = upload(client, path, "Many")
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert len(r.data) < 500_000, len(r.data)
    assert page.count('<tr class="error">') <= 200 + 10        # the first 200, the kinds
    assert f"The first 200 of {len(wanted)} problems" in page
    kinds = page.split("<caption>Problems found, by kind</caption>", 1)[1].split("</table>")[0]
    fte = [f for f in wanted if f.code == wanted[0].code]
    assert f"<th scope=\"row\">{wanted[0].code}</th>" in kinds and f"<td>{len(fte)}</td>" in kinds
    link = page.split('href="/upload/', 1)[1].split('"', 1)[0]
    assert link.endswith("/findings.csv")
    got = client.get("/upload/" + link)
    assert got.status_code == 200 and got.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(got.get_data(as_text=True))))
    assert len(table) == len(wanted)
    assert [(t["code"], t["cell"]) for t in table] == [(f.code, f.cell or "") for f in wanted]
    # another user cannot fetch it
    assert client_for(store_dir, "admin").get("/upload/" + link).status_code == 404
    with Store(store_dir) as store:
        assert store.datasets() == []


# -- 5. the store is owner-only, whatever the umask ------------------------------------

_MAKE_STORE = r"""
import io, os, sys
from datetime import date
from pathlib import Path
os.umask(int(sys.argv[2], 8))
from reports.services import datasets, users
from reports.services.builds import build_output
from reports.services.source import HowToRead
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests.portal_helpers import DATA, PASSWORD, csrf, log_in
from web.app import create_app
root = Path(sys.argv[1]) / "new" / "store"
with Store(root) as store:
    how = HowToRead(mapping=("Post reference=post_id",))
    r = datasets.upload(store, DATA / "coop_working.csv", "Co-op", as_of=date(2024, 3, 1),
                        by="setup", how=how)
    assert r.version is not None, r.report.to_dict()
    users.add_user(Accounts(store), "hr", "hr", PASSWORD, by="setup")
    build_output(str(store.root), None, "Co-op", r.version.number, "briefing-union.html")
client = create_app(root).test_client()
assert log_in(client, "hr").status_code == 302
token = csrf(client.get("/upload").get_data(as_text=True))
page = client.post("/upload", data={"csrf_token": token, "new_dataset": "Broken",
                                    "as_of": "2024-03-01", "file": (io.BytesIO(
                                        (DATA / "broken_example.xlsx").read_bytes()),
                                        "broken_example.xlsx")},
                   content_type="multipart/form-data")
assert page.status_code == 422, page.status_code
"""


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_the_store_is_made_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", _MAKE_STORE, str(tmp_path), f"{umask:o}"],
                          cwd=root, capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, users.CHEAP_HASH_ENV: "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    store = tmp_path / "new" / "store"
    parent = tmp_path / "new"           # made for the store, as a missing parent
    assert parent.stat().st_mode & 0o777 == 0o700
    seen = {p.relative_to(store).as_posix(): p.stat().st_mode & 0o777
            for p in [store, *store.rglob("*")]}
    kinds = {k.split("/")[0] for k in seen}
    # what the store holds: the database, stored files, the secret key, a profile, the
    # built outputs, and a held upload (its file, annotated copy, findings and note)
    assert {"impact.db", "files", "portal-secret-key", "outputs",
            "portal-pending"} <= kinds, sorted(seen)
    held = [k for k in seen if k.startswith("portal-pending/") and k.count("/") == 2]
    assert {k.rsplit("/", 1)[1] for k in held} >= {"upload.json", "findings.csv",
                                                  "annotated.xlsx"}, held
    for rel, mode in seen.items():
        path = store / rel if rel != "." else store
        if path.is_dir():
            assert mode == 0o700, (rel, oct(mode))
        elif rel.startswith("files/"):
            assert mode == 0o400, (rel, oct(mode))     # owner-only and never rewritten
        else:
            assert mode == 0o600, (rel, oct(mode))


def test_the_monthly_files_in_the_store_are_owner_only(store_dir: Path, tmp_path: Path) -> None:
    import os

    with Store(store_dir) as store:
        datasets.upload(store, DATA / "coop_working.csv", "Co-op", as_of=date(2024, 3, 1),
                        by="setup")
    before = os.umask(0o022)
    try:
        inside = invoke("monthly", "--month", "2024-03", "--audience", "union", "--quiet",
                        "--store", store_dir)
        elsewhere = invoke("monthly", "--month", "2024-03", "--audience", "union", "--quiet",
                           "--store", store_dir, "--out", tmp_path / "shared")
        assert os.umask(0o022) == 0o022          # put back after the command
    finally:
        os.umask(before)
    assert inside.exit_code == 0, inside.stderr
    assert elsewhere.exit_code == 0, elsewhere.stderr
    made = list((store_dir / "reports").rglob("*"))
    assert any(p.suffix == ".pdf" for p in made), made
    for p in [store_dir / "reports", *made]:
        assert p.stat().st_mode & 0o777 == (0o700 if p.is_dir() else 0o600), p
    # --out outside the store: the umask's modes, for the colleagues the files are for
    shared = [p for p in (tmp_path / "shared").rglob("*") if p.is_file()]
    assert shared and all(p.stat().st_mode & 0o777 == 0o644 for p in shared)


def test_a_schema_2_postgresql_store_is_migrated(pg_url: str, tmp_path: Path) -> None:
    from sqlalchemy import inspect

    a, b = _csv_versions(tmp_path)
    root = tmp_path / "pgstore"
    with Store(root, url=pg_url) as store:
        for path in (a, b):
            datasets.upload(store, path, "Old", as_of=date(2024, 3, 1), by="x")
        with store.engine.begin() as conn:      # as schema 2 made it
            conn.exec_driver_sql("DROP INDEX ix_versions_file")
            conn.exec_driver_sql("ALTER TABLE versions ADD CONSTRAINT uq_version_file "
                                 "UNIQUE (dataset_id, sha256)")
            conn.exec_driver_sql("UPDATE meta SET value = '2' WHERE key = 'schema'")
        names = {c["name"] for c in inspect(store.engine).get_unique_constraints("versions")}
        assert names == {"uq_version_file", "uq_version_number"}
    with Store(root, url=pg_url) as store:
        assert store.schema == "3"
        names = {c["name"] for c in inspect(store.engine).get_unique_constraints("versions")}
        assert "uq_version_file" not in names and "uq_version_number" in names
        r = datasets.upload(store, a, "Old", as_of=date(2024, 3, 1), by="x")
        assert r.created and r.version is not None and r.version.number == 3
        assert r.same_as == 1


def test_a_backup_and_a_restored_store_are_owner_only(store_dir: Path, tmp_path: Path) -> None:
    import os

    with Store(store_dir) as store:
        datasets.upload(store, DATA / "coop_working.csv", "Co-op", as_of=date(2024, 3, 1),
                        by="setup")
    before = os.umask(0o000)
    try:
        backup = invoke("store", "backup", tmp_path / "backup", "--store", store_dir)
        restored = invoke("store", "restore", tmp_path / "backup", "--store",
                          tmp_path / "restored")
    finally:
        os.umask(before)
    assert backup.exit_code == 0, backup.stderr
    assert restored.exit_code == 0, restored.stderr
    for root in (tmp_path / "backup", tmp_path / "restored"):
        made = [root, *root.rglob("*")]
        assert any(p.parent.name == "files" for p in made), made
        for p in made:
            mode = p.stat().st_mode & 0o777
            want = 0o700 if p.is_dir() else 0o400 if p.parent.name == "files" else 0o600
            assert mode == want, (p, oct(mode))
