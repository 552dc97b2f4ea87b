"""The trend across months (issue 28, part 2), tested from the issue's text.

A dataset of three versions is built here, each file differing from the one before by
known posts.  For each version the series (baseline, deleted, at risk, vacancies
deleted, relocated, created and the saving) must equal a Decimal sum over that
version's rows, worked out here; the briefing's trend table (HTML and Word) must equal
`impact history --format json`; each changed measure is marked with the right
difference; the portal's dataset page shows the table (and passes axe); one version
alone gives no trend section, and the public briefing has none.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from reports.figures.trend import MEASURES
from reports.store.db import Store

from . import store_helpers as helpers
from .conftest import make_xlsx
from .store_helpers import invoke

isolated_store_env = helpers.isolated_store_env
AXE = Path(__file__).with_name("vendor") / "axe.min.js"

HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status", "Destination",
          "Vacant", "Annual cost"]
NAME = "trend-test"
AS_OF = ("2024-01-15", "2024-02-20", "2024-04-03")
SECTION = "The trend across versions"


def base_rows() -> list[list[Any]]:
    return [
        ["T1", "Early Help", "Worker", "Grade 6", 1, 1, "Deleted", None, "N", 30000],
        ["T2", "Early Help", "Worker", "Grade 6", 0.5, 1, "Retained", None, "N", 15000],
        ["T3", "Early Help", "Senior", "Grade 8", 2, 2, "Retained", None, "N", 80000],
        ["T4", "Early Help", "Senior", "Grade 8", 1, 1, "Deleted", None, "Y", 40000],
        ["T5", "Youth", "Worker", "Grade 6", 3.5, 4, "Retained", None, "N", 110000.5],
        ["T6", "Youth", "Manager", "Grade 10", 1, 1, "Relocated", "Learning", "N", 55000],
        ["T7", "Youth", "Clerk", "Grade 4", 0.6, 1, "Deleted", None, "N", 12000.25],
        ["T8", "Centres", "Worker", "Grade 6", 4, 4, "Retained", None, "N", 120000],
        ["T9", "Centres", "Lead", "Grade 9", 1, 1, "Retained", None, "Y", 45000],
        ["T10", "Centres", "Worker", "Grade 6", 2.25, 3, "Deleted", None, "N", 67500],
    ]


def versions_rows() -> list[list[list[Any]]]:
    """Three versions: v2 deletes T2 (occupied, 0.5 FTE) and T9 (vacant, 1 FTE); v3 keeps
    T1 after all, and adds a new post (Created, 1.5 FTE)."""
    v1 = base_rows()
    v2 = [list(r) for r in v1]
    for r in v2:
        if r[0] in ("T2", "T9"):
            r[6] = "Deleted"
    v3 = [list(r) for r in v2]
    for r in v3:
        if r[0] == "T1":
            r[6] = "Retained"
    v3.append(["T11", "Centres", "Coordinator", "Grade 9", 1.5, 2, "Created", None, "N",
               52000])
    return [v1, v2, v3]


def expected(rows: list[list[Any]]) -> dict[str, Decimal]:
    """The series, summed here as Decimals from the rows (the test's own arithmetic)."""
    fte = {s: Decimal(0) for s in ("Deleted", "Retained", "Relocated", "Created")}
    cost = {s: Decimal(0) for s in fte}
    at_risk = vacant = Decimal(0)
    for r in rows:
        f, status = Decimal(str(r[4])), r[6]
        fte[status] += f
        cost[status] += Decimal(str(r[9]))
        if status == "Deleted":
            if r[8] == "Y":
                vacant += f
            else:
                at_risk += f
    return {"baseline_fte": fte["Deleted"] + fte["Retained"] + fte["Relocated"],
            "deleted_fte": fte["Deleted"], "at_risk_fte": at_risk,
            "vacant_deleted_fte": vacant, "relocated_fte": fte["Relocated"],
            "created_fte": fte["Created"],
            "net_saving": cost["Deleted"] - cost["Created"]}


@pytest.fixture
def three_versions(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    for i, (rows, as_of) in enumerate(zip(versions_rows(), AS_OF), 1):
        path = make_xlsx(tmp_path, [HEADER, *rows], name=f"trend-v{i}.xlsx")
        result = invoke("upload", path, "--dataset", NAME, "--as-of", as_of, "--store", store)
        assert result.exit_code == 0, result.output
    return store


def history_json(store: Path, *extra: str) -> list[dict[str, Any]]:
    result = invoke("history", NAME, "--store", store, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def number(text: str) -> Decimal:
    """A figure as a briefing prints it ("£5,384,312.50", "+3", "no change") as a Decimal."""
    text = text.strip()
    if text == "no change":
        return Decimal(0)
    sign = -1 if text.startswith(("-", "\u2212")) else 1
    return sign * Decimal(text.lstrip("+-\u2212").replace("£", "").replace(",", ""))


# --------------------------------------------------------------------------
# the series


def test_history_json_carries_the_series_summed_independently(three_versions: Path) -> None:
    items = history_json(three_versions)
    sums = [expected(rows) for rows in versions_rows()]
    assert [i["version"] for i in items] == [1, 2, 3]
    for item, want in zip(items, sums):
        got = {m: Decimal(str(v)) for m, v in item["trend"]["figures"].items()}
        assert got == want
    assert items[0]["trend"]["change"] is None and items[0]["trend"]["changed"] == []
    for i in (1, 2):
        diff = {m: sums[i][m] - sums[i - 1][m] for m in MEASURES}
        got = {m: Decimal(str(v)) for m, v in items[i]["trend"]["change"].items()}
        assert got == diff
        assert items[i]["trend"]["changed"] == [m for m in MEASURES if diff[m]]


def test_history_csv_carries_the_same_series_as_json(three_versions: Path) -> None:
    items = history_json(three_versions)
    result = invoke("history", NAME, "--store", three_versions, "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(r["version"]) for r in rows] == [1, 2, 3]
    for row, item in zip(rows, items):
        assert {m: Decimal(row[m]) for m in MEASURES} == \
            {m: Decimal(str(v)) for m, v in item["trend"]["figures"].items()}
        change = item["trend"]["change"]
        if change is None:
            assert {row[f"{m}_change"] for m in MEASURES} == {""}
        else:
            assert {m: Decimal(row[f"{m}_change"]) for m in MEASURES} == \
                {m: Decimal(str(change[m])) for m in MEASURES}
        assert row["changed"].split() == item["trend"]["changed"]


def test_by_month_picks_each_months_version_as_monthly_does(tmp_path: Path) -> None:
    """January has two versions, the second backdated before the first (the one dated
    later wins), February none (January's repeats), March the third; the choice is the
    store's own `version_as_of`, as monthly's."""
    store = tmp_path / "store"
    for i, (rows, as_of) in enumerate(zip(versions_rows(), ("2024-01-25", "2024-01-10",
                                                            "2024-03-02")), 1):
        path = make_xlsx(tmp_path, [HEADER, *rows], name=f"m{i}.xlsx")
        assert invoke("upload", path, "--dataset", NAME, "--as-of", as_of,
                      "--store", store).exit_code == 0
    months = history_json(store, "--by-month")
    assert [m["month"] for m in months] == ["2024-01", "2024-02", "2024-03"]
    with Store(store) as s:
        chosen = [s.version_as_of(NAME, date(2024, m, d)) for m, d in ((1, 31), (2, 29),
                                                                       (3, 31))]
    assert [m["version"] for m in months] == [v.number for v in chosen if v is not None] \
        == [1, 1, 3]
    assert months[1]["changed"] == [] and months[1]["change"]["deleted_fte"] == 0
    sums = [expected(rows) for rows in versions_rows()]
    assert Decimal(str(months[2]["change"]["deleted_fte"])) == \
        sums[2]["deleted_fte"] - sums[0]["deleted_fte"]


# --------------------------------------------------------------------------
# the briefing


def _brief(store: Path, tmp_path: Path, fmt: str, *extra: str) -> Path:
    out = tmp_path / f"briefing.{fmt}"
    result = invoke("brief", "--dataset", NAME, "--store", store, "--format", fmt,
                    "-o", out, "--reproducible", *extra)
    assert result.exit_code == 0, result.output
    return out


def _html_tables(path: Path) -> list[list[list[str]]]:
    doc = lxml_html.fromstring(path.read_text("utf-8"))
    sections = doc.xpath('//section[h2/@id="section-trend"]')
    assert len(sections) == 1
    out = []
    for table in sections[0].xpath(".//table")[:2]:     # the series, then the changes
        out.append([[c.text_content().strip() for c in tr.xpath("./th|./td")]
                    for tr in table.xpath("./tbody/tr")])
    return out


def test_the_briefing_trend_table_equals_history_json(three_versions: Path,
                                                      tmp_path: Path) -> None:
    items = history_json(three_versions)
    series, changes = _html_tables(_brief(three_versions, tmp_path, "html"))
    assert [r[0] for r in series] == ["Version 1", "Version 2", "Version 3"]
    for row, item in zip(series, items):
        assert [number(c) for c in row[2:]] == \
            [Decimal(str(item["trend"]["figures"][m])) for m in MEASURES]
    assert [r[0] for r in changes] == ["Version 2", "Version 3"]
    for row, item in zip(changes, items[1:]):
        assert [number(c) for c in row[2:]] == \
            [Decimal(str(item["trend"]["change"][m])) for m in MEASURES]


def test_the_word_briefing_has_the_same_trend_table(three_versions: Path,
                                                    tmp_path: Path) -> None:
    from docx import Document  # python-docx: only the Word briefing's tests read it

    items = history_json(three_versions)
    doc = Document(str(_brief(three_versions, tmp_path, "docx")))
    tables = [[[c.text.strip() for c in row.cells] for row in t.rows] for t in doc.tables]
    series = next(t for t in tables if t[0][:2] == ["Version", "As of"]
                  and t[1][0] == "Version 1")
    for row, item in zip(series[1:], items):
        assert [number(c) for c in row[2:]] == \
            [Decimal(str(item["trend"]["figures"][m])) for m in MEASURES]
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert SECTION in headings


def test_changed_measures_are_marked_with_the_right_difference(three_versions: Path,
                                                               tmp_path: Path) -> None:
    """Version 2 deletes 0.5 FTE occupied and 1 FTE vacant (£60,000); version 3 keeps a
    1 FTE occupied post (£30,000) and adds a 1.5 FTE post (£52,000)."""
    text = _brief(three_versions, tmp_path, "html").read_text("utf-8")
    doc = lxml_html.fromstring(text)
    bullets = [li.text_content().strip()
               for li in doc.xpath('//section[h2/@id="section-trend"]//li')]
    assert bullets == [
        "Version 2 (20 February 2024): Deleted FTE +1.5; At risk FTE +0.5; Vacancies "
        "deleted FTE +1; Saving (deleted less new) +£60,000.",
        "Version 3 (3 April 2024): Deleted FTE -1; At risk FTE -1; Created FTE +1.5; "
        "Saving (deleted less new) -£82,000.",
    ]
    _, changes = _html_tables(_brief(three_versions, tmp_path, "html"))
    assert changes[0][2] == "no change"          # baseline: the same posts in version 2


def test_the_pdf_briefing_has_the_trend_section(three_versions: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    reader = PdfReader(str(_brief(three_versions, tmp_path, "pdf")))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    assert SECTION in text
    assert "Saving (deleted less new) -£82,000." in text


def test_one_version_has_no_trend_section(tmp_path: Path) -> None:
    store = tmp_path / "store"
    path = make_xlsx(tmp_path, [HEADER, *base_rows()], name="only.xlsx")
    assert invoke("upload", path, "--dataset", NAME, "--store", store).exit_code == 0
    text = _brief(store, tmp_path, "html").read_text("utf-8")
    assert 'id="section-trend"' not in text and SECTION not in text
    assert history_json(store)[0]["trend"]["change"] is None


def test_an_earlier_version_trends_only_up_to_itself(three_versions: Path,
                                                     tmp_path: Path) -> None:
    series, _ = _html_tables(_brief(three_versions, tmp_path, "html", "--version", "2"))
    assert [r[0] for r in series] == ["Version 1", "Version 2"]
    first = _brief(three_versions, tmp_path, "html", "--version", "1").read_text("utf-8")
    assert 'id="section-trend"' not in first


def test_the_public_briefing_has_no_trend_section(three_versions: Path,
                                                  tmp_path: Path) -> None:
    """Public trends are not audited as one release yet: the section is union and
    management only (README, "The trend across versions")."""
    text = _brief(three_versions, tmp_path, "html", "--audience", "public").read_text("utf-8")
    assert 'id="section-trend"' not in text
    assert "The public briefing has no trend across versions" in " ".join(text.split())
    management = _brief(three_versions, tmp_path, "html", "--audience", "management")
    assert 'id="section-trend"' in management.read_text("utf-8")


# --------------------------------------------------------------------------
# the portal


def _portal_page(store: Path) -> str:
    from reports.services import users
    from reports.store.accounts import Accounts
    from web.app import create_app

    from .portal_helpers import PASSWORD, log_in

    with Store(store) as s:
        users.add_user(Accounts(s), "union", "union", PASSWORD, by="setup")
        slug = s.versions(NAME)[0].slug
    client = create_app(store).test_client()
    log_in(client, "union")
    response = client.get(f"/datasets/{slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_portal_dataset_page_shows_the_trend(three_versions: Path) -> None:
    page = _portal_page(three_versions)
    doc = lxml_html.fromstring(page)
    rows = [[c.text_content().strip() for c in tr.xpath("./th|./td")]
            for tr in doc.xpath('//table[@id="trend-table"]/tbody/tr')]
    sums = [expected(r) for r in versions_rows()]
    assert [r[0] for r in rows] == ["Version 1", "Version 2", "Version 3"]
    for i, (row, want) in enumerate(zip(rows, sums)):
        for cell, m in zip(row[2:], MEASURES):
            value, _, change = cell.partition(" (")
            assert number(value) == want[m]
            diff = want[m] - sums[i - 1][m] if i else Decimal(0)
            assert (number(change.rstrip(")")) if change else Decimal(0)) == diff
    svg = doc.xpath('//figure[@class="chart"]//*[local-name()="svg"]')
    assert len(svg) == 1 and svg[0].get("role") == "img"


def test_the_portal_dataset_page_passes_axe(browser: Any, three_versions: Path) -> None:
    page_html = _portal_page(three_versions)
    css = (helpers.ROOT / "templates" / "portal" / "portal.css").read_text("utf-8")
    page_html = page_html.replace("</head>", f"<style>{css}</style></head>")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.set_content(page_html)
        assert page.locator("#trend-table").count() == 1
        page.evaluate(AXE.read_text("utf-8"))
        result = page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', "
            "'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}, "
            "resultTypes: ['violations']})")
    finally:
        page.close()
    assert [(v["id"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"]] == []


def test_the_html_briefing_with_its_trend_passes_axe(browser: Any, three_versions: Path,
                                                     tmp_path: Path) -> None:
    from .test_axe import run_axe

    path = _brief(three_versions, tmp_path, "html")
    assert 'id="section-trend"' in path.read_text("utf-8")
    assert run_axe(browser, path) == []
    assert run_axe(browser, path, width=375) == []


def test_the_monthly_briefing_trends_month_by_month(three_versions: Path,
                                                    tmp_path: Path) -> None:
    """April's monthly briefing: one row per month from January, each month's version
    as monthly chooses it (March repeats February's), the figures of
    `impact history --by-month`; January's, one month alone, has no trend."""
    from reports.services.monthly import Month, audiences_from, run_monthly

    made: list[Any] = []

    def keep(*_: Any, briefing: Any = None, **__: Any) -> None:
        made.append(briefing)

    months = history_json(three_versions, "--by-month")
    with Store(three_versions) as store:
        run_monthly(store, tmp_path / "out", Month(2024, 4), render=keep,
                    audiences=audiences_from(["union"]))
        run_monthly(store, tmp_path / "out", Month(2024, 1), render=keep,
                    audiences=audiences_from(["union"]))
    april, january = made
    assert january is None or all(s.id != "trend" for s in january.sections)
    section = next(s for s in april.sections if s.id == "trend")
    table = section.blocks[1]
    assert [r[0] for r in table.rows] == ["2024-01: version 1", "2024-02: version 2",
                                         "2024-03: version 2", "2024-04: version 3"]
    assert [m["month"] for m in months] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    for row, month in zip(table.rows, months):
        assert [number(april.figures.text(c)) for c in row[2:]] == \
            [Decimal(str(month["figures"][m])) for m in MEASURES]


def test_a_long_series_lists_the_latest_versions_and_says_how_many(tmp_path: Path) -> None:
    """A dataset stored month after month for years still gets a briefing that fits the
    page: the trend lists and charts the latest `SHOWN` points and says how many there
    are in all (a 1,000-month series once made the chart taller than a page)."""
    import reports
    from reports.documents.briefing import make_briefing
    from reports.documents.sections.trend import SHOWN
    from reports.documents.template import load_builtin
    from reports.figures import trend as tr
    from reports.render import pdf as rl

    from .conftest import sample

    whole = SHOWN * 3 + 5
    points = tuple(
        tr.Point(number=i + 1, as_of=date(2000 + i // 12, i % 12 + 1, 1), file="f.xlsx",
                 values={m: Decimal(i) for m in (*tr.MEASURES, *tr.CHART_MEASURES)},
                 month=f"{2000 + i // 12}-{i % 12 + 1:02d}")
        for i in range(whole))
    report = reports.check(sample("derbyshire_early_help.xlsx"))
    b = make_briefing(report, reports.summarise(report), load_builtin("union"),
                      trend=tr.Trend(points=points))
    (section,) = [s for s in b.sections if s.id == "trend"]
    intro = section.blocks[0].text
    assert f"across {SHOWN} months (the latest {SHOWN} of the {whole} months stored)" in intro
    series = next(bl for bl in section.blocks if getattr(bl, "rows", None))
    assert [r[0] for r in series.rows] == [p.label for p in points[-SHOWN:]]
    out = tmp_path / "long.pdf"
    rl.render(b, out, reproducible=True)
    assert out.read_bytes().startswith(b"%PDF")
