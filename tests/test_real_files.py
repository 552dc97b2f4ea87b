"""Reading the files people have (issue 10): organograms with no Status or Posts column,
HR's own status words, hours-based FTE to 6 places, a column report, a personal-data guard
that no option gets round, --where, profiles, .xlsb and backslash zips.

Every expected total is an independent Decimal sum of the file's own cells, read here with
the csv module, never a figure copied from impact's output.
"""

from __future__ import annotations

import csv
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
import reports
from reports.model.errors import NoHeaderRow, UnsupportedFormat, UsageProblem
from reports.model.fixes import Fix
from reports.model.formats import fmt_number
from tests.conftest import located

DATA = Path(__file__).resolve().parent.parent / "data"
AHRC = DATA / "real" / "organogram_ahrc_2013-09.csv"
OFFA = DATA / "real" / "organogram_offa_2013-09.csv"


def invoke(*args: object, input: str | None = None):
    return CliRunner().invoke(cli.cli, [str(a) for a in args], input=input)


def fte_sum(path: Path, column: str = "Number of Posts in FTE", **where: str) -> Decimal:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return sum((Decimal(r[column]) for r in rows
                if all(r[k] == v for k, v in where.items())), Decimal(0))


def write_csv(tmp_path: Path, rows: list[list[object]], name: str = "hr.csv") -> Path:
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


# --------------------------------------------------------------------------
# organograms: no Status column, no Posts column (problems 1 and 2)


@pytest.mark.parametrize("path", [AHRC, OFFA], ids=["ahrc", "offa"])
def test_an_organogram_is_read_as_the_baseline(path):
    without = reports.check(path)
    assert located(without.findings.errors) == [("missing-column", "1:1")]   # no Status
    report = reports.check(path, default_status="retained")
    assert report.valid, located(report.findings.errors)
    summary = reports.summarise(report)
    expected = fte_sum(path)
    assert summary.totals["baseline_fte"] == expected
    assert summary.totals["retained_fte"] == expected
    assert summary.totals["deleted_fte"] == 0
    # grouped rows (FTE over 1) are not errors, and no count of posts is invented
    assert any(Decimal(v) > 1 for v in [str(x) for x in []] + ["2.3"])
    assert not [f for f in report.findings.errors if f.code == "fte-exceeds-posts"]
    assert summary.totals["baseline_posts"] is None
    assert all(g["baseline_posts"] is None for g in summary.groups["by_team"])
    warnings = [f for f in report.findings.warnings if f.code == "status-defaulted"]
    assert len(warnings) == 1
    assert f"{report.workbook.rows_read} row(s) have no status" in warnings[0].message
    # the headline for a file with nothing deleted
    assert summary.headline == (f"No posts are proposed for deletion: "
                                f"{fmt_number(expected)} FTE in the baseline")


def test_an_organogram_summary_says_posts_are_not_given(tmp_path):
    result = invoke("summary", AHRC, "--default-status", "retained", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["totals"]["baseline_posts"] is None
    assert Decimal(str(data["totals"]["baseline_fte"])) == fte_sum(AHRC)
    csv_out = invoke("summary", AHRC, "--default-status", "retained", "--format", "csv").output
    header, row = csv_out.splitlines()[1:3]
    cells = dict(zip(header.split(","), row.split(",")))
    assert cells["baseline_posts"] == "not given" and cells["deleted_posts"] == "not given"
    text = invoke("summary", AHRC, "--default-status", "retained").output
    assert "not given" in text


def test_organogram_headings_and_the_column_report():
    report = reports.check(AHRC, default_status="retained")
    used = {c["header"]: (c["column"], c["field"]) for c in report.columns}
    assert used == {"Parent Department": ("B", "parent"), "Organisation": ("C", "organisation"),
                    "Unit": ("D", "team"), "Grade": ("F", "grade"),
                    "Generic Job Title": ("I", "title"),
                    "Number of Posts in FTE": ("J", "fte")}
    assert [u["header"] for u in report.unused] == [
        "Reporting Senior Post", "Payscale Minimum (£)", "Payscale Maximum (£)",
        "Professional/Occupational Group"]
    data = json.loads(invoke("validate", AHRC, "--default-status", "retained",
                             "--format", "json").output)
    assert {"sheet": AHRC.name, "column": "I", "header": "Generic Job Title",
            "field": "title"} in data["source"]["columns"]
    assert data["source"]["unused"][0]["header"] == "Reporting Senior Post"
    # team comes from Unit, never from Organisation
    summary = reports.summarise(report)
    assert {g["team"] for g in summary.groups["by_team"]} == {"Programmes", "Resources"}
    text = invoke("validate", AHRC, "--default-status", "retained").output
    assert "'Generic Job Title' as title" in text
    assert "Not used: E 'Reporting Senior Post'" in text


def test_grouped_rows_keep_the_fte_per_post_rule_when_posts_are_given(tmp_path):
    path = write_csv(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status"],
                                ["A", "Worker", "G1", "2.5", "2", "Deleted"]])
    assert located(reports.check(path).findings.errors) == [("fte-exceeds-posts", "D2")]


