"""Comparing two versions: matching, post changes, totals, headline, formats, briefing."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reports import check
from reports.figures.compare import MATCH_COMPOSITE, MATCH_ID, change_phrase, compare
from reports.model.formats import fmt_number
from reports.render.data import comparison_json

from . import store_helpers as helpers
from .conftest import make_xlsx
from .store_helpers import DATASET, invoke

# fixtures from store_helpers (pytest finds them by their names here)
derbyshire_v1 = helpers.derbyshire_v1
derbyshire_v2 = helpers.derbyshire_v2
fresh_store = helpers.fresh_store
isolated_store_env = helpers.isolated_store_env

HEADER = ["Post ID", "Team", "Job title", "Grade", "Location", "FTE", "Posts", "Status",
          "Destination", "Vacant"]


def workbook(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    return make_xlsx(path.parent, [header, *rows], name=path.name)


def n(value: Decimal) -> str:
    return fmt_number(value)


# --------------------------------------------------------------------------
# the Derbyshire sample: three posts moved from retained to deleted


def test_comparison_finds_exactly_the_moved_posts(derbyshire_v1: Path, derbyshire_v2) -> None:
    v2, moved = derbyshire_v2
    c = compare(check(derbyshire_v1), check(v2), old_label="version 1 (1 March 2024)")
    assert c.match == MATCH_ID
    assert sorted(ch.new.post_id for ch in c.changed) == sorted(m.post_id for m in moved)
    assert {ch.changes for ch in c.changed} == {("status",)}
    assert {(ch.old.status, ch.new.status) for ch in c.changed} == {("retained", "deleted")}
    assert (c.added, c.removed) == ([], [])
    up = sum(m.fte for m in moved)
    totals = {t.key: t for t in c.totals}
    assert (totals["deleted_fte"].old, totals["deleted_fte"].new) == (Decimal("132.5"),
                                                                      Decimal("132.5") + up)
    assert totals["deleted_fte"].change == up
    assert totals["retained_fte"].change == -up
    assert totals["baseline_fte"].change == 0
    assert (totals["at_risk_posts"].change, totals["deleted_posts"].change) == (3, 3)
    assert totals["vacant_deleted_fte"].change == 0
    assert c.headline == (f"Since version 1 (1 March 2024): deleted FTE up {n(up)} to "
                          f"{n(Decimal('132.5') + up)}; 3 more posts at risk")
    teams = {ch.new.team for ch in c.changed}
    changed_teams = [g.label for g in c.by_team if g.changed]
    assert sorted(changed_teams) == sorted(teams)
    team_up = sum(g.changes(["deleted_fte"])[0].change for g in c.by_team)
    assert team_up == up
    assert sum(g.changes(["deleted_fte"])[0].change for g in c.by_grade) == up


def test_identical_versions_have_no_changes(derbyshire_v1: Path) -> None:
    report = check(derbyshire_v1)
    c = compare(report, report, old_label="version 1 (1 March 2024)")
    assert c.unchanged
    assert c.headline == ("Since version 1 (1 March 2024): deleted FTE unchanged at 132.5; "
                          "no change in posts at risk (123)")


def test_cli_formats_agree_with_the_library(derbyshire_v1: Path, derbyshire_v2) -> None:
    v2, moved = derbyshire_v2
    library = compare(check(derbyshire_v1), check(v2))
    as_json = invoke("compare", derbyshire_v1, v2, "--format", "json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == json.loads(comparison_json(library))
    text = invoke("compare", derbyshire_v1, v2).stdout
    assert text.startswith(library.headline + ".\n")
    assert "Posts are matched by Post ID." in text
    assert "Status changed (3)" in text
    for m in moved:
        assert f"{m.post_id} " in text
    rows = list(csv.reader(io.StringIO(invoke("compare", derbyshire_v1, v2, "--format",
                                              "csv").stdout)))
    start = rows.index(["# posts"])
    header, body = rows[start + 1], rows[start + 2: rows.index([], start)]
    records = [dict(zip(header, r)) for r in body]
    assert sorted(r["new_post_id"] for r in records) == sorted(m.post_id for m in moved)
    assert {(r["change"], r["old_status"], r["new_status"]) for r in records} == {
        ("status", "retained", "deleted")}
    totals = rows[rows.index(["# totals"]) + 2:]
    deleted = next(r for r in totals if r[0] == "deleted_fte")
    assert Decimal(deleted[3]) == sum(m.fte for m in moved)


def test_compare_stored_versions(fresh_store: Path, derbyshire_v1: Path, derbyshire_v2,
                                 tmp_path: Path) -> None:
    v2, moved = derbyshire_v2
    for path, day in ((derbyshire_v1, "2024-03-01"), (v2, "2024-03-12")):
        assert invoke("upload", path, "--dataset", DATASET, "--store", fresh_store,
                      "--as-of", day).exit_code == 0
    stored = invoke("compare", "--dataset", DATASET, "--from", "1", "--to", "2", "--store",
                    fresh_store, "--format", "json")
    assert stored.exit_code == 0
    data = json.loads(stored.stdout)
    assert data["headline"].startswith("Since version 1 (1 March 2024): deleted FTE up ")
    assert data["new"]["label"] == "version 2 (12 March 2024)"
    assert sorted(c["new"]["post_id"] for c in data["changed"]) == sorted(m.post_id
                                                                         for m in moved)
    files = json.loads(invoke("compare", derbyshire_v1, v2, "--format", "json").stdout)
    for key in ("changed", "added", "removed", "totals", "by_team", "by_grade", "counts"):
        assert data[key] == files[key]
    latest = invoke("compare", "--dataset", DATASET, "--store", fresh_store)
    assert latest.stdout.startswith("Since version 1 (1 March 2024)")
    out = tmp_path / "changes.csv"
    written = invoke("compare", "--dataset", DATASET, "--store", fresh_store, "--format", "csv",
                     "-o", out)
    assert written.exit_code == 0 and out.read_text().startswith("# headline\n")


def test_compare_usage_errors(derbyshire_v1: Path) -> None:
    assert invoke("compare", derbyshire_v1).exit_code == 2
    assert invoke("compare", derbyshire_v1, derbyshire_v1, "--from", "1").exit_code == 2


def test_compare_with_an_invalid_file_prints_its_errors(derbyshire_v1: Path) -> None:
    from .store_helpers import sample

    broken = sample("broken_example.xlsx")
    result = invoke("compare", derbyshire_v1, broken)
    assert result.exit_code == 1
    assert result.stderr == invoke("validate", broken).stdout


# --------------------------------------------------------------------------
# matching and per-post changes, on small workbooks


def test_each_kind_of_change_by_post_id(tmp_path: Path) -> None:
    old = workbook(tmp_path / "old.xlsx", [
        ["P1", "Youth", "Worker", "G5", "Buxton", 1, 1, "Relocated", "Homes", "N"],
        ["P2", "Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"],
        ["P3", "Youth", "Worker", "G5", "Buxton", 1, 1, "Deleted", None, "N"],
        ["P4", "Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"],
        ["P6", "Youth", "Assistant", "G3", "Buxton", 3, 4, "Retained", None, "N"],
        ["P7", "Youth", "Worker", "G5", "Buxton", 1, 1, "Deleted", None, "N"],
    ])
    new = workbook(tmp_path / "new.xlsx", [
        ["P1", "Youth", "Worker", "G5", "Buxton", 1, 1, "Relocated", "Learning", "N"],
        ["P2", "Youth", "Worker", "G5", "Buxton", 0.5, 1, "Retained", None, "N"],
        ["P3", "Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"],
        ["P5", "Youth", "Manager", "G9", "Buxton", 1, 1, "Created", None, "N"],
        ["P6", "Youth", "Assistant", "G3", "Buxton", 3.5, 5, "Retained", None, "N"],
        ["p7 ", "Youth", "Worker", "G5", "Buxton", 1, 1, "Deleted", None, "Y"],
    ])
    c = compare(check(old), check(new))
    assert c.match == MATCH_ID
    kinds = {ch.new.post_id: ch.changes for ch in c.changed}
    assert kinds == {"P1": ("destination",), "P2": ("fte",), "P3": ("status",),
                     "P6": ("fte", "posts"), "p7": ("vacant",)}
    assert [p.post_id for p in c.added] == ["P5"]
    assert [p.post_id for p in c.removed] == ["P4"]
    p2 = next(ch for ch in c.changed if ch.new.post_id == "P2")
    assert p2.fte_change == Decimal("-0.5")
    assert len(c.posts_with("fte")) == 2
    totals = {t.key: t for t in c.totals}
    assert totals["at_risk_posts"].change == -2          # P3 retained now, P7 vacant now
    assert totals["created_fte"].change == 1
    assert c.headline == "Since old.xlsx: deleted FTE down 1 to 1; 2 fewer posts at risk"


def test_without_post_ids_the_weaker_match_is_used_and_said(tmp_path: Path) -> None:
    header = HEADER[1:]
    old = workbook(tmp_path / "old.xlsx", [
        ["Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"],
        ["Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"],
        ["Youth", "Worker", "G5", "Matlock", 0.5, 1, "Retained", None, "N"],
        ["Youth", "Officer", "G7", "Matlock", 1, 1, "Retained", None, "N"],
    ], header)
    new = workbook(tmp_path / "new.xlsx", [
        ["Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"],
        ["Youth", "Worker", "G5", "Buxton", 1, 1, "Deleted", None, "N"],
        ["Youth", "Worker", "G5", "Matlock", 0.8, 1, "Retained", None, "N"],
        ["Youth", "Officer", "G8", "Matlock", 1, 1, "Retained", None, "N"],
    ], header)
    c = compare(check(old), check(new))
    assert c.match == MATCH_COMPOSITE
    assert "team + title + grade + location" in c.match_note and "weaker" in c.match_note
    assert [(ch.new.location, ch.changes) for ch in c.changed] == [
        ("Buxton", ("status",)), ("Matlock", ("fte",))]
    assert [(p.title, p.grade) for p in c.added] == [("Officer", "G8")]
    assert [(p.title, p.grade) for p in c.removed] == [("Officer", "G7")]
    text = invoke("compare", old, new).stdout
    assert "Posts are matched on team + title + grade + location" in text


def test_some_post_ids_missing_falls_back_to_the_weaker_match(tmp_path: Path) -> None:
    old = workbook(tmp_path / "old.xlsx", [
        ["P1", "Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"],
        [None, "Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"]])
    new = workbook(tmp_path / "new.xlsx", [
        ["P1", "Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"],
        ["P2", "Youth", "Worker", "G5", "Buxton", 1, 1, "Retained", None, "N"]])
    c = compare(check(old), check(new))
    assert c.match == MATCH_COMPOSITE
    assert "1 post row(s) in the old version have no Post ID" in c.match_note
    assert c.unchanged


def test_fte_changes_are_exact_hundredths(tmp_path: Path) -> None:
    old = workbook(tmp_path / "old.xlsx", [
        ["P1", "Play", "Practitioner", "G4", None, 33.69, 45, "Deleted", None, "N"],
        ["P2", "Youth", "Worker", "G5", None, 4.62, 5, "Deleted", None, "N"]])
    new = workbook(tmp_path / "new.xlsx", [
        ["P1", "Play", "Practitioner", "G4", None, 33.7, 45, "Deleted", None, "N"],
        ["P2", "Youth", "Worker", "G5", None, 4.62, 5, "Deleted", None, "N"]])
    c = compare(check(old), check(new))
    assert c.changed[0].fte_change == Decimal("0.01")
    assert c.headline == ("Since old.xlsx: deleted FTE up 0.01 to 38.32; no change in posts "
                          "at risk (50)")


@pytest.mark.parametrize("old, new, phrase", [
    ({"deleted_fte": Decimal(10), "deleted_posts": 10},
     {"deleted_fte": Decimal("11.5"), "deleted_posts": 11},
     "deleted FTE up 1.5 to 11.5; 1 more post proposed for deletion"),
    ({"deleted_fte": Decimal(10), "at_risk_posts": 9},
     {"deleted_fte": Decimal("1000.25"), "at_risk_posts": 1009},
     "deleted FTE up 990.25 to 1,000.25; 1,000 more posts at risk"),
    ({"deleted_fte": Decimal(10), "at_risk_posts": 9},
     {"deleted_fte": Decimal(8), "at_risk_posts": 8},
     "deleted FTE down 2 to 8; 1 fewer post at risk"),
])
def test_change_phrase(old: dict[str, Any], new: dict[str, Any], phrase: str) -> None:
    assert change_phrase(old, new) == phrase


# --------------------------------------------------------------------------
# the briefing's "What changed" section


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_brief_compare_adds_what_changed_after_the_headline(derbyshire_v1: Path,
                                                            derbyshire_v2,
                                                            tmp_path: Path) -> None:
    v2, moved = derbyshire_v2
    out = tmp_path / "brief.pdf"
    result = invoke("brief", v2, "--compare", derbyshire_v1, "-o", out)
    assert result.exit_code == 0, result.output
    text = _pdf_text(out)
    at = text.index("What changed")
    assert text.index("Headline") < at < text.index("By team")
    assert "Since derbyshire_v1.xlsx: deleted FTE up" in text
    assert "Status changed (3)" in text
    for m in moved:
        assert m.post_id in text[at:]
    plain = tmp_path / "plain.pdf"
    invoke("brief", v2, "-o", plain)
    assert "What changed" not in _pdf_text(plain)


def test_brief_since_version_from_the_store(fresh_store: Path, derbyshire_v1: Path,
                                            derbyshire_v2, tmp_path: Path) -> None:
    v2, _ = derbyshire_v2
    invoke("upload", derbyshire_v1, "--dataset", DATASET, "--store", fresh_store,
           "--as-of", "2024-03-01")
    invoke("upload", v2, "--dataset", DATASET, "--store", fresh_store, "--as-of", "2024-03-12")
    out = tmp_path / "brief.pdf"
    result = invoke("brief", "--dataset", DATASET, "--store", fresh_store, "--since-version",
                    "1", "-o", out)
    assert result.exit_code == 0, result.output
    assert "Since version 1 (1 March 2024): deleted FTE up" in _pdf_text(out)
    public = tmp_path / "public.pdf"
    result = invoke("brief", "--dataset", DATASET, "--store", fresh_store, "--since-version",
                    "1", "--audience", "public", "-o", public)
    assert result.exit_code == 0, result.output
    text = _pdf_text(public)
    assert "What changed" in text
    assert "Individual posts are not listed" in text
    assert "Status changed" not in text


def test_brief_change_options_usage(derbyshire_v1: Path, tmp_path: Path) -> None:
    result = invoke("brief", derbyshire_v1, "--since-version", "1", "-o", tmp_path / "x.pdf")
    assert result.exit_code == 2
    assert "--since-version N goes with --dataset NAME" in result.stderr
    both = invoke("brief", derbyshire_v1, "--since-version", "1", "--compare", derbyshire_v1,
                  "-o", tmp_path / "x.pdf")
    assert both.exit_code == 2
