"""The s.188 pack: proposed dismissals per establishment, the consultation period and the
deadlines they set, and the s.188(4) descriptions table, from the validated posts.

A proposed dismissal is a person in an occupied deleted post: the row's People
(the `headcount` field) where given, else its posts.  Vacant deleted posts and
relocated posts are not dismissals.  Without a Vacant column every deleted post
counts, and the figures are an upper bound.  The law is `model.s188_rules`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..intake.rules import Report
from ..model.errors import PostsNotGiven, UsageProblem
from ..model.formats import fmt_date, natural
from ..model.s188_rules import S188Rules, rules_for

if TYPE_CHECKING:
    import pandas as pd

EMPLOYER = "employer"
WHOLE_EMPLOYER = "Whole employer"
NOT_GIVEN = "(not given)"
BASELINE = ("deleted", "retained", "relocated")
# The columns an establishment or a description can be drawn from.
TEXT_FIELDS = ("establishment", "location", "team", "title", "grade", "site_type")

QUESTIONS = (
    "What are the reasons for the proposals (s.188(4)(a))?",
    "What method will be used to select employees for dismissal (s.188(4)(d))?",
    "How will the dismissals be carried out, and over what period, with what dates "
    "(s.188(4)(e))?",
    "How will any non-statutory redundancy payments be calculated (s.188(4)(f))?",
    "How many agency workers are used, where, and in what work (s.188(4)(g))?",
    "What has been done to avoid or reduce the dismissals, including redeployment into "
    "vacant and new posts (s.188(2))?",
)


@dataclass
class Unit:
    """One establishment (or the whole employer): its proposed dismissals and deadlines."""

    name: str
    proposed_dismissals: int            # the most in any 90-day window
    total_dismissals: int               # in the whole schedule
    upper_bound: bool
    band: str
    consultation_days: int | None
    first_dismissal: dt.date | None     # of the busiest window
    window_to: dt.date | None
    consultation_starts_by: dt.date | None
    hr1_due_by: dt.date | None
    protective_award_max_days: int | None   # None: the dismissals span a change in it
    descriptions: list[dict[str, Any]] = field(default_factory=list)
    # each maximum that applies, with the dismissals it applies to (`award_by_date`)
    protective_award: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        iso = _iso
        return {"name": self.name, "proposed_dismissals": self.proposed_dismissals,
                "total_dismissals": self.total_dismissals,
                "upper_bound": self.upper_bound, "band": self.band,
                "consultation_days": self.consultation_days,
                "first_dismissal": iso(self.first_dismissal),
                "window": (None if self.first_dismissal is None else
                           {"from": iso(self.first_dismissal), "to": iso(self.window_to)}),
                "consultation_starts_by": iso(self.consultation_starts_by),
                "hr1_due_by": iso(self.hr1_due_by),
                "protective_award_max_days": self.protective_award_max_days,
                "protective_award": self.protective_award,
                "descriptions": self.descriptions}


@dataclass
class View:
    """Establishments drawn one way (by location, by team...): the largest, and how many
    reach the threshold."""

    by: str
    units: int
    reaching_threshold: int
    largest: str
    largest_dismissals: int

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "establishments": self.units,
                "reaching_threshold": self.reaching_threshold,
                "largest": {"name": self.largest, "proposed_dismissals":
                            self.largest_dismissals}}


@dataclass
class S188Pack:
    rules: S188Rules
    rules_date: dt.date             # the day the rules were taken for
    dated: bool                     # whether any dismissal has a date
    by: str
    description: tuple[str, ...]
    employer: Unit
    establishments: list[Unit]
    views: list[View]
    notes: list[str]
    upper_bound: bool
    relocated_posts: int
    vacant_deleted_posts: int
    questions: tuple[str, ...] = QUESTIONS

    def to_dict(self) -> dict[str, Any]:
        return {"rules_as_of": self.rules.since.isoformat(),
                "rules_for": self.rules_date.isoformat(),
                "rules_source": self.rules.source,
                "protective_award_max_days": self.employer.protective_award_max_days,
                "protective_award": self.employer.protective_award,
                "establishment_by": self.by,
                "description_by": list(self.description),
                "upper_bound": self.upper_bound,
                "employer": self.employer.to_dict(),
                "establishments": [u.to_dict() for u in self.establishments],
                "views": [v.to_dict() for v in self.views],
                "not_dismissals": {"relocated_posts": self.relocated_posts,
                                   "vacant_deleted_posts": self.vacant_deleted_posts},
                "notes": self.notes,
                "questions": list(self.questions)}


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def has_values(posts: pd.DataFrame, col: str) -> bool:
    return col in posts and bool(posts[col].astype(str).ne("").any())


def check_columns(posts: pd.DataFrame, cols: tuple[str, ...], option: str) -> None:
    for c in cols:
        if c not in TEXT_FIELDS:
            raise UsageProblem(f"{option} {c!r} is not a column it can use; choose from "
                               f"{', '.join(TEXT_FIELDS)}")


def default_establishment(posts: pd.DataFrame) -> str:
    """The establishment column if the file fills it, else the whole employer."""
    return "establishment" if has_values(posts, "establishment") else EMPLOYER


@dataclass(frozen=True)
class _Rows:
    """The post rows as arrays: dismissals (people), people employed, dates, and each
    text column's names (`label`)."""

    dismissals: np.ndarray
    employed: np.ndarray
    dates: np.ndarray          # object: date or None
    posts: pd.DataFrame
    _labels: dict[str, np.ndarray] = field(default_factory=dict)

    def label(self, col: str) -> np.ndarray:
        """Column `col`'s names as text, a blank one "(not given)": made the first time
        a column is asked for (a pack uses two or three of the six), kept for this pack."""
        if col not in self._labels:
            self._labels[col] = or_not_given(self.posts[col].astype(str)).to_numpy(
                dtype=object)
        return self._labels[col]


