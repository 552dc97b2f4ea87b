"""Every dated rule of redundancy pay and collective consultation, at its edge.

Each test is named after the rule it states and works its expected value out by hand
from the statute (or /work/shared/DOMAIN.md's statement of it), in the test, with the
arithmetic written out: Decimal weeks x the cap, days counted on the calendar.  None is
read back from the code's output.  The sources:

- Employment Rights Act 1996 (ERA) s.155 (2 years' service), s.162(2) (half a week a
  year under 22, one week 22 to 40, one and a half weeks at 41 and over, by the age at
  the start of each year), s.162(3) (at most 20 years), s.227 (the weekly cap, uprated
  each April by an Employment Rights (Increase of Limits) Order: £643 from 6 April 2023,
  £700 from 6 April 2024, £719 from 6 April 2025, £751 from 6 April 2026);
- SI 2006/2914 regs 5 and 6 (actual pay instead of the cap; at most 104 weeks);
- TULRCA 1992 s.188(1) and (1A) (20 or more at one establishment within 90 days; 30
  days' consultation, 45 for 100 or more), s.193 (HR1 within the same periods),
  s.189(4) (a protective award of at most 90 days' pay; 180 days for dismissals from
  6 April 2026, Employment Rights Act 2025).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reports import intake
from reports.figures import costs as fc
from reports.figures.s188 import busiest_window
from reports.model import redundancy_rules as rr
from reports.model.errors import UsageProblem
from reports.model.s188_rules import RULES, rules_for
from tests.conftest import invoke, make_xlsx

D = Decimal

S188_COLS = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Location",
             "Establishment", "Dismissal date"]


def s188_row(posts: int, when: dt.date | None, establishment: str = "Hub",
             status: str = "Deleted", title: str = "Support Worker") -> list[Any]:
    return ["Family Support", title, "Grade 6", posts, posts, status, "N", establishment,
            establishment, when]


def s188_json(path: Path, *args: str) -> dict[str, Any]:
    out = invoke("s188", path, "--format", "json", *args)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


# --------------------------------------------------------------------------
# the protective award: TULRCA s.189(4), 180 days from 6 April 2026


def test_protective_award_maximum_is_worked_out_for_each_dismissal_date(tmp_path: Path
                                                                        ) -> None:
    # The example: 283 dismissals across the whole employer, one on 5 April 2026
    # (at most 90 days' pay) and 282 on or after 6 April 2026 (at most 180 days' pay).
    # Taking the first dismissal's maximum for everyone said "up to 90 days".
    path = make_xlsx(tmp_path, [S188_COLS,
                                s188_row(1, dt.date(2026, 4, 5), "North"),
                                s188_row(200, dt.date(2026, 4, 6), "North"),
                                s188_row(82, dt.date(2026, 5, 1), "South")])
    pack = s188_json(path, "--establishment", "establishment")
    assert 1 + 200 + 82 == 283
    award = [{"max_days": 90, "dismissals": 1, "first": "2026-04-05", "last": "2026-04-05",
              "undated": 0},
             {"max_days": 180, "dismissals": 200 + 82, "first": "2026-04-06",
              "last": "2026-05-01", "undated": 0}]
    assert pack["employer"]["protective_award"] == award
    assert pack["protective_award"] == award
    # no single maximum is claimed for dismissals that span the change
    assert pack["employer"]["protective_award_max_days"] is None
    assert pack["protective_award_max_days"] is None
    sites = {e["name"]: e for e in pack["establishments"]}
    # North spans the change: 1 at 90 days, 200 at 180; South is all after it
    assert [(a["max_days"], a["dismissals"]) for a in sites["North"]["protective_award"]] == \
        [(90, 1), (180, 200)]
    assert sites["North"]["protective_award_max_days"] is None
    assert [(a["max_days"], a["dismissals"]) for a in sites["South"]["protective_award"]] == \
        [(180, 82)]
    assert sites["South"]["protective_award_max_days"] == 180
    text = invoke("s188", path, "--establishment", "establishment").stdout
    assert "up to 90 days' pay for 1 dismissal (5 April 2026)" in text
    assert "up to 180 days' pay for 282 dismissals (6 April 2026 to 1 May 2026)" in text
    assert "North: up to 90 days' pay for 1 dismissal" in text
    # the union briefing states both figures too, for the employer and for North
    brief = briefing_text(path, "union")
    assert ("protective award of up to 90 days' pay for 1 dismissal (5 April 2026); up to "
            "180 days' pay for 282 dismissals (6 April 2026 to 1 May 2026)") in brief
    assert ("At North, the dismissals span that change: up to 90 days' pay for 1 dismissal "
            "(5 April 2026); up to 180 days' pay for 200 dismissals (6 April 2026)") in brief


def briefing_text(path: Path, audience: str) -> str:
    """The words of a briefing's HTML, tags dropped and spaces squashed."""
    import html
    import re

    import reports
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin
    from reports.render.html import render_html

    report = reports.check(path)
    b = make_briefing(report, reports.summarise(report), load_builtin(audience))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", render_html(b))).split())



