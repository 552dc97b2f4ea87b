"""Tagged (PDF/UA-1) impact briefings: the HTML briefing printed by WeasyPrint.

Open-source ReportLab writes no structure tree, so an accessible PDF comes from a
second renderer of the same `Briefing`: `reports.render.html` lays it out as HTML,
WeasyPrint prints that with ``pdf_variant="pdf/ua-1"`` (marked content, a structure
tree, MarkInfo, /Lang, the pdfuaid XMP entry, DisplayDocTitle), embedding the DejaVu
fonts shipped in templates/fonts, and a pikepdf pass then adds what WeasyPrint
leaves out:

- /Scope on every table header cell (TH): Column in a table's head, Row elsewhere;
- /Alt on every Figure (each chart): the chart's title and description;
- the document title in the Info dictionary, DisplayDocTitle true and /Lang en-GB
  (WeasyPrint sets these too; the pass makes sure);
- each embedded font's modification date set back to the font's own creation date.
  WeasyPrint subsets fonts with HarfBuzz where libharfbuzz-subset is installed
  (which keeps the shipped font's dates), else with fontTools, which stamps the
  subset with the time of the build: two builds of one briefing a second apart would
  then differ, and the portal's background builder would not make the CLI's bytes.

This is "tagged, checked against the machine-checkable subset" of PDF/UA: no full
validator (veraPDF) runs here, so full conformance is not claimed.

WeasyPrint and pikepdf are imported inside the functions that use them: they are
slow to import, and only the commands that write a tagged PDF need them.
"""

from __future__ import annotations

import io
from importlib import resources
from typing import IO, Any

from ..documents.blocks import Briefing
from .html import figure_alts, page_model, render_page

LANG = "en-GB"
FONTS = (("DejaVu Sans", "normal", "DejaVuSans.ttf"), ("DejaVu Sans", "bold",
                                                        "DejaVuSans-Bold.ttf"))


def render_tagged(b: Briefing, out: IO[bytes], *, reproducible: bool = False,
                  version: str = "") -> int:
    """Write the briefing as a tagged PDF to `out`.  Returns the number of pages.

    The PDF's bytes depend only on the briefing (and the tool's version): no
    timestamp is written and the file identifier is worked out from the content, so
    a `reproducible` build is byte-identical (every build is, in fact)."""
    from weasyprint import CSS, HTML  # lazy: WeasyPrint takes ~0.5 s to import

    page = page_model(b, version=version)
    html = render_page(page)
    fonts = resources.files("reports.templates").joinpath("fonts")
    with resources.as_file(fonts) as folder:
        faces = "\n".join(
            f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
            f'src: url("{(folder / name).as_uri()}"); }}' for family, weight, name in FONTS)
        document = HTML(string=html, base_url=folder.as_uri()).render(
            stylesheets=[CSS(string=faces)])
        raw = document.write_pdf(pdf_variant="pdf/ua-1", pdf_identifier=b"impact",
                                 pdf_tags=True)
    out.write(fix_tags(raw, title=b.title, alts=figure_alts(page)))
    return len(document.pages)


def fix_tags(pdf: bytes, *, title: str, alts: list[str]) -> bytes:
    """The pikepdf pass: /Scope on TH cells, /Alt on Figures, title, language."""
    import pikepdf  # lazy: only the tagged renderer uses it

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        root = doc.Root
        root.Lang = pikepdf.String(LANG)
        prefs = root.get("/ViewerPreferences")
        if not isinstance(prefs, pikepdf.Dictionary):
            prefs = root.ViewerPreferences = pikepdf.Dictionary()
        prefs.DisplayDocTitle = True
        doc.docinfo[pikepdf.Name.Title] = pikepdf.String(title)
        figures: list[Any] = []
        tree = root.get("/StructTreeRoot")
        if tree is not None:
            _walk(tree.get("/K"), None, figures, pikepdf)
        for element, alt in zip(figures, alts):
            element.Alt = pikepdf.String(alt)
        for element in figures[len(alts):]:      # a figure that is not a chart
            if "/Alt" not in element:
                element.Alt = pikepdf.String("Figure")
        for descriptor in _font_descriptors(doc, pikepdf):
            _undate(descriptor, pikepdf)
        buf = io.BytesIO()
        doc.save(buf, deterministic_id=True, compress_streams=True)
    return buf.getvalue()


def _font_descriptors(doc: Any, pikepdf: Any) -> list[Any]:
    """Every font descriptor with an embedded TrueType or OpenType font file."""
    return [obj for obj in doc.objects
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor"
            and any(k in obj for k in ("/FontFile2", "/FontFile3"))]


def _undate(descriptor: Any, pikepdf: Any) -> None:
    """Set an embedded font's 'head' modification date to its creation date (fontTools
    reads and writes it; a font whose dates already agree is left byte for byte)."""
    from fontTools.ttLib import TTFont  # lazy: with WeasyPrint, only for tagged PDFs

    key = "/FontFile2" if "/FontFile2" in descriptor else "/FontFile3"
    stream = descriptor[key]
    font = TTFont(io.BytesIO(stream.read_bytes()), recalcTimestamp=False)
    if "head" not in font or font["head"].modified == font["head"].created:
        return
    font["head"].modified = font["head"].created
    buf = io.BytesIO()
    font.save(buf)
    data = buf.getvalue()
    stream.write(data)
    if key == "/FontFile2":
        stream.Length1 = len(data)


def _walk(node: Any, section: str | None, figures: list[Any], pikepdf: Any) -> None:
    """Visit the structure tree: set each TH's /Scope, collect each Figure in order."""
    if isinstance(node, pikepdf.Array):
        for child in node:
            _walk(child, section, figures, pikepdf)
        return
    if not isinstance(node, pikepdf.Dictionary) or "/S" not in node:
        return
    role = str(node.S)
    if role in ("/THead", "/TBody", "/TFoot"):
        section = role
    elif role == "/Table":
        section = None
    if role == "/TH":
        _set_scope(node, "/Column" if section == "/THead" else "/Row", pikepdf)
    elif role == "/Figure":
        figures.append(node)
    _walk(node.get("/K"), section, figures, pikepdf)


def _set_scope(cell: Any, scope: str, pikepdf: Any) -> None:
    """Give a TH cell a Table attribute /Scope unless one of its attributes has it."""
    attrs = cell.get("/A")
    owned = [attrs] if isinstance(attrs, pikepdf.Dictionary) else \
        [a for a in attrs if isinstance(a, pikepdf.Dictionary)] \
        if isinstance(attrs, pikepdf.Array) else []
    if any("/Scope" in a for a in owned):
        return
    for a in owned:
        if a.get("/O") == pikepdf.Name.Table:
            a.Scope = pikepdf.Name(scope)
            return
    table = pikepdf.Dictionary(O=pikepdf.Name.Table, Scope=pikepdf.Name(scope))
    if attrs is None:
        cell.A = table
    elif isinstance(attrs, pikepdf.Array):
        attrs.append(table)
    else:
        cell.A = pikepdf.Array([attrs, table])
