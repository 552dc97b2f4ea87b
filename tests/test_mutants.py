"""Edge tests written to kill the mutants that survived their modules' own tests (issue 25,
`bench/mutation.py`).  Each test is named after the rule it states; the expected values are
worked out here from that rule, never copied from an output.  The golden files play no
part: a re-recorded golden would approve the regression a mutant stands for.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reports import intake
from reports.figures import equality as equality_module
from reports.figures import totals as totals_module
from reports.figures.compare import (
    GROUP_KEYS,
    Change,
    GroupChange,
    Post,
    change_phrase,
    compare,
    figure_text,
    group_keys,
    post_lines,
)
from reports.figures.costs import (
    CostOptions,
    costs,
    person_totals_hidden,
    redundancy_pay,
    upper_bound,
    year_fraction,
)
from reports.figures.equality import EqualityRule, cell_text, equality, equality_header
from reports.figures.loss import information_loss
from reports.figures.pools import pools
from reports.figures.reconcile import claim_key, parse_value
from reports.figures.s188 import QUESTIONS, award_by_date, award_words, s188_pack
from reports.figures.totals import headline, summarise, totals_of
from reports.intake.rules import validate
from reports.intake.workbook import Workbook
from reports.model import measures
from reports.model import redundancy_rules as rules
from reports.model.errors import InvalidData, PostsNotGiven, UsageProblem
from reports.model.findings import Findings
from reports.model.formats import percent

from .conftest import invoke, make_csv, make_xlsx
from .test_consultation import COLS, RECON, TEAMS, row
from .test_consultation import reconcile as run_reconcile

# ---------------------------------------------------------------------------------------
# information loss (reports/figures/loss.py)

D = Decimal


def _loss_values(total: str | None, teams: dict[str, str], sites: dict[str, str]) -> dict:
    values: dict = {("team", t, "deleted_fte"): D(v) for t, v in teams.items()}
    values |= {("loc", s, "deleted_fte"): D(v) for s, v in sites.items()}
    if total is not None:
        values[("total", "deleted_fte")] = D(total)
    return values


def test_loss_line_states_each_kind_with_groups_in_exact_words() -> None:
    # teams: 10.50 of 20.00 shown (one of two), sites: 20.00 of 20.00 (one of one)
    values = _loss_values("20.00", {"A": "10.50", "B": "9.50"}, {"X": "20.00"})
    hidden = {("team", "B", "deleted_fte")}
    loss = information_loss(values, set(values), hidden)
    assert loss.text() == (
        "3 figures published, 1 hidden, 0 merged; "
        "deleted FTE visible by team 52.5% (10.5 of 20 FTE; 1 of 2 teams shown); "
        "deleted FTE visible by site 100.0% (20 of 20 FTE; 1 of 1 sites shown).")


def test_loss_line_skips_a_kind_with_no_groups_but_goes_on_to_the_next() -> None:
    # no team figures at all: the team part is left out, the site part still stated
    values = _loss_values("1234.5", {}, {"X": "1234.50", "Y": "100"})
    loss = information_loss(values, set(values), set())
    assert loss.text() == (
        "3 figures published, 0 hidden, 0 merged; "
        "deleted FTE visible by site 108.1% (1,334.5 of 1,234.5 FTE; 2 of 2 sites shown).")


def test_loss_share_is_not_applicable_when_nothing_is_deleted() -> None:
    # a total of 0, or no total at all, has no share: "n/a", and None in JSON
    for total in ("0", None):
        values = _loss_values(total, {"A": "0"}, {})
        loss = information_loss(values, set(values), set())
        assert loss.by["team"].share is None
        assert "deleted FTE visible by team n/a (0 of 0 FTE; 1 of 1 teams shown)" in loss.text()
        assert loss.as_json()["deleted_fte_by_team"]["share"] is None


def test_loss_sums_are_decimals_even_when_nothing_is_shown() -> None:
    values = _loss_values("3", {"A": "3"}, {})
    loss = information_loss(values, set(values), {("team", "A", "deleted_fte")})
    team = loss.by["team"]
    assert team.kind == "team" and loss.by["loc"].kind == "loc"
    assert isinstance(team.visible_fte, Decimal) and team.visible_fte == 0
    assert isinstance(team.merged_fte, Decimal) and team.merged_fte == 0


def test_loss_json_names_each_figure_and_a_public_hidden_total_says_why() -> None:
    values = _loss_values("5", {"A": "2", "other teams": "3"}, {})
    recoded = {("team", "S", "deleted_fte"): ("team", "other teams", "deleted_fte")}
    hidden = {("total", "deleted_fte")}
    loss = information_loss(values, set(values), hidden, recoded)
    out = loss.as_json(public=True)
    assert (out["figures_published"], out["figures_hidden"], out["figures_merged"]) == (2, 1, 1)
    assert out["deleted_fte_by_team"] == {
        "groups": 1, "shown": 1, "hidden": 0, "visible_fte": "2", "merged_fte": "3",
        "total_fte": None, "share": None}
    assert out["note"] == ("the whole file's deleted FTE is hidden, so its share is not "
                           "given: it would reveal the total")
    assert "note" not in loss.as_json(public=False)


# ---------------------------------------------------------------------------------------
# redundancy pay and costs (reports/model/redundancy_rules.py, reports/figures/costs.py)

COST_HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant",
               "Annual cost", "Age", "Years of service", "Weekly pay", "Pension member",
               "Strain cost", "Effective date"]
JUNE_2026 = date(2026, 6, 1)    # cap £751; financial year 1 April 2026 - 31 March 2027


def test_no_cap_before_the_first_order_names_its_date() -> None:
    with pytest.raises(rules.NoCap) as e:
        rules.weekly_cap(date(2023, 4, 5))
    assert str(e.value) == "no weekly pay cap is known before 6 April 2023"


def test_redundancy_pay_rounds_half_a_penny_up() -> None:
    # age 22, 3 years: the years began at 21, 20, 19: 3 x 0.5 = 1.5 weeks;
    # 1.5 x £100.03 = £150.045, to the penny half up: £150.05 (half-even would give .04)
    assert redundancy_pay(22, D(3), D("100.03"), JUNE_2026) == D("150.05")


def test_a_multiplier_of_2_doubles_the_weeks_under_104() -> None:
    # age 62, 25 years: 20 x 1.5 = 30 weeks; x 2 = 60 weeks, under the 104-week limit
    assert redundancy_pay(62, D(25), D(500), JUNE_2026, multiplier=D(2)) == 60 * D(500)
    assert upper_bound(1, JUNE_2026, D(2)) == 60 * D(751)


def test_a_change_on_the_last_day_of_the_year_saves_one_day() -> None:
    year = (date(2026, 4, 1), date(2027, 3, 31))       # 365 days
    assert year_fraction(date(2027, 3, 31), year) == D(1) / D(365)


@pytest.mark.parametrize("people,hidden", [(0, False), (4, True), (5, False), (6, False)])
def test_person_totals_of_fewer_than_5_people_are_hidden(people: int, hidden: bool) -> None:
    figures = {"redundancy_people": people, "redundancy_pay_estimate": D(1),
               "one_off_cost": D(2), "payback_months": D(3), "strain_flagged_posts": people}
    expect = ({"redundancy_pay_estimate", "one_off_cost", "payback_months",
               "strain_flagged_posts"} if hidden else set())
    assert person_totals_hidden(figures, {}) == expect
    # the strain cost on its own reveals one person's too, and takes the one-off cost along
    figures = {"strain_cost_total": D(1), "one_off_cost": D(2)}
    expect = {"strain_cost_total", "one_off_cost"} if hidden else set()
    assert person_totals_hidden(figures, {"strain_cost_people": people}) == expect


def test_costs_refuse_an_invalid_file_and_one_without_posts(tmp_path: Path) -> None:
    bad = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status"],
                               ["A", "W", "G1", "x", 1, "Deleted"]], name="bad.xlsx")
    report = intake.check(bad)
    with pytest.raises(InvalidData) as e:
        costs(report, CostOptions(dismissal_date=JUNE_2026, today=JUNE_2026))
    assert e.value.report is report
    n = len(report.findings.errors)
    assert str(e.value) == f"bad.xlsx has {n} error(s); fix them first"
    nopost = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status"],
                                  ["A", "W", "G1", 1, "Deleted"]], name="noposts.xlsx")
    with pytest.raises(PostsNotGiven) as p:
        costs(intake.check(nopost), CostOptions(dismissal_date=JUNE_2026, today=JUNE_2026))
    assert str(p.value) == ("noposts.xlsx has no Posts column, so the people in the posts on "
                            "each row are not known; add a Posts column")


def test_costs_take_the_first_cap_day_and_refuse_the_day_before(tmp_path: Path) -> None:
    def run(day: str) -> Any:
        path = make_xlsx(tmp_path, [COST_HEADER[:6] + ["Effective date"],
                                    ["A", "W", "G1", 1, 1, "Deleted", day]], name=f"{day}.xlsx")
        return costs(intake.check(path), CostOptions(dismissal_date=JUNE_2026, today=JUNE_2026))
    # 6 April 2023, the first cap's first day: 30 weeks x £643
    assert run("2023-04-06").figures["redundancy_pay_bound"] == 30 * D(643)
    with pytest.raises(UsageProblem) as e:
        run("2023-04-05")
    assert str(e.value) == ("1 at-risk row(s) are dismissed before 6 April 2023, the first "
                            "weekly pay cap this version knows; correct the Dismissal date (or "
                            "Effective date) column")


def test_costs_count_each_person_at_their_own_date_pay_and_discretions(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COST_HEADER,
        # age 30, 1 year: under 2 years, no payment
        ["A", "W", "G1", 1, 1, "Deleted", "N", 10000, 30, 1, 500, "N", None, None],
        # age 56, no service given: not estimated, so at the bound (30 x 2 weeks x £751);
        # a scheme member of 55+ whose membership is not known
        ["A", "W", "G1", 1, 1, "Deleted", "N", 15000, 56, None, 600, "Y", None, None],
        # age 42, 5 years: began at 41 (1.5), 40..37 (1 each) = 5.5 weeks, x 2 = 11 weeks at
        # the actual £900 (--actual-pay): £9,900
        ["A", "M", "G9", 1, 1, "Deleted", "N", 20000, 42, 5, 900, "Y", None, None],
        # age 40, 2 years: began at 39 and 38, 2 weeks, x 2 = 4 weeks x £300 = £1,200
        ["A", "W", "G1", 1, 1, "Deleted", "N", 0, 40, 2, 300, "N", None, None],
        # 2 people dismissed 5 April 2026 (cap £719): 2 x 60 weeks x £719 = £86,280
        ["B", "W", "G1", 2, 2, "Deleted", "N", 40000, None, None, None, None, None,
         "2026-04-05"],
        # a new post from 1 October 2026: 182 of 365 days this year
        ["B", "N", "G2", 1, 1, "Created", "N", 5000, None, None, None, None, None,
         "2026-10-01"],
    ])
    report = intake.check(path)
    assert report.valid, report.findings.items
    c = costs(report, CostOptions(dismissal_date=JUNE_2026, today=JUNE_2026,
                                  saving_target=D(1000), actual_pay=True, multiplier=D(2)))
    f, facts = c.figures, c.facts
    bound = 60 * D(751) + 2 * 60 * D(719)
    assert f["redundancy_people"] == 3
    assert f["redundancy_pay_estimate"] == 11 * D(900) + 1200
    assert f["redundancy_pay_bound"] == bound
    assert f["strain_flagged_posts"] == 0
    assert f["strain_cost_total"] == 0 and isinstance(f["strain_cost_total"], Decimal)
    assert f["one_off_cost"] == 11 * D(900) + 1200 + bound
    saving = D(10000 + 15000 + 20000 + 40000 - 5000)
    assert f["annual_saving"] == saving and f["saving_target_gap"] == saving - 1000
    # the rows with no date count all year; the pair from 5 April (361 days), the new post
    # from 1 October (182 days)
    part = D(10000 + 15000 + 20000) + D(40000) * 361 / 365 - D(5000) * 182 / 365
    assert f["part_year_saving"] == part.quantize(D("0.01"))
    assert f["payback_months"] == (f["one_off_cost"] / saving * 12).quantize(D("0.1"))
    assert facts["dismissal_date"] == "2026-06-01"
    assert facts["dismissal_date_from"] == ("--dismissal-date; a row's own Dismissal date (or "
                                            "else Effective date) where it gives one")
    # 4 people on no date of their own (--dismissal-date), 2 on their Effective date
    assert facts["dismissal_dates_from"] == {"dismissal_date_column": 0,
                                             "effective_date_column": 2, "no_date": 4}
    assert facts["weekly_caps"] == [
        {"weekly_cap": 719, "in_force_from": "2025-04-06", "dismissal_dates": ["2026-04-05"],
         "rows": 1, "people": 2},
        {"weekly_cap": 751, "in_force_from": "2026-04-06", "dismissal_dates": ["2026-06-01"],
         "rows": 4, "people": 4}]
    assert facts["one_off_cost_upper_bound"] is True and facts["payback_upper_bound"] is True
    assert facts["multiplier"] == 2
    assert facts["actual_pay"] is True and facts["saving_target"] == 1000
    assert facts["saving_split"]["deleted_cost"] == 85000
    assert facts["saving_split"]["created_cost"] == 5000
    assert facts["financial_year"] == "2026-27"
    assert facts["financial_year_dates"] == ["2026-04-01", "2027-03-31"]
    assert facts["people_under_two_years"] == 1
    assert facts["posts_bounded"] == 3
    assert facts["strain_cost_people"] == 0
    assert c.notes == [
        "4 deleted or new row(s) give no effective date; their saving counts from the start "
        "of the financial year.",
        "3 people at risk (on grouped rows, or without age, service or pay) are counted at "
        "the upper bound of 30 weeks at the cap.",
        "--actual-pay applies to the estimates only: the upper bound uses the cap, since it "
        "needs no one's pay.",
        "1 pension scheme member(s) aged 55 or over have no length of membership or service, "
        "so cannot be flagged.",
        "Totals of fewer than 5 people's age, pay or pension strain are hidden as [c] (they "
        "would show one person's), with the figures they would reveal."]
    out = c.to_dict()
    assert out["source"] == report.source and out["notes"] == c.notes
    assert out["facts"]["financial_year_dates"] == ["2026-04-01", "2027-03-31"]
    assert out["facts"]["weekly_caps"][0]["weekly_cap"] == 719
    assert out["figures"]["redundancy_pay_estimate"] == "[c]"
    json.dumps(out)     # every Decimal made a JSON number


def test_costs_without_pay_or_cost_columns_say_what_they_cannot_work_out(tmp_path: Path
                                                                          ) -> None:
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status",
                                 "Age", "Pension member"],
                                # 60, a member for 3 years: flagged for strain
                                ["A", "W", "G1", 1, 1, "Deleted", 60, 3]])
    c = costs(intake.check(path), CostOptions(dismissal_date=JUNE_2026, today=JUNE_2026,
                                              dismissal_date_given=False))
    assert c.facts["dismissal_date_from"] == ("today's date; --dismissal-date sets it; a row's "
                                              "own Dismissal date (or else Effective date) "
                                              "where it gives one")
    assert c.figures["strain_flagged_posts"] == 1
    assert c.figures["one_off_cost"] == 30 * D(751)     # no strain column adds nothing
    assert c.notes == [
        "The file does not say which posts are vacant, so every deleted post is counted as "
        "occupied: the redundancy figures are the most there could be.",
        "The file has no Annual cost column, so the saving, the target and payback cannot "
        "be worked out.",
        "Redundancy pay is an upper bound only: 1 people at risk x 30 weeks x the weekly cap "
        "in force on each one's dismissal date. Age, Years of service and Weekly pay columns "
        "give an estimate per person.",
        "No Strain cost column: the pension strain cost of the people flagged is not "
        "counted in the one-off costs (no actuarial factor is assumed).",
        "Totals of fewer than 5 people's age, pay or pension strain are hidden as [c] (they "
        "would show one person's), with the figures they would reveal."]


@pytest.mark.parametrize("deleted,created,months", [
    # one post at risk after 6 April 2026: one-off £22,530 (30 weeks x £751);
    # 22,530 / 120,160 x 12 = 2.25 months exactly: 2.3 to one place, half up
    (120160, 0, D("2.3")),
    (1001, 1000, D(22530 * 12)),     # a saving of £1: 270,360 months
    (1000, 1000, None),              # no saving: no payback
])
def test_payback_is_one_off_cost_over_the_monthly_saving(tmp_path: Path, deleted: int,
                                                          created: int, months: Any) -> None:
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status",
                                 "Vacant", "Annual cost", "Age"],
                                ["A", "W", "G1", 1, 1, "Deleted", "N", deleted, None],
                                ["A", "N", "G1", 1, 1, "Created", "N", created, None]])
    c = costs(intake.check(path), CostOptions(dismissal_date=JUNE_2026, today=JUNE_2026))
    assert c.figures["payback_months"] == months
    assert "strain_flagged_posts" not in c.figures      # an Age column alone flags no one
    assert ("No Effective date column: the saving in the current financial year cannot be "
            "worked out, only the full-year saving.") in c.notes
    assert c.notes[0].startswith("No Effective date column")   # the vacant column is given


def test_costs_count_every_scheme_member_whose_membership_is_not_known(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COST_HEADER,
        ["A", "W", "G1", 1, 1, "Deleted", "N", 1, 56, None, 600, "Y", None, None],
        ["A", "W", "G1", 1, 1, "Deleted", "N", 1, 60, None, 600, "Y", None, None]])
    c = costs(intake.check(path), CostOptions(dismissal_date=JUNE_2026, today=JUNE_2026))
    assert ("2 pension scheme member(s) aged 55 or over have no length of membership or "
            "service, so cannot be flagged.") in c.notes


def test_estimates_without_a_vacant_column_are_an_upper_bound_in_decimals(tmp_path: Path
                                                                          ) -> None:
    # no Vacant column: the one deleted post is counted as occupied, so its estimate (age
    # 40, 5 years: 5 weeks x £300 = £1,500) is the most it could be; no bound is needed
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status",
                                 "Age", "Years of service", "Weekly pay"],
                                ["A", "W", "G1", 1, 1, "Deleted", 40, 5, 300]])
    c = costs(intake.check(path), CostOptions(dismissal_date=JUNE_2026, today=JUNE_2026))
    assert c.figures["redundancy_pay_estimate"] == 1500
    assert c.figures["redundancy_pay_bound"] == 0
    assert isinstance(c.figures["redundancy_pay_bound"], Decimal)
    assert c.facts["one_off_cost_upper_bound"] is True


def test_part_year_saving_rounds_half_a_penny_up(tmp_path: Path) -> None:
    # 2027-28 has 366 days (29 February 2028); from 1 October 2027 to 31 March 2028 is
    # 31+30+31+31+29+31 = 183 days, half the year: half of £10,000.01 is £5,000.005,
    # to the penny half up £5,000.01 (half-even would give £5,000.00)
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status",
                                 "Vacant", "Annual cost", "Effective date"],
                                ["A", "W", "G1", 1, 1, "Deleted", "Y", "10000.01",
                                 "2027-10-01"]])
    c = costs(intake.check(path), CostOptions(dismissal_date=date(2027, 5, 1),
                                              today=date(2027, 5, 1)))
    assert c.figures["part_year_saving"] == D("5000.01")


# ---------------------------------------------------------------------------------------
# the s.188 pack (reports/figures/s188.py)

S188_HEADER = ["Establishment", "Location", "Team", "Job title", "Grade", "FTE", "Posts",
               "Status", "Dismissal date"]
NEW_YEAR_2026 = date(2026, 1, 1)      # rules of 2013: a protective award of 90 days


def _s188(tmp_path: Path, rows: list[list[Any]], header: list[str] = S188_HEADER,
          **kw: Any) -> Any:
    path = make_xlsx(tmp_path, [header, *rows])
    report = intake.check(path)
    assert report.valid, report.findings.items
    return s188_pack(report, today=NEW_YEAR_2026, **kw)


def test_s188_establishments_in_natural_order_each_with_its_own_descriptions(tmp_path: Path
                                                                             ) -> None:
    # no Vacant column (every deleted post counts: an upper bound), no dates
    pack = _s188(tmp_path, [
        ["Site 10", "North", "T", "Worker 10", "G1", 1, 1, "Deleted", None],
        ["Site 9", "", "T", "Clerk", "G2", 2, 2, "Retained", None],   # no dismissals
        ["Site 9", "", "T", "Worker 9", "G1", 1, 1, "Deleted", None],
        ["Site 2", "", "T", "Worker 2", "G1", 3, 3, "Deleted", None],
        ["Site 11", "", "T", "Clerk", "G2", 1, 1, "Retained", None],  # none at all
    ], description=("title", "location"))
    assert pack.by == "establishment" and pack.dated is False
    units = {u.name: u for u in pack.establishments}
    assert list(units) == ["Site 2", "Site 9", "Site 10", "Site 11"]
    assert all(u.upper_bound is True for u in pack.establishments)
    # Site 9: the retained clerks give no description line (0 proposed), the worker does
    # (a blank location is "(not given)")
    assert units["Site 9"].descriptions == [
        {"title": "Worker 9", "location": "(not given)", "proposed": 1, "employed": 1}]
    assert units["Site 10"].descriptions == [
        {"title": "Worker 10", "location": "North", "proposed": 1, "employed": 1}]
    # no dismissals at all: the award is still the law's maximum on the day
    assert units["Site 11"].protective_award_max_days == 90
    assert units["Site 11"].to_dict()["window"] is None
    # the whole employer's descriptions, in natural order of title
    assert [(d["title"], d["proposed"]) for d in pack.employer.descriptions] == [
        ("Worker 2", 3), ("Worker 9", 1), ("Worker 10", 1)]
    out = pack.to_dict()
    assert out["employer"]["name"] == "Whole employer"
    assert out["rules_as_of"] == "2013-04-06" and out["rules_for"] == "2026-01-01"
    assert out["rules_source"] == "TULRCA 1992 s.188(1A), s.189(4), s.193; SI 2013/763"
    assert out["description_by"] == ["title", "location"]
    assert out["questions"] == list(QUESTIONS)
    assert out["notes"] == [
        "The file does not say which deleted posts are vacant, so every deleted post is "
        "counted as a dismissal: the figures are an upper bound.",
        "No dismissal dates are given (no Dismissal date column and no date of the first "
        "dismissal), so all dismissals are counted as one 90-day window and no deadline "
        "can be worked out."]


def test_s188_notes_count_undated_dismissals_and_vacant_deleted_posts(tmp_path: Path) -> None:
    header = [*S188_HEADER, "Vacant"]
    pack = _s188(tmp_path, [
        ["Hub", "", "T", "W", "G1", 2, 2, "Deleted", "2026-03-01", "N"],
        ["Hub", "", "T", "W", "G1", 3, 3, "Deleted", None, "N"],
        ["Hub", "", "T", "W", "G1", 1, 1, "Deleted", None, "Y"],      # vacant
    ], header=header)
    assert pack.dated is True and pack.upper_bound is False
    assert pack.notes == [
        "1 vacant deleted post(s) are not dismissals and are not counted.",
        "3 dismissal(s) have no date; they are counted in every 90-day window."]


def test_s188_with_no_establishment_values_is_the_whole_employer(tmp_path: Path) -> None:
    pack = _s188(tmp_path, [["", "", "T", "W", "G1", 1, 1, "Deleted", None]])
    assert pack.by == "employer"
    with pytest.raises(UsageProblem) as e:
        _s188(tmp_path, [["", "", "T", "W", "G1", 1, 1, "Deleted", None]],
              establishment="location")
    assert str(e.value) == ("--establishment location: the file gives no location for its "
                            "posts; choose another, or 'employer'")


@pytest.mark.parametrize("option,kw", [("--establishment", {"establishment": "salary"}),
                                       ("--description", {"description": ("salary",)})])
def test_s188_refuses_a_column_it_cannot_use_and_names_those_it_can(tmp_path: Path,
                                                                    option: str,
                                                                    kw: dict) -> None:
    with pytest.raises(UsageProblem) as e:
        _s188(tmp_path, [["Hub", "", "T", "W", "G1", 1, 1, "Deleted", None]], **kw)
    assert str(e.value) == (f"{option} 'salary' is not a column it can use; choose from "
                            "establishment, location, team, title, grade, site_type")


def test_s188_pack_needs_a_posts_column(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status"],
                                ["T", "W", "G1", 1, "Deleted"]], name="noposts.xlsx")
    with pytest.raises(PostsNotGiven) as e:
        s188_pack(intake.check(path), today=NEW_YEAR_2026)
    assert str(e.value) == ("noposts.xlsx has no Posts column, so the number of posts (and "
                            "people) on each row is not known and dismissals cannot be "
                            "counted; add a Posts column")


def test_protective_award_counts_every_dismissal_and_every_undated_one() -> None:
    # a row with no dismissals first is skipped, not the end of the count; the undated
    # dismissals (2 + 3) are taken as on 1 January 2026: 90 days, with the dated 4
    got = award_by_date([None, None, None, date(2026, 2, 1)], [0, 2, 3, 4], NEW_YEAR_2026)
    assert [(a["max_days"], a["dismissals"], a["undated"]) for a in got] == [(90, 9, 5)]


def test_protective_award_words_name_each_maximum_with_its_dismissals_and_dates() -> None:
    award = [{"max_days": 90, "dismissals": 3, "first": "2026-04-01", "last": "2026-04-05",
              "undated": 2},
             {"max_days": 180, "dismissals": 1, "first": "2026-04-06", "last": "2026-04-06",
              "undated": 0}]
    assert award_words(award, None) == (
        "up to 90 days' pay for 3 dismissals (1 April 2026 to 5 April 2026; 2 of them with "
        "no date); up to 180 days' pay for 1 dismissal (6 April 2026)")


# ---------------------------------------------------------------------------------------
# selection pools (reports/figures/pools.py)

POOL_HEADER = ["Team", "Location", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant"]


def _pools(tmp_path: Path, rows: list[list[Any]], **kw: Any) -> Any:
    path = make_xlsx(tmp_path, [POOL_HEADER, *rows])
    report = intake.check(path)
    assert report.valid, report.findings.items
    return pools(report, **kw)


def test_pools_losing_all_and_losing_some_are_counted_apart(tmp_path: Path) -> None:
    p = _pools(tmp_path, [
        ["A", "", "Clerk", "G1", 1, 1, "Deleted", "N"],       # A clerks: losing all
        ["B", "", "Clerk", "G1", 2, 2, "Deleted", "N"],       # B clerks: losing all
        ["C", "", "Clerk", "G1", 1, 1, "Deleted", "N"],       # C clerks: losing some
        ["C", "", "Clerk", "G1", 1, 1, "Retained", "N"],
        ["D", "", "Clerk", "G1", 1, 1, "Retained", "N"],      # not affected
    ])
    t = p.totals()
    assert (t["pools"], t["affected_pools"], t["pools_losing_all"], t["pools_losing_some"]) \
        == (4, 3, 2, 1)


def test_pools_match_available_posts_of_the_same_grade_and_one_step_either_side(
        tmp_path: Path) -> None:
    # an at-risk pool at G3; new posts at G1 .. G5, 1, 2, 4, 8 and 16 of them
    rows = [["A", "", "Clerk", "G3", 1, 1, "Deleted", "N"]]
    rows += [["N", "", "New", f"G{g}", n, n, "Created", "N"]
             for g, n in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 16))]
    p = _pools(tmp_path, rows)
    # G2, G3 and G4: 2 + 4 + 8
    assert p.totals()["matched_posts_available"] == 14
    assert p.totals()["redeployment_posts_available"] == 31


def test_pools_that_sort_alike_keep_the_order_they_first_appear_in(tmp_path: Path) -> None:
    """Pools are listed in natural order of their names; two names that sort alike
    ("early help" and "Early Help": the order ignores case) stay in the order the file
    first gives them, whichever comes first in the alphabet."""
    rows = [["early help", "", "Clerk", "G1", 1, 1, "Deleted", "N"],
            ["Early Help", "", "Clerk", "G1", 1, 1, "Deleted", "N"],
            ["Bravo", "", "Clerk", "G1", 1, 1, "Deleted", "N"]]
    p = _pools(tmp_path, rows)
    assert [x.key["team"] for x in p.affected_pools] == ["Bravo", "early help", "Early Help"]
    p = _pools(tmp_path, [rows[1], rows[0], rows[2]])
    assert [x.key["team"] for x in p.affected_pools] == ["Bravo", "Early Help", "early help"]


def test_pools_with_none_at_risk_are_an_upper_bound_only_without_a_vacant_column(
        tmp_path: Path) -> None:
    """Rule: without a Vacant column every post counts as occupied, so the pools are an
    upper bound; that holds when no pool loses posts too (a file of new and relocated
    posts only), and a file that says which posts are vacant is not an upper bound."""
    rows = [["A", "", "Clerk", "G1", 1, 1, "Created", "N"],
            ["B", "", "Clerk", "G1", 1, 1, "Relocated", "N"]]
    with_vacant = _pools(tmp_path, rows)
    path = make_xlsx(tmp_path, [POOL_HEADER[:-1], *(r[:-1] for r in rows)], name="nv.xlsx")
    report = intake.check(path)
    assert report.valid and not report.has_vacant
    without = pools(report)
    assert with_vacant.affected_pools == [] and without.affected_pools == []
    assert with_vacant.upper_bound is False and without.upper_bound is True


def test_pools_name_a_blank_pool_column_not_given(tmp_path: Path) -> None:
    p = _pools(tmp_path, [["A", "", "Clerk", "G1", 1, 1, "Deleted", "N"],
                          ["A", "North", "Clerk", "G1", 1, 1, "Deleted", "N"]],
               pool_by=("location", "title", "grade"))
    assert sorted(x.key["location"] for x in p.pools) == ["(not given)", "North"]


def test_pools_refuse_a_column_they_cannot_use_and_a_file_without_posts(tmp_path: Path
                                                                        ) -> None:
    with pytest.raises(UsageProblem) as e:
        _pools(tmp_path, [["A", "", "Clerk", "G1", 1, 1, "Deleted", "N"]], pool_by=("pay",))
    assert str(e.value) == ("--pool-by 'pay' is not a column it can use; choose from "
                            "establishment, location, team, title, grade, site_type")
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status"],
                                ["T", "W", "G1", 1, "Deleted"]], name="noposts.xlsx")
    with pytest.raises(PostsNotGiven) as p:
        pools(intake.check(path))
    assert str(p.value) == ("noposts.xlsx has no Posts column, so the number of posts on each "
                            "row is not known and pools cannot be counted; add a Posts column")


# ---------------------------------------------------------------------------------------
# equality (reports/figures/equality.py)

EQ_HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Sex"]
KEPT_BOTH = ("Kept means retained or relocated: an occupied post is kept unless it is "
             "deleted (a relocated post's holder keeps a job, in another service).")


def test_equality_rule_says_why_each_characteristic_is_hidden_or_shown() -> None:
    union = EqualityRule(in_full=frozenset({"sex"}), audience="union")
    assert union.said("sex") == "shown in full (not special category data; for consultation)"
    assert union.said("ethnicity") == "counts under 5 hidden (special category data)"
    assert union.said("age_band") == "counts under 5 hidden (protected by this template)"
    assert EqualityRule(audience="public").said("sex") == "counts under 5 hidden (public output)"
    assert EqualityRule(threshold=3).said("sex") == "counts under 3 hidden (audience not known)"


def test_equality_method_names_what_is_shown_hidden_and_special_in_that_order() -> None:
    rule = EqualityRule(in_full=frozenset({"part_time", "sex"}), audience="union")
    assert rule.sentences(["part_time", "sex", "ethnicity", "age_band"]) == [
        "Shown in full, however small the counts: Full-time or part-time (from FTE), Sex. "
        "These are personal data but not special category data, and equality analyses are "
        "shared with those consulted at an aggregate level, with no per-person rows.",
        "Counts under 5, and any figure that would reveal one, are hidden as [c]: Ethnicity, "
        "Age band. Ethnicity: special category data (UK GDPR Article 9), protected in every "
        "audience.",
        KEPT_BOTH]
    # nothing special among them: no sentence about Article 9
    assert EqualityRule().sentences(["sex"]) == [
        "Counts under 5, and any figure that would reveal one, are hidden as [c]: Sex.",
        KEPT_BOTH]
    # no keys given: every characteristic
    assert EqualityRule().sentences()[0] == (
        "Counts under 5, and any figure that would reveal one, are hidden as [c]: Full-time "
        "or part-time (from FTE), Sex, Age band, Ethnicity, Disability, Working pattern (as "
        "recorded). Ethnicity, Disability: special category data (UK GDPR Article 9), "
        "protected in every audience.")


def test_equality_cells_for_people() -> None:
    assert cell_text("fisher_p", None) == "–"
    assert cell_text("below_four_fifths", True) == "FLAG"
    assert cell_text("below_four_fifths", False) == ""
    assert cell_text("fisher_p", D("0.00009999")) == "<0.0001"
    assert cell_text("fisher_p", D("0.0001")) == "0.0001"
    assert equality_header() == ["Group", "Occupied", "At risk", "Kept", "Retention",
                                 "Ratio to best", "Under 0.8", "Fisher p"]


def test_equality_hides_a_small_group_and_the_counts_that_would_give_it_away(
        tmp_path: Path) -> None:
    # women: 3 posts, 1 at risk; men: 20, 5 at risk.  Every count of the women is under 5;
    # with the totals shown, each of the men's counts would give the women's away.
    rows = [EQ_HEADER]
    rows += [["A", "W", "G1", 1, 1, "Deleted" if i < 1 else "Retained", "N", "Women"]
             for i in range(3)]
    rows += [["A", "W", "G1", 1, 1, "Deleted" if i < 5 else "Retained", "N", "Men"]
             for i in range(20)]
    e_report = intake.check(make_xlsx(tmp_path, rows))
    e = equality(e_report)
    sex = next(c for c in e.characteristics if c.key == "sex")
    rows_by = {r["group"]: r for r in sex.rows}
    names = ("eq_baseline_posts", "eq_at_risk_posts", "eq_retained_posts")
    assert [rows_by["Women"][k] for k in names] == ["[c]"] * 3
    # each of the women's counts is the total less the men's: one of the two is hidden
    for k in names:
        assert "[c]" in (rows_by["Men"][k], sex.total[k]), k
    out = e.to_dict()
    assert set(out) == {"source", "threshold", "kept", "kept_means", "characteristics",
                        "notes"}
    assert out["threshold"] == 5 and out["source"] == e.source and out["notes"] == e.notes
    c = next(c for c in out["characteristics"] if c["characteristic"] == "sex")
    assert set(c) == {"characteristic", "label", "rule", "groups", "total", "flagged",
                      "notes"}
    assert c["label"] == "Sex" and c["rule"] == "counts under 5 hidden (audience not known)"
    assert c["groups"][0]["group"] == "Men" and c["flagged"] == []
    assert c["total"]["group"] == "Total" and c["total"]["eq_baseline_posts"] == 23
    assert e.method() == EqualityRule().sentences(["part_time", "sex"])
    # shown in full (a union briefing's rule): a rate is a JSON number, 15 of 20 kept = 75%
    full = equality(e_report, EqualityRule(in_full=frozenset({"sex"}), audience="union"))
    men = next(g for c in full.to_dict()["characteristics"] if c["characteristic"] == "sex"
               for g in c["groups"] if g["group"] == "Men")
    assert men["retention_rate"] == 75 and isinstance(men["retention_rate"], float)
    assert men["eq_retained_posts"] == 15


def test_pools_list_available_posts_by_grade_team_and_title_in_natural_order(
        tmp_path: Path) -> None:
    p = _pools(tmp_path, [
        ["Team 10", "", "T1", "G10", 1, 1, "Created", "N"],
        ["Team 9", "", "Title 10", "G9", 1, 1, "Created", "N"],
        ["Team 9", "", "Title 9", "G9", 2, 2, "Created", "N"],
        ["Team 10", "", "Title 1", "G9", 1, 1, "Created", "N"],
        ["A", "", "Clerk", "G9", 1, 1, "Deleted", "N"],
    ])
    assert [(a["grade"], a["team"], a["title"]) for a in p.available] == [
        ("G9", "Team 9", "Title 9"), ("G9", "Team 9", "Title 10"),
        ("G9", "Team 10", "Title 1"), ("G10", "Team 10", "T1")]
    # the at-risk pool's candidates add up every available post of a grade: 2 + 1 + 1 at G9
    [pool] = p.affected_pools
    assert pool.candidates[0] == {"grade": "G9", "match": "same grade", "posts": 4}


# ---------------------------------------------------------------------------------------
# comparing two versions (reports/figures/compare.py)

CMP_HEADER = ["Post ID", "Team", "Job title", "Grade", "Location", "FTE", "Posts", "Status",
              "Destination", "Vacant"]


def test_compare_json_names_every_part_and_post_lines_give_grouped_posts(tmp_path: Path
                                                                         ) -> None:
    old = make_xlsx(tmp_path, [CMP_HEADER,
                               ["P1", "Team A", "Clerk", "G1", "Hub", 1, 1, "Retained", "", "N"],
                               ["P2", "Team A", "Clerk", "G1", "Hub", 1, 1, "Deleted", "", "N"]],
                    name="old.xlsx")
    new = make_xlsx(tmp_path, [CMP_HEADER,
                               ["P1", "Team A", "Clerk", "G1", "Hub", 1, 1, "Deleted", "", "N"],
                               ["P3", "Team A", "Clerk", "G1", "Hub", 2, 2, "Created", "", "N"]],
                    name="new.xlsx")
    c = compare(intake.check(old), intake.check(new), old_label="v1", new_label="v2")
    out = c.to_dict()
    assert set(out) == {"headline", "old", "new", "matched_on", "match_note", "counts",
                        "added", "removed", "changed", "totals", "by_team", "by_grade",
                        "notes"}
    assert set(out["old"]) == {"label", "source"} and out["old"]["label"] == "v1"
    assert set(out["new"]) == {"label", "source"} and out["new"]["label"] == "v2"
    assert out["matched_on"] == c.match and out["match_note"] == c.match_note
    assert (out["counts"]["added"], out["counts"]["removed"]) == (1, 1)
    [changed] = out["changed"]
    assert set(changed) == {"changes", "old", "new"} and changed["changes"] == ["status"]
    assert (changed["old"]["post_id"], changed["old"]["status"], changed["new"]["status"]) \
        == ("P1", "retained", "deleted")
    total = next(t for t in out["totals"] if t["key"] == "deleted_posts")
    assert total == {"key": "deleted_posts", "old": 1, "new": 1, "change": 0}
    assert out["by_team"][0]["team"] == "Team A"
    lines = {title: body for title, _, body in post_lines(c)}
    [added] = [b for t, b in lines.items() if "dded" in t]
    [removed] = [b for t, b in lines.items() if "emoved" in t]
    # a row of 2 posts says so; a single post does not
    assert added[0].endswith(": created, FTE 2, 2 posts")
    assert removed[0].endswith(": deleted, FTE 1")


def _cmp_file(tmp_path: Path, name: str, rows: list[list[Any]],
              header: list[str] = CMP_HEADER) -> Any:
    return intake.check(make_xlsx(tmp_path, [header, *rows], name=name))


def _cmp_row(pid: Any, team: str = "Team A", status: str = "Retained", dest: str = "",
             vacant: str = "N") -> list[Any]:
    return [pid, team, "Clerk", "G1", "Hub", 1, 1, status, dest, vacant]


def test_compare_a_destination_counts_only_for_a_relocated_post(tmp_path: Path) -> None:
    # a retained post's destination is ignored (intake warns), so changing it is no change
    old = _cmp_file(tmp_path, "old.xlsx", [_cmp_row("P1", dest="Homes"),
                                           _cmp_row("P2", status="Relocated", dest="Homes")])
    new = _cmp_file(tmp_path, "new.xlsx", [_cmp_row("P1", dest="Learning"),
                                           _cmp_row("P2", status="Relocated", dest="Learning")])
    c = compare(old, new)
    assert [(ch.new.post_id, ch.changes) for ch in c.changed] == [("P2", ("destination",))]


def test_compare_a_summary_without_a_grouping_has_no_groups_of_it(tmp_path: Path) -> None:
    old = _cmp_file(tmp_path, "old.xlsx", [_cmp_row("P1")])
    new = _cmp_file(tmp_path, "new.xlsx", [_cmp_row("P1")])
    bare_old = replace(summarise(old), groups={})
    bare_new = replace(summarise(new), groups={})
    assert compare(old, new, old_summary=bare_old).by_team == [
        GroupChange("Team A", None, summarise(new).groups["by_team"][0])]
    c = compare(old, new, old_summary=bare_old, new_summary=bare_new)
    assert (c.by_team, c.by_grade) == ([], [])


def test_compare_groups_come_in_natural_order_of_their_labels(tmp_path: Path) -> None:
    old = _cmp_file(tmp_path, "old.xlsx", [_cmp_row("P1", team="Team 10"),
                                           _cmp_row("P2", team="Team 9")])
    new = _cmp_file(tmp_path, "new.xlsx", [_cmp_row("P1", team="Team 10"),
                                           _cmp_row("P3", team="Team 2")])
    # natural order: 2 < 9 < 10 (a plain string sort would put "Team 10" first)
    assert [g.label for g in compare(old, new).by_team] == ["Team 2", "Team 9", "Team 10"]


def test_compare_the_match_note_says_which_version_lacks_post_ids(tmp_path: Path) -> None:
    with_ids = _cmp_file(tmp_path, "ids.xlsx", [_cmp_row("P1"), _cmp_row("P2")])
    one_blank = _cmp_file(tmp_path, "one.xlsx", [_cmp_row("P1"), _cmp_row(None)])
    two_blank = _cmp_file(tmp_path, "two.xlsx", [_cmp_row("P1"), _cmp_row(None),
                                                 _cmp_row(None)])
    c = compare(with_ids, with_ids)
    assert (c.match, c.match_note) == ("post_id", "Posts are matched by Post ID.")
    why = "1 post row(s) in the new version have no Post ID"
    assert compare(with_ids, one_blank).match_note.startswith(
        f"Posts are matched on team + title + grade + location, because {why}. ")
    both = ("1 post row(s) in the old version have no Post ID; "
            "2 post row(s) in the new version have no Post ID")
    assert f"because {both}. " in compare(one_blank, two_blank).match_note


def test_compare_without_a_post_id_column_says_the_schedules_have_none(tmp_path: Path) -> None:
    rows = [_cmp_row("x")[1:], _cmp_row("y")[1:]]
    old = _cmp_file(tmp_path, "old.xlsx", rows, CMP_HEADER[1:])
    new = _cmp_file(tmp_path, "new.xlsx", rows[:1], CMP_HEADER[1:])
    note = compare(old, new).match_note
    assert note.startswith("Posts are matched on team + title + grade + location, because "
                           "the schedules have no Post ID column. ")


def test_change_phrase_counts_at_risk_posts_only_when_both_versions_have_them() -> None:
    old = {"deleted_fte": Decimal(3), "deleted_posts": 3, "at_risk_posts": 2}
    new = {"deleted_fte": Decimal(3), "deleted_posts": 4}
    assert change_phrase(old, new) == \
        "deleted FTE unchanged at 3; 1 more post proposed for deletion"
    assert change_phrase(new, old) == \
        "deleted FTE unchanged at 3; 1 fewer post proposed for deletion"


@pytest.mark.parametrize("old_posts, new_posts", [(3, None), (None, 3)])
def test_change_phrase_says_posts_not_given_when_either_version_lacks_them(
        old_posts: int | None, new_posts: int | None) -> None:
    old = {"deleted_fte": Decimal(2), "deleted_posts": old_posts}
    new = {"deleted_fte": Decimal("2.5"), "deleted_posts": new_posts}
    assert change_phrase(old, new) == "deleted FTE up 0.5 to 2.5; posts not given"


VACANT_NOTE = ("Only one version says which posts are vacant, so changes in at-risk figures "
               "are not reported.")
COST_NOTE = "Only one version has annual costs, so cost changes are not reported."


def test_compare_notes_a_vacant_or_cost_column_in_only_one_version(tmp_path: Path) -> None:
    header = [*CMP_HEADER, "Annual cost"]
    both = _cmp_file(tmp_path, "both.xlsx", [[*_cmp_row("P1"), 30000]], header)
    no_vacant = _cmp_file(tmp_path, "nov.xlsx", [[*_cmp_row("P1")[:-1], 30000]],
                          [*CMP_HEADER[:-1], "Annual cost"])
    no_cost = _cmp_file(tmp_path, "noc.xlsx", [_cmp_row("P1")])
    assert (both.has_vacant, both.has_cost, no_vacant.has_vacant, no_cost.has_cost) == \
        (True, True, False, False)
    assert compare(both, both).notes == []
    assert compare(no_vacant, no_vacant).notes == []
    assert compare(both, no_vacant).notes == [VACANT_NOTE]
    assert compare(no_cost, both).notes == [COST_NOTE]
    assert compare(no_vacant, no_cost).notes == [VACANT_NOTE, COST_NOTE]


def test_compare_a_post_keeps_its_sheet_and_spreadsheet_row(tmp_path: Path) -> None:
    old = _cmp_file(tmp_path, "old.xlsx", [_cmp_row("P1")])
    new = _cmp_file(tmp_path, "new.xlsx", [_cmp_row("P1"), _cmp_row("P2")])
    [added] = compare(old, new).added
    # make_xlsx writes sheet "Posts" with the header in row 1, so P2 is row 3
    assert (added.sheet, added.row) == ("Posts", 3)
    assert added.to_dict()["sheet"] == "Posts" and added.to_dict()["row"] == 3


def _no_lone_hidden_cell(c: Any) -> None:
    """The disclosure rule on a table of sums: no sum may have exactly one hidden term
    (it would be the sum less the others).  The sums: each group's occupied = at risk +
    kept, and each column's total = its groups'."""
    names = ("eq_baseline_posts", "eq_at_risk_posts", "eq_retained_posts")
    sums = [[r[k] for k in names] for r in c.rows]
    sums += [[c.total[k]] + [r[k] for r in c.rows] for k in names]
    for cells in sums:
        assert sum(1 for v in cells if v == "[c]") != 1, cells


def test_equality_hides_a_kept_count_with_the_occupied_count_that_reveals_it(
        tmp_path: Path) -> None:
    # women: 7 posts, 5 at risk, 2 kept (under 5); men: 30, 5 at risk, 25 kept
    rows = [EQ_HEADER]
    rows += [["A", "W", "G1", 1, 1, "Deleted" if i < 5 else "Retained", "N", "Women"]
             for i in range(7)]
    rows += [["A", "W", "G1", 1, 1, "Deleted" if i < 5 else "Retained", "N", "Men"]
             for i in range(30)]
    e = equality(intake.check(make_xlsx(tmp_path, rows)))
    sex = next(c for c in e.characteristics if c.key == "sex")
    women = next(r for r in sex.rows if r["group"] == "Women")
    assert women["eq_retained_posts"] == "[c]"
    _no_lone_hidden_cell(sex)


def test_equality_refuses_an_invalid_file_and_one_without_posts(tmp_path: Path) -> None:
    bad = make_xlsx(tmp_path, [EQ_HEADER, ["A", "W", "G1", "x", 1, "Deleted", "N", "Men"]],
                    name="bad.xlsx")
    report = intake.check(bad)
    with pytest.raises(InvalidData) as e:
        equality(report)
    assert e.value.report is report
    assert str(e.value) == f"bad.xlsx has {len(report.findings.errors)} error(s); fix them first"
    nopost = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status"],
                                  ["A", "W", "G1", 1, "Deleted"]], name="noposts.xlsx")
    with pytest.raises(PostsNotGiven) as p:
        equality(intake.check(nopost))
    assert str(p.value) == ("noposts.xlsx has no Posts column, so the posts on each row are "
                            "not known and no group can be counted; add a Posts column")


@pytest.mark.parametrize("moved,words", [(1, "1 occupied post relocated to another service "
                                             "is left out"),
                                         (2, "2 occupied posts relocated to another service "
                                             "are left out")])
def test_equality_kept_as_retained_leaves_relocated_posts_out(tmp_path: Path, moved: int,
                                                              words: str) -> None:
    rows = [EQ_HEADER, ["A", "W", "G1", 1, 1, "Deleted", "N", "Men"]]
    rows += [["A", "W", "G1", 1, 1, "Relocated", "N", "Men"]] * moved
    e = equality(intake.check(make_xlsx(tmp_path, rows)), EqualityRule(kept="retained"))
    assert e.notes == [f"Kept means retained: {words} of every table."]


def test_equality_counts_occupied_posts_only_and_names_blank_groups(tmp_path: Path) -> None:
    header = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Age band"]
    rows = [header,
            ["A", "W", "G1", 1, 1, "Deleted", "N", "9 to 19"],
            ["A", "W", "G1", 1, 1, "Retained", "N", "20 to 29"],
            ["A", "W", "G1", 1, 1, "Retained", "Y", "20 to 29"],      # vacant: in no group
            ["A", "W", "G1", 1, 1, "Retained", "N", ""],
            # 3 posts at 2.5 FTE: 0, 1 or 2 of them full-time; the vacant one is not counted
            ["A", "W", "G1", "2.5", 3, "Retained", "N", "20 to 29"],
            ["A", "W", "G1", "2.5", 3, "Retained", "Y", "20 to 29"]]
    e = equality(intake.check(make_xlsx(tmp_path, rows)), EqualityRule(
        in_full=frozenset({"age_band"}), audience="union"))
    age = next(c for c in e.characteristics if c.key == "age_band")
    # natural order of the bands; a blank band is "Not recorded"
    assert [(g.label, g.baseline) for g in age.groups] == [("9 to 19", 1), ("20 to 29", 4),
                                                            ("Not recorded", 1)]
    pt = next(c for c in e.characteristics if c.key == "part_time")
    assert pt.left_out == 3
    assert e.notes == []       # a Vacant column and an equality column: nothing to say


def test_equality_without_vacant_or_equality_columns_says_so(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status"],
                                ["A", "W", "G1", 1, 1, "Deleted"]])
    assert equality(intake.check(path)).notes == [
        "The file does not say which posts are vacant, so every post is counted as occupied.",
        "No Sex, Age band, Ethnicity, Disability or Working pattern column: only full-time "
        "and part-time working, worked out from FTE, can be compared. Most part-time workers "
        "are women, so a part-time flag is also a sex-discrimination warning."]


# ---------------------------------------------------------------------------------------
# reconcile (reports/figures/reconcile.py), on tests/test_consultation.py's RECON schedule:
# deleted posts 6 (1 vacant), FTE 5 (1 vacant); at risk 5 posts, 4 FTE; relocated 1 post;
# team A and team B 2.5 deleted FTE each, as are the sites Oak Centre and Elm Office

RELOCATED = "the claim counts the relocated posts (1) as deleted; they move to another service"


def _gap(kind: str, name: str, verb: str) -> str:
    return f"the gap (2.5) equals {kind} '{name}''s figure: the claim {verb} that {kind}"


def _one_group(kind: str, name: str) -> str:
    return (f"this is {name}'s figure, not the whole schedule's: the {kind} '{name}' has 2.5, "
            f"the whole schedule 5")


@pytest.mark.parametrize("claim,explanations", [
    ("at_risk_posts=6", ["the claim counts vacant deleted posts as at risk: it equals all "
                         "deleted posts (6), of which 1 are vacant", RELOCATED]),
    ("vacant_deleted_posts=6", ["the claim counts occupied deleted posts as vacant: it equals "
                                "all deleted posts (6)"]),
    ("deleted_fte=4", ["the claim leaves out the vacant deleted posts: it equals the occupied "
                       "ones only (4; 1 more are vacant)"]),
    ("deleted_posts=7", [RELOCATED]),
    ("deleted_fte=6", [RELOCATED, "the claim counts posts (6) instead of FTE (5)"]),
    ("deleted_fte=2.5", [x for kind, name in (("team", "A"), ("team", "B"),
                                              ("site", "Elm Office"), ("site", "Oak Centre"))
                         for x in (_one_group(kind, name),
                                   _gap(kind, name, "leaves out"))]),
    ("deleted_fte=7.5", [_gap(kind, name, "counts twice or adds")
                         for kind, name in (("team", "A"), ("team", "B"),
                                            ("site", "Elm Office"), ("site", "Oak Centre"))]),
    ("at_risk_posts=1", ["the claim gives the vacant deleted posts as at risk: the two "
                         "figures are swapped"]),
    ("vacant_deleted_posts=5", ["the claim gives the occupied (at-risk) posts as vacant: the "
                                "two figures are swapped"]),
    ("at_risk_posts=4", ["the claim counts FTE (4) instead of posts (5)"]),
    ("at_risk_fte=4.4", ["no explanation found"]),
    ("deleted_fte=10", ["rounding: 5 rounds to 10 (to the nearest 10)"]),
])
def test_reconcile_explains_each_claim_in_full(tmp_path: Path, claim: str,
                                               explanations: list[str]) -> None:
    code, out = run_reconcile(tmp_path, claim)
    assert code == 1
    (c,) = out["claims"]
    assert c["explanations"] == explanations
    assert set(c) >= {"measure", "claimed", "computed", "difference", "matches",
                      "explanations"}
    assert set(out) == {"claims", "sites"} and set(out["sites"]) == {"closing", "continuing"}


def _sex_table(tmp_path: Path, rows: list[list[Any]], rule: Any = None) -> Any:
    e = equality(intake.check(make_xlsx(tmp_path, [EQ_HEADER, *rows])),
                 rule or EqualityRule(in_full=frozenset({"sex"}), audience="union"))
    return next(c for c in e.characteristics if c.key == "sex")


def test_equality_rule_refuses_what_its_rules_forbid() -> None:
    assert EqualityRule(threshold=2).threshold == 2            # a template may go this low
    for kw, words in [
        ({"threshold": 1}, "the equality threshold is at least 2"),
        ({"kept": "all"}, "kept must be one of retained+relocated, retained, not 'all'"),
        ({"in_full": frozenset({"ethnicity"})}, "special category data cannot be shown in full"),
        ({"audience": "public", "in_full": frozenset({"sex"})}, "a public output protects"),
        ({"audience": "public", "threshold": 4}, "a public output protects"),
        ({"audience": "public", "kept": "retained"}, "a public output protects")]:
        with pytest.raises(ValueError) as e:
            EqualityRule(**kw)
        assert str(e.value).startswith(words), kw
    assert str(e.value) == ("a public output protects every characteristic, at 5 or more, "
                            "and keeps one definition of kept")


def test_equality_ratio_is_to_the_best_rounded_half_up_and_0_805_is_not_flagged(
        tmp_path: Path) -> None:
    # women: 200 posts, 39 at risk, 161 kept: 80.5% of the men's 100% -> 0.81, not under 0.8
    sex = _sex_table(tmp_path, [["A", "W", "G1", 39, 39, "Deleted", "N", "Women"],
                                ["A", "W", "G1", 161, 161, "Retained", "N", "Women"],
                                ["A", "W", "G1", 10, 10, "Retained", "N", "Men"]])
    women = next(r for r in sex.rows if r["group"] == "Women")
    assert women["retention_ratio"] == D("0.81") and women["below_four_fifths"] is False
    assert sex.reference == "Men"
    assert sex.total == {"group": "Total", "eq_baseline_posts": 210, "eq_at_risk_posts": 39,
                         "eq_retained_posts": 171, "retention_rate": percent(171, 210)}


def test_equality_four_fifths_flag_says_when_it_could_be_chance(tmp_path: Path) -> None:
    from scipy.stats import fisher_exact
    # women: 3 of 10 at risk (70% kept); men: 1 of 10 (90%): 70/90 = 0.78, under 0.8
    sex = _sex_table(tmp_path, [["A", "W", "G1", 3, 3, "Deleted", "N", "Women"],
                                ["A", "W", "G1", 7, 7, "Retained", "N", "Women"],
                                ["A", "W", "G1", 1, 1, "Deleted", "N", "Men"],
                                ["A", "W", "G1", 9, 9, "Retained", "N", "Men"]])
    assert fisher_exact([[3, 7], [1, 9]]).pvalue > 0.05
    assert sex.flagged == ["Women"]
    assert sex.notes == ["Women: retention is under four-fifths of the best-retained group's "
                         "(ratio 0.78). The difference could well be chance (Fisher's p is "
                         "0.05 or more)."]


def test_equality_of_one_group_or_none_deleted_has_nothing_to_compare(tmp_path: Path) -> None:
    # one group of one post: shown, with no test against anyone else
    one = _sex_table(tmp_path, [["A", "W", "G1", 1, 1, "Retained", "N", "Women"]])
    [row] = one.rows
    assert row["eq_baseline_posts"] == 1 and row["fisher_p"] is None
    assert one.notes == ["Women: too few posts for the ratio or the test to mean much.",
                         "No occupied post is deleted, so there is nothing to compare."]
    # everyone at risk: no group keeps anyone, so there is no best to compare with
    none_kept = _sex_table(tmp_path, [["A", "W", "G1", 1, 1, "Deleted", "N", "Women"],
                                      ["A", "W", "G1", 1, 1, "Deleted", "N", "Men"]])
    assert {(r["retention_ratio"], r["below_four_fifths"]) for r in none_kept.rows} \
        == {(None, False)}


def test_equality_a_group_with_a_hidden_count_shows_no_rate(tmp_path: Path) -> None:
    # women: 7 posts, 5 at risk, 2 kept; men: 30, 5 at risk, 25 kept (every count protected)
    rows = [["A", "W", "G1", 5, 5, "Deleted", "N", "Women"],
            ["A", "W", "G1", 2, 2, "Retained", "N", "Women"],
            ["A", "W", "G1", 5, 5, "Deleted", "N", "Men"],
            ["A", "W", "G1", 25, 25, "Retained", "N", "Men"]]
    sex = _sex_table(tmp_path, rows, EqualityRule())
    names = ("eq_baseline_posts", "eq_at_risk_posts", "eq_retained_posts")
    for r in sex.rows:
        if "[c]" in (r[k] for k in names):
            assert [r[k] for k in ("retention_rate", "retention_ratio", "below_four_fifths",
                                   "fisher_p")] == ["[c]"] * 4, r
    if "[c]" in (sex.total[k] for k in names):
        assert sex.total["retention_rate"] == "[c]"


def test_part_time_from_fte_to_six_places(tmp_path: Path) -> None:
    # a file giving FTE to 6 places: 1 post at 1 FTE is full-time, 1 at 0.123456 part-time
    path = make_xlsx(tmp_path, [EQ_HEADER[:-1],
                                ["A", "W", "G1", 1, 1, "Retained", "N"],
                                ["A", "W", "G1", "0.123456", 1, "Deleted", "N"]])
    pt = equality(intake.check(path)).characteristics[0]
    assert [(g.label, g.baseline) for g in pt.groups] == [("Full-time", 1), ("Part-time", 1)]


# ---------------------------------------------------------------------------------------
# reconcile (reports/figures/reconcile.py): the money form of its explanations, the claims
# on pools figures, its refusals, and the edges of each explanation.

def _recon_rows(*rows: list[Any]) -> list[list[Any]]:
    return [COLS, *rows]


def _row(**kw: Any) -> list[Any]:
    return row(**kw)


# By hand: North deletes 2 occupied posts (£60,000) at Oak; South deletes 1 vacant post
# (£20,040) and relocates 1 (£25,000) at Elm, where 1 is kept (£30,000); nothing is created.
# deleted £80,040 (occupied £60,000, vacant £20,040); net saving £80,040; relocated £25,000.
def _money_rows() -> list[list[Any]]:
    return [COLS + ["Annual cost"],
            _row(team="North", location="Oak", posts=2) + [60000],
            _row(team="South", location="Elm", posts=1, vacant="Y") + [20040],
            _row(team="South", location="Elm", posts=1, status="Relocated",
                 destination="Housing") + [25000],
            _row(team="South", location="Elm", posts=1, status="Retained") + [30000]]


@pytest.mark.parametrize("claim,explanations", [
    ("at_risk_cost=80040", ["the claim counts vacant deleted posts as at risk: it equals all "
                            "deleted posts (£80,040), of which £20,040 are vacant"]),
    ("vacant_deleted_cost=80040", ["the claim counts occupied deleted posts as vacant: it "
                                   "equals all deleted posts (£80,040)"]),
    # £60,000 is also North's and Oak's figure; the gap, £20,040, is South's and Elm's
    ("deleted_cost=60000", [
        "the claim leaves out the vacant deleted posts: it equals the occupied ones only "
        "(£60,000; £20,040 more are vacant)",
        "this is North's figure, not the whole schedule's: the team 'North' has £60,000, the "
        "whole schedule £80,040",
        "the gap (20,040) equals team 'South''s figure: the claim leaves out that team",
        "the gap (20,040) equals site 'Elm''s figure: the claim leaves out that site",
        "this is Oak's figure, not the whole schedule's: the site 'Oak' has £60,000, the "
        "whole schedule £80,040"]),
    # £80,040 + £25,000: the relocated posts counted as deleted (not "as saved": that is
    # the net saving's wording)
    ("deleted_cost=105040", ["the claim counts the relocated posts (£25,000) as deleted; "
                             "they move to another service"]),
    ("net_saving=105040", ["the claim counts the cost of relocated posts (£25,000) as saved; "
                           "it moves to another service with them"]),
    # a gap that is not the relocated cost: the relocated posts explain nothing
    ("net_saving=80100", ["no explanation found"]),
    # £80,040 to the nearest £1 is itself; to the nearest £100 it is £80,000
    ("net_saving=80000", ["rounding: £80,040 rounds to £80,000 (to the nearest £100)"]),
])
def test_reconcile_money_claims_are_explained_in_pounds(tmp_path: Path, claim: str,
                                                       explanations: list[str]) -> None:
    code, out = run_reconcile(tmp_path, claim, rows=_money_rows())
    assert code == 1
    (c,) = out["claims"]
    assert c["explanations"] == explanations


def test_reconcile_proposed_dismissals_are_explained_as_the_at_risk_posts(tmp_path: Path
                                                                          ) -> None:
    # RECON: 5 people in occupied deleted posts; 6 deleted posts of which 1 vacant; 1 post
    # relocated. A claim of 6 dismissals counts the vacant post, or the relocated one.
    code, out = run_reconcile(tmp_path, "proposed_dismissals=6")
    (c,) = out["claims"]
    assert c["computed"] == 5
    assert c["explanations"] == [
        "the claim counts vacant deleted posts as at risk: it equals all deleted posts (6), "
        "of which 1 are vacant",
        "the claim counts the relocated posts (1) as deleted; they move to another service"]


def test_reconcile_relocated_posts_explain_only_a_deleted_or_at_risk_claim(tmp_path: Path
                                                                           ) -> None:
    # RECON's baseline: 5 deleted + 1 relocated + 4 retained = 10 FTE, in 11 posts. A
    # baseline claim 1 over is not "relocated counted as deleted": the baseline holds them.
    code, out = run_reconcile(tmp_path, "baseline_fte=11")
    (c,) = out["claims"]
    assert c["explanations"] == ["the claim counts posts (11) instead of FTE (10)"]


def test_reconcile_a_site_not_given_does_not_stop_the_named_sites_being_read(tmp_path: Path
                                                                            ) -> None:
    # 1.5 FTE with no site (listed first, as "(not given)"), 1 FTE at Oak: a claim of 1
    rows = _recon_rows(_row(team="West", location="", posts=2, fte=1.5),
                       _row(team="West", location="Oak", posts=1))
    code, out = run_reconcile(tmp_path, "deleted_fte=1", rows=rows)
    (c,) = out["claims"]
    assert c["explanations"] == ["this is Oak's figure, not the whole schedule's: the site "
                                 "'Oak' has 1, the whole schedule 2.5"]


def test_reconcile_a_gap_under_one_equal_to_a_team_is_that_team_counted_twice(tmp_path: Path
                                                                             ) -> None:
    # TEAMS: 4.5 deleted FTE, South 0.8: a claim of 5.3 is 0.8 over, South's figure
    code, out = run_reconcile(tmp_path, "deleted_fte=5.3", rows=TEAMS)
    (c,) = out["claims"]
    assert c["explanations"] == ["the gap (0.8) equals team 'South''s figure: the claim "
                                 "counts twice or adds that team"]


def test_reconcile_a_number_with_no_words_beside_it_says_so(tmp_path: Path) -> None:
    # a sheet holding only the number 12, in A1: no label to its left or above it
    path = make_xlsx(tmp_path, sheets={"Posts": TEAMS, "Counts": [[12]]})
    result = invoke("reconcile", path, "--claim", "closing_sites=12", "--format", "json")
    (c,) = json.loads(result.stdout)["claims"]
    assert c["explanations"] == [
        "the claim equals a number on sheet 'Counts', which holds no posts: cell A1 has no "
        "words beside it to say what it counts; it is not the schedule's sites closing "
        "(future FTE 0)"]


def _closing(tmp_path: Path, claim: str, *located: tuple[str, str]) -> list[str]:
    path = make_xlsx(tmp_path, [COLS + ["Site type"],
                                *(_row(location=loc, posts=1) + [kind] for loc, kind in located)])
    result = invoke("reconcile", path, "--claim", claim, "--format", "json")
    (c,) = json.loads(result.stdout)["claims"]
    return c["explanations"]


def test_reconcile_site_types_are_named_in_natural_order(tmp_path: Path) -> None:
    # Ash (Type 10) and Oak (Type 9) both close: each type alone is 1 of the 2 closing;
    # natural order puts Type 9 before Type 10, as the file's order and plain sorting do not
    assert _closing(tmp_path, "closing_sites=1", ("Ash", "Type 10"), ("Oak", "Type 9")) == [
        "the claim counts only sites of type 'Type 9' (1 of 2 closing)",
        "the claim counts only sites of type 'Type 10' (1 of 2 closing)"]


def test_reconcile_names_only_a_site_type_whose_count_is_the_claim(tmp_path: Path) -> None:
    # 3 sites close: 1 Centre, 2 Offices; a claim of 1 is the Centres only
    assert _closing(tmp_path, "closing_sites=1", ("Ash", "Centre"), ("Elm", "Office"),
                    ("Oak", "Office")) == [
        "the claim counts only sites of type 'Centre' (1 of 3 closing)"]


def test_reconcile_sites_give_each_sites_fte_and_its_first_site_type(tmp_path: Path) -> None:
    # Oak: 1.5 + 1 FTE deleted, nothing kept (closing), its rows say Centre then Office;
    # Elm: 1 FTE kept, no type given
    path = make_xlsx(tmp_path, [COLS + ["Site type"],
                                _row(location="Oak", posts=2, fte=1.5) + ["Centre"],
                                _row(location="Oak", posts=1) + ["Office"],
                                _row(location="Elm", posts=1, status="Retained") + [None]])
    result = invoke("reconcile", path, "--claim", "closing_sites=1", "--format", "json")
    assert json.loads(result.stdout)["sites"] == {
        "closing": [{"location": "Oak", "site_type": "Centre", "baseline_fte": 2.5,
                     "future_fte": 0}],
        "continuing": [{"location": "Elm", "site_type": None, "baseline_fte": 1,
                        "future_fte": 1}]}


@pytest.mark.parametrize("claim,header,needs", [
    ("at_risk_posts=1", 6, "the file cannot give this figure: it needs a Vacant column"),
    ("deleted_cost=1", 6, "the file cannot give this figure: it needs an Annual cost column"),
    ("at_risk_cost=1", 6, "the file cannot give this figure: it needs a Vacant column and an "
                          "Annual cost column"),
    ("payback_months=1", 7, "the file cannot give this figure: it needs the figures of impact "
                            "costs and an Annual cost column"),
    ("redundancy_people=1", 7, "the file cannot give this figure: it needs the figures of "
                               "impact costs"),
])
def test_reconcile_a_claim_the_file_cannot_give_names_all_it_needs(
        tmp_path: Path, claim: str, header: int, needs: str) -> None:
    # the first 6 columns: no Vacant column, no Annual cost; 7: with Vacant
    rows = [COLS[:header], ["A", "W", "G1", 1, 1, "Deleted", "N"][:header]]
    code, out = run_reconcile(tmp_path, claim, rows=rows)
    (c,) = out["claims"]
    assert c["computed"] is None and c["explanations"] == [needs]


def test_reconcile_a_percentage_of_no_baseline_is_a_figure_the_file_cannot_give(
        tmp_path: Path) -> None:
    # only a new post: the baseline is 0 FTE, so no % of it is deleted; no column is missing
    rows = _recon_rows(_row(status="Created", vacant="Y"))
    code, out = run_reconcile(tmp_path, "pct_deleted=5", rows=rows)
    (c,) = out["claims"]
    assert c["computed"] is None
    assert c["explanations"] == ["the file cannot give this figure"]


def _total(fte: Any, posts: Any = None, label: str = "Total") -> list[Any]:
    return [label, None, None, fte, posts, None, None, None, None, None, None]


def test_reconcile_a_warning_on_a_cost_is_no_totals_row(tmp_path: Path) -> None:
    # £30,000.125 has a fraction of a penny (a warning on its cell, with that value): the
    # claim equals the cell, but the cell is a post's, not a Total row's
    rows = [COLS + ["Annual cost"], _row(posts=2) + ["30000.125"],
            _row(posts=1, status="Retained") + [10000]]
    code, out = run_reconcile(tmp_path, "deleted_cost=30000.125", rows=rows)
    (c,) = out["claims"]
    assert c["explanations"] == ["no explanation found"]


def test_reconcile_reads_a_totals_row_after_a_warning(tmp_path: Path) -> None:
    # a cost warning on row 2, then a Total row saying 9 FTE where the rows add up to 3
    rows = [COLS + ["Annual cost"], _row(posts=2) + ["30000.125"],
            _row(posts=1, status="Retained") + [10000], _total(9) + [None]]
    code, out = run_reconcile(tmp_path, "baseline_fte=9", rows=rows)
    (c,) = out["claims"]
    assert c["computed"] == 3
    assert c["explanations"] == ["the claim equals the Total row at 'Posts'!D4 (9), which "
                                 "disagrees with the rows it totals"]


def test_reconcile_reads_a_totals_row_of_the_claims_unit_after_one_of_another(tmp_path: Path
                                                                               ) -> None:
    # RECON: 10 FTE and 11 posts; a Total row saying 9 FTE (D7) and 9 posts (E7)
    code, out = run_reconcile(tmp_path, "baseline_posts=9", rows=RECON + [_total(9, 9)])
    (c,) = out["claims"]
    assert c["explanations"] == ["the claim equals the Total row at 'Posts'!E7 (9), which "
                                 "disagrees with the rows it totals"]


def test_reconcile_reads_a_totals_row_after_one_that_is_not_a_number(tmp_path: Path) -> None:
    # a Sub-total row saying "lots" at D2, then RECON's rows and a Total of 9 FTE at D8
    rows = [RECON[0], _total("lots", label="Sub-total"), *RECON[1:], _total(9)]
    code, out = run_reconcile(tmp_path, "baseline_fte=9", rows=rows)
    (c,) = out["claims"]
    assert c["explanations"] == ["the claim equals the Total row at 'Posts'!D8 (9), which "
                                 "disagrees with the rows it totals"]


def test_reconcile_claims_on_pools_figures_each_alone_or_together(tmp_path: Path) -> None:
    # RECON's pool (Support Worker, Grade 6): 2 + 3 occupied deleted and 4 kept = 9 people;
    # with one new post, 1 post is available for redeployment
    rows = RECON + [_row(team="B", status="Created", vacant="Y")]
    code, out = run_reconcile(tmp_path, "people_in_affected_pools=9",
                              "redeployment_posts_available=1", rows=rows)
    assert code == 0
    assert [(c["measure"], c["computed"]) for c in out["claims"]] == [
        ("people_in_affected_pools", 9), ("redeployment_posts_available", 1)]
    for claim, computed in (("people_in_affected_pools=8", 9),
                            ("redeployment_posts_available=2", 1)):
        code, out = run_reconcile(tmp_path, claim, rows=rows)
        (c,) = out["claims"]
        assert (code, c["computed"]) == (1, computed), claim


def test_reconcile_a_file_without_a_posts_column_without_pools_claims(tmp_path: Path) -> None:
    # no Posts column: pools cannot be counted, but a claim on deleted FTE can be checked
    rows = [COLS[:4] + COLS[5:6], ["A", "W", "G1", 1, "Deleted"]]
    code, out = run_reconcile(tmp_path, "deleted_fte=1", rows=rows)
    assert code == 0 and out["claims"][0]["computed"] == 1


def test_reconcile_reads_claims_as_numbers_and_says_what_is_wrong() -> None:
    assert parse_value(" £5,242,253 ") == D("5242253")
    assert parse_value("59.8%") == D("59.8")
    for text, words in (("lots", "'lots' is not a number"),
                        ("NaN", "'NaN' is not a finite number"),
                        ("Infinity", "'Infinity' is not a finite number")):
        with pytest.raises(ValueError) as e:
            parse_value(text)
        assert str(e.value) == words
    assert claim_key("annual_saving") == "net_saving"
    with pytest.raises(ValueError) as e:
        claim_key("nonsense")
    assert str(e.value) == ("unknown measure 'nonsense'; the measures are: "
                            + ", ".join(measures.keys()))


# ---------------------------------------------------------------------------------------
# equality (reports/figures/equality.py): hidden counts (issue 25: "counts under 5 are
# hidden along with any ratio or p-value that would reveal them"), and Fisher's p at 0.05

def _protected_sex(tmp_path: Path, groups: dict[str, tuple[int, int]]) -> Any:
    """The Sex table under the default rule (every count under 5 protected), from groups of
    (posts, at risk): one row of occupied deleted posts and one of retained posts each."""
    rows = [r for label, (b, a) in groups.items()
            for r in (["A", "W", "G1", a, a, "Deleted", "N", label],
                      ["A", "W", "G1", b - a, b - a, "Retained", "N", label]) if r[4]]
    return _sex_table(tmp_path, rows, EqualityRule())


COUNTS = ("eq_baseline_posts", "eq_at_risk_posts", "eq_retained_posts")
WHAT_REVEALS = ("retention_rate", "retention_ratio", "below_four_fifths", "fisher_p")
EVERY_GROUP_HIDDEN = "Every group is hidden: no safe pattern of hidden counts exists."


def test_equality_one_small_group_is_hidden_whole_and_the_totals_row_kept(tmp_path: Path
                                                                          ) -> None:
    # one group of 3 posts (1 at risk): its counts are the totals', which are kept, so no
    # pattern can hide them: every group's counts are hidden, the totals row is shown
    sex = _protected_sex(tmp_path, {"Women": (3, 1)})
    [women] = sex.rows
    assert [women[k] for k in COUNTS + WHAT_REVEALS] == ["[c]"] * 7
    assert sex.total == {"group": "Total", "eq_baseline_posts": 3, "eq_at_risk_posts": 1,
                         "eq_retained_posts": 2, "retention_rate": percent(2, 3)}
    assert sex.notes == [EVERY_GROUP_HIDDEN]
    assert sex.reference is None and sex.flagged == []


def test_equality_hides_every_group_rather_than_the_totals_row(tmp_path: Path) -> None:
    # women 5 posts, none at risk; men 5, 1 at risk. Men's 1 is under 5; with the totals
    # (10, 1, 9) shown, women's counts would reveal men's (10 - 5, 1 - 0, 9 - 5): the totals
    # are hidden only as a last resort, so every group is hidden instead
    sex = _protected_sex(tmp_path, {"Women": (5, 0), "Men": (5, 1)})
    assert all(r[k] == "[c]" for r in sex.rows for k in COUNTS + WHAT_REVEALS)
    assert sex.total == {"group": "Total", "eq_baseline_posts": 10, "eq_at_risk_posts": 1,
                         "eq_retained_posts": 9, "retention_rate": percent(9, 10)}
    assert sex.notes == [EVERY_GROUP_HIDDEN]


def test_equality_a_hidden_count_in_the_totals_row_hides_its_rate(tmp_path: Path) -> None:
    # 10 women and 10 men, 1 at risk in each: 2 at risk in all, under 5, so the totals row's
    # at-risk count is hidden, and with it the kept count (20 - 2) and the rate (18 / 20)
    sex = _protected_sex(tmp_path, {"Women": (10, 1), "Men": (10, 1)})
    assert sex.total["eq_at_risk_posts"] == "[c]"
    assert sex.total["retention_rate"] == "[c]"
    assert sex.total["eq_retained_posts"] == "[c]"
    assert set(sex.total) == {"group", *COUNTS, "retention_rate"}


@pytest.mark.parametrize("short,name", [("b", "eq_baseline_posts"), ("a", "eq_at_risk_posts"),
                                        ("r", "eq_retained_posts")])
def test_equality_each_hidden_total_count_and_the_total_rate_show_c(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short: str, name: str) -> None:
    # whichever count of the totals row the audit hides, that count and the rate show [c]
    # and the others stay (20 posts, 3 at risk, 17 kept)
    monkeypatch.setattr(equality_module, "_hide", lambda *a: {("\0total", short)})
    sex = _protected_sex(tmp_path, {"Women": (10, 2), "Men": (10, 1)})
    shown = {"eq_baseline_posts": 20, "eq_at_risk_posts": 3, "eq_retained_posts": 17}
    assert sex.total == {"group": "Total", **shown, name: "[c]", "retention_rate": "[c]"}


def test_equality_groups_with_a_hidden_count_are_named_in_a_note(tmp_path: Path) -> None:
    # women: 2 of 20 at risk (under 5: hidden, and another group's at-risk count with it,
    # or the total would give it away); men 10 of 30; other 12 of 30
    sex = _protected_sex(tmp_path, {"Women": (20, 2), "Men": (30, 10), "Other": (30, 12)})
    women = next(r for r in sex.rows if r["group"] == "Women")
    assert women["eq_at_risk_posts"] == "[c]"
    assert [women[k] for k in WHAT_REVEALS] == ["[c]"] * 4
    shown = [r for r in sex.rows if r["retention_rate"] != "[c]"]
    assert shown and all(r["retention_ratio"] != "[c]" for r in shown)
    assert sex.notes == ["Groups with a hidden count have no rate or ratio shown; the ratio is "
                         "to the best-retained group whose counts are shown."]


def test_equality_a_flag_with_p_under_0_05_says_nothing_of_chance(tmp_path: Path) -> None:
    from scipy.stats import fisher_exact  # scipy: only these equality tests
    # women: 30 of 50 at risk (40% kept); men: 5 of 50 (90%): 40 / 90 = 0.44, under 0.8
    sex = _sex_table(tmp_path, [["A", "W", "G1", 30, 30, "Deleted", "N", "Women"],
                                ["A", "W", "G1", 20, 20, "Retained", "N", "Women"],
                                ["A", "W", "G1", 5, 5, "Deleted", "N", "Men"],
                                ["A", "W", "G1", 45, 45, "Retained", "N", "Men"]])
    assert fisher_exact([[30, 20], [5, 45]]).pvalue < 0.05
    assert sex.flagged == ["Women"]
    assert sex.notes == ["Women: retention is under four-fifths of the best-retained group's "
                         "(ratio 0.44)."]


def test_equality_a_flag_with_p_of_exactly_0_05_could_be_chance(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "0.05 or more": at p = 0.05 exactly the difference could be chance
    monkeypatch.setattr(equality_module, "fisher_p", lambda *counts: D("0.05"))
    sex = _sex_table(tmp_path, [["A", "W", "G1", 3, 3, "Deleted", "N", "Women"],
                                ["A", "W", "G1", 7, 7, "Retained", "N", "Women"],
                                ["A", "W", "G1", 1, 1, "Deleted", "N", "Men"],
                                ["A", "W", "G1", 9, 9, "Retained", "N", "Men"]])
    assert sex.flagged == ["Women"]
    assert sex.notes == ["Women: retention is under four-fifths of the best-retained group's "
                         "(ratio 0.78). The difference could well be chance (Fisher's p is "
                         "0.05 or more)."]


# ---------------------------------------------------------------------------------------
# totals (reports/figures/totals.py)

def _summary(tmp_path: Path, rows: list[list[Any]], csv: bool = False) -> Any:
    path = make_csv(tmp_path, rows) if csv else make_xlsx(tmp_path, rows)
    report = intake.check(path)
    return report, summarise(report)


TOT_HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Location",
              "Destination"]
POST_COUNTS = ("deleted_posts", "retained_posts", "relocated_posts", "created_posts",
               "baseline_posts", "future_posts")


def test_totals_without_a_posts_column_give_no_post_count_anywhere(tmp_path: Path) -> None:
    # no Posts column: one row is not one post, so no count of posts is given (None), in
    # the totals, in every group, and in the totals a stored version keeps
    report, s = _summary(tmp_path, [["Team", "Job title", "Grade", "FTE", "Status"],
                                    ["A", "W", "G1", 1, "Deleted"],
                                    ["B", "W", "G1", 0.5, "Retained"]])
    assert s.has_posts is False
    assert all(s.totals[k] is None for k in POST_COUNTS)
    assert (s.totals["deleted_fte"], s.totals["baseline_fte"]) == (D(1), D("1.5"))
    for name, rows in s.groups.items():
        for g in rows:
            assert all(g[k] is None for k in POST_COUNTS), (name, g)
    assert [g["deleted_fte"] for g in s.groups["by_team"]] == [D(1), D(0)]
    assert totals_of(report) == s.totals


def test_totals_of_no_posts_are_zero_with_no_groups() -> None:
    # a workbook with no table of posts (the library's own case; the reader refuses such a
    # file): every figure is 0 and no grouping has a group
    report = validate(Workbook(path=Path("none.xlsx"), name="none.xlsx", sha256="",
                               fmt="xlsx", tables=[], skipped=[], findings=Findings()))
    s = summarise(report)
    assert s.totals["deleted_fte"] == 0 and s.totals["baseline_posts"] == 0
    assert s.totals["pct_deleted"] is None
    assert s.groups == {"by_team": [], "by_grade": [], "by_team_grade": [],
                        "by_destination": [], "by_location": []}


def test_totals_of_fte_past_two_to_the_53_are_exact(tmp_path: Path) -> None:
    # 1,001 rows of 9,999,999.000001 FTE: 10,009,998,999,001,001 millionths in all, odd and
    # over 2**53, so a float64 could not hold it; the sum must still be exact
    rows = [["Team", "Job title", "Grade", "FTE", "Posts", "Status"]] + \
        [["A", "W", "G1", "9999999.000001", 10_000_000, "Deleted"]] * 1001
    report, s = _summary(tmp_path, rows, csv=True)
    exact = 1001 * D("9999999.000001")
    assert 10 ** 6 * exact > 2 ** 53
    assert s.totals["deleted_fte"] == exact
    assert s.groups["by_team"][0]["deleted_fte"] == exact
    assert totals_of(report)["deleted_fte"] == exact


def test_totals_by_destination_list_every_destination_of_a_relocated_post(tmp_path: Path
                                                                          ) -> None:
    # the first row moves to Housing, the second to Parks; the deleted row has none
    _, s = _summary(tmp_path, [TOT_HEADER,
                               ["A", "W", "G1", 1, 1, "Relocated", "N", "", "Housing"],
                               ["A", "W", "G1", 1, 1, "Relocated", "N", "", "Parks"],
                               ["A", "W", "G1", 1, 1, "Deleted", "N", "", ""]])
    assert [(g["destination"], g["relocated_posts"]) for g in s.groups["by_destination"]] \
        == [("Housing", 1), ("Parks", 1)]


def test_totals_a_relocated_post_with_no_destination_is_not_given(tmp_path: Path) -> None:
    # no Destination column: the relocated post's destination is "(not given)"
    _, s = _summary(tmp_path, [TOT_HEADER[:-1],
                               ["A", "W", "G1", 1, 1, "Relocated", "N", ""]])
    assert [(g["destination"], g["relocated_posts"]) for g in s.groups["by_destination"]] \
        == [("(not given)", 1)]


def test_totals_one_post_with_a_location_makes_the_by_location_grouping(tmp_path: Path
                                                                       ) -> None:
    # one row at Oak, one with no location: a location is given, so both are listed
    _, s = _summary(tmp_path, [TOT_HEADER,
                               ["A", "W", "G1", 1, 1, "Deleted", "N", "Oak", ""],
                               ["A", "W", "G1", 1, 1, "Deleted", "N", "", ""]])
    assert s.has_location is True
    assert [(g["location"], g["deleted_posts"]) for g in s.groups["by_location"]] \
        == [("(not given)", 1), ("Oak", 1)]


def test_totals_a_location_only_on_a_totals_row_is_no_location(tmp_path: Path) -> None:
    # no post has a location; the Total row's "All sites" is not a post's location
    _, s = _summary(tmp_path, [TOT_HEADER,
                               ["A", "W", "G1", 1, 1, "Deleted", "N", "", ""],
                               ["A", "W", "G1", 1, 1, "Retained", "N", "", ""],
                               ["Total", None, None, 2, 2, None, None, "All sites", None]])
    assert s.has_location is False and s.groups["by_location"] == []


def test_totals_summary_says_which_columns_the_file_has(tmp_path: Path) -> None:
    # a column with a heading no field has ("Notes") is ignored, and the summary says so
    report, s = _summary(tmp_path, [TOT_HEADER + ["Annual cost", "Notes"],
                                    ["A", "W", "G1", 1, 1, "Deleted", "N", "Oak", "", 100, "x"]])
    assert (s.has_vacant, s.has_cost, s.has_location, s.has_posts) == (True, True, True, True)
    assert [f.code for f in s.info] == ["unknown-column"]
    assert s.info == list(report.findings.infos)
    _, bare = _summary(tmp_path, [TOT_HEADER[:6], ["A", "W", "G1", 1, 1, "Deleted"]])
    assert (bare.has_vacant, bare.has_cost, bare.has_location) == (False, False, False)


def test_totals_to_dict_has_recoded_only_when_groups_were_merged(tmp_path: Path) -> None:
    _, s = _summary(tmp_path, [TOT_HEADER[:6], ["A", "W", "G1", 1, 1, "Deleted"]])
    assert "recoded" not in s.to_dict()
    s.recoded = {"team": {"Other teams": ["A"]}}
    assert s.to_dict()["recoded"] == {"team": {"Other teams": ["A"]}}


def test_totals_headline_gives_a_percentage_it_cannot_work_out_as_n_a() -> None:
    t = {"deleted_fte": D(5), "baseline_fte": D(10)}
    assert headline({**t, "pct_deleted": D("50.0")}) == \
        "5 of 10 FTE (50.0%) proposed for deletion"
    assert headline({**t, "pct_deleted": None}) == "5 of 10 FTE (n/a) proposed for deletion"
    # a hidden percentage (a marker) is shown as it is, with no % after it
    assert headline({**t, "pct_deleted": "[c]"}) == "5 of 10 FTE ([c]) proposed for deletion"


# ---------------------------------------------------------------------------------------
# compare (reports/figures/compare.py): each kind of post change in words, the JSON of
# the groups, and the figures in words

def _cmp(tmp_path: Path, old_rows: list[list[Any]], new_rows: list[list[Any]],
         header: list[str] = CMP_HEADER) -> Any:
    old = make_xlsx(tmp_path, [header, *old_rows], name="old.xlsx")
    new = make_xlsx(tmp_path, [header, *new_rows], name="new.xlsx")
    return compare(intake.check(old), intake.check(new), old_label="v1", new_label="v2")


def _p(pid: str, status: str = "Retained", fte: Any = 1, posts: int = 1, dest: str = "",
       vacant: str = "N", team: str = "A", grade: str = "G1") -> list[Any]:
    return [pid, team, "Clerk", grade, "Hub", fte, posts, status, dest, vacant]


def test_compare_says_each_change_of_a_post_in_words_once(tmp_path: Path) -> None:
    old = [_p("P1"), _p("P2"), _p("P3", "Relocated", dest="Housing"),
           _p("P4", "Relocated", dest="Housing"), _p("P5"), _p("P6"), _p("P7"),
           _p("P8", vacant="Y")]
    new = [_p("P1", "Deleted"), _p("P2", fte=0.5), _p("P3", "Relocated", dest="Parks"),
           _p("P4"), _p("P5", "Relocated", dest="Parks"), _p("P6", fte=2, posts=2),
           _p("P7", vacant="Y"), _p("P8")]
    c = _cmp(tmp_path, old, new)
    where = "Clerk (A, G1, Hub)"
    # each post once, under its first kind of change (status, FTE, destination, posts,
    # vacancy); a destination is a relocated post's only, else "(none)"
    assert post_lines(c) == [
        ("Status changed", 3, [f"P1 {where}: retained → deleted",
                               f"P4 {where}: relocated → retained; "
                               f"destination Housing → (none)",
                               f"P5 {where}: retained → relocated; "
                               f"destination (none) → Parks"]),
        ("FTE changed", 2, [f"P2 {where}: FTE 1 → 0.5",
                            f"P6 {where}: FTE 1 → 2; posts 1 → 2"]),
        ("Destination changed", 1, [f"P3 {where}: destination Housing → Parks"]),
        ("Vacancy changed", 2, [f"P7 {where}: now vacant", f"P8 {where}: now occupied"])]
    # at most `limit` lines a section, then how many more; a section of exactly `limit`
    # lines is shown whole
    assert post_lines(c, limit=2) == [
        ("Status changed", 3, [f"P1 {where}: retained → deleted",
                               f"P4 {where}: relocated → retained; "
                               f"destination Housing → (none)", "… and 1 more"]),
        *post_lines(c)[1:]]


def test_compare_a_post_is_described_by_its_id_title_and_where_it_is() -> None:
    post = Post(sheet="Posts", row=2, post_id="EH-0012", team="Family Support",
                title="Family Support Worker", grade="Grade 6", location="Buxton",
                status="deleted", fte=1_000_000, posts=1, destination="", vacant=False)
    assert post.describe() == "EH-0012 Family Support Worker (Family Support, Grade 6, Buxton)"
    assert replace(post, post_id="", location="").describe() == \
        "Family Support Worker (Family Support, Grade 6)"


def test_compare_json_groups_give_each_side_without_its_label_and_the_changes(
        tmp_path: Path) -> None:
    # team A: 1 post deleted in both; team B only in the new version, 1 post created;
    # team C only in the old one, 1 post kept
    c = _cmp(tmp_path, [_p("P1", "Deleted"), _p("P3", team="C")],
             [_p("P1", "Deleted"), _p("P2", "Created", team="B", grade="G2", vacant="Y")])
    out = c.to_dict()
    a, b, gone = out["by_team"]
    assert gone["team"] == "C" and gone["new"] is None and gone["old"]["retained_posts"] == 1
    assert gone["change"]["baseline_fte"] == -1
    assert a["team"] == "A" and "team" not in a["old"] and "team" not in a["new"]
    assert a["old"]["deleted_posts"] == a["new"]["deleted_posts"] == 1
    # A: nothing changed, so every change is 0
    assert set(a["change"].values()) == {0}
    assert b["team"] == "B" and b["old"] is None and "team" not in b["new"]
    assert b["new"]["created_posts"] == 1
    # B is new: its figures rise from 0 (its baseline stays 0; its future FTE is 1)
    assert b["change"]["future_fte"] == 1 and b["change"]["baseline_fte"] == 0
    assert None not in b["change"].values()
    assert [g["grade"] for g in out["by_grade"]] == ["G1", "G2"]
    assert "grade" not in out["by_grade"][0]["old"]


def test_compare_a_group_absent_from_one_version_counts_from_zero() -> None:
    new = {"team": "B", "deleted_fte": D("1.5"), "deleted_posts": 2, "retained_posts": 3,
           "deleted_cost": D(100)}
    g = GroupChange("B", None, new)
    # absent: 0 posts and 0 FTE; a figure the other side has but not counted (a cost) has
    # no old value, and so no change
    assert g.changes(["deleted_fte", "deleted_posts", "retained_posts", "deleted_cost"]) == [
        Change("deleted_fte", D(0), D("1.5")), Change("deleted_posts", 0, 2),
        Change("retained_posts", 0, 3), Change("deleted_cost", None, D(100))]
    # a figure neither side has is left out, and the ones after it kept
    both = GroupChange("B", {"team": "B", "deleted_fte": D(1)}, {"team": "B"})
    assert both.changes(["at_risk_fte", "deleted_fte"]) == [Change("deleted_fte", D(1), None)]


def test_compare_reports_vacancy_and_cost_only_when_both_versions_have_them(tmp_path: Path
                                                                            ) -> None:
    both = _cmp(tmp_path, [_p("P1", "Deleted")], [_p("P1", "Deleted")])
    assert (both.has_vacant, both.has_cost) == (True, False)
    assert group_keys(both) == list(GROUP_KEYS)
    header = CMP_HEADER[:-1]                 # the new version has no Vacant column
    old = make_xlsx(tmp_path, [CMP_HEADER, _p("P1", "Deleted")], name="old.xlsx")
    new = make_xlsx(tmp_path, [header, _p("P1", "Deleted")[:-1]], name="new.xlsx")
    one = compare(intake.check(old), intake.check(new))
    assert one.has_vacant is False
    assert group_keys(one) == [k for k in GROUP_KEYS if not k.startswith("at_risk")]
    cost = make_xlsx(tmp_path, [CMP_HEADER + ["Annual cost"], _p("P1", "Deleted") + [100]],
                     name="cost.xlsx")
    assert compare(intake.check(old), intake.check(cost)).has_cost is False
    assert compare(intake.check(cost), intake.check(cost)).has_cost is True


@pytest.mark.parametrize("key,value,signed,text", [
    ("deleted_fte", None, True, "–"),
    ("deleted_fte", D("1.5"), False, "1.5"),
    ("deleted_fte", D("1.5"), True, "+1.5"),
    ("deleted_fte", D("0.5"), True, "+0.5"),
    ("deleted_fte", D(0), True, "0"),
    ("deleted_fte", D("-1.5"), True, "-1.5"),
    ("pct_deleted", D("59.8"), False, "59.8%"),
    ("pct_deleted", D("1.4"), True, "+1.4 pts"),
    ("deleted_cost", D("-19507.50"), True, "-£19,507.50"),
    ("deleted_cost", D("19507.50"), False, "£19,507.50"),
    ("deleted_posts", "[c]", True, "[c]"),
])
def test_compare_figure_text_signs_a_change_and_gives_its_unit(key: str, value: Any,
                                                               signed: bool, text: str) -> None:
    assert figure_text(key, value, signed=signed) == text
    if not signed:
        assert figure_text(key, value) == text          # unsigned unless asked


# ---------------------------------------------------------------------------------------
# totals internals (reports/figures/totals.py): the keys, the exact sums and the rows the
# measures take, on inputs the files seldom give (very many codes, huge values, no rows)

def _keys_by_first_appearance(*columns: list[int]) -> list[int]:
    """Number each distinct tuple of codes 0, 1, ... in order of first appearance."""
    seen: dict[tuple[int, ...], int] = {}
    return [seen.setdefault(t, len(seen)) for t in zip(*columns)]


@pytest.mark.parametrize("columns", [
    # radices whose product is near 2**60: float64 would merge the last digit
    ([2**40, 2**40, 0], [0, 1, 2**20]),
    # radices of 2**33 each: their product (2**66) overflows int64 to 0, so one mixed-radix
    # number would wrap and merge rows 0 and 1; the keys must be renumbered column by column
    ([0, 2**31, 2**33 - 2], [0, 0, 2**33 - 2]),
    # too many combinations for one number; key / radix would merge rows 0 and 3
    ([0, 1, 2, 2**62], [1, 0, 0, 0]),
    # -1 (no destination) is a code of its own
    ([0, 0, 1, 1, 0], [-1, 0, -1, -1, 0]),
])
def test_totals_combined_key_numbers_distinct_code_tuples_in_order_of_first_appearance(
        columns: tuple[list[int], ...]) -> None:
    keys = totals_module._combine([np.array(c, dtype=np.int64) for c in columns])
    assert keys.tolist() == _keys_by_first_appearance(*columns)
    assert keys.dtype == np.int64


def test_totals_combined_key_of_no_rows_is_empty() -> None:
    keys = totals_module._combine([np.zeros(0, dtype=np.int64)] * 3)
    assert keys.tolist() == []


class _Given:
    """A summed measure whose rows are the values given (duck-typed Measure)."""

    needs = None

    def __init__(self, values: list[int]) -> None:
        self.key = "given"
        self.values = np.array(values, dtype=np.int64)

    def rows(self, _rows: Any) -> np.ndarray:
        return self.values


def _posts(n: int, cost: list[int] | None = None) -> Any:
    import pandas as pd
    return pd.DataFrame({"status": ["deleted"] * n, "fte": np.full(n, 1_000_000),
                         "posts": np.ones(n, dtype=np.int64), "vacant": [None] * n,
                         "cost": np.array(cost if cost is not None else [0] * n,
                                          dtype=np.int64)})


def test_totals_fine_sums_are_exact_for_values_float64_cannot_hold() -> None:
    # -2**60 - 1 is not a float64: the sum must be done in integers, whatever the sign of
    # the largest magnitude
    values = [-(2**60), -1, 5, 7]
    fine = np.array([0, 0, 1, 1], dtype=np.int64)
    sums, first = totals_module._fine_sums(_posts(4), [_Given(values)], fine)  # type: ignore[list-item]
    assert sums[:, 0].tolist() == [-(2**60) - 1, 12]
    assert first.tolist() == [0, 2]


def test_totals_fine_sums_of_no_rows_are_empty_integer_arrays() -> None:
    sums, first = totals_module._fine_sums(_posts(0), [_Given([])],  # type: ignore[list-item]
                                           np.zeros(0, dtype=np.int64))
    assert sums.shape == (0, 1) and sums.dtype == np.int64
    assert first.tolist() == [] and first.dtype == np.int64


def test_totals_rows_carry_the_cost_only_for_a_measure_that_needs_it() -> None:
    posts = _posts(3, cost=[100, 250, 4000])
    # a measure needing a cost (alone, or with a Vacant column) gets the cost column
    for key in ("deleted_cost", "at_risk_cost"):
        assert totals_module._rows(posts, [measures.get(key)]).cost.tolist() == \
            [100, 250, 4000]
    # one that needs only a Vacant column, or nothing, gets whole hundredths of 0
    for key in ("at_risk_fte", "deleted_fte"):
        cost = totals_module._rows(posts, [measures.get(key)]).cost
        assert cost.tolist() == [0, 0, 0] and cost.dtype == np.int64


def test_totals_labels_of_no_rows_give_an_empty_integer_key(tmp_path: Path) -> None:
    report, _ = _summary(tmp_path, [TOT_HEADER[:6], ["A", "W", "G1", 1, 1, "Deleted"]])
    empty = replace(report, posts=report.posts.iloc[0:0], label_codes=None)
    _, fine, has_location = totals_module._labels(empty)
    assert fine.tolist() == [] and fine.dtype == np.int64
    assert has_location is False


def test_totals_labels_follow_the_posts_not_codes_made_for_other_posts(tmp_path: Path
                                                                       ) -> None:
    # the validation's codes belong to its own posts; posts put in their place (here the
    # last two rows alone) are coded afresh
    report, _ = _summary(tmp_path, [TOT_HEADER[:6], ["A", "W", "G1", 1, 1, "Deleted"],
                                    ["B", "W", "G2", 2, 2, "Deleted"],
                                    ["C", "W", "G3", 3, 3, "Retained"]])
    other = replace(report, posts=report.posts.iloc[1:].reset_index(drop=True))
    s = summarise(other)
    assert [(g["team"], g["deleted_fte"]) for g in s.groups["by_team"]] == \
        [("B", D(2)), ("C", D(0))]
    assert s.totals["baseline_fte"] == D(2) + D(3)


def test_totals_refuse_a_file_with_errors_naming_it_and_counting_them(tmp_path: Path
                                                                     ) -> None:
    path = make_xlsx(tmp_path, [TOT_HEADER[:6], ["A", "W", "G1", "lots", 1, "Deleted"],
                                ["A", "W", "G1", 1, 1, "Sacked"]])
    report = intake.check(path)
    n = len(report.findings.errors)
    assert n >= 2
    for run in (summarise, totals_of):
        with pytest.raises(InvalidData) as e:
            run(report)
        assert str(e.value) == f"{path.name} has {n} error(s); fix them first"


def test_totals_derive_counts_posts_unless_told_the_file_has_none() -> None:
    chosen = [measures.get("deleted_posts")]
    assert totals_module._derive({"deleted_posts": 3}, chosen) == {"deleted_posts": 3}
    assert totals_module._derive({"deleted_posts": 3}, chosen, has_posts=False) == \
        {"deleted_posts": None}
