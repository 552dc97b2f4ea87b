"""Word (DOCX) impact briefings: the same `Briefing` as the PDF and the web page, as a
document a union branch or HR can edit and send on.

`render_docx` lays out the page model of `reports.render.html` (`page_model`: the same
sections, texts, tables, tiles, charts and hidden-figure markers as the web page, so
the three formats cannot drift apart) with python-docx, never hand-written OOXML:

- the title as Heading 1, each section as Heading 2 and its subheadings as Heading 3,
  so Word's navigation pane and a table of contents work;
- near the top, a marked place for the reader's own commentary (a branch's response,
  demands and the meeting date), as its own Heading 2 section;
- every table with a caption, a header row that repeats on each page, and its total
  row last; the key-figure tiles as a two-column table;
- each chart as a PNG image (drawn with Pillow from the page model's bars, each status
  in its colour and its own pattern) with alt text, followed by the same figures as a
  table;
- the sensitivity marking in the header and footer of every page, the document
  language (en-GB), and title, subject, author and keywords in the properties.

Where python-docx has no call for a setting (a repeated header row, a table's alt
text, the document language, an image's description) the one element is added
through python-docx's own `OxmlElement`, as its documentation suggests.

A reproducible briefing (no generation time) is the same bytes on every run: the
document's dates are fixed and the zip's entries are written with a fixed time.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from importlib import resources
from typing import IO, Any

from ..documents.blocks import Briefing
from .html import Page, page_model

LANGUAGE = "en-GB"
FIXED_TIME = datetime(2000, 1, 1, tzinfo=UTC)      # a reproducible document's dates
ZIP_TIME = (1980, 1, 1, 0, 0, 0)                     # the zip format's earliest time
COMMENTARY_HEADING = "Your commentary"
COMMENTARY_TEXT = ("[Write your own commentary here: for example your branch's response, "
                   "your demands and the date of the next meeting. Delete this line.]")
EMPTY_HEADER = "Detail"         # a header cell is never empty (the web page's hidden word)
CHART_DPI = 150
CHART_WIDTH_CM = 16.0
PAGE_CM = (21.0, 29.7)          # A4
MARGIN_CM = 2.0
TEXT_WIDTH_CM = PAGE_CM[0] - 2 * MARGIN_CM
TABLE_PT = 9                    # tables' text: several columns of figures fit the page
CHAR_CM = 0.2                   # the width of a figure's character at TABLE_PT, at most
PAD_CM = 0.45                   # a cell's left and right padding


def render_docx(b: Briefing, fh: IO[bytes], *, version: str = "") -> int:
    """Write the briefing as DOCX to `fh`; returns the pages written (0: Word paginates)."""
    fh.write(docx_bytes(b, version=version))
    return 0


def docx_bytes(b: Briefing, *, version: str = "") -> bytes:
    page = page_model(b, version=version)
    doc = _document(page, reproducible=b.generated is None)
    buffer = io.BytesIO()
    doc.save(buffer)
    return _fixed_zip(buffer.getvalue()) if b.generated is None else buffer.getvalue()


def _document(page: Page, *, reproducible: bool) -> Any:
    from docx import Document  # lazy: python-docx is imported only to write a DOCX

    doc = Document()
    _page(doc)
    _properties(doc, page, reproducible=reproducible)
    _language(doc)
    _marking(doc, page.marking)
    doc.add_heading(page.title, level=1)
    if page.subtitle:
        doc.add_paragraph(page.subtitle, style="Subtitle")
    if page.meta:
        doc.add_paragraph(" · ".join(page.meta))
    doc.add_heading(COMMENTARY_HEADING, level=2)
    _commentary(doc.add_paragraph(COMMENTARY_TEXT))
    for section in page.sections:
        doc.add_heading(section["heading"], level=2)
        for item in section["items"]:
            _item(doc, item, page)
    return doc


def _item(doc: Any, item: dict[str, Any], page: Page) -> None:
    kind = item["kind"]
    if kind == "p":
        para = doc.add_paragraph(item["text"])
        if item["style"] in ("note", "intro_note"):
            for run in para.runs:
                run.italic = True
        elif item["style"] == "lead":
            for run in para.runs:
                run.bold = True
    elif kind == "list":
        for text in item["items"]:
            doc.add_paragraph(text, style="List Bullet")
    elif kind == "h3":
        doc.add_heading(item["text"], level=3)
    elif kind == "table":
        _table(doc, item["caption"], [h["text"] or EMPTY_HEADER for h in item["header"]],
               [[c["text"] for c in row] for row in item["rows"]],
               [c["text"] for c in item["total"]] if item["total"] else None,
               numbers=[h["number"] for h in item["header"]],
               widths=[w * item["width"] / 100 for w in item["widths"]])
    elif kind == "tiles":
        _table(doc, "Key figures", ["Figure", "Value"],
               [[t["label"], t["value"]] for t in item["tiles"]], None,
               numbers=[False, True], widths=[50.0, 25.0])
    elif kind == "chart":
        _chart(doc, item, page)
    else:
        raise TypeError(f"unknown page item {kind!r}")


def _table(doc: Any, caption: str, header: list[str], rows: list[list[str]],
           total: list[str] | None, *, numbers: list[bool],
           widths: list[float] | None = None) -> None:
    """A captioned table; `widths`: each column's share of the text width, in % (the web
    page's), else equal shares.  A figure is never broken across lines."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # lazy: as python-docx above
    from docx.shared import Cm, Pt

    doc.add_paragraph(caption, style="Caption")
    body = rows + ([total] if total is not None else [])
    table = doc.add_table(rows=1 + len(body), cols=len(header))
    table.style = "Table Grid"
    _table_alt(table, caption)
    cm = [Cm(w) for w in _column_widths(header, body, numbers, widths)]
    for column, width in zip(table.columns, cm):
        column.width = width
    # row by row: python-docx's table.cell(r, c) walks the whole table each time
    for r, (row, cells) in enumerate(zip(table.rows, [header, *body])):
        for c, (cell, text) in enumerate(zip(row.cells, cells)):
            cell.width = cm[c]
            para = cell.paragraphs[0]
            run = para.add_run(text)
            run.font.size = Pt(TABLE_PT)
            if numbers[c] if c < len(numbers) else False:
                para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                if r > 0:
                    _no_wrap(cell)
            if r == 0 or (total is not None and r == len(body)):
                for run in para.runs:
                    run.bold = True
    _repeat_header(table.rows[0])


