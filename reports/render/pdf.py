"""PDF impact briefings with ReportLab: the one module that imports it.

`render` lays out a `Briefing` worked out by `reports.documents.briefing`:
a title block, then each section of the template, with a header and footer
on every page ("Page N of M": the story is laid out once, and each page's
number is a PDF form that the page refers to and that is drawn when the last
page is known), tables that repeat their header row across pages,
`reportlab.graphics` bar charts, PDF metadata and a bookmark outline.

Speed: a briefing must cost under 1.5 x `impact summary`, and layout is most
of its own time, so table cells are plain strings unless their text has to
wrap (a `Paragraph` per cell is about 4 x slower).

Every string that came from the spreadsheet or the command line is escaped
before it goes into a `Paragraph`, whose text is markup: unescaped, a team
called `<img src="/etc/passwd"/>` would make ReportLab open a local file.
Plain strings in table cells and chart labels are not parsed, so figures go
there as they are.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from importlib import resources
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RLTable

from ..documents.blocks import Briefing, Chart, Derived, Figures, Pct, Table, Text, Tiles
from ..figures.privacy import MARKER
from ..model import measures
from ..model.measures import STATUSES

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
PAGE = A4
MARGIN = 16 * mm
TOP = 24 * mm
BOTTOM = 18 * mm


def render(b: Briefing, out: str | os.PathLike[str] | IO[bytes], *, reproducible: bool = False,
           version: str = "") -> int:
    """Lay out a worked-out `Briefing` as a PDF.  Returns the number of pages."""
    register_fonts()
    target: Any = os.fspath(out) if isinstance(out, (str, os.PathLike)) else out
    doc = _Doc(target, b, reproducible=reproducible, version=version)
    st = _styles(b.colours)
    story = _story(b, st, doc.width)
    doc.build(story, canvasmaker=doc.canvasmaker)
    return doc.page_total or 0


# --------------------------------------------------------------------------
# fonts and styles


_FONTS_LOCK = threading.Lock()


def register_fonts() -> None:
    """Register DejaVu Sans (shipped in templates/fonts) once per process, under a lock:
    the portal's threads may make briefings at once, and ReportLab's registry is global."""
    with _FONTS_LOCK:
        _register_fonts()


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    fonts = resources.files("reports.templates").joinpath("fonts")
    with resources.as_file(fonts.joinpath("DejaVuSans.ttf")) as regular, \
            resources.as_file(fonts.joinpath("DejaVuSans-Bold.ttf")) as bold:
        pdfmetrics.registerFont(TTFont(FONT, str(regular)))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT,
                                  boldItalic=FONT_BOLD)


def _styles(colours: dict[str, str]) -> dict[str, ParagraphStyle]:
    """Every named paragraph style of a briefing, built from the sample sheet."""
    base = getSampleStyleSheet()
    primary = colors.HexColor(colours["primary"])
    text = colors.HexColor(colours["text"])
    muted = colors.HexColor(colours["muted"])

    def style(name: str, parent: str, **kw: Any) -> ParagraphStyle:
        kw.setdefault("fontName", FONT)
        kw.setdefault("bulletFontName", FONT)
        kw.setdefault("textColor", text)
        return ParagraphStyle(name, parent=base[parent], **kw)

    return {
        "title": style("BriefTitle", "Title", fontName=FONT_BOLD, fontSize=20, leading=24,
                       textColor=primary, alignment=TA_LEFT, spaceAfter=4),
        "subtitle": style("BriefSubtitle", "Normal", fontSize=11, leading=14, textColor=muted,
                          spaceAfter=4),
        "meta": style("BriefMeta", "Normal", fontSize=8.5, leading=11, textColor=muted,
                      spaceAfter=8),
        "h1": style("BriefH1", "Heading1", fontName=FONT_BOLD, fontSize=14, leading=17,
                    textColor=primary, spaceBefore=12, spaceAfter=6, keepWithNext=1),
        "subheading": style("BriefH2", "Heading2", fontName=FONT_BOLD, fontSize=10.5,
                            leading=13, spaceBefore=8, spaceAfter=4, keepWithNext=1),
        "lead": style("BriefLead", "Normal", fontName=FONT_BOLD, fontSize=13, leading=17,
                      spaceAfter=6),
        "body": style("BriefBody", "Normal", fontSize=9.5, leading=13, spaceAfter=5),
        "note": style("BriefNote", "Normal", fontSize=8, leading=10.5, textColor=muted,
                      spaceBefore=2, spaceAfter=5),
        # text that introduces the table after it, and stays on its page
        "intro": style("BriefIntro", "Normal", fontSize=9.5, leading=13, spaceAfter=5,
                       keepWithNext=1),
        "intro_note": style("BriefIntroNote", "Normal", fontSize=8, leading=10.5,
                            textColor=muted, spaceBefore=2, spaceAfter=5, keepWithNext=1),
        "bullet": style("BriefBullet", "Normal", fontSize=9, leading=12, leftIndent=12,
                        bulletIndent=2, spaceAfter=3),
        "cell": style("BriefCell", "Normal", fontSize=8, leading=9.6),
        "cell_bold": style("BriefCellBold", "Normal", fontName=FONT_BOLD, fontSize=8,
                           leading=9.6),
        "head": style("BriefHead", "Normal", fontName=FONT_BOLD, fontSize=7.5, leading=9,
                      textColor=colors.white),
        "head_r": style("BriefHeadR", "Normal", fontName=FONT_BOLD, fontSize=7.5, leading=9,
                        textColor=colors.white, alignment=TA_RIGHT),
        "tile_value": style("BriefTileValue", "Normal", fontName=FONT_BOLD, fontSize=17,
                            leading=20, textColor=primary, alignment=TA_CENTER),
        "tile_label": style("BriefTileLabel", "Normal", fontSize=7.5, leading=9.5,
                            textColor=muted, alignment=TA_CENTER),
        "chart_title": style("BriefChartTitle", "Normal", fontName=FONT_BOLD, fontSize=9.5,
                             leading=12, spaceBefore=6, spaceAfter=2),
    }


def _esc(text: str) -> str:
    """Outside text made safe for a Paragraph: `&`, `<` and `>` escaped."""
    return escape(str(text))


# --------------------------------------------------------------------------
# the document: page decoration, bookmarks, "Page N of M"


class _Doc(BaseDocTemplate):
    def __init__(self, target: Any, b: Briefing, *, reproducible: bool, version: str) -> None:
        super().__init__(target, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                         topMargin=TOP, bottomMargin=BOTTOM, title=b.title, author=b.author,
                         subject=b.subject, creator=f"impact {version}".strip(),
                         keywords=["impact briefing", b.audience], lang="en-GB",
                         invariant=1 if reproducible else 0, initialFontName=FONT,
                         initialFontSize=9)
        self.briefing = b
        self.page_total: int | None = None      # known when the canvas is saved
        self.colours = {k: colors.HexColor(v) for k, v in b.colours.items()}
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._decorate)])

    def canvasmaker(self, *args: Any, **kw: Any) -> _NumberedCanvas:
        return _NumberedCanvas(*args, doc=self, **kw)

    def _decorate(self, canv: Any, doc: Any) -> None:
        b = self.briefing
        w, h = PAGE
        primary, muted = self.colours["primary"], self.colours["muted"]
        canv.saveState()
        band = 11 * mm
        canv.setFillColor(primary)
        canv.rect(0, h - band, w, band, stroke=0, fill=1)
        canv.setFillColor(colors.white)
        marking = _fit(b.marking, FONT_BOLD, 8, (w - 2 * MARGIN) * 0.45)
        canv.setFont(FONT_BOLD, 8)
        canv.drawRightString(w - MARGIN, h - band + 4 * mm, marking)
        room = w - 2 * MARGIN - pdfmetrics.stringWidth(marking, FONT_BOLD, 8) - 12
        left = f"{b.organisation} \u00b7 {b.title}" if b.organisation else b.title
        canv.setFont(FONT, 8)
        canv.drawString(MARGIN, h - band + 4 * mm, _fit(left, FONT, 8, room))
        # footer
        y = BOTTOM - 9 * mm
        canv.setStrokeColor(muted)
        canv.setLineWidth(0.4)
        canv.line(MARGIN, y + 4 * mm, w - MARGIN, y + 4 * mm)
        canv.setFillColor(muted)
        # "Page N of M": a form, drawn when M is known (`_NumberedCanvas`)
        canv.doForm(_page_number_form(doc.page))
        canv.setFont(FONT_BOLD, 7.5)
        canv.drawString(MARGIN, y, marking)
        # the middle of the footer: between the marking and "Page N of M"
        left = MARGIN + pdfmetrics.stringWidth(marking, FONT_BOLD, 7.5) + 12
        right = w - MARGIN - pdfmetrics.stringWidth("Page 999 of 999", FONT, 7.5) - 12
        source = f"Source: {b.source_file}" + (f" \u00b7 {b.generated}" if b.generated else "")
        canv.setFont(FONT, 7)
        canv.drawCentredString((left + right) / 2, y, _fit(source, FONT, 7, right - left))
        canv.restoreState()
        if doc.page == 1:
            canv.showOutline()

    def afterFlowable(self, flowable: Flowable) -> None:
        outline = getattr(flowable, "outline", None)
        if outline:
            key, text = outline
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=0, closed=False)


def _page_number_form(page: int) -> str:
    return f"PageNumber{page}"


class _NumberedCanvas(Canvas):
    """A canvas that draws each page's "Page N of M" when it is saved, as the form
    `_page_number_form(N)` each page refers to (ReportLab lets a page use a form that
    is defined later).  The story is laid out once: counting the pages first with
    `multiBuild` laid it out twice, half the drawing time of a long briefing."""

    def __init__(self, *args: Any, doc: _Doc, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.briefing_doc = doc

    def save(self) -> None:
        if self._code:                       # a page still open: end it first
            self.showPage()
        total = self.getPageNumber() - 1     # the number the next page would have
        doc = self.briefing_doc
        doc.page_total = total
        for n in range(1, total + 1):
            self.beginForm(_page_number_form(n))
            self.setFillColor(doc.colours["muted"])
            self.setFont(FONT, 7.5)
            self.drawRightString(PAGE[0] - MARGIN, BOTTOM - 9 * mm, f"Page {n} of {total}")
            self.endForm()
        super().save()


class _Heading(Paragraph):
    """A section heading that becomes an entry in the PDF's bookmark outline."""

    def __init__(self, text: str, style: ParagraphStyle, key: str) -> None:
        super().__init__(_esc(text), style)
        self.outline = (key, text)


