"""The Word briefing (`impact brief --format docx`): the same figures and markers as the
PDF and the web page, and a document made for editing and accessible as Word checks it.

Each document is read back with python-docx.  Figures and "[c]" markers are pulled out
of its text with the same pattern as the PDF's and the HTML's (tests/test_accessible.py)
and compared as multisets; nothing is compared with a stored copy.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

import reports
from reports.documents.blocks import Briefing, Tiles
from reports.documents.briefing import make_briefing
from reports.documents.template import AUDIENCES, load_builtin
from reports.figures.privacy import MARKER
from reports.render.docx import COMMENTARY_HEADING, LANGUAGE, docx_bytes
from reports.render.html import render_html

from .conftest import invoke, sample
from .golden import VALID_SAMPLES
from .test_accessible import (
    CASES,
    _Tables,
    briefing,
    figures,
    html_text,
    pdf_text,
    reportlab_pdf,
    without_charts,
)

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def document(name: str, audience: str) -> Any:
    return docx.Document(io.BytesIO(docx_bytes(briefing(name, audience))))


def docx_text(doc: Any) -> str:
    """The document's body text in reading order: paragraphs, and tables cell by cell."""
    parts: list[str] = []
    for block in doc.iter_inner_content():
        if isinstance(block, docx.table.Table):
            for row in block.rows:
                parts.append("\n" + " ".join(c.text for c in row.cells))
        else:
            parts.append("\n" + block.text)
    return "".join(parts)


def headings(doc: Any) -> list[tuple[int, str]]:
    out = []
    for p in doc.paragraphs:
        name = p.style.name
        if name.startswith("Heading "):
            out.append((int(name.split()[1]), p.text))
    return out


# --------------------------------------------------------------------------
# same figures as the PDF and the web page


@pytest.mark.parametrize(("name", "audience"), CASES)
def test_the_word_briefing_has_the_figures_and_markers_of_the_pdf_and_html(
        name: str, audience: str) -> None:
    b = briefing(name, audience)
    plain = without_charts(b)
    from_pdf = figures(pdf_text(reportlab_pdf(plain)), b)
    from_docx_plain = figures(docx_text(docx.Document(io.BytesIO(docx_bytes(plain)))), b)
    assert from_pdf, "the briefing should have figures"
    assert from_docx_plain == from_pdf, (from_docx_plain - from_pdf, from_pdf - from_docx_plain)
    # charts too: each chart's figures table is the web page's (the chart itself is a
    # picture in the document, so the page's SVG, its axis ticks and marks, is left out)
    from_html = figures(html_text(re.sub(r"<svg.*?</svg>", " ", render_html(b), flags=re.S)), b)
    from_docx = figures(docx_text(document(name, audience)), b)
    assert from_docx == from_html, (from_docx - from_html, from_html - from_docx)
    if audience == "public":
        assert from_docx[MARKER] > 0


@pytest.mark.parametrize("name", VALID_SAMPLES)
def test_every_table_is_the_web_pages_cell_for_cell_hidden_cells_included(name: str) -> None:
    """The public briefing's tables (and each chart's figures table), row by row and cell
    by cell, are the web page's: "[c]" in the same cells."""
    b = briefing(name, "public")
    parser = _Tables()
    parser.feed(render_html(b))
    doc = document(name, "public")
    tables = [[[" ".join(c.text.split()) for c in row.cells] for row in t.rows]
              for t in doc.tables]
    tiles = [t for t in tables if t[0] == ["Figure", "Value"]]     # the key figures
    assert len(tiles) == sum(1 for s in b.sections for x in s.blocks if isinstance(x, Tiles))
    assert [t for t in tables if t[0] != ["Figure", "Value"]] == parser.tables
    assert any(MARKER in row for t in tables for row in t), "the public briefing hides some"
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption"]
    assert len(captions) == len(tables) + len(doc.inline_shapes)  # each table and chart


# --------------------------------------------------------------------------
# made for editing, accessible as Word checks it


@pytest.mark.parametrize("audience", AUDIENCES)
def test_headings_are_real_heading_styles_in_order(audience: str) -> None:
    doc = document("derbyshire_early_help.xlsx", audience)
    levels = headings(doc)
    assert levels[0][0] == 1 and sum(1 for lv, _ in levels if lv == 1) == 1
    for (before, _), (after, text) in zip(levels, levels[1:]):
        assert after <= before + 1, f"heading {text!r} skips a level"
    b = briefing("derbyshire_early_help.xlsx", audience)
    assert [t for lv, t in levels if lv == 2] == [COMMENTARY_HEADING] + [
        s.heading for s in b.sections]


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_table_repeats_its_header_row_and_every_image_has_alt_text(audience: str) -> None:
    doc = document("derbyshire_early_help.xlsx", audience)
    assert doc.tables
    for table in doc.tables:
        tr_pr = table.rows[0]._tr.trPr
        assert tr_pr is not None and tr_pr.find(qn("w:tblHeader")) is not None
        for row in table.rows[1:]:      # only the first row repeats
            assert row._tr.trPr is None or row._tr.trPr.find(qn("w:tblHeader")) is None
    b = briefing("derbyshire_early_help.xlsx", audience)
    charts = sum(1 for s in b.sections for x in s.blocks if type(x).__name__ == "Chart")
    assert len(doc.inline_shapes) == charts > 0
    for shape in doc.inline_shapes:
        assert shape._inline.docPr.get("descr", "").strip(), "an image without alt text"


