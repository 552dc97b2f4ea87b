"""The sample files in data/, checked against figures worked out independently here
(openpyxl or the csv module, and Decimal) and against the facts stated in the issue."""

from __future__ import annotations

import csv
import json
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

import reports
from reports.model.errors import BadEncoding
from reports.render import data as render_data
from reports.render import text as render_text
from tests.conftest import DATA, invoke, sample

SAMPLES = sorted(p for p in DATA.glob("*") if p.suffix in (".xlsx", ".csv"))
VALID_SAMPLES = [p for p in SAMPLES if not p.name.startswith("broken")]

# How the samples head their columns (data/README.md), read here without the library.
HEADINGS = {
    "Post ID": "post_id", "Position number": "post_id",
    "Team": "team", "Service area": "team",
    "Job title": "title", "Post title": "title",
    "Grade": "grade", "Band": "grade",
    "Location": "location", "Site": "location",
    "FTE": "fte", "F.T.E.": "fte",
    "Posts": "posts", "No. of posts": "posts",
    "Status": "status", "Proposal": "status",
    "Destination": "destination", "Transfers to": "destination",
    "Vacant": "vacant", "Vacancy": "vacant",
    "Annual cost": "cost", "Salary cost": "cost",
}
STATUS = {"Deleted": "deleted", "Retained": "retained", "Relocated": "relocated",
          "New post": "created"}
TOTAL_LABELS = ("Total", "Sub-total", "Grand total")


def _sheet_rows(path: Path) -> dict[str, list[list]]:
    if path.suffix == ".csv":
        encoding, delimiter = (("cp1252", ";") if "cp1252" in path.name else ("utf-8", ","))
        with open(path, encoding=encoding, newline="") as fh:
            return {path.name: list(csv.reader(fh, delimiter=delimiter))}
    wb = openpyxl.load_workbook(path, data_only=False)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def independent_posts(path: Path) -> list[dict]:
    """Every post row of a sample, found and parsed without the code under test."""
    posts = []
    for sheet, rows in _sheet_rows(path).items():
        header_at = next((i for i, row in enumerate(rows)
                          if sum(1 for c in row if isinstance(c, str) and c in HEADINGS) >= 3),
                         None)
        if header_at is None:
            continue
        fields = {HEADINGS[c]: j for j, c in enumerate(rows[header_at]) if c in HEADINGS}
        for row in rows[header_at + 1:]:
            cell = {f: (row[j] if j < len(row) else None) for f, j in fields.items()}
            cell = {f: (None if v in ("", None) else v) for f, v in cell.items()}
            if all(v is None for v in cell.values()):
                continue
            if cell["status"] is None and str(cell["team"]).startswith(TOTAL_LABELS):
                continue
            posts.append({
                "sheet": sheet,
                "team": cell["team"], "grade": cell["grade"],
                "status": STATUS[cell["status"]],
                "fte": Decimal(str(cell["fte"])),
                "posts": int(cell.get("posts") or 1),
                "destination": cell.get("destination"),
                "vacant": cell.get("vacant"),
                "cost": None if cell.get("cost") is None else Decimal(str(cell["cost"])),
            })
    return posts


def independent_totals(posts: list[dict]) -> dict:
    t: dict = defaultdict(lambda: Decimal(0))
    for p in posts:
        t[f"{p['status']}_fte"] += p["fte"]
        t[f"{p['status']}_posts"] += p["posts"]
        if p["status"] == "deleted" and p["vacant"] is not None:
            key = "vacant_deleted" if p["vacant"] == "Y" else "at_risk"
            t[f"{key}_fte"] += p["fte"]
            t[f"{key}_posts"] += p["posts"]
        if p["cost"] is not None and p["status"] in ("deleted", "created"):
            t[f"{p['status']}_cost"] += p["cost"]
    t["baseline_fte"] = t["deleted_fte"] + t["retained_fte"] + t["relocated_fte"]
    t["baseline_posts"] = t["deleted_posts"] + t["retained_posts"] + t["relocated_posts"]
    t["future_fte"] = t["retained_fte"] + t["created_fte"]
    t["future_posts"] = t["retained_posts"] + t["created_posts"]
    return dict(t)


def _summary(path: Path, **kw):
    return reports.summarise(reports.check(path, **kw))


