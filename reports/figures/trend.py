"""The trend across versions: a dataset's main totals, version by version, and where the
proposals changed and by how much (issue 28, part 2).

The figures are the whole-file totals each stored version keeps (`Version.totals`, as
`summarise` makes them), so the trend needs no file read again.  `trend_of` takes any
objects with a version's `number`, `as_of`, `uploaded_at`, `original_name` and `totals`;
`by_month` picks each month's version as `impact monthly` does (`Store.version_as_of`:
the version in force on the month's last day).

The same `Trend` feeds the briefing's trend section, `impact history --format json|csv`
and the portal's dataset page, so the three always agree.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from ..model import measures
from ..model.formats import fmt_date, fmt_money, fmt_number, json_number

# The series, in the order every output gives them.
MEASURES = ("baseline_fte", "deleted_fte", "at_risk_fte", "vacant_deleted_fte",
            "relocated_fte", "created_fte", "net_saving")
LABELS = {"baseline_fte": "Baseline FTE", "deleted_fte": "Deleted FTE",
          "at_risk_fte": "At risk FTE", "vacant_deleted_fte": "Vacancies deleted FTE",
          "relocated_fte": "Relocated FTE", "created_fte": "Created FTE",
          "net_saving": "Saving (deleted less new)"}
# Why a public briefing has none (its method section, and the trend section's note).
PUBLIC_TREND = ("The public briefing's trend across versions gives only what earlier public "
              "outputs of this dataset published (its publication ledger): a figure hidden "
              "then, or a version never published, is not published here either, and "
              "nothing is worked out from figures that were not published.")
# The chart's stacked bars: FTE by status (baseline = deleted + retained + relocated).
CHART_MEASURES = ("deleted_fte", "retained_fte", "relocated_fte", "created_fte")


class Stored(Protocol):
    """What the trend reads of a stored version (`reports.store.db.Version`)."""

    @property
    def number(self) -> int: ...
    @property
    def as_of(self) -> date: ...
    @property
    def original_name(self) -> str: ...
    @property
    def totals(self) -> dict[str, Any]: ...
    @property
    def uploaded_at(self) -> datetime: ...
    @property
    def sha256(self) -> str: ...


@dataclass(frozen=True)
class Point:
    """One version's figures (`month`: the month it was chosen for, by `by_month`)."""

    number: int
    as_of: date
    file: str
    values: Mapping[str, Decimal | None]     # MEASURES and CHART_MEASURES; None: not given
    month: str = ""                          # "2024-04", or "" for a version's own row
    sha256: str = ""                         # the version's identity, as the ledger keys it

    @property
    def label(self) -> str:
        return f"{self.month}: version {self.number}" if self.month else \
            f"Version {self.number}"


@dataclass(frozen=True)
class Trend:
    points: tuple[Point, ...]

    def __len__(self) -> int:
        return len(self.points)

    def change(self, i: int) -> dict[str, Decimal | None]:
        """Point i's change in each measure since point i - 1 (None: not given in one of
        them); {} for the first point."""
        if i == 0:
            return {}
        old, new = self.points[i - 1].values, self.points[i].values
        out: dict[str, Decimal | None] = {}
        for m in MEASURES:
            a, b = old.get(m), new.get(m)
            out[m] = None if a is None or b is None else b - a
        return out

    def changed(self, i: int) -> dict[str, Decimal]:
        """The measures that changed at point i, and by how much."""
        return {m: d for m, d in self.change(i).items() if d}

    def given(self, m: str) -> bool:
        """Whether any version gives measure `m` (no Vacant column: no at-risk figure)."""
        return any(p.values.get(m) is not None for p in self.points)

    def to_list(self) -> list[dict[str, Any]]:
        """The series as JSON-ready rows, oldest first: each version's figures, its change
        since the row before and the measures that changed."""
        out = []
        for i, p in enumerate(self.points):
            row: dict[str, Any] = {}
            if p.month:
                row["month"] = p.month
            row.update({"version": p.number, "as_of": p.as_of.isoformat(), "file": p.file,
                        "figures": {m: _json(p.values.get(m)) for m in MEASURES}})
            if i == 0:
                row["change"] = None
                row["changed"] = []
            else:
                row["change"] = {m: _json(d) for m, d in self.change(i).items()}
                row["changed"] = list(self.changed(i))
            out.append(row)
        return out


def _json(value: Decimal | None) -> int | float | None:
    return None if value is None else json_number(value)


def point_of(version: Stored, month: str = "") -> Point:
    t = version.totals
    values = {m: _decimal(t.get(m)) for m in (*MEASURES, *CHART_MEASURES)}
    return Point(version.number, version.as_of, version.original_name, values, month,
                 version.sha256)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, str):
        return None
    return value if isinstance(value, Decimal) else Decimal(value)


def trend_of(versions: Iterable[Stored], upto: int | None = None) -> Trend:
    """Every version (up to number `upto`), oldest first."""
    chosen = sorted((v for v in versions if upto is None or v.number <= upto),
                    key=lambda v: v.number)
    return Trend(tuple(point_of(v) for v in chosen))


def by_month(versions: Sequence[Stored], upto: date | None = None) -> Trend:
    """Each month's chosen version, from the month of the earliest as-of date to the month
    of the latest (or of `upto`): the version in force at the month's last day, as
    `impact monthly` chooses it (`Store.version_as_of`: the latest as-of date on or before
    it; of several with that date, the one uploaded last).  A month with no new version
    repeats the one before (no change)."""
    if not versions:
        return Trend(())
    first = min(v.as_of for v in versions)
    last = upto or max(v.as_of for v in versions)
    year, month = first.year, first.month
    points = []
    while (year, month) <= (last.year, last.month):
        end = date(year, month, calendar.monthrange(year, month)[1])
        dated = [v for v in versions if v.as_of <= end]
        if dated:
            chosen = max(dated, key=lambda v: (v.as_of, v.uploaded_at, v.number))
            points.append(point_of(chosen, f"{year:04d}-{month:02d}"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Trend(tuple(points))


def fmt_value(m: str, value: Decimal | None) -> str:
    """A figure as the briefing prints it."""
    if value is None:
        return "not given"
    return fmt_money(value) if measures.unit_of(m) == measures.MONEY else fmt_number(value)


def fmt_change(m: str, diff: Decimal | None) -> str:
    """A change as the briefing prints it: "+2.5", "-£30,000", or "no change"."""
    if diff is None:
        return "not given"
    if not diff:
        return "no change"
    sign = "+" if diff > 0 else "-"
    return sign + fmt_value(m, abs(diff))


def as_of_text(p: Point) -> str:
    return fmt_date(p.as_of)


def when_text(p: Point) -> str:
    """A row's time in words: its month ("April 2024") for a monthly series, else its
    version's as-of date."""
    if not p.month:
        return as_of_text(p)
    year, month = p.month.split("-")
    return f"{calendar.month_name[int(month)]} {year}"
