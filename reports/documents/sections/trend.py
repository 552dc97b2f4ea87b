"""The trend across versions (issue 28, part 2): a stored dataset's main totals, one row
per version up to the one briefed, then where the proposals changed and by how much, and a
chart of FTE by status per version (its figures also given as a table).

The section appears when a briefing is given a trend of more than one version (`Trend`,
from `reports.figures.trend`); it goes after the headline (and "What changed") unless
the template lists "trend" itself.  Every figure is a key into the briefing's one
`Figures` store (`("trend", i, measure)`), so the renderers print them as every other.

A briefing that suppresses small numbers (public) has no trend section: its figures are
audited one version at a time through the publication ledger, and a series of versions
is not yet audited as one release.  The section then says nothing and is left out, and
the method section says why (`figures.trend.NOT_PUBLIC`).
"""

from __future__ import annotations

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
    if t is None or len(t) < 2 or b.t.suppresses:
        return []
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
    widths = [1.1, 1.3] + [1.7 if m == "net_saving" else 1.3 for m in shown]
    rows: list[list[Cell]] = []
    for i, p in enumerate(t.points):
        row: list[Cell] = [p.label, tr.as_of_text(p)]
        rows.append(row + [key(i, m) if p.values.get(m) is not None else "not given"
                           for m in shown])
    out.append(b.table(Table(["Version" if not monthly else "Month", "As of"] +
                             [tr.LABELS[m] for m in shown], rows, text_cols=2,
                             widths=widths,
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
    out.append(Table(["Version" if not monthly else "Month", "As of"] +
                     [tr.LABELS[m] for m in shown], change_rows, text_cols=2,
                     widths=widths,
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
                    + tr.NOT_PUBLIC, "note"))
    return out


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
