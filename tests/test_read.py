"""Reading: status words, header aliases, header position, --map, several sheets, CSV dialects."""

from __future__ import annotations

import pytest

import reports
from reports.model import fields as schema
from reports.model.errors import BadEncoding, NoHeaderRow, UsageProblem
from tests.conftest import HEADER, invoke, located, make_csv, make_xlsx, post

# --------------------------------------------------------------------------
# status words: only case, space and punctuation variants of the listed words


def _variants(word: str) -> list[str]:
    middle = len(word) // 2
    return [
        word.upper(),
        word.title(),
        f"  {word.capitalize()}. ",
        word[:middle] + "-" + word[middle:],         # "dis-established", "no -change"
        word.replace(" ", "-").title(),              # "No-Change", "New-Post"
        word.replace(" ", "").upper(),               # "NOCHANGE"
    ]


STATUS_CASES = [(status, variant)
                for status, words in schema.STATUS_WORDS.items()
                for word in words
                for variant in _variants(word)]


@pytest.mark.parametrize("status,variant", STATUS_CASES)
def test_status_word_variants(tmp_path, status, variant):
    destination = "Learning Services" if status == "relocated" else None
    report = reports.check(make_xlsx(tmp_path, [HEADER, post("P1", status=variant,
                                                             destination=destination)]))
    assert report.valid, located(report.findings)
    assert list(report.posts["status"]) == [status]


@pytest.mark.parametrize("word", ["No-Change", "NEW POST", "Dis-established", "TRANSFERRED.",
                                  "re-tained"])
def test_status_examples_from_the_issue(tmp_path, word):
    report = reports.check(make_xlsx(tmp_path, [HEADER, post("P1", status=word,
                                                             destination="Elsewhere")]))
    assert [f.code for f in report.findings.errors] == []


@pytest.mark.parametrize("word", ["closed", "TBC", "new role", "reduce", "moving"])
def test_words_that_are_not_status_words(tmp_path, word):
    report = reports.check(make_xlsx(tmp_path, [HEADER, post("P1", status=word)]))
    assert located(report.findings.errors) == [("status-unknown", "G2")]


# --------------------------------------------------------------------------
# header aliases


@pytest.mark.parametrize("field,alias", [
    ("fte", "F.T.E."), ("fte", "fte"), ("fte", "FTE (£)"), ("fte", "Full-time equivalent"),
    ("team", "Service area"), ("team", "DEPARTMENT"), ("team", "Service"),
    ("grade", "Band"), ("grade", "Pay grade"), ("grade", "Scale"),
    ("title", "Post title"), ("title", "Role"), ("title", "job_title"),
    ("status", "Proposal"), ("status", "Proposed status"), ("status", "Outcome"),
    ("posts", "No. of posts"), ("posts", "Number of posts"), ("posts", "Headcount"),
    ("post_id", "Position number"), ("post_id", "Post No"),
    ("destination", "Transfers to"), ("destination", "Relocated to"),
])
def test_header_alias(tmp_path, field, alias):
    canonical = {"post_id": "Post ID", "team": "Team", "title": "Job title", "grade": "Grade",
                 "fte": "FTE", "posts": "Posts", "status": "Status",
                 "destination": "Destination"}
    header = [alias if h == canonical[field] else h for h in HEADER]
    row = post("P-7", team="Family Support", title="Family Worker", grade="Grade 6", fte=2,
               posts=3, status="Relocated", destination="Learning Services")
    report = reports.check(make_xlsx(tmp_path, [header, row]))
    assert report.valid, located(report.findings)
    got = report.posts.iloc[0]
    expected = {"post_id": "P-7", "team": "Family Support", "title": "Family Worker",
                "grade": "Grade 6", "fte": 2_000_000, "posts": 3, "status": "relocated",
                "destination": "Learning Services"}
    assert got[field] == expected[field]


@pytest.mark.parametrize("alias", ["Location", "Site", "Base", "Centre"])
def test_location_aliases(tmp_path, alias):
    report = reports.check(make_xlsx(tmp_path, [HEADER + [alias], post("P1") + ["Ilkeston"]]))
    assert list(report.posts["location"]) == ["Ilkeston"]


# --------------------------------------------------------------------------
# where the header row is


@pytest.mark.parametrize("title_rows", [1, 2, 5, 29])
def test_header_below_title_and_blank_rows(tmp_path, title_rows):
    path = make_xlsx(tmp_path, [HEADER, post("P1"), post("P2", fte=0.5)], title_rows=title_rows)
    report = reports.check(path)
    assert report.valid
    header_row = title_rows + 1
    assert list(report.posts["row"]) == [header_row + 1, header_row + 2]
    assert report.workbook.tables[0].header_row == header_row


def test_findings_use_sheet_rows_below_a_title(tmp_path):
    path = make_xlsx(tmp_path, [HEADER, post("P1"), post("P2", fte=-1)], title_rows=3)
    assert located(reports.check(path).findings.errors) == [("fte-negative", "E6")]


def test_header_at_row_30_is_found(tmp_path):
    path = make_xlsx(tmp_path, [HEADER, post("P1")], title_rows=29)
    assert reports.check(path).workbook.tables[0].header_row == 30