def _column_widths(header: list[str], body: list[list[str]], numbers: list[bool],
                   widths: list[float] | None) -> list[float]:
    """Each column's width in cm: a column of figures as wide as its longest figure (and
    its header's longest word), so no figure breaks across lines; the text columns share
    what is left in the proportions of the web page's `widths` (%)."""
    shares = widths or [100.0 / len(header)] * len(header)
    need = []
    for c, head in enumerate(header):
        longest = max([len(w) for w in head.split()] +
                      [len(row[c]) for row in body if c < len(row)], default=1)
        need.append(longest * CHAR_CM + PAD_CM)
    figures = [c for c in range(len(header)) if c < len(numbers) and numbers[c]]
    texts = [c for c in range(len(header)) if c not in figures]
    left = TEXT_WIDTH_CM - sum(need[c] for c in figures)
    text_share = sum(shares[c] for c in texts) or 1.0
    out = []
    for c in range(len(header)):
        if c in figures:
            out.append(need[c])
        else:
            out.append(max(left * shares[c] / text_share, min(need[c], 2.5)))
    scale = min(1.0, TEXT_WIDTH_CM / sum(out))      # too many columns: narrower, all alike
    return [w * scale for w in out]


def _chart(doc: Any, item: dict[str, Any], page: Page) -> None:
    from docx.shared import Cm  # lazy: as python-docx above

    doc.add_paragraph(item["title"], style="Caption")
    png = chart_png(item, page.colours)
    doc.add_picture(io.BytesIO(png), width=Cm(CHART_WIDTH_CM))
    picture = doc.inline_shapes[-1]
    alt = f"{item['title']}. {item['desc']}"
    picture._inline.docPr.set("descr", alt)
    picture._inline.docPr.set("title", item["title"])
    if item.get("note"):
        para = doc.add_paragraph(item["note"])
        for run in para.runs:
            run.italic = True
    labels = [s["label"] for s in item["statuses"]]
    _table(doc, f"{item['title']}: the figures", [item["axis"], *labels],
           [[row["label"], *(c["text"] for c in row["cells"])] for row in item["rows"]],
           None, numbers=[False, *[True] * len(labels)])