def dismissal_rows(report: Report, first_dismissal: dt.date | None = None) -> _Rows:
    posts = report.posts
    status = posts["status"].to_numpy()
    vacant = posts["vacant"].to_numpy(dtype=object)
    occupied = np.array([v is not True for v in vacant], dtype=bool)
    people = posts["headcount"].to_numpy(dtype=np.int64)
    dismissals = np.where((status == "deleted") & occupied, people, 0)
    employed = np.where(np.isin(status, BASELINE) & occupied, people, 0)
    dates = posts["dismissal_date"].to_numpy(dtype=object).copy()
    if first_dismissal is not None:
        dates[[d is None for d in dates]] = first_dismissal
    return _Rows(dismissals, employed, dates, posts)


def or_not_given(names: pd.Series) -> pd.Series:
    """Text names, a blank one as "(not given)" (the pools' names too)."""
    return names.where(names.ne(""), NOT_GIVEN)


def busiest_window(dates: list[dt.date | None], counts: list[int], days: int
                   ) -> tuple[int, dt.date | None, dt.date | None]:
    """The most dismissals in any `days`-day period (both ends included), its first and
    last day.  Undated dismissals could fall in any period, so every window counts them;
    with no dates at all, the whole schedule is one window."""
    undated = sum(n for d, n in zip(dates, counts) if d is None)
    per_day: dict[dt.date, int] = {}
    for d, n in zip(dates, counts):
        if d is not None and n:
            per_day[d] = per_day.get(d, 0) + n
    if not per_day:
        return undated, None, None
    days_sorted = sorted(per_day)
    best, start, inside, j = -1, days_sorted[0], 0, 0
    for d in days_sorted:          # a window from each dismissal day on
        end = d + dt.timedelta(days=days - 1)
        while j < len(days_sorted) and days_sorted[j] <= end:
            inside += per_day[days_sorted[j]]
            j += 1
        if inside > best:
            best, start = inside, d
        inside -= per_day[d]
    return best + undated, start, start + dt.timedelta(days=days - 1)


