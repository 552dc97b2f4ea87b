"""`impact costs` and `impact equality` as text for a terminal and as CSV.

Only totals reach these outputs: the figures modules never hand over a person's
age, pay or characteristics, and equality counts arrive already suppressed.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from ..figures.costs import Costs
from ..figures.equality import COLUMNS as _COLUMNS
from ..figures.equality import Equality, cell_text, equality_header
from ..model import measures
from ..model.formats import fmt_date, fmt_money
from .data import csv_text, csv_value
from .text import _printed, _table

_SPLIT = (("at_risk_cost", "occupied posts deleted"),
          ("vacant_deleted_cost", "vacant posts deleted (budget, not people)"),
          ("created_cost", "less new posts (a cost)"))


def _money(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "not known" if value is None else fmt_money(value)


@_printed
def costs_text(c: Costs) -> str:
    f, facts = c.shown(), c.facts
    lines = [f"Cost and saving: {c.source['file']}", ""]
    rows: list[list[str]] = []
    if "annual_saving" in f:
        split = facts["saving_split"]
        rows.append(["Annual saving (deleted posts less new posts)", _money(f["annual_saving"])])
        for key, label in _SPLIT:
            if key in split:
                rows.append([f"- {label}", _money(split[key])])
        if "relocated_cost" in split:
            rows.append(["Relocated posts: cost moved to other services, not saved",
                         _money(split["relocated_cost"])])
        if "saving_target_gap" in f:
            gap = f["saving_target_gap"]
            rows.append([f"Saving target {_money(facts['saving_target'])}: "
                         + ("over it by" if gap >= 0 else "short of it by"), _money(abs(gap))])
        start, end = facts["financial_year_dates"]
        rows.append([f"Saving in {facts['financial_year']} (to {end})",
                     _money(f.get("part_year_saving"))])
    caps = facts["weekly_caps"]
    if "redundancy_pay_estimate" in f:
        rows.append([f"Redundancy pay, estimated for {f['redundancy_people']:,} people",
                     _money(f["redundancy_pay_estimate"])])
    if f["redundancy_pay_bound"] or "redundancy_pay_estimate" not in f:
        rows.append([f"Redundancy pay, UPPER BOUND for {facts['posts_bounded']:,} people "
                     f"(30 weeks x {_cap_words(caps)})", _money(f["redundancy_pay_bound"])])
    if "strain_flagged_posts" in f:
        rows.append(["At risk, aged 55+ with 2+ years in the pension scheme (strain)",
                     measures.text("strain_flagged_posts", f["strain_flagged_posts"])])
    if "strain_cost_total" in f:
        rows.append(["Pension strain cost (as given by HR)", _money(f["strain_cost_total"])])
    rows.append(["One-off costs", _money(f["one_off_cost"])])
    if "payback_months" in f:
        months = f["payback_months"]
        rows.append(["Payback (one-off costs / annual saving x 12)",
                     "never" if months is None else
                     months if isinstance(months, str) else
                     f"at most {months} months" if facts.get("payback_upper_bound") else
                     f"{months} months"])
    lines.append(_table(rows, tablefmt="plain", colalign=("left", "right")))
    lines.append("")
    terms = [_dates_words(facts), _caps_words(caps)]
    if facts["multiplier"] != 1:
        terms.append(f"statutory weeks x {facts['multiplier']} (at most 104 weeks, "
                     f"SI 2006/2914)")
    if facts["actual_pay"]:
        terms.append("actual weekly pay, not the cap (SI 2006/2914)")
    lines.append("Redundancy pay: " + "; ".join(terms) + ".")
    for note in c.notes:
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def _cap_words(caps: list[dict[str, Any]]) -> str:
    """The cap in a short label: "£751", or "the cap on each dismissal date"."""
    return f"£{caps[0]['weekly_cap']}" if len(caps) == 1 else "the cap on each dismissal date"


def _days(days: list[str]) -> str:
    found = [fmt_date(date.fromisoformat(d)) for d in days]
    if len(found) <= 3:
        return (" and ".join(found) if len(found) < 3 else
                f"{found[0]}, {found[1]} and {found[2]}")
    return f"{len(found)} dates from {found[0]} to {found[-1]}"


def _caps_words(caps: list[dict[str, Any]]) -> str:
    """Each weekly cap that applied: "weekly cap £719 for 5 people on 5 rows (dismissed
    5 April 2026; the cap from 6 April 2025)", one after another."""
    if not caps:
        return "no one at risk, so no weekly cap applied"
    parts = [f"£{c['weekly_cap']} for {c['people']:,} people on {c['rows']:,} "
             f"row{'' if c['rows'] == 1 else 's'} "
             f"(dismissed {_days(c['dismissal_dates'])}; the cap from "
             f"{fmt_date(date.fromisoformat(c['in_force_from']))})" for c in caps]
    return ("weekly cap " if len(caps) == 1 else "weekly caps, each on its dismissal date: ") \
        + ", ".join(parts)


