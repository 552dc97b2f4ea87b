"""Issue 26 item 10: the briefing states how the file was read.

The method section lists each status word with what it was read as (its built-in
reading, or the one given in the reading options, such as "At risk" read as deleted,
which sets the headline), the post rows and FTE it decided, the default status with
the rows and FTE it applied to, each column named in the options and each filter with
the rows it kept of the rows read.  Checked in every format (ReportLab PDF, tagged PDF,
HTML) and audience, by reading the text back; the expected figures are worked out
here from the rows written, with Decimal.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from reports import intake
from reports.model.fields import normalise

from .conftest import invoke, make_xlsx

HEADER = ["Team", "Job title", "Grade", "Share of a full week", "Posts", "Status", "Month"]
MARCH: list[list[Any]] = [
    ["Housing", "Officer", "G6", 2.5, 3, "Deleted", "2024-03"],
    ["Housing", "Officer", "G6", 1, 1, "deleted", "2024-03"],        # the same word
    ["Housing", "Clerk", "G4", 4.6, 5, "At risk", "2024-03"],         # mapped: deleted
    ["Parks", "Gardener", "G3", 0.5, 1, "Deleted - vacant", "2024-03"],
    ["Parks", "Gardener", "G3", 6, 6, "Remain", "2024-03"],
    ["Legal", "Solicitor", "G8", 3.75, 4, None, "2024-03"],           # blank: the default
    ["Legal", "Clerk", "G4", 2, 2, "Retained", "2024-03"],
    ["Legal", "Clerk", "G4", 1.25, 2, None, "2024-03"],
    ["Finance", "Analyst", "G7", 5, 5, "Transfer", "2024-03"],
]
FEBRUARY: list[list[Any]] = [[*row[:6], "2024-02"] for row in MARCH[:4]]
OPTIONS = ["--map", "Share of a full week=fte", "--status-map", "At risk=deleted",
           "--default-status", "retained", "--where", "Month=2024-03"]
BUILT_IN = "a word the tool reads on its own"
GIVEN = "the reading options given"
DEFAULT = "the default given for rows without a status"
READ_AS = {"deleted": "deleted", "atrisk": "deleted", "deletedvacant": "deleted (vacant)",
           "remain": "retained", "retained": "retained", "": "retained",
           "transfer": "relocated"}


def number(d: Decimal) -> str:
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def expected() -> list[tuple[str, str, str, int, Decimal]]:
    """(word as shown, read as, because, rows, FTE) per word of March, from the rows."""
    rows: dict[str, int] = defaultdict(int)
    fte: dict[str, Decimal] = defaultdict(Decimal)
    first: dict[str, str] = {}
    for row in MARCH:
        word = row[5] or ""
        key = normalise(word)
        first.setdefault(key, word)
        rows[key] += 1
        fte[key] += Decimal(str(row[3]))
    out = []
    for key, n in rows.items():
        shown = "(none given)" if key == "" else f"\u201c{first[key]}\u201d"
        because = DEFAULT if key == "" else GIVEN if key == "atrisk" else BUILT_IN
        out.append((shown, READ_AS[key], because, n, fte[key]))
    return out


@pytest.fixture(scope="module")
def hr_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_xlsx(tmp_path_factory.mktemp("reading"), [HEADER, *MARCH, *FEBRUARY],
                     name="hr.xlsx")


class _Text(HTMLParser):
    """The text a reader of the HTML page sees (no CSS, no SVG title or description)."""

    SKIP = {"style", "script", "title", "desc", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self.skipping.append(tag)
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def flat(text: str) -> str:
    return " ".join(text.replace("\u2022", " ").split())


def read_back(path: Path, fmt: str) -> str:
    """The briefing's text, whitespace made single spaces."""
    if fmt == "html":
        parser = _Text()
        parser.feed(path.read_text(encoding="utf-8"))
        return flat("".join(parser.parts))
    return flat("\n".join(p.extract_text() for p in
                          PdfReader(io.BytesIO(path.read_bytes())).pages))


FORMATS = {"pdf": ["--no-accessible"], "tagged": ["--accessible"], "html": ["--format", "html"]}


