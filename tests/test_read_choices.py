"""Reading options a front end offers as choices (issue 26): --map "Heading=ignore", the
header row given (--header-row), and the layout a file's reading reports (the rows that
may be its header, its columns and their few values)."""

from __future__ import annotations

from decimal import Decimal

import pytest

import reports
from reports.model.errors import EmptyFile, NoHeaderRow, UsageProblem
from reports.services import profiles
from reports.services.source import HowToRead
from tests.conftest import HEADER, invoke, make_csv, make_xlsx, post

# a council-style sheet: a title, a blank row, then headings impact does not know
ODD_HEADER = ["Section", "Role name", "Pay level", "Hours share", "Plan", "Month"]
ODD_ROWS = [["Finance", "Officer", "G5", "1.0", "stays", "2024-01"],
            ["Finance", "Clerk", "G3", "0.5", "goes", "2024-01"],
            ["Payroll", "Lead", "G6", "0.8", "stays", "2024-02"]]
ODD_MAP = ["Section=team", "Role name=title", "Pay level=grade", "Hours share=fte",
           "Plan=status", "Month=ignore"]


def odd_rows() -> list[list[object]]:
    return [["Structure chart 2024"], [], ODD_HEADER, *ODD_ROWS]


@pytest.mark.parametrize("word", ["ignore", "none", "", " Ignore "])
def test_map_ignore_leaves_a_column_unused_without_a_finding(tmp_path, word):
    header = [*HEADER, "Notes"]
    path = make_xlsx(tmp_path, [header, [*post(1), "covering"]])
    plain = reports.check(path)
    assert [u["header"] for u in plain.unused] == ["Notes"]
    report = reports.check(path, mapping=[f"Notes={word}"])
    assert report.valid
    assert report.unused == []
    assert not [f for f in report.findings if f.column == "Notes"]
    assert "Notes" not in [c["header"] for c in report.columns]


def test_map_ignore_on_the_command_line(tmp_path):
    path = make_csv(tmp_path, [[*HEADER, "Remarks"], [*post(1), "x"]])
    result = invoke("validate", path, "--map", "Remarks=ignore")
    assert result.exit_code == 0, result.output
    assert "Remarks" not in result.output


def test_map_ignore_may_name_a_personal_heading(tmp_path):
    path = make_xlsx(tmp_path, [[*HEADER, "Employee name"], [*post(1), "A Person"]])
    report = reports.check(path, mapping=["Employee name=ignore"])
    assert report.valid
    with pytest.raises(UsageProblem):
        reports.check(path, mapping=["Employee name=team"])


def test_an_unfamiliar_header_is_not_found_and_the_likeliest_rows_are_offered(tmp_path):
    path = make_csv(tmp_path, odd_rows())
    with pytest.raises(NoHeaderRow) as caught:
        reports.check(path)
    (layout,) = caught.value.layouts
    assert layout.header_row is None
    assert layout.candidates[0].row == 3          # the headings, not the title or data
    assert layout.candidates[0].cells == tuple(ODD_HEADER)
    assert 1 not in [c.row for c in layout.candidates]   # one cell: not a header


def test_header_row_given_reads_the_file_with_the_mapping(tmp_path):
    path = make_xlsx(tmp_path, odd_rows())
    report = reports.check(path, header_row=3, mapping=ODD_MAP,
                           status_map=["stays=retained", "goes=deleted"])
    assert report.valid, [f.message for f in report.findings.errors]
    want = sum(Decimal(str(r[3])) for r in ODD_ROWS) * 1_000_000      # millionths
    assert sum(int(v) for v in report.posts["fte"]) == want
    assert sorted(report.posts["status"]) == ["deleted", "retained", "retained"]
    assert [c["header"] for c in report.columns] == ODD_HEADER[:5]
    assert report.unused == []


def test_header_row_without_known_headings_reads_every_row(tmp_path):
    """The header row given, none of its headings known yet: the rows are read (so the
    mapping step can ask about every column), not refused as "no posts"."""
    path = make_csv(tmp_path, odd_rows())
    report = reports.check(path, header_row=3)
    assert not report.valid
    assert report.workbook.rows_read == len(ODD_ROWS)
    assert [u["header"] for u in report.unused] == ODD_HEADER
    (layout,) = report.workbook.layouts
    assert layout.header_row == 3
    by_heading = {c.heading: c for c in layout.columns}
    assert by_heading["Month"].values == ("2024-01", "2024-02")
    assert by_heading["Role name"].suggested == "title"      # a near miss
    assert by_heading["Role name"].field is None


def test_header_row_on_a_blank_row_says_so(tmp_path):
    path = make_csv(tmp_path, odd_rows())
    with pytest.raises((NoHeaderRow, EmptyFile)) as caught:
        reports.check(path, header_row=2)
    assert "row 2" in str(caught.value)


@pytest.mark.parametrize("bad", ["0", "-1", "x"])
def test_bad_header_row_is_a_usage_problem(tmp_path, bad):
    path = make_csv(tmp_path, odd_rows())
    result = invoke("validate", path, "--header-row", bad)
    assert result.exit_code == 2


def test_header_row_and_one_post_per_row_are_kept_in_a_profile():
    how = HowToRead(mapping=("Month=ignore",), header_row=3, one_post_per_row=True)
    text = profiles.to_toml(how)
    assert "header_row = 3" in text and "one_post_per_row = true" in text
    assert profiles.parse(text) == how
    assert HowToRead.from_options(how.read_options) == how
    with pytest.raises(UsageProblem):
        profiles.parse('header_row = "three"')
    with pytest.raises(UsageProblem):
        profiles.parse('one_post_per_row = "yes"')


def test_a_version_read_before_the_new_options_keeps_its_read_options():
    assert "header_row" not in HowToRead().read_options
    assert "one_post_per_row" not in HowToRead().read_options


def test_upload_keeps_the_header_row_and_ignored_columns_as_the_profile(tmp_path):
    path = make_csv(tmp_path, odd_rows())
    store = tmp_path / "store"
    args = ["--header-row", "3", "--status-map", "stays=retained", "--status-map",
            "goes=deleted"] + [a for m in ODD_MAP for a in ("--map", m)]
    result = invoke("upload", path, "--dataset", "Chart", "--as-of", "2024-03-01",
                    "--store", store, *args)
    assert result.exit_code == 0, result.output
    shown = invoke("profile", "show", "Chart", "--store", store)
    assert "header_row = 3" in shown.output and "Month=ignore" in shown.output
    again = invoke("upload", path, "--dataset", "Chart", "--as-of", "2024-03-02",
                   "--store", store)
    assert again.exit_code == 0, again.output          # the profile reads it unaided