def _dates_words(facts: dict[str, Any]) -> str:
    """Where the dismissal dates came from, in people."""
    on = fmt_date(date.fromisoformat(facts["dismissal_date"]))
    n = facts["dismissal_dates_from"]
    how = ("--dismissal-date" if facts["dismissal_date_from"].startswith("--")
           else "today's date; --dismissal-date sets it")
    parts = [f"{n['dismissal_date_column']:,} people on their row's Dismissal date"
             if n["dismissal_date_column"] else "",
             f"{n['effective_date_column']:,} people on their row's Effective date"
             if n["effective_date_column"] else "",
             f"{n['no_date']:,} people whose row gives no date, on {on} ({how})"
             if n["no_date"] else ""]
    parts = [p for p in parts if p]
    return ("each person's dismissal date: " + ", ".join(parts) if parts else
            f"dismissal date {on} ({how})")


def costs_csv(c: Costs) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["figure", "label", "value"])
    for key, value in c.shown().items():
        w.writerow([key, measures.get(key).label, _plain(value)])
    for key, value in c.facts.items():
        if isinstance(value, dict):
            for k, v in value.items():
                w.writerow([k, measures.get(k).label if measures.known(k) else k, _plain(v)])
        elif not isinstance(value, list):
            w.writerow([key, key.replace("_", " "), _plain(value)])
    for cap in c.facts["weekly_caps"]:      # each cap that applied, with its people
        since = cap["in_force_from"]
        w.writerow(["weekly_cap", f"weekly cap in force from {since}", _plain(cap["weekly_cap"])])
        w.writerow(["weekly_cap_people", f"people at risk at the cap from {since}, dismissed "
                    f"on {', '.join(cap['dismissal_dates'])}", cap["people"]])
    return buf.getvalue()


def _plain(value: Any) -> Any:
    return csv_value(value, ("yes", "no"))


@_printed
def equality_text(e: Equality) -> str:
    lines = [f"Equality impact: {e.source['file']}", *e.method(), ""]
    for c in e.characteristics:
        lines.append(f"{c.label}: {c.rule}")
        rows = [[r["group"]] + [cell_text(k, r.get(k)) for k in _COLUMNS] for r in c.rows]
        t = c.total
        rows.append(["Total"] + [cell_text(k, t[k]) if k in t else "" for k in _COLUMNS])
        lines.append(_table(rows, headers=equality_header(), disable_numparse=True,
                            colalign=("left",) + ("right",) * 7))
        for note in c.notes:
            lines.append(f"- {note}")
        lines.append("")
    for note in e.notes:
        lines.append(f"- {note}")
    lines.append("Retention: occupied posts kept / occupied posts today. Under 0.8: the "
                 "four-fifths test. Fisher p: the chance of a split at least this uneven if "
                 "deletions fell at random (under 0.05: unlikely to be chance).")
    return "\n".join(lines) + "\n"


def equality_csv(e: Equality) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["characteristic", "group", *_COLUMNS])
    for c in e.characteristics:
        for r in c.rows + [c.total]:
            w.writerow([c.key, csv_text(r["group"])] + [_plain(r.get(k)) for k in _COLUMNS])
    return buf.getvalue()
