"""Pools and redeployment: who sits in a selection pool that loses posts, and the posts
they could be redeployed into.  The public briefing gets only the totals, through the
privacy module."""

from __future__ import annotations

from typing import Any

from ...figures.pools import SAME, SERVES_NAMED, Pools, pools
from ..blocks import Block, Cell, Table, Text, clean
from ..builder import Builder
from . import section

POOL_ROWS = 60        # rows of the at-risk pools table


@section("pools", "Pools and redeployment",
         idle="No posts are deleted, so no selection pool loses posts and no one needs "
              "redeploying.")
def pools_section(b: Builder) -> list[Block]:
    if not b.s.has_posts:
        return [Text("The file does not give the number of posts on each row, so selection "
                     "pools and the posts available for redeployment cannot be counted.",
                     "body")]
    p: Pools = pools(b.report)
    f = b.fig
    t = p.totals()
    keys = {k: ("pools", k) for k in ("people_in_affected_pools", "occupied_posts_deleted",
                                      "redeployment_posts_available")}
    for k, key in keys.items():
        f.add(key, t[k], "posts")
    if b.t.suppresses:
        # Published: only the posts available, which are the new posts and the retained
        # vacancies (a figure the briefing does not show): the audit knows the sum.
        shown = keys["redeployment_posts_available"]
        vacancies = ("pools", "retained_vacancies")
        f.add(vacancies, t["redeployment_posts_available"] - int(b.s.totals["created_posts"]),
              "posts")
        f.relate(shown, [("total", "created_posts"), vacancies])
        b.show([shown])
        return [Text("Posts available for redeployment (new posts and retained vacancies): "
                     "{available}. Selection pools are not published: most hold a few people.", "body",
                     {"available": shown})]
    b.show(keys.values())
    bound = " (an upper bound: the file does not say which posts are vacant)" \
        if p.upper_bound else ""
    out: list[Block] = [
        Text("{people} people sit in selection pools that lose posts, for {deleted} occupied "
             "posts deleted" + bound + ".", "lead",
             {"people": keys["people_in_affected_pools"],
              "deleted": keys["occupied_posts_deleted"]}),
        Text("A pool is the occupied posts sharing a team, job title and grade. Where a pool "
             "loses some posts but not all, everyone in it is at risk until selection. Posts "
             "available for redeployment (new posts and retained vacancies): {available}.",
             "body", {"available": keys["redeployment_posts_available"]})]
    affected = p.affected_pools
    out.append(Text(f"{len(affected):,} pools lose posts: {t['pools_losing_some']:,} lose some "
                    f"(all at risk until selection) and {t['pools_losing_all']:,} lose all.",
                    "body"))
    rows: list[list[Cell]] = []
    for x in affected[:POOL_ROWS]:
        pkey: tuple[str, ...] = ("pool", *x.key.values(), x.grade)
        for k, v in (("occupied", x.occupied), ("deleted", x.deleted), ("kept", x.kept)):
            f.add(pkey + (k,), v, "posts")
        rows.append([*(clean(v) for v in x.key.values()), clean(x.grade),
                     pkey + ("occupied",), pkey + ("deleted",), pkey + ("kept",)])
    if len(affected) > POOL_ROWS:
        out.append(Text(f"The first {POOL_ROWS} of {len(affected):,} pools.", "intro_note"))
    head = [c.replace("_", " ").title() for c in p.pool_by] + ["Grade"]
    # No column of redeployment posts per pool: one vacancy would show against every pool
    # it could serve, as if each could have it.  The posts are listed once, below.
    out.append(b.table(Table(head + ["Occupied", "Deleted", "Kept"], rows,
                             text_cols=len(head),
                             widths=[2.2] * (len(head) - 1) + [1.1, 1, 1, 0.9])))
    out.append(Text("Posts available for redeployment", "subheading"))
    if not p.available:
        out.append(Text("None: the proposals create no posts and keep no vacancy.", "body"))
    else:
        avail: list[list[Cell]] = []
        if len(p.available) > POOL_ROWS:
            out.append(Text(f"The first {POOL_ROWS} of {len(p.available):,} groups of "
                            f"available posts, by grade.", "intro_note"))
        for a in p.available[:POOL_ROWS]:
            rkey = ("redeploy", a["team"], a["title"], a["grade"], a["kind"], "posts")
            f.add(rkey, a["posts"], "posts")
            avail.append([clean(a["team"]), clean(a["title"]), clean(a["grade"]), a["kind"],
                          could_serve(p, a), rkey])
        out.append(b.table(Table(["Team", "Job title", "Grade", "Kind",
                                  "At-risk pools it could serve", "Posts"], avail,
                                 text_cols=5, widths=[1.6, 1.7, 0.9, 1.1, 3.4, 0.6])))
        out.append(Text("Each post is listed once, with every at-risk pool it could serve: "
                        "those of its own grade, then of the grade either side in the file's "
                        "grade order. Several pools may want the same post; it is still one "
                        "post. A grade is \"one grade up\" or \"one grade down\" only where the "
                        "two grades are numbered one apart (Grade 8 and Grade 9); otherwise it "
                        "is \"the next grade above in this schedule\" (or below): the file may "
                        "not hold every grade.", "note"))
    return out


def could_serve(p: Pools, post: dict[str, Any]) -> str:
    """The at-risk pools an available post could serve, by grade: "Grade 8 (the post is
    one grade up): Team / Title; ...", or "none"."""
    parts = []
    for grade, match, pools_ in p.serves(post):
        names = [" / ".join(clean(v, 60) for v in x.key.values()) or clean(x.grade)
                 for x in pools_[:SERVES_NAMED]]
        more = len(pools_) - SERVES_NAMED
        listed = "; ".join(names) + (f"; and {more:,} more" if more > 0 else "")
        how = "same grade" if match == SAME else f"the post is {match}"
        parts.append(f"{clean(grade)} ({how}): {listed}")
    return " | ".join(parts) or "none"
