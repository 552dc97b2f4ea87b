"""Real files that still needed editing (issue 26, items 1, 3, 4, 6, 7 and 9), each tried on
a small file built here like the real one: a senior organogram with a job share, a council
structure chart with no FTE and "NA" vacancies, an NHS-style extract with two months
stacked, and an HR file with compound status words.

Every expected figure is worked out here from the rows written (with Decimal), never
copied from impact's output.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner

import cli
import reports
from reports.model import codes
from reports.model.errors import UsageProblem
from tests.conftest import make_csv, make_xlsx

# --------------------------------------------------------------------------
# item 4: "NA", "N/A", "n/a", "-" and "—" are blank wherever a blank is allowed


@pytest.mark.parametrize("word", ["NA", "N/A", "n/a", "-", "\u2014"])
def test_na_words_are_blank_where_a_blank_is_allowed(tmp_path, word):
    rows = [["Team", "Job title", "Grade", "FTE", "Vacant", "Destination", "Notes", "Status"],
            ["Parks", "Ranger", "Grade 4", 1, word, word, word, "Deleted"],
            ["Parks", "Gardener", "Grade 3", 1, "N", word, word, "Retained"],
            ["Libraries", "Librarian", "Grade 5", 0.5, "Y", "Leisure Trust", word,
             "Relocated"]]
    report = reports.check(make_xlsx(tmp_path, rows))
    assert report.valid, [(f.code, f.cell, f.message) for f in report.findings.errors]
    # the NA vacancy is a blank: counted as occupied, with the blank's own warning
    assert [(f.code, f.cell) for f in report.findings.warnings] == [("vacant-blank", "E2")]
    posts = report.posts
    assert list(posts["destination"]) == ["", "", "Leisure Trust"]
    assert list(posts["vacant"]) == [None, False, True]


# --------------------------------------------------------------------------
# an NHS-style workforce extract: two months stacked in one file, FTE to 5 places

NHS_HEADER = ["Month", "Org code", "Org name", "Staff group", "AfC band", "FTE"]
NHS_MAP = ["Org name=team", "Staff group=title"]
MONTHS = ("2017-SEP", "2018-JUN")


def nhs_rows() -> list[list[object]]:
    rows: list[list[object]] = [NHS_HEADER]
    orgs = [("RX1", "Northern Care Trust"), ("RX2", "Southern Care Trust"),
            ("RX3", "Eastern Community Trust")]
    groups = ["Nurses & health visitors", "Support to clinical staff", "Managers"]
    k = 0
    for month in MONTHS:
        for code, org in orgs:
            for group in groups:
                for band in ("Band 3", "Band 5", "Band 7"):
                    k += 1
                    fte = Decimal(k * 7919 % 400000 + 1000) / Decimal(100000)  # 5 places
                    rows.append([month, code, org, group, band, f"{fte + k:.5f}"])
    return rows


def nhs_fte(rows: list[list[object]], month: str) -> Decimal:
    return sum((Decimal(str(r[5])) for r in rows[1:] if r[0] == month), Decimal(0))


def test_a_where_that_keeps_no_rows_says_what_the_column_holds(tmp_path):
    rows = nhs_rows()
    path = make_csv(tmp_path, rows, name="nhs.csv")
    with pytest.raises(UsageProblem) as caught:
        reports.check(path, mapping=NHS_MAP, default_status="retained",
                      where=["Month=2019-JAN"])
    assert str(caught.value) == (f"--where kept 0 of {len(rows) - 1:,} rows; "
                                 f"Month holds {', '.join(MONTHS)}")
    result = CliRunner().invoke(cli.cli, ["summary", str(path), "--default-status",
                                          "retained", "--where", "Month=2019-JAN",
                                          *(a for m in NHS_MAP for a in ("--map", m))])
    assert result.exit_code == 2, result.output
    assert "--where kept 0 of 54 rows; Month holds 2017-SEP, 2018-JUN" in result.output
    assert "no posts below" not in result.output


def briefing_text(tmp_path, *args: object, audience: str = "management") -> str:
    """The words of an HTML briefing made by `impact brief`, tags dropped."""
    out = tmp_path / "briefing.html"
    result = CliRunner().invoke(cli.cli, ["brief", *(str(a) for a in args), "--audience",
                                          audience, "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", out.read_text())).split())


# --------------------------------------------------------------------------
# item 3: a council's published structure chart: one row per post, no FTE column


def structure_chart() -> list[list[object]]:
    rows: list[list[object]] = [["Directorate", "Service", "Job title", "Grade", "Vacant",
                                 "Notes"]]
    for i in range(23):
        service = ("Highways", "Waste", "Libraries")[i % 3]
        rows.append(["Place", service, f"Officer {i % 4}", f"Grade {5 + i % 3}",
                     "Y" if i % 5 == 0 else "NA", "NA"])
    return rows


def test_one_post_per_row_counts_a_post_and_1_fte_a_row(tmp_path):
    rows = structure_chart()
    path = make_xlsx(tmp_path, rows, name="structure.xlsx")
    without = reports.check(path, default_status="retained")
    assert [(f.code, f.column) for f in without.findings.errors] == [("missing-column", None)]
    report = reports.check(path, default_status="retained", one_post_per_row=True)
    assert report.valid, [(f.code, f.cell, f.message) for f in report.findings.errors]
    assert not [f for f in report.findings if f.code in ("posts-not-given", "vacant-invalid")]
    totals = reports.summarise(report).totals
    n = len(rows) - 1
    assert (totals["baseline_posts"], totals["baseline_fte"]) == (n, Decimal(n))
    by_team = {g["team"]: (g["baseline_posts"], g["baseline_fte"])
               for g in reports.summarise(report).groups["by_team"]}
    for service in ("Highways", "Waste", "Libraries"):
        k = sum(r[1] == service for r in rows[1:])
        assert by_team[service] == (k, Decimal(k))
    text = briefing_text(tmp_path, path, "--default-status", "retained",
                         "--one-post-per-row")
    assert "Each row of the file is counted as one post, of 1.0 FTE" in text


def test_one_post_per_row_is_kept_in_a_profile(tmp_path):
    from reports.services import profiles
    from reports.services.source import HowToRead
    how = profiles.parse("one_post_per_row = true\ndefault_status = \"retained\"\n")
    assert how == HowToRead(default_status="retained", one_post_per_row=True)
    assert how.read_options["one_post_per_row"] is True
    assert HowToRead.from_options(how.read_options) == how
    assert profiles.parse(profiles.to_toml(how)) == how
    assert HowToRead().over(how).one_post_per_row
    with pytest.raises(UsageProblem, match="true or false"):
        profiles.parse('one_post_per_row = "yes"\n')
    path = make_xlsx(tmp_path, structure_chart(), name="structure.xlsx")
    toml = tmp_path / "chart.toml"
    toml.write_text(profiles.to_toml(how))
    result = CliRunner().invoke(cli.cli, ["summary", str(path), "--profile", str(toml),
                                          "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"]["baseline_posts"] == 23


# --------------------------------------------------------------------------
# item 1: posts from post IDs (a senior organogram: no Status, no Posts column)

SENIOR = ["Post Unique Reference", "Name", "Grade (or equivalent)", "Job Title",
          "Job/Team Function", "Parent Department", "Organisation", "Unit",
          "Contact Phone", "Contact E-mail", "Reports to Senior Post", "FTE", "Notes"]


def senior(ref: object, name: str, grade: str, title: str, unit: str, fte: object,
           reports_to: object = "XX") -> list[object]:
    return [ref, name, grade, title, "Policy", "Cabinet Office", "Cabinet Office", unit,
            "020 7276 1234", "someone@cabinetoffice.gov.uk", reports_to, fte, ""]


def senior_rows() -> list[list[object]]:
    return [SENIOR,
            senior("100", "A Person", "SCS4", "Permanent Secretary", "Private Office", 1),
            senior("101", "B Person", "SCS3", "Director General", "Strategy", 1, "100"),
            senior("103", "C Person", "SCS2", "Deputy Director", "Strategy", 0.5, "101"),
            senior("103", "D Person", "SCS2", "Deputy Director", "Strategy", 0.5, "101"),
            senior("104", "E Person", "SCS1", "Head of Analysis", "Strategy", 0.8, "101")]


def test_a_job_share_is_one_post_with_one_warning(tmp_path):
    rows = senior_rows()
    path = make_csv(tmp_path, rows, name="senior.csv")
    report = reports.check(path, default_status="retained")
    assert report.valid, [(f.code, f.cell, f.message) for f in report.findings.errors]
    shares = [f for f in report.findings if f.code == "job-share"]
    assert [(f.severity, f.cell, f.value) for f in shares] == [("warning", "A4", "103")]
    assert "A4" in shares[0].message and "A5" in shares[0].message
    assert not [f for f in report.findings if f.code == "posts-not-given"]
    totals = reports.summarise(report).totals
    ids = {r[0] for r in rows[1:]}
    assert totals["baseline_posts"] == len(ids) == 4
    assert totals["baseline_fte"] == sum((Decimal(str(r[11])) for r in rows[1:]), Decimal(0))
    strategy = [g for g in reports.summarise(report).groups["by_team"]
                if g["team"] == "Strategy"]
    assert strategy[0]["baseline_posts"] == len({r[0] for r in rows[1:] if r[7] == "Strategy"})
    text = briefing_text(tmp_path, path, "--default-status", "retained")
    assert "each distinct post ID is counted as one post" in text


def test_other_repeated_ids_stay_errors_whose_fix_is_to_ignore_the_id_column(tmp_path):
    rows = senior_rows() + [
        # UKSA: '0' on the "not in post" rows of two different posts
        senior("0", "Not in post", "SCS1", "Head of Methods", "Methods", 1, "101"),
        senior("0", "Not in post", "SCS1", "Head of Data", "Data", 1, "101"),
        # MOJ: one reference on two different posts
        senior("CSG3001", "F Person", "SCS1", "Head of Courts", "Courts", 1, "101"),
        senior("CSG3001", "G Person", "SCS2", "Director of Courts", "Courts", 1, "101"),
        # the same team, title and grade, but 1.5 FTE between them: not one post
        senior("105", "H Person", "SCS1", "Head of Policy", "Policy", 1, "101"),
        senior("105", "I Person", "SCS1", "Head of Policy", "Policy", 0.5, "101")]
    path = make_csv(tmp_path, rows, name="senior.csv")
    report = reports.check(path, default_status="retained")
    errors = [(f.code, f.cell, f.value) for f in report.findings.errors]
    assert errors == [("duplicate-post-id", "A8", "0"), ("duplicate-post-id", "A10", "CSG3001"),
                      ("duplicate-post-id", "A12", "105")]
    for f in report.findings.errors:
        assert "ignore the ID column" in f.message
        assert "--" not in f.message               # the fix in plain words, no flag syntax
    assert "ignore the ID column" in codes.DUPLICATE_POST_ID.fix
    assert [(f.code, f.cell) for f in report.findings if f.code == "job-share"] == [
        ("job-share", "A4")]


def test_a_post_level_schedule_with_ids_and_no_posts_column_counts_a_post_a_row(tmp_path):
    rows = [["Post ID", "Team", "Job title", "Grade", "FTE", "Status"]]
    for i in range(12):
        rows.append([f"P{i:03}", ("Parks", "Waste")[i % 2], "Officer", "Grade 5",
                     ("1", "0.6", "0.81")[i % 3], ("Deleted", "Retained")[i % 4 == 0]])
    path = make_csv(tmp_path, rows, name="schedule.csv")
    result = CliRunner().invoke(cli.cli, ["summary", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output)["totals"]
    assert totals["baseline_posts"] == len(rows) - 1
    assert totals["deleted_posts"] == sum(r[5] == "Deleted" for r in rows[1:])
    # an ID'd row is one post, so more than 1.0 FTE on it is an error
    rows[1][4] = "1.5"
    report = reports.check(make_csv(tmp_path, rows, name="over.csv"))
    assert [(f.code, f.cell) for f in report.findings.errors] == [("fte-exceeds-posts", "E2")]


# --------------------------------------------------------------------------
# item 9: vacancy from status words, with no Vacant column (an HR file in its own words)


def test_vacancy_from_status_words_is_kept_and_the_briefing_says_for_how_many_rows(tmp_path):
    rows = [["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status"]]
    words = ["Deleted - vacant", "Deleted - occupied", "Deletion", "Retained",
             "Vacant - delete", "Remains unchanged", "Delete (occupied post)"]
    for i in range(21):
        rows.append([f"HR{i:02}", ("Finance", "Payroll", "Audit")[i % 3], "Officer",
                     "Grade 6", ("1", "0.5", "0.8")[i % 3], 1, words[i % len(words)]])
    path = make_xlsx(tmp_path, rows, name="hr.xlsx")
    report = reports.check(path)
    assert report.valid and report.has_vacant
    vacant_words = {"Deleted - vacant", "Vacant - delete"}
    occupied_words = {"Deleted - occupied", "Delete (occupied post)"}
    said = [r for r in rows[1:] if r[6] in vacant_words | occupied_words]
    assert report.vacancy_known == len(said)
    totals = reports.summarise(report).totals

    def fte(keep) -> Decimal:
        return sum((Decimal(r[4]) for r in rows[1:] if keep(r[6])), Decimal(0))

    assert totals["vacant_deleted_fte"] == fte(lambda w: w in vacant_words)
    # a plain "Deletion" says nothing of vacancy: counted as occupied, as a blank Vacant is
    assert totals["at_risk_fte"] == fte(lambda w: w in occupied_words or w == "Deletion")
    assert totals["vacant_deleted_posts"] == sum(r[6] in vacant_words for r in rows[1:])
    text = briefing_text(tmp_path, path)
    assert (f"The file says whether the post is vacant for {len(said)} of the "
            f"{len(rows) - 1} post rows") in text
    assert "does not say which posts are vacant" not in text


# --------------------------------------------------------------------------
# item 6: stacked snapshots are flagged


def test_stacked_months_are_flagged_and_the_filter_gives_one_months_totals(tmp_path):
    rows = nhs_rows()
    path = make_csv(tmp_path, rows, name="nhs.csv")
    report = reports.check(path, mapping=NHS_MAP, default_status="retained")
    assert report.valid, [(f.code, f.cell, f.message) for f in report.findings.errors]
    stacked = [f for f in report.findings if f.code == "stacked-snapshots"]
    assert [(f.severity, f.cell, f.column) for f in stacked] == [("warning", "A1", "Month")]
    assert "2017-SEP, 2018-JUN" in stacked[0].message
    assert "--" not in stacked[0].message            # the fix in plain words
    # the unfiltered total is both months added up: what the warning is about
    both = reports.summarise(report).totals["baseline_fte"]
    assert both == nhs_fte(rows, MONTHS[0]) + nhs_fte(rows, MONTHS[1])
    for month in MONTHS:
        one = reports.check(path, mapping=NHS_MAP, default_status="retained",
                            where=[f"Month={month}"])
        assert one.valid
        assert not [f for f in one.findings if f.code == "stacked-snapshots"]
        totals = reports.summarise(one).totals
        assert totals["baseline_fte"] == nhs_fte(rows, month)


@pytest.mark.parametrize("values", [
    ("31/03/2024", "30/06/2024", "30/09/2024"),
    ("March 2024", "June 2024", "Sept 2024"),
    ("2024-03-31", "2024-06-30", "2024-09-30"),
    ("2023/24", "2024/25", "2025/26"),
    ("Q1 2024", "Q2 2024", "Q3 2024"),
])
def test_stacked_periods_in_other_forms_are_flagged(tmp_path, values):
    rows = [["Snapshot", "Team", "Job title", "Grade", "FTE", "Status"]]
    for v in values:
        for team in ("Parks", "Waste", "Roads"):
            rows.append([v, team, "Officer", "Grade 5", 1, "Retained"])
    report = reports.check(make_xlsx(tmp_path, rows))
    assert [f.code for f in report.findings if f.code == "stacked-snapshots"] == \
        ["stacked-snapshots"]


@pytest.mark.parametrize("column,values", [
    # each team its own date: dates, but no snapshots
    ("Restructure date", ("2024-04-01", "2024-05-01", "2024-06-01")),
    # not periods
    ("Cost centre", ("CC100", "CC200", "CC300")),
    # one period only
    ("Snapshot", ("March 2024", "March 2024", "March 2024")),
])
def test_other_columns_are_not_taken_for_snapshots(tmp_path, column, values):
    rows = [[column, "Team", "Job title", "Grade", "FTE", "Status"]]
    for v, team in zip(values, ("Parks", "Waste", "Roads")):
        for title in ("Officer", "Manager"):
            rows.append([v, team, title, "Grade 5", 1, "Retained"])
    report = reports.check(make_xlsx(tmp_path, rows))
    assert report.valid
    assert not [f for f in report.findings if f.code == "stacked-snapshots"]


def test_a_public_briefing_says_only_that_vacancy_is_known_for_some_rows(tmp_path):
    rows = [["Team", "Job title", "Grade", "FTE", "Posts", "Status"]]
    words = ["Deleted - vacant", "Deleted", "Retained", "Retained", "Deleted - occupied"]
    for i in range(150):
        rows.append([("Finance", "Payroll", "Audit")[i % 3], "Officer", "Grade 6", 1, 1,
                     words[i % len(words)]])
    text = briefing_text(tmp_path, make_xlsx(tmp_path, rows, name="hr.xlsx"),
                         audience="public")
    assert "The file says whether the post is vacant for some of the 150 post rows" in text
    known = sum(r[5] in ("Deleted - vacant", "Deleted - occupied") for r in rows[1:])
    assert f"for {known} of the" not in text