def test_header_at_row_31_is_not_found(tmp_path):
    path = make_xlsx(tmp_path, [HEADER, post("P1")], title_rows=30)
    with pytest.raises(NoHeaderRow):
        reports.check(path)


def test_two_recognised_headings_are_not_a_header_row(tmp_path):
    path = make_xlsx(tmp_path, [["Team", "FTE", "Comments"], ["A", 1, "x"]])
    with pytest.raises(NoHeaderRow):
        reports.check(path)


# --------------------------------------------------------------------------
# --map


MAPPED_HEADER = ["Team", "Job title", "Grade", "Current FTE", "Status"]


def test_unmapped_heading_is_unknown(tmp_path):
    path = make_xlsx(tmp_path, [MAPPED_HEADER, ["A", "B", "C", 0.5, "Deleted"]])
    report = reports.check(path)
    assert located(report.findings.errors) == [("missing-column", "1:1")]
    assert located(report.findings.infos) == [("unknown-column", "D1"), ("posts-not-given", None)]


@pytest.mark.parametrize("mapping", ["Current FTE=fte", "current fte = FTE", "CURRENT-FTE=fte"])
def test_map_names_a_heading(tmp_path, mapping):
    path = make_xlsx(tmp_path, [MAPPED_HEADER, ["A", "B", "C", 0.5, "Deleted"]])
    report = reports.check(path, mapping=[mapping])
    assert report.valid, located(report.findings)
    assert list(report.posts["fte"]) == [500_000]      # millionths


def test_map_beats_an_alias(tmp_path):
    header = ["Team", "Job title", "Grade", "FTE", "Budgeted FTE", "Status"]
    path = make_xlsx(tmp_path, [header, ["A", "B", "C", 1, 0.5, "Deleted"]])
    report = reports.check(path, mapping=["Budgeted FTE=fte"])
    assert report.valid, located(report.findings)
    assert list(report.posts["fte"]) == [500_000]      # millionths


@pytest.mark.parametrize("bad", ["Current FTE", "Current FTE=salary", "=fte", "=ignore"])
def test_bad_map_is_a_usage_problem(tmp_path, bad):
    path = make_xlsx(tmp_path, [MAPPED_HEADER, ["A", "B", "C", 0.5, "Deleted"]])
    with pytest.raises(UsageProblem):
        reports.check(path, mapping=[bad])
    result = invoke("validate", path, "--map", bad)
    assert result.exit_code == 2
    assert "--map" in result.stderr
    assert "Traceback" not in result.output


def test_map_in_the_cli(tmp_path):
    path = make_xlsx(tmp_path, [MAPPED_HEADER, ["A", "B", "C", 0.5, "Deleted"]])
    assert invoke("validate", path).exit_code == 1
    assert invoke("validate", path, "--map", "Current FTE=fte").exit_code == 0


# --------------------------------------------------------------------------
# several sheets


CENTRES_HEADER = ["Post number", "Service area", "Role", "Band", "Proposal",
                  "Full time equivalent", "No. of posts", "Site"]


@pytest.fixture
def three_sheet_workbook(tmp_path):
    """'Early Help' in canonical layout under a title; 'Centres' with other headings in
    another order; 'Notes' with no header row; 'Blank' with nothing at all."""
    return make_xlsx(tmp_path, name="three_sheets.xlsx", sheets={
        "Early Help": [["Early Help staffing proposals"], [], HEADER,
                       post("EH-1", fte=1), post("EH-2", fte=0.5, status="Retained")],
        "Centres": [CENTRES_HEADER,
                    ["CC-1", "Children's Centres", "Centre Manager", "Grade 9", "Deleted",
                     0.8, 1, "Ilkeston"],
                    ["CC-2", "Children's Centres", "Family Worker", "Grade 6", "Retained",
                     2.5, 3, "Belper"]],
        "Notes": [["These proposals are subject to consultation."], ["Contact HR."]],
        "Blank": [],
    })


def test_every_sheet_with_a_header_is_read(three_sheet_workbook):
    report = reports.check(three_sheet_workbook)
    assert report.valid, located(report.findings)
    assert report.workbook.sheets_read == ["Early Help", "Centres"]
    posts = report.posts
    assert list(zip(posts["sheet"], posts["row"], posts["post_id"])) == [
        ("Early Help", 4, "EH-1"), ("Early Help", 5, "EH-2"),
        ("Centres", 2, "CC-1"), ("Centres", 3, "CC-2")]
    centres = posts[posts["sheet"] == "Centres"]
    assert list(centres["team"]) == ["Children's Centres"] * 2
    assert list(centres["title"]) == ["Centre Manager", "Family Worker"]
    assert list(centres["grade"]) == ["Grade 9", "Grade 6"]
    assert list(centres["status"]) == ["deleted", "retained"]
    assert list(centres["fte"]) == [800_000, 2_500_000]
    assert list(centres["posts"]) == [1, 3]
    assert list(centres["location"]) == ["Ilkeston", "Belper"]


