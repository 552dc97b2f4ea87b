"""FTE by status and % deleted for every team."""

from __future__ import annotations

from ..blocks import Block
from ..builder import Builder
from . import section


@section("by_team", "By team")
def by_team(b: Builder) -> list[Block]:
    return [b.fte_table("team", b.team_rows, "team", "Team")]
