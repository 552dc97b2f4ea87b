"""The `impact` command: help, exit codes, JSON parity with the library, --annotate, template."""

from __future__ import annotations

import json
import sys
import zipfile
from decimal import Decimal

import openpyxl
import pytest

import cli
import reports
from commands import options
from reports.model.errors import EmptyFile
from reports.render import data as render_data
from reports.render import text as render_text
from tests.conftest import DATA, HEADER, impact, invoke, located, make_csv, make_xlsx, post, sample
from tests.test_totals import assert_at_most_two_places

SAMPLES = sorted(p for p in DATA.glob("*") if p.suffix in (".xlsx", ".csv"))
VALID_SAMPLES = [p for p in SAMPLES if not p.name.startswith("broken")]


# --------------------------------------------------------------------------
# help


def _example_lines(text: str) -> list[str]:
    """The example commands under "Example(s):", with continuation lines joined."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Example"))
    out: list[str] = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        if out and out[-1].endswith("\\"):
            out[-1] = out[-1][:-1] + line.strip()
        else:
            out.append(line.strip())
    return out


@pytest.mark.parametrize("name", sorted(cli.cli.commands))
def test_every_command_has_help_with_an_example(name):
    result = invoke(name, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
    examples = _example_lines(result.output)
    assert examples, result.output
    for line in examples:
        assert line.startswith(f"impact {name}"), line


def test_group_help_has_an_example():
    result = invoke("--help")
    assert result.exit_code == 0
    assert all(line.startswith("impact ") for line in _example_lines(result.output))
    for name in cli.cli.commands:
        assert name in result.output


def test_short_help_option_and_version():
    assert invoke("validate", "-h").exit_code == 0
    result = invoke("--version")
    assert result.exit_code == 0 and reports.__version__ in result.output


# --------------------------------------------------------------------------
# exit codes


def test_validate_valid_exits_0(valid_xlsx):
    result = invoke("validate", valid_xlsx)
    assert result.exit_code == 0
    assert result.stdout.startswith("valid.xlsx: VALID, 0 error(s), 0 warning(s)")


def test_validate_with_only_warnings_exits_0(tmp_path):
    path = make_xlsx(tmp_path, [HEADER, post("P1", status="Retained", destination="Learning")])
    result = invoke("validate", path)
    assert result.exit_code == 0
    assert "VALID, 0 error(s), 1 warning(s)" in result.stdout
    assert "destination-unexpected" in result.stdout


def test_validate_invalid_exits_1(invalid_xlsx):
    result = invoke("validate", invalid_xlsx)
    assert result.exit_code == 1
    assert "INVALID, 1 error(s)" in result.stdout
    assert "E3" in result.stdout and "fte-negative" in result.stdout


@pytest.mark.parametrize("args", [
    ["validate"],                                      # no FILE
    ["validate", "{file}", "--bogus"],
    ["validate", "{file}", "--format", "yaml"],
    ["validate", "{file}", "--expect-fte", "lots"],
    ["validate", "{file}", "--expect-deleted-fte", "nan"],
    ["summary", "{file}", "--format", "xlsx"],         # xlsx needs -o
    ["summary", "{file}", "--map", "FTE"],
    ["summary", "{file}", "--sheet", "Nope"],
    ["nonsense"],
])
def test_bad_usage_exits_2(valid_xlsx, args):
    result = invoke(*[a.format(file=valid_xlsx) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_expect_fte_takes_thousands_commas(valid_xlsx):
    assert invoke("validate", valid_xlsx, "--expect-fte", "2.5").exit_code == 0
    assert invoke("validate", valid_xlsx, "--expect-fte", "2.50").exit_code == 0
    assert invoke("validate", valid_xlsx, "--expect-fte", "2.4").exit_code == 1


def test_summary_of_an_invalid_file_prints_the_validate_errors(invalid_xlsx):
    validate = invoke("validate", invalid_xlsx)
    summary = invoke("summary", invalid_xlsx)
    assert summary.exit_code == 1
    assert summary.stdout == ""
    assert summary.stderr == validate.stdout


def test_summary_json_of_an_invalid_file_prints_the_validate_json(invalid_xlsx):
    validate = invoke("validate", invalid_xlsx, "--format", "json")
    summary = invoke("summary", invalid_xlsx, "--format", "json")
    assert summary.exit_code == 1
    assert summary.stderr == ""          # JSON always goes to stdout; the exit code says
    assert json.loads(summary.stdout) == json.loads(validate.stdout)


def test_summary_of_broken_example_lists_its_errors():
    path = sample("broken_example.xlsx")
    result = invoke("summary", path)
    assert result.exit_code == 1
    assert result.stderr == invoke("validate", path).stdout
    for code in ("fte-negative", "formula-no-value", "total-mismatch", "duplicate-post-id"):
        assert code in result.stderr


def test_summary_in_a_real_process(valid_xlsx):
    result = impact("summary", valid_xlsx)
    assert result.returncode == 0
    assert result.stdout.startswith("1.5 of 2.5 FTE (60.0%) proposed for deletion")
    assert result.stderr == ""


def test_internal_error_is_one_line(monkeypatch, capsys, valid_xlsx):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(reports.intake, "check", broken)
    monkeypatch.setattr(sys, "argv", ["impact", "validate", str(valid_xlsx)])
    monkeypatch.delenv("IMPACT_DEBUG", raising=False)
    with pytest.raises(SystemExit) as caught:
        cli.main()
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: internal error (RuntimeError: boom)")
    assert err.count("\n") == 1


def test_internal_error_with_debug_raises(monkeypatch, valid_xlsx):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(reports.intake, "check", broken)
    monkeypatch.setattr(sys, "argv", ["impact", "validate", str(valid_xlsx), "--debug"])
    with pytest.raises(RuntimeError):
        cli.main()


# --------------------------------------------------------------------------
# the CLI's JSON is the library's result


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.name)
def test_summary_json_equals_the_library(path):
    result = invoke("summary", path, "--format", "json")
    assert result.exit_code == 0
    got = json.loads(result.stdout)
    assert got == json.loads(render_data.summary_json(reports.summarise(reports.check(path))))
    assert_at_most_two_places(got)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_validate_json_equals_the_library(path):
    result = invoke("validate", path, "--format", "json")
    got = json.loads(result.stdout)
    assert got == json.loads(json.dumps(reports.check(path).to_dict()))
    assert result.exit_code == (0 if got["valid"] else 1)
    assert_at_most_two_places(got)


def test_summary_json_with_options_equals_the_library():
    path = sample("derbyshire_early_help.xlsx")
    result = invoke("summary", path, "--format", "json", "--sheet", "Children's Centres",
                    "--expect-fte", "221.5")
    # the control total is for the whole file, so one sheet disagrees with it
    assert result.exit_code == 1
    result = invoke("summary", path, "--format", "json", "--sheet", "Children's Centres")
    expected = reports.summarise(reports.check(path, sheets=["Children's Centres"]))
    assert json.loads(result.stdout) == json.loads(render_data.summary_json(expected))


def test_derbyshire_text_headline():
    result = invoke("summary", sample("derbyshire_early_help.xlsx"))
    assert result.exit_code == 0
    assert "132.5 of 221.5 FTE (59.8%)" in result.stdout.splitlines()[0]


def test_derbyshire_json_figures():
    result = invoke("summary", sample("derbyshire_early_help.xlsx"), "--format", "json")
    data = json.loads(result.stdout)
    assert (data["totals"]["baseline_fte"], data["totals"]["deleted_fte"],
            data["totals"]["pct_deleted"]) == (221.5, 132.5, 59.8)
    assert data["headline"].startswith("132.5 of 221.5 FTE (59.8%)")


def test_summary_text_is_the_library_text(valid_xlsx):
    result = invoke("summary", valid_xlsx)
    assert result.stdout == render_text.summary_text(reports.summarise(reports.check(valid_xlsx)))


def test_summary_csv_to_a_file(valid_xlsx, tmp_path):
    out = tmp_path / "totals.csv"
    result = invoke("summary", valid_xlsx, "--format", "csv", "-o", out)
    assert result.exit_code == 0
    assert result.stdout == ""
    expected = render_data.summary_csv(reports.summarise(reports.check(valid_xlsx)))
    assert out.read_text(encoding="utf-8") == expected


def test_summary_xlsx_to_a_file(valid_xlsx, tmp_path):
    out = tmp_path / "totals.xlsx"
    result = invoke("summary", valid_xlsx, "--format", "xlsx", "-o", out)
    assert result.exit_code == 0
    ws = openpyxl.load_workbook(out)["totals"]
    row = dict(zip([c.value for c in ws[1]], [c.value for c in ws[2]]))
    assert Decimal(str(row["deleted_fte"])) == Decimal("1.5")
    assert Decimal(str(row["baseline_fte"])) == Decimal("2.5")


# --------------------------------------------------------------------------
# --annotate


ERROR_FILL = "FFC7CE"


def _comments(path):
    wb = openpyxl.load_workbook(path)
    return wb, {(ws.title, c.coordinate): c for ws in wb.worksheets for row in ws.iter_rows()
                for c in row if c.comment is not None}


def test_annotate_broken_example(tmp_path):
    path = sample("broken_example.xlsx")
    out = tmp_path / "checked.xlsx"
    result = invoke("validate", path, "--annotate", out)
    assert result.exit_code == 1
    assert out.exists()
    report = reports.check(path)
    wb, commented = _comments(out)
    assert report.findings.errors
    for f in report.findings.errors:
        cell = wb[f.sheet][f.cell]
        assert cell.fill.fgColor.rgb.endswith(ERROR_FILL), f.cell
        assert f.code in cell.comment.text, f.cell
    for f in report.findings.warnings:
        assert f.code in commented[(f.sheet, f.cell)].comment.text
    # the cells the data README lists, independently of the report
    for ref in ("E3", "E4", "E5", "E6", "E7", "F8", "G9", "H10", "C12", "A13", "E14", "E15"):
        assert wb["Posts"][ref].comment is not None, ref
    # nothing else is marked
    assert {c for _, c in commented} == {f.cell for f in report.findings.errors
                                         + report.findings.warnings}
    # the original values stay, except the personal-data columns, which are emptied
    original = openpyxl.load_workbook(path)["Posts"]
    for row in original.iter_rows(min_row=1, max_col=8):
        for cell in row:
            assert wb["Posts"][cell.coordinate].value == cell.value, cell.coordinate
    assert [wb["Posts"].cell(r, 9).value for r in range(2, 15)] == [None] * 13
    # and a findings sheet lists every error
    listed = [(r[1], r[3]) for r in wb["impact findings"].iter_rows(min_row=2, values_only=True)]
    assert set(located(report.findings.errors)) <= set(listed)


def test_annotate_marks_a_header_row_finding(tmp_path):
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "Status"],
                                ["A", "B", "C", "Deleted"]])
    out = tmp_path / "checked.xlsx"
    assert invoke("validate", path, "--annotate", out).exit_code == 1
    cell = openpyxl.load_workbook(out)["Posts"]["A1"]
    assert "missing-column" in cell.comment.text


def test_annotate_a_csv_writes_an_xlsx(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1"), post("P2", fte="-1")], name="posts.csv")
    out = tmp_path / "checked.xlsx"
    result = invoke("validate", path, "--annotate", out)
    assert result.exit_code == 1
    assert zipfile.is_zipfile(out)
    wb = openpyxl.load_workbook(out)
    ws = next(ws for ws in wb.worksheets if ws.title != "impact findings")
    assert [c.value for c in ws[1]] == HEADER
    assert "fte-negative" in ws["E3"].comment.text
    assert ws["E3"].fill.fgColor.rgb.endswith(ERROR_FILL)
    assert ws["B2"].value == "Family Support"


def test_annotate_a_valid_file(valid_xlsx, tmp_path):
    out = tmp_path / "checked.xlsx"
    assert invoke("validate", valid_xlsx, "--annotate", out).exit_code == 0
    _, commented = _comments(out)
    assert commented == {}


# --------------------------------------------------------------------------
# template


@pytest.fixture
def template(tmp_path):
    out = tmp_path / "t.xlsx"
    result = invoke("template", "-o", out)
    assert result.exit_code == 0
    return out


def test_template_headers(template):
    ws = openpyxl.load_workbook(template).worksheets[0]
    assert [c.value for c in ws[1]] == ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts",
                                        "Status", "Destination", "Location", "Vacant",
                                        "Annual cost", "Establishment", "Dismissal date",
                                        "People", "Site type"]


def test_template_data_validations(template):
    ws = openpyxl.load_workbook(template).worksheets[0]
    letter = {c.value: c.column_letter for c in ws[1]}
    rules = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            rules[rng.split(":")[0].rstrip("0123456789")] = dv
    status = rules[letter["Status"]]
    assert status.type == "list"
    assert {w.lower() for w in status.formula1.strip('"').split(",")} == {
        "deleted", "retained", "relocated", "created"}
    vacant = rules[letter["Vacant"]]
    assert vacant.type == "list" and set(vacant.formula1.strip('"').split(",")) == {"Y", "N"}
    assert rules[letter["FTE"]].type == "decimal"
    assert rules[letter["Posts"]].type == "whole"
    assert rules[letter["Annual cost"]].type == "decimal"


def test_template_guidance_sheet(template):
    wb = openpyxl.load_workbook(template)
    assert "Guidance" in wb.sheetnames
    text = " ".join(str(c.value) for row in wb["Guidance"].iter_rows() for c in row if c.value)
    for heading in ("Team", "Job title", "Grade", "FTE", "Status", "Destination",
                    "Full time equivalent"):
        assert heading in text


def test_template_read_back_is_empty(template):
    with pytest.raises(EmptyFile):
        reports.check(template)
    result = invoke("validate", template)
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")


def test_template_with_one_row_is_valid(template):
    wb = openpyxl.load_workbook(template)
    ws = wb.worksheets[0]
    ws.append(["P1", "Family Support", "Family Worker", "Grade 6", 0.5, 1, "Deleted", None,
               "Belper", "N", 15000])
    wb.save(template)
    report = reports.check(template)
    assert report.valid
    assert located(report.findings) == [("sheet-skipped", None)]
    assert reports.summarise(report).totals["deleted_fte"] == Decimal("0.5")


def test_template_does_not_overwrite(template):
    before = template.read_bytes()
    result = invoke("template", "-o", template)
    assert result.exit_code == 2
    assert template.read_bytes() == before
    assert invoke("template", "-o", template, "--force").exit_code == 0


def test_template_default_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("template").exit_code == 0
    assert (tmp_path / "posts.xlsx").exists()


def test_a_status_line_shows_on_a_terminal_and_is_cleared(monkeypatch):
    monkeypatch.setattr(options, "on_terminal", lambda: True)
    result = invoke("summary", sample("coop_working.xlsx"), "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == "Reading and checking coop_working.xlsx ...\r\x1b[K"
    json.loads(result.stdout)          # the status line never reaches stdout


def test_no_status_line_off_a_terminal(monkeypatch):
    monkeypatch.setattr(options, "on_terminal", lambda: False)
    result = invoke("summary", sample("coop_working.xlsx"), "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        out = tmp_path / "totals.xlsx"
        assert invoke("summary", sample("coop_working.xlsx"), "--format", "xlsx",
                      "-o", out).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o644      # not mkstemp's 0600
    finally:
        os.umask(mask)
