"""Every finding code: its id, severity, a short title and how to fix what it reports.

A finding is made from one of these records, `findings.add(codes.FTE_NEGATIVE,
message, ...)`, so no code is spelt out as a bare string and each code's
severity is fixed here, once.  `Findings.add` refuses anything that is not in
this catalogue, and tests/test_codes.py checks the README's table of codes
against it.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
INFO = "info"

SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Code:
    """One finding code.  `id` is what the output shows ("fte-negative")."""

    id: str
    severity: str
    title: str    # what is wrong, in a few words
    fix: str      # what to do about it

    def __str__(self) -> str:
        return self.id


CODES: dict[str, Code] = {}


def _code(id: str, severity: str, title: str, fix: str) -> Code:
    if severity not in SEVERITIES:
        raise ValueError(f"finding code {id!r}: unknown severity {severity!r}")
    if id in CODES:
        raise ValueError(f"finding code {id!r} is defined twice")
    CODES[id] = code = Code(id, severity, title, fix)
    return code


def all_codes() -> list[Code]:
    """Every code, errors first, in the order of the README's table."""
    return list(CODES.values())


def is_code(code: object) -> bool:
    """Whether `code` is one of the catalogue's own records."""
    return isinstance(code, Code) and CODES.get(code.id) is code


# -- errors: the file cannot be summarised until they are fixed

MISSING_COLUMN = _code(
    "missing-column", ERROR, "A required column is missing",
    "Add a column with one of the field's headings, or say which of your columns holds "
    "the field.")
DUPLICATE_COLUMN = _code(
    "duplicate-column", ERROR, "Two columns look like the same field",
    "Rename one of them, or say which one holds the field.")
REQUIRED_BLANK = _code(
    "required-blank", ERROR, "A required cell is blank",
    "Fill in the team, job title, grade, FTE and status of every post; move notes and "
    "headings out of the table.")
FTE_NOT_NUMBER = _code(
    "fte-not-number", ERROR, "FTE is not a number",
    "Give the FTE as a number such as 1, 0.5 or 33.69, with a full stop as the decimal point.")
FTE_ZERO = _code(
    "fte-zero", ERROR, "FTE is 0",
    "A post must be above 0 FTE; delete the row if the post does not exist.")
FTE_NEGATIVE = _code(
    "fte-negative", ERROR, "FTE is negative",
    "FTE must be above 0 and at most the number of posts on the row.")
FTE_TOO_PRECISE = _code(
    "fte-too-precise", ERROR, "FTE has more than 6 decimal places",
    "Round the FTE to 6 decimal places (e.g. 0.533333), so that totals are exact.")
FTE_EXCEEDS_POSTS = _code(
    "fte-exceeds-posts", ERROR, "FTE is more than the row's posts allow",
    "Each post is at most 1.0 FTE; correct the FTE or the number of posts.")
POSTS_INVALID = _code(
    "posts-invalid", ERROR, "Posts is not a whole number of at least 1",
    "Give how many identical posts the row stands for, or leave it blank for 1.")
STATUS_UNKNOWN = _code(
    "status-unknown", ERROR, "The status is not a known proposal",
    "Use one of the status words (Deleted, Retained, Relocated, New post or their variants; "
    "the message lists them).")
DESTINATION_MISSING = _code(
    "destination-missing", ERROR, "A relocated post has no destination",
    "Name the service each relocated post moves to, in a column headed 'Destination'.")
FORMULA_NO_VALUE = _code(
    "formula-no-value", ERROR, "A formula has no saved result",
    "Open the file in Excel or LibreOffice, let it recalculate, and save it again.")
DUPLICATE_POST_ID = _code(
    "duplicate-post-id", ERROR, "A post ID is used twice",
    "Give each post its own ID; or, if the file's IDs do not name one post each, ignore "
    "the ID column (it is optional).")
TOTAL_MISMATCH = _code(
    "total-mismatch", ERROR, "A Total row disagrees with the rows above it",
    "Correct the total or the rows it totals.")
SUBTOTAL_MISMATCH = _code(
    "subtotal-mismatch", ERROR, "A Sub-total row disagrees with its rows",
    "Correct the sub-total or the rows since the previous sub-total.")
EXPECT_FTE_MISMATCH = _code(
    "expect-fte-mismatch", ERROR, "The expected baseline FTE disagrees with the file",
    "Check the schedule's baseline FTE against the published figure.")
EXPECT_DELETED_FTE_MISMATCH = _code(
    "expect-deleted-fte-mismatch", ERROR, "The expected deleted FTE disagrees with the file",
    "Check the schedule's deleted FTE against the published figure.")
VACANT_INVALID = _code(
    "vacant-invalid", ERROR, "Vacant is not Y or N",
    "Use Y (vacant) or N (someone holds the post); Yes/No and True/False also do.")
COST_NOT_NUMBER = _code(
    "cost-not-number", ERROR, "The annual cost is not an amount of money",
    "Give a number of pounds such as 31234.50 or £31,234.50.")
COST_NEGATIVE = _code(
    "cost-negative", ERROR, "The annual cost is negative",
    "Give the cost of the row as a positive amount.")
