"""Accessible briefings: the HTML page and the tagged (PDF/UA) PDF.

- Structure: the tagged PDF is read back with pikepdf (MarkInfo, /Lang,
  DisplayDocTitle, pdfuaid:part in the XMP, one H1 and no skipped heading level in
  the structure tree, /Scope on every TH, /Alt on every Figure), and the `pdfua`
  package's checks (a machine-checkable subset of PDF/UA-1) find no error.
- Same content: for every valid sample and every audience, the figures and "[c]"
  markers are pulled out of the text of the ReportLab PDF (pypdf), of the HTML (its
  DOM's text, with html.parser) and of the tagged PDF (pypdf) with one regular
  expression, and compared as multisets.  Nothing is compared with a stored copy.
- The HTML itself: lang, title, one h1, headings in order, captions, th scope,
  the tiles as a description list, charts as SVG with title and desc followed by a
  table, no request to anywhere, and contrast of at least 4.5:1 (worked out here).
- Disclosure: a public HTML briefing shows exactly the cells the ReportLab one
  shows, "[c]" in the same places.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pypdf import PdfReader

import reports
from reports.documents.blocks import Briefing, Chart, Table
from reports.documents.briefing import make_briefing
from reports.documents.template import AUDIENCES, load_builtin
from reports.figures.privacy import MARKER
from reports.render import pdf as rl
from reports.render.html import render_html
from reports.render.tagged import render_tagged

from .conftest import invoke, sample
from .golden import VALID_SAMPLES

CASES = [(name, audience) for name in VALID_SAMPLES for audience in AUDIENCES]


# --------------------------------------------------------------------------
# building the three outputs of one briefing


@functools.cache
def briefing(name: str, audience: str) -> Briefing:
    report = reports.check(sample(name))
    assert report.valid
    return make_briefing(report, reports.summarise(report), load_builtin(audience),
                         version="9.9.9")


def without_charts(b: Briefing) -> Briefing:
    """The same briefing less its charts (a chart's axis ticks are layout, not figures;
    its figures are compared through the HTML's chart tables, see below)."""
    sections = [dataclasses.replace(s, blocks=[x for x in s.blocks if not isinstance(x, Chart)])
                for s in b.sections]
    return dataclasses.replace(b, sections=[s for s in sections if s.blocks])


def reportlab_pdf(b: Briefing) -> bytes:
    buf = io.BytesIO()
    rl.render(b, buf, reproducible=True)
    return buf.getvalue()


@functools.cache
def tagged_pdf(name: str, audience: str) -> bytes:
    buf = io.BytesIO()
    render_tagged(briefing(name, audience), buf, reproducible=True)
    return buf.getvalue()


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


class _Text(HTMLParser):
    """The text a reader of the page gets: the body's text, less CSS, and less an SVG's
    title and description (they are its accessible name, not printed)."""

    SKIP = {"style", "script", "title", "desc", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self.skipping.append(tag)
        elif tag in ("p", "td", "th", "li", "dt", "dd", "h1", "h2", "h3", "caption", "text",
                     "summary", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        else:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


FIGURE = re.compile(r"\[c\]|£?\d[\d,]*(?:\.\d+)?%?")
PAGE = re.compile(r"Page \d+ of \d+")
SHA = re.compile(r"\b[0-9a-f]{64}\b")
STATUTE = re.compile(r"\bs\.\s?\d+[A-Z]?(?:\(\w+\))*")


def figures(text: str, b: Briefing) -> Counter[str]:
    """Every figure and marker in `text`, thousands separators dropped, after taking
    out what is page furniture: "Page N of M", the source file's name (a PDF repeats
    it in every footer), the file's sha256 (hex, not a figure), and names with digits
    in them ("Grade 6"): a table's header row is repeated on each page it runs onto,
    at different places in each renderer."""
    text = PAGE.sub(" ", text).replace(b.source_file, " ")
    text = SHA.sub(" ", text)
    text = STATUTE.sub(" ", text)     # "s.188(4)(a)": a section of an Act, not a figure
    text = _labels(b).sub(" ", text)
    return Counter(m.replace(",", "") for m in FIGURE.findall(text))


def _labels(b: Briefing) -> re.Pattern[str]:
    """The briefing's names (table headings, the text columns of rows, chart categories)
    that hold a digit, longest first, as one pattern."""
    names = set()
    for s in b.sections:
        for x in s.blocks:
            if isinstance(x, Table):
                cells = list(x.header) + [c for row in [*x.rows, x.total or []]
                                          for c in row[:x.text_cols]]
                names.update(c for c in cells if isinstance(c, str))
            elif isinstance(x, Chart):
                names.update(x.categories)
    names = {n for n in names if re.search(r"\d", n) and n != b.source_file}
    if not names:
        return re.compile(r"(?!x)x")
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.]){alternatives}(?![\w.])")


# --------------------------------------------------------------------------
# same content


@pytest.mark.parametrize(("name", "audience"), CASES)
def test_the_three_outputs_have_the_same_figures_and_markers(name: str, audience: str) -> None:
    b = briefing(name, audience)
    plain = without_charts(b)
    from_reportlab = figures(pdf_text(reportlab_pdf(plain)), b)
    from_html = figures(html_text(render_html(plain)), b)
    assert from_reportlab, "the briefing should have figures"
    assert from_html == from_reportlab, (from_html - from_reportlab, from_reportlab - from_html)
    # the whole briefing, charts too: the tagged PDF prints exactly the HTML's text, so
    # less the charts' part of the HTML it has the ReportLab briefing's figures
    full_html = figures(html_text(render_html(b)), b)
    tagged = figures(pdf_text(tagged_pdf(name, audience)), b)
    assert tagged == full_html, (tagged - full_html, full_html - tagged)
    chart_part = full_html - from_html
    assert tagged - chart_part == from_reportlab
    # the charts' hidden marks: ReportLab draws one "[c]" per bar with hidden figures,
    # the HTML's chart tables have a row with "[c]" for each such bar
    rl_marks = figures(pdf_text(reportlab_pdf(b)), b)[MARKER] - from_reportlab[MARKER]
    html_rows = sum(1 for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>",
                                            _chart_tables(render_html(b)))
                    if MARKER in row)
    assert html_rows == rl_marks
    if audience == "public":
        assert from_html[MARKER] > 0
    else:
        # union and management hide only the equality tables' small numbers (issue 14)
        # and, in the charts, nothing
        assert html_rows == 0


