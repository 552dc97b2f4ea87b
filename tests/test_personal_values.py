"""Personal data found by what a column holds, not only by its heading (issue 26).

E-mail, phone and National Insurance columns under innocent headings ("Ref", "Info",
"Code") are dropped whatever their heading; contact details written in free text
(a job title, a Notes column) are blanked; and none of the planted values appears in
any output: validate and summary text/JSON/CSV, the summary xlsx, every audience's
PDF, tagged PDF, HTML and Word briefing, and the annotated copy (unzipped, every part).

The planted numbers are in Ofcom's ranges for drama (020 7946 0xxx, 0113 496 0xxx),
the addresses at example.org, so none is a real person's.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

import reports
from reports.intake import contacts
from reports.intake.figures import sheet_figures
from reports.model import fields as schema

from .conftest import invoke, make_csv, make_xlsx
from .test_brief import pdf_pages

N = 40                                    # post rows
EMAILS = [f"alex.morgan{i}@example.org" for i in range(N)]
PHONES = [f"020 7946 0{i:03d}" for i in range(N)]
NINOS = [f"JT {i:02d} 34 56 C" for i in range(N)]
NAME_IN_NOTES = "Jordan Whitfieldqx"     # a name in free text: never read, never found
NOTE_EMAIL, NOTE_PHONE = "sam.taylor@example.org", "0113 496 0777"
TITLE_PHONE = "+44 (0)20 7946 0555"
NOTE_NINO = "CE 12 34 56 D"

HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant",
          "Ref", "Info", "Code", "Notes"]


def _rows() -> list[list[object]]:
    rows: list[list[object]] = [HEADER]
    for i in range(N):
        title = "Officer"
        note = "Vacant since May" if i % 4 == 1 else None
        if i == 0:
            note = f"{NAME_IN_NOTES} covering post; call {NOTE_PHONE} or mail {NOTE_EMAIL}"
        if i == 1:
            note = f"NI {NOTE_NINO} held on file"
        if i == 3:                         # a deleted post: its title is in the briefings
            title = f"Business Support Officer (tel {TITLE_PHONE})"
        rows.append([f"P{i:03d}", ("Alpha", "Beta", "Gamma", "Delta")[i % 4], title,
                     f"Grade {4 + i % 3}", 1, 1, "Deleted" if i % 3 == 0 else "Retained",
                     "N", EMAILS[i], PHONES[i], NINOS[i], note])
    return rows


# the cells holding a detail in text: the title of post 3, the notes of posts 0 and 1
IN_TEXT = 3


@pytest.fixture
def contacts_xlsx(tmp_path: Path) -> Path:
    return make_xlsx(tmp_path, _rows(), name="contacts.xlsx")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _leaks(text: str) -> list[str]:
    """Every planted value (or a telling piece of one) found in `text`."""
    flat = _squash(text)
    found = [v for v in EMAILS + [NOTE_EMAIL, NAME_IN_NOTES] if v in text]
    found += [v for v in ("alex.morgan", "sam.taylor") if v in text]
    found += [v for v in PHONES + NINOS + [NOTE_PHONE, TITLE_PHONE, NOTE_NINO]
              if _squash(v) in flat]
    found += [v for v in ("79460", "4960777", "JT0034", "CE123456") if v in flat]
    return found


def _annotated_leaks(text: str) -> list[str]:
    """As `_leaks`, but a name in free text cannot be found, so the annotated copy (a copy
    of the whole file) may keep it."""
    return [v for v in _leaks(text) if v != NAME_IN_NOTES]


# --------------------------------------------------------------------------
# the columns are found by their values


def test_columns_of_addresses_phones_and_ni_numbers_are_dropped(contacts_xlsx: Path) -> None:
    report = reports.check(contacts_xlsx)
    personal = [(f.cell, f.column) for f in report.findings.warnings
                if f.code == "personal-data"]
    assert personal == [("I1", "Ref"), ("J1", "Info"), ("K1", "Code")]
    messages = {f.column: f.message for f in report.findings.warnings
                if f.code == "personal-data"}
    assert "e-mail addresses" in messages["Ref"]
    assert "phone numbers" in messages["Info"]
    assert "National Insurance numbers" in messages["Code"]
    # the Notes column is not read: only its heading is named
    assert [h for _, h in report.workbook.tables[0].unused] == ["Notes"]


def test_one_warning_counts_the_details_in_text(contacts_xlsx: Path) -> None:
    report = reports.check(contacts_xlsx)
    (f,) = [f for f in report.findings.warnings if f.code == "contact-details-in-text"]
    assert f.message.startswith(f"{IN_TEXT} cells ")
    assert "Names written in text cannot be found reliably" in f.message
    # the first of them: the Notes cell of the first post (row 2, column L)
    assert (f.sheet, f.cell) == ("Posts", "L2")
    assert "--" not in f.message                         # plain words, no option syntax


def test_a_title_keeps_its_words_without_its_phone_number(contacts_xlsx: Path) -> None:
    report = reports.check(contacts_xlsx)
    titles = set(report.posts["title"])
    assert titles == {"Officer", f"Business Support Officer (tel {contacts.REMOVED})"}


def test_a_column_only_partly_of_addresses_is_kept(tmp_path: Path) -> None:
    """'Mostly' is more than half of the distinct values."""
    refs = ["a1@example.org", "a2@example.org", "R-3", "R-4", "R-5"]
    assert contacts.personal_kind(pa.array(refs)) is None
    assert contacts.personal_kind(pa.array(refs[:3] + ["a4@example.org"] + refs[4:])) \
        == contacts.EMAIL
    assert contacts.personal_kind(pa.array(["", "", "a@example.org"])) == contacts.EMAIL


@pytest.mark.parametrize(("values", "kind"), [
    (["020 7946 0018", "+44 20 7946 0019", "(0113) 496 0000"], contacts.PHONE),
    (["AB123456C", "ce 12 34 56 d", "JT 00 00 01 A"], contacts.NINO),
    (["x@example.org", "y.z@example.co.uk"], contacts.EMAIL),
    # not personal: amounts, FTE, dates, references, bad NI prefixes (HMRC: no D, F, I,
    # Q, U, V; no O second; never GB, ZZ ...), a number without a UK leading 0 or +
    (["35000", "27,500.50", "0.5", "1"], None),
    (["2026-04-06", "2017-09-30", "2018-06"], None),
    (["QQ123456C", "GB123456A", "ZZ123456B", "AO123456A", "DA123456A"], None),
    (["1234567890", "2079460018", "P000123456"], None),
    (["AB123456", "CE123457"], None),            # no suffix letter
])
def test_what_a_column_of_values_is(values: list[str], kind: str | None) -> None:
    assert contacts.personal_kind(pa.array(values)) == kind


@pytest.mark.parametrize(("text", "expected", "n"), [
    ("call 020 7946 0018 or mail jo@example.org today",
     f"call {contacts.REMOVED} or mail {contacts.REMOVED} today", 2),
    ("Officer (ext. +44 (0)20 7946 0555)", f"Officer (ext. {contacts.REMOVED})", 1),
    ("NI AB 12 34 56 C held", f"NI {contacts.REMOVED} held", 1),
    ("Cost £35,000.00 from 2026-04-06, 0.5 FTE, post 01234", None, 0),
    ("Team@Home and Grade 9", None, 0),
])
def test_scrub_free_text(text: str, expected: str | None, n: int) -> None:
    assert contacts.scrub(text) == (expected or text, n)


# --------------------------------------------------------------------------
# mapping a personal column is refused


def test_mapping_a_column_of_addresses_is_refused(contacts_xlsx: Path) -> None:
    result = invoke("validate", contacts_xlsx, "--map", "Ref=team")
    assert result.exit_code == 2
    assert "'Ref'" in result.stderr and "personal data" in result.stderr
    assert "e-mail addresses" in result.stderr
    assert "alex.morgan" not in result.stdout + result.stderr


@pytest.mark.parametrize(("heading", "field"), [("Info", "location"), ("Code", "post_id"),
                                                ("Ref", "age")])
def test_mapping_any_value_personal_column_to_any_field_is_refused(
        contacts_xlsx: Path, heading: str, field: str) -> None:
    result = invoke("summary", contacts_xlsx, "--map", f"{heading}={field}")
    assert result.exit_code == 2, result.stdout
    assert f"'{heading}'" in result.stderr and "personal data" in result.stderr


def test_rows_cannot_be_chosen_by_a_column_of_addresses(contacts_xlsx: Path) -> None:
    result = invoke("summary", contacts_xlsx, "--where", f"Ref={EMAILS[0]}")
    assert result.exit_code == 2
    assert "'Ref'" in result.stderr and "personal data" in result.stderr
    assert _leaks(result.stdout + result.stderr) == []


def test_a_notes_sheet_number_is_never_labelled_with_a_phone_number() -> None:
    """`reconcile` quotes the words around a number on a notes sheet."""
    (figure,) = sheet_figures("About", [[f"Twelve posts: ring {NOTE_PHONE} first"]])
    assert figure.value == 12
    assert _leaks(figure.says) == []
    (figure,) = sheet_figures("About", [[f"Ask {NOTE_EMAIL} about the", "12"]])
    assert figure.value == 12 and "sam.taylor" not in figure.says


def test_mapping_contact_details_by_heading_is_refused(tmp_path: Path) -> None:
    """The issue's case: "ContactDetails=team" printed officers' addresses in a public
    briefing."""
    path = make_csv(tmp_path, [["Service", "Job title", "Grade", "FTE", "Status",
                                "ContactDetails"],
                               ["Finance", "Officer", "G5", "1", "Deleted", "Finance team"]])
    result = invoke("brief", path, "--audience", "public", "--map", "ContactDetails=team",
                    "-o", tmp_path / "b.pdf")
    assert result.exit_code == 2
    assert "ContactDetails" in result.stderr and "personal data" in result.stderr
    assert not (tmp_path / "b.pdf").exists()


# --------------------------------------------------------------------------
# headings


@pytest.mark.parametrize("heading", [
    "ContactDetails", "Contact details", "Contact-Details", "Contact info",
    "Name of post holder", "NameOfPostHolder", "Post holder", "Post-holder name",
    "Occupant", "Incumbent", "Incumbent name", "Manager name", "Line Manager Name",
    "Line manager", "Officer name", "Name (Surname, Forename)", "Surname, Forename",
    "Mobile phone number", "Work e-mail address", "Staff member", "Personal details",
])
def test_personal_headings(heading: str) -> None:
    assert schema.is_personal(heading)


@pytest.mark.parametrize("heading", [
    "Post title", "Job title", "Team name", "Service name", "Organisation name",
    "Establishment name", "Manager grade", "Officer grade", "Manager post ID",
    "Reports to", "Contact centre", "Staff group", "Notes", "Ref", "Info", "Code",
])
def test_headings_that_are_not_personal(heading: str) -> None:
    assert not schema.is_personal(heading)


def test_no_field_alias_is_a_personal_heading() -> None:
    """A personal heading wins over an alias, so no alias may be one."""
    aliases = [a for f in schema.FIELDS + schema.EXTRA_FIELDS for a in f.aliases]
    assert [a for a in aliases if schema.is_personal(a)] == []


# --------------------------------------------------------------------------
# no output carries a planted value


def _xlsx_parts(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())


def test_no_text_json_csv_or_xlsx_output_carries_a_planted_value(
        contacts_xlsx: Path, tmp_path: Path) -> None:
    for fmt in ("text", "json"):
        out = invoke("validate", contacts_xlsx, "--format", fmt)
        assert out.exit_code == 0, out.stderr
        assert _leaks(out.stdout + out.stderr) == [], f"validate {fmt}"
    data = json.loads(invoke("validate", contacts_xlsx, "--format", "json").stdout)
    assert "contact-details-in-text" in [f["code"] for f in data["warnings"]]
    for fmt in ("text", "json", "csv"):
        out = invoke("summary", contacts_xlsx, "--format", fmt)
        assert out.exit_code == 0, out.stderr
        assert _leaks(out.stdout + out.stderr) == [], f"summary {fmt}"
    xlsx = tmp_path / "summary.xlsx"
    assert invoke("summary", contacts_xlsx, "--format", "xlsx", "-o", xlsx).exit_code == 0
    assert _leaks(_xlsx_parts(xlsx)) == []


@pytest.mark.parametrize("audience", ["public", "union", "management"])
def test_no_briefing_carries_a_planted_value(contacts_xlsx: Path, tmp_path: Path,
                                            audience: str) -> None:
    pdf = tmp_path / f"{audience}.pdf"
    result = invoke("brief", contacts_xlsx, "--audience", audience, "-o", pdf)
    assert result.exit_code == 0, result.stderr
    text = "\n".join(pdf_pages(pdf.read_bytes()))
    assert "Alpha" in text                       # the briefing was read at all
    assert _leaks(text) == [], f"{audience} pdf"
    html = tmp_path / f"{audience}.html"
    result = invoke("brief", contacts_xlsx, "--audience", audience, "--format", "html",
                    "-o", html)
    assert result.exit_code == 0, result.stderr
    assert _leaks(html.read_text(encoding="utf-8")) == [], f"{audience} html"
    tagged = tmp_path / f"{audience}-tagged.pdf"
    result = invoke("brief", contacts_xlsx, "--audience", audience, "--accessible",
                    "-o", tagged)
    assert result.exit_code == 0, result.stderr
    assert _leaks("\n".join(pdf_pages(tagged.read_bytes()))) == [], f"{audience} tagged"
    word = tmp_path / f"{audience}.docx"
    result = invoke("brief", contacts_xlsx, "--audience", audience, "--format", "docx",
                    "-o", word)
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(word) as z:                  # every part of the document, as text
        parts = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    assert "Alpha" in parts
    assert _leaks(parts) == [], f"{audience} docx"


def test_the_annotated_copy_carries_no_planted_contact_detail(
        contacts_xlsx: Path, tmp_path: Path) -> None:
    out = tmp_path / "annotated.xlsx"
    invoke("validate", contacts_xlsx, "--annotate", out)
    assert _annotated_leaks(_xlsx_parts(out)) == []
    ws = openpyxl.load_workbook(out)["Posts"]
    assert [c.value for c in ws[1]] == HEADER           # the headings stay
    assert ws["L2"].value == (f"{NAME_IN_NOTES} covering post; call {contacts.REMOVED} "
                              f"or mail {contacts.REMOVED}")
    assert ws["C5"].value == f"Business Support Officer (tel {contacts.REMOVED})"
    assert ws["I2"].value is None and ws["J2"].value is None and ws["K2"].value is None


def test_a_link_to_an_address_is_dropped_from_the_annotated_copy(tmp_path: Path) -> None:
    rows = _rows()
    path = make_xlsx(tmp_path, rows, name="linked.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Posts"]
    ws["L3"].value = "write to the team"
    ws["L3"].hyperlink = f"mailto:{NOTE_EMAIL}"
    ws["I2"].hyperlink = f"mailto:{EMAILS[0]}"
    wb.save(path)
    out = tmp_path / "annotated.xlsx"
    invoke("validate", path, "--annotate", out)
    parts = _xlsx_parts(out)
    assert "sam.taylor" not in parts and "alex.morgan" not in parts
    assert openpyxl.load_workbook(out)["Posts"]["L3"].value == "write to the team"


def test_the_annotated_copy_of_a_csv_carries_no_planted_contact_detail(
        tmp_path: Path) -> None:
    path = make_csv(tmp_path, _rows(), name="contacts.csv")
    out = tmp_path / "annotated.xlsx"
    invoke("validate", path, "--annotate", out)
    assert _annotated_leaks(_xlsx_parts(out)) == []


def test_notes_never_reach_a_briefing_or_summary(tmp_path: Path) -> None:
    """A Notes column is not a field: nothing in it (a name cannot be found and blanked)
    is read into any output but the annotated copy, a copy of the file itself."""
    rows = [["Team", "Job title", "Grade", "FTE", "Status", "Notes", "Comments"]]
    rows += [["Alpha", "Officer", "G5", 1, "Deleted" if i % 2 else "Retained",
              f"{NAME_IN_NOTES} on career break", "Pat Quillfeatherz acting up"]
             for i in range(12)]
    path = make_xlsx(tmp_path, rows, name="notes.xlsx")
    texts = []
    for fmt in ("text", "json", "csv"):
        texts.append(invoke("summary", path, "--format", fmt).stdout)
    texts.append(invoke("validate", path, "--format", "json").stdout)
    for audience in ("public", "union", "management"):
        html = tmp_path / f"{audience}.html"
        assert invoke("brief", path, "--audience", audience, "--format", "html",
                      "-o", html).exit_code == 0
        texts.append(html.read_text(encoding="utf-8"))
        pdf = tmp_path / f"{audience}.pdf"
        assert invoke("brief", path, "--audience", audience, "-o", pdf).exit_code == 0
        texts.append("\n".join(pdf_pages(pdf.read_bytes())))
    for text in texts:
        assert NAME_IN_NOTES not in text and "Quillfeatherz" not in text
        assert "career break" not in text and "acting up" not in text