def test_protective_award_is_90_days_to_5_april_2026_and_180_from_6_april(tmp_path: Path
                                                                            ) -> None:
    # s.189(4): 90 days; the Employment Rights Act 2025 makes it 180 for dismissals on or
    # after 6 April 2026.  One date each side, and the day itself.
    for day, most in ((dt.date(2026, 4, 5), 90), (dt.date(2026, 4, 6), 180),
                      (dt.date(2026, 4, 7), 180), (dt.date(2013, 4, 6), 90)):
        assert rules_for(day).award_max_days == most
    for day, most in ((dt.date(2026, 4, 5), 90), (dt.date(2026, 4, 6), 180)):
        path = make_xlsx(tmp_path, [S188_COLS, s188_row(25, day)], name=f"{day}.xlsx")
        pack = s188_json(path)
        assert pack["protective_award_max_days"] == most
        assert pack["protective_award"] == [{"max_days": most, "dismissals": 25,
                                             "first": day.isoformat(),
                                             "last": day.isoformat(), "undated": 0}]


def test_protective_award_of_undated_dismissals_follows_the_first_dated_one(tmp_path: Path
                                                                            ) -> None:
    # 20 dismissed on 5 April 2026 (90 days) and 5 with no date: the undated take the
    # unit's first dismissal's law, and are counted as undated.
    path = make_xlsx(tmp_path, [S188_COLS, s188_row(20, dt.date(2026, 4, 5)),
                                s188_row(5, None, title="Officer")])
    pack = s188_json(path)
    assert pack["protective_award"] == [{"max_days": 90, "dismissals": 25,
                                         "first": "2026-04-05", "last": "2026-04-05",
                                         "undated": 5}]


# --------------------------------------------------------------------------
# s.188 thresholds: 20 or more at one establishment within 90 days; 30 days before the
# first dismissal for 20-99, 45 for 100 or more (s.188(1), (1A)); HR1 the same (s.193)


# (dismissals at North, band, minimum days)
@pytest.mark.parametrize("n, band, days", [(19, "under 20", None), (20, "20-99", 30),
                                           (99, "20-99", 30), (100, "100 or more", 45)])
def test_s188_threshold_is_20_and_the_longer_period_starts_at_100_at_one_establishment(
        tmp_path: Path, n: int, band: str, days: int | None) -> None:
    # North has n; South has 10, which the employer adds but North's count does not
    path = make_xlsx(tmp_path, [S188_COLS, s188_row(n, dt.date(2026, 6, 1), "North"),
                                s188_row(10, dt.date(2026, 6, 1), "South")])
    pack = s188_json(path)
    north = {e["name"]: e for e in pack["establishments"]}["North"]
    assert (north["proposed_dismissals"], north["band"], north["consultation_days"]) == \
        (n, band, days)
    view = {v["by"]: v for v in pack["views"]}["establishment"]
    assert view["reaching_threshold"] == (0 if n < 20 else 1)       # South's 10 never
    # the law's own table, at the same edges
    law = rules_for(dt.date(2026, 6, 1))
    assert (law.consultation_days(n), law.hr1_days(n), law.band(n)) == (days, days, band)


@pytest.mark.parametrize("n, days, start", [(20, 30, dt.date(2026, 5, 2)),
                                            (100, 45, dt.date(2026, 4, 17))])