def brief(path: Path, tmp: Path, audience: str, fmt: str) -> str:
    out = tmp / f"{audience}-{fmt}.{'html' if fmt == 'html' else 'pdf'}"
    r = invoke("brief", path, "--audience", audience, *FORMATS[fmt], *OPTIONS,
               "--reproducible", "-o", out)
    assert r.exit_code == 0, r.output + r.stderr
    return read_back(out, fmt)


def method_of(text: str) -> str:
    return text[text.rindex("How the file was read"):]


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("audience", ["union", "management"])
def test_the_method_lists_each_status_word_default_column_and_filter(
        hr_file: Path, tmp_path: Path, audience: str, fmt: str) -> None:
    method = method_of(brief(hr_file, tmp_path, audience, fmt))
    for shown, read_as, because, rows, fte in expected():
        assert f"{shown} {read_as} {because} {rows} {number(fte)}" in method, shown
    # "At risk" is read as deleted because the options said so; that sets the headline
    assert "\u201cAt risk\u201d deleted " + GIVEN in method
    assert "\u201cdeleted\u201d" not in method          # one word, however it is spelt
    assert ("Columns named in the reading options given: \u201cShare of a full week\u201d "
            "as FTE.") in method
    kept, read = len(MARCH), len(MARCH) + len(FEBRUARY)
    assert (f"Only the rows where Month is \u201c2024-03\u201d were read: {kept} of {read} "
            f"rows kept.") in method


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_public_briefing_names_each_reading_and_publishes_no_new_figure(
        hr_file: Path, tmp_path: Path, fmt: str) -> None:
    text = brief(hr_file, tmp_path, "public", fmt)
    method = method_of(text)
    words: dict[str, int] = defaultdict(int)
    for _, read_as, _, _, _ in expected():
        words[read_as.split()[0]] += 1
    for shown, read_as, because, _, _ in expected():
        cell = "in the total" if words[read_as.split()[0]] > 1 else ""
        assert f"{shown} {read_as} {because} {cell}".strip() in method, shown
    # the one word read as relocated gets the relocated total, as the key figures give it
    relocated = sum((Decimal(str(r[3])) for r in MARCH if r[5] == "Transfer"), Decimal(0))
    assert re.search(rf"\u201cTransfer\u201d relocated {BUILT_IN} "
                     rf"({re.escape(number(relocated))}|\[c\])", method)
    assert "Only the rows where Month is \u201c2024-03\u201d were read" in method


def test_the_readings_are_carried_from_the_intake(hr_file: Path) -> None:
    report = intake.check(hr_file, mapping=["Share of a full week=fte"],
                          status_map=["At risk=deleted"], default_status="retained",
                          where=["Month=2024-03"])
    assert report.valid, report.to_dict()
    got = {(normalise(r.word), r.source): (r.status, r.vacant, r.rows, r.fte)
           for r in report.status_readings}
    posts = defaultdict(int)
    for row in MARCH:
        posts[normalise(row[5] or "")] += row[4]
    assert got[("atrisk", "status-map")][:3] == ("deleted", None, 1)
    assert got[("deletedvacant", "built-in")][:2] == ("deleted", True)
    assert got[("", "default-status")][2:] == (2, Decimal("5.00"))
    assert sum(r.fte for r in report.status_readings) == \
        sum((Decimal(str(r[3])) for r in MARCH), Decimal(0))
    assert {normalise(r.word): r.posts for r in report.status_readings} == dict(posts)


def test_a_file_with_no_status_column_states_the_default_and_its_rows(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Unit", "Generic Job Title", "Grade", "FTE"],
                             ["Policy", "Adviser", "SCS1", 1], ["Policy", "Analyst", "G7", 0.6],
                             ["Data", "Analyst", "G7", 2.25]]
    path = make_xlsx(tmp_path, rows, name="organogram.xlsx")
    out = tmp_path / "b.html"
    r = invoke("brief", path, "--default-status", "retained", "--format", "html",
               "--reproducible", "-o", out)
    assert r.exit_code == 0, r.output + r.stderr
    method = method_of(read_back(out, "html"))
    fte = sum((Decimal(str(row[3])) for row in rows[1:]), Decimal(0))
    assert f"(none given) retained {DEFAULT} {len(rows) - 1} {number(fte)}" in method
