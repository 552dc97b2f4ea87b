"""Occupied posts, vacancies and cost by team, grade and site: the figures a rep needs
("how many of my members at Holme Hall?"), from the same totals as every other table."""

from __future__ import annotations

from typing import Any

from ...model import measures
from ..blocks import Block, Cell, Table, Text, clean
from ..builder import Builder
from . import section

_GROUPS = (("team", "by_team", "team", "Team"), ("grade", "by_grade", "grade", "Grade"),
           ("loc", "by_location", "location", "Site"))


@section("at_risk", "Occupied posts, vacancies and cost",
         idle="No posts are deleted, so no one is at risk and no vacancy is lost.")
def at_risk(b: Builder) -> list[Block]:
    s = b.s
    keys = ["deleted_posts"]
    if s.has_vacant:
        keys += ["at_risk_posts", "vacant_deleted_posts"]
    if s.has_cost:
        keys += ["deleted_cost"] + (["at_risk_cost"] if s.has_vacant else [])
    out: list[Block] = []
    if not (s.has_vacant or s.has_cost):
        return [Text("The file has no Vacant and no Annual cost column, so occupied posts, "
                     "vacancies and costs cannot be shown.", "body")]
    if not s.has_vacant:
        out.append(Text("The file does not say which posts are vacant, so the number of "
                        "people at risk cannot be told from it.", "note"))
    known = b.vacancy_known()
    if known:
        out.append(Text(known, "note"))
    for kind, group, col, label in _GROUPS:
        rows = s.groups[group]
        if not rows or (kind == "loc" and not s.has_location):
            continue
        out.append(Text(f"Per {label.lower()}", "subheading"))
        out.append(_table(b, kind, rows, col, label, keys))
    return out


def _table(b: Builder, kind: str, rows: list[dict[str, Any]], col: str, label: str,
           keys: list[str]) -> Table:
    f = b.fig
    body: list[list[Cell]] = []
    for g in rows:
        row: list[Cell] = [clean(g[col])]
        for k in keys:
            key = (kind, g[col], k)
            if key not in f.values:
                f.add(key, g[k], posts=g.get(measures.posts_for(k))
                      if k.endswith("_fte") else None)
            row.append(key)
        body.append(row)
    for k in keys:
        f.relate(("total", k), [(kind, g[col], k) for g in rows])
        if measures.is_money(k):
            counts = {"deleted_cost": "deleted_posts", "at_risk_cost": "at_risk_posts"}
            for g in rows:
                f.belongs((kind, g[col], k), [(kind, g[col], counts[k])])
    total: list[Cell] = ["Total"] + [("total", k) for k in keys]
    header = [label] + [measures.get(k).label_for("table") for k in keys]
    return b.table(Table(header, body, total, widths=[2.6] + [1.1] * len(keys)))