# --------------------------------------------------------------------------
# what python-docx has no call for: one element each, through its OxmlElement


def _repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement  # lazy: as python-docx above
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def _no_wrap(cell: Any) -> None:
    from docx.oxml import OxmlElement  # lazy: as python-docx above

    cell._tc.get_or_add_tcPr().append(OxmlElement("w:noWrap"))


def _table_alt(table: Any, caption: str) -> None:
    from docx.oxml import OxmlElement  # lazy: as python-docx above
    from docx.oxml.ns import qn

    tbl_pr = table._tbl.tblPr
    alt = OxmlElement("w:tblCaption")
    alt.set(qn("w:val"), caption[:255])
    tbl_pr.append(alt)


def _language(doc: Any) -> None:
    from docx.oxml import OxmlElement  # lazy: as python-docx above
    from docx.oxml.ns import qn

    for style in (doc.styles["Normal"],):
        r_pr = style.element.get_or_add_rPr()
        lang = OxmlElement("w:lang")
        lang.set(qn("w:val"), LANGUAGE)
        r_pr.append(lang)
    doc.core_properties.language = LANGUAGE


def _commentary(para: Any) -> None:
    """The commentary placeholder: bordered and shaded, so it is plainly the reader's."""
    from docx.oxml import OxmlElement  # lazy: as python-docx above
    from docx.oxml.ns import qn

    p_pr = para._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        edge = OxmlElement(f"w:{side}")
        for k, v in (("val", "single"), ("sz", "8"), ("space", "4"), ("color", "808080")):
            edge.set(qn(f"w:{k}"), v)
        borders.append(edge)
    p_pr.append(borders)
    shade = OxmlElement("w:shd")
    for k, v in (("val", "clear"), ("color", "auto"), ("fill", "F2F2F2")):
        shade.set(qn(f"w:{k}"), v)
    p_pr.append(shade)


def _page(doc: Any) -> None:
    from docx.shared import Cm  # lazy: as python-docx above

    section = doc.sections[0]
    section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(MARGIN_CM))


def _marking(doc: Any, marking: str) -> None:
    section = doc.sections[0]
    for part in (section.header, section.footer):
        part.paragraphs[0].text = marking
        for run in part.paragraphs[0].runs:
            run.bold = True


def _properties(doc: Any, page: Page, *, reproducible: bool) -> None:
    props = doc.core_properties
    props.title = page.title
    props.subject = page.subject
    props.author = page.author
    props.keywords = f"impact briefing, {page.audience}"
    props.comments = page.generator
    props.last_modified_by = page.author
    props.revision = 1
    if reproducible:
        props.created = props.modified = FIXED_TIME.replace(tzinfo=None)
        props.last_printed = FIXED_TIME.replace(tzinfo=None)


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with every entry's time fixed, in the same order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info))
    return out.getvalue()


# --------------------------------------------------------------------------
# the chart as a picture, from the page model's geometry


