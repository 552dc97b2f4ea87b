"""The trend's rules (reports/figures/trend.py), each stated at its edge on hand-made
versions, with no store and no file read: the expected values are worked out here from
the rule's own words, not taken from the module's output.

- a version's figures are its stored totals; a text or missing total is "not given";
- `trend_of` takes every version up to and including number `upto`, by number;
- `by_month` picks, for each month from the earliest as-of month to the latest (or
  `upto`'s), the version in force on the month's last day: the latest as-of date on
  or before it, and of several with that date the one uploaded last; a month with no
  new version repeats the one before;
- a change is the new figure less the old, "not given" when either is not given, and
  a measure changed only when that difference is not zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from reports.figures.trend import (
    CHART_MEASURES,
    MEASURES,
    Point,
    Trend,
    as_of_text,
    by_month,
    fmt_change,
    fmt_value,
    point_of,
    trend_of,
    when_text,
)


@dataclass(frozen=True)
class V:
    """A stored version, as the trend reads one."""

    number: int
    as_of: date
    totals: dict[str, Any] = field(default_factory=dict)
    uploaded_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    original_name: str = "posts.xlsx"
    sha256: str = ""


def at(day: int, month: int = 1, year: int = 2026, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def numbers(t: Trend) -> list[int]:
    return [p.number for p in t.points]


def months(t: Trend) -> list[str]:
    return [p.month for p in t.points]


# --- a version's figures ---------------------------------------------------------------

def test_a_versions_figures_are_its_totals_and_a_text_or_missing_one_is_not_given() -> None:
    v = V(3, date(2026, 2, 1), {"deleted_fte": Decimal("12.5"), "baseline_fte": 40,
                                "at_risk_fte": "n/a", "net_saving": Decimal("-300")},
          original_name="feb.xlsx", sha256="ab" * 32)
    p = point_of(v, "2026-02")
    assert (p.number, p.as_of, p.file, p.month, p.sha256) == (
        3, date(2026, 2, 1), "feb.xlsx", "2026-02", "ab" * 32)
    assert p.values["deleted_fte"] == Decimal("12.5")
    assert p.values["baseline_fte"] == Decimal(40) and isinstance(p.values["baseline_fte"],
                                                                   Decimal)
    assert p.values["net_saving"] == Decimal("-300")
    assert p.values["at_risk_fte"] is None            # a text total: not given
    assert p.values["created_fte"] is None            # missing: not given
    assert set(p.values) == set(MEASURES) | set(CHART_MEASURES)


def test_a_point_is_labelled_by_its_month_when_it_has_one() -> None:
    own = Point(4, date(2026, 3, 9), "f.xlsx", {})
    monthly = Point(4, date(2026, 3, 9), "f.xlsx", {}, month="2026-04")
    assert own.label == "Version 4"
    assert monthly.label == "2026-04: version 4"
    assert when_text(own) == as_of_text(own) == "9 March 2026"
    assert when_text(monthly) == "April 2026"
    assert when_text(Point(1, date(2025, 12, 31), "f", {}, month="2025-12")) == \
        "December 2025"


# --- trend_of: versions up to and including `upto`, by number --------------------------

def test_trend_of_orders_by_number_and_takes_upto_inclusive() -> None:
    vs = [V(3, date(2026, 1, 3)), V(1, date(2026, 1, 9)), V(2, date(2026, 1, 1))]
    assert numbers(trend_of(vs)) == [1, 2, 3]        # by number, not by date
    assert numbers(trend_of(vs, upto=2)) == [1, 2]   # 2 itself is in
    assert numbers(trend_of(vs, upto=1)) == [1]
    assert numbers(trend_of(vs, upto=0)) == []
    assert len(trend_of(vs)) == 3 and len(trend_of([])) == 0


# --- by_month: the version in force on each month's last day ---------------------------

def test_by_month_runs_from_the_first_as_of_month_to_the_last_and_repeats_a_quiet_month(
        ) -> None:
    vs = [V(1, date(2026, 1, 15)), V(2, date(2026, 3, 1))]
    t = by_month(vs)
    assert months(t) == ["2026-01", "2026-02", "2026-03"]
    assert numbers(t) == [1, 1, 2]                   # February repeats January's


def test_a_version_dated_on_a_months_last_day_is_that_months() -> None:
    vs = [V(1, date(2026, 1, 1)), V(2, date(2026, 1, 31)), V(3, date(2026, 2, 1))]
    assert numbers(by_month(vs)) == [2, 3]           # 31 January counts for January
    leap = [V(1, date(2028, 1, 5)), V(2, date(2028, 2, 29))]
    assert numbers(by_month(leap)) == [1, 2]         # 29 February 2028 is February's last


def test_of_versions_with_the_same_as_of_date_the_one_uploaded_last_is_chosen() -> None:
    day = date(2026, 5, 10)
    later_upload = V(1, day, uploaded_at=at(12, 5))
    earlier_upload = V(2, day, uploaded_at=at(11, 5))
    assert numbers(by_month([later_upload, earlier_upload])) == [1]
    # the same as-of date and upload time: the higher number
    same = [V(4, day, uploaded_at=at(11, 5)), V(5, day, uploaded_at=at(11, 5))]
    assert numbers(by_month(same)) == [5]
    # a later as-of date wins whatever the upload time
    assert numbers(by_month([V(6, date(2026, 5, 11), uploaded_at=at(1, 1)),
                             V(7, day, uploaded_at=at(1, 6))])) == [6]


def test_by_month_crosses_a_year_and_stops_at_upto() -> None:
    vs = [V(1, date(2025, 11, 20)), V(2, date(2026, 1, 2))]
    assert months(by_month(vs)) == ["2025-11", "2025-12", "2026-01"]
    assert numbers(by_month(vs)) == [1, 1, 2]
    # `upto` ends the series at its month, even before the latest version ...
    assert months(by_month(vs, upto=date(2025, 12, 1))) == ["2025-11", "2025-12"]
    # ... and carries it on past the latest, repeating it
    assert months(by_month(vs, upto=date(2026, 3, 31)))[-2:] == ["2026-02", "2026-03"]
    assert numbers(by_month(vs, upto=date(2026, 3, 31)))[-2:] == [2, 2]
    assert len(by_month([])) == 0


# --- changes ---------------------------------------------------------------------------

def _trend(*values: dict[str, Any]) -> Trend:
    return Trend(tuple(Point(i + 1, date(2026, 1, i + 1), "f", {k: (None if v is None else
                                                                   Decimal(str(v)))
                                                               for k, v in vals.items()})
                       for i, vals in enumerate(values)))


def test_a_change_is_new_less_old_and_not_given_when_either_side_is_not() -> None:
    t = _trend({"deleted_fte": 10, "baseline_fte": 50, "at_risk_fte": None},
               {"deleted_fte": "12.5", "baseline_fte": 50, "at_risk_fte": 3})
    assert t.change(0) == {}
    change = t.change(1)
    assert change["deleted_fte"] == Decimal("2.5")
    assert change["baseline_fte"] == 0
    assert change["at_risk_fte"] is None             # not given before
    assert change["created_fte"] is None             # given in neither
    assert set(change) == set(MEASURES)
    # only a non-zero difference is a change
    assert t.changed(1) == {"deleted_fte": Decimal("2.5")}
    assert t.changed(0) == {}


def test_a_fall_is_a_negative_change() -> None:
    t = _trend({"deleted_fte": "12.5"}, {"deleted_fte": 10})
    assert t.change(1)["deleted_fte"] == Decimal("-2.5")
    assert t.changed(1) == {"deleted_fte": Decimal("-2.5")}


def test_a_measure_is_given_when_any_version_gives_it() -> None:
    t = _trend({"at_risk_fte": None}, {"at_risk_fte": 0})
    assert t.given("at_risk_fte")                    # 0 is given
    assert not _trend({"at_risk_fte": None}, {}).given("at_risk_fte")


def test_the_json_series_gives_each_version_its_figures_change_and_what_changed() -> None:
    t = Trend((Point(1, date(2026, 1, 5), "a.xlsx", {"deleted_fte": Decimal(10),
                                                     "net_saving": Decimal("100.50")}),
               Point(2, date(2026, 2, 5), "b.xlsx", {"deleted_fte": Decimal("10.5"),
                                                     "net_saving": Decimal("100.50")},
                     month="2026-02")))
    first, second = t.to_list()
    assert "month" not in first and second["month"] == "2026-02"
    assert (first["version"], first["as_of"], first["file"]) == (1, "2026-01-05", "a.xlsx")
    assert first["figures"]["deleted_fte"] == 10 and isinstance(
        first["figures"]["deleted_fte"], int)        # whole: an int
    assert first["figures"]["net_saving"] == 100.5
    assert first["figures"]["created_fte"] is None
    assert first["change"] is None and first["changed"] == []
    assert second["change"]["deleted_fte"] == 0.5
    assert second["change"]["net_saving"] == 0
    assert second["change"]["created_fte"] is None
    assert second["changed"] == ["deleted_fte"]
    assert list(first["figures"]) == list(MEASURES)


# --- words -----------------------------------------------------------------------------

@pytest.mark.parametrize(("measure", "diff", "words"), [
    ("deleted_fte", None, "not given"),
    ("deleted_fte", Decimal(0), "no change"),
    ("deleted_fte", Decimal("2.5"), "+2.5"),
    ("deleted_fte", Decimal("-2.5"), "-2.5"),
    ("deleted_fte", Decimal("1234"), "+1,234"),
    ("net_saving", Decimal("-30000"), "-£30,000"),
    ("net_saving", Decimal("0.01"), "+£0.01"),
])
def test_a_change_in_words(measure: str, diff: Decimal | None, words: str) -> None:
    assert fmt_change(measure, diff) == words


def test_a_figure_in_words_is_money_for_money_and_a_number_otherwise() -> None:
    assert fmt_value("net_saving", Decimal("1500")) == "£1,500"
    assert fmt_value("deleted_fte", Decimal("1500")) == "1,500"
    assert fmt_value("deleted_fte", None) == "not given"
