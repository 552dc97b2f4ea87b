"""A section and a money measure are each one file's work.

A made-up section is written as one module into a folder put on the sections
package's discovery path (nothing else names it), and a made-up money measure is
one `register` call that declares its relation to its counts.  A briefing of the
Derbyshire sample with a template that lists the section must then show both, in
the PDF, the tagged PDF, the HTML and the Word file; the measure must reach the
JSON and CSV summaries; and under a small-number threshold the measure must be
hidden with its counts, because it said it belongs to them.  Its value is worked out
here from the workbook with openpyxl, not by the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from pypdf import PdfReader

from reports.documents import sections
from reports.documents.template import SECTIONS, load_builtin, parse_template
from reports.model import measures
from reports.model.measures import COST, MONEY, Measure

from .conftest import invoke, sample

SAMPLE = sample("derbyshire_early_help.xlsx")
KEY = "made_up_cost"
LABEL = "Cost of relocated rows over 40,000 a year"
HEADING = "A made-up section"
WORDS = "Words that only the made-up section writes."
SECTION = f'''"""A made-up briefing section (tests/test_registries.py)."""

from reports.documents.blocks import Block, Table, Text
from reports.documents.builder import Builder
from reports.documents.sections import section


@section("made_up", {HEADING!r})
def made_up(b: Builder) -> list[Block]:
    return [Text({WORDS!r}, "body"),
            b.table(Table(["Figure", "Value"], [[{LABEL!r}, ("total", {KEY!r})]]))]
'''


def dear_relocated_cost() -> Decimal:
    """The made-up measure, summed by hand: the annual cost of the rows whose status is
    Relocated and whose cost is over £40,000 (each sheet names its columns its own way)."""
    total = Decimal(0)
    book = openpyxl.load_workbook(SAMPLE, read_only=True)
    for sheet in book.worksheets[:2]:
        rows = list(sheet.iter_rows(values_only=True))
        at = next(i for i, r in enumerate(rows) if "Status" in r or "Proposal" in r)
        head = rows[at]
        status = head.index("Status" if "Status" in head else "Proposal")
        cost = head.index("Annual cost" if "Annual cost" in head else "Salary cost")
        total += sum((Decimal(str(r[cost])) for r in rows[at + 1:]
                      if r[status] == "Relocated" and r[cost] > 40_000), Decimal(0))
    return total


def money(value: Decimal) -> str:
    """£ with thousands commas, pence only when there are any."""
    return f"£{value:,.0f}" if value == value.to_integral() else f"£{value:,.2f}"


def _measure(counts: tuple[str, ...]) -> Measure:
    return Measure(KEY, MONEY, LABEL, needs=COST, counts=counts,
                   rows=lambda r: r.where(r.of("relocated") & (r.cost > 40_000 * 100), r.cost))


@pytest.fixture
def made_up_section(tmp_path: Path) -> Iterator[str]:
    """One new module in a folder on the sections package's path, and nothing else."""
    folder = tmp_path / "more_sections"
    folder.mkdir()
    (folder / "zz_made_up.py").write_text(SECTION, encoding="utf-8")
    sections.__path__.append(str(folder))
    try:
        assert sections.discover() == ["zz_made_up"]
        yield "made_up"
    finally:
        sections.__path__.remove(str(folder))
        sections.unregister("made_up")
        sys.modules.pop(f"{sections.__name__}.zz_made_up", None)


@pytest.fixture
def made_up_measure() -> Iterator[Measure]:
    measure = measures.register(_measure(counts=("relocated_fte", "relocated_posts")))
    yield measure
    measures.unregister(KEY)


def _template(tmp_path: Path, threshold: int) -> Path:
    path = tmp_path / f"made-up-{threshold}.toml"
    path.write_text(f'sections = ["headline", "made_up", "method"]\n'
                    f'[privacy]\nsmall_number_threshold = {threshold}\n', encoding="utf-8")
    return path


