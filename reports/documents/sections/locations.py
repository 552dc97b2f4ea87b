"""Sites losing all their posts, and sites keeping posts."""

from __future__ import annotations

from decimal import Decimal

from ...model import measures
from ..blocks import Block, Cell, Table, Text, clean
from ..builder import FTE_MEASURES, Builder, is_closing
from . import section


@section("locations", "Locations")
def locations(b: Builder) -> list[Block]:
    s, f = b.s, b.fig
    if not s.has_location:
        return [Text("The file gives no location for its posts.", "body")]
    locs = s.groups["by_location"]
    closing = [g for g in locs if is_closing(g)]
    kept = [g for g in locs if not is_closing(g)]
    for g in locs:
        for m in FTE_MEASURES:
            f.add(("loc", g["location"], m), g[m], posts=g.get(measures.posts_for(m)))
        f.dear.update({("loc", g["location"], "deleted_fte"),     # each site's loss and
                       ("loc", g["location"], "baseline_fte")})   # share cut: the story
    out: list[Block] = [b.sentence("locations", "intro")]
    cmeasures = ("baseline_fte", "deleted_fte", "relocated_fte")
    if closing:
        for g in closing:
            f.relate(("loc", g["location"], "baseline_fte"),
                     [("loc", g["location"], "deleted_fte"),
                      ("loc", g["location"], "relocated_fte")])
        for m in cmeasures:
            f.add(("loc_closing", m), sum((g[m] for g in closing), Decimal(0)))
            f.relate(("loc_closing", m), [("loc", g["location"], m) for g in closing])
        f.relate(("loc_closing", "baseline_fte"), [("loc_closing", "deleted_fte"),
                                                  ("loc_closing", "relocated_fte")])
        body: list[list[Cell]] = [[clean(g["location"])] +
                                  [("loc", g["location"], m) for m in cmeasures]
                                  for g in closing]
        total: list[Cell] = ["Total"] + [("loc_closing", m) for m in cmeasures]
        out.append(Text(f"Sites losing all their posts ({len(closing):,})", "subheading"))
        out.append(b.table(Table(["Site", "Baseline FTE", "Deleted", "Relocated"], body,
                                    total, widths=[3.2, 1, 1, 1])))
    if kept:
        for g in kept:
            b.rows_relations(("loc", g["location"]))
        for m in FTE_MEASURES:
            f.add(("loc_kept", m), sum((g[m] for g in kept), Decimal(0)))
            f.relate(("loc_kept", m), [("loc", g["location"], m) for g in kept])
        b.rows_relations(("loc_kept",))
        out.append(Text(f"Sites keeping posts ({len(kept):,})", "subheading"))
        out.append(b.fte_table("loc", kept, "location", "Site",
                                   total_prefix=("loc_kept",)))
    for m in FTE_MEASURES:
        parts = [("loc_kept", m)] if kept else []
        if closing and m in cmeasures:
            parts.append(("loc_closing", m))
        f.relate(("total", m), parts)
    return out
