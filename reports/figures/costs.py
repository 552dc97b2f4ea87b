"""The cost and the saving of the proposals: the annual saving split by where it comes
from, the saving in the current financial year, redundancy pay, pension strain and
payback.  Pure functions over a validated `Report`; every amount is an exact Decimal.

Redundancy pay is counted the GOV.UK way (`redundancy_rules.statutory_weeks`), per
person, for single-post rows that give age, years of service and weekly pay.  Other
people at risk get an upper bound only: 30 weeks (20 years at 1.5 weeks) at the weekly
cap in force on the dismissal date, labelled as a bound; payback worked out from a bound
is one too ("at most").  Each row's dismissal date is its own Dismissal date (the column
`impact s188` reads), else its Effective date, else --dismissal-date (today by default):
the Age and Years of service columns are as at that day, and the cap is the one in force
on it.  Every cap that applied is listed with its rows, people and dates.  The age, service and pay of
one person never leave this module: only totals do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ..intake.rules import Report
from ..model import measures
from ..model import redundancy_rules as rules
from ..model.errors import InvalidData, PostsNotGiven, UsageProblem
from ..model.formats import fmt_date, hundredths, json_number
from .privacy import MARKER
from .totals import totals_of

PENNY = Decimal("0.01")
PERSON_MIN = 5     # a total of fewer people's age, pay or strain is hidden in every output
PERSON_FIELDS = ("age", "years_of_service", "weekly_pay")


@dataclass(frozen=True)
class CostOptions:
    """The council's choices and the dates the figures depend on."""

    dismissal_date: date                 # when no row gives an effective date
    today: date                          # picks the current financial year
    saving_target: Decimal | None = None
    actual_pay: bool = False             # SI 2006/2914 reg. 5: actual pay, not the cap
    multiplier: Decimal = Decimal(1)     # SI 2006/2914 reg. 6: up to 104 weeks in all
    dismissal_date_given: bool = True    # False: it is today's date, by default


@dataclass
class Costs:
    """Everything `impact costs` reports: figures by measure key, and what they mean."""

    source: dict[str, Any]
    figures: dict[str, Any]              # measure key -> exact value (None: not known)
    facts: dict[str, Any]                # dates, caps, counts the figures rest on
    notes: list[str] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)   # figures about fewer than PERSON_MIN

    def shown(self) -> dict[str, Any]:
        """The figures, each hidden one as the marker [c]."""
        return {k: MARKER if k in self.hidden else v for k, v in self.figures.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "figures": _json(self.shown()),
                "facts": _json(self.facts), "notes": self.notes}


def _json(value: Any) -> Any:
    """Decimals as JSON numbers, in nested dicts and lists too."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return json_number(value) if isinstance(value, Decimal) else value


def financial_year(day: date) -> tuple[date, date]:
    """The April-to-March financial year that holds `day`: (1 April, 31 March)."""
    start = date(day.year if day.month >= 4 else day.year - 1, 4, 1)
    return start, date(start.year + 1, 3, 31)


def year_fraction(effective: date | None, year: tuple[date, date]) -> Decimal:
    """The share of the financial year from `effective` (inclusive) to its end: 1 when
    the change is in force before the year starts (or has no date), 0 after it ends."""
    start, end = year
    if effective is None or effective <= start:
        return Decimal(1)
    if effective > end:
        return Decimal(0)
    days = (end - start).days + 1
    return Decimal((end - effective).days + 1) / Decimal(days)


def redundancy_pay(age: int, years: Decimal, weekly_pay: Decimal, on: date, *,
                   actual_pay: bool = False, multiplier: Decimal = Decimal(1)) -> Decimal:
    """One person's redundancy pay: statutory weeks (complete years, counted back from
    the dismissal date `on`) times the multiplier, at most 104 weeks when multiplied,
    at the week's pay capped on `on` unless `actual_pay`."""
    weeks = rules.statutory_weeks(age, int(years))
    if multiplier != 1:
        weeks = min(weeks * multiplier, rules.DISCRETION_MAX_WEEKS)
    week = weekly_pay if actual_pay else min(weekly_pay, rules.weekly_cap(on))
    return (weeks * week).quantize(PENNY, rounding=ROUND_HALF_UP)