# --------------------------------------------------------------------------
# HR's words (problem 3)


@pytest.mark.parametrize("word,status,vacant", [
    ("Deletion", "deleted", None), ("To be deleted", "deleted", None),
    ("Redundancy", "deleted", None), ("TUPE transfer", "relocated", None),
    ("Transfer (TUPE)", "relocated", None), ("Remains unchanged", "retained", None),
    ("No change", "retained", None), ("Retain", "retained", None), ("New post", "created", None),
    ("Deleted - vacant", "deleted", True), ("Delete (vacant post)", "deleted", True),
    ("Vacant - delete", "deleted", True)])
def test_hr_words_are_read(tmp_path, word, status, vacant):
    path = write_csv(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status", "Destination"],
                                ["A", "Worker", "G1", "1", word,
                                 "Elsewhere" if status == "relocated" else ""]])
    report = reports.check(path)
    assert report.valid, located(report.findings.errors)
    assert list(report.posts["status"]) == [status]
    assert list(report.posts["vacant"]) == [vacant]


def test_a_compound_word_and_the_vacant_column_must_agree(tmp_path):
    path = write_csv(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status", "Vacant"],
                                ["A", "W", "G1", "1", "Deleted - vacant", "N"],
                                ["A", "W", "G1", "1", "Deleted - vacant", ""],
                                ["A", "W", "G1", "1", "Deleted - vacant", "Y"]])
    report = reports.check(path)
    assert located(report.findings.errors) == [("status-vacant-conflict", "F2")]
    assert list(report.posts["vacant"])[1:] == [True, True]


def test_ambiguous_words_stay_errors_and_the_words_are_listed_once(tmp_path):
    rows = [["Team", "Job title", "Grade", "FTE", "Status"]]
    rows += [["A", f"W{i}", "G1", "1", w] for i, w in
             enumerate(["At risk", "Ring-fenced", "Slotted in", "Reduced hours", "Regraded"])]
    path = write_csv(tmp_path, rows)
    report = reports.check(path)
    errors = [f for f in report.findings.errors if f.code == "status-unknown"]
    assert len(errors) == 5
    # each asks which status the word means: deleted or retained, as a setting
    assert all("--" not in f.message for f in errors)
    assert [f.fixes for f in errors] == [((Fix("status_map", w, ("deleted", "retained")),),)
                                         for w in ["At risk", "Ring-fenced", "Slotted in",
                                                   "Reduced hours", "Regraded"]]
    assert sum("The words read without a map are" in f.message for f in errors) == 1
    assert "does not say whether the post is deleted or kept" in errors[0].message
    mapped = reports.check(path, status_map=["At risk=deleted", "Ring-fenced=deleted",
                                             "Slotted in=retained", "Reduced hours=retained",
                                             "regraded=deleted-vacant"])
    assert mapped.valid
    assert list(mapped.posts["status"]) == ["deleted", "deleted", "retained", "retained",
                                            "deleted"]
    assert list(mapped.posts["vacant"]) == [None, None, None, None, True]


def test_status_map_and_default_status_are_checked():
    with pytest.raises(UsageProblem, match="unknown status"):
        reports.check(AHRC, status_map=["At risk=sacked"])
    with pytest.raises(UsageProblem, match="not a status"):
        reports.check(AHRC, default_status="kept-ish")
    result = invoke("validate", AHRC, "--status-map", "At risk=sacked")
    assert result.exit_code == 2 and "Traceback" not in result.output


# --------------------------------------------------------------------------
# FTE to 6 places (problem 4)


def test_hours_based_fte_is_totalled_exactly(tmp_path):
    hours = [20, 22.5, 7.5, 30, 37.5, 18.75, 11]
    rows = [["Team", "Job title", "Grade", "FTE", "Status"]]
    ftes = [(Decimal(str(h)) / Decimal("37.5")).quantize(Decimal("0.000001")) for h in hours]
    rows += [["Hours team", f"Worker {i}", "G3", str(f), "Deleted" if i % 2 else "Retained"]
             for i, f in enumerate(ftes)]
    path = write_csv(tmp_path, rows)
    report = reports.check(path)
    assert report.valid, located(report.findings.errors)
    summary = reports.summarise(report)
    assert summary.totals["baseline_fte"] == sum(ftes)
    assert summary.totals["deleted_fte"] == sum(f for i, f in enumerate(ftes) if i % 2)
    data = json.loads(invoke("summary", path, "--format", "json").output)
    assert Decimal(str(data["totals"]["baseline_fte"])) == sum(ftes)     # exact in JSON
    text = invoke("summary", path).output
    shown = sum(ftes).quantize(Decimal("0.01"))
    assert f"{shown} FTE" in text.splitlines()[0] or str(shown) in text   # shown to 2 places


