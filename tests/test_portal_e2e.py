"""The portal end to end in a real browser: `impact serve` on a free port, driven by
Playwright through Debian's Chromium.  HR uploads the broken sample (the faulty cell is
named), a file that needs a column mapping (mapped in the page), then the good sample;
a union rep downloads the union briefing (its text holds the headline) and is refused
the management briefing.  axe-core 4.14.1 (vendored in tests/vendor/) runs on every page
visited and must find no violation.

Chromium: `apt-get install -y chromium` (.ci/run does); tests/browser.py points
pytest-playwright at it.  Without it the test is skipped, except under CI, where it
fails.  IMPACT_SCREENSHOTS=1 writes each page's
screenshot to docs/portal-*.png (README.md and docs/portal.md show them); otherwise they go to tmp.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader

from reports.services import users
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests.portal_helpers import DATA, PASSWORD, write_rows
from tests.server_helpers import serving_process

ROOT = Path(__file__).resolve().parents[1]
AXE = Path(__file__).with_name("vendor") / "axe.min.js"     # axe-core 4.14.1, shared


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "accept_downloads": True,
            "viewport": {"width": 1200, "height": 900}}


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "store"
    with Store(root) as store:
        accounts = Accounts(store)
        for name in ("hr", "union", "admin"):
            users.add_user(accounts, name, name, PASSWORD, by="setup")
    with serving_process(root, check_workers=None) as served:   # serve's own default
        yield f"http://127.0.0.1:{served.port}"


class Pages:
    """Checks each page with axe and saves its screenshot."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page, self.shots, self.seen = page, shots, []

    def check(self, name: str) -> None:
        page = self.page
        page.evaluate(AXE.read_text("utf-8"))
        result = page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', "
            "'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}, "
            "resultTypes: ['violations']})")
        violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
                      for v in result["violations"]]
        assert violations == [], f"{name}: {json.dumps(violations, indent=1)}"
        page.screenshot(path=str(self.shots / f"portal-{name}.png"), full_page=True)
        self.seen.append(name)


def _log_in(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/datasets")


def _upload(page: Any, url: str, path: Path, dataset: str) -> None:
    page.goto(f"{url}/upload")
    page.get_by_label("Schedule").set_input_files(str(path))
    page.get_by_label("Or a new dataset name").fill(dataset)
    page.get_by_label("As-of date").fill("2024-03-01")
    page.get_by_role("button", name="Check and upload").click()
    page.wait_for_load_state()


def test_hr_uploads_and_a_union_rep_downloads_in_a_real_browser(
        server: str, page: Any, tmp_path: Path) -> None:
    shots = ROOT / "docs" if os.environ.get("IMPACT_SCREENSHOTS") else tmp_path
    pages = Pages(page, shots)
    response = page.goto(f"{server}/login")
    assert response is not None and response.status == 200
    headers = response.headers          # as waitress sends them
    assert headers["server"] == "impact"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    pages.check("login")
    _log_in(page, server, "hr")
    pages.check("datasets-empty")

    # the broken sample: nothing stored, the faulty cell named
    page.goto(f"{server}/upload")
    pages.check("upload")
    _upload(page, server, DATA / "broken_example.xlsx", "Broken")
    ws = openpyxl.load_workbook(DATA / "broken_example.xlsx")["Posts"]
    fte = [c.value for c in ws[1]].index("FTE")
    bad = next(r[fte] for r in ws.iter_rows(min_row=2) if isinstance(r[fte].value, str))
    table = page.get_by_role("table", name="Problems found, by sheet and cell")
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=bad.coordinate,
                                                                exact=True))
    assert str(bad.value) in row.inner_text()
    assert "Nothing was stored" in page.content()
    pages.check("upload-errors")

    # a file whose FTE column has a heading impact does not know, and a status word it
    # does not know: map both in the page
    mapped = write_rows(tmp_path / "restructure.xlsx",
                        ["Team", "Job title", "Grade", "Share of a full week", "Status"],
                        [["Family Support", "Worker", "G6", 1, "Deleted"],
                         ["Family Support", "Manager", "G9", 0.5, "Retained"],
                         ["Family Support", "Officer", "G7", 0.5, "At risk"]])
    _upload(page, server, mapped, "Family support")
    assert page.get_by_role("heading", name="Match the columns").is_visible()
    assert page.get_by_role("heading", name="Match the status words").is_visible()
    pages.check("mapping")
    page.get_by_label("Field held by the column “Share of a full week”").select_option("fte")
    page.get_by_label("Status meant by the word “At risk”").select_option("deleted")
    page.get_by_role("button", name="Check again with these choices").click()
    page.wait_for_load_state()
    # by hand: 1 + 0.5 of the 2 FTE are deleted
    assert "1.5 of 2 FTE (75.0%) proposed for deletion" in page.content()

    # the good sample
    _upload(page, server, DATA / "derbyshire_early_help.xlsx", "Derbyshire early help")
    assert "132.5 of 221.5 FTE (59.8%) proposed for deletion" in page.content()
    pages.check("uploaded")
    page.get_by_role("link", name="Go to the dataset Derbyshire early help").click()
    page.wait_for_load_state()
    pages.check("dataset")
    page.goto(f"{server}/datasets")
    pages.check("datasets")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server}/login")

    # a union rep: the union briefing, and 403 for the management one
    _log_in(page, server, "union")
    page.get_by_role("link", name="Derbyshire early help").click()
    page.wait_for_load_state()
    pages.check("dataset-union")
    assert page.get_by_role("link", name="Management briefing (PDF)").count() == 0
    # built in the background since the upload: the file, or a "being prepared" page
    # whose Refresh header brings it when it is ready (the bound is not a timing verdict)
    dataset_url = page.url
    with page.expect_download(timeout=300_000) as download:
        page.get_by_role("link", name="Union briefing (PDF)", exact=True).click()
    pdf = Path(download.value.path()).read_bytes()
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "132.5" in text and "221.5" in text
    response = page.goto(dataset_url + "/briefing/management.pdf")
    assert response is not None and response.status == 403
    pages.check("forbidden")
    page.goto(f"{server}/datasets")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server}/login")

    # an admin: the users page and the audit log, which holds what happened above
    _log_in(page, server, "admin")
    page.get_by_role("link", name="Users").click()
    page.wait_for_load_state()
    pages.check("users")
    page.get_by_role("link", name="Remove union").click()      # asks first, on its own page
    page.wait_for_url(f"{server}/users/union/remove")
    pages.check("remove-user")
    page.get_by_role("link", name="Cancel: keep union").click()
    page.wait_for_url(f"{server}/users")
    assert "union" in page.get_by_role("table").inner_text()
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_load_state()
    log = page.get_by_role("table").inner_text()
    for action in ("login", "upload-invalid", "mapping", "upload",
                   "download", "logout"):
        assert action in log, action
    pages.check("audit")
    assert pages.seen == ["login", "datasets-empty", "upload", "upload-errors", "mapping",
                          "uploaded", "dataset", "datasets", "dataset-union", "forbidden",
                          "users", "remove-user", "audit"]


