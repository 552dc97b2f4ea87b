"""New posts by team, job title and grade."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import numpy as np

from ...figures.privacy import Key
from ...model.formats import fte_value, natural
from ..blocks import Block, Cell, Table, Text, clean
from ..builder import Builder
from . import section

NEW_POST_ROWS = 200        # rows of the new-posts table before "Other new posts"


@section("new_posts", "New posts")
def new_posts(b: Builder) -> list[Block]:
    f = b.fig
    posts = b.report.posts
    created = posts[posts["status"].to_numpy() == "created"]
    if created.empty:
        return [Text("The proposals create no new posts.", "body")]
    sums = created.groupby(["team", "title", "grade"], sort=False)[["fte", "posts"]].sum()
    groups = []
    for (team, title, grade), (fte, count) in zip(sums.index,
                                                  sums.to_numpy(dtype=np.int64)):
        key = ("new", str(team), str(title), str(grade))
        f.add(key + ("fte",), fte_value(int(fte)))
        f.add(key + ("posts",), int(count))
        groups.append(key)
    for unit, measure in (("fte", "created_fte"), ("posts", "created_posts")):
        f.relate(("total", measure), [k + (unit,) for k in groups])
    per_team: dict[str, list[Key]] = defaultdict(list)
    per_grade: dict[str, list[Key]] = defaultdict(list)
    for k in groups:
        per_team[k[1]].append(k + ("fte",))
        per_grade[k[3]].append(k + ("fte",))
    for team, keys in per_team.items():
        f.relate(("team", team, "created_fte"), keys)
    for grade, keys in per_grade.items():
        f.relate(("grade", grade, "created_fte"), keys)
    out: list[Block] = []
    shown, folded = groups, []
    if len(groups) > NEW_POST_ROWS:
        order = sorted(range(len(groups)), key=lambda i: (-f.values[groups[i] + ("fte",)], i))
        keep = set(order[:NEW_POST_ROWS - 1])
        shown = [k for i, k in enumerate(groups) if i in keep]
        folded = [k for i, k in enumerate(groups) if i not in keep]
        out.append(Text(f"The {len(shown)} largest of {len(groups):,} groups of new posts; "
                        f"the rest are added up in the last row.", "intro_note"))
    # natural order (sorting only the rows shown: natural keys are slow)
    shown = sorted(shown, key=lambda k: (natural(k[1]), natural(k[2]), natural(k[3])))
    body: list[list[Cell]] = [[clean(k[1]), clean(k[2]), clean(k[3]), k + ("fte",),
                               k + ("posts",)] for k in shown]
    if folded:
        for unit in ("fte", "posts"):
            f.add(("new_other", unit), sum((f.values[k + (unit,)] for k in folded),
                                           Decimal(0) if unit == "fte" else 0))
            f.relate(("new_other", unit), [k + (unit,) for k in folded])
        body.append([f"Other new posts ({len(folded):,} groups)", "", "",
                     ("new_other", "fte"), ("new_other", "posts")])
    total: list[Cell] = ["Total", "", "", ("total", "created_fte"), ("total", "created_posts")]
    out.append(b.table(Table(["Team", "Job title", "Grade", "FTE", "Posts"], body, total,
                                text_cols=3, widths=[2.2, 2.6, 1.4, 0.9, 0.8])))
    return out