def _chart_tables(html: str) -> str:
    return "".join(re.findall(r"<details>.*?</details>", html, flags=re.S))


def test_chart_tables_give_each_bar_its_figures() -> None:
    """Worked by hand from the sample: Derbyshire's Early Help North team has 37.7 FTE
    deleted and 20.6 retained (the union briefing shows every figure)."""
    html = render_html(briefing("derbyshire_early_help.xlsx", "union"))
    row = re.search(r"<tr><th scope=\"row\">Early Help North</th>(.*?)</tr>",
                    _chart_tables(html))
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells == ["37.7", "20.6", "0", "0"]


# --------------------------------------------------------------------------
# the HTML page


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append((tag, dict(attrs)))


def structure(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = _Structure()
    p.feed(html)
    return p.tags


@pytest.mark.parametrize("audience", AUDIENCES)
def test_html_page_structure(audience: str) -> None:
    html = render_html(briefing("derbyshire_early_help.xlsx", audience))
    tags = structure(html)
    names = [t for t, _ in tags]
    assert tags[0] == ("html", {"lang": "en-GB"})
    assert re.search(r"<title>[^<]+</title>", html)
    levels = [int(t[1]) for t in names if re.fullmatch(r"h[1-6]", t)]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels
    # every table is named: by its caption, or (the section's only table) by the section's
    # heading, which a caption would only repeat
    labelled = [a["aria-labelledby"] for t, a in tags if t == "table" and a.get("aria-labelledby")]
    assert all(f'<h2 id="{i}">' in html for i in labelled)
    assert names.count("table") == names.count("caption") + len(labelled) == \
        names.count("thead") > 0
    assert names.count("caption") > 0 and labelled
    ths = [a for t, a in tags if t == "th"]
    assert ths and all(a.get("scope") in ("col", "row") for a in ths)
    assert "dl" in names and names.count("dt") == names.count("dd") >= 3
    svgs = [a for t, a in tags if t == "svg"]
    assert len(svgs) == 2
    for a in svgs:
        assert a["role"] == "img"
        ids = (a["aria-labelledby"] or "").split()
        assert [f'id="{i}"' in html for i in ids] == [True, True]
    # each chart: title, desc, then its figures in a table inside <details>
    for chart in re.findall(r"<figure class=\"chart\">.*?</figure>", html, flags=re.S):
        assert "<title id=" in chart and "<desc id=" in chart
        assert re.search(r"</svg>.*<details>.*<table", chart, flags=re.S)
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r"<(link|script|img|iframe)\b", html)
    assert not re.search(r"(src|href)=\"(?!#)", html)
    assert "url(http" not in html and "@import" not in html