def test_s188_consultation_starts_30_or_45_days_before_the_first_dismissal(
        tmp_path: Path, n: int, days: int, start: dt.date) -> None:
    # first dismissal 1 June 2026: 30 days back is 2 May (31 May is 1 day back; May has 31
    # days, so 1 May is 31 back); 45 days back is 15 more, 17 April.  HR1 is due the same day.
    assert dt.date(2026, 6, 1) - dt.timedelta(days=days) == start
    path = make_xlsx(tmp_path, [S188_COLS, s188_row(n, dt.date(2026, 6, 1))])
    emp = s188_json(path)["employer"]
    assert (emp["consultation_days"], emp["consultation_starts_by"], emp["hr1_due_by"]) == \
        (days, start.isoformat(), start.isoformat())


# (days between the two dismissal dates, the most in any 90 days, the later date)
# 1 January 2026 + 89 days: 30 more in January, 28 in February, 31 in March = 31 March;
# + 90 = 1 April; + 91 = 2 April.  A period of 90 days holds day 0 to day 89.
@pytest.mark.parametrize("apart, most, later", [(89, 24, dt.date(2026, 3, 31)),
                                                (90, 12, dt.date(2026, 4, 1)),
                                                (91, 12, dt.date(2026, 4, 2))])
def test_s188_window_is_90_days_counting_both_ends(tmp_path: Path, apart: int, most: int,
                                                   later: dt.date) -> None:
    assert dt.date(2026, 1, 1) + dt.timedelta(days=apart) == later
    path = make_xlsx(tmp_path, [S188_COLS, s188_row(12, dt.date(2026, 1, 1)),
                                s188_row(12, later, title="Officer")])
    emp = s188_json(path)["employer"]
    assert (emp["proposed_dismissals"], emp["total_dismissals"]) == (most, 24)
    assert emp["band"] == ("20-99" if most >= 20 else "under 20")
    assert busiest_window([dt.date(2026, 1, 1), later], [12, 12], 90)[0] == most


def test_s188_undated_dismissals_count_in_every_window() -> None:
    # 15 on 1 January, 15 on 1 June (151 days later: two windows), 5 undated: 15 + 5 = 20
    jan, jun = dt.date(2026, 1, 1), dt.date(2026, 6, 1)
    assert busiest_window([jan, jun, None], [15, 15, 5], 90) == \
        (20, jan, jan + dt.timedelta(days=89))
    # no dates at all: the whole schedule is one window
    assert busiest_window([None, None], [15, 15], 90) == (30, None, None)


def test_s188_dismissals_on_the_same_day_count_together() -> None:
    # rows dismissed on the same day are one day's dismissals: 8 + 7 on 1 March and 6 on
    # 1 April fall in one 90-day window (21), whatever order the rows come in
    mar, apr = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    window = (21, mar, mar + dt.timedelta(days=89))
    assert busiest_window([mar, apr, mar], [8, 6, 7], 90) == window
    assert busiest_window([apr, mar, mar], [6, 8, 7], 90) == window
    # 1 March and 1 June are 92 days apart: two windows, and 1 March's two rows win
    jun = dt.date(2026, 6, 1)
    assert busiest_window([jun, mar, mar], [14, 8, 7], 90) == (15, mar, window[2])


def test_s188_dismissals_are_people_in_occupied_deleted_posts(tmp_path: Path) -> None:
    # 20 occupied deleted: dismissals; 5 vacant deleted and 7 relocated: not; 3 retained:
    # employed, not dismissed.  20 reaches the threshold; 20 + 5 + 7 would too, so the
    # test also says 19 + the others does not.
    cols = S188_COLS
    path = make_xlsx(tmp_path, [cols, s188_row(19, dt.date(2026, 6, 1)),
                                [*s188_row(5, dt.date(2026, 6, 1), title="Vacant")[:6], "Y",
                                 "Hub", "Hub", dt.date(2026, 6, 1)],
                                s188_row(7, dt.date(2026, 6, 1), status="Relocated",
                                         title="Moved"),
                                s188_row(3, None, status="Retained", title="Kept")])
    pack = s188_json(path)
    emp = pack["employer"]
    assert (emp["proposed_dismissals"], emp["band"]) == (19, "under 20")
    assert pack["not_dismissals"] == {"relocated_posts": 7, "vacant_deleted_posts": 5}
    assert pack["upper_bound"] is False