def test_sheets_without_a_header_are_skipped_and_reported(three_sheet_workbook):
    report = reports.check(three_sheet_workbook)
    assert [(f.code, f.severity, f.sheet) for f in report.findings.infos] == [
        ("sheet-skipped", "info", "Notes"), ("sheet-skipped", "info", "Blank")]
    assert [s["sheet"] for s in report.to_dict()["source"]["skipped_sheets"]] == ["Notes",
                                                                                 "Blank"]


def test_sheet_option_restricts_the_read(three_sheet_workbook):
    report = reports.check(three_sheet_workbook, sheets=["Centres"])
    assert report.workbook.sheets_read == ["Centres"]
    assert list(report.posts["post_id"]) == ["CC-1", "CC-2"]
    assert located(report.findings.infos) == []


def test_sheet_option_ignores_case(three_sheet_workbook):
    report = reports.check(three_sheet_workbook, sheets=["early help"])
    assert report.workbook.sheets_read == ["Early Help"]


def test_sheet_option_with_only_a_headerless_sheet(three_sheet_workbook):
    with pytest.raises(NoHeaderRow):
        reports.check(three_sheet_workbook, sheets=["Notes"])


def test_unknown_sheet_is_a_usage_problem_listing_the_sheets(three_sheet_workbook):
    with pytest.raises(UsageProblem):
        reports.check(three_sheet_workbook, sheets=["Posts"])
    result = invoke("validate", three_sheet_workbook, "--sheet", "Posts")
    assert result.exit_code == 2
    for name in ("Early Help", "Centres", "Notes", "Blank"):
        assert f"'{name}'" in result.stderr
    assert result.stdout == ""


def test_sheet_option_on_a_csv_is_a_usage_problem(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1")])
    assert invoke("summary", path, "--sheet", "Posts").exit_code == 2


# --------------------------------------------------------------------------
# CSV dialects and encodings


CC = "Children’s Centres"   # with a curly apostrophe (U+2019), as Excel writes it


def test_utf8_csv(tmp_path):
    report = reports.check(make_csv(tmp_path, [HEADER, post("P1", team=CC)]))
    assert report.valid
    assert list(report.posts["team"]) == [CC]
    assert (report.workbook.encoding, report.workbook.delimiter) == ("utf-8", ",")


def test_utf8_csv_with_bom(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1", team=CC)], bom=True)
    report = reports.check(path)
    assert report.valid, located(report.findings)
    assert list(report.posts["team"]) == [CC]
    assert located(report.findings.infos) == []          # the BOM did not spoil "Post ID"
    assert list(report.posts["post_id"]) == ["P1"]


def test_cp1252_semicolon_csv(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1", team=CC, fte="0.5")], encoding="cp1252",
                    delimiter=";")
    assert "’".encode("cp1252") in path.read_bytes()
    report = reports.check(path)
    assert report.valid
    assert (report.workbook.encoding, report.workbook.delimiter) == ("cp1252", ";")
    assert list(report.posts["team"]) == [CC]
    assert list(report.posts["fte"]) == [500_000]      # millionths
    assert located(report.findings.infos) == [("encoding", None)]


def test_tab_separated(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1", team="A, B and C")], delimiter="\t",
                    name="posts.tsv")
    report = reports.check(path)
    assert report.workbook.delimiter == "\t"
    assert list(report.posts["team"]) == ["A, B and C"]


def test_encoding_override(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1", team=CC)])           # UTF-8 bytes
    report = reports.check(path, encoding="cp1252")                       # read as cp1252
    assert list(report.posts["team"]) == [CC.encode("utf-8").decode("cp1252")]
    assert report.workbook.encoding == "cp1252"
    # and the other way round: a Windows-1252 file named as such needs no guess
    path = make_csv(tmp_path, [HEADER, post("P1", team=CC)], encoding="cp1252", name="w.csv")
    report = reports.check(path, encoding="cp1252")
    assert list(report.posts["team"]) == [CC]


def test_wrong_encoding_override_is_a_whole_file_error(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1", team=CC)], encoding="cp1252")
    with pytest.raises(BadEncoding):
        reports.check(path, encoding="utf-8")
    result = invoke("validate", path, "--encoding", "utf-8")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_bogus_encoding_exits_2(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1")])
    with pytest.raises(UsageProblem):
        reports.check(path, encoding="bogus")
    result = invoke("summary", path, "--encoding", "bogus")
    assert result.exit_code == 2
    assert "bogus" in result.stderr


def test_csv_header_below_title_rows(tmp_path):
    path = make_csv(tmp_path, [["Staffing proposals"], [], HEADER, post("P1", fte="0.5")])
    report = reports.check(path)
    assert report.valid
    assert list(report.posts["row"]) == [4]


def test_csv_with_ragged_rows(tmp_path):
    path = make_csv(tmp_path, [["Staffing proposals"], HEADER, post("P1") + ["extra", "cells"],
                               post("P2")])
    report = reports.check(path)
    assert report.valid
    assert list(report.posts["post_id"]) == ["P1", "P2"]


def test_quoted_newlines_and_delimiters_in_csv(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1", title="Worker,\nsenior")])
    report = reports.check(path)
    assert list(report.posts["title"]) == ["Worker,\nsenior"]
