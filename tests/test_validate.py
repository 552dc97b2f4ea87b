"""Every validation rule, each on a small workbook that triggers it, by code and cell."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import reports
from reports.model import fields as schema
from reports.model.fixes import Fix
from tests.conftest import HEADER, located, make_csv, make_xlsx, post


def check_rows(tmp_path: Path, rows: list[list], header: list[str] = HEADER, **kw):
    return reports.check(make_xlsx(tmp_path, [header, *rows]), **kw)


def test_valid_rows_have_no_findings(valid_xlsx):
    report = reports.check(valid_xlsx)
    assert report.valid
    assert located(report.findings) == []
    assert list(report.posts["status"]) == ["deleted", "deleted", "retained"]
    assert list(report.posts["row"]) == [2, 3, 4]


# --------------------------------------------------------------------------
# columns


def test_missing_column_names_the_field_and_its_headers(tmp_path):
    header = ["Team", "Job title", "Grade", "Status"]          # no FTE
    report = check_rows(tmp_path, [["Family Support", "Worker", "G6", "Deleted"]], header)
    assert located(report.findings.errors) == [("missing-column", "1:1")]
    message = report.findings.errors[0].message
    assert "FTE" in message
    assert "'Full time equivalent'" in message
    # the fix is a setting, not command-line text: say which column holds the FTE
    assert "--map" not in message
    assert report.findings.errors[0].fixes == ((Fix("map", None, "fte"),),)


@pytest.mark.parametrize("dropped", ["Team", "Job title", "Grade", "Status"])
def test_each_required_column_is_reported_when_missing(tmp_path, dropped):
    header = [h for h in ["Team", "Job title", "Grade", "FTE", "Status"] if h != dropped]
    row = {"Team": "A", "Job title": "B", "Grade": "C", "FTE": 1, "Status": "Retained"}
    report = check_rows(tmp_path, [[row[h] for h in header]], header)
    assert located(report.findings.errors) == [("missing-column", "1:1")]
    assert f"'{dropped}'" in report.findings.errors[0].message


def test_missing_column_is_located_at_a_header_below_title_rows(tmp_path):
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "Status"],
                                ["A", "B", "C", "Deleted"]], title_rows=3)
    report = reports.check(path)
    assert located(report.findings.errors) == [("missing-column", "4:4")]


def test_two_columns_for_one_field_is_an_error(tmp_path):
    header = ["Team", "Job title", "Grade", "FTE", "Full time equivalent", "Status"]
    report = check_rows(tmp_path, [["A", "B", "C", 1, 1, "Deleted"]], header)
    assert located(report.findings.errors) == [("duplicate-column", "E1")]


def test_unknown_column_is_info(tmp_path):
    header = HEADER + ["Notes"]
    report = check_rows(tmp_path, [post("P1") + ["keep an eye on this"]], header)
    assert report.valid
    assert located(report.findings.infos) == [("unknown-column", "I1")]
    assert report.findings.infos[0].severity == "info"


# --------------------------------------------------------------------------
# required cells


@pytest.mark.parametrize("field,cell", [
    ("team", "B3"), ("title", "C3"), ("grade", "D3"), ("fte", "E3"), ("status", "G3"),
])
def test_required_blank(tmp_path, field, cell):
    report = check_rows(tmp_path, [post("P1"), post("P2", **{field: None})])
    assert located(report.findings.errors) == [("required-blank", cell)]


def test_whitespace_only_counts_as_blank(tmp_path):
    report = check_rows(tmp_path, [post("P1", team="   ")])
    assert located(report.findings.errors) == [("required-blank", "B2")]


def test_blank_post_id_and_posts_are_fine(tmp_path):
    report = check_rows(tmp_path, [post(None, posts=None), post(None, posts=None)])
    assert report.valid
    assert list(report.posts["posts"]) == [1, 1]


def test_entirely_blank_rows_are_skipped(tmp_path):
    report = check_rows(tmp_path, [post("P1"), [None] * 8, post("P2")])
    assert report.valid
    assert list(report.posts["row"]) == [2, 4]


# --------------------------------------------------------------------------
# FTE and posts


@pytest.mark.parametrize("fte,code", [
    ("abc", "fte-not-number"),
    ("1,5", "fte-not-number"),      # a decimal comma is not read as 1.5
    ("TRUE", "fte-not-number"),
    (0, "fte-zero"),
    (-4.62, "fte-negative"),
    (-1, "fte-negative"),
    (0.3333333, "fte-too-precise"),
    (0.1234567, "fte-too-precise"),
    (1.5, "fte-exceeds-posts"),
])
def test_fte_rules(tmp_path, fte, code):
    report = check_rows(tmp_path, [post("P1"), post("P2", fte=fte, posts=1)])
    assert located(report.findings.errors) == [(code, "E3")]
    assert report.findings.errors[0].value == str(fte)


@pytest.mark.parametrize("fte,posts", [(33.69, 45), (4.62, 5), (0.5, 1), (1, 1), (3, 3),
                                       ("0.75", 1), (0.01, 1), (0.333, 1), (0.533333, 1),
                                       ("0.123456", 1)])
def test_fte_accepted(tmp_path, fte, posts):
    report = check_rows(tmp_path, [post("P1", fte=fte, posts=posts)])
    assert report.valid, located(report.findings)
    assert list(report.posts["fte"]) == [int(Decimal(str(fte)) * 10**6)]   # millionths


def test_fte_over_a_grouped_rows_posts(tmp_path):
    report = check_rows(tmp_path, [post("P1", fte=3.5, posts=3), post("P2", fte=3, posts=3)])
    assert located(report.findings.errors) == [("fte-exceeds-posts", "E2")]


@pytest.mark.parametrize("posts", [2.5, 0, "two", -1])
def test_posts_invalid(tmp_path, posts):
    report = check_rows(tmp_path, [post("P1", posts=posts)])
    assert located(report.findings.errors) == [("posts-invalid", "F2")]


def test_fte_in_a_csv_is_read_from_text(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1", fte="0.3333333"), post("P2", fte=" 1 ")])
    report = reports.check(path)
    assert located(report.findings.errors) == [("fte-too-precise", "E2")]


# --------------------------------------------------------------------------
# status and destination


def test_status_unknown_lists_the_accepted_words(tmp_path):
    report = check_rows(tmp_path, [post("P1", status="Zapped")])
    assert located(report.findings.errors) == [("status-unknown", "G2")]
    message = report.findings.errors[0].message
    for word in ("deleted", "disestablished", "redundant", "retained", "no change",
                 "relocated", "transferred", "created", "new post"):
        assert word in message


def test_destination_missing_when_blank(tmp_path):
    report = check_rows(tmp_path, [post("P1", status="Relocated", destination=None)])
    assert located(report.findings.errors) == [("destination-missing", "H2")]


def test_no_destination_column_is_one_warning_and_not_given(tmp_path):
    header = HEADER[:-1]
    report = check_rows(tmp_path, [post("P1")[:-1], post("P2", status="Relocated")[:-1],
                                   post("P3", status="Relocated")[:-1]], header)
    assert report.valid
    assert located(report.findings.warnings) == [("destination-not-given", "G3")]
    assert "2 relocated row(s)" in report.findings.warnings[0].message
    summary = reports.summarise(report)
    assert [g["destination"] for g in summary.groups["by_destination"]] == ["(not given)"]


def test_a_blank_cell_in_a_destination_column_is_still_an_error(tmp_path):
    report = check_rows(tmp_path, [post("P1"), post("P2", status="Relocated", destination="")])
    assert located(report.findings.errors) == [("destination-missing", "H3")]


def test_destination_unexpected_is_a_warning(tmp_path):
    report = check_rows(tmp_path, [post("P1", status="Retained", destination="Learning")])
    assert report.valid
    assert located(report.findings.warnings) == [("destination-unexpected", "H2")]


def test_relocated_with_destination_is_valid(tmp_path):
    report = check_rows(tmp_path, [post("P1", status="transferred",
                                        destination="Homes and Communities")])
    assert report.valid
    assert list(report.posts["destination"]) == ["Homes and Communities"]
    assert list(report.posts["status"]) == ["relocated"]


# --------------------------------------------------------------------------
# formulas without a saved value (openpyxl writes formulas with no cached result)


@pytest.mark.parametrize("field,cell", [("fte", "E3"), ("team", "B3"), ("status", "G3"),
                                        ("posts", "F3")])
def test_formula_without_value_is_reported_not_read_as_blank(tmp_path, field, cell):
    report = check_rows(tmp_path, [post("P1"), post("P2", **{field: "=1+0"})])
    assert located(report.findings.errors) == [("formula-no-value", cell)]
    assert report.findings.errors[0].value == "=1+0"


def test_formula_in_a_total_row_is_reported(tmp_path):
    report = check_rows(tmp_path, [post("P1"), post("P2"),
                                   [None, "Total", None, None, "=SUM(E2:E3)", None, None, None]])
    assert located(report.findings.errors) == [("formula-no-value", "E4")]


# --------------------------------------------------------------------------
# post IDs


def test_duplicate_post_id_names_both_cells(tmp_path):
    report = check_rows(tmp_path, [post("P1"), post("P2"), post("P1")])
    assert located(report.findings.errors) == [("duplicate-post-id", "A4")]
    message = report.findings.errors[0].message
    assert "'Posts'!A4" in message and "'Posts'!A2" in message


def test_duplicate_post_ids_fold_case_and_point_to_the_first_use(tmp_path):
    # "Straße" folds to "strasse" (casefold, not lower); a third use points to the first
    report = check_rows(tmp_path, [post("Straße-1"), post("P2"), post("STRASSE-1"),
                                   post(" p2 "), post("strasse-1"), post(None), post(None)])
    got = [(f.cell, f.message.split(" is also used at ")[1][:13])
           for f in report.findings.errors if f.code == "duplicate-post-id"]
    assert got == [("A4", "'Posts'!A2; e"), ("A5", "'Posts'!A3; e"), ("A6", "'Posts'!A2; e")]


def test_duplicate_post_id_across_sheets(tmp_path):
    other = ["Team", "Post number", "Job title", "Grade", "FTE", "Status"]
    path = make_xlsx(tmp_path, sheets={
        "Early Help": [HEADER, post("EH-1"), post("EH-2")],
        "Centres": [other, ["Centres", "EH-2", "Manager", "G9", 1, "Retained"]],
    })
    report = reports.check(path)
    assert [(f.code, f.sheet, f.cell) for f in report.findings.errors] == [
        ("duplicate-post-id", "Centres", "B2")]
    message = report.findings.errors[0].message
    assert "'Centres'!B2" in message and "'Early Help'!A3" in message


# --------------------------------------------------------------------------
# totals rows


def total_row(label: str, fte, posts=None) -> list:
    return [None, label, None, None, fte, posts, None, None]


def test_correct_total_subtotal_and_grand_total_give_no_error(tmp_path):
    report = check_rows(tmp_path, [
        post("P1", fte=33.69, posts=45), post("P2", fte=4.62, posts=5),
        total_row("Sub-total", 38.31, 50),
        post("P3", fte=0.5, status="Retained"), post("P4", fte=1, status="Created"),
        total_row("Subtotal", 1.5, 2),
        total_row("Total", 39.81, 52),
        total_row("Grand total", "39.81", 52),
    ])
    assert report.valid, located(report.findings)
    assert len(report.posts) == 4


def test_total_mismatch_gives_both_numbers(tmp_path):
    report = check_rows(tmp_path, [post("P1", fte=33.69, posts=45), post("P2", fte=4.62, posts=5),
                                   total_row("Total", 38.3, 50)])
    assert located(report.findings.errors) == [("total-mismatch", "E4")]
    message = report.findings.errors[0].message
    assert "38.3" in message and "38.31" in message


def test_total_posts_mismatch(tmp_path):
    report = check_rows(tmp_path, [post("P1", fte=2, posts=2), post("P2"),
                                   total_row("Total", 3, 4)])
    assert located(report.findings.errors) == [("total-mismatch", "F4")]
    assert "4" in report.findings.errors[0].message and "3" in report.findings.errors[0].message


def test_total_counts_every_status_above_it(tmp_path):
    rows = [post("P1", status="Deleted"), post("P2", status="Retained"),
            post("P3", status="Relocated", destination="Learning Services"),
            post("P4", status="Created")]
    assert check_rows(tmp_path, rows + [total_row("Total", 4)]).valid
    report = check_rows(tmp_path, rows + [total_row("Total", 3)])
    assert located(report.findings.errors) == [("total-mismatch", "E6")]


def test_total_includes_rows_above_a_subtotal(tmp_path):
    rows = [post("P1", fte=1), total_row("Sub-total", 1), post("P2", fte=0.5),
            total_row("Sub-total", 0.5)]
    assert check_rows(tmp_path, rows + [total_row("Total", 1.5)]).valid
    report = check_rows(tmp_path, rows + [total_row("Total", 0.5)])
    assert located(report.findings.errors) == [("total-mismatch", "E6")]


def test_subtotal_resets_after_the_previous_subtotal(tmp_path):
    report = check_rows(tmp_path, [
        post("P1", fte=1), post("P2", fte=1), total_row("Sub-total", 2),
        post("P3", fte=0.5),
        total_row("Sub-total", 2.5),          # wrong: only P3 is since the previous sub-total
    ])
    assert located(report.findings.errors) == [("subtotal-mismatch", "E6")]
    message = report.findings.errors[0].message
    assert "2.5" in message and "0.5" in message


def test_first_subtotal_covers_rows_since_the_header(tmp_path):
    report = check_rows(tmp_path, [post("P1", fte=1), post("P2", fte=0.25),
                                   total_row("Sub-total", 1)])
    assert located(report.findings.errors) == [("subtotal-mismatch", "E4")]
    assert "1.25" in report.findings.errors[0].message


def test_total_row_with_text_in_a_figure_is_reported(tmp_path):
    report = check_rows(tmp_path, [post("P1"), total_row("Total", "lots")])
    assert located(report.findings.errors) == [("total-mismatch", "E3")]


def test_total_row_label_in_any_column_and_is_not_a_post(tmp_path):
    report = check_rows(tmp_path, [post("P1", fte=0.5),
                                   [None, None, None, "TOTAL:", 0.5, None, None, None]])
    assert report.valid
    assert len(report.posts) == 1


def test_a_post_whose_title_begins_with_total_is_not_a_total_row(tmp_path):
    # Blank status, and the title reads "Total ...": still a post with a blank status,
    # not a totals row that happens to agree with the row above and silently vanishes.
    report = check_rows(tmp_path, [post("P1"), post("P2", title="Total Rewards Officer",
                                                    status=None)])
    assert located(report.findings.errors) == [("required-blank", "G3")]
    assert list(report.posts["post_id"]) == ["P1", "P2"]


def test_total_label_in_the_title_column(tmp_path):
    report = check_rows(tmp_path, [post("P1", fte=0.5),
                                   [None, None, "Total", None, 0.75, None, None, None]])
    assert located(report.findings.errors) == [("total-mismatch", "E3")]
    assert len(report.posts) == 1


# --------------------------------------------------------------------------
# control totals from the command line


def test_expectations_that_match_give_no_error(valid_xlsx):
    # baseline = 1 + 0.5 + 1 = 2.5; deleted = 1.5
    report = reports.check(valid_xlsx, expect_fte="2.5", expect_deleted_fte=Decimal("1.50"))
    assert report.valid


def test_expectations_that_disagree(valid_xlsx):
    report = reports.check(valid_xlsx, expect_fte="2.4", expect_deleted_fte="1.25")
    assert [f.code for f in report.findings.errors] == ["expect-fte-mismatch",
                                                        "expect-deleted-fte-mismatch"]
    fte, deleted = report.findings.errors
    assert "2.4" in fte.message and "2.5" in fte.message
    assert "1.25" in deleted.message and "1.5" in deleted.message


def test_baseline_expectation_ignores_created_posts(tmp_path):
    report = check_rows(tmp_path, [post("P1", fte=1), post("P2", fte=1, status="Created")],
                        expect_fte="1")
    assert report.valid


# --------------------------------------------------------------------------
# vacancy, cost, personal data, long text


COST_HEADER = HEADER + ["Vacant", "Annual cost"]


def test_vacant_invalid(tmp_path):
    report = check_rows(tmp_path, [post("P1") + ["maybe", 1000], post("P2") + ["Y", 1000]],
                        COST_HEADER)
    assert located(report.findings.errors) == [("vacant-invalid", "I2")]


@pytest.mark.parametrize("word,vacant", [("Y", True), ("yes", True), ("TRUE", True),
                                         ("n", False), ("No", False), ("false", False)])
def test_vacant_words(tmp_path, word, vacant):
    report = check_rows(tmp_path, [post("P1") + [word, 1000]], COST_HEADER)
    assert report.valid
    assert list(report.posts["vacant"]) == [vacant]


def test_vacant_blank_is_a_warning(tmp_path):
    report = check_rows(tmp_path, [post("P1") + [None, 1000]], COST_HEADER)
    assert report.valid
    assert located(report.findings.warnings) == [("vacant-blank", "I2")]


@pytest.mark.parametrize("cost,code,severity", [
    ("lots", "cost-not-number", "error"),
    (-5, "cost-negative", "error"),
    (None, "cost-blank", "warning"),
    (10.005, "cost-rounded", "warning"),
])
def test_cost_rules(tmp_path, cost, code, severity):
    report = check_rows(tmp_path, [post("P1") + ["N", cost]], COST_HEADER)
    assert located(report.findings.of(severity)) == [(code, "J2")]


def test_cost_with_pound_sign_and_commas(tmp_path):
    report = check_rows(tmp_path, [post("P1") + ["N", "£31,234.50"]], COST_HEADER)
    assert report.valid
    assert list(report.posts["cost"]) == [3123450]


def test_vacant_and_cost_on_only_one_sheet_are_partial(tmp_path):
    path = make_xlsx(tmp_path, sheets={"A": [COST_HEADER, post("P1") + ["N", 100]],
                                       "B": [HEADER, post("P2")]})
    report = reports.check(path)
    assert report.valid
    assert [(f.code, f.sheet) for f in report.findings.warnings] == [
        ("vacant-partial", "B"), ("annual-cost-partial", "B")]


def test_personal_data_column_is_a_warning(tmp_path):
    header = ["Employee name"] + HEADER
    report = check_rows(tmp_path, [["Łukasz Nowak"] + post("P1")], header)
    assert report.valid
    assert located(report.findings.warnings) == [("personal-data", "A1")]


def test_value_too_long(tmp_path):
    # openpyxl cuts text at Excel's 32,767 characters, so the long value comes in a CSV.
    path = make_csv(tmp_path, [HEADER, post("P1", title="x" * 40_000)])
    report = reports.check(path)
    assert located(report.findings.errors) == [("value-too-long", "C2")]


# --------------------------------------------------------------------------
# findings as data


def test_findings_carry_sheet_column_and_value(tmp_path):
    report = check_rows(tmp_path, [post("P1"), post("P2", fte=-4.62)])
    (finding,) = report.findings.errors
    assert (finding.code, finding.severity, finding.sheet, finding.cell, finding.column,
            finding.value) == ("fte-negative", "error", "Posts", "E3", "FTE", "-4.62")
    assert report.to_dict()["errors"] == [finding.to_dict()]


def test_schema_status_words_match_the_docs():
    # The words promised in the status table of docs/reading.md.
    page = (Path(__file__).resolve().parent.parent / "docs" / "reading.md").read_text(
        encoding="utf-8")
    table = page[page.index("| status | words |"):]
    rows = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        status, words = (c.strip() for c in line.strip("|").split("|"))
        rows[status] = {w.strip() for w in words.split(", ")}
    promised = {k: v for k, v in rows.items() if k in schema.STATUSES}
    assert {s: set(w) for s, w in schema.STATUS_WORDS.items()} == promised
    assert set(schema.COMPOUND_WORDS) == rows["deleted and vacant"] | rows["deleted and occupied"]
    for word in rows["deleted and vacant"]:
        assert schema.COMPOUND_WORDS[word] == ("deleted", True)


def test_a_boolean_cell_among_whole_numbers_is_not_read_as_one(tmp_path):
    # pandas' factorize hashes True as 1: a TRUE cell beside real 1s must still be flagged.
    rows = [HEADER, post("P1", fte=1), post("P2", fte=True), post("P3", fte=1, posts=True)]
    report = reports.check(make_xlsx(tmp_path, rows))
    assert sorted((f.code, f.cell, f.value) for f in report.findings.errors) == [
        ("fte-not-number", "E3", "TRUE"), ("posts-invalid", "F4", "TRUE")]
