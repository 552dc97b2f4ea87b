"""HTML impact briefings: the same `Briefing` as the PDF, as one accessible web page.

`render_html` lays out a briefing worked out by `reports.documents.briefing` as one
self-contained HTML file (inline CSS and SVG, system fonts, no request to anywhere):

- `lang="en-GB"`, a `<title>`, one `h1` (the title), an `h2` per section and `h3`
  below it, inside header / main / footer landmarks;
- every table with a `<caption>`, `<thead>` and `<th scope>` (a row's first cell is
  its header), and a total row in `<tfoot>`;
- the key-figure tiles as a description list;
- each chart as inline SVG (`role="img"`, `<title>` and `<desc>` named by
  `aria-labelledby`), each status drawn in its colour *and* its own pattern, hidden
  figures as a hatched mark with "[c]" beside it, followed by the same figures as a
  table in a `<details>` element;
- colours from the template, darkened where needed to a contrast of at least 4.5:1;
- print CSS for A4 with the marking and "Page N of M" in the margins.

The page is built by a Jinja2 template (templates/briefing.html) with autoescaping
on: every string from the spreadsheet or the command line is escaped by Jinja2, and
no markup is ever built here by joining strings.  This module does not import
Jinja2 at import time: only the commands that write HTML pay for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any

from ..documents.blocks import Briefing, Chart, Figures, Pct, Table, Text, Tiles
from ..figures.privacy import MARKER
from ..figures.trend import Trend
from ..model import measures
from ..model.measures import STATUSES

TEMPLATE = "briefing.html"
MIN_CONTRAST = 4.5            # WCAG 2.2 AA, normal text
# unquoted family names: the stack goes into CSS and an SVG attribute, escaped by Jinja2
FONT_STACK = ("DejaVu Sans, system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, "
              "sans-serif")
PART_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def render_html(b: Briefing, *, version: str = "") -> str:
    """The briefing as one HTML document (a str)."""
    return render_page(page_model(b, version=version))


def render_page(page: Page) -> str:
    """A page model (`page_model`) as HTML."""
    from jinja2 import Environment, StrictUndefined  # lazy: only HTML and tagged PDFs need it

    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    template = env.from_string(_template_text())
    return template.render(doc=page)


def _template_text() -> str:
    return resources.files("reports.templates").joinpath(TEMPLATE).read_text("utf-8")


# --------------------------------------------------------------------------
# the page model: plain data for the template


@dataclass
class Page:
    title: str
    subtitle: str
    organisation: str
    marking: str
    meta: list[str]
    author: str
    subject: str
    audience: str
    generator: str
    colours: dict[str, str]
    font_stack: str
    sections: list[dict[str, Any]] = field(default_factory=list)


def page_model(b: Briefing, *, version: str = "") -> Page:
    meta = [x for x in (b.organisation, b.generated and f"Generated {b.generated}",
                        f"Source: {b.source_file}") if x]
    page = Page(title=b.title, subtitle=b.subtitle, organisation=b.organisation,
                marking=b.marking, meta=meta, author=b.author, subject=b.subject,
                audience=b.audience, generator=f"impact {version}".strip(),
                colours=readable_colours(b.colours), font_stack=FONT_STACK)
    ids = _Ids()
    for section in b.sections:
        items: list[dict[str, Any]] = []
        # a table's caption is its own, else the section's heading ("part one of two"
        # when the section holds more than one such table)
        tables = sum(1 for x in section.blocks if isinstance(x, Table) and not x.caption)
        n_table = 0
        for block in section.blocks:
            if isinstance(block, Text):
                text = block.render(b.figures)
                if block.style == "bullet" and items and items[-1]["kind"] == "list":
                    items[-1]["items"].append(text)
                elif block.style == "bullet":
                    items.append({"kind": "list", "items": [text]})
                elif block.style == "subheading":
                    items.append({"kind": "h3", "text": text})
                else:
                    items.append({"kind": "p", "text": text, "style": block.style})
            elif isinstance(block, Table):
                caption, repeat = block.caption, False
                if not caption:
                    n_table += 1
                    caption = section.heading
                    if tables > 1:
                        caption += f", part {_words(n_table)} of {_words(tables)}"
                    else:        # no caption repeating the heading: it names the table
                        repeat = True
                item = _table(block, b.figures, caption, ids.next("table"))
                item["caption_hidden"] = repeat
                items.append(item)
            elif isinstance(block, Tiles):
                items.append({"kind": "tiles",
                              "tiles": [{"label": t.label,
                                         "value": b.figures.text(t.value) + t.suffix,
                                         "hidden": b.figures.text(t.value) in _markers(
                                             b.figures)}
                                        for t in block.tiles]})
            elif isinstance(block, Chart):
                items.append(_chart(block, b.figures, page.colours, ids.next("chart"),
                                    ids.next("table")))
            else:
                raise TypeError(f"unknown block {type(block).__name__}")
        page.sections.append({"id": f"section-{section.id}", "heading": section.heading,
                              "items": items})
    return page


def figure_alts(page: Page) -> list[str]:
    """Each chart's text alternative, in the order of the page: its title and description."""
    return [f"{item['title']}. {item['desc']}" for section in page.sections
            for item in section["items"] if item["kind"] == "chart"]


