"""The web portal through Flask's test client: every route for every role (anonymous, hr,
union, admin), and the security promises: CSRF, the upload size limit, an invalid upload storing nothing, guessed URLs, path traversal, headers,
sessions.  Expected permissions are written out here from the issue, not read from
the code's table."""

from __future__ import annotations

import io
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader

from reports.services.monthly import Month, audiences_from, run_monthly
from reports.store.db import Store
from tests.portal_helpers import (
    DATA,
    PASSWORD,
    csrf,
    log_in,
    make_store,
    store_state,
    write_rows,
)
from web.app import create_app

ANON = "anonymous"
WHO = (ANON, "hr", "union", "admin")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("portal") / "store"
    slugs = make_store(root)
    with Store(root) as store:
        run_monthly(store, root / "reports", Month.parse("2024-03"),
                    audiences=audiences_from(["union", "management", "public"]))
    return root, slugs


@pytest.fixture()
def store_dir(built: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    """A fresh copy of the built store for each test (uploads and locks do not leak)."""
    import shutil  # a copy per test

    dest = tmp_path / "store"
    shutil.copytree(built[0], dest)
    return dest


@pytest.fixture()
def slugs(built: tuple[Path, dict[str, str]]) -> dict[str, str]:
    return built[1]


def client_for(store_dir: Path, who: str) -> Any:
    app = create_app(store_dir)
    client = app.test_client()
    if who != ANON:
        r = log_in(client, who)
        assert r.status_code == 302, r.get_data(as_text=True)
    return client


# -- the matrix ----------------------------------------------------------------

# url template -> status for (anonymous, hr, union, admin); anonymous 302 goes to /login
DER = "{der}"
COOP = "{coop}"
GET_MATRIX: list[tuple[str, tuple[int, int, int, int]]] = [
    ("/datasets", (302, 200, 200, 200)),
    (f"/datasets/{DER}", (302, 200, 200, 200)),
    (f"/datasets/{DER}/briefing/union.pdf", (302, 200, 200, 200)),
    (f"/datasets/{DER}/briefing/public.pdf", (302, 200, 200, 200)),
    (f"/datasets/{DER}/briefing/management.pdf", (302, 200, 403, 200)),
    (f"/datasets/{DER}/briefing/union.html", (302, 200, 200, 200)),
    (f"/datasets/{DER}/briefing/management.html", (302, 200, 403, 200)),
    (f"/datasets/{DER}/briefing/councillors.pdf", (302, 403, 403, 403)),
    (f"/datasets/{DER}/summary/full.xlsx", (302, 200, 403, 200)),
    (f"/datasets/{DER}/summary/public.xlsx", (302, 200, 200, 200)),
    (f"/datasets/{COOP}/changes/full.csv", (302, 200, 403, 200)),
    (f"/datasets/{COOP}/changes/public.csv", (302, 200, 200, 200)),
    (f"/datasets/{DER}/monthly/2024-03/{DER}/briefing-union.pdf", (302, 200, 200, 200)),
    (f"/datasets/{DER}/monthly/2024-03/{DER}/briefing-management.pdf", (302, 200, 403, 200)),
    (f"/datasets/{DER}/monthly/2024-03/{DER}/summary.xlsx", (302, 200, 403, 200)),
    (f"/datasets/{DER}/monthly/2024-03/{DER}/public/briefing.pdf", (302, 200, 200, 200)),
    ("/upload", (302, 200, 403, 200)),
    ("/users", (302, 403, 403, 200)),
    ("/users/hr/remove", (302, 403, 403, 200)),         # the confirmation page
    ("/audit", (302, 403, 403, 200)),
    ("/audit.csv", (302, 403, 403, 200)),
    ("/delivery", (302, 403, 403, 200)),
    ("/", (302, 302, 302, 302)),
    ("/login", (200, 200, 200, 200)),
    ("/static/portal.css", (200, 200, 200, 200)),
    (f"/public/{DER}/briefing.pdf", (404, 404, 404, 404)),     # not published
    ("/datasets/no-such-dataset", (302, 404, 404, 404)),
    ("/static/base.html", (404, 404, 404, 404)),               # templates are not served
]


@pytest.mark.parametrize("who", WHO)
def test_every_get_route_gives_each_role_what_the_issue_says(store_dir: Path,
                                                             slugs: dict[str, str],
                                                             who: str) -> None:
    client = client_for(store_dir, who)
    wrong = []
    for template, statuses in GET_MATRIX:
        url = template.format(der=slugs["Derbyshire early help"], coop=slugs["Co-op working"])
        r = client.get(url)
        want = statuses[WHO.index(who)]
        if r.status_code != want:
            wrong.append(f"{who} GET {url}: {r.status_code}, expected {want}")
        elif want == 302 and who == ANON and not r.headers["Location"].startswith("/login"):
            wrong.append(f"{who} GET {url}: redirected to {r.headers['Location']}, not /login")
        elif want == 200 and url.endswith(".pdf"):
            assert r.data.startswith(b"%PDF")
    assert wrong == []


POST_MATRIX: list[tuple[str, tuple[int, int, int, int]]] = [
    ("/upload", (302, 400, 403, 400)),             # allowed, but no file given: 400
    ("/upload/map", (302, 302, 403, 302)),         # allowed, nothing held: back to /upload
    (f"/datasets/{DER}/publish", (302, 403, 403, 302)),
    (f"/datasets/{DER}/unpublish", (302, 403, 403, 302)),
    ("/users", (302, 403, 403, 400)),              # allowed, form empty: 400
    ("/users/hr/remove", (302, 403, 403, 302)),
    ("/delivery", (302, 403, 403, 400)),           # allowed, form empty: 400
    ("/delivery/1/remove", (302, 403, 403, 302)),  # allowed, no such entry: back to the page
]


@pytest.mark.parametrize("who", WHO)
def test_every_post_route_checks_the_role(store_dir: Path, slugs: dict[str, str],
                                          who: str) -> None:
    client = client_for(store_dir, who)
    token = csrf(client.get("/login").get_data(as_text=True))
    wrong = []
    for template, statuses in POST_MATRIX:
        url = template.format(der=slugs["Derbyshire early help"])
        r = client.post(url, data={"csrf_token": token})
        want = statuses[WHO.index(who)]
        if r.status_code != want:
            wrong.append(f"{who} POST {url}: {r.status_code}, expected {want}")
    assert wrong == []
    if who in ("hr", "union"):     # nothing was published or removed by a refused request
        admin = client_for(store_dir, "admin")
        assert "published" not in admin.get("/datasets").get_data(as_text=True)
        assert ">hr<" in admin.get("/users").get_data(as_text=True)


def test_pages_show_no_link_a_role_may_not_follow(store_dir: Path,
                                                  slugs: dict[str, str]) -> None:
    der = slugs["Derbyshire early help"]
    union = client_for(store_dir, "union")
    page = union.get(f"/datasets/{der}").get_data(as_text=True)
    assert "briefing/union.pdf" in page and "briefing/public.pdf" in page
    for forbidden in ("management.pdf", "summary/full.xlsx", "changes/full.csv",
                      "briefing-management.pdf", f"/{der}/summary.xlsx\"", "/upload", "/users",
                      "/audit", "/publish"):
        assert forbidden not in page, forbidden
    hr = client_for(store_dir, "hr")
    page = hr.get(f"/datasets/{der}").get_data(as_text=True)
    assert "briefing/management.pdf" in page and "summary/full.xlsx" in page
    assert "/users" not in page and "/audit" not in page and "/publish" not in page
    admin = client_for(store_dir, "admin").get(f"/datasets/{der}").get_data(as_text=True)
    assert "/users" in admin and "/audit" in admin and "/publish" in admin


def test_the_dataset_page_shows_versions_tables_and_monthly_reports(
        store_dir: Path, slugs: dict[str, str]) -> None:
    page = client_for(store_dir, "union").get(
        f"/datasets/{slugs['Co-op working']}").get_data(as_text=True)
    # two versions, the second with what changed; the figures from data/README.md
    assert ">2</th>" in page and ">1</th>" in page
    assert "First version" in page
    assert "127.25" in page and "77.31" in page          # baseline and deleted FTE
    for title in ("By team", "By grade"):
        assert f"<h2>{title}</h2>" in page
    assert "<th scope=\"col\">" in page
    der = client_for(store_dir, "union").get(
        f"/datasets/{slugs['Derbyshire early help']}").get_data(as_text=True)
    assert "132.5 of 221.5 FTE (59.8%) proposed for deletion" in der
    assert "<h2>By site</h2>" in der
    assert "2024-03: briefing-union.pdf" in der
    assert "briefing-management.pdf" not in der


def test_the_union_briefing_holds_the_headline(store_dir: Path, slugs: dict[str, str]) -> None:
    r = client_for(store_dir, "union").get(
        f"/datasets/{slugs['Derbyshire early help']}/briefing/union.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert "132.5" in " ".join(text.split()) and "221.5" in text


def test_the_briefing_is_shown_as_its_web_page(store_dir: Path, slugs: dict[str, str]) -> None:
    # the accessible HTML briefing (issue 12), inline, with no script allowed to run
    r = client_for(store_dir, "union").get(
        f"/datasets/{slugs['Derbyshire early help']}/briefing/union.html")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert '<html lang="en-GB"' in html and "<script" not in html.lower()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "132.5" in text and "221.5" in text
    csp = r.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers.get("Content-Disposition") is None         # shown, not downloaded


# -- guessed URLs and path traversal ---------------------------------------------


@pytest.mark.parametrize("url", [
    "/datasets/..%2F..%2Fimpact.db",
    "/datasets/../impact.db",
    "/datasets/%2e%2e/briefing/union.pdf",
    "/datasets/{der}/briefing/..%2Fmanagement.pdf",
    "/datasets/{der}/briefing/union.pdf%00.pdf",
    "/datasets/{der}/monthly/2024-03/..%2F..%2Fimpact.db",
    "/datasets/{der}/monthly/2024-03/{der}/../../../impact.db",
    "/datasets/{der}/monthly/..%2F..%2F/impact.db",
    "/datasets/{der}/monthly/2024-03/manifest.json",
    "/datasets/{der}/monthly/2024-03/{coop}/briefing-union.pdf",
    "/upload/..%2F..%2Fimpact.db/annotated.xlsx",
    "/public/..%2Fimpact.db/briefing.pdf",
    "/static/..%2Fportal%2Fbase.html",
])
def test_path_traversal_reaches_no_file(store_dir: Path, slugs: dict[str, str],
                                        url: str) -> None:
    client = client_for(store_dir, "admin")
    r = client.get(url.format(der=slugs["Derbyshire early help"],
                              coop=slugs["Co-op working"]))
    assert r.status_code in (400, 403, 404), (url, r.status_code)
    assert b"SQLite format" not in r.data and b"\"datasets\"" not in r.data


def test_union_guessing_the_management_url_gets_403_and_no_pdf(store_dir: Path,
                                                               slugs: dict[str, str]) -> None:
    client = client_for(store_dir, "union")
    for slug in slugs.values():
        for url in (f"/datasets/{slug}/briefing/management.pdf",
                    f"/datasets/{slug}/summary/full.xlsx",
                    f"/datasets/{slug}/changes/full.csv"):
            r = client.get(url)
            assert r.status_code == 403, url
            assert not r.data.startswith(b"%PDF") and b"PK" not in r.data[:2]


# -- security headers, cookies, sessions ----------------------------------------


def test_security_headers_on_every_kind_of_response(store_dir: Path,
                                                    slugs: dict[str, str]) -> None:
    client = client_for(store_dir, "union")
    der = slugs["Derbyshire early help"]
    for url in ("/login", "/datasets", f"/datasets/{der}", f"/datasets/{der}/briefing/union.pdf",
                f"/datasets/{der}/briefing/management.pdf", "/nothing-here", "/",
                "/static/portal.css"):
        r = client.get(url)
        csp = r.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, url
        assert "script-src" not in csp and "'unsafe-inline'" not in csp   # no script at all
        assert "default-src 'none'" in csp
        assert r.headers.get("X-Content-Type-Options") == "nosniff", url
        assert r.headers.get("Referrer-Policy") == "no-referrer", url
        assert r.headers.get("X-Frame-Options") == "DENY", url


def test_no_page_has_inline_script_or_style(store_dir: Path, slugs: dict[str, str]) -> None:
    client = client_for(store_dir, "admin")
    for url in ("/login", "/datasets", f"/datasets/{slugs['Co-op working']}", "/upload",
                "/users", "/audit"):
        html = client.get(url).get_data(as_text=True).lower()
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", html)         # no event handlers


def test_a_bug_gets_the_error_page_with_the_headers(store_dir: Path, monkeypatch: Any) -> None:
    from reports.services import portal as views  # the service the view calls

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("a bug")

    monkeypatch.setattr(views, "dataset_view", broken)
    client = client_for(store_dir, "hr")
    r = client.get("/datasets/tiny")
    assert r.status_code == 500 and b"This is a bug in impact" in r.data
    assert b"a bug" not in r.data.replace(b"a bug in impact", b"")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


@pytest.mark.parametrize("url", [
    "/datasets/{der}/briefing/public.pdf",
    "/datasets/{der}/briefing/public.html",
    "/datasets/{der}/summary/public.xlsx",
    "/datasets/{coop}/changes/public.csv"])
def test_a_file_that_fails_its_disclosure_audit_is_never_sent(
        store_dir: Path, slugs: dict[str, str], monkeypatch: Any, url: str) -> None:
    from reports.model.errors import Unpublishable
    from reports.services import builds  # what builds each output (here, in the request)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise Unpublishable("the public briefing would give a figure away")

    monkeypatch.setattr(builds, "_make", refused)
    r = client_for(store_dir, "union").get(
        url.format(der=slugs["Derbyshire early help"], coop=slugs["Co-op working"]))
    assert r.status_code == 409 and r.mimetype == "text/html"
    assert b"Not publishable" in r.data and b"would give a figure away" in r.data
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_the_session_cookie_is_httponly_and_samesite_lax(store_dir: Path) -> None:
    app = create_app(store_dir)
    client = app.test_client()
    page = client.get("/login")
    r = client.post("/login", data={"name": "hr", "password": PASSWORD,
                                    "csrf_token": csrf(page.get_data(as_text=True))})
    cookie = "; ".join(r.headers.getlist("Set-Cookie"))
    assert "impact_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie           # plain HTTP on localhost
    secure = create_app(store_dir, config={"SESSION_COOKIE_SECURE": True}).test_client()
    page = secure.get("/login", base_url="https://portal.example")
    r = secure.post("/login", base_url="https://portal.example",
                    headers={"Referer": "https://portal.example/login"}, data={"name": "hr", "password": PASSWORD,
                          "csrf_token": csrf(page.get_data(as_text=True))})
    assert "Secure" in "; ".join(r.headers.getlist("Set-Cookie"))


def test_logout_ends_the_session_even_for_a_copied_cookie(store_dir: Path) -> None:
    client = client_for(store_dir, "hr")
    stolen = client.get_cookie("impact_session")
    assert stolen is not None
    token = csrf(client.get("/datasets").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/datasets").status_code == 302
    replay = create_app(store_dir).test_client()
    replay.set_cookie("impact_session", stolen.value)
    r = replay.get("/datasets")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_a_session_idle_for_8_hours_ends(store_dir: Path) -> None:
    client = client_for(store_dir, "hr")
    assert client.get("/datasets").status_code == 200
    with sqlite3.connect(store_dir / "impact.db") as db:
        db.execute("UPDATE portal_sessions SET last_seen = datetime('now', '-7 hours')")
    assert client.get("/datasets").status_code == 200            # 7 hours: still live
    with sqlite3.connect(store_dir / "impact.db") as db:
        db.execute("UPDATE portal_sessions SET last_seen = datetime('now', '-8 hours', "
                   "'-1 minute')")
    assert client.get("/datasets").status_code == 302


def test_csrf_is_refused_without_a_token(store_dir: Path, slugs: dict[str, str]) -> None:
    anon = create_app(store_dir).test_client()
    r = anon.post("/login", data={"name": "hr", "password": PASSWORD})
    assert r.status_code == 400 and anon.get_cookie("impact_session") is None or \
        b"expired" in r.data
    admin = client_for(store_dir, "admin")
    for url, data in (("/logout", {}),
                      ("/users", {"name": "mallory", "role": "admin", "password": "x" * 20}),
                      (f"/datasets/{slugs['Co-op working']}/publish", {}),
                      ("/users/hr/remove", {}),
                      ("/upload", {"new_dataset": "x",
                                   "file": (io.BytesIO(b"a,b\n"), "a.csv")})):
        r = admin.post(url, data=data, content_type="multipart/form-data")
        assert r.status_code == 400, url
        assert b"security token" in r.data
    page = admin.get("/users").get_data(as_text=True)
    assert "mallory" not in page and ">hr<" in page
    assert admin.get("/datasets").status_code == 200           # still logged in
    r = admin.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 400


# -- logins (the throttle: tests/test_login_throttle.py) ----------------------------------------------------------


def test_an_unknown_name_is_answered_as_a_wrong_password(store_dir: Path) -> None:
    client = create_app(store_dir).test_client()
    a = log_in(client, "nobody-here", PASSWORD)
    b = log_in(client, "hr", "not the password")
    assert a.status_code == b.status_code == 401
    assert b"The user name or password is wrong." in a.data and \
        b"The user name or password is wrong." in b.data


# -- uploads --------------------------------------------------------------------


def _upload(client: Any, path: Path, dataset: str, *, new: bool = True,
            name: str | None = None) -> Any:
    token = csrf(client.get("/upload").get_data(as_text=True))
    data = {"csrf_token": token, "as_of": "2024-04-01", "note": "test",
            "file": (io.BytesIO(path.read_bytes()), name or path.name)}
    data["new_dataset" if new else "dataset"] = dataset
    return client.post("/upload", data=data, content_type="multipart/form-data")


def test_an_invalid_upload_stores_nothing_and_names_each_faulty_cell(store_dir: Path) -> None:
    before = store_state(store_dir)
    client = client_for(store_dir, "hr")
    r = _upload(client, DATA / "broken_example.xlsx", "Broken")
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Nothing was stored" in page
    # the findings table: sheet, cell, column, value, message, for a fault read from the file
    wb = openpyxl.load_workbook(DATA / "broken_example.xlsx")
    ws = wb["Posts"]
    header = [c.value for c in ws[1]]
    fte_col = header.index("FTE")
    bad = next(row for row in ws.iter_rows(min_row=2)
               if isinstance(row[fte_col].value, str))
    cell = bad[fte_col].coordinate
    assert f">{cell}</th>" in page and f">{bad[fte_col].value}</td>" in page
    for head in ("Sheet", "Cell", "Column", "Value", "Message"):
        assert f"<th scope=\"col\">{head}</th>" in page
    assert store_state(store_dir) == before
    assert "Broken" not in client.get("/datasets").get_data(as_text=True)
    link = page.split('href="/upload/', 1)[1].split('"', 1)[0]
    annotated = client.get("/upload/" + link)
    assert annotated.status_code == 200
    marked = openpyxl.load_workbook(io.BytesIO(annotated.data))["Posts"]
    assert marked[cell].comment is not None
    # another user cannot fetch this user's annotated copy
    assert client_for(store_dir, "admin").get("/upload/" + link).status_code == 404


def test_an_upload_over_20_mb_is_refused_before_it_is_read(store_dir: Path) -> None:
    before = store_state(store_dir)
    client = client_for(store_dir, "hr")
    token = csrf(client.get("/upload").get_data(as_text=True))

    class Untouchable(io.RawIOBase):
        reads = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            Untouchable.reads += 1
            raise AssertionError("the body was read")

    r = client.post("/upload", headers={"X-CSRFToken": token},
                    environ_overrides={"wsgi.input": Untouchable(),
                                       "CONTENT_LENGTH": str(21 * 1024 * 1024),
                                       "CONTENT_TYPE": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 413 and b"20 MB" in r.data
    assert Untouchable.reads == 0
    big = io.BytesIO(b"0" * (20 * 1024 * 1024 + 1))
    r = client.post("/upload", data={"csrf_token": token, "new_dataset": "big",
                                     "as_of": "2024-04-01", "file": (big, "big.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 413
    assert store_state(store_dir) == before


def test_a_valid_upload_shows_its_headline_and_what_changed(store_dir: Path,
                                                            slugs: dict[str, str]) -> None:
    client = client_for(store_dir, "hr")
    r = _upload(client, DATA / "coop_working_cp1252_semicolon.csv", "Co-op working", new=False)
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page
    assert "version 3" in page
    # data/README.md: 77.31 of 127.25 FTE deleted; the same rows as version 2
    assert "77.31 of 127.25 FTE" in page
    assert "What changed" in page
    with Store(store_dir) as store:
        v = store.version("Co-op working")
        assert v.number == 3 and v.uploaded_by == "hr" and v.as_of == date(2024, 4, 1)
    audit_csv = client_for(store_dir, "admin").get("/audit.csv").get_data(as_text=True)
    assert "hr,upload," in audit_csv and "version 3" in audit_csv


def test_the_mapping_step_names_unknown_headings_and_words_and_then_uploads(
        store_dir: Path, tmp_path: Path) -> None:
    header = ["Team", "Job title", "Grade", "Share of a full week", "Status"]
    rows = [["Family Support", "Worker", "G6", 1, "Deleted"],
            ["Family Support", "Manager", "G9", 0.5, "Retained"],
            ["Family Support", "Officer", "G7", 0.75, "Pooled for selection"]]
    path = write_rows(tmp_path / "share.xlsx", header, rows)
    client = client_for(store_dir, "hr")
    before = store_state(store_dir)
    r = _upload(client, path, "Mapped")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Match the columns" in page
    assert "Share of a full week" in page and "Match the status words" in page
    assert "Pooled for selection" in page and "Posts!E4" in page
    # the missing field is offered first
    select = page.split('name="field-0"', 1)[1].split("</select>", 1)[0]
    assert select.index('value="fte"') < select.index('value="team"')
    assert store_state(store_dir) == before
    token = csrf(page)
    r = client.post("/upload/map", data={"csrf_token": token,
                                         "heading-0": "Share of a full week", "field-0": "fte",
                                         "word-0": "Pooled for selection",
                                         "status-0": "deleted-occupied"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200, page
    # by hand: 1 + 0.75 of 2.25 FTE deleted (77.8%)
    assert "1.75 of 2.25 FTE (77.8%) proposed for deletion" in page
    with Store(store_dir) as store:
        v = store.version("Mapped")
        assert v.read_options["mapping"] == ["Share of a full week=fte"]
        assert v.read_options["status_map"] == ["Pooled for selection=deleted-occupied"]
    log = client_for(store_dir, "admin").get("/audit.csv").get_data(as_text=True)
    assert "hr,mapping," in log and "Share of a full week=fte" in log
    assert "Pooled for selection=deleted-occupied" in log
    # the choices are the dataset's profile: the next upload of that layout asks nothing
    rows.append(["Family Support", "Clerk", "G4", 1, "Pooled for selection"])
    path = write_rows(tmp_path / "share2.xlsx", header, rows)
    r = _upload(client, path, "Mapped", new=False)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Match the columns" not in page
    assert "2.75 of 3.25 FTE (84.6%) proposed for deletion" in page       # by hand
    from reports.services.profiles import profile_of  # the profile the CLI reads too

    with Store(store_dir) as store:
        saved = profile_of(store, "Mapped")
        assert saved is not None and saved.mapping == ("Share of a full week=fte",)


def test_an_unknown_status_word_alone_gets_the_mapping_step(store_dir: Path,
                                                            tmp_path: Path) -> None:
    path = write_rows(tmp_path / "words.xlsx", ["Team", "Job title", "Grade", "FTE", "Status"],
                      [["A", "Clerk", "G4", 1, "At risk"], ["A", "Officer", "G5", 1, "Kept"]])
    client = client_for(store_dir, "hr")
    page = _upload(client, path, "Words").get_data(as_text=True)
    assert "Match the status words" in page and "Match the columns" not in page
    r = client.post("/upload/map", data={"csrf_token": csrf(page), "word-0": "At risk",
                                         "status-0": "deleted"})
    assert "1 of 2 FTE (50.0%) proposed for deletion" in r.get_data(as_text=True)
    r = client.post("/upload/map", data={"csrf_token": csrf(page), "word-0": "At risk",
                                         "status-0": "fired"})
    assert r.status_code in (302, 400)        # nothing held any more, or an unknown status


def test_an_as_of_date_far_off_is_refused(store_dir: Path) -> None:
    before = store_state(store_dir)
    client = client_for(store_dir, "hr")
    for day in ("1989-12-31", (date.today() + timedelta(days=400)).isoformat(), "2024-02-30"):
        token = csrf(client.get("/upload").get_data(as_text=True))
        r = client.post("/upload", content_type="multipart/form-data", data={
            "csrf_token": token, "as_of": day, "new_dataset": "Dated",
            "file": (io.BytesIO((DATA / "coop_working.csv").read_bytes()), "c.csv")})
        assert r.status_code == 400, day
    assert store_state(store_dir) == before


def test_an_unknown_field_in_the_mapping_is_refused(store_dir: Path, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "wte.xlsx", ["Team", "Job title", "Grade", "Hours share",
                                              "Status"], [["A", "B", "G6", 1, "At risk"]])
    client = client_for(store_dir, "hr")
    page = _upload(client, path, "Mapped").get_data(as_text=True)
    r = client.post("/upload/map", data={"csrf_token": csrf(page), "heading-0": "Hours share",
                                         "field-0": "salary; drop table"})
    assert r.status_code == 400
    r = client.post("/upload/map", data={"csrf_token": csrf(page), "word-0": "At risk",
                                         "status-0": "fired"})
    assert r.status_code == 400


# -- publishing ---------------------------------------------------------------


def test_a_published_briefing_is_public_only_if_it_passes_the_audit(
        store_dir: Path, slugs: dict[str, str]) -> None:
    admin = client_for(store_dir, "admin")
    anon = create_app(store_dir).test_client()
    coop, tiny = slugs["Co-op working"], slugs["Tiny"]
    assert anon.get(f"/public/{coop}/briefing.pdf").status_code == 404
    token = csrf(admin.get(f"/datasets/{coop}").get_data(as_text=True))
    r = admin.post(f"/datasets/{coop}/publish", data={"csrf_token": token},
                   follow_redirects=True)
    assert "is published" in r.get_data(as_text=True)
    r = anon.get(f"/public/{coop}/briefing.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    # nothing else of that dataset is reachable without login
    for url in (f"/datasets/{coop}", f"/datasets/{coop}/briefing/public.pdf",
                f"/datasets/{coop}/briefing/union.pdf", f"/public/{coop}/summary.xlsx",
                f"/public/{coop}/briefing-union.pdf"):
        assert anon.get(url).status_code in (302, 404), url
    # the tiny dataset fails the disclosure audit: refused, nothing published
    r = admin.post(f"/datasets/{tiny}/publish", data={"csrf_token": token},
                   follow_redirects=True)
    assert "Not published" in r.get_data(as_text=True)
    assert anon.get(f"/public/{tiny}/briefing.pdf").status_code == 404
    r = admin.post(f"/datasets/{coop}/unpublish", data={"csrf_token": token})
    assert anon.get(f"/public/{coop}/briefing.pdf").status_code == 404
    log = admin.get("/audit.csv").get_data(as_text=True)
    assert "admin,publish," in log and "admin,unpublish," in log
    assert f"(anonymous),download,the published public briefing of {coop}" in log


# -- users and the audit log ----------------------------------------------------


def test_admin_adds_and_removes_users_and_every_step_is_audited(store_dir: Path) -> None:
    admin = client_for(store_dir, "admin")
    token = csrf(admin.get("/users").get_data(as_text=True))
    r = admin.post("/users", data={"csrf_token": token, "name": "rep2", "role": "union",
                                   "password": "short"})
    assert r.status_code == 400 and "rep2" not in admin.get("/users").get_data(as_text=True)
    secret = "a much longer passphrase 42"
    r = admin.post("/users", data={"csrf_token": token, "name": "rep2", "role": "union",
                                   "password": secret})
    assert r.status_code == 302
    rep = client_for_password(store_dir, "rep2", secret)
    assert rep.get("/datasets").status_code == 200
    assert admin.post("/users/rep2/remove", data={"csrf_token": token}).status_code == 302
    assert rep.get("/datasets").status_code == 302          # removed: the session ended
    log = admin.get("/audit.csv")
    text = log.get_data(as_text=True)
    assert log.mimetype == "text/csv"
    assert text.splitlines()[0] == "when (UTC),who,action,what,address,count,last (UTC)"
    for line in ("admin,user-add,added user 'rep2' with role union,127.0.0.1",
                 "rep2,login,logged in as union,127.0.0.1",
                 "admin,user-remove,removed user 'rep2',127.0.0.1"):
        assert line in text, line
    assert secret not in text and PASSWORD not in text
    with sqlite3.connect(store_dir / "impact.db") as db:
        dump = "\n".join(db.iterdump())
    assert secret not in dump and PASSWORD not in dump and "$argon2id$" in dump
    page = admin.get("/audit").get_data(as_text=True)
    assert "user-remove" in page and "<caption>" in page


def client_for_password(store_dir: Path, name: str, password: str) -> Any:
    client = create_app(store_dir).test_client()
    assert log_in(client, name, password).status_code == 302
    return client


def test_the_secret_key_file_is_made_once_with_mode_0600(tmp_path: Path,
                                                         monkeypatch: Any) -> None:
    monkeypatch.delenv("IMPACT_SECRET_KEY", raising=False)
    a = create_app(tmp_path / "s")
    key = tmp_path / "s" / "portal-secret-key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert create_app(tmp_path / "s").secret_key == a.secret_key
    monkeypatch.setenv("IMPACT_SECRET_KEY", "from-the-environment")
    assert create_app(tmp_path / "s").secret_key == "from-the-environment"


def test_the_size_limit_can_be_set(store_dir: Path) -> None:
    app = create_app(store_dir, config={"MAX_CONTENT_LENGTH": 1024 * 1024})
    client = app.test_client()
    assert log_in(client, "hr").status_code == 302
    page = client.get("/upload").get_data(as_text=True)
    assert "at most 1 MB" in page
    r = client.post("/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf(page), "as_of": "2024-04-01", "new_dataset": "x",
        "file": (io.BytesIO(b"0" * (1024 * 1024 + 1)), "big.csv")})
    assert r.status_code == 413 and b"limited to 1 MB" in r.data