# --------------------------------------------------------------------------
# one test per sample


def test_the_samples_are_there():
    assert {p.name for p in SAMPLES} == {
        "derbyshire_early_help.xlsx", "coop_working.xlsx", "coop_working.csv",
        "coop_working_cp1252_semicolon.csv", "broken_example.xlsx"}


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.name)
def test_sample_totals_match_an_independent_count(path):
    summary = _summary(path)
    expected = independent_totals(independent_posts(path))
    for key, value in expected.items():
        assert summary.totals[key] == value, key
    for key in ("deleted_fte", "retained_fte", "relocated_fte", "created_fte",
                "deleted_posts", "retained_posts", "relocated_posts", "created_posts"):
        assert summary.totals[key] == expected.get(key, 0), key
    assert summary.source["rows"] == len(independent_posts(path))


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("grouping,field", [("by_team", "team"), ("by_grade", "grade")])
def test_sample_groups_match_an_independent_count(path, grouping, field):
    posts = independent_posts(path)
    expected: dict[str, dict] = {}
    for value in {p[field] for p in posts}:
        expected[str(value)] = independent_totals([p for p in posts if p[field] == value])
    got = {g[field]: g for g in _summary(path).groups[grouping]}
    assert set(got) == set(expected)
    for name, totals in expected.items():
        for key, value in totals.items():
            assert got[name][key] == value, (name, key)


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("grouping", ["by_team", "by_grade", "by_team_grade", "by_location"])
def test_sample_groups_reconcile_to_the_totals(path, grouping):
    summary = _summary(path)
    groups = summary.groups[grouping]
    if grouping == "by_location" and not summary.has_location:
        assert groups == []
        return
    numeric = [k for k, v in summary.totals.items() if k != "pct_deleted" and v is not None]
    assert numeric
    for key in numeric:
        assert sum(g[key] for g in groups) == summary.totals[key], (grouping, key)


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.name)
def test_sample_relocations_reconcile(path):
    summary = _summary(path)
    rows = summary.groups["by_destination"]
    assert sum(g["relocated_fte"] for g in rows) == summary.totals["relocated_fte"]
    assert sum(g["relocated_posts"] for g in rows) == summary.totals["relocated_posts"]
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for p in independent_posts(path):
        if p["status"] == "relocated":
            expected[p["destination"]] += p["fte"]
    assert {g["destination"]: g["relocated_fte"] for g in rows} == expected


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.name)
def test_sample_json_numbers_have_at_most_two_places(path):
    from tests.test_totals import assert_at_most_two_places

    assert_at_most_two_places(json.loads(render_data.summary_json(_summary(path))))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_validates_as_documented(path):
    result = invoke("validate", path)
    if path.name.startswith("broken"):
        assert result.exit_code == 1
        assert "INVALID" in result.stdout
    else:
        assert result.exit_code == 0, result.stdout
        assert "VALID, 0 error(s)" in result.stdout


# --------------------------------------------------------------------------
# Derbyshire: the figures the issue states


def test_derbyshire_headline_figures():
    summary = _summary(sample("derbyshire_early_help.xlsx"))
    t = summary.totals
    assert t["baseline_fte"] == Decimal("221.5")
    assert t["deleted_fte"] == Decimal("132.5")
    assert t["pct_deleted"] == Decimal("59.8")
    assert "132.5 of 221.5 FTE (59.8%)" in summary.headline
    assert "132.5 of 221.5 FTE (59.8%)" in render_text.summary_text(summary)


def test_derbyshire_figures_from_its_readme():
    t = _summary(sample("derbyshire_early_help.xlsx")).totals
    assert (t["baseline_posts"], t["deleted_posts"]) == (239, 148)
    assert (t["retained_fte"], t["relocated_fte"], t["created_fte"]) == (
        Decimal(83), Decimal(6), Decimal(0))
    assert t["vacant_deleted_fte"] == Decimal("22.3")
    assert (t["at_risk_fte"], t["at_risk_posts"]) == (Decimal("110.2"), 123)
    assert t["deleted_cost"] == Decimal("5242253.00")