STATUS_VACANT_CONFLICT = _code(
    "status-vacant-conflict", ERROR, "The status and the Vacant column disagree",
    "The status says whether the post is vacant (e.g. 'Deleted - vacant'); make the Vacant "
    "cell agree, or use the plain status word.")
DISMISSAL_DATE_INVALID = _code(
    "dismissal-date-invalid", ERROR, "The dismissal date is not a date",
    "Give the date as a date cell, or as YYYY-MM-DD or DD/MM/YYYY.")
HEADCOUNT_INVALID = _code(
    "headcount-invalid", ERROR, "People is not a whole number of at least 0",
    "Give how many people hold the row's posts, or leave it blank for the number of posts.")
VALUE_TOO_LONG = _code(
    "value-too-long", ERROR, "A cell holds more than 32,767 characters",
    "Shorten it; no spreadsheet cell can hold more.")

# -- warnings: the figures are produced, but say something the reader should know

DESTINATION_UNEXPECTED = _code(
    "destination-unexpected", WARNING, "A destination on a post that is not relocated",
    "Clear the destination, or set the status to Relocated; until then it is ignored.")
PERSONAL_DATA = _code(
    "personal-data", WARNING, "A personal-data column was dropped",
    "Nothing from it is read or shown; remove it from copies of the file you share.")
CONTACT_DETAILS_IN_TEXT = _code(
    "contact-details-in-text", WARNING, "E-mail addresses or phone numbers are written in text",
    "Nothing for the outputs: each is shown as [removed] in every output and in the annotated "
    "copy. Names written in text cannot be found reliably, so read the notes and other text "
    "columns for names before you share the file.")
VACANT_BLANK = _code(
    "vacant-blank", WARNING, "Vacant is blank",
    "Fill in Y or N; a blank counts as occupied, so the post is at risk.")
COST_BLANK = _code(
    "cost-blank", WARNING, "The annual cost is blank",
    "Fill it in; a blank counts as £0 in the cost figures.")
COST_ROUNDED = _code(
    "cost-rounded", WARNING, "The annual cost has fractions of a penny",
    "Give whole pence; the cost is rounded to the nearest penny.")
VACANT_PARTIAL = _code(
    "vacant-partial", WARNING, "Some sheets have no Vacant column",
    "Add a Vacant column to every sheet; until then at-risk figures are not reported.")
ANNUAL_COST_PARTIAL = _code(
    "annual-cost-partial", WARNING, "Some sheets have no Annual cost column",
    "Add an Annual cost column to every sheet; until then costs are not reported.")

STATUS_DEFAULTED = _code(
    "status-defaulted", WARNING, "Rows without a status were given the default status",
    "Check that the default status is what the proposal does to those posts.")
STACKED_SNAPSHOTS = _code(
    "stacked-snapshots", WARNING, "The file looks like several snapshots stacked in one",
    "Keep only the rows of one period, by filtering the rows on the column the warning "
    "names; unless the periods' rows are meant to be added up.")
JOB_SHARE = _code(
    "job-share", WARNING, "Rows that share a post ID were read as one job-share post",
    "Nothing, if they are one post shared between people; otherwise give each post its "
    "own ID.")
DESTINATION_NOT_GIVEN = _code(
    "destination-not-given", WARNING, "Relocated posts, but no Destination column",
    "Add a Destination column naming the service each relocated post moves to; until then "
    "it is 'not given'.")

# -- information

UNKNOWN_COLUMN = _code(
    "unknown-column", INFO, "A column with an unknown heading was ignored",
    "If it holds one of the fields, say which field it holds.")
SHEET_SKIPPED = _code(
    "sheet-skipped", INFO, "A sheet was not read",
    "Nothing, if the sheet holds no posts; otherwise give it a header row, or say which "
    "of its headings hold the fields.")
POSTS_NOT_GIVEN = _code(
    "posts-not-given", INFO, "No Posts column: post counts are not given",
    "Add a Posts column (how many posts each row stands for) or a Post ID column (one post "
    "per ID), or say that each row is one post, to have post counts reported.")
ROWS_SELECTED = _code(
    "rows-selected", INFO, "A filter kept only some rows",
    "Nothing, if those are the rows you meant.")
ENCODING = _code(
    "encoding", INFO, "A CSV file was read as Windows-1252",
    "If accented letters look wrong, say which character encoding the file uses.")

# -- the optional cost and equality columns (read by the cost and equality figures)

EFFECTIVE_DATE_INVALID = _code(
    "effective-date-invalid", WARNING, "The effective date is not a date",
    "Give a date such as 2026-07-01 or 01/07/2026; until then the row's saving counts "
    "from the start of the financial year.")
SENSITIVE_VALUE_INVALID = _code(
    "sensitive-value-invalid", WARNING, "A personal cost or equality value cannot be read",
    "Correct the cell (the message says what it must hold; the value itself is never "
    "repeated); until then the row is left out of that total.")
SENSITIVE_COLUMNS = _code(
    "sensitive-columns", INFO, "Columns about the people in the posts were read",
    "Nothing: they are read only into totals and no output shows them per post. The "
    "stored copy of an uploaded file keeps them; remove them before uploading to keep "
    "them out.")
