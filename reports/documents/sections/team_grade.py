"""Deleted FTE by team and grade: a matrix, split into tables of at most 8 grades."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...model.formats import natural
from ..blocks import Block, Cell, Table, Text, clean
from ..builder import Builder
from . import section

MATRIX_TEAMS = 20          # rows of the team x grade matrix before "Other teams"
MATRIX_GRADES_PER_TABLE = 8


@section("team_grade", "Deleted FTE by team and grade")
def team_grade(b: Builder) -> list[Block]:
    f = b.fig
    grades = [g["grade"] for g in b.grade_rows if g["deleted_fte"] != 0]
    teams = [g for g in b.team_rows if g["deleted_fte"] != 0]
    if not teams:
        return [Text("No posts are deleted.", "body")]
    out: list[Block] = []
    folded: list[dict[str, Any]] = []
    if len(teams) > MATRIX_TEAMS:
        top = sorted(teams, key=lambda g: (-g["deleted_fte"], natural(g["team"])))
        shown_teams, folded = top[:MATRIX_TEAMS - 1], top[MATRIX_TEAMS - 1:]
        out.append(Text(f"The {len(shown_teams)} teams losing the most FTE, largest first; "
                        f"the other {len(folded):,} teams are added up in the last row. "
                        f"Every team is in the table \u201c{b.t.headings['by_team']}\u201d.",
                        "intro_note"))
    else:
        shown_teams = teams
    if len(grades) > MATRIX_GRADES_PER_TABLE:
        out.append(Text(f"{len(grades)} grades have deletions, so the matrix is split "
                        f"into tables of at most {MATRIX_GRADES_PER_TABLE} grades.",
                        "intro_note"))
    other_label = f"Other teams ({len(folded):,})"
    if folded:
        for grade in grades:
            keys = [("tg", g["team"], grade) for g in folded if (g["team"], grade) in b.tg]
            f.add(("mx_other", grade), sum((f.values[k] for k in keys), Decimal(0)))
            f.relate(("mx_other", grade), keys)
        f.add(("mx_other", "*"), sum((g["deleted_fte"] for g in folded), Decimal(0)))
        f.relate(("mx_other", "*"), [("mx_other", gr) for gr in grades])
        f.relate(("mx_other", "*"), [("team", g["team"], "deleted_fte") for g in folded])
    n_tables = -(-len(grades) // MATRIX_GRADES_PER_TABLE)
    per_table = -(-len(grades) // n_tables)      # balanced: 10 grades make 5 + 5
    chunks = [grades[i:i + per_table] for i in range(0, len(grades), per_table)]
    # every table has the same column widths, so the figures line up page to page
    def widths_of(k: int) -> list[float]:
        return [2.2] + [1.0] * k

    full = per_table + 1
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        header = ["Team"] + [clean(g) for g in chunk] + (["All grades"] if last else [])
        body: list[list[Cell]] = []
        for g in shown_teams:
            team = g["team"]
            row: list[Cell] = [clean(team)]
            for grade in chunk:
                key = ("tg", team, grade)
                row.append(key if key in f.values else "–")
            if last:
                row.append(("team", team, "deleted_fte"))
            body.append(row)
        if folded:
            other: list[Cell] = [other_label]
            other += [("mx_other", gr) for gr in chunk]
            if last:
                other.append(("mx_other", "*"))
            body.append(other)
        total: list[Cell] = ["All teams"]
        total += [("grade", gr, "deleted_fte") for gr in chunk]
        if last:
            total.append(("total", "deleted_fte"))
        ncols = len(chunk) + (1 if last else 0)
        out.append(b.table(Table(header, body, total, widths=widths_of(ncols),
                                    zero="0", width_of=(2.2 + ncols) / (2.2 + full))))
    return out