def test_the_accessibility_check_can_fail(page: Any) -> None:
    """axe as run above does find a violation: an input with no label, low contrast."""
    page.set_content('<html lang="en"><head><title>t</title></head><body><main><h1>x</h1>'
                     '<input type="text"><p style="color:#bbb;background:#fff">faint</p>'
                     '</main></body></html>')
    with pytest.raises(AssertionError) as failed:
        Pages(page, Path("/nonexistent")).check("bad")
    assert "label" in str(failed.value) and "color-contrast" in str(failed.value)


def test_a_file_with_no_known_header_row_is_mapped_by_choosing_only(
        server: str, page: Any, tmp_path: Path) -> None:
    """Issue 26: unfamiliar headings under a title, so no header row is recognised; HR
    chooses the header row, each column and each status word in the page (no typing
    past the upload form) and the file is stored.  axe finds nothing on either step."""
    from tests.conftest import make_xlsx
    from tests.test_read_choices import ODD_ROWS, odd_rows

    pages = Pages(page, tmp_path)
    _log_in(page, server, "hr")
    chart = make_xlsx(tmp_path, odd_rows(), name="structure-chart.xlsx")
    _upload(page, server, chart, "Structure chart")
    assert page.get_by_role("heading", name="Find the header row").is_visible()
    assert "--map" not in page.content()
    header = page.get_by_role("radio", name="Row 3: Section | Role name", exact=False)
    assert header.is_checked()
    pages.check("mapping-header")
    page.get_by_text("More choices", exact=False).click()      # open: checked by axe too
    assert page.get_by_label("Each row is one post", exact=False).is_visible()
    pages.check("mapping-more")
    for heading, field in (("Section", "team"), ("Pay level", "grade"),
                           ("Hours share", "fte"), ("Plan", "status"),
                           ("Month", "ignore")):
        page.get_by_label(f"Field held by the column “{heading}”").select_option(field)
    assert page.get_by_label("Field held by the column “Role name”").input_value() == "title"
    page.get_by_role("button", name="Check again with these choices").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Match the status words").is_visible()
    pages.check("mapping-words")
    page.get_by_label("Status meant by the word “stays”").select_option("retained")
    page.get_by_label("Status meant by the word “goes”").select_option("deleted")
    page.get_by_role("button", name="Check again with these choices").click()
    page.wait_for_load_state()
    total = sum(float(r[3]) for r in ODD_ROWS)
    assert f"0.5 of {total:g} FTE" in page.content()      # 'goes' is the 0.5 FTE clerk
    assert page.get_by_role("heading", name="Uploaded: Structure chart", exact=False) \
        .is_visible()
    pages.check("mapped-uploaded")


