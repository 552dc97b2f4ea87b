"""Pools and redeployment: who sits in a selection pool that loses posts, and the posts
they could be redeployed into.  The public briefing gets only the totals, through the
privacy module."""

from __future__ import annotations

from ...figures.pools import Pools, pools
from ..blocks import Block, Cell, Table, Text, clean
from ..builder import Builder
from . import section

POOL_ROWS = 60        # rows of the at-risk pools table


@section("pools", "Pools and redeployment")
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
        for k, v in (("occupied", x.occupied), ("deleted", x.deleted), ("kept", x.kept),
                     ("candidates", sum(c["posts"] for c in x.candidates))):
            f.add(pkey + (k,), v, "posts")
        rows.append([*(clean(v) for v in x.key.values()), clean(x.grade),
                     pkey + ("occupied",), pkey + ("deleted",), pkey + ("kept",),
                     pkey + ("candidates",)])
    if len(affected) > POOL_ROWS:
        out.append(Text(f"The first {POOL_ROWS} of {len(affected):,} pools.", "intro_note"))
    head = [c.replace("_", " ").title() for c in p.pool_by] + ["Grade"]
    out.append(b.table(Table(head + ["Occupied", "Deleted", "Kept", "Redeploy posts"], rows,
                             text_cols=len(head),
                             widths=[2.2] * (len(head) - 1) + [1.1, 1, 1, 0.9, 1.1])))
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
                          rkey])
        out.append(b.table(Table(["Team", "Job title", "Grade", "Kind", "Posts"], avail,
                                 text_cols=4, widths=[2.2, 2.4, 1.1, 1.4, 0.8])))
        out.append(Text("Each at-risk pool's candidates are the available posts of its grade, "
                        "then one grade either side in the file's grade order.", "note"))
    return out
