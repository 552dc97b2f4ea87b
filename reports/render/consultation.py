"""Text and CSV for the consultation commands: the s.188 pack, pools and reconcile."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from ..figures.pools import SERVES_NAMED, Pools
from ..figures.reconcile import Reconciliation
from ..figures.s188 import S188Pack, Unit, award_words
from ..model import measures
from ..model.formats import fmt_date, fmt_number
from .data import csv_value
from .text import _printed, _table


def _day(d: Any) -> str:
    return "not known" if d is None else fmt_date(d)


def _bound(n: int, upper: bool) -> str:
    return f"{n:,}" + (" (upper bound)" if upper else "")


def _deadlines(u: Unit) -> str:
    if u.consultation_days is None:
        return (f"{_bound(u.proposed_dismissals, u.upper_bound)} proposed dismissal(s) in any "
                f"90 days: under 20, so s.188 sets no minimum period")
    text = (f"{_bound(u.proposed_dismissals, u.upper_bound)} proposed dismissals in any 90 "
            f"days: {u.band}, so at least {u.consultation_days} days' consultation and form "
            f"HR1")
    if u.first_dismissal is None:
        return text + "; no dismissal date, so no deadline"
    return (text + f"; first dismissal {_day(u.first_dismissal)}: consultation must start "
            f"and HR1 reach the Secretary of State by {_day(u.consultation_starts_by)}")


@_printed
def s188_text(p: S188Pack) -> str:
    out = [f"s.188 pack: establishments by {p.by}; the law as from "
           f"{fmt_date(p.rules.since)} ({p.rules.source}).",
           "",
           f"Whole employer, as one establishment: {_deadlines(p.employer)}.",
           (f"Protective award for failing to consult: "
            f"{award_words(p.employer.protective_award, p.employer.protective_award_max_days)}"
            + (" (TULRCA s.189(4), by each dismissal's date: 180 days from 6 April 2026)."
               if p.employer.protective_award_max_days is None else
               f" (first dismissal {fmt_date(p.rules_date)})." if p.dated else
               f" (no dismissal date: the law in force on {fmt_date(p.rules_date)}).")),
           ""]
    views = [[v.by, v.units, v.reaching_threshold, v.largest, v.largest_dismissals]
             for v in p.views]
    out += ["Drawing the establishment another way",
            _table(views, headers=["By", "Establishments", "Reaching 20", "Largest",
                                   "Its dismissals"]), ""]
    if p.by != "employer":
        rows = [[u.name, _bound(u.proposed_dismissals, u.upper_bound), u.band,
                 u.consultation_days or "–",
                 "–" if u.consultation_days is None else _day(u.consultation_starts_by),
                 "–" if u.consultation_days is None else _day(u.hr1_due_by)]
                for u in p.establishments]
        out += [f"Establishments (by {p.by})",
                _table(rows, headers=["Establishment", "Dismissals (90 days)", "Band",
                                      "Min. days", "Consult by", "HR1 by"]), ""]
        spanning = [u for u in p.establishments if u.protective_award_max_days is None]
        if spanning:
            out += ["Establishments whose dismissals span a change in the protective award"]
            out += [f"- {u.name}: {award_words(u.protective_award, None)}" for u in spanning]
            out += [""]
    desc = [[*(d[c] for c in p.description), d["proposed"], d["employed"]]
            for d in p.employer.descriptions]
    out += ["s.188(4) descriptions (whole employer): proposed for dismissal, and employed",
            _table(desc, headers=[c.replace("_", " ").title() for c in p.description]
                   + ["Proposed", "Employed"]), ""]
    out += ["Notes"] + [f"- {n}" for n in p.notes] + [""]
    out += ["What the schedule cannot say: ask the employer"] + [f"- {q}" for q in p.questions]
    return "\n".join(out) + "\n"


def s188_csv(p: S188Pack) -> str:
    """One row per establishment (the whole employer first)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["level", "name", "proposed_dismissals", "total_dismissals", "upper_bound",
                "band", "consultation_days", "first_dismissal", "consultation_starts_by",
                "hr1_due_by", "protective_award_max_days", "protective_award"])
    units = [("employer", p.employer)] + ([("establishment", u) for u in p.establishments]
                                          if p.by != "employer" else [])
    for level, u in units:
        d = u.to_dict()
        w.writerow([csv_value(v) for v in (level, u.name, u.proposed_dismissals,
                                        u.total_dismissals, str(u.upper_bound).lower(), u.band,
                                        u.consultation_days, d["first_dismissal"],
                                        d["consultation_starts_by"], d["hr1_due_by"],
                                        u.protective_award_max_days,
                                        "; ".join(f"{a['max_days']} days: {a['dismissals']}"
                                                  for a in u.protective_award))])
    return buf.getvalue()


