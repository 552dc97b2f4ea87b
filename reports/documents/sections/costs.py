"""Cost and saving: the annual saving split by where it comes from, redundancy pay (an
estimate per person, or an upper bound labelled as one), pension strain and payback.

Every figure goes into the briefing's one `Figures` store, so it follows the
audience's suppression: a redundancy or strain total belongs to the count of people
it is for, and is hidden with it.  No one's age, service or pay is shown.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ...figures.costs import CostOptions, costs
from ...figures.privacy import MARKER, Key
from ...model import redundancy_rules as rules
from ...model.formats import fmt_date
from ..blocks import Block, Cell, Figures, Table, Text
from ..builder import Builder
from . import section


class _Payback:
    """Payback in months, printed after suppression: hidden when a figure it is worked
    out from is hidden."""

    def __init__(self, fig: Figures, months: Decimal | None, keys: list[Key]) -> None:
        self.fig, self.months, self.keys = fig, months, keys

    def __str__(self) -> str:
        if any(self.fig.is_hidden(k) for k in self.keys):
            return MARKER
        return "never (there is no saving)" if self.months is None else f"{self.months}"


@section("costs", "Cost and saving",
         idle="No posts are deleted, so there is no redundancy pay and nothing is saved.")
def cost_and_saving(b: Builder) -> list[Block]:
    if not b.s.has_posts:
        return [Text("The file does not give the number of posts on each row, so the people "
                     "whose redundancy pay is due cannot be counted.", "body")]
    today = date.today()
    c = costs(b.report, CostOptions(dismissal_date=today, today=today,
                                    dismissal_date_given=False))
    f, fig, s = c.figures, b.fig, b.s
    out: list[Block] = []
    rows: list[list[Cell]] = []
    if s.has_cost:
        if s.has_vacant:
            rows += [["Occupied posts deleted", ("total", "at_risk_cost")],
                     ["Vacant posts deleted (budget, not people)",
                      ("total", "vacant_deleted_cost")]]
        else:
            rows.append(["Deleted posts", ("total", "deleted_cost")])
        rows.append(["Less new posts (a cost)", ("total", "created_cost")])
        out.append(Text("The annual saving, by where it comes from:", "body"))
        out.append(b.table(Table(["", "£ a year"], rows, ["Annual saving", ("total",
                                                                           "net_saving")],
                                 widths=[4, 1.4])))
        if s.totals.get("relocated_cost"):
            out.append(b.sentence("cost_moved"))
        if "part_year_saving" in f:
            fig.add(("costs", "part_year_saving"), f["part_year_saving"])
            fig.belongs(("costs", "part_year_saving"),
                        [("total", "deleted_posts"), ("total", "created_posts")])
            b.show([("costs", "part_year_saving")])
            out.append(Text(f"Saving in the financial year {c.facts['financial_year']}, from "
                            f"each post's effective date: {{v}}.", "body",
                            {"v": ("costs", "part_year_saving")}))
    # redundancy pay
    at_risk = ("total", "at_risk_posts") if s.has_vacant else ("total", "deleted_posts")
    bounded = fig.add(("costs", "posts_bounded"), c.facts["posts_bounded"], "posts")
    bound = fig.add(("costs", "redundancy_pay_bound"), f["redundancy_pay_bound"])
    fig.belongs(bound, [bounded])
    counts: list[Key] = [bounded]
    pay: list[list[Cell]] = []
    if "redundancy_pay_estimate" in f:
        people = fig.add(("costs", "redundancy_people"), f["redundancy_people"])
        est = fig.add(("costs", "redundancy_pay_estimate"), f["redundancy_pay_estimate"])
        fig.belongs(est, [people])
        fig.relate(at_risk, [people, bounded])
        counts.append(people)
        pay.append(["Estimated per person (GOV.UK method)", people, est])
    else:
        fig.relate(at_risk, [bounded])
    caps = c.facts["weekly_caps"]
    cap = (f"the £{caps[0]['weekly_cap']} cap" if len(caps) == 1 else
           "the cap on each dismissal date")
    pay.append([f"UPPER BOUND: {rules.UPPER_BOUND_WEEKS} weeks each at {cap}", bounded, bound])
    one_off_parts: list[Key] = list(counts)
    if "strain_cost_total" in f:
        n = fig.add(("costs", "strain_cost_people"), c.facts["strain_cost_people"], "posts")
        strain = fig.add(("costs", "strain_cost_total"), f["strain_cost_total"])
        fig.belongs(strain, [n])
        one_off_parts.append(n)
        pay.append(["Pension strain cost (as given by HR)", n, strain])
    one_off = fig.add(("costs", "one_off_cost"), f["one_off_cost"])
    fig.belongs(one_off, one_off_parts)
    fig.forced.update(("costs", k) for k in c.hidden)       # fewer than 5 people's pay
    out.append(Text("Redundancy pay and other one-off costs:", "subheading"))
    out.append(b.table(Table(["", "People", "£"], pay, ["One-off costs", "", one_off],
                             widths=[4, 1, 1.4])))
    if "strain_flagged_posts" in f:
        flagged = fig.add(("costs", "strain_flagged_posts"), f["strain_flagged_posts"])
        if "strain_flagged_posts" in c.hidden:
            fig.forced.add(flagged)
        out.append(Text("People at risk aged 55 or over with 2 or more years in the pension "
                        "scheme, whose immediate unreduced pension means a strain cost for "
                        "the employer: {n}.", "body", {"n": flagged}))
        b.show([flagged])
    if "payback_months" in f:
        keys = [one_off, ("total", "net_saving")]
        most = "at most " if c.facts.get("payback_upper_bound") else ""
        out.append(Text(f"Payback: the one-off costs are repaid by the annual saving in "
                        f"{most}{{m}} months" + (", since they are an upper bound."
                                                 if most else "."),
                        "body", {"m": _Payback(fig, f["payback_months"], keys)}))
    notes = [n for n in c.notes if "dismissal" not in n]
    out.append(Text(f"Redundancy pay counts complete years of service back from the dismissal "
                    f"date, at most {rules.MAX_YEARS}, each at 0.5, 1 or 1.5 weeks for the "
                    f"age at its start, with no payment under {rules.MIN_YEARS} years, at the "
                    f"weekly cap in force on each person's dismissal date (Employment Rights "
                    f"Act 1996 s.227): {_caps(c.facts, not b.t.suppresses, today)}.", "note"))
    for note in notes:
        if not note.startswith("Redundancy pay is an upper bound only"):
            out.append(Text(note, "note"))
    return out


def _caps(facts: dict[str, Any], dates: bool, today: date) -> str:
    """Each cap that applied and the day it took effect; with `dates`, the dismissal dates
    it applied on too (never how many people: a count by date could be small).  Rows with
    no date are dismissed today, and say so, not the day's date."""
    caps = facts["weekly_caps"]
    if not caps:
        return (f"£{rules.weekly_cap(today)} (from "
                f"{fmt_date(rules.cap_start(today))}); no one is at risk")
    undated = facts["dismissal_dates_from"]["no_date"] > 0

    def on(c: dict[str, Any]) -> str:
        if not dates:
            return ""
        days = [d for d in c["dismissal_dates"] if not (undated and d == today.isoformat())]
        named = [fmt_date(date.fromisoformat(d)) for d in days]
        text = ("" if not named else f"on {', '.join(named)}" if len(named) <= 3 else
                f"from {named[0]} to {named[-1]}")
        if len(days) < len(c["dismissal_dates"]):
            text += (" and " if text else "") + "with no date (taken as today)"
        return f" for dismissals {text}"

    return "; ".join(f"£{c['weekly_cap']} (the cap from "
                     f"{fmt_date(date.fromisoformat(c['in_force_from']))}){on(c)}"
                     for c in caps)