def test_derbyshire_sheets():
    report = reports.check(sample("derbyshire_early_help.xlsx"))
    assert report.valid
    assert [(t.sheet, t.header_row) for t in report.workbook.tables] == [
        ("Early Help", 3), ("Children's Centres", 2)]
    assert [(f.code, f.sheet) for f in report.findings.infos] == [("sheet-skipped", "Notes")]
    counts = report.posts.groupby("sheet").size().to_dict()
    independent = defaultdict(int)
    for p in independent_posts(sample("derbyshire_early_help.xlsx")):
        independent[p["sheet"]] += 1
    assert counts == dict(independent)


def test_derbyshire_control_totals():
    path = sample("derbyshire_early_help.xlsx")
    assert reports.check(path, expect_fte="221.5", expect_deleted_fte="132.5").valid
    report = reports.check(path, expect_fte="221", expect_deleted_fte="132.5")
    assert [f.code for f in report.findings.errors] == ["expect-fte-mismatch"]
    result = invoke("validate", path, "--expect-fte", "221.5", "--expect-deleted-fte", "132")
    assert result.exit_code == 1
    assert "expect-deleted-fte-mismatch" in result.stdout


def test_derbyshire_by_sheet_restriction():
    path = sample("derbyshire_early_help.xlsx")
    whole = _summary(path).totals
    parts = [_summary(path, sheets=[s]).totals for s in ("Early Help", "Children's Centres")]
    for key in ("baseline_fte", "deleted_fte", "baseline_posts", "at_risk_fte",
                "deleted_cost"):
        assert parts[0][key] + parts[1][key] == whole[key], key


def test_derbyshire_closing_centres_lose_every_post():
    closing = ("Alfreton", "Bolsover", "Charnos (Ilkeston)", "Gamesley", "Hadfield",
               "Holme Hall (Chesterfield)", "Ironville", "Langley Mill", "Matlock",
               "Old Whittington")
    by_location = {g["location"]: g for g in _summary(sample("derbyshire_early_help.xlsx"))
                   .groups["by_location"]}
    for site in closing:
        assert by_location[site]["pct_deleted"] == Decimal("100.0"), site
        assert by_location[site]["future_fte"] == 0, site


# --------------------------------------------------------------------------
# coop working: grouped rows, exact decimals, xlsx/csv parity


def test_coop_exact_decimals():
    summary = _summary(sample("coop_working.xlsx"))
    cells = {(g["team"], g["grade"]): g["deleted_fte"] for g in summary.groups["by_team_grade"]}
    three = (cells[("Children's Centres", "Grade 4")] + cells[("Youth Service", "Grade 7")]
             + cells[("Youth Service", "Grade 3")])
    assert (cells[("Children's Centres", "Grade 4")], cells[("Youth Service", "Grade 7")],
            cells[("Youth Service", "Grade 3")]) == (Decimal("33.69"), Decimal("4.62"),
                                                      Decimal("0.5"))
    assert three == Decimal("38.81")


def test_coop_figures_from_its_readme():
    t = _summary(sample("coop_working.xlsx")).totals
    assert (t["deleted_fte"], t["deleted_posts"]) == (Decimal("77.31"), 92)
    assert (t["retained_fte"], t["retained_posts"]) == (Decimal("23.14"), 26)
    assert (t["relocated_fte"], t["relocated_posts"]) == (Decimal("26.8"), 32)
    assert (t["created_fte"], t["created_posts"]) == (Decimal(8), 8)
    assert (t["baseline_fte"], t["baseline_posts"]) == (Decimal("127.25"), 150)


def test_coop_relocations():
    rows = _summary(sample("coop_working.csv")).groups["by_destination"]
    assert [(g["destination"], g["relocated_fte"], g["relocated_posts"]) for g in rows] == [
        ("Homes and Communities", Decimal("3.2") + Decimal(10), 18),
        ("Learning Services", Decimal("8.6") + Decimal(5), 14)]


def _without_source(summary) -> dict:
    data = summary.to_dict()
    data.pop("source")
    return data


def test_coop_xlsx_and_csv_give_the_same_summary():
    xlsx = _summary(sample("coop_working.xlsx"))
    csv_ = _summary(sample("coop_working.csv"))
    assert _without_source(xlsx) == _without_source(csv_)
    assert xlsx.source["rows"] == csv_.source["rows"] == 21
    assert (xlsx.source["format"], csv_.source["format"]) == ("xlsx", "csv")