class _Ids:
    def __init__(self) -> None:
        self.n: dict[str, int] = {}

    def next(self, kind: str) -> str:
        self.n[kind] = self.n.get(kind, 0) + 1
        return f"{kind}-{self.n[kind]}"


def _words(n: int) -> str:
    """A small number in words (a caption holds no figure the PDF does not print)."""
    return PART_WORDS[n - 1] if 1 <= n <= len(PART_WORDS) else f"{n}"


def _markers(fig: Figures) -> set[str]:
    return set(fig.hidden.values()) | {MARKER}


def _table(t: Table, fig: Figures, caption: str, tid: str) -> dict[str, Any]:
    markers = _markers(fig)

    def row_of(cells: Sequence[Any]) -> list[dict[str, Any]]:
        out = []
        for i, c in enumerate(cells):
            text = fig.text(c, t.zero) if i >= t.text_cols else fig.text(c)
            out.append({"text": text, "head": i == 0, "number": i >= t.text_cols,
                        "hidden": isinstance(c, (tuple, Pct)) and text in markers})
        return out

    header = [{"text": h, "number": i >= t.text_cols} for i, h in enumerate(t.header)]
    rel = t.widths or [1.0] * len(t.header)
    widths = [round(100 * w / sum(rel), 2) for w in rel]
    return {"kind": "table", "id": tid, "caption": caption, "header": header,
            "widths": widths, "width": round(100 * t.width_of, 2),
            "rows": [row_of(r) for r in t.rows],
            "total": row_of(t.total) if t.total is not None else None}


# --------------------------------------------------------------------------
# charts: inline SVG


BAR = 16.0
GAP = 4.0
LABEL_W = 230.0
WIDTH = 700.0
TOP = 34.0                  # the legend
AXIS_H = 34.0
HIDDEN_W = 14.0
PATTERNS = {                 # status -> the pattern drawn over its colour
    "deleted": "diagonal",
    "retained": "plain",
    "relocated": "dots",
    "created": "cross",
}


def _chart(c: Chart, fig: Figures, colours: dict[str, str], cid: str,
           tid: str) -> dict[str, Any]:
    n = len(c.categories)
    labels = {s: measures.get(f"{s}_fte").label_for("short") for s in STATUSES}
    values = [[c.series[s][i] for s in STATUSES] for i in range(n)]
    top = max((sum((v for v in row if v is not None), Decimal(0)) for row in values),
              default=Decimal(0))
    hidden_rows = [i for i, row in enumerate(values) if any(v is None for v in row)]
    vmax = nice(float(top) * (1.08 if hidden_rows else 1.0) + (1 if hidden_rows else 0))
    plot_w = WIDTH - LABEL_W - 40
    plot_h = max(n, 1) * (BAR + GAP)
    height = TOP + plot_h + AXIS_H
    bars: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    for i, name in enumerate(c.categories):
        y = TOP + i * (BAR + GAP) + GAP / 2
        x = LABEL_W
        for s, v in zip(STATUSES, values[i]):
            if v is None or v <= 0:
                continue
            w = plot_w * float(v) / vmax
            bars.append({"x": _r(x), "y": _r(y), "w": _r(w), "h": BAR, "status": s})
            x += w
        if i in hidden_rows:
            marks.append({"x": _r(x + 1), "y": _r(y), "w": HIDDEN_W, "h": BAR,
                          "tx": _r(x + HIDDEN_W + 4), "ty": _r(y + BAR / 2 + 4)})
        keys = c.keys[i]
        rows.append({"label": name, "y": _r(y + BAR / 2 + 4),
                     "cells": [{"text": fig.text(keys[s]), "hidden": fig.is_hidden(keys[s])}
                               for s in STATUSES]})
    ticks = [{"x": _r(LABEL_W + plot_w * t / vmax), "text": _tick(t)} for t in _ticks(vmax)]
    legend = [{"x": LABEL_W + 110 * k, "status": s, "label": labels[s]}
              for k, s in enumerate(STATUSES)]
    kind = "team" if c.axis.lower() == "team" else c.axis.lower()
    desc = (f"Horizontal bar chart, one stacked bar per {kind}: FTE deleted (diagonal "
            f"stripes), retained (plain), relocated (dots) and created (crossed lines). "
            f"The table after the chart gives every figure.")
    if hidden_rows:
        desc += (" A hatched box marked [c] after a bar stands for figures hidden to protect "
                 "individuals; it is not drawn to scale.")
    return {"kind": "chart", "id": cid, "table_id": tid, "title": c.title, "desc": desc,
            "note": c.note, "axis": c.axis, "width": WIDTH, "height": _r(height),
            "plot": {"x": LABEL_W, "y": TOP, "w": _r(plot_w), "h": _r(plot_h),
                     "bottom": _r(TOP + plot_h)},
            "bars": bars, "marks": marks, "rows": rows, "ticks": ticks, "legend": legend,
            "statuses": [{"id": s, "label": labels[s], "colour": colours[s],
                          "pattern": PATTERNS[s]} for s in STATUSES],
            "marker": MARKER}