def test_seven_decimal_places_are_still_an_error(tmp_path):
    path = write_csv(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status"],
                                ["A", "W", "G1", "0.5333333", "Deleted"]])
    assert located(reports.check(path).findings.errors) == [("fte-too-precise", "D2")]


# --------------------------------------------------------------------------
# near misses (problem 5), the personal-data guard (problem 6), smaller problems (7)


def test_no_header_row_names_the_likeliest_row_and_its_near_misses(tmp_path):
    path = write_csv(tmp_path, [["Staff list"], ["Job Titel", "Staus", "Teams", "Notes"],
                                ["Worker", "Deleted", "A", ""]])
    with pytest.raises(NoHeaderRow) as e:
        reports.check(path)
    message = str(e.value)
    assert "the likeliest is row 2" in message
    assert "'Job Titel' (job title)" in message and "'Staus' (status)" in message
    assert "--map" not in message            # the portal shows it: no command-line text
    assert e.value.fixes == ((Fix("map", "Job Titel", "title"), Fix("map", "Staus", "status"),
                              Fix("map", "Teams", "team")),)
    said = invoke("validate", path).output       # the CLI names the options to type
    assert '--map "Job Titel=title" --map "Staus=status" --map "Teams=team"' in said


@pytest.mark.parametrize("heading", ["Name", "Contact E-mail", "Contact Phone",
                                     "Employee No", "Payroll number", "NI number",
                                     "Date of birth", "Home address"])
def test_personal_headings_cannot_be_mapped(tmp_path, heading):
    result = invoke("validate", AHRC, "--map", f"{heading}=status")
    assert result.exit_code == 2
    assert "personal data" in result.output


def test_contact_columns_are_dropped_and_never_echoed(tmp_path):
    path = write_csv(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status",
                                 "Contact E-mail", "Contact Phone"],
                                ["A", "W", "G1", "1", "Sacked", "jo.bloggs@example.org",
                                 "07700 900123"]])
    out = tmp_path / "annotated.xlsx"
    result = invoke("validate", path, "--format", "json", "--annotate", out)
    assert result.exit_code == 1
    assert "jo.bloggs" not in result.output and "900123" not in result.output
    codes = [f["code"] for f in json.loads(result.stdout)["warnings"]]
    assert codes.count("personal-data") == 2
    with zipfile.ZipFile(out) as z:
        blob = b"".join(z.read(n) for n in z.namelist())
    assert b"jo.bloggs" not in blob and b"900123" not in blob


def test_mapping_one_heading_twice_is_a_usage_error():
    result = invoke("validate", AHRC, "--map", "Unit=team", "--map", "unit=title")
    assert result.exit_code == 2 and "mapped twice" in result.output