def _luminance(hex_colour: str) -> float:
    """WCAG 2.2's relative luminance, written out here."""
    out = []
    for i in (1, 3, 5):
        c = int(hex_colour[i:i + 2], 16) / 255
        out.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * out[0] + 0.7152 * out[1] + 0.0722 * out[2]


def _ratio(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("colours", [{}, {"primary": "#9FC5E8", "muted": "#AAAAAA",
                                          "accent": "#777777", "text": "#555555"}])
def test_text_colours_reach_4_5_to_1(colours: dict[str, str], tmp_path: Path) -> None:
    """The page's colour variables, even from a template with pale colours, reach 4.5:1:
    text, muted and primary against white and the stripes; white on primary."""
    template = dataclasses.replace(load_builtin("union"),
                                   colours={**load_builtin("union").colours, **colours})
    report = reports.check(sample("derbyshire_early_help.xlsx"))
    b = make_briefing(report, reports.summarise(report), template)
    html = render_html(b)
    var = dict(re.findall(r"--(primary|accent|text|muted): (#[0-9A-Fa-f]{6});", html))
    for fg in ("primary", "text", "muted"):
        for bg in ("#FFFFFF", var["accent"]):
            assert _ratio(var[fg], bg) >= 4.5, (fg, var[fg], bg)


def test_status_is_not_shown_by_colour_alone() -> None:
    html = render_html(briefing("derbyshire_early_help.xlsx", "public"))
    chart = re.search(r"<figure class=\"chart\">.*?</figure>", html, flags=re.S).group(0)
    patterns = re.findall(r"<pattern id=\"chart-1-(\w+)\".*?</pattern>", chart, flags=re.S)
    assert patterns == ["deleted", "retained", "relocated", "created", "hidden"]
    bodies = re.findall(r"<pattern id=\"chart-1-\w+\".*?</pattern>", chart, flags=re.S)
    # each status's fill differs in its shapes, not only in its colour
    shapes = [re.sub(r"fill=\"#\w+\"|id=\"[^\"]+\"", "", p) for p in bodies[:4]]
    assert len(set(shapes)) == 4
    # every bar is filled with its status's pattern; the legend names each status
    for label in ("Deleted", "Retained", "Relocated", "Created"):
        assert f">{label}</text>" in chart
    assert MARKER in chart      # the hidden marks say [c] beside the hatching


def test_html_escapes_what_the_spreadsheet_says(tmp_path: Path) -> None:
    from .conftest import make_xlsx  # a workbook helper, only for this test
    from .test_brief import rich_rows  # hostile team names: <img ...>, <b>, &

    path = make_xlsx(tmp_path, rich_rows(), name="rich.xlsx")
    out = tmp_path / "rich.html"
    result = invoke("brief", path, "--format", "html", "-o", out)
    assert result.exit_code == 0, result.stderr
    html = out.read_text("utf-8")
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=&#34;/etc/passwd&#34;/&gt;" in html
    assert "Łukasz" not in html and "PAY-771204" not in html


def test_cli_html_and_tagged_outputs(tmp_path: Path) -> None:
    path = sample("derbyshire_early_help.xlsx")
    result = invoke("brief", path, "--format", "html", "-o", tmp_path / "b.html")
    assert result.exit_code == 0, result.stderr
    assert "(HTML)" in result.stderr
    assert (tmp_path / "b.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    result = invoke("brief", path, "--accessible", "-o", tmp_path / "t.pdf")
    assert result.exit_code == 0 and "(tagged PDF, " in result.stderr, result.stderr
    with pikepdf.open(tmp_path / "t.pdf") as doc:
        assert "/StructTreeRoot" in doc.Root
    result = invoke("brief", path, "--format", "html", "--accessible", "-o", tmp_path / "c.html")
    assert result.exit_code == 2 and "drop one of" in result.stderr
    # union keeps ReportLab by default; public is tagged unless --no-accessible
    for args, tagged in (([], False), (["--audience", "public"], True),
                         (["--audience", "public", "--no-accessible"], False)):
        out = tmp_path / f"x{len(args)}.pdf"
        result = invoke("brief", path, *args, "-o", out)
        assert result.exit_code == 0, result.stderr
        with pikepdf.open(out) as doc:
            assert ("/StructTreeRoot" in doc.Root) == tagged, args


def test_a_template_can_ask_for_the_tagged_renderer(tmp_path: Path) -> None:
    text = (Path(reports.__file__).parents[1] / "templates" / "union.toml").read_text("utf-8")
    custom = tmp_path / "tagged-union.toml"
    custom.write_text(text.replace('renderer = "reportlab"', 'renderer = "tagged"'), "utf-8")
    out = tmp_path / "u.pdf"
    result = invoke("brief", sample("derbyshire_early_help.xlsx"), "--template", custom,
                    "-o", out)
    assert result.exit_code == 0, result.stderr
    with pikepdf.open(out) as doc:
        assert "/StructTreeRoot" in doc.Root
    custom.write_text(text.replace('renderer = "reportlab"', 'renderer = "fancy"'), "utf-8")
    result = invoke("brief", sample("derbyshire_early_help.xlsx"), "--template", custom,
                    "-o", out)
    assert result.exit_code == 1 and "renderer" in result.stderr


# --------------------------------------------------------------------------
# the tagged PDF's structure


def _kids(node: Any) -> list[Any]:
    k = node.get("/K")
    if isinstance(k, pikepdf.Array):
        return [c for c in k if isinstance(c, pikepdf.Dictionary)]
    return [k] if isinstance(k, pikepdf.Dictionary) else []


def struct_elements(doc: pikepdf.Pdf) -> list[Any]:
    out: list[Any] = []

    def walk(node: Any) -> None:
        if "/S" in node:
            out.append(node)
        for child in _kids(node):
            walk(child)

    walk(doc.Root.StructTreeRoot)
    return out


def _scopes(th: Any) -> list[str]:
    a = th.get("/A")
    attrs = list(a) if isinstance(a, pikepdf.Array) else [a] if a is not None else []
    return [str(x.Scope) for x in attrs if isinstance(x, pikepdf.Dictionary) and "/Scope" in x]


@pytest.mark.parametrize(("name", "audience"), CASES)
def test_tagged_pdf_structure(name: str, audience: str, tmp_path: Path) -> None:
    data = tagged_pdf(name, audience)
    b = briefing(name, audience)
    with pikepdf.open(io.BytesIO(data)) as doc:
        root = doc.Root
        assert bool(root.MarkInfo.Marked) is True
        assert str(root.Lang) == "en-GB"
        assert bool(root.ViewerPreferences.DisplayDocTitle) is True
        assert str(doc.docinfo["/Title"]) == b.title
        xmp = bytes(root.Metadata.read_bytes()).decode("utf-8")
        assert re.search(r"pdfuaid:part(=\"|>)1", xmp), xmp
        elements = struct_elements(doc)
        roles = [str(e.S) for e in elements]
        levels = [int(r[2]) for r in roles if re.fullmatch(r"/H[1-6]", r)]
        assert levels.count(1) == 1 and levels[0] == 1
        assert all(y - x <= 1 for x, y in zip(levels, levels[1:])), levels
        for h in (e for e in elements if re.fullmatch(r"/H[1-6]", str(e.S))):
            assert _marked_content(h), "an empty heading"
        tables = [e for e in elements if str(e.S) == "/Table"]
        n_tables = sum(isinstance(x, Table) for s in b.sections for x in s.blocks)
        n_charts = sum(isinstance(x, Chart) for s in b.sections for x in s.blocks)
        # each chart is followed by its table; WeasyPrint tags each page's part of a long
        # table as a Table of its own (its header row repeated, so each has TH cells)
        assert len(tables) >= n_tables + n_charts
        ths = [e for e in elements if str(e.S) == "/TH"]
        assert ths and all(_scopes(th) in (["/Column"], ["/Row"]) for th in ths)
        for table in tables:
            assert any(str(e.S) == "/TH" for e in _descendants(table))
        figures = [e for e in elements if str(e.S) == "/Figure"]
        assert len(figures) == n_charts
        titles = [x.title for s in b.sections for x in s.blocks if isinstance(x, Chart)]
        for fig, title in zip(figures, titles):
            alt = str(fig.Alt)
            assert alt.startswith(title + ". ") and "bar chart" in alt
    # the pdfua package's machine-checkable subset of PDF/UA-1: no error
    path = tmp_path / "t.pdf"
    path.write_bytes(data)
    assert_pdfua_clean(path)


def _marked_content(node: Any) -> list[int]:
    """The marked-content ids under a structure element (its printed content)."""
    k = node.get("/K")
    items = list(k) if isinstance(k, pikepdf.Array) else [k]
    out = []
    for item in items:
        if isinstance(item, int):
            out.append(int(item))
        elif isinstance(item, pikepdf.Dictionary):
            out += [int(item.MCID)] if "/MCID" in item else _marked_content(item)
    return out


def _descendants(node: Any) -> list[Any]:
    out = []
    for child in _kids(node):
        out.append(child)
        out += _descendants(child)
    return out


def assert_pdfua_clean(path: Path) -> None:
    import pdfua  # the checker is only needed here

    report = pdfua.validate(str(path))
    errors = [f for f in report.findings if f.severity >= pdfua.Severity.ERROR]
    assert errors == [], [(f.rule_id, f.message) for f in errors]
    # pdfua 0.1.3's "headings are not empty" rule stops on an array in a heading's /K
    # (its own bug: it is checked in test_tagged_pdf_structure instead); no other rule may
    # be skipped
    skipped = {o.rule_id for o in report.outcomes if o.skipped_reason}
    assert skipped <= {"UA-14-001"}, skipped
    assert len(report.outcomes) - len(skipped) >= 10


@pytest.mark.parametrize("subsetter", ["harfbuzz if installed", "fontTools"])
def test_tagged_pdf_is_reproducible(subsetter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two builds at different times give the same bytes, whichever library subsets
    the fonts: fontTools (used where libharfbuzz-subset is missing) stamps each subset
    with the build's time, which the pikepdf pass sets back to the font's own date."""
    from weasyprint.pdf import fonts

    if subsetter == "fontTools":
        monkeypatch.setattr(fonts, "harfbuzz_subset", None)
    b = briefing("coop_working.csv", "public")
    first, second = io.BytesIO(), io.BytesIO()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")   # fontTools' "now"
    render_tagged(b, first, reproducible=True)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    render_tagged(b, second, reproducible=True)
    assert first.getvalue() == second.getvalue()
    with pikepdf.open(io.BytesIO(first.getvalue())) as doc:
        embedded = [o for o in doc.objects if isinstance(o, pikepdf.Dictionary)
                    and o.get("/Type") == "/FontDescriptor" and "/FontFile2" in o]
        assert embedded                          # the fonts are there, and subset
        assert all(len(o.FontFile2.read_bytes()) == int(o.FontFile2.Length1)
                   for o in embedded)


# --------------------------------------------------------------------------
# disclosure: the same "[c]" cells as the ReportLab briefing


class _Tables(HTMLParser):
    """Every table's cells, row by row, as text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _reportlab_cells(b: Briefing) -> list[list[list[str]]]:
    """The cells ReportLab lays out for each table of the briefing (its own table objects,
    before drawing): plain strings, or a Paragraph's text."""
    st = rl._styles(b.colours)
    out = []
    for s in b.sections:
        for x in s.blocks:
            if isinstance(x, Table):
                t = rl._table(x, b.figures, st, b.colours, 500)
                out.append([[" ".join((c if isinstance(c, str) else c.text).split())
                             .replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
                             for c in row] for row in t._cellvalues])
    return out


@pytest.mark.parametrize("name", VALID_SAMPLES)
def test_public_html_hides_exactly_what_the_reportlab_briefing_hides(name: str) -> None:
    b = briefing(name, "public")
    parser = _Tables()
    parser.feed(render_html(b))
    html_tables = [t for t in parser.tables]
    charts = [x for s in b.sections for x in s.blocks if isinstance(x, Chart)]
    layout = [x for s in b.sections for x in s.blocks if isinstance(x, (Table, Chart))]
    tables = [t for t, x in zip(html_tables, layout) if isinstance(x, Table)]
    expected = _reportlab_cells(b)
    for got, want in zip(tables, expected):
        got = [["" if c == "Detail" else c for c in row] for row in got]
        assert got == want
    assert len(tables) == len(expected)
    # the charts' tables: "[c]" exactly for the figures the briefing hides
    for t, chart in zip([t for t, x in zip(html_tables, layout) if isinstance(x, Chart)],
                        charts):
        hidden = [[c == MARKER for c in row[1:]] for row in t[1:]]
        assert hidden == [[k in b.figures.hidden for k in keys.values()]
                          for keys in chart.keys]
    assert sum(row.count(MARKER) for t in tables for row in t) > 0
    # and the figures hidden are the ones the audit approved
    assert b.protection is not None and set(b.figures.hidden) == set(b.protection.hidden)


# --------------------------------------------------------------------------
# impact monthly: each template's renderer, datasets built by a pool


def test_monthly_follows_each_template_and_a_pool_gives_the_same_files(tmp_path: Path) -> None:
    import json
    from datetime import date

    from reports.services.datasets import upload
    from reports.services.monthly import Month, audiences_from, run_monthly
    from reports.store.db import Store

    store_dir = tmp_path / "store"
    with Store(store_dir) as store:
        for name, file in (("derbyshire", "derbyshire_early_help.xlsx"),
                           ("coop", "coop_working.csv"), ("coop-xlsx", "coop_working.xlsx")):
            upload(store, sample(file), name, as_of=date(2024, 3, 1))
        outputs = {}
        for workers in (1, 2):
            out = tmp_path / f"out{workers}"
            result = run_monthly(store, out, Month(2024, 3), workers=workers,
                                 audiences=audiences_from(["union", "public"]))
            assert result.ok and result.count("written") == 3, result.runs
            data = json.loads((out / "2024-03" / "manifest.json").read_text("utf-8"))
            outputs[workers] = [(d["slug"], [(f["path"], f["sha256"]) for f in d["files"]])
                                for d in data["datasets"]]
            folder = out / "2024-03" / "derbyshire"
            with pikepdf.open(folder / "public" / "briefing.pdf") as doc:
                assert "/StructTreeRoot" in doc.Root          # public: tagged
            with pikepdf.open(folder / "briefing-union.pdf") as doc:
                assert "/StructTreeRoot" not in doc.Root      # union: ReportLab
        assert outputs[1] == outputs[2]       # same files, same bytes, same order


def test_tagged_briefing_with_what_changed(tmp_path: Path) -> None:
    """A public briefing with its "What changed" section: tagged by default, and clean."""
    from .store_helpers import make_version_2  # the sample's version 2, as in test_compare

    v1 = tmp_path / "v1.xlsx"
    v1.write_bytes(sample("derbyshire_early_help.xlsx").read_bytes())
    v2 = tmp_path / "v2.xlsx"
    make_version_2(v1, v2)
    out = tmp_path / "changed.pdf"
    result = invoke("brief", v2, "--compare", v1, "--audience", "public", "-o", out)
    assert result.exit_code == 0 and "(tagged PDF, " in result.stderr, result.stderr
    assert "What changed" in pdf_text(out.read_bytes())
    with pikepdf.open(out) as doc:
        roles = [str(e.S) for e in struct_elements(doc)]
        assert roles.count("/H1") == 1 and "/Table" in roles
        ths = [e for e in struct_elements(doc) if str(e.S) == "/TH"]
        assert all(_scopes(th) for th in ths)
    assert_pdfua_clean(out)


def test_the_html_and_tagged_libraries_load_only_when_used(tmp_path: Path) -> None:
    """Start-up time: importing the CLI, or writing a ReportLab briefing, loads neither
    Jinja2 nor WeasyPrint nor pikepdf."""
    import subprocess
    import sys

    code = ("import sys, cli\n"
            "from click.testing import CliRunner\n"
            "loaded = lambda: sorted(m for m in ('jinja2', 'weasyprint', 'pikepdf') "
            "if m in sys.modules)\n"
            "print(loaded())\n"
            f"r = CliRunner().invoke(cli.cli, ['brief', {str(sample('coop_working.csv'))!r}, "
            f"'-o', {str(tmp_path / 'u.pdf')!r}])\n"
            "assert r.exit_code == 0, r.output\n"
            "print(loaded())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(reports.__file__).parents[1], check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "[]"]