def trend_chart(trend: Trend, colours: dict[str, str], cid: str = "trend-chart",
                tid: str = "trend-chart-table") -> dict[str, Any]:
    """The trend's chart, FTE by status per version, as the HTML briefing draws it (the
    same model for the same SVG markup), for a page of its own: the portal's dataset
    page.  `colours`: a template's, made readable here."""
    fig = Figures()
    keys: list[dict[str, Any]] = []
    for i, p in enumerate(trend.points):
        row = {}
        for s in STATUSES:
            key = ("trend", i, f"{s}_fte")
            fig.add(key, p.values.get(f"{s}_fte") or Decimal(0))
            row[s] = key
        keys.append(row)
    what = "month" if any(p.month for p in trend.points) else "version"
    chart = Chart(f"FTE by status, per {what}", what.capitalize(),
                  [p.label for p in trend.points], keys)
    chart.series = {s: [fig.number(k[s]) for k in keys] for s in STATUSES}
    return _chart(chart, fig, readable_colours(colours), cid, tid)


def _r(x: float) -> float:
    return round(x, 2)


def nice(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= value))


def _ticks(vmax: float) -> list[float]:
    step = vmax / 5
    return [step * k for k in range(6)]


def _tick(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


# --------------------------------------------------------------------------
# colours: at least 4.5:1 against white and the table stripes


def luminance(hex_colour: str) -> float:
    """The relative luminance of "#RRGGBB" (WCAG 2.2)."""
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _darker(colour: str, against: Sequence[str]) -> str:
    """`colour`, darkened step by step until it reaches MIN_CONTRAST against each of
    `against` (it stays as it is when it already does)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    out = colour
    for _ in range(100):
        if all(contrast(out, x) >= MIN_CONTRAST for x in against):
            return out
        r, g, b = (int(v * 0.92) for v in (r, g, b))
        out = f"#{r:02X}{g:02X}{b:02X}"
    return "#000000"


def _lighter(colour: str, against: Sequence[str]) -> str:
    """A background: `colour`, lightened until text of each colour in `against` reads
    on it at MIN_CONTRAST."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    out = colour
    for _ in range(100):
        if all(contrast(out, x) >= MIN_CONTRAST for x in against):
            return out
        r, g, b = (int(v + (255 - v) * 0.15 + 1) if v < 255 else 255 for v in (r, g, b))
        out = f"#{min(r, 255):02X}{min(g, 255):02X}{min(b, 255):02X}"
    return "#FFFFFF"


def readable_colours(colours: dict[str, str]) -> dict[str, str]:
    """The template's colours fit for text: text, muted and primary (headings, and the
    background of white header text) reach 4.5:1 against white and the accent."""
    out = dict(colours)
    out["accent"] = _lighter(colours["accent"], ["#1A1A1A"])
    for key in ("text", "muted", "primary"):
        out[key] = _darker(colours[key], ["#FFFFFF", out["accent"]])
    return out
