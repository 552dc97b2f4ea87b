"""The headline: the wording lines, the key-figure tiles and the key-figures table."""

from __future__ import annotations

from ...model import measures
from ..blocks import Block, Cell, Pct, Table, Text, Tile, Tiles
from ..builder import Builder
from . import section

# The key-figures table: an FTE measure beside its posts, then the % deleted.
_ROWS = ("baseline_fte", "deleted_fte", "retained_fte", "relocated_fte", "created_fte",
         "future_fte")
_VACANCY_ROWS = ("at_risk_fte", "vacant_deleted_fte")
_MONEY_ROWS = ("deleted_cost", "at_risk_cost", "vacant_deleted_cost", "created_cost",
               "net_saving", "relocated_cost")


@section("headline", "Headline")
def headline(b: Builder) -> list[Block]:
    s = b.s
    nothing = s.totals["deleted_fte"] == 0
    lead = "nothing_deleted" if nothing else "headline" if s.has_posts else "headline_fte"
    out: list[Block] = [b.sentence(lead, "lead")]
    if not s.has_posts:
        out.append(b.sentence("no_posts"))
    if not nothing:
        out.append(b.sentence("vacancy" if s.has_vacant and s.has_posts else
                              "no_vacancy" if s.has_posts else
                              "vacancy_fte" if s.has_vacant else "no_vacancy_fte"))
        known = b.vacancy_known()
        if known:
            out.append(Text(known, "body"))
    if b.report.defaulted:
        out.append(b.sentence("defaulted"))
    if s.has_cost:
        out.append(b.sentence("cost"))
        if s.has_vacant:
            out.append(b.sentence("cost_split"))
        if s.totals.get("relocated_cost"):
            out.append(b.sentence("cost_moved"))
    tot = ("total",)
    pct = Pct(tot + ("deleted_fte",), tot + ("baseline_fte",))
    tiles = [Tile(tot + ("deleted_fte",), " FTE", "proposed for deletion"),
             Tile(pct, "", "of today's FTE")]
    if s.has_vacant:
        tiles.append(Tile(tot + ("at_risk_fte",), " FTE", "in occupied posts: at risk"))
    if s.has_cost:
        tiles.append(Tile(tot + ("net_saving",), "", "a year: deleted less new posts"))
    else:
        tiles.append(Tile(tot + ("future_fte",), " FTE", "left after the changes"))
    b.show(t.value for t in tiles)
    out.append(Tiles(tiles))

    def row(key: str) -> list[Cell]:
        cells: list[Cell] = [measures.get(key).label_for("key_figures"), tot + (key,)]
        return cells + [tot + (measures.posts_for(key),)] * s.has_posts

    rows: list[list[Cell]] = [row(k) for k in _ROWS]
    blank: list[Cell] = [""] * s.has_posts
    rows.append([measures.get("pct_deleted").label_for("key_figures"), pct, *blank])
    if s.has_vacant:
        rows += [row(k) for k in _VACANCY_ROWS]
    if s.has_cost:
        rows += [[measures.get(k).label, tot + (k,), *blank]
                 for k in _MONEY_ROWS if k in s.totals]
    head, widths = (["Key figures", "FTE", "Posts"], [3.2, 1, 1]) if s.has_posts else \
        (["Key figures", "FTE"], [3.2, 1])
    out.append(b.table(Table(head, rows, widths=widths)))
    if b.t.suppresses:
        out.append(b.sentence("suppression", "note"))
    return out
