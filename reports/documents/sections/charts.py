"""Bar charts of FTE by status, per team and per grade."""

from __future__ import annotations

from typing import Any

from ...model.formats import natural
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
    def size(g: dict[str, Any]) -> Any:
        return g["baseline_fte"] + g["created_fte"]

    chosen, folded = rows, []
    if len(rows) > limit:
        order = sorted(rows, key=lambda g: (-size(g), natural(g[col])))
        keep = order[:limit - 1]
        folded = order[limit - 1:]
        if by_size:
            chosen = keep
        else:
            names = {g[col] for g in keep}
            chosen = [g for g in rows if g[col] in names]
    keys = [{s: (kind, g[col], f"{s}_fte") for s in STATUSES} for g in chosen]
    b.show(k for d in keys for k in d.values())
    chart = Chart(title, axis, [clean(g[col], 40) for g in chosen], keys)
    plural = "teams" if kind == "team" else "grades"
    if folded:
        chart.other = (f"Other {len(folded):,} {plural}: average",
                       [{s: (kind, g[col], f"{s}_fte") for s in STATUSES} for g in folded])
        chart.note = (f"The {len(chosen)} largest {plural} by baseline and new FTE"
                      f"{', largest first' if by_size else ''}. The last bar is the "
                      f"average of the other {len(folded):,} {plural}, so that it is on "
                      f"the same scale; the tables give each one.")
    if b.t.suppresses:
        chart.note = (chart.note + " " if chart.note else "") + \
            "Figures hidden to protect individuals are left out of the bars."
    b.charts.append(chart)
    return chart
