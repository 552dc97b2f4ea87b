"""`impact costs`: redundancy pay counted as the GOV.UK calculator counts it, the weekly cap
in force on the dismissal date, the council's discretions, the saving split and payback.

Every redundancy pay fixture is written out year by year: the rate of each complete year
of service, counted back from the dismissal date, at the age the person was when that
year began (a person aged A at dismissal was A - k at the start of the k-th year back).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reports import intake
from reports.figures.costs import (
    CostOptions,
    costs,
    financial_year,
    redundancy_pay,
    upper_bound,
    year_fraction,
)
from reports.model import redundancy_rules as rules
from reports.model.errors import UsageProblem
from reports.render import costs as render_costs

from .conftest import make_xlsx

D = Decimal
AFTER_2026 = date(2026, 6, 1)     # cap £751

# (what, age at dismissal, years of service, the rate of each year counted back from the
# dismissal date, the first year first)
YEAR_BY_YEAR = [
    # age 21: years began at 20, 19 (under 22: half a week each)
    ("age 21, 2 years", 21, D(2), [D("0.5"), D("0.5")]),
    # age 22: the last year began at 21, so it is still a half week
    ("age 22, 2 years", 22, D(2), [D("0.5"), D("0.5")]),
    ("age 22, 3 years", 22, D(3), [D("0.5"), D("0.5"), D("0.5")]),
    # age 23: the last year began at 22 (one week), the one before at 21
    ("age 23, 2 years", 23, D(2), [D(1), D("0.5")]),
    # age 40: years began at 39, 38, 37, 36, 35
    ("age 40, 5 years", 40, D(5), [D(1), D(1), D(1), D(1), D(1)]),
    # age 41: the last year began at 40: one week, not one and a half
    ("age 41, 5 years", 41, D(5), [D(1), D(1), D(1), D(1), D(1)]),
    # age 42: the last year began at 41: one and a half weeks
    ("age 42, 5 years", 42, D(5), [D("1.5"), D(1), D(1), D(1), D(1)]),
    ("age 42, 2 years", 42, D(2), [D("1.5"), D(1)]),
    # 1 year: no payment (under 2 years); 2.9 years is 2 complete years
    ("age 42, 1 year", 42, D(1), []),
    ("age 42, 1.99 years", 42, D("1.99"), []),
    ("age 30, 2.9 years", 30, D("2.9"), [D(1), D(1)]),
    # age 50, 20 years: began at 49 ... 30: nine at 41-49, eleven at 30-40
    ("age 50, 20 years", 50, D(20), [D("1.5")] * 9 + [D(1)] * 11),
    # 25 years: only the 20 most recent count
    ("age 50, 25 years", 50, D(25), [D("1.5")] * 9 + [D(1)] * 11),
    # age 62, 25 years: the 20 most recent began at 61 ... 42, all 41 or over
    ("age 62, 25 years", 62, D(25), [D("1.5")] * 20),
    # age 25, 10 years: began at 24, 23, 22 (one week), then 21 ... 15 (half)
    ("age 25, 10 years", 25, D(10), [D(1)] * 3 + [D("0.5")] * 7),
]


@pytest.mark.parametrize("what,age,years,rates", YEAR_BY_YEAR, ids=[c[0] for c in YEAR_BY_YEAR])
@pytest.mark.parametrize("weekly_pay,week", [(D("500"), D("500")),          # below the cap
                                             (D("987.65"), D("751"))])      # above it
def test_redundancy_pay_year_by_year(what, age, years, rates, weekly_pay, week):
    expected = sum(rates, D(0)) * week
    assert redundancy_pay(age, years, weekly_pay, AFTER_2026) == expected
    assert rules.statutory_weeks(age, int(years)) == sum(rates, D(0))


def test_the_most_anyone_gets_in_2026_is_22530():
    # 20 years x 1.5 weeks x £751
    assert redundancy_pay(62, D(25), D("987.65"), date(2026, 4, 6)) == D("22530")
    assert 20 * D("1.5") * 751 == D("22530")


@pytest.mark.parametrize("year,before,after", [(2024, D(643), D(700)),
                                               (2025, D(700), D(719)),
                                               (2026, D(719), D(751))])
def test_the_cap_changes_on_6_april(year, before, after):
    # age 45, 4 years: began at 44, 43, 42, 41: 1.5 weeks each = 6 weeks, pay above any cap
    weeks = D("1.5") + D("1.5") + D("1.5") + D("1.5")
    assert redundancy_pay(45, D(4), D(900), date(year, 4, 5)) == weeks * before
    assert redundancy_pay(45, D(4), D(900), date(year, 4, 6)) == weeks * after
    # pay under both caps: the date makes no difference
    assert redundancy_pay(45, D(4), D(600), date(year, 4, 5)) == weeks * 600
    assert redundancy_pay(45, D(4), D(600), date(year, 4, 6)) == weeks * 600


def test_no_cap_is_known_before_april_2023():
    with pytest.raises(rules.NoCap):
        rules.weekly_cap(date(2023, 4, 5))
    assert rules.weekly_cap(date(2023, 4, 6)) == 643


def test_the_multiplier_stops_at_104_weeks():
    # age 62, 25 years: 30 statutory weeks (20 years x 1.5)
    statutory = D("1.5") * 20
    # x 3 = 90 weeks: under the limit
    assert redundancy_pay(62, D(25), D(500), AFTER_2026, multiplier=D(3)) == 90 * D(500)
    # x 4 = 120 weeks: held at 104
    assert statutory * 4 == 120
    assert redundancy_pay(62, D(25), D(500), AFTER_2026, multiplier=D(4)) == 104 * D(500)
    # actual pay instead of the cap, with the limit
    assert redundancy_pay(62, D(25), D("987.65"), AFTER_2026, multiplier=D(4),
                          actual_pay=True) == D("102715.60")
    assert redundancy_pay(62, D(25), D("987.65"), AFTER_2026,
                          actual_pay=True) == 30 * D("987.65")
    # age 30, 5 years: 5 weeks x 2.5 = 12.5 weeks, at the cap
    assert redundancy_pay(30, D(5), D(900), AFTER_2026, multiplier=D("2.5")) == \
        D("12.5") * 751


def test_the_upper_bound_is_30_weeks_at_the_cap():
    assert upper_bound(123, date(2026, 11, 23)) == 123 * 30 * D(751)
    assert upper_bound(2, date(2024, 4, 5)) == 2 * 30 * D(643)
    assert upper_bound(1, AFTER_2026, D(4)) == 104 * D(751)


def test_the_financial_year_and_its_share():
    assert financial_year(date(2026, 11, 23)) == (date(2026, 4, 1), date(2027, 3, 31))
    assert financial_year(date(2027, 3, 31)) == (date(2026, 4, 1), date(2027, 3, 31))
    assert financial_year(date(2027, 4, 1)) == (date(2027, 4, 1), date(2028, 3, 31))
    year = (date(2026, 4, 1), date(2027, 3, 31))        # 365 days
    # 1 October 2026 to 31 March 2027: 31+30+31+31+28+31 = 182 days
    assert year_fraction(date(2026, 10, 1), year) == D(182) / D(365)
    assert year_fraction(date(2026, 4, 1), year) == 1
    assert year_fraction(None, year) == 1
    assert year_fraction(date(2027, 4, 1), year) == 0


# --------------------------------------------------------------------------
# the whole file

PEOPLE_HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant",
                 "Annual cost", "Age", "Years of service", "Weekly pay", "Pension member",
                 "Strain cost", "Effective date"]


def _people(tmp_path, rows):
    return make_xlsx(tmp_path, [PEOPLE_HEADER] + rows)


def test_costs_of_a_file_with_ages_service_and_pay(tmp_path):
    path = _people(tmp_path, [
        # at risk, age 42, 5 years, £500 a week: 5.5 weeks = £2,750; member 5 years
        ["A", "Worker", "G5", 1, 1, "Deleted", "N", 30000, 42, 5, 500, 5, None, "2026-10-01"],
        # at risk, age 58, 30 years, £987.65: 20 years from 57 back to 38:
        # 57..41 = 17 x 1.5, 40..38 = 3 x 1 = 28.5 weeks at £751; strain flagged, £40,000
        ["A", "Manager", "G9", 1, 1, "Deleted", "N", 50000, 58, 30, "987.65", "Y", 40000,
         None],
        # vacant: no one is paid
        ["A", "Worker", "G5", 1, 1, "Deleted", "Y", 25000, None, None, None, None, None,
         None],
        # grouped row at risk: 2 people, upper bound 30 weeks x £751 each
        ["B", "Worker", "G5", 2, 2, "Deleted", "N", 60000, None, None, None, None, None,
         None],
        ["B", "Lead", "G7", 1, 1, "Retained", "N", 35000, 63, 10, 700, "Y", None, None],
        ["B", "New", "G6", 1, 1, "Created", "N", 20000, None, None, None, None, None,
         "2027-01-01"],
    ])
    report = intake.check(path)
    assert report.valid, report.findings.items
    opts = CostOptions(dismissal_date=date(2026, 11, 23), today=date(2026, 11, 23),
                       saving_target=D(100000))
    c = costs(report, opts)
    f = c.figures
    first = (D("1.5") + 4) * 500                       # 2,750
    second = (17 * D("1.5") + 3) * 751                 # 28.5 x 751
    bound = 2 * 30 * D(751)
    assert f["redundancy_people"] == 2
    assert f["redundancy_pay_estimate"] == first + second
    assert f["redundancy_pay_bound"] == bound
    assert f["strain_flagged_posts"] == 1
    assert f["strain_cost_total"] == D(40000)
    assert f["one_off_cost"] == first + second + bound + 40000
    saving = D(30000 + 50000 + 25000 + 60000 - 20000)
    assert f["annual_saving"] == saving
    assert f["saving_target_gap"] == saving - 100000
    # this year: the first row from 1 October (182 of 365 days), the new post from
    # 1 January 2027 (90 days: 31 + 28 + 31), the rest all year
    part = (D(30000) * 182 / 365 + 50000 + 25000 + 60000 - D(20000) * 90 / 365)
    assert f["part_year_saving"] == part.quantize(D("0.01"))
    months = ((first + second + bound + 40000) / saving * 12).quantize(D("0.1"))
    assert f["payback_months"] == months
    assert c.facts["saving_split"]["vacant_deleted_cost"] == 25000
    assert c.facts["saving_split"]["at_risk_cost"] == 140000
    # 2 people's pay, 1 person's strain: hidden in every output, with what reveals them
    assert c.hidden == {"redundancy_pay_estimate", "strain_cost_total", "strain_flagged_posts",
                        "one_off_cost", "payback_months"}
    assert c.to_dict()["figures"]["strain_cost_total"] == "[c]"
    assert c.to_dict()["figures"]["redundancy_pay_bound"] == 2 * 30 * 751


def test_without_ages_the_pay_is_an_upper_bound_labelled_as_one(tmp_path):
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status",
                                 "Vacant"],
                                ["A", "W", "G1", 3, 3, "Deleted", "N"],
                                ["A", "W", "G1", 1, 1, "Deleted", "Y"]])
    c = costs(intake.check(path), CostOptions(dismissal_date=date(2025, 4, 5),
                                              today=date(2025, 4, 5)))
    assert c.figures["redundancy_pay_bound"] == 3 * 30 * D(700)
    assert "redundancy_pay_estimate" not in c.figures
    assert any("upper bound only" in n for n in c.notes)
    assert "annual_saving" not in c.figures


def test_a_multiplier_not_above_0_and_a_date_before_the_caps_are_refused(tmp_path, valid_xlsx):
    report = intake.check(valid_xlsx)
    with pytest.raises(UsageProblem, match="--multiplier"):
        costs(report, CostOptions(dismissal_date=AFTER_2026, today=AFTER_2026,
                                  multiplier=D(0)))
    with pytest.raises(UsageProblem, match="--dismissal-date"):
        costs(report, CostOptions(dismissal_date=date(2020, 1, 1), today=AFTER_2026))


# --------------------------------------------------------------------------
# the commands


def test_costs_json_is_the_library_result(tmp_path):
    import json

    from reports.render.data import to_json

    from .conftest import invoke, sample

    path = sample("derbyshire_early_help.xlsx")
    out = invoke("costs", path, "--format", "json", "--dismissal-date", "2025-04-05",
                 "--saving-target", "3900000")
    assert out.exit_code == 0, out.stderr
    lib = costs(intake.check(path), CostOptions(dismissal_date=date(2025, 4, 5),
                                                today=date.today(),
                                                saving_target=D(3900000)))
    got = json.loads(out.stdout)
    assert got == json.loads(to_json(lib.to_dict()))
    # 123 occupied posts deleted (the README's summary) x 30 weeks x £700 (5 April 2025)
    assert got["figures"]["redundancy_pay_bound"] == 123 * 30 * 700
    assert got["figures"]["saving_target_gap"] == 5242253 - 3900000


def test_costs_usage_errors_exit_2_and_an_invalid_file_exits_1(tmp_path):
    from .conftest import invoke, sample

    path = sample("derbyshire_early_help.xlsx")
    assert invoke("costs", path, "--multiplier", "0").exit_code == 2
    assert invoke("costs", path, "--dismissal-date", "2020-01-01").exit_code == 2
    assert invoke("costs", path, "--dismissal-date", "tomorrow").exit_code == 2
    assert invoke("costs", sample("broken_example.xlsx")).exit_code == 1
    assert invoke("equality", sample("broken_example.xlsx")).exit_code == 1


def test_costs_csv_has_every_figure(tmp_path):
    import csv
    import io

    from .conftest import invoke, sample

    out = invoke("costs", sample("derbyshire_early_help.xlsx"), "--format", "csv",
                 "--dismissal-date", "2026-04-06")
    rows = {r["figure"]: r["value"] for r in csv.DictReader(io.StringIO(out.stdout))}
    assert rows["redundancy_pay_bound"] == str(123 * 30 * 751)
    assert rows["annual_saving"] == "5242253"
    assert rows["relocated_cost"] == "235056.5"


def test_bad_age_and_pay_cells_are_found_without_repeating_them(tmp_path):
    path = _people(tmp_path, [
        ["A", "Worker", "G5", 1, 1, "Deleted", "N", 30000, "sixty", 5, "lots", "maybe", None,
         "soon"],
        ["A", "Worker", "G5", 1, 1, "Deleted", "N", 30000, 30, 20, 500, "N", None, None],
    ])
    report = intake.check(path)
    assert report.valid
    bad = [(f.code, f.cell, f.value) for f in report.findings.warnings]
    assert bad == [("effective-date-invalid", "N2", "soon"),   # not personal: echoed
                   ("sensitive-value-invalid", "I2", None),
                   ("sensitive-value-invalid", "K2", None),
                   ("sensitive-value-invalid", "L2", None),
                   # 20 years' service at age 30 would start at 10
                   ("sensitive-value-invalid", "J3", None)]
    for f in report.findings.warnings:
        for value in ("sixty", "lots", "maybe"):
            assert value not in f.message


def test_pension_strain_flags_55_and_over_with_2_years_membership(tmp_path):
    blank = [None] * 2
    path = _people(tmp_path, [
        # flagged: 55, member for 2 years
        ["A", "W", "G", 1, 1, "Deleted", "N", 1, 55, 10, 500, 2, *blank],
        # flagged: 60, "Y", with 3 years' service as the membership
        ["A", "W", "G", 1, 1, "Deleted", "N", 1, 60, 3, 500, "Y", *blank],
        # not: 54
        ["A", "W", "G", 1, 1, "Deleted", "N", 1, 54, 30, 500, "Y", *blank],
        # not: 1.5 years of membership
        ["A", "W", "G", 1, 1, "Deleted", "N", 1, 58, 30, 500, "1.5", *blank],
        # not: not a member
        ["A", "W", "G", 1, 1, "Deleted", "N", 1, 64, 30, 500, "N", *blank],
        # not: kept
        ["A", "W", "G", 1, 1, "Retained", "N", 1, 64, 30, 500, "Y", *blank],
        # not: vacant
        ["A", "W", "G", 1, 1, "Deleted", "Y", 1, 64, 30, 500, "Y", *blank],
    ])
    c = costs(intake.check(path), CostOptions(dismissal_date=AFTER_2026, today=AFTER_2026))
    assert c.figures["strain_flagged_posts"] == 2
    assert "strain_flagged_posts" in c.hidden           # 2 people: under 5


def test_effective_dates_as_text_and_as_dates(tmp_path):
    from .conftest import make_csv

    # (a Posts column: without one the people in the posts are not known, and costs refuses)
    rows = [["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Annual cost",
             "Effective date"],
            ["A", "W", "G", 1, 1, "Deleted", 36500, "01/10/2026"],
            ["A", "W", "G", 1, 1, "Deleted", 36500, "2026-10-01"],
            ["A", "W", "G", 1, 1, "Deleted", 36500, ""]]
    path = make_csv(tmp_path, rows)
    c = costs(intake.check(path), CostOptions(dismissal_date=AFTER_2026,
                                              today=date(2026, 11, 23)))
    # two from 1 October (182 of 365 days: £100 a day), one all year
    assert c.figures["part_year_saving"] == 2 * 182 * 100 + 36500
    assert any("1 deleted or new row(s) give no effective date" in n for n in c.notes)


# --------------------------------------------------------------------------
# each person's own dismissal date (issue 25, item 1) and payback from a bound (item 5)

DATED_HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant",
                "Annual cost", "Age", "Years of service", "Weekly pay", "Dismissal date"]
TODAY = date(2026, 12, 7)          # cap £751: what the tool used for everyone before


def _dated(tmp_path, rows):
    report = intake.check(make_xlsx(tmp_path, [DATED_HEADER] + rows))
    assert report.valid, report.findings.items
    return report


def _today_options(**kw):
    return CostOptions(dismissal_date=TODAY, today=TODAY, dismissal_date_given=False, **kw)


def test_five_people_dismissed_on_5_april_2026_are_paid_at_the_719_cap(tmp_path):
    # The example: age 50, 10 years: the years began at 49, 48 ... 41 (9 x 1.5
    # weeks) and at 40 (1 week) = 14.5 weeks; £900 a week is over both caps.  The cap in
    # force on 5 April 2026 is £719 (the 2025 Order), not today's £751.
    weeks = 9 * D("1.5") + 1
    assert weeks == D("14.5")
    report = _dated(tmp_path, [["A", "Worker", "G5", 1, 1, "Deleted", "N", 30000, 50, 10, 900,
                                "2026-04-05"]] * 5)
    c = costs(report, _today_options())
    assert c.figures["redundancy_pay_estimate"] == 5 * weeks * 719 == D("52127.50")
    assert c.figures["redundancy_pay_estimate"] != D("54447.50")     # 5 x 14.5 x £751
    caps = c.to_dict()["facts"]["weekly_caps"]
    assert caps == [{"weekly_cap": 719, "in_force_from": "2025-04-06",
                     "dismissal_dates": ["2026-04-05"], "rows": 5, "people": 5}]
    text = render_costs.costs_text(c)
    assert "£719" in text and "£751" not in text


def test_every_cap_that_applied_is_listed_with_its_people_and_dates(tmp_path):
    report = _dated(tmp_path, [
        # 5 people on 5 April 2026 (£719), 5 on 6 April 2026 (£751): 14.5 weeks each
        *[["A", "Worker", "G5", 1, 1, "Deleted", "N", 30000, 50, 10, 900, "2026-04-05"]] * 5,
        *[["A", "Worker", "G5", 1, 1, "Deleted", "N", 30000, 50, 10, 900, "2026-04-06"]] * 5,
        # a grouped row of 3 dismissed on 5 April 2025: upper bound at that day's £700
        ["B", "Worker", "G5", 3, 3, "Deleted", "N", 90000, None, None, None, "2025-04-05"],
        # a grouped row of 2 with no date: the --dismissal-date (5 April 2024, £643)
        ["B", "Worker", "G5", 2, 2, "Deleted", "N", 60000, None, None, None, None],
    ])
    opts = CostOptions(dismissal_date=date(2024, 4, 5), today=TODAY)
    c = costs(report, opts)
    weeks = D("14.5")
    assert c.figures["redundancy_pay_estimate"] == 5 * weeks * 719 + 5 * weeks * 751
    assert c.figures["redundancy_pay_bound"] == 3 * 30 * D(700) + 2 * 30 * D(643)
    caps = c.to_dict()["facts"]["weekly_caps"]
    assert caps == [
        {"weekly_cap": 643, "in_force_from": "2023-04-06", "dismissal_dates": ["2024-04-05"],
         "rows": 1, "people": 2},
        {"weekly_cap": 700, "in_force_from": "2024-04-06", "dismissal_dates": ["2025-04-05"],
         "rows": 1, "people": 3},
        {"weekly_cap": 719, "in_force_from": "2025-04-06", "dismissal_dates": ["2026-04-05"],
         "rows": 5, "people": 5},
        {"weekly_cap": 751, "in_force_from": "2026-04-06", "dismissal_dates": ["2026-04-06"],
         "rows": 5, "people": 5},
    ]
    assert "weekly_cap" not in c.facts            # no single cap is claimed
    text = render_costs.costs_text(c)
    for cap, people in (("£643", "2 people"), ("£700", "3 people"), ("£719", "5 people"),
                        ("£751", "5 people")):
        assert f"{cap} for {people}" in text
    assert "cap £751" not in text and "x £751)" not in text


def test_a_dismissal_date_before_the_first_cap_names_the_dismissal_date_column(tmp_path):
    report = _dated(tmp_path, [["A", "Worker", "G5", 1, 1, "Deleted", "N", 30000, 50, 10, 900,
                                "2023-04-05"]])
    with pytest.raises(UsageProblem, match="Dismissal date"):
        costs(report, _today_options())


def test_payback_from_an_upper_bound_is_at_most(tmp_path):
    # 2 people at risk on a grouped row: only a bound is known, 2 x 30 x £751 = £45,060;
    # saving £90,120 a year: 45,060 / 90,120 x 12 = 6 months, at most
    report = _dated(tmp_path, [["A", "Worker", "G5", 2, 2, "Deleted", "N", 90120, None, None,
                                None, "2026-06-01"]])
    c = costs(report, _today_options())
    assert c.figures["payback_months"] == 6
    assert c.to_dict()["facts"]["payback_upper_bound"] is True
    text = render_costs.costs_text(c)
    assert "at most 6.0 months" in text


def test_payback_from_estimates_only_is_not_a_bound(tmp_path):
    # 5 people, 14.5 weeks at £751 (6 April 2026) = £10,889.50 each, £54,447.50 in all;
    # saving 5 x £30,000: 54,447.50 / 150,000 x 12 = 4.35576 -> 4.4 months
    report = _dated(tmp_path, [["A", "Worker", "G5", 1, 1, "Deleted", "N", 30000, 50, 10, 900,
                                "2026-04-06"]] * 5)
    c = costs(report, _today_options())
    assert c.figures["payback_months"] == D("4.4")
    assert c.to_dict()["facts"]["payback_upper_bound"] is False
    text = render_costs.costs_text(c)
    assert "4.4 months" in text and "at most" not in text


def _briefing_html(path, audience):
    import html
    import re

    import reports
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin
    from reports.render.html import render_html

    report = reports.check(path)
    b = make_briefing(report, reports.summarise(report), load_builtin(audience))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", render_html(b))).split())


@pytest.mark.parametrize("audience", ["union", "management", "public"])
def test_briefing_payback_from_a_bound_is_at_most_and_names_each_cap(tmp_path, audience):
    # 6 people at risk on a grouped row dismissed 5 April 2026 (£719), 6 on one dismissed
    # 6 April 2026 (£751): bounds 6 x 30 x 719 + 6 x 30 x 751 = 129,420 + 135,180 = 264,600;
    # saving 12 x £44,100 = £529,200: 264,600 / 529,200 x 12 = 6 months, at most
    assert 6 * 30 * 719 + 6 * 30 * 751 == 264600
    path = make_xlsx(tmp_path, [DATED_HEADER,
                                ["A", "Worker", "G5", 6, 6, "Deleted", "N", 264600, None, None,
                                 None, "2026-04-05"],
                                ["B", "Worker", "G5", 6, 6, "Deleted", "N", 264600, None, None,
                                 None, "2026-04-06"],
                                ["C", "Lead", "G7", 6, 6, "Retained", "N", 300000, None, None,
                                 None, None]])
    text = _briefing_html(path, audience)
    assert "repaid by the annual saving in at most 6.0 months" in text
    assert "£719 (the cap from 6 April 2025)" in text
    assert "£751 (the cap from 6 April 2026)" in text
    assert "in force now" not in text
    assert ("for dismissals on 5 April 2026" in text) == (audience != "public")
