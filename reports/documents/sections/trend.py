"""The trend across versions (issue 28, part 2): a stored dataset's main totals, one row
per version up to the one briefed, then where the proposals changed and by how much, and a
chart of FTE by status per version (its figures also given as a table).

The section appears when a briefing is given a trend of more than one version (`Trend`,
from `reports.figures.trend`); it goes after the headline (and "What changed") unless
the template lists "trend" itself.  Every figure is a key into the briefing's one
`Figures` store (`("trend", i, measure)`), so the renderers print them as every other.

A briefing that suppresses small numbers (public) gives the trend as it was published:
an earlier version's row has only the figures its own public outputs released (the
`Prior` releases of the publication ledger: a figure hidden then is "not published"
now, and a version never published has no row), and the briefed version's row is its
own headline figures (`("total", measure)`), audited with the rest of the briefing.
A change is printed only between two published figures, and the change into the
briefed version is hidden with its figure.  So the trend releases nothing that the
ledger had not released already, or that this briefing's own audit does not release.
It has no chart and no line per change (both would need the values of hidden figures).
"""

from __future__ import annotations

from decimal import Decimal

from ...figures import trend as tr
from ...model.measures import STATUSES
from ..blocks import Block, Cell, Chart, Derived, Table, Text, clean
from ..builder import Builder
from . import section

TREND = "trend"
SHOWN = 24      # the most versions (or months) one briefing's trend lists and charts


def key(i: int, m: str) -> tuple[str, int, str]:
    return ("trend", i, m)


@section(TREND, "The trend across versions")
def trend(b: Builder) -> list[Block]:
    t = b.trend
    if t is None or len(t) < 2:
        return []
    if b.t.suppresses:
        return _published(b, t)
    whole = len(t)
    if whole > SHOWN:
        t = tr.Trend(points=t.points[-SHOWN:])
    f = b.fig
    shown = [m for m in tr.MEASURES if t.given(m)]
    for i, p in enumerate(t.points):
        for m in (*tr.MEASURES, *tr.CHART_MEASURES):
            value = p.values.get(m)
            if value is not None:
                f.add(key(i, m), value)
    monthly = any(p.month for p in t.points)
    first, last = t.points[0], t.points[-1]
    steps = [i for i in range(1, len(t)) if t.changed(i)]
    what = "month" if monthly else "version"
    latest = (f" (the latest {len(t)} of the {whole} {what}s stored)"
              if whole > len(t) else "")
    out: list[Block] = [Text(clean(
        f"The proposals across {len(t)} {what}s{latest}, from {tr.when_text(first)} to "
        f"{tr.when_text(last)}: {_changed_words(t, steps, what)}", 600))]
    header, widths = _columns(shown, monthly)
    rows: list[list[Cell]] = []
    for i, p in enumerate(t.points):
        row: list[Cell] = [p.label, tr.as_of_text(p)]
        rows.append(row + [key(i, m) if p.values.get(m) is not None else "not given"
                           for m in shown])
    out.append(b.table(Table(header, rows, text_cols=2, widths=widths,
                             caption=f"The main figures, {what} by {what}")))
    change_rows: list[list[Cell]] = []
    for i in range(1, len(t)):
        diffs = t.change(i)
        cells: list[Cell] = []
        for m in shown:
            d = diffs.get(m)
            if d is None:
                cells.append("not given")
            else:
                cells.append(Derived(tr.fmt_change(m, d), (key(i, m), key(i - 1, m))))
        head: list[Cell] = [t.points[i].label, tr.as_of_text(t.points[i])]
        change_rows.append(head + cells)
    b.show(c for r in change_rows for c in r)
    out.append(Table(header, change_rows, text_cols=2, widths=widths,
                     caption=f"The change from the {what} before"))
    for i in steps:
        said = "; ".join(f"{tr.LABELS[m]} {tr.fmt_change(m, d)}"
                         for m, d in t.changed(i).items())
        out.append(Text(clean(f"{t.points[i].label} ({tr.as_of_text(t.points[i])}): "
                              f"{said}.", 600), "bullet"))
    keys = [{s: key(i, f"{s}_fte") for s in STATUSES} for i in range(len(t))]
    b.show(k for d in keys for k in d.values())
    chart = Chart(f"FTE by status, per {what}", what.capitalize(),
                  [p.label for p in t.points], keys,
                  note="Each bar is one version's whole file: deleted, retained and "
                       "relocated make up the baseline; created posts are new.")
    b.charts.append(chart)
    out.append(chart)
    out.append(Text("Each row gives the whole-file totals of the version as it was stored. "
                    + tr.PUBLIC_TREND, "note"))
    return out


