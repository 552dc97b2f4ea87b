"""Age, service, pay, pension and the protected characteristics never reach an output per
post: values planted in a workbook are searched for in every output the tool makes (text,
JSON, CSV, xlsx, the annotated copy, every audience's briefing, the store's listings).

The characteristics may appear as the label of a group in the equality impact (that is
an aggregate, with its small counts hidden), and nowhere else.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from .conftest import invoke, make_xlsx
from .test_brief import pdf_pages

AGE = 63
PAY = "987.65"
SERVICE = "37.25"
STRAIN = "54321.98"
BAD_AGE = "sixtythreeish"
BAD_PAY = "£9x87.65"
SEX, ETHNICITY, DISABILITY, AGE_BAND = "Zyxwoman", "Qwertish", "Plughabled", "Bandsixtythree"
PATTERN = "Parttimeish"
PER_POST = (PAY, SERVICE, STRAIN, BAD_AGE, BAD_PAY, "9x87")
CHARACTERISTICS = (SEX, ETHNICITY, DISABILITY, AGE_BAND, PATTERN)

HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant",
          "Annual cost", "Age", "Years of service", "Weekly pay", "Pension member",
          "Strain cost", "Sex", "Ethnicity", "Disability", "Age band", "Working pattern"]


@pytest.fixture
def people_xlsx(tmp_path: Path) -> Path:
    rows: list[list[object]] = [HEADER]
    # the planted person, at risk
    rows.append(["P001", "Alpha", "Officer", "Grade 5", 1, 1, "Deleted", "N", 30000, AGE,
                 float(SERVICE), float(PAY), "Y", float(STRAIN), SEX, ETHNICITY, DISABILITY,
                 AGE_BAND, PATTERN])
    # unreadable age and pay: the findings must not repeat them
    rows.append(["P002", "Alpha", "Officer", "Grade 5", 1, 1, "Deleted", "N", 30000, BAD_AGE,
                 5, BAD_PAY, "N", None, "Other", "Other", "No", "30-39", "Full-time"])
    for i in range(3, 41):
        status = "Deleted" if i % 3 == 0 else "Retained"
        rows.append([f"P{i:03d}", "Beta" if i % 2 else "Alpha", "Worker", "Grade 4", 1, 1,
                     status, "N", 25000, 30 + i % 20, 6, 400, "N", None, "Other", "Other",
                     "No", "30-39", "Full-time"])
    return make_xlsx(tmp_path, rows, name="people.xlsx")


def _no_per_post_value(text: str, where: str, characteristics: bool = True) -> None:
    for value in PER_POST:
        assert value not in text, (where, value)
    assert "9,87" not in text and "54,321" not in text, where
    if characteristics:
        for value in CHARACTERISTICS:
            assert value not in text, (where, value)


def _xlsx_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    out.append(str(cell.value))
                if cell.comment is not None:
                    out.append(cell.comment.text)
    return "\n".join(out)


def test_no_output_carries_a_planted_value(people_xlsx: Path, tmp_path: Path) -> None:
    validate = invoke("validate", people_xlsx, "--format", "json")
    findings = json.loads(validate.stdout)
    codes = [f["code"] for f in findings["warnings"] + findings["info"]]
    assert codes.count("sensitive-value-invalid") == 2        # the bad age and the bad pay
    assert codes.count("sensitive-columns") == 10
    for fmt in ("text", "json"):
        _no_per_post_value(invoke("validate", people_xlsx, "--format", fmt).stdout,
                           f"validate {fmt}")
    for fmt in ("text", "json", "csv"):
        out = invoke("summary", people_xlsx, "--format", fmt)
        assert out.exit_code == 0, out.stderr
        _no_per_post_value(out.stdout, f"summary {fmt}")
        out = invoke("costs", people_xlsx, "--format", fmt, "--dismissal-date", "2026-06-01",
                     "--saving-target", "100000")
        assert out.exit_code == 0, out.stderr
        _no_per_post_value(out.stdout, f"costs {fmt}")
        out = invoke("equality", people_xlsx, "--format", fmt)
        assert out.exit_code == 0, out.stderr
        _no_per_post_value(out.stdout, f"equality {fmt}", characteristics=False)
    xlsx = tmp_path / "summary.xlsx"
    assert invoke("summary", people_xlsx, "--format", "xlsx", "-o", xlsx).exit_code == 0
    _no_per_post_value(_xlsx_text(xlsx), "summary xlsx")
    annotated = tmp_path / "annotated.xlsx"
    invoke("validate", people_xlsx, "--annotate", annotated)
    copy = _xlsx_text(annotated)
    _no_per_post_value(copy, "annotated copy")
    assert str(AGE) not in copy.split("\n")
    for audience in ("union", "management", "public"):
        pdf = tmp_path / f"{audience}.pdf"
        result = invoke("brief", people_xlsx, "--audience", audience, "-o", pdf)
        assert result.exit_code == 0, result.stderr
        text = "\n".join(pdf_pages(pdf.read_bytes()))
        _no_per_post_value(text, f"brief {audience}", characteristics=False)
        # outside the equality section, no characteristic at all
        start = text.index("Equality impact\nRetention is")
        for value in CHARACTERISTICS:
            assert value not in text[:start], (audience, value)
    store = tmp_path / "store"
    up = invoke("upload", people_xlsx, "--dataset", "people", "--store", store)
    assert up.exit_code == 0, up.stderr
    assert "'Age'" in up.stderr and "'Sex'" in up.stderr and "stored copy" in up.stderr
    _no_per_post_value(up.stdout + up.stderr, "upload")
    for args in (("datasets",), ("history", "people")):
        for fmt in ("text", "json"):
            out = invoke(*args, "--store", store, "--format", fmt)
            assert out.exit_code == 0, out.stderr
            _no_per_post_value(out.stdout, f"{args[0]} {fmt}")


def test_an_equality_group_of_one_person_shows_no_count(people_xlsx: Path) -> None:
    out = json.loads(invoke("equality", people_xlsx, "--format", "json").stdout)
    sex = next(c for c in out["characteristics"] if c["characteristic"] == "sex")
    (planted,) = [g for g in sex["groups"] if g["group"] == SEX]
    assert planted["eq_baseline_posts"] == "[c]" or planted["eq_at_risk_posts"] == "[c]"
    assert planted["eq_at_risk_posts"] == "[c]"
    assert planted["retention_rate"] == "[c]" and planted["fisher_p"] == "[c]"


def test_a_too_long_or_formula_cell_in_a_personal_column_is_not_repeated(tmp_path: Path) -> None:
    from reports import intake

    from .conftest import make_csv

    long_value = "987.65" * 6000     # over 32,767 characters: a CSV (openpyxl cuts the text)
    path = make_csv(tmp_path, [
        ["Team", "Job title", "Grade", "FTE", "Status", "Weekly pay", "Sex"],
        ["A", "W", "G", 1, "Deleted", long_value, SEX],
    ])
    report = intake.check(path)
    (too_long,) = [f for f in report.findings.items if f.code == "value-too-long"]
    assert too_long.cell == "F2" and too_long.value is None
    for f in report.findings.items:
        assert "987.65" not in f.message and SEX not in f.message
