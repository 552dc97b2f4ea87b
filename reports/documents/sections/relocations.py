"""Relocated posts by destination service."""

from __future__ import annotations

from ..blocks import Block, Cell, Table, Text, clean
from ..builder import Builder
from . import section


@section("relocations", "Relocations")
def relocations(b: Builder) -> list[Block]:
    dests = b.s.groups["by_destination"]
    if not dests:
        return [Text("No posts are relocated to another service.", "body")]
    body: list[list[Cell]] = [[clean(g["destination"]), ("dest", g["destination"],
                                                       "relocated_fte"),
                               ("dest", g["destination"], "relocated_posts")] for g in dests]
    total: list[Cell] = ["Total", ("total", "relocated_fte"), ("total", "relocated_posts")]
    return [b.table(Table(["Destination service", "FTE", "Posts"], body, total,
                             widths=[4, 1, 1]))]