def test_a_job_share_organogram_is_stored_by_choosing_only(
        server: str, page: Any, tmp_path: Path) -> None:
    """Issue 26: a senior organogram (no Status column, a job share on post '103',
    names, phone numbers and e-mail addresses) is stored from the browser: the mapping
    step asks only what a row without a status is, and the job share is one post."""
    from decimal import Decimal

    from tests.conftest import make_csv
    from tests.test_real_files_26 import senior_rows

    rows = senior_rows()
    pages = Pages(page, tmp_path)
    _log_in(page, server, "hr")
    _upload(page, server, make_csv(tmp_path, rows, name="senior.csv"), "Senior posts")
    assert page.get_by_role("heading", name="Rows without a status").is_visible()
    assert "--" not in page.inner_text("main")
    pages.check("mapping-organogram")
    page.get_by_label("The status of a row that has none").select_option("retained")
    page.get_by_role("button", name="Check again with these choices").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Uploaded: Senior posts", exact=False).is_visible()
    text = page.inner_text("main")
    assert "job-share" in text                      # the one warning, shown to check
    fte = sum(Decimal(str(r[11])) for r in rows[1:])
    assert f"{fte} FTE in the baseline" in text, text
    for r in rows[1:]:
        assert str(r[9]) not in page.content()                # no e-mail address shown
    pages.check("uploaded-organogram")
    # stored with the job share as one post: one post per distinct ID
    with Store(tmp_path / "store") as store:
        version = store.version("Senior posts", 1)
    assert version.totals["baseline_posts"] == len({r[0] for r in rows[1:]})


def _choose_nhs_reading(page: Any) -> None:
    """The NHS-style extract's columns, as a user chooses them on the mapping page (each
    select the page shows), and retained for rows without a status if it asks."""
    for heading, field in (("Org name", "team"), ("Staff group", "title"),
                           ("AfC band", "grade"), ("FTE", "fte"), ("Org code", "ignore"),
                           ("Month", "ignore")):
        select = page.get_by_label(f"Field held by the column “{heading}”")
        if select.count():
            select.select_option(field)
    if page.get_by_role("heading", name="Rows without a status").count():
        page.get_by_label("The status of a row that has none").select_option("retained")


def test_an_nhs_extract_of_two_stacked_months_is_stored_by_choosing_one_month(
        server: str, page: Any, tmp_path: Path) -> None:
    """Issue 26: an NHS-style extract (two months stacked, FTE to 5 places, headings the
    tool does not know) is mapped, given a default status and filtered to one month,
    all by choosing; the stored total is that month's, worked out here with Decimal."""
    from decimal import Decimal

    from tests.conftest import make_csv
    from tests.test_real_files_26 import MONTHS, nhs_fte, nhs_rows

    rows = nhs_rows()
    pages = Pages(page, tmp_path)
    _log_in(page, server, "hr")
    _upload(page, server, make_csv(tmp_path, rows, name="nhs.csv"), "NHS extract")
    _choose_nhs_reading(page)
    pages.check("mapping-nhs")
    page.get_by_role("button", name="Check again with these choices").click()
    page.wait_for_load_state()
    if not page.get_by_role("heading", name="Uploaded: NHS extract", exact=False).count():
        raise AssertionError(page.inner_text("main"))
    # the stacked months are flagged, with the fix in words
    assert "stacked-snapshots" in page.inner_text("main")
    assert "--" not in page.inner_text("main")
    pages.check("uploaded-stacked")
    # read again with one month: the upload's "More choices" filter
    _upload(page, server, make_csv(tmp_path, rows, name="nhs.csv"), "NHS extract one month")
    _choose_nhs_reading(page)
    page.get_by_text("More choices", exact=False).click()
    page.get_by_label("Read only some rows", exact=False).select_option(f"Month={MONTHS[1]}")
    pages.check("mapping-nhs-filter")
    page.get_by_role("button", name="Check again with these choices").click()
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert page.get_by_role("heading", name="Uploaded: NHS extract one month",
                            exact=False).is_visible(), text
    with Store(tmp_path / "store") as store:
        both = store.version("NHS extract", 1).totals["baseline_fte"]
        one = store.version("NHS extract one month", 1).totals["baseline_fte"]
    assert Decimal(str(both)) == nhs_fte(rows, MONTHS[0]) + nhs_fte(rows, MONTHS[1])
    assert Decimal(str(one)) == nhs_fte(rows, MONTHS[1])