def _brief(tmp_path: Path, template: Path, name: str, *options: str) -> Path:
    out = tmp_path / name
    result = invoke("brief", SAMPLE, "--template", template, "-o", out, *options)
    assert result.exit_code == 0, result.stderr
    return out


def pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(path).pages)


def pdf_outline(path: Path) -> list[str]:
    """Every bookmark's title, at any depth."""
    def titles(items: list[Any]) -> list[str]:
        return [t for o in items for t in (titles(o) if isinstance(o, list) else [o.title])]
    return titles(PdfReader(path).outline)


def html_text(path: Path) -> str:
    return re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))


def docx_text(path: Path) -> str:
    doc = docx.Document(str(path))
    return "\n".join([p.text for p in doc.paragraphs]
                     + [" ".join(c.text for c in row.cells)
                        for t in doc.tables for row in t.rows])


def _row(text: str) -> str:
    """What follows the made-up measure's label in a table, as one line."""
    found = re.search(re.escape(LABEL) + r"\s+(\S+)", " ".join(text.split()))
    assert found, text
    return found.group(1)


def test_a_made_up_section_and_money_measure_reach_every_output(
        made_up_section: str, made_up_measure: Measure, tmp_path: Path) -> None:
    expected = dear_relocated_cost()
    assert expected > 0
    shown = _template(tmp_path, 0)
    outputs = {
        "pdf": pdf_text(_brief(tmp_path, shown, "b.pdf")),
        "tagged": pdf_text(tagged := _brief(tmp_path, shown, "t.pdf", "--accessible")),
        "html": html_text(_brief(tmp_path, shown, "b.html", "--format", "html")),
        "docx": docx_text(_brief(tmp_path, shown, "b.docx", "--format", "docx")),
    }
    for kind, text in outputs.items():
        assert HEADING in text and WORDS in text, kind
        assert _row(text) == money(expected), kind
    assert HEADING in pdf_outline(tagged)

    summary = invoke("summary", SAMPLE, "--format", "json")
    assert Decimal(str(json.loads(summary.stdout)["totals"][KEY])) == expected
    csv_text = invoke("summary", SAMPLE, "--format", "csv").stdout
    totals = csv_text.split("# totals\n", 1)[1].split("\n\n", 1)[0]
    (row,) = csv.DictReader(io.StringIO(totals))
    assert Decimal(row[KEY]) == expected

    # 6 relocated posts: under a threshold of 10 they are hidden, and the money that
    # declared it belongs to them goes with them, in every output
    hiding = _template(tmp_path, 10)
    for kind, text in {
            "pdf": pdf_text(_brief(tmp_path, hiding, "h.pdf")),
            "html": html_text(_brief(tmp_path, hiding, "h.html", "--format", "html")),
            "docx": docx_text(_brief(tmp_path, hiding, "h.docx", "--format", "docx"))}.items():
        assert _row(text) == "[c]", kind
        assert money(expected) not in text, kind


def test_without_its_counts_the_made_up_money_would_be_shown(
        made_up_section: str, tmp_path: Path) -> None:
    """The control: the same measure declaring no counts is not hidden at all, so it is
    the declaration that hides it above."""
    measures.register(_measure(counts=()))
    try:
        text = pdf_text(_brief(tmp_path, _template(tmp_path, 10), "c.pdf"))
    finally:
        measures.unregister(KEY)
    assert _row(text) == money(dear_relocated_cost())


def test_sections_are_every_module_of_the_package_and_the_order_is_the_templates() -> None:
    folder = Path(sections.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if not p.name.startswith("_")}
    imported = {m.rsplit(".", 1)[1] for m in sys.modules
                if m.startswith(sections.__name__ + ".")}
    assert modules <= imported
    assert list(sections.known()) == sorted(sections.known())
    assert len(sections.known()) >= len(modules)
    # a template that lists no sections takes the union template's, in its order
    assert parse_template({}, "empty.toml").sections == SECTIONS
    assert load_builtin("union").sections == SECTIONS
    assert SECTIONS != tuple(sorted(SECTIONS))          # not the registry's order