def chart_png(item: dict[str, Any], colours: dict[str, str]) -> bytes:
    """The web page's stacked bar chart as a PNG: the same bars, colours, patterns,
    hidden-figure marks and labels, drawn with Pillow at CHART_DPI."""
    from PIL import Image, ImageDraw, ImageFont  # lazy: only a DOCX draws a PNG

    scale = CHART_DPI / 72
    width, height = int(item["width"] * scale), int(item["height"] * scale)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    fonts = resources.files("reports.templates").joinpath("fonts")
    with resources.as_file(fonts.joinpath("DejaVuSans.ttf")) as path:
        font = ImageFont.truetype(str(path), int(9 * scale))
    text_colour = colours.get("text", "#1A1A1A")
    fill = {s["id"]: s["colour"] for s in item["statuses"]}
    pattern = {s["id"]: s["pattern"] for s in item["statuses"]}

    def box(x: float, y: float, w: float, h: float) -> tuple[int, int, int, int]:
        return (int(x * scale), int(y * scale), int((x + w) * scale), int((y + h) * scale))

    for bar in item["bars"]:
        area = box(bar["x"], bar["y"], bar["w"], bar["h"])
        draw.rectangle(area, fill=fill[bar["status"]])
        _pattern(draw, area, pattern[bar["status"]])
    for mark in item["marks"]:
        area = box(mark["x"], mark["y"], mark["w"], mark["h"])
        draw.rectangle(area, fill="white", outline=text_colour)
        _pattern(draw, area, "diagonal", colour=text_colour)
        draw.text((mark["tx"] * scale, mark["ty"] * scale), item["marker"], fill=text_colour,
                  font=font, anchor="ls")
    plot = item["plot"]
    room = (plot["x"] - 10) * scale
    for row in item["rows"]:
        label = row["label"]
        while len(label) > 1 and font.getlength(label) > room:   # cut to fit, marked …
            label = label[:-2].rstrip() + "…"
        draw.text(((plot["x"] - 6) * scale, row["y"] * scale), label,
                  fill=text_colour, font=font, anchor="rs")
    draw.line([(plot["x"] * scale, plot["bottom"] * scale),
               ((plot["x"] + plot["w"]) * scale, plot["bottom"] * scale)], fill=text_colour)
    for tick in item["ticks"]:
        draw.text((tick["x"] * scale, (plot["bottom"] + 14) * scale), tick["text"],
                  fill=text_colour, font=font, anchor="ms")
    for entry in item["legend"]:
        area = box(entry["x"], 8, 12, 12)
        draw.rectangle(area, fill=fill[entry["status"]])
        _pattern(draw, area, pattern[entry["status"]])
        draw.text(((entry["x"] + 16) * scale, 18 * scale), entry["label"], fill=text_colour,
                  font=font, anchor="ls")
    out = io.BytesIO()
    img.save(out, format="PNG", dpi=(CHART_DPI, CHART_DPI), optimize=True)
    return out.getvalue()


def _pattern(draw: Any, area: tuple[int, int, int, int], kind: str,
             colour: str = "white") -> None:
    """The status's own pattern over its colour, so no status is told by colour alone."""
    x0, y0, x1, y1 = area
    step = 8
    if kind == "diagonal":
        for k in range(x0 - (y1 - y0), x1, step):
            draw.line([(max(k, x0) , y0 + max(0, x0 - k)),
                       (min(k + (y1 - y0), x1), y1 - max(0, k + (y1 - y0) - x1))],
                      fill=colour, width=2)
    elif kind == "dots":
        for x in range(x0 + 3, x1 - 1, step):
            for y in range(y0 + 3, y1 - 1, step):
                draw.ellipse((x - 1, y - 1, x + 1, y + 1), fill=colour)
    elif kind == "cross":
        for x in range(x0 + step // 2, x1, step):
            draw.line([(x, y0), (x, y1)], fill=colour, width=1)
        for y in range(y0 + step // 2, y1, step):
            draw.line([(x0, y), (x1, y)], fill=colour, width=1)