def test_coop_cp1252_semicolon_csv():
    path = sample("coop_working_cp1252_semicolon.csv")
    raw = path.read_bytes()
    assert b"\x92" in raw and b";" in raw
    report = reports.check(path)
    assert report.valid
    assert (report.workbook.encoding, report.workbook.delimiter) == ("cp1252", ";")
    assert "Children’s Centres" in set(report.posts["team"])
    assert [f.code for f in report.findings.infos] == ["encoding"]
    # the same data as the UTF-8 file, apart from the curly apostrophe
    got = json.dumps(_without_source(reports.summarise(report)), ensure_ascii=False)
    plain = json.dumps(_without_source(_summary(sample("coop_working.csv"))),
                       ensure_ascii=False)
    assert got.count("Children’s Centres") == plain.count("Children's Centres") > 0
    assert json.loads(got.replace("Children’s Centres", "Children's Centres")) == json.loads(
        plain)


def test_coop_cp1252_with_its_encoding_named():
    path = sample("coop_working_cp1252_semicolon.csv")
    report = reports.check(path, encoding="cp1252")
    assert report.valid
    assert "Children’s Centres" in set(report.posts["team"])
    assert [f.code for f in report.findings.infos] == []
    with pytest.raises(BadEncoding):
        reports.check(path, encoding="utf-8")


# --------------------------------------------------------------------------
# broken_example: every fault its README lists, by code and cell


BROKEN_ERRORS = {
    ("fte-negative", "E3"), ("fte-zero", "E4"), ("fte-not-number", "E5"),
    ("fte-too-precise", "E6"), ("fte-exceeds-posts", "E7"), ("posts-invalid", "F8"),
    ("status-unknown", "G9"), ("destination-missing", "H10"), ("required-blank", "C12"),
    ("duplicate-post-id", "A13"), ("formula-no-value", "E14"), ("total-mismatch", "E15"),
}
BROKEN_WARNINGS = {("destination-unexpected", "H11"), ("personal-data", "I1"),
                   ("personal-data", "J1")}


def test_broken_example_faults():
    report = reports.check(sample("broken_example.xlsx"))
    errors = [(f.code, f.cell) for f in report.findings.errors]
    warnings = [(f.code, f.cell) for f in report.findings.warnings]
    assert len(errors) == len(set(errors))
    assert set(errors) == BROKEN_ERRORS
    assert sorted(warnings) == sorted(BROKEN_WARNINGS)
    total = next(f for f in report.findings.errors if f.code == "total-mismatch")
    assert "25" in total.message
    duplicate = next(f for f in report.findings.errors if f.code == "duplicate-post-id")
    assert "'Posts'!A2" in duplicate.message and "'Posts'!A13" in duplicate.message


def _broken_personal_values() -> list[str]:
    ws = openpyxl.load_workbook(sample("broken_example.xlsx"))["Posts"]
    values = [str(c.value) for row in ws["I2:J14"] for c in row if c.value is not None]
    assert "Łukasz Nowak" in values and len(values) == 26
    return values


def test_broken_example_personal_data_goes_nowhere(tmp_path):
    path = sample("broken_example.xlsx")
    values = _broken_personal_values()
    report = reports.check(path)
    outputs = {
        "posts": report.posts.to_csv(),
        "findings": json.dumps(report.to_dict(), ensure_ascii=False),
        "findings text": render_text.findings_text(report),
        "validate json": invoke("validate", path, "--format", "json").stdout,
        "summary json": invoke("summary", path, "--format", "json").stderr,
        "summary text": invoke("summary", path).stderr,
        "summary csv": invoke("summary", path, "--format", "csv").output,
    }
    for where, text in outputs.items():
        for value in values:
            assert value not in text, (value, where)


def test_broken_example_annotated_copy_holds_no_personal_data(tmp_path):
    path = sample("broken_example.xlsx")
    values = _broken_personal_values()
    out = tmp_path / "checked.xlsx"
    assert invoke("validate", path, "--annotate", out).exit_code == 1
    wb = openpyxl.load_workbook(out)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                text = " ".join(str(x) for x in (cell.value, cell.comment and cell.comment.text)
                                if x is not None)
                for value in values:
                    assert value not in text, (value, ws.title, cell.coordinate)
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            body = zf.read(name).decode("utf-8", "replace")
            for value in values:
                assert value not in body, (value, name)