def upper_bound(posts: int, on: date, multiplier: Decimal = Decimal(1)) -> Decimal:
    """The most `posts` people dismissed on `on` can get: 30 weeks each at the cap (times
    the multiplier, at most 104 weeks)."""
    weeks = Decimal(rules.UPPER_BOUND_WEEKS)
    if multiplier != 1:
        weeks = min(weeks * multiplier, rules.DISCRETION_MAX_WEEKS)
    return weeks * rules.weekly_cap(on) * posts


# Where each row's dismissal date comes from, in the order they are tried: the row's
# Dismissal date (the column `impact s188` reads), its Effective date, else the date of
# --dismissal-date (today by default).
DATE_SOURCES = ("dismissal_date_column", "effective_date_column", "no_date")


def dismissal_dates(given: np.ndarray, effective: np.ndarray, default: date
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's dismissal date and where it came from (one of DATE_SOURCES): the age,
    service and weekly cap of the people on the row are all taken on that day."""
    days = np.empty(len(given), dtype=object)
    source = np.empty(len(given), dtype=object)
    for i, (d, e) in enumerate(zip(given.tolist(), effective.tolist())):
        days[i], source[i] = ((d, DATE_SOURCES[0]) if d is not None else
                              (e, DATE_SOURCES[1]) if e is not None else
                              (default, DATE_SOURCES[2]))
    return days, source


def caps_applied(days: np.ndarray, people: np.ndarray) -> list[dict[str, Any]]:
    """Each weekly cap that applied to a row of people at risk, oldest first: the cap, the
    day it took effect, the dismissal dates it applied on, and how many rows and people
    it applied to (dismissed on `days`, `people` on each row)."""
    per_day: dict[date, list[int]] = {}      # rows and people on each dismissal date
    for day, n in zip(days.tolist(), people.tolist()):
        counts = per_day.setdefault(day, [0, 0])
        counts[0] += 1
        counts[1] += int(n)
    found: dict[date, dict[str, Any]] = {}   # the cap's table looked up once a date, not a row
    for day, (rows, n) in per_day.items():
        start = rules.cap_start(day)
        cap = found.setdefault(start, {"weekly_cap": rules.weekly_cap(day),
                                       "in_force_from": start.isoformat(),
                                       "dismissal_dates": set(), "rows": 0, "people": 0})
        cap["dismissal_dates"].add(day)
        cap["rows"] += rows
        cap["people"] += n
    out = []
    for start in sorted(found):
        cap = found[start]
        cap["dismissal_dates"] = [d.isoformat() for d in sorted(cap["dismissal_dates"])]
        out.append(cap)
    return out


def check_options(options: CostOptions) -> None:
    """`UsageProblem` for a multiplier that is not above 0, or a date before the caps."""
    if options.multiplier <= 0:
        raise UsageProblem(f"--multiplier {options.multiplier} must be above 0")
    try:
        rules.weekly_cap(options.dismissal_date)
    except rules.NoCap as e:
        raise UsageProblem(f"--dismissal-date {options.dismissal_date}: {e}") from None


def costs(report: Report, options: CostOptions) -> Costs:
    """The cost and saving figures of a valid report.  Raises `InvalidData` if invalid."""
    if not report.valid:
        raise InvalidData(report, f"{report.workbook.name} has "
                                  f"{len(report.findings.errors)} error(s); fix them first")
    if not report.has_posts:
        raise PostsNotGiven(f"{report.workbook.name} has no Posts column, so the people in "
                            f"the posts on each row are not known; add a Posts column")
    check_options(options)
    t = totals_of(report)       # the whole file's figures: no grouping is needed here
    posts = report.posts
    private = report.private
    n = len(posts)
    extra = report.extra
    notes: list[str] = []
    figures: dict[str, Any] = {}
    facts: dict[str, Any] = {}

    status = posts["status"].to_numpy()
    vacant = posts["vacant"].to_numpy(dtype=object).astype(bool)
    count = posts["posts"].to_numpy(dtype=np.int64)
    at_risk = (status == "deleted") & ~vacant
    if not report.has_vacant:
        notes.append("The file does not say which posts are vacant, so every deleted post "
                     "is counted as occupied: the redundancy figures are the most there "
                     "could be.")
    effective = (private["effective_date"].to_numpy(dtype=object) if private is not None
                 else np.full(n, None, dtype=object))
    given = posts["dismissal_date"].to_numpy(dtype=object)
    dismissal, dated_from = dismissal_dates(given, effective, options.dismissal_date)
    early = [d for d in dismissal[at_risk] if d < rules.WEEKLY_PAY_CAPS[0][0]]
    if early:
        raise UsageProblem(f"{len(early)} at-risk row(s) are dismissed before "
                           f"{fmt_date(rules.WEEKLY_PAY_CAPS[0][0])}, the first weekly pay "
                           f"cap this version knows; correct the Dismissal date (or Effective "
                           f"date) column")
    facts["dismissal_date"] = options.dismissal_date.isoformat()
    facts["dismissal_date_from"] = ("--dismissal-date" if options.dismissal_date_given
                                    else "today's date; --dismissal-date sets it")
    facts["dismissal_date_from"] += ("; a row's own Dismissal date (or else Effective date) "
                                     "where it gives one")
    facts["dismissal_dates_from"] = {k: int(count[at_risk & (dated_from == k)].sum())
                                     for k in DATE_SOURCES}
    facts["weekly_caps"] = caps_applied(dismissal[at_risk], count[at_risk])
    facts["multiplier"] = options.multiplier
    facts["actual_pay"] = options.actual_pay

    # ---- the saving
    if report.has_cost:
        cost = posts["cost"].to_numpy(dtype=np.int64)
        saving = t["net_saving"]
        figures["annual_saving"] = saving
        facts["saving_split"] = {k: t[k] for k in ("at_risk_cost", "vacant_deleted_cost",
                                                   "relocated_cost", "created_cost",
                                                   "deleted_cost") if k in t}
        if options.saving_target is not None:
            figures["saving_target_gap"] = saving - options.saving_target
            facts["saving_target"] = options.saving_target
        year = financial_year(options.today)
        facts["financial_year"] = f"{year[0]:%Y}-{year[1]:%y}"
        facts["financial_year_dates"] = [year[0].isoformat(), year[1].isoformat()]
        if "effective_date" in extra:
            part = Decimal(0)
            undated = 0
            for i in np.flatnonzero((status == "deleted") | (status == "created")).tolist():
                frac = year_fraction(effective[i], year)
                undated += effective[i] is None
                sign = 1 if status[i] == "deleted" else -1
                part += sign * hundredths(int(cost[i])) * frac
            figures["part_year_saving"] = part.quantize(PENNY, rounding=ROUND_HALF_UP)
            if undated:
                notes.append(f"{undated} deleted or new row(s) give no effective date; their "
                             f"saving counts from the start of the financial year.")
        else:
            notes.append("No Effective date column: the saving in the current financial year "
                         "cannot be worked out, only the full-year saving.")
    else:
        notes.append("The file has no Annual cost column, so the saving, the target and "
                     "payback cannot be worked out.")

    # ---- redundancy pay
    multiplier = options.multiplier
    has_people = all(f in extra for f in PERSON_FIELDS)
    single = count == 1
    estimated = np.zeros(n, dtype=bool)
    estimate = Decimal(0)
    no_payment = 0
    if has_people:
        assert private is not None
        age = private["age"].to_numpy(dtype=object)
        years = private["years_of_service"].to_numpy(dtype=object)
        pay = private["weekly_pay"].to_numpy(dtype=object)
        for i in np.flatnonzero(at_risk & single).tolist():
            if age[i] is None or years[i] is None or pay[i] is None:
                continue
            estimated[i] = True
            amount = redundancy_pay(age[i], years[i], pay[i], dismissal[i],
                                    actual_pay=options.actual_pay, multiplier=multiplier)
            estimate += amount
            no_payment += amount == 0
        figures["redundancy_people"] = int(estimated.sum())
        figures["redundancy_pay_estimate"] = estimate
        facts["people_under_two_years"] = no_payment
    rest = at_risk & ~estimated
    bound = sum((upper_bound(int(count[i]), dismissal[i], multiplier)
                 for i in np.flatnonzero(rest).tolist()), Decimal(0))
    rest_posts = int(count[rest].sum())
    figures["redundancy_pay_bound"] = bound
    facts["posts_bounded"] = rest_posts
    if not has_people:
        notes.append(f"Redundancy pay is an upper bound only: {rest_posts:,} people at risk "
                     f"x {rules.UPPER_BOUND_WEEKS} weeks x the weekly cap in force on each "
                     f"one's dismissal date. Age, Years of service and Weekly pay columns give "
                     f"an estimate per person.")
    elif rest_posts:
        notes.append(f"{rest_posts:,} people at risk (on grouped rows, or without age, "
                     f"service or pay) are counted at the upper bound of "
                     f"{rules.UPPER_BOUND_WEEKS} weeks at the cap.")
    if options.actual_pay and rest_posts:
        notes.append("--actual-pay applies to the estimates only: the upper bound uses the "
                     "cap, since it needs no one's pay.")

    # ---- pension strain
    flagged = unknown = 0
    if "age" in extra and "pension_member" in extra:
        assert private is not None
        age = private["age"].to_numpy(dtype=object)
        member = private["pension_member"].to_numpy(dtype=object)
        service = private["years_of_service"].to_numpy(dtype=object)
        for i in np.flatnonzero(at_risk & single).tolist():
            if age[i] is None or age[i] < rules.STRAIN_MIN_AGE or member[i] in (None, False):
                continue
            years_in = service[i] if member[i] is True else member[i]
            if years_in is None:
                unknown += 1
            elif years_in >= rules.STRAIN_MIN_MEMBERSHIP:
                flagged += 1
        figures["strain_flagged_posts"] = flagged
        if unknown:
            notes.append(f"{unknown} pension scheme member(s) aged 55 or over have no "
                         f"length of membership or service, so cannot be flagged.")
    strain = Decimal(0)
    if "strain_cost" in extra:
        assert private is not None
        given = private["strain_cost"].to_numpy(dtype=object)
        having = [i for i in np.flatnonzero(at_risk).tolist() if given[i] is not None]
        strain = sum((given[i] for i in having), Decimal(0))
        figures["strain_cost_total"] = strain
        facts["strain_cost_people"] = len(having)
    elif flagged:
        notes.append("No Strain cost column: the pension strain cost of the people flagged "
                     "is not counted in the one-off costs (no actuarial factor is assumed).")

    # ---- one-off costs and payback
    one_off = estimate + bound + strain
    figures["one_off_cost"] = one_off
    # the one-off cost is at most this when any of it is a bound, or when every deleted
    # post was counted as occupied (no Vacant column): so is payback
    facts["one_off_cost_upper_bound"] = bool(bound) or (not report.has_vacant
                                                         and bool(estimate))
    saving = figures.get("annual_saving")
    if saving is not None:
        facts["payback_upper_bound"] = facts["one_off_cost_upper_bound"]
        figures["payback_months"] = (None if saving <= 0 else
                                     (one_off / saving * 12).quantize(Decimal("0.1"),
                                                                      rounding=ROUND_HALF_UP))
    ordered = {m.key: figures[m.key] for m in measures.all_measures() if m.key in figures}
    hidden = person_totals_hidden(figures, facts)
    if hidden:
        notes.append(f"Totals of fewer than {PERSON_MIN} people's age, pay or pension strain "
                     f"are hidden as {MARKER} (they would show one person's), with the "
                     f"figures they would reveal.")
    return Costs(report.source, ordered, facts, notes, hidden)


def person_totals_hidden(figures: dict[str, Any], facts: dict[str, Any]) -> set[str]:
    """The figures that would show fewer than PERSON_MIN people's age, pay or strain
    cost (and so could be one person's): hidden in every output, whatever the audience,
    with the one-off total and payback that would give them away."""
    def few(n: int | None) -> bool:
        return n is not None and 0 < n < PERSON_MIN

    out = set()
    if few(figures.get("redundancy_people")):
        out.add("redundancy_pay_estimate")
    if few(facts.get("strain_cost_people")):
        out.add("strain_cost_total")
    if few(figures.get("strain_flagged_posts")):
        out.add("strain_flagged_posts")
    if out & {"redundancy_pay_estimate", "strain_cost_total"}:
        out |= {"one_off_cost", "payback_months"} & set(figures)
    return out

