"""s.188 and consultation: the proposed dismissals, the consultation period and any
deadlines the file's dismissal dates set, and (for a union) the questions to ask.

The public briefing gets only the whole-employer count, through the privacy module."""

from __future__ import annotations

from ...figures.s188 import S188Pack, award_words, s188_pack
from ...model.formats import fmt_date
from ..blocks import Block, Cell, Table, Text, clean
from ..builder import Builder
from . import section

KEY = ("s188", "proposed_dismissals")


@section("s188", "s.188 and consultation",
         idle="No posts are deleted, so no dismissals are proposed: s.188 sets no "
              "consultation.")
def s188(b: Builder) -> list[Block]:
    if not b.s.has_posts:
        return [Text("The file does not give the number of posts on each row, so the "
                     "proposed dismissals cannot be counted.", "body")]
    p: S188Pack = s188_pack(b.report)
    f, emp = b.fig, p.employer
    f.add(KEY, emp.proposed_dismissals, "posts")
    # Without a People column the count is a total the briefing already has: the same
    # figure twice, so the privacy audit must know it.
    same = ("total", "at_risk_posts" if b.s.has_vacant else "deleted_posts")
    related = f.values.get(same) == emp.total_dismissals == emp.proposed_dismissals
    if related:
        f.relate(KEY, [same])
    elif b.t.suppresses:        # people counted another way: not published
        return [Text("The number of proposed dismissals is not published here: the file "
                     "counts people in a way the other figures do not show.", "body")]
    b.show([KEY])
    bound = "" if not p.upper_bound else \
        " (an upper bound: the file does not say which posts are vacant)" \
        if not b.s.has_vacant else \
        " (an upper bound: the file does not say for every deleted post whether it is vacant)"
    out: list[Block] = [Text("{n} proposed dismissals (people in occupied deleted posts) "
                             "across the whole employer" + bound + ".", "lead", {"n": KEY})]
    if b.t.suppresses:
        out.append(Text("Vacant and relocated posts are not dismissals and are not counted.",
                        "note"))
        return out
    days = emp.consultation_days
    if days is None:
        out.append(Text(f"Under {p.rules.threshold} in any 90 days across the employer: "
                        f"s.188 sets no minimum consultation period.", "body"))
    else:
        when = ("" if emp.first_dismissal is None else
                f" The first dismissal is proposed for {fmt_date(emp.first_dismissal)}, so "
                f"consultation must start, and form HR1 reach the Secretary of State, by "
                f"{fmt_date(emp.consultation_starts_by)}." if emp.consultation_starts_by
                else "")
        out.append(Text(f"That is {emp.band} dismissals at one establishment within 90 days "
                        f"if the employer is one establishment: at least {days} days' "
                        f"consultation before the first dismissal, and form HR1 (TULRCA "
                        f"s.188(1A), s.193).{when}", "body"))
    most = emp.protective_award_max_days
    out.append(Text(f"Failing to consult can cost a protective award of "
                    f"{award_words(emp.protective_award, most)}"
                    + ("." if most is not None else
                       ": the maximum is the one in force on each dismissal's date (TULRCA "
                       "s.189(4); 180 days from 6 April 2026, Employment Rights Act 2025)."),
                    "body"))
    spanning = [u for u in p.establishments
                if u.protective_award_max_days is None and p.by != "employer"]
    for u in spanning:
        out.append(Text(f"At {clean(u.name)}, the dismissals span that change: "
                        f"{award_words(u.protective_award, None)}.", "body"))
    out.append(Text("Who counts as one establishment decides whether s.188 applies: the "
                    "same dismissals drawn other ways", "subheading"))
    rows: list[list[Cell]] = []
    for v in p.views:
        key = ("s188_view", v.by)
        f.add(key + ("largest",), v.largest_dismissals, "posts")
        rows.append([v.by.title(), f"{v.units:,}", f"{v.reaching_threshold:,}",
                     clean(v.largest), key + ("largest",)])
    out.append(b.table(Table(["By", "Establishments", "Reaching 20", "Largest",
                              "Its dismissals"], rows, text_cols=4,
                             widths=[1.2, 1.2, 1.1, 3, 1.1])))
    dated = [u for u in p.establishments if u.consultation_starts_by is not None]
    if dated and p.by != "employer":
        body: list[list[Cell]] = [[clean(u.name), f"{u.proposed_dismissals:,}", u.band,
                                   fmt_date(u.consultation_starts_by)]  # type: ignore[arg-type]
                                  for u in dated]
        out.append(Text("Deadlines by establishment", "subheading"))
        out.append(b.table(Table(["Establishment", "Dismissals", "Band", "Consult and HR1 by"],
                                 body, text_cols=4, widths=[3, 1, 1, 1.6])))
    out += [Text(n, "note") for n in p.notes]
    if (b.t.audience or "union") == "union":
        out.append(Text("What the schedule cannot say: ask the employer", "subheading"))
        out += [Text(q, "bullet") for q in p.questions]
    return out