def award_by_date(dates: list[dt.date | None], counts: list[int], undated_on: dt.date
                  ) -> list[dict[str, Any]]:
    """The protective award's maximum for each dismissal, by the law in force on its own
    date (TULRCA s.189(4): 90 days' pay, 180 for dismissals from 6 April 2026): one entry
    per maximum, lowest first, with how many dismissals it applies to, the first and last
    of their dates, and how many of them have no date (taken as on `undated_on`)."""
    found: dict[int, dict[str, Any]] = {}
    for d, n in zip(dates, counts):
        if not n:
            continue
        day = d or undated_on
        most = rules_for(day).award_max_days
        entry = found.setdefault(most, {"max_days": most, "dismissals": 0, "first": day,
                                        "last": day, "undated": 0})
        entry["dismissals"] += n
        entry["undated"] += n if d is None else 0
        if d is not None:
            entry["first"], entry["last"] = min(entry["first"], d), max(entry["last"], d)
    out = []
    for most in sorted(found):
        entry = found[most]
        entry["first"], entry["last"] = entry["first"].isoformat(), entry["last"].isoformat()
        out.append(entry)
    return out


def award_words(award: list[dict[str, Any]], most: int | None) -> str:
    """The protective award's maximum: "up to 180 days' pay per employee", or, when the
    dismissals span a change in the law, each maximum with its dismissals and dates."""
    if most is not None:
        return f"up to {most} days' pay per employee"
    parts = []
    for a in award:
        first, last = fmt_date(dt.date.fromisoformat(a["first"])), \
            fmt_date(dt.date.fromisoformat(a["last"]))
        n = a["dismissals"]
        when = first if first == last else f"{first} to {last}"
        if a["undated"]:
            when += f"; {a['undated']:,} of them with no date"
        parts.append(f"up to {a['max_days']} days' pay for {n:,} dismissal"
                     f"{'' if n == 1 else 's'} ({when})")
    return "; ".join(parts)


def _unit(name: str, idx: np.ndarray, rows: _Rows, upper: bool, today: dt.date,
          description: tuple[str, ...]) -> Unit:
    # a row with no dismissals is in no window, no award and no first date
    hit = idx[rows.dismissals[idx] > 0]
    # the dismissals on each date (None: undated) once, so that the window, the award and
    # the first date each go through the dates, not the rows (90,000 on the 100k-row file)
    per_day: dict[dt.date | None, int] = {}
    for d, n in zip(rows.dates[hit].tolist(), rows.dismissals[hit].tolist()):
        per_day[d] = per_day.get(d, 0) + n
    dates, counts = list(per_day), list(per_day.values())
    first_any = min((d for d, n in zip(dates, counts) if d is not None and n), default=None)
    law = rules_for(first_any or today)
    award = award_by_date(dates, counts, first_any or today)
    n, start, end = busiest_window(dates, counts, law.window_days)
    law = rules_for(start or today)
    days = law.consultation_days(n)
    hr1_days = law.hr1_days(n)

    def back(period: int | None) -> dt.date | None:
        return None if period is None or start is None else start - dt.timedelta(days=period)

    most = (award[0]["max_days"] if len(award) == 1 else
            None if award else law.award_max_days)
    return Unit(name, n, sum(counts), upper, law.band(n), days, start, end, back(days),
                back(hr1_days), most, _descriptions(idx, rows, description), award)


def _descriptions(idx: np.ndarray, rows: _Rows, cols: tuple[str, ...]) -> list[dict[str, Any]]:
    import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
    if not cols:
        return []
    frame = pd.DataFrame({**{c: rows.label(c)[idx] for c in cols},
                          "proposed": rows.dismissals[idx], "employed": rows.employed[idx]})
    sums = frame.groupby(list(cols), sort=False)[["proposed", "employed"]].sum()
    out = []
    for key, (proposed, employed) in zip(sums.index, sums.to_numpy(dtype=np.int64)):
        if proposed <= 0:
            continue
        names = key if isinstance(key, tuple) else (key,)
        out.append({**dict(zip(cols, (str(k) for k in names))), "proposed": int(proposed),
                    "employed": int(employed)})
    out.sort(key=lambda d: tuple(natural(d[c]) for c in cols))
    return out