def test_s188_without_vacant_every_deleted_post_counts_as_an_upper_bound(tmp_path: Path
                                                                         ) -> None:
    cols = [c for c in S188_COLS if c != "Vacant"]
    rows = [[*r[:6], *r[7:]] for r in (s188_row(15, dt.date(2026, 6, 1)),
                                       s188_row(5, dt.date(2026, 6, 1), title="Other"))]
    emp = s188_json(make_xlsx(tmp_path, [cols, *rows]))["employer"]
    assert (emp["proposed_dismissals"], emp["band"], emp["upper_bound"]) == \
        (20, "20-99", True)


def test_s188_rules_table_is_dated_oldest_first_with_one_row_per_change() -> None:
    assert [r.since for r in RULES] == sorted({r.since for r in RULES})
    # before the table starts, the oldest row; s.188 as amended by SI 2013/763
    assert rules_for(dt.date(2000, 1, 1)) == RULES[0]
    law = rules_for(dt.date(2013, 4, 6))
    assert (law.threshold, law.large, law.short_days, law.long_days, law.window_days,
            law.award_max_days) == (20, 100, 30, 45, 90, 90)


# --------------------------------------------------------------------------
# the weekly cap (ERA s.227): the one in force on the dismissal date


# (dismissal date, cap, the day that cap took effect)
CAP_EDGES = [
    (dt.date(2024, 4, 5), D(643), dt.date(2023, 4, 6)),
    (dt.date(2024, 4, 6), D(700), dt.date(2024, 4, 6)),
    (dt.date(2025, 4, 5), D(700), dt.date(2024, 4, 6)),
    (dt.date(2025, 4, 6), D(719), dt.date(2025, 4, 6)),
    (dt.date(2026, 4, 5), D(719), dt.date(2025, 4, 6)),
    (dt.date(2026, 4, 6), D(751), dt.date(2026, 4, 6)),
]


@pytest.mark.parametrize("on, cap, since", CAP_EDGES, ids=[str(c[0]) for c in CAP_EDGES])
def test_weekly_cap_is_the_one_in_force_on_the_dismissal_date(on: dt.date, cap: Decimal,
                                                              since: dt.date) -> None:
    assert rr.weekly_cap(on) == cap
    assert rr.cap_start(on) == since
    # age 45, 4 years: the years began at 44, 43, 42, 41: 4 x 1.5 = 6 weeks; £900 a week
    # is over every cap, £600 under every cap
    assert fc.redundancy_pay(45, D(4), D(900), on) == D(6) * cap
    assert fc.redundancy_pay(45, D(4), D(600), on) == D(6) * 600
    # the upper bound: 20 years x 1.5 weeks = 30 weeks at the same cap
    assert fc.upper_bound(3, on) == 3 * 30 * cap


def test_weekly_cap_is_not_known_before_6_april_2023() -> None:
    with pytest.raises(rr.NoCap):
        rr.weekly_cap(dt.date(2023, 4, 5))
    with pytest.raises(rr.NoCap):
        rr.cap_start(dt.date(2023, 4, 5))
    assert rr.weekly_cap(dt.date(2023, 4, 6)) == 643


COST_COLS = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Annual cost",
             "Age", "Years of service", "Weekly pay", "Pension member", "Strain cost",
             "Dismissal date", "Effective date"]


def cost_row(age: Any = 45, years: Any = 4, pay: Any = 900, dismissed: Any = None,
             effective: Any = None, posts: int = 1, member: Any = None, strain: Any = None,
             status: str = "Deleted", vacant: str = "N", cost: Any = 30000) -> list[Any]:
    return ["A", "Worker", "G5", posts, posts, status, vacant, cost, age, years, pay, member,
            strain, dismissed, effective]


def file_costs(tmp_path: Path, rows: list[list[Any]], default: dt.date = dt.date(2026, 12, 7),
               **kw: Any) -> fc.Costs:
    report = intake.check(make_xlsx(tmp_path, [COST_COLS, *rows]))
    assert report.valid, report.findings.items
    return fc.costs(report, fc.CostOptions(dismissal_date=default, today=default, **kw))


