"""Bar charts of FTE by status, per team and per grade."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...model.formats import fmt_number, natural
from ...model.measures import STATUSES
from ..blocks import Block, Chart, clean
from ..builder import Builder
from . import section

CHART_TEAMS = 15           # the largest teams get a bar each, the rest share "Other"
CHART_GRADES = 40


@section("charts", "Charts")
def charts(b: Builder) -> list[Block]:
    out: list[Block] = []
    teams = b.team_rows
    if teams:
        out.append(_chart(b, "FTE by status, per team", "Team", "team", teams, "team",
                               CHART_TEAMS, by_size=True))
    if b.grade_rows:
        out.append(_chart(b, "FTE by status, per grade", "Grade", "grade",
                               b.grade_rows, "grade", CHART_GRADES, by_size=False))
    return out


def _chart(b: Builder, title: str, axis: str, kind: str, rows: list[dict[str, Any]], col: str,
           limit: int, by_size: bool) -> Chart:
    """The `limit` - 1 groups losing most FTE get a bar each (largest first for teams, in
    natural order for grades); the rest share one bar that shows their total.  When no
    post is deleted the groups are ranked by their baseline FTE instead, and every team
    chart is in that order, largest first."""
    rank = "baseline_fte" if b.nothing_deleted else "deleted_fte"
    chosen, folded = rows, []
    if by_size and b.nothing_deleted:
        chosen = sorted(rows, key=lambda g: (-g[rank], natural(g[col])))
    if len(rows) > limit:
        order = sorted(rows, key=lambda g: (-g[rank], natural(g[col])))
        keep, folded = order[:limit - 1], order[limit - 1:]
        if by_size:
            chosen = keep
        else:
            names = {g[col] for g in keep}
            chosen = [g for g in rows if g[col] in names]
    keys = [{s: (kind, g[col], f"{s}_fte") for s in STATUSES} for g in chosen]
    labels = distinct_labels([g[col] for g in chosen], 40)
    plural = "teams" if kind == "team" else "grades"
    if folded:
        f = b.fig
        other: dict[str, Any] = {}
        for s in STATUSES:
            parts = [(kind, g[col], f"{s}_fte") for g in folded]
            key = ("chart_other", kind, f"{s}_fte")
            f.add(key, sum((f.values[k] for k in parts), Decimal(0)))
            f.relate(key, parts)
            other[s] = key
        keys.append(other)
        amount = sum((g[rank] for g in folded), Decimal(0))
        labels.append(f"Other {len(folded):,} {plural}: {fmt_number(amount)} FTE"
                      f"{'' if b.nothing_deleted else ' deleted'}")
    b.show(k for d in keys for k in d.values())
    chart = Chart(title, axis, labels, keys)
    most = "with the most FTE today" if b.nothing_deleted else "losing the most FTE"
    if folded:
        chart.note = (f"The {len(chosen)} {plural} {most}"
                      f"{', largest first' if by_size else ''}. The last bar adds up the "
                      f"other {len(folded):,} {plural}; the tables give each one.")
    elif by_size and b.nothing_deleted:
        chart.note = f"No posts are deleted: the {plural} by FTE today, largest first."
    if b.nothing_deleted and folded:
        chart.note += " No posts are deleted."
    if b.t.suppresses:
        chart.note = (chart.note + " " if chart.note else "") + \
            "A hatched mark stands for figures hidden to protect individuals; it is not " \
            "drawn to scale."
    b.charts.append(chart)
    return chart


def distinct_labels(names: list[str], limit: int) -> list[str]:
    """Labels of at most `limit` characters that tell the names apart: a long name keeps
    its start and its end ("Children's Centres – A…Dales"), not just its start."""
    out = [clean(n, limit) for n in names]
    if len(set(out)) == len(out):
        return out
    fixed = []
    for name, label in zip(names, out):
        text = clean(name, 10_000)
        if len(text) > limit and out.count(label) > 1:
            tail = max(limit // 2 - 1, 8)
            label = text[:limit - tail - 1] + "…" + text[-tail:]
        fixed.append(label)
    return fixed