@_printed
def pools_text(p: Pools) -> str:
    t = p.totals()
    bound = " (upper bound: no Vacant column)" if p.upper_bound else ""
    out = [f"{t['people_in_affected_pools']:,} people in affected selection pools{bound}, for "
           f"{t['occupied_posts_deleted']:,} occupied posts deleted; "
           f"{t['redeployment_posts_available']:,} post(s) available for redeployment "
           f"(new posts and retained vacancies).",
           f"Pools by {', '.join(p.pool_by + ('grade',))}: {t['affected_pools']} of {t['pools']} "
           f"affected; {t['pools_losing_some']} lose some posts (everyone in them is at risk "
           f"until selection), {t['pools_losing_all']} lose all.", ""]
    rows = [[*(x.key[c] for c in p.pool_by), x.grade, x.occupied, x.deleted,
             x.kept, "some" if x.kept else "all"]
            for x in p.affected_pools]
    head = [c.replace("_", " ").title() for c in p.pool_by]
    out += ["At-risk pools",
            _table(rows, headers=head + ["Grade", "Occupied", "Deleted", "Kept", "Loses"]), ""]
    # each post once, with the pools it could serve (never one post against every pool)
    avail = [[a["team"], a["title"], a["grade"], a["kind"], a["posts"],
              "; ".join(f"{len(ps):,} at {g} ({m})" for g, m, ps in p.serves(a)) or "none"]
             for a in p.available]
    out += ["Posts available for redeployment, each with the at-risk pools it could serve",
            _table(avail, headers=["Team", "Job title", "Grade", "Kind", "Posts",
                                   "Could serve (pools)"])
            if avail else "None: the proposals create no posts and keep no vacancy."]
    for a in p.available:
        for g, m, ps in p.serves(a):
            names = "; ".join(" / ".join(x.key[c] for c in p.pool_by) or x.grade
                              for x in ps[:SERVES_NAMED])
            more = len(ps) - SERVES_NAMED
            out.append(f"- {a['team']} / {a['title']} / {a['grade']} ({m} for the "
                       f"{g} pools): {names}" + (f"; and {more:,} more" if more > 0 else ""))
    return "\n".join(out) + "\n"


def pools_csv(p: Pools) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = list(p.pool_by)
    w.writerow(cols + ["grade", "occupied", "deleted", "kept", "at_risk", "candidate_posts"])
    for x in p.pools:
        w.writerow([csv_value(v) for v in (*(x.key[c] for c in cols), x.grade, x.occupied,
                                        x.deleted, x.kept, x.occupied if x.affected else 0,
                                        sum(c["posts"] for c in x.candidates))])
    return buf.getvalue()


def _figure(key: str, value: Any) -> str:
    """A claimed or computed figure as people write it: money as £, others plain."""
    if measures.is_money(key):
        return measures.text(key, Decimal(value))
    return fmt_number(value)


@_printed
def reconcile_text(r: Reconciliation) -> str:
    rows = []
    for c in r.checked:
        key = c.claim.measure
        rows.append([measures.get(key).label, _figure(key, c.claim.claimed),
                     "–" if c.computed is None else _figure(key, c.computed),
                     "–" if c.difference is None else _figure(key, c.difference),
                     "yes" if c.matches else "NO"])
    out = [_table(rows, headers=["Claim", "Claimed", "Schedule", "Difference", "Matches"],
                  disable_numparse=True, colalign=("left", "right", "right", "right", "left")),
           ""]
    for c in r.checked:
        if c.matches:
            continue
        where = f" (published: {c.claim.published})" if c.claim.published else ""
        out.append(f"{c.claim.measure} = {_figure(c.claim.measure, c.claim.claimed)}{where}:")
        out += [f"  - {e}" for e in c.explanations]
    if any(c.claim.measure == "closing_sites" for c in r.checked):
        def name(s: dict[str, Any]) -> str:
            return s["location"] + (f" ({s['site_type']})" if s["site_type"] else "")
        out += ["", f"Sites closing ({len(r.sites.closing)}): "
                + ("; ".join(name(s) for s in r.sites.closing) or "none"),
                f"Sites keeping posts ({len(r.sites.continuing)}): "
                + ("; ".join(name(s) for s in r.sites.continuing) or "none")]
    matched = sum(c.matches for c in r.checked)
    out += ["", f"{matched} of {len(r.checked)} claim(s) match the schedule."]
    return "\n".join(out) + "\n"