def test_weekly_cap_is_taken_on_each_rows_own_dismissal_date(tmp_path: Path) -> None:
    # one person (6 weeks, £900 a week) dismissed on each side of each April change
    rows = [cost_row(dismissed=on) for on, _, _ in CAP_EDGES]
    c = file_costs(tmp_path, rows)
    assert c.figures["redundancy_pay_estimate"] == 6 * (D(643) + 700 + 700 + 719 + 719 + 751)
    caps = c.to_dict()["facts"]["weekly_caps"]
    assert [(x["weekly_cap"], x["people"], x["dismissal_dates"]) for x in caps] == [
        (643, 1, ["2024-04-05"]), (700, 2, ["2024-04-06", "2025-04-05"]),
        (719, 2, ["2025-04-06", "2026-04-05"]), (751, 1, ["2026-04-06"])]


def test_dismissal_date_column_first_then_effective_date_then_the_option(tmp_path: Path
                                                                         ) -> None:
    # each person 6 weeks at £900: the date picks the cap
    c = file_costs(tmp_path, [
        cost_row(dismissed=dt.date(2026, 4, 5), effective=dt.date(2026, 4, 6)),   # 719
        cost_row(effective=dt.date(2025, 4, 5)),                                  # 700
        cost_row(),                                   # --dismissal-date 6 April 2024: 700
        cost_row(posts=2, age=None),                  # a bound on 6 April 2024: 30 x 700
    ], default=dt.date(2024, 4, 6))
    assert c.figures["redundancy_pay_estimate"] == 6 * D(719) + 6 * D(700) + 6 * D(700)
    assert c.figures["redundancy_pay_bound"] == 2 * 30 * D(700)
    assert c.facts["dismissal_dates_from"] == {"dismissal_date_column": 1,
                                               "effective_date_column": 1, "no_date": 3}


def test_a_dismissal_before_the_first_cap_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem, match="Dismissal date"):
        file_costs(tmp_path, [cost_row(dismissed=dt.date(2023, 4, 5))])
    with pytest.raises(UsageProblem, match="--dismissal-date"):
        file_costs(tmp_path, [cost_row()], default=dt.date(2023, 4, 5))


# --------------------------------------------------------------------------
# ages and service (ERA s.155, s.162): by the age at the dismissal date