def _groups(rows: _Rows, by: str) -> list[tuple[str, np.ndarray]]:
    if by == EMPLOYER:
        return [(WHOLE_EMPLOYER, np.arange(len(rows.dismissals)))]
    import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
    col = pd.Series(rows.label(by))
    found = [(str(k), np.asarray(v)) for k, v in col.groupby(col, sort=False).indices.items()]
    return sorted(found, key=lambda kv: natural(kv[0]))


def s188_pack(report: Report, *, establishment: str | None = None,
              description: tuple[str, ...] = ("title", "grade"),
              first_dismissal: dt.date | None = None,
              today: dt.date | None = None) -> S188Pack:
    """The s.188 pack of a valid report.  `today` stands in for the first dismissal's date
    when none is known (the rules in force then)."""
    if not report.has_posts:
        raise PostsNotGiven(f"{report.workbook.name} has no Posts column, so the number of "
                            f"posts (and people) on each row is not known and dismissals "
                            f"cannot be counted; add a Posts column")
    posts = report.posts
    today = today or dt.date.today()
    by = establishment or default_establishment(posts)
    if by != EMPLOYER:
        check_columns(posts, (by,), "--establishment")
        if not has_values(posts, by):
            raise UsageProblem(f"--establishment {by}: the file gives no {by} for its posts; "
                               f"choose another, or 'employer'")
    check_columns(posts, description, "--description")
    rows = dismissal_rows(report, first_dismissal)
    vacant = posts["vacant"].to_numpy(dtype=object)
    status = posts["status"].to_numpy()
    deleted = status == "deleted"
    upper = not report.has_vacant or any(v is None for v in vacant[deleted])
    employer = _unit(WHOLE_EMPLOYER, np.arange(len(posts)), rows, upper, today, description)
    units = [_unit(name, idx, rows, upper, today, description)
             for name, idx in _groups(rows, by)] if by != EMPLOYER else [employer]
    views = []
    for view in ("establishment", "location", "team", EMPLOYER):
        if view != EMPLOYER and not has_values(posts, view):
            continue
        found = ([employer] if view == EMPLOYER else
                 [_unit(name, idx, rows, upper, today, ()) for name, idx in _groups(rows, view)])
        top = max(found, key=lambda u: u.proposed_dismissals)
        law = rules_for(top.first_dismissal or today)
        views.append(View(view, len(found),
                          sum(1 for u in found if u.proposed_dismissals >= law.threshold),
                          top.name, top.proposed_dismissals))
    posts_n = posts["posts"].to_numpy(dtype=np.int64)
    relocated = int(posts_n[status == "relocated"].sum())
    vacant_deleted = int(posts_n[deleted & np.array([v is True for v in vacant],
                                                    dtype=bool)].sum())
    dated = any(d is not None for d in rows.dates)
    rules_date = employer.first_dismissal or today
    notes = _notes(report, upper, dated, relocated, vacant_deleted, rows)
    return S188Pack(rules_for(rules_date), rules_date, dated, by, description, employer, units,
                    views, notes, upper, relocated, vacant_deleted)


def _notes(report: Report, upper: bool, dated: bool, relocated: int, vacant_deleted: int,
           rows: _Rows) -> list[str]:
    notes = []
    if upper:
        notes.append("The file does not say which deleted posts are vacant, so every deleted "
                     "post is counted as a dismissal: the figures are an upper bound.")
    if vacant_deleted:
        notes.append(f"{vacant_deleted:,} vacant deleted post(s) are not dismissals and are "
                     f"not counted.")
    if relocated:
        notes.append(f"{relocated:,} relocated post(s) move to another service with their "
                     f"holders (including TUPE transfers): they are not dismissals and are "
                     f"not counted.")
    if not dated:
        notes.append("No dismissal dates are given (no Dismissal date column and no date "
                     "of the first dismissal), so all dismissals are counted as one 90-day "
                     "window and no deadline can be worked out.")
    else:
        undated = int(sum(n for d, n in zip(rows.dates, rows.dismissals) if d is None))
        if undated:
            notes.append(f"{undated:,} dismissal(s) have no date; they are counted in every "
                         f"90-day window.")
    return notes