def test_where_keeps_only_the_matching_rows(tmp_path):
    result = invoke("summary", AHRC, "--default-status", "retained", "--where",
                    "Unit=Resources", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert Decimal(str(data["totals"]["baseline_fte"])) == fte_sum(AHRC, Unit="Resources")
    report = reports.check(AHRC, default_status="retained", where=["Unit=Resources",
                                                                   "Grade=RC-D"])
    assert reports.summarise(report).totals["baseline_fte"] == fte_sum(
        AHRC, Unit="Resources", Grade="RC-D")
    with open(AHRC, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    n = sum(r["Unit"] == "Resources" and r["Grade"] == "RC-D" for r in rows)
    kept = [f for f in report.findings.infos if f.code == "rows-selected"]
    assert len(kept) == 1 and f"{n} kept, {len(rows) - n} left out" in kept[0].message
    with pytest.raises(UsageProblem, match="no heading 'Snapshot'"):
        reports.check(AHRC, default_status="retained", where=["Snapshot=March"])


def test_xlsb_and_backslash_zips(tmp_path):
    xlsb = tmp_path / "book.xlsb"
    with zipfile.ZipFile(xlsb, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.bin", b"\x00\x01")
    with pytest.raises(UnsupportedFormat, match="binary workbook"):
        reports.check(xlsb)
    back = tmp_path / "backslash.xlsx"
    with zipfile.ZipFile(DATA / "coop_working.xlsx") as src, \
            zipfile.ZipFile(back, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info.filename.replace("/", "\\"), src.read(info))
    plain = reports.summarise(reports.check(DATA / "coop_working.xlsx"))
    assert reports.summarise(reports.check(back)).totals == plain.totals


def test_json_goes_to_stdout_even_for_an_invalid_file():
    result = CliRunner().invoke(cli.cli, ["summary", str(AHRC), "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["valid"] is False


def test_briefings_name_no_command_line_option(tmp_path):
    out = tmp_path / "b.pdf"
    result = invoke("brief", AHRC, "--default-status", "retained", "-o", out)
    assert result.exit_code == 0, result.output
    from pypdf import PdfReader
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "--" not in text.replace("\u2013", "")
    assert "counts of posts are not given" in text
    assert "24 rows without one are counted as retained" in text
    assert "Team (\u201cUnit\u201d)" in text


# --------------------------------------------------------------------------
# profiles


def test_a_profile_file_gives_the_options(tmp_path):
    profile = tmp_path / "org.toml"
    profile.write_text('default_status = "retained"\nwhere = ["Unit=Programmes"]\n')
    data = json.loads(invoke("summary", AHRC, "--profile", profile, "--format", "json").output)
    assert Decimal(str(data["totals"]["baseline_fte"])) == fte_sum(AHRC, Unit="Programmes")
    bad = tmp_path / "bad.toml"
    bad.write_text('map = ["Employee name=team"]\n')
    result = invoke("summary", AHRC, "--profile", bad)
    assert result.exit_code == 2 and "personal data" in result.output


def test_upload_remembers_the_mapping(tmp_path):
    store = tmp_path / "store"
    first = invoke("upload", AHRC, "--dataset", "ahrc", "--default-status", "retained",
                   "--status-map", "At risk=deleted", "--store", store)
    assert first.exit_code == 0, first.output
    shown = invoke("profile", "show", "ahrc", "--store", store)
    assert shown.exit_code == 0
    assert 'default_status = "retained"' in shown.output
    assert "At risk=deleted" in shown.output
    # the next upload needs no options, and says it used the saved ones
    edited = tmp_path / "organogram_ahrc_2013-10.csv"
    edited.write_text(AHRC.read_text(encoding="utf-8").replace(",2.7,", ",2.5,"),
                      encoding="utf-8")
    second = invoke("upload", edited, "--dataset", "ahrc", "--store", store)
    assert second.exit_code == 0, second.output
    assert "saved for 'ahrc'" in second.output
    versions = json.loads(invoke("history", "ahrc", "--store", store, "--format",
                                 "json").stdout)
    by_number = {v["version"]: v for v in versions}
    assert sorted(by_number) == [1, 2]
    assert Decimal(str(by_number[2]["totals"]["baseline_fte"])) == \
        fte_sum(AHRC) - Decimal("0.2")          # the edited row: 2.7 -> 2.5
    assert by_number[2]["totals"]["baseline_posts"] is None
    # profile set replaces it; a bad profile is refused and the old one kept
    new = tmp_path / "new.toml"
    new.write_text('default_status = "deleted"\n')
    assert invoke("profile", "set", "ahrc", new, "--store", store).exit_code == 0
    assert 'default_status = "deleted"' in invoke("profile", "show", "ahrc", "--store",
                                                  store).output
    bad = tmp_path / "bad.toml"
    bad.write_text('default_status = "sacked"\n')
    assert invoke("profile", "set", "ahrc", bad, "--store", store).exit_code == 2
    assert 'default_status = "deleted"' in invoke("profile", "show", "ahrc", "--store",
                                                  store).output


@pytest.mark.parametrize("command", ["s188", "pools", "costs", "equality"])
def test_counts_of_people_are_refused_without_a_posts_column(command):
    # these count posts or people: without a Posts column no count is invented
    result = invoke(command, AHRC, "--default-status", "deleted")
    assert result.exit_code == 1
    assert "has no Posts column" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("audience", ["union", "management", "public"])
def test_every_briefing_of_a_file_without_posts_says_why_it_counts_none(tmp_path, audience):
    from pypdf import PdfReader
    out = tmp_path / f"{audience}.pdf"
    result = invoke("brief", AHRC, "--default-status", "deleted", "--audience", audience,
                    "-o", out)
    assert result.exit_code == 0, result.output
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(out).pages).split())
    assert "counts of posts are not given" in text
    if audience != "public":
        assert "proposed dismissals cannot be counted" in text
        assert "selection pools and the posts available for redeployment cannot be counted" \
            in text