def age_on(born: dt.date, day: dt.date) -> int:
    """Whole years of age on `day`: the birthday itself counts."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


DISMISSED = dt.date(2026, 4, 6)
# (the birthday that matters, born, age at dismissal, weeks for 2 years' service, why)
AGE_EDGES = [
    # 22nd birthday the day before / on / after: 22, 22, 21.  Either way the last year
    # began at 21 or 20: under 22, half a week each: 0.5 + 0.5
    ("22nd, day before", dt.date(2004, 4, 5), 22, D("0.5") + D("0.5")),
    ("22nd, on the day", dt.date(2004, 4, 6), 22, D("0.5") + D("0.5")),
    ("22nd, day after", dt.date(2004, 4, 7), 21, D("0.5") + D("0.5")),
    # 23rd: 23, 23, 22.  At 23 the last year began at 22 (1 week) and the one before at
    # 21 (half); at 22 both began under 22
    ("23rd, day before", dt.date(2003, 4, 5), 23, D(1) + D("0.5")),
    ("23rd, on the day", dt.date(2003, 4, 6), 23, D(1) + D("0.5")),
    ("23rd, day after", dt.date(2003, 4, 7), 22, D("0.5") + D("0.5")),
    # 41st: 41, 41, 40.  The last year began at 40 or 39: one week each
    ("41st, day before", dt.date(1985, 4, 5), 41, D(1) + D(1)),
    ("41st, on the day", dt.date(1985, 4, 6), 41, D(1) + D(1)),
    ("41st, day after", dt.date(1985, 4, 7), 40, D(1) + D(1)),
    # 42nd: 42, 42, 41.  At 42 the last year began at 41: one and a half weeks
    ("42nd, day before", dt.date(1984, 4, 5), 42, D("1.5") + D(1)),
    ("42nd, on the day", dt.date(1984, 4, 6), 42, D("1.5") + D(1)),
    ("42nd, day after", dt.date(1984, 4, 7), 41, D(1) + D(1)),
]


@pytest.mark.parametrize("what, born, age, weeks", AGE_EDGES, ids=[a[0] for a in AGE_EDGES])
def test_rate_is_half_a_week_under_22_one_to_40_and_one_and_a_half_from_41_by_age_at_dismissal(
        what: str, born: dt.date, age: int, weeks: Decimal) -> None:
    assert age_on(born, DISMISSED) == age
    assert rr.statutory_weeks(age, 2) == weeks
    # at £500 a week, under the £751 cap of 6 April 2026
    assert fc.redundancy_pay(age, D(2), D(500), DISMISSED) == weeks * 500


def test_rate_for_age_changes_at_22_and_41() -> None:
    assert [rr.rate_for_age(a) for a in (21, 22, 40, 41)] == \
        [D("0.5"), D(1), D(1), D("1.5")]


def test_age_column_is_age_at_each_rows_own_dismissal_date(tmp_path: Path) -> None:
    # Age 23 (23rd birthday on or before the dismissal date), 2 years, £900: 1.5 weeks at
    # the cap of the row's own date: 5 April 2026, £719
    c = file_costs(tmp_path, [cost_row(age=23, years=2, dismissed=dt.date(2026, 4, 5))] * 5)
    assert c.figures["redundancy_pay_estimate"] == 5 * (D(1) + D("0.5")) * 719


# (years of service, weeks for a person aged 45 at dismissal)
# 1 year 364 days is 1 complete year: nothing (under 2 years, s.155).  2 years: the years
# began at 44 and 43: 1.5 + 1.5.
SERVICE_EDGES = [
    ("1 year 364 days", D(1) + D(364) / D(365), D(0)),
    ("2 years", D(2), D("1.5") + D("1.5")),
    # 20 years: began at 44 ... 25: 44, 43, 42, 41 at 1.5 (6) and 40 ... 25 at 1 (16) = 22
    ("20 years", D(20), 4 * D("1.5") + 16 * D(1)),
    # 21 years: the 21st year back (began at 24, one week) does not count: still 22
    ("21 years", D(21), 4 * D("1.5") + 16 * D(1)),
]


@pytest.mark.parametrize("what, years, weeks", SERVICE_EDGES, ids=[s[0] for s in SERVICE_EDGES])
def test_service_under_2_years_pays_nothing_and_at_most_20_years_count(what: str,
                                                                       years: Decimal,
                                                                       weeks: Decimal) -> None:
    assert rr.statutory_weeks(45, int(years)) == weeks
    assert fc.redundancy_pay(45, years, D(500), DISMISSED) == weeks * 500


def test_the_most_anyone_gets_is_30_weeks_at_the_cap() -> None:
    # 20 years all at 1.5 weeks (age 61 or more): 30 weeks; £751 x 30 = £22,530 from
    # 6 April 2026 (DOMAIN.md's maximum payment)
    assert rr.statutory_weeks(61, 20) == 20 * D("1.5") == rr.UPPER_BOUND_WEEKS
    assert rr.statutory_weeks(60, 20) == 19 * D("1.5") + 1          # began at 40: 1 week
    assert fc.redundancy_pay(70, D(40), D(10000), DISMISSED) == 30 * D(751) == D(22530)


# --------------------------------------------------------------------------
# the council's discretions (SI 2006/2914): actual pay (reg. 5), up to 104 weeks (reg. 6)


def test_multiplied_weeks_stop_at_104() -> None:
    # age 70, 20 years: 30 weeks.  x 3.4 = 102 (under); x 3.5 = 105, held at 104;
    # x 104/30 is exactly 104
    assert fc.redundancy_pay(70, D(20), D(500), DISMISSED, multiplier=D("3.4")) == 102 * D(500)
    assert fc.redundancy_pay(70, D(20), D(500), DISMISSED, multiplier=D("3.5")) == 104 * D(500)
    assert fc.upper_bound(1, DISMISSED, D("3.5")) == 104 * D(751)
    assert fc.upper_bound(1, DISMISSED, D("3.4")) == 102 * D(751)


def test_actual_pay_replaces_the_cap() -> None:
    # age 45, 4 years: 6 weeks at £900, not at £751
    assert fc.redundancy_pay(45, D(4), D(900), DISMISSED, actual_pay=True) == 6 * D(900)


def test_a_multiplier_must_be_above_0(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem, match="--multiplier"):
        file_costs(tmp_path, [cost_row()], multiplier=D(0))
    c = file_costs(tmp_path, [cost_row()], multiplier=D("0.01"))
    # 6 weeks x 0.01 = 0.06 weeks at £751 = £45.06
    assert c.figures["redundancy_pay_estimate"] == D("0.06") * 751 == D("45.06")


def test_each_persons_pay_is_rounded_half_up_to_the_penny() -> None:
    # age 23, 2 years: 1.5 weeks at £333.31 = £499.965: half up to £499.97 (half even or
    # down would give £499.96)
    assert D("1.5") * D("333.31") == D("499.965")
    assert fc.redundancy_pay(23, D(2), D("333.31"), DISMISSED) == D("499.97")


# --------------------------------------------------------------------------
# pension strain (LGPS Regulations 2013 reg. 30(7)): 55 or over, 2 years' membership


def test_strain_is_flagged_from_age_55_with_2_years_membership(tmp_path: Path) -> None:
    c = file_costs(tmp_path, [
        cost_row(age=54, years=30, member=5),           # 54: no
        cost_row(age=55, years=30, member=2),           # 55 and 2 years: yes
        cost_row(age=55, years=30, member=D("1.99")),   # under 2 years' membership: no
        cost_row(age=60, years=2, member="Y"),          # Y: service counts, 2 years: yes
        cost_row(age=60, years=D("1.99"), member="Y"),  # Y, 1.99 years: no
        cost_row(age=60, years=30, member="N"),         # not a member: no
    ])
    assert c.figures["strain_flagged_posts"] == 2


# --------------------------------------------------------------------------
# the cost figures: who is hidden, payback, the financial year


def test_person_totals_of_fewer_than_5_people_are_hidden(tmp_path: Path) -> None:
    four = file_costs(tmp_path, [cost_row()] * 4)
    assert {"redundancy_pay_estimate", "one_off_cost", "payback_months"} <= four.hidden
    five = file_costs(tmp_path, [cost_row()] * 5)
    assert "redundancy_pay_estimate" not in five.hidden
    # 5 people x 6 weeks x £751 (7 December 2026)
    assert five.shown()["redundancy_pay_estimate"] == 5 * 6 * D(751)


def test_payback_is_one_off_costs_over_the_annual_saving_and_never_without_a_saving(
        tmp_path: Path) -> None:
    # 5 people x 6 weeks x £751 = £22,530; saving 5 x £30,000 = £150,000:
    # 22,530 / 150,000 x 12 = 1.8024 -> 1.8 months, exact (not a bound)
    c = file_costs(tmp_path, [cost_row()] * 5)
    assert c.figures["payback_months"] == D("1.8")
    assert c.facts["payback_upper_bound"] is False
    # a new post costing as much as the saving: no saving, so payback is never
    c = file_costs(tmp_path, [cost_row()] * 5 + [cost_row(status="Created", age=None,
                                                          cost=150000)])
    assert c.figures["annual_saving"] == 0
    assert c.figures["payback_months"] is None


def test_payback_from_an_upper_bound_is_at_most(tmp_path: Path) -> None:
    # a grouped row of 2: 2 x 30 x £751 = £45,060 (a bound); saving £45,060 a year: 12
    # months at most
    c = file_costs(tmp_path, [cost_row(posts=2, age=None, cost=45060)])
    assert (c.figures["payback_months"], c.facts["payback_upper_bound"]) == (12, True)


def test_financial_year_runs_1_april_to_31_march() -> None:
    year = (dt.date(2026, 4, 1), dt.date(2027, 3, 31))       # 365 days
    assert fc.financial_year(dt.date(2026, 3, 31)) == (dt.date(2025, 4, 1), dt.date(2026, 3, 31))
    assert fc.financial_year(dt.date(2026, 4, 1)) == year
    assert fc.year_fraction(dt.date(2026, 4, 1), year) == 1
    assert fc.year_fraction(dt.date(2026, 4, 2), year) == D(364) / D(365)
    assert fc.year_fraction(dt.date(2027, 3, 31), year) == D(1) / D(365)
    assert fc.year_fraction(dt.date(2027, 4, 1), year) == 0


def test_only_occupied_single_post_rows_get_an_estimate_and_vacant_posts_get_nothing(
        tmp_path: Path) -> None:
    # 5 occupied single-post rows: 6 weeks x £751 each (the estimate); a vacant deleted
    # post with the same details: nothing; a grouped row of 2 with age, service and pay:
    # the bound, 2 x 30 x £751 (one row's details cannot be two people's)
    c = file_costs(tmp_path, [cost_row()] * 5 + [cost_row(vacant="Y"),
                                                 cost_row(posts=2)])
    assert c.figures["redundancy_people"] == 5
    assert c.figures["redundancy_pay_estimate"] == 5 * 6 * D(751)
    assert c.figures["redundancy_pay_bound"] == 2 * 30 * D(751)
    assert [(x["rows"], x["people"]) for x in c.facts["weekly_caps"]] == [(6, 5 + 2)]


def test_one_off_costs_are_redundancy_pay_and_strain_and_strain_of_few_is_hidden(
        tmp_path: Path) -> None:
    # 5 people, 6 weeks x £751 = £4,506 each; strain costs £10,000 for 4 of them (fewer
    # than 5: hidden, with the one-off total) then for all 5 (shown)
    four = file_costs(tmp_path, [cost_row(strain=10000)] * 4 + [cost_row()])
    assert four.figures["one_off_cost"] == 5 * 6 * D(751) + 4 * 10000
    assert {"strain_cost_total", "one_off_cost", "payback_months"} <= four.hidden
    five = file_costs(tmp_path, [cost_row(strain=10000)] * 5)
    assert five.figures["one_off_cost"] == 5 * 6 * D(751) + 5 * 10000
    assert not five.hidden


def test_the_saving_this_year_counts_deletions_from_their_date_and_new_posts_against_it(
        tmp_path: Path) -> None:
    # today 7 December 2026: the year 1 April 2026 - 31 March 2027 (365 days).  A post of
    # £36,500 deleted from 1 January 2027 saves 90 days (31 + 28 + 31): £9,000; a new
    # post of £3,650 from the same day costs 90 days: £900.  9,000 - 900 = £8,100
    c = file_costs(tmp_path, [cost_row(cost=36500, effective=dt.date(2027, 1, 1)),
                              cost_row(status="Created", age=None, cost=3650,
                                       effective=dt.date(2027, 1, 1))])
    assert c.figures["part_year_saving"] == D(9000) - D(900)


def test_s188_employed_counts_occupied_posts_only_and_first_dismissal_fills_undated(
        tmp_path: Path) -> None:
    # 20 occupied deleted (undated), 4 vacant retained, 6 occupied retained: employed is
    # 20 + 6 = 26; --first-dismissal 1 June 2026 dates the 20: consult by 2 May
    path = make_xlsx(tmp_path, [S188_COLS, s188_row(20, None),
                                [*s188_row(4, None, status="Retained")[:6], "Y", "Hub",
                                 "Hub", None],
                                s188_row(6, None, status="Retained")])
    pack = s188_json(path, "--first-dismissal", "2026-06-01")
    emp = pack["employer"]
    assert emp["descriptions"] == [{"title": "Support Worker", "grade": "Grade 6",
                                    "proposed": 20, "employed": 26}]
    assert (emp["first_dismissal"], emp["consultation_starts_by"]) == \
        ("2026-06-01", "2026-05-02")


def test_s188_a_deleted_post_with_vacant_blank_makes_the_count_an_upper_bound(
        tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [S188_COLS, s188_row(19, dt.date(2026, 6, 1)),
                                [*s188_row(1, dt.date(2026, 6, 1), title="Other")[:6], None,
                                 "Hub", "Hub", dt.date(2026, 6, 1)]])
    emp = s188_json(path)["employer"]
    # the blank one counts as occupied: 20, and an upper bound
    assert (emp["proposed_dismissals"], emp["upper_bound"]) == (20, True)