@pytest.mark.parametrize("audience", AUDIENCES)
def test_language_title_marking_and_a_place_for_commentary(audience: str) -> None:
    b: Briefing = briefing("derbyshire_early_help.xlsx", audience)
    doc = document("derbyshire_early_help.xlsx", audience)
    assert doc.core_properties.title == b.title
    assert doc.core_properties.language == LANGUAGE
    normal = doc.styles["Normal"].element.rPr
    assert normal.find(qn("w:lang")).get(qn("w:val")) == LANGUAGE
    section = doc.sections[0]
    assert b.marking and section.header.paragraphs[0].text == b.marking
    assert section.footer.paragraphs[0].text == b.marking
    # the commentary place comes before the first section of figures, and is marked
    levels = headings(doc)
    assert levels[1] == (2, COMMENTARY_HEADING)
    paras = doc.paragraphs
    at = next(i for i, p in enumerate(paras) if p.text == COMMENTARY_HEADING)
    placeholder = paras[at + 1]
    assert placeholder.text.startswith("[") and "commentary" in placeholder.text
    assert placeholder._p.pPr.find(qn("w:pBdr")) is not None


def test_a_reproducible_word_briefing_is_the_same_bytes_each_time() -> None:
    report = reports.check(sample("derbyshire_early_help.xlsx"))
    made = [docx_bytes(make_briefing(report, reports.summarise(report),
                                     load_builtin("union"), version="9.9.9"))
            for _ in range(2)]
    assert made[0] == made[1]


# --------------------------------------------------------------------------
# the command


def test_impact_brief_format_docx_writes_a_word_file(tmp_path: Path) -> None:
    out = tmp_path / "b.docx"
    r = invoke("brief", sample("derbyshire_early_help.xlsx"), "--format", "docx", "-o", out)
    assert r.exit_code == 0, r.output
    assert f"Briefing written to {out} (Word)" in r.stderr
    doc = docx.Document(str(out))
    assert headings(doc)[0][0] == 1


def test_accessible_with_docx_is_refused_with_the_reason(tmp_path: Path) -> None:
    r = invoke("brief", sample("derbyshire_early_help.xlsx"), "--format", "docx",
               "--accessible", "-o", tmp_path / "b.docx")
    assert r.exit_code == 2
    assert "--accessible makes a tagged PDF" in r.stderr
    assert not (tmp_path / "b.docx").exists()


# --------------------------------------------------------------------------
# the 500-team benchmark file


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory: pytest.TempPathFactory) -> Any:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from brief_wide import make_wide
    finally:
        sys.path.remove(str(ROOT / "bench"))
    path = make_wide(tmp_path_factory.mktemp("wide") / "wide.xlsx")
    report = reports.check(path)
    assert report.valid
    return report


@pytest.mark.parametrize("audience", ["union", "management", "public"])
def test_the_500_team_word_briefing_has_the_pdfs_figures(wide_report: Any,
                                                         audience: str) -> None:
    b = make_briefing(wide_report, reports.summarise(wide_report), load_builtin(audience),
                      version="9.9.9")
    plain = without_charts(b)
    # the generated names ("Team 007 – Locality Partnership and ...") wrap onto two lines
    # in the PDF's narrow columns, so they are taken out by their numbered part
    names = re.compile(r"\b(?:Team|Grade|Site)\s+\d+")
    from_pdf = figures(names.sub(" ", pdf_text(reportlab_pdf(plain))), b)
    from_docx = figures(names.sub(" ", docx_text(docx.Document(io.BytesIO(docx_bytes(plain))))),
                        b)
    assert sum(from_pdf.values()) > 20_000 // 10     # a long briefing: 500 teams' rows
    assert from_docx == from_pdf, (Counter(from_docx - from_pdf), Counter(from_pdf - from_docx))


# --------------------------------------------------------------------------
# opened by another word processor: LibreOffice, headless


def test_libreoffice_opens_the_word_briefing_and_prints_its_figures(tmp_path: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        message = "LibreOffice is not installed (apt-get install -y libreoffice-writer-nogui)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must open the Word briefing", pytrace=False)
        pytest.skip(message)
    b = briefing("derbyshire_early_help.xlsx", "union")
    (tmp_path / "union.docx").write_bytes(docx_bytes(b))
    profile = tmp_path / "profile"       # its own profile: no other LibreOffice interferes
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(tmp_path / "union.docx")], check=True, capture_output=True,
                   timeout=600)
    text = pdf_text((tmp_path / "union.pdf").read_bytes())
    assert b.marking in text and COMMENTARY_HEADING in text
    # every figure and marker of the PDF briefing (less its charts, whose figures the
    # document gives as tables besides) is in what LibreOffice prints
    from_pdf = figures(pdf_text(reportlab_pdf(without_charts(b))), b)
    missing = from_pdf - figures(text, b)
    assert not missing, missing