class _Cell(Paragraph):
    """A table cell's paragraph, wrapped once per width.  A table longer than a page is
    split page by page, and ReportLab wraps every remaining cell again at each split
    (about 8 times a cell on the 100,000-row briefing, a third of its drawing time).
    Wrapping at the same width and height gives the same lines, so when asked again
    with the sizes of the last wrap the cell answers from it (its state is that wrap's)."""

    _last: tuple[float, float, tuple[float, float]] | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        last = self._last
        if last is not None and last[0] == availWidth and last[1] == availHeight:
            return last[2]
        got = super().wrap(availWidth, availHeight)
        self._last = (availWidth, availHeight, got)
        return got


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text`, cut with an ellipsis to fit `width` points."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


# --------------------------------------------------------------------------
# the story


def _story(b: Briefing, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    story: list[Flowable] = [Paragraph(_esc(b.title), st["title"])]
    if b.subtitle:
        story.append(Paragraph(_esc(b.subtitle), st["subtitle"]))
    meta = [x for x in (b.organisation, b.generated and f"Generated {b.generated}",
                        f"Source: {b.source_file}") if x]
    story.append(Paragraph(" \u00b7 ".join(_esc(x) for x in meta), st["meta"]))
    for n, section in enumerate(b.sections):
        if n:
            story.append(CondPageBreak(45 * mm))
        heading = _Heading(section.heading, st["h1"], f"section-{n}")
        flowables = [f for block in section.blocks for f in _block(block, b, st, width)]
        if flowables and isinstance(flowables[0], KeepTogether):
            # a heading never stays alone at the foot of a page above a chart
            story.append(KeepTogether([heading, flowables.pop(0)]))
        else:
            story.append(heading)
        story.extend(flowables)
    return story


def _block(block: Any, b: Briefing, st: dict[str, ParagraphStyle],
           width: float) -> list[Flowable]:
    fig = b.figures
    if isinstance(block, Text):
        text = _esc(block.render(fig))
        if block.style == "bullet":
            return [Paragraph(text, st["bullet"], bulletText="\u2022")]
        return [Paragraph(text, st[block.style])]
    if isinstance(block, Table):
        return [_table(block, fig, st, b.colours, width), Spacer(1, 6)]
    if isinstance(block, Tiles):
        return [_tiles(block, fig, st, b.colours, width), Spacer(1, 8)]
    if isinstance(block, Chart):
        parts: list[Flowable] = [Paragraph(_esc(block.title), st["chart_title"]),
                                 _chart(block, b.colours, width)]
        if block.note:
            parts.append(Paragraph(_esc(block.note), st["note"]))
        return [KeepTogether(parts), Spacer(1, 6)]
    raise TypeError(f"unknown block {type(block).__name__}")


def _table(t: Table, fig: Figures, st: dict[str, ParagraphStyle], colours: dict[str, str],
           width: float) -> RLTable:
    primary = colors.HexColor(colours["primary"])
    accent = colors.HexColor(colours["accent"])
    muted = colors.HexColor(colours["muted"])
    ncols = len(t.header)
    rel = t.widths or [1.0] * ncols
    col_widths = [width * t.width_of * w / sum(rel) for w in rel]
    data: list[list[Any]] = [[_Cell(_esc(h), st["head"] if i < t.text_cols else st["head_r"])
                              for i, h in enumerate(t.header)]]
    hidden_cells: list[tuple[int, int]] = []

    def row_of(cells: Sequence[Any], bold: bool) -> list[Any]:
        r = len(data)
        out = []
        for i, c in enumerate(cells):
            if i < t.text_cols:
                text = fig.text(c)
                font = FONT_BOLD if bold else FONT
                if pdfmetrics.stringWidth(text, font, 8) <= col_widths[i] - 7:
                    out.append(text)        # fits on one line: a plain string, not parsed
                else:                       # wraps: a Paragraph, so escaped
                    out.append(_Cell(_esc(text), st["cell_bold" if bold else "cell"]))
            else:
                if isinstance(c, (tuple, Pct, Derived)) and fig.text(c, t.zero) in _markers(fig):
                    hidden_cells.append((i, r))
                out.append(fig.text(c, t.zero))
        return out

    for cells in t.rows:
        data.append(row_of(cells, False))
    if t.total is not None:
        data.append(row_of(t.total, True))
    cmds: list[Any] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8, 9.6),
        ("BACKGROUND", (0, 0), (-1, 0), primary),
        ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
        ("VALIGN", (0, 1), (-1, -1), "TOP"),
        ("ALIGN", (t.text_cols, 0), (-1, -1), "RIGHT"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    last_body = len(data) - (2 if t.total is not None else 1)
    if last_body >= 1:
        cmds.append(("ROWBACKGROUNDS", (0, 1), (-1, last_body), [colors.white, accent]))
    if t.total is not None:
        cmds += [("FONT", (0, -1), (-1, -1), FONT_BOLD, 8, 9.6),
                 ("LINEABOVE", (0, -1), (-1, -1), 0.8, primary),
                 ("LINEBELOW", (0, -1), (-1, -1), 0.8, primary)]
    for c, r in hidden_cells:
        cmds.append(("TEXTCOLOR", (c, r), (c, r), muted))
    return RLTable(data, colWidths=col_widths, repeatRows=1, style=TableStyle(cmds),
                   hAlign="LEFT")


def _markers(fig: Figures) -> set[str]:
    return set(fig.hidden.values()) | {"[c]"}


def _tiles(block: Tiles, fig: Figures, st: dict[str, ParagraphStyle], colours: dict[str, str],
           width: float) -> RLTable:
    accent = colors.HexColor(colours["accent"])
    cells = []
    n = len(block.tiles)
    room = width / n - 14                   # the tile's width less its padding
    for tile in block.tiles:
        value = fig.text(tile.value) + tile.suffix
        style = st["tile_value"]
        size = style.fontSize
        while size > 8 and pdfmetrics.stringWidth(value, style.fontName, size) > room:
            size -= 0.5                     # a long figure shrinks to fit on one line
        if size != style.fontSize:
            style = ParagraphStyle(f"{style.name}-{size}", parent=style, fontSize=size,
                                   leading=size * 1.2)
        cells.append([Paragraph(_esc(value), style),
                      Paragraph(_esc(tile.label), st["tile_label"])])
    table = RLTable([cells], colWidths=[width / n] * n, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("BACKGROUND", (0, 0), (-1, -1), accent),
        ("LINEAFTER", (0, 0), (-2, -1), 4, colors.white),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 8),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
    ]))
    return table


def _chart(c: Chart, colours: dict[str, str], width: float) -> Drawing:
    n = len(c.categories)
    bar = 15 if n <= 20 else 11
    label_w = 185.0
    axis_h, legend_h = 30.0, 22.0
    plot_h = max(n, 1) * bar
    height = axis_h + plot_h + legend_h
    d = Drawing(width, height)
    ch = HorizontalBarChart()
    ch.x, ch.y = label_w, axis_h
    ch.width, ch.height = width - label_w - 12, plot_h
    data = [[None if v is None else float(v) for v in c.series[s]] for s in STATUSES]
    ch.data = data
    ch.categoryAxis.categoryNames = [_fit(x, FONT, 7, label_w - 20) for x in c.categories]
    ch.categoryAxis.style = "stacked"
    ch.categoryAxis.reverseDirection = 1
    ch.categoryAxis.labels.fontName = FONT
    ch.categoryAxis.labels.fontSize = 7
    ch.categoryAxis.labels.boxAnchor = "e"
    ch.categoryAxis.labels.dx = -3
    ch.categoryAxis.strokeColor = colors.HexColor(colours["muted"])
    ch.barSpacing = 0
    ch.groupSpacing = 3 if n <= 20 else 2
    top = max((sum(v for v in col if v is not None) for col in zip(*data)), default=0.0)
    ch.valueAxis.valueMin = 0
    if top <= 0:
        ch.valueAxis.valueMax = 1
    ch.valueAxis.labels.fontName = FONT
    ch.valueAxis.labels.fontSize = 7
    ch.valueAxis.labelTextFormat = _tick
    ch.valueAxis.visibleGrid = 1
    ch.valueAxis.gridStrokeColor = colors.HexColor("#DDDDDD")
    ch.valueAxis.gridStrokeWidth = 0.4
    ch.valueAxis.strokeColor = colors.HexColor(colours["muted"])
    hidden = [i for i in range(n) if any(c.series[s][i] is None for s in STATUSES)]
    if hidden:                 # a known scale, to place the hidden marks after the bars
        ch.valueAxis.valueMax = _nice(top * 1.08 + 1)
    for i, s in enumerate(STATUSES):
        ch.bars[i].fillColor = colors.HexColor(colours[s])
        ch.bars[i].strokeColor = None
    d.add(ch)
    for i in hidden:
        shown = sum(v for v in (c.series[s][i] for s in STATUSES) if v is not None)
        x = ch.x + ch.width * float(shown) / ch.valueAxis.valueMax
        y = ch.y + plot_h - (i + 1) * bar + ch.groupSpacing / 2
        d.add(_hidden_mark(x, y, bar - ch.groupSpacing, colours["muted"]))
    legend = Legend()
    legend.colorNamePairs = [(colors.HexColor(colours[s]),
                              measures.get(f"{s}_fte").label_for("short")) for s in STATUSES]
    legend.fontName = FONT
    legend.fontSize = 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.dx = legend.dy = 8
    legend.deltax = 75
    legend.boxAnchor = "nw"
    legend.x, legend.y = label_w, height - 4
    legend.strokeColor = None
    d.add(legend)
    d.add(String(ch.x + ch.width / 2, 6, "FTE", fontName=FONT, fontSize=8, textAnchor="middle"))
    title = String(0, 0, c.axis, fontName=FONT, fontSize=8, textAnchor="middle")
    d.add(Group(title, transform=(0, 1, -1, 0, 8, axis_h + plot_h / 2)))
    return d


HIDDEN_MARK_WIDTH = 14.0


def _hidden_mark(x: float, y: float, h: float, colour: str) -> Group:
    """A hatched box with "[c]" beside it: figures hidden here, not drawn to scale."""
    stroke = colors.HexColor(colour)
    w = HIDDEN_MARK_WIDTH
    parts: list[Any] = [Rect(x, y, w, h, fillColor=colors.white, strokeColor=stroke,
                             strokeWidth=0.6)]
    step = 3.0
    offset = 0.0
    while offset < w + h:
        x0, y0 = x + max(0.0, offset - h), y + min(h, offset)
        x1, y1 = x + min(w, offset), y + max(0.0, offset - w)
        parts.append(Line(x0, y0, x1, y1, strokeColor=stroke, strokeWidth=0.5))
        offset += step
    parts.append(String(x + w + 2, y + h / 2 - 2.5, MARKER, fontName=FONT, fontSize=6.5,
                        fillColor=stroke))
    return Group(*parts)


def _nice(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _tick(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