def _columns(shown: list[str], monthly: bool) -> tuple[list[str], list[float]]:
    """The header and relative widths of the trend's two tables (series and changes)."""
    header = ["Month" if monthly else "Version", "As of", *(tr.LABELS[m] for m in shown)]
    widths = [1.1, 1.3, *(1.7 if m == "net_saving" else 1.3 for m in shown)]
    return header, widths


def _changed_words(t: tr.Trend, steps: list[int], what: str) -> str:
    if not steps:
        return "none of these figures changed."
    first, last = t.points[0].values, t.points[-1].values
    said = (f"the proposals changed in {len(steps)} of {len(t) - 1} {what}s after the "
            f"first")
    a, z = first.get("deleted_fte"), last.get("deleted_fte")
    if a is not None and z is not None:
        said += (f"; FTE proposed for deletion went from {tr.fmt_value('deleted_fte', a)} "
                 f"to {tr.fmt_value('deleted_fte', z)}")
    return said + "."


NOT_PUBLISHED = "not published"


def _published(b: Builder, t: tr.Trend) -> list[Block]:
    """The public trend: what the ledger released for each earlier version, then the
    briefed version's own headline figures (see the module's docstring)."""
    current = t.points[-1].sha256
    released = {r.version: r.published for r in (b.prior.releases if b.prior else ())
                if r.template == b.t.name}
    points = [p for p in t.points if p.sha256 == current or p.sha256 in released]
    if len(points) > SHOWN:
        points = points[-SHOWN:]
    if len(points) < 2 or points[-1].sha256 != current:
        return []
    f = b.fig
    shown = [m for m in tr.MEASURES if ("total", m) in f.values]

    def cell(p: tr.Point, m: str) -> Cell:
        if p.sha256 == current:
            return ("total", m)
        value = released[p.sha256].get(("total", m))
        return NOT_PUBLISHED if value is None else tr.fmt_value(m, Decimal(str(value)))

    def value(p: tr.Point, m: str) -> Decimal | None:
        if p.sha256 == current:
            return Decimal(f.values[("total", m)])
        v = released[p.sha256].get(("total", m))
        return None if v is None else Decimal(str(v))

    def change(old: tr.Point, new: tr.Point, m: str) -> Cell:
        a, z = value(old, m), value(new, m)
        if a is None or z is None:
            return NOT_PUBLISHED
        words = tr.fmt_change(m, z - a)
        return Derived(words, (("total", m),)) if new.sha256 == current else words

    monthly = any(p.month for p in t.points)
    what = "month" if monthly else "version"
    header, widths = _columns(shown, monthly)
    rows: list[list[Cell]] = [[p.label, tr.as_of_text(p), *(cell(p, m) for m in shown)]
                              for p in points]
    changes: list[list[Cell]] = [
        [new.label, tr.as_of_text(new), *(change(old, new, m) for m in shown)]
        for old, new in zip(points, points[1:])]
    b.show(c for r in rows + changes for c in r)
    left = len(t) - len(points)
    return [
        Text(clean(f"The figures published for {len(points)} {what}s of this dataset, from "
                   f"{tr.when_text(points[0])} to {tr.when_text(points[-1])}"
                   + (f" ({left} {what}s of {len(t)} with no public output earlier, or "
                      f"beyond the latest {SHOWN}, are left out)" if left else "")
                   + ".", 600)),
        b.table(Table(header, rows, text_cols=2, widths=widths,
                      caption=f"The main figures as published, {what} by {what}")),
        Table(header, changes, text_cols=2, widths=widths,
              caption=f"The change from the {what} before, where both figures were published"),
        Text(tr.PUBLIC_TREND, "note"),
    ]
