"""`impact s188`, `impact pools` and `impact reconcile` on small hand-built schedules.

Every expected figure is worked out here by hand (dates counted on the calendar,
people added up row by row), never read back from the code.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.model.formats import natural
from reports.model.s188_rules import RULES, rules_for
from tests.conftest import invoke, make_csv, make_xlsx, sample

COLS = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Location",
        "Establishment", "Dismissal date", "Destination"]


def row(team: str = "Family Support", title: str = "Support Worker", grade: str = "Grade 6",
        posts: int = 1, status: str = "Deleted", vacant: str = "N", location: str = "Hub",
        establishment: Any = None, when: Any = None, destination: Any = None,
        fte: Any = None) -> list[Any]:
    return [team, title, grade, posts if fte is None else fte, posts, status, vacant, location,
            establishment, when, destination]


def s188(path: Path, *args: str) -> dict[str, Any]:
    result = invoke("s188", path, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------
# thresholds and periods


# (dismissals, band, minimum days, latest start for a first dismissal on 1 June 2026)
# 1 June less 30 days: 31 May is 1 day back, so 2 May is 30; less 45: 17 April.
@pytest.mark.parametrize("n, band, days, start", [
    (19, "under 20", None, None),
    (20, "20-99", 30, "2026-05-02"),
    (99, "20-99", 30, "2026-05-02"),
    (100, "100 or more", 45, "2026-04-17"),
])
def test_thresholds_and_periods(tmp_path: Path, n: int, band: str, days: int | None,
                                start: str | None) -> None:
    path = make_xlsx(tmp_path, [COLS, row(posts=n, when=dt.date(2026, 6, 1)),
                                row(posts=3, status="Retained")])
    pack = s188(path)
    emp = pack["employer"]
    assert (emp["proposed_dismissals"], emp["band"], emp["consultation_days"],
            emp["consultation_starts_by"], emp["hr1_due_by"]) == (n, band, days, start, start)
    assert emp["upper_bound"] is False
    assert emp["descriptions"] == [{"title": "Support Worker", "grade": "Grade 6",
                                    "proposed": n, "employed": n + 3}]


def test_two_sites_of_15_make_30_for_the_whole_employer(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COLS, row(posts=15, establishment="North", location="North"),
                                row(posts=15, establishment="South", location="South")])
    pack = s188(path, "--first-dismissal", "2026-09-30")
    assert pack["establishment_by"] == "establishment"            # the column, by default
    sites = {e["name"]: (e["proposed_dismissals"], e["band"], e["consultation_days"])
             for e in pack["establishments"]}
    assert sites == {"North": (15, "under 20", None), "South": (15, "under 20", None)}
    emp = pack["employer"]
    # 15 + 15 = 30: 20-99, 30 days before 30 September = 31 August
    assert (emp["proposed_dismissals"], emp["band"], emp["consultation_days"],
            emp["consultation_starts_by"]) == (30, "20-99", 30, "2026-08-31")
    views = {v["by"]: (v["establishments"], v["reaching_threshold"]) for v in pack["views"]}
    assert views == {"establishment": (2, 0), "location": (2, 0), "team": (1, 1),
                     "employer": (1, 1)}
    text = invoke("s188", path, "--establishment", "employer").stdout
    assert "Whole employer, as one establishment: 30 proposed dismissals" in text


@pytest.mark.parametrize("apart, windows_max, band", [(89, 24, "20-99"), (91, 12, "under 20")])
def test_dismissals_89_days_apart_are_one_window_and_91_are_two(tmp_path: Path, apart: int,
                                                                windows_max: int,
                                                                band: str) -> None:
    # 1 January + 89 days: 30 more days of January (31 Jan), 28 of February (28 Feb),
    # 31 of March: 31 March 2026.  + 91 days: 2 April 2026.
    later = {89: dt.date(2026, 3, 31), 91: dt.date(2026, 4, 2)}[apart]
    path = make_xlsx(tmp_path, [COLS, row(posts=12, when=dt.date(2026, 1, 1)),
                                row(posts=12, when=later, title="Officer")])
    emp = s188(path)["employer"]
    assert (emp["proposed_dismissals"], emp["total_dismissals"], emp["band"]) == \
        (windows_max, 24, band)
    if apart == 89:
        assert emp["window"] == {"from": "2026-01-01", "to": "2026-03-31"}
        assert emp["consultation_starts_by"] == "2025-12-02"     # 1 Jan less 30 days


@pytest.mark.parametrize("day, award", [(dt.date(2026, 4, 5), 90), (dt.date(2026, 4, 6), 180)])
def test_protective_award_5_against_6_april_2026(tmp_path: Path, day: dt.date,
                                                 award: int) -> None:
    path = make_xlsx(tmp_path, [COLS, row(posts=25, when=day)])
    pack = s188(path)
    assert pack["protective_award_max_days"] == award
    assert pack["employer"]["protective_award_max_days"] == award


def test_the_rules_table_is_dated_and_one_row_per_change() -> None:
    assert [r.since for r in RULES] == sorted(r.since for r in RULES)
    assert rules_for(dt.date(2026, 4, 5)).award_max_days == 90
    assert rules_for(dt.date(2026, 4, 6)).award_max_days == 180
    law = rules_for(dt.date(2026, 4, 6))
    assert (law.threshold, law.large, law.short_days, law.long_days, law.window_days) == \
        (20, 100, 30, 45, 90)


def test_no_vacant_column_is_an_upper_bound(tmp_path: Path) -> None:
    header = [c for c in COLS if c != "Vacant"]
    rows = [header] + [[r for i, r in enumerate(row(posts=n, title=t)) if COLS[i] != "Vacant"]
                       for n, t in ((12, "A"), (10, "B"))]
    path = make_xlsx(tmp_path, rows)
    pack = s188(path)
    assert pack["upper_bound"] is True and pack["employer"]["upper_bound"] is True
    assert pack["employer"]["proposed_dismissals"] == 22                 # 12 + 10
    assert "22 (upper bound)" in invoke("s188", path).stdout


def test_vacant_and_relocated_posts_are_not_dismissals(tmp_path: Path) -> None:
    path = make_csv(tmp_path, [COLS, row(posts=18), row(posts=5, vacant="Y"),
                               row(posts=4, status="Relocated", destination="Housing")])
    pack = s188(path)
    assert pack["employer"]["proposed_dismissals"] == 18
    assert pack["not_dismissals"] == {"relocated_posts": 4, "vacant_deleted_posts": 5}
    assert any("relocated" in n and "not dismissals" in n for n in pack["notes"])
    # employed of the description: 18 occupied deleted + 4 occupied relocated (not the 5 vacant)
    assert pack["employer"]["descriptions"][0]["employed"] == 22


def test_people_column_counts_people_not_posts(tmp_path: Path) -> None:
    header = COLS + ["People"]
    path = make_xlsx(tmp_path, [header, row(posts=10) + [14], row(posts=8, title="B") + [None]])
    assert s188(path)["employer"]["proposed_dismissals"] == 22          # 14 people + 8 posts


def test_a_dismissal_date_that_is_not_a_date_is_an_error_naming_its_cell(tmp_path: Path
                                                                         ) -> None:
    path = make_xlsx(tmp_path, [COLS, row(when="next spring"), row(when="06/04/2026")])
    result = invoke("validate", path, "--format", "json")
    assert result.exit_code == 1
    errors = [(e["code"], e["cell"], e["value"]) for e in json.loads(result.stdout)["errors"]]
    assert errors == [("dismissal-date-invalid", "J2", "next spring")]
    assert invoke("s188", path).exit_code == 1


def test_s188_bad_establishment_is_a_usage_error(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COLS, row()])
    result = invoke("s188", path, "--establishment", "nonsense")
    assert result.exit_code == 2
    assert invoke("s188", path, "--first-dismissal", "June").exit_code == 2


def test_s188_on_derbyshire_one_team_reaches_35_and_no_site_20() -> None:
    pack = s188(sample("derbyshire_early_help.xlsx"), "--establishment", "team")
    assert pack["employer"]["proposed_dismissals"] == 123        # the summary's at-risk posts
    views = {v["by"]: v for v in pack["views"]}
    assert views["location"]["reaching_threshold"] == 0
    assert views["team"]["largest"] == {"name": "Early Help North", "proposed_dismissals": 35}


# --------------------------------------------------------------------------
# pools and redeployment


def pools(path: Path, *args: str) -> dict[str, Any]:
    result = invoke("pools", path, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_pool_losing_some_puts_all_at_risk_and_one_losing_all_its_own(tmp_path: Path
                                                                        ) -> None:
    path = make_xlsx(tmp_path, [
        COLS,
        row(title="Worker", posts=1), row(title="Worker", posts=2, status="Retained"),
        row(title="Worker", posts=1, vacant="Y"),                   # vacant: in no pool
        row(title="Clerk", posts=2),
        row(title="Manager", posts=1, status="Retained"),           # not affected
    ])
    p = pools(path)
    got = {x["title"]: (x["occupied"], x["deleted"], x["kept"], x["at_risk"]) for x in p["pools"]}
    assert got == {"Worker": (3, 1, 2, 3), "Clerk": (2, 2, 0, 2), "Manager": (1, 0, 1, 0)}
    # at risk: 3 (Worker, all until selection) + 2 (Clerk) = 5, for 1 + 2 = 3 deleted
    assert (p["totals"]["people_in_affected_pools"], p["totals"]["occupied_posts_deleted"],
            p["totals"]["pools_losing_some"], p["totals"]["pools_losing_all"]) == (5, 3, 1, 1)


def test_grade_matching_at_the_ends_of_the_grade_order(tmp_path: Path) -> None:
    # natural order Grade 2 < Grade 9 < Grade 10 (as text, "Grade 10" < "Grade 2")
    path = make_xlsx(tmp_path, [
        COLS,
        row(title="Low", grade="Grade 2"), row(title="Mid", grade="Grade 9"),
        row(title="Top", grade="Grade 10"),
        row(title="New 2", grade="Grade 2", status="Created", vacant="Y"),
        row(title="New 9", grade="Grade 9", status="Created", vacant="Y"),
        row(title="Vacancy 10", grade="Grade 10", status="Retained", vacant="Y"),
        row(title="Filled 10", grade="Grade 10", status="Retained", vacant="N"),  # not available
    ])
    p = pools(path)
    assert p["grade_order"] == ["Grade 2", "Grade 9", "Grade 10"]
    cands = {x["title"]: [(c["grade"], c["match"], c["posts"]) for c in x["candidates"]]
             for x in p["pools"] if x["deleted"]}
    # Grade 2 and Grade 9 are neighbours in this file's order, not on any pay scale: the
    # file holds no Grade 3 to 8, so the step is only "the next grade" in this schedule
    assert cands == {
        "Low": [("Grade 2", "same grade", 1),
                ("Grade 9", "the next grade above in this schedule", 1)],
        "Mid": [("Grade 9", "same grade", 1), ("Grade 10", "one grade up", 1),
                ("Grade 2", "the next grade below in this schedule", 1)],
        "Top": [("Grade 10", "same grade", 1), ("Grade 9", "one grade down", 1)],
    }
    assert [(a["title"], a["kind"]) for a in p["redeployment"]] == [
        ("New 2", "new post"), ("New 9", "new post"), ("Vacancy 10", "retained vacancy")]
    assert p["totals"]["redeployment_posts_available"] == 3


@pytest.mark.parametrize("a, b, known", [
    ("Grade 8", "Grade 9", True), ("Grade 9", "Grade 8", True),
    ("grade 8", "GRADE  9", True),            # case and spaces aside
    ("SCP 21", "SCP22", True), ("Grade 09", "Grade 10", True),
    ("Grade 7", "Grade 9", False),            # Grade 8 lies between, whether held or not
    ("Grade 9", "Grade 9", False),
    ("Band A", "Band B", False),              # letters: nothing certain about the order
    ("Grade 9", "Band 10", False),            # two schemes
    ("Grade 9a", "Grade 10", False), ("Manager", "Grade 1", False),
])
def test_grades_are_known_adjacent_only_when_the_same_words_are_numbered_one_apart(
        a: str, b: str, known: bool) -> None:
    from reports.figures.pools import adjacent

    assert adjacent(a, b) is known


def test_a_step_over_a_grade_the_file_does_not_hold_is_the_next_grade_in_this_schedule(
        tmp_path: Path) -> None:
    # Grade 9 and Grade 7 at risk, no Grade 8 anywhere: from Grade 9 a Grade 7 post is the
    # next grade below in this schedule, and from Grade 7 a Grade 9 post the next above
    path = make_xlsx(tmp_path, [
        COLS, row(title="Nine", grade="Grade 9"), row(title="Seven", grade="Grade 7"),
        row(title="New 7", grade="Grade 7", status="Created", vacant="Y"),
        row(title="New 9", grade="Grade 9", status="Created", vacant="Y", posts=2)])
    p = pools(path)
    cands = {x["title"]: [(c["grade"], c["match"], c["posts"]) for c in x["candidates"]]
             for x in p["pools"]}
    assert cands == {
        "Nine": [("Grade 9", "same grade", 2),
                 ("Grade 7", "the next grade below in this schedule", 1)],
        "Seven": [("Grade 7", "same grade", 1),
                  ("Grade 9", "the next grade above in this schedule", 2)]}
    text = invoke("pools", path).stdout
    assert "one grade" not in text
    assert "the next grade below in this schedule" in text


def test_a_step_between_grades_numbered_one_apart_is_one_grade(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [
        COLS, row(title="Eight", grade="Grade 8"), row(title="Ten", grade="Grade 10"),
        row(title="New 9", grade="Grade 9", status="Created", vacant="Y")])
    cands = {x["title"]: [(c["grade"], c["match"]) for c in x["candidates"]]
             for x in pools(path)["pools"]}
    assert cands == {"Eight": [("Grade 9", "one grade up")],
                     "Ten": [("Grade 9", "one grade down")]}


def test_lettered_grades_are_never_one_grade_apart(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [
        COLS, row(title="A", grade="Band A"),
        row(title="New B", grade="Band B", status="Created", vacant="Y")])
    (pool,) = pools(path)["pools"]
    assert pool["candidates"] == [{"grade": "Band B", "posts": 1,
                                   "match": "the next grade above in this schedule"}]


def test_a_post_two_places_away_in_the_grade_order_is_no_candidate(tmp_path: Path) -> None:
    # order Grade 6 < Grade 7 < Grade 8: a Grade 6 post is two places below a Grade 8 pool
    path = make_xlsx(tmp_path, [
        COLS, row(title="Eight", grade="Grade 8"), row(title="Seven", grade="Grade 7",
                                                      status="Retained"),
        row(title="New 6", grade="Grade 6", status="Created", vacant="Y")])
    p = pools(path)
    (eight,) = [x for x in p["pools"] if x["title"] == "Eight"]
    assert eight["candidates"] == []
    assert p["totals"]["matched_posts_available"] == 0
    assert p["totals"]["redeployment_posts_available"] == 1
    assert p["redeployment"][0]["serves"] == []


def test_relocated_posts_and_vacancies_are_in_no_pool_and_filled_retained_posts_not_available(
        tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [
        COLS, row(title="Worker", posts=2),
        row(title="Worker", posts=3, status="Relocated", destination="Housing"),
        row(title="Worker", posts=4, status="Retained", vacant="Y"),     # available
        row(title="Clerk", posts=5, status="Retained")])                 # filled: not
    p = pools(path)
    assert {x["title"]: x["occupied"] for x in p["pools"]} == {"Worker": 2, "Clerk": 5}
    assert [(a["title"], a["kind"], a["posts"]) for a in p["redeployment"]] == [
        ("Worker", "retained vacancy", 4)]


def test_each_vacancy_is_listed_once_with_every_pool_it_could_serve(tmp_path: Path) -> None:
    """One Grade 9 vacancy, four at-risk pools within a step (two at Grade 9, one at Grade
    8, one at Grade 10) and one two steps away (Grade 7): the union briefing lists the
    vacancy once, naming the four pools and not the fifth, and gives no pool a count of
    redeployment posts of its own."""
    from reports import intake, summarise
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin

    path = make_xlsx(tmp_path, [
        COLS, row(team="North", title="Practitioner", grade="Grade 9"),
        row(team="South", title="Practitioner", grade="Grade 9"),
        row(team="North", title="Family Worker", grade="Grade 8"),
        row(team="South", title="Senior Practitioner", grade="Grade 10"),
        row(team="East", title="Assistant", grade="Grade 7"),
        row(team="North", title="Vacant Practitioner", grade="Grade 9", status="Retained",
            vacant="Y")])
    report = intake.check(path)
    brief = make_briefing(report, summarise(report), load_builtin("union"))
    (section,) = [s for s in brief.sections if s.id == "pools"]
    tables = [bl for bl in section.blocks if hasattr(bl, "rows")]
    pool_table, posts_table = tables
    assert "Redeploy posts" not in pool_table.header
    assert len(pool_table.rows) == 5
    (only,) = posts_table.rows                       # the one vacancy, once
    cells = [brief.figures.text(c) for c in only]
    assert cells[:4] == ["North", "Vacant Practitioner", "Grade 9", "retained vacancy"]
    assert cells[-1] == "1"
    assert cells[4] == ("Grade 9 (same grade): North / Practitioner; South / Practitioner | "
                        "Grade 8 (the post is one grade up): North / Family Worker | "
                        "Grade 10 (the post is one grade down): South / Senior Practitioner")
    # the same in the JSON: the vacancy once, the pools it serves counted by grade
    (post,) = pools(path)["redeployment"]
    assert post["serves"] == [{"grade": "Grade 9", "match": "same grade", "pools": 2},
                              {"grade": "Grade 8", "match": "one grade up", "pools": 1},
                              {"grade": "Grade 10", "match": "one grade down", "pools": 1}]


def test_a_post_names_at_most_8_pools_of_a_grade_and_counts_the_rest(tmp_path: Path
                                                                     ) -> None:
    from reports import intake
    from reports.documents.sections.pools import could_serve
    from reports.figures.pools import pools as pools_of

    path = make_xlsx(tmp_path, [COLS] + [row(team=f"Team {i}", grade="Grade 9")
                                         for i in range(1, 11)]
                     + [row(title="New", grade="Grade 9", status="Created", vacant="Y")])
    p = pools_of(intake.check(path))
    text = could_serve(p, p.available[0])
    assert text.count("Team ") == 8 and text.endswith("; and 2 more")
    (line,) = [ln for ln in invoke("pools", path).stdout.splitlines() if ln.startswith("- ")]
    assert line.count("Team ") == 8 and line.endswith("; and 2 more")


def test_the_grade_is_always_part_of_a_pool(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COLS, row(title="Worker", grade="Grade 5"),
                                row(title="Worker", grade="Grade 6", status="Retained")])
    p = pools(path, "--pool-by", "title")
    assert p["pool_by"] == ["title"]
    assert [(x["title"], x["grade"], x["deleted"], x["kept"]) for x in p["pools"]] == [
        ("Worker", "Grade 5", 1, 0), ("Worker", "Grade 6", 0, 1)]


def test_a_pool_counts_people_from_the_people_column(tmp_path: Path) -> None:
    # one job-shared post held by 2 people, deleted; 3 single posts kept: 5 people at risk
    path = make_xlsx(tmp_path, [COLS + ["People"], row(posts=1, fte=1) + [2],
                                row(posts=3, status="Retained") + [3]])
    (pool,) = pools(path)["pools"]
    assert (pool["occupied"], pool["deleted"], pool["kept"], pool["at_risk"]) == (5, 2, 3, 5)


def test_a_deleted_vacancy_is_not_available_and_a_pool_not_affected_has_no_candidates(
        tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [
        COLS, row(title="Kept", status="Retained"),
        row(title="Gone", vacant="Y"),                                 # deleted vacancy
        row(title="New", status="Created", vacant="Y")])
    p = pools(path)
    assert [a["title"] for a in p["redeployment"]] == ["New"]
    (kept,) = p["pools"]
    assert (kept["title"], kept["kind"], kept["candidates"]) == ("Kept", "not affected", [])
    assert p["redeployment"][0]["serves"] == []


def test_a_post_that_could_serve_several_pools_is_counted_once(tmp_path: Path) -> None:
    # one Grade 9 vacancy, three at-risk pools within a step of it: 1 post, not 3
    path = make_xlsx(tmp_path, [
        COLS, row(title="A", grade="Grade 8"), row(title="B", grade="Grade 9"),
        row(title="C", grade="Grade 10"),
        row(title="Vacancy", grade="Grade 9", status="Retained", vacant="Y")])
    t = pools(path)["totals"]
    assert (t["redeployment_posts_available"], t["matched_posts_available"]) == (1, 1)


def test_without_a_vacant_column_pools_are_an_upper_bound(tmp_path: Path) -> None:
    cols = [c for c in COLS if c != "Vacant"]
    path = make_xlsx(tmp_path, [cols, [r for c, r in zip(COLS, row(posts=2)) if c != "Vacant"]])
    p = pools(path)
    assert p["upper_bound"] is True and p["totals"]["people_in_affected_pools"] == 2
    assert "upper bound" in invoke("pools", path).stdout


def test_pools_on_derbyshire() -> None:
    p = pools(sample("derbyshire_early_help.xlsx"))
    assert p["totals"]["occupied_posts_deleted"] == 123
    assert p["totals"]["redeployment_posts_available"] == 1


# --------------------------------------------------------------------------
# reconcile


RECON = [
    COLS,
    # team A: 2 occupied deleted (1.5 FTE), 1 vacant deleted, 1 relocated, 1 retained
    row(team="A", posts=2, fte=1.5, location="Oak Centre"),
    row(team="A", posts=1, vacant="Y", location="Oak Centre"),
    row(team="A", posts=1, status="Relocated", destination="Housing", location="Oak Centre"),
    row(team="B", posts=3, fte=2.5, location="Elm Office"),
    row(team="B", posts=4, status="Retained", location="Elm Office"),
]
# by hand: deleted posts 2 + 1 + 3 = 6, FTE 1.5 + 1 + 2.5 = 5; at risk posts 5, FTE 4;
# vacant deleted 1 post, 1 FTE; relocated 1 post, 1 FTE; team B deleted FTE 2.5


def reconcile(tmp_path: Path, *claims: str, rows: list[list[Any]] = RECON) -> tuple[int, dict]:
    path = make_xlsx(tmp_path, rows)
    args = [a for c in claims for a in ("--claim", c)]
    result = invoke("reconcile", path, *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout) if result.stdout.startswith("{") else {}


@pytest.mark.parametrize("claim, words", [
    ("at_risk_posts=6", "vacant deleted posts as at risk"),
    ("vacant_deleted_posts=6", "occupied deleted posts as vacant"),
    ("deleted_fte=4", "leaves out the vacant"),
    ("deleted_posts=7", "relocated posts"),
    ("deleted_fte=6", "relocated posts"),
    ("deleted_fte=6", "posts (6) instead of FTE"),
    ("deleted_fte=2.5", "team 'A''s figure"),
    ("deleted_fte=7.5", "team 'B''s figure"),
    ("at_risk_posts=1", "swapped"),
    ("vacant_deleted_posts=5", "swapped"),
    ("at_risk_posts=4", "FTE (4) instead of posts"),
    ("deleted_fte=7.5", "site 'Elm Office''s figure"),
    ("at_risk_fte=4.4", "no explanation found"),
    ("deleted_fte=10", "rounding"),
])
def test_each_reconcile_explanation(tmp_path: Path, claim: str, words: str) -> None:
    code, out = reconcile(tmp_path, claim)
    assert code == 1
    (c,) = out["claims"]
    assert c["matches"] is False
    assert any(words in e for e in c["explanations"]), c["explanations"]


def test_reconcile_matches_exit_0_and_shape(tmp_path: Path) -> None:
    code, out = reconcile(tmp_path, "deleted_fte=5", "at_risk_posts=5", "closing_sites=1")
    assert code == 0
    assert [(c["measure"], c["claimed"], c["computed"], c["difference"], c["matches"],
             c["explanations"]) for c in out["claims"]] == [
        ("deleted_fte", 5, 5, 0, True, []), ("at_risk_posts", 5, 5, 0, True, []),
        ("closing_sites", 1, 1, 0, True, [])]
    # Oak Centre: 4.5 FTE today, nothing after; Elm Office keeps 4
    assert [s["location"] for s in out["sites"]["closing"]] == ["Oak Centre"]
    assert [s["location"] for s in out["sites"]["continuing"]] == ["Elm Office"]


def test_reconcile_a_totals_row_that_disagrees(tmp_path: Path) -> None:
    rows = RECON + [["Total", None, None, 9, None, None, None, None, None, None, None]]
    path = make_xlsx(tmp_path, rows)
    assert invoke("validate", path).exit_code == 1          # total-mismatch: 9 against 10
    result = invoke("reconcile", path, "--claim", "baseline_fte=9", "--format", "json")
    assert result.exit_code == 1
    (c,) = json.loads(result.stdout)["claims"]
    # baseline today: 5 deleted + 1 relocated + 4 retained = 10
    assert c["computed"] == 10
    assert any("Total row at 'Posts'!D7" in e for e in c["explanations"]), c["explanations"]


def test_reconcile_closing_sites_by_site_type(tmp_path: Path) -> None:
    header = COLS + ["Site type"]
    path = make_xlsx(tmp_path, [header,
                                row(location="Oak", posts=1) + ["Centre"],
                                row(location="Ash", posts=1) + ["Office"],
                                row(location="Elm", posts=1, status="Retained") + ["Centre"]])
    result = invoke("reconcile", path, "--claim", "closing_sites=1", "--format", "json")
    (c,) = json.loads(result.stdout)["claims"]
    assert c["computed"] == 2                                 # Oak and Ash close
    assert any("type 'Centre'" in e for e in c["explanations"]), c["explanations"]


def test_reconcile_claims_file_and_usage(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, RECON)
    claims = tmp_path / "claims.toml"
    claims.write_text('deleted_posts = 6\n[at_risk_fte]\nvalue = "4"\n'
                      'published = "Cabinet report, para 4"\n', encoding="utf-8")
    result = invoke("reconcile", path, "--claims", claims, "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["claims"]
    assert out[1]["published"] == "Cabinet report, para 4"
    assert invoke("reconcile", path, "--claim", "nonsense=1").exit_code == 2
    assert invoke("reconcile", path, "--claim", "deleted_fte=lots").exit_code == 2
    assert invoke("reconcile", path).exit_code == 2


def test_reconcile_text_on_derbyshire() -> None:
    result = invoke("reconcile", sample("derbyshire_early_help.xlsx"), "--claim",
                    "at_risk_posts=148", "--claim", "closing_sites=10")
    assert result.exit_code == 1
    assert "vacant deleted posts as at risk" in result.stdout
    assert "Sites closing (10)" in result.stdout


# reconcile: a claim equal to one team's or one site's figure
TEAMS = [
    COLS,
    row(team="North", location="Oak", posts=3, fte=2.5),
    row(team="North", location="Elm", posts=2, fte=1.2),
    row(team="South", location="Elm", posts=1, fte=0.8),
    row(team="South", location="Ash", posts=1, status="Retained"),
]
# by hand: deleted FTE 2.5 + 1.2 + 0.8 = 4.5; North 2.5 + 1.2 = 3.7, South 0.8;
# sites Oak 2.5, Elm 1.2 + 0.8 = 2.0; deleted posts 6, North 5, South 1


@pytest.mark.parametrize("claim, words", [
    ("deleted_fte=3.7", "this is North's figure, not the whole schedule's: the team 'North' "
                        "has 3.7, the whole schedule 4.5"),
    ("deleted_fte=2", "this is Elm's figure, not the whole schedule's: the site 'Elm' has 2, "
                      "the whole schedule 4.5"),
    ("deleted_posts=5", "this is North's figure, not the whole schedule's: the team 'North' "
                        "has 5, the whole schedule 6"),
])
def test_a_claim_equal_to_one_team_or_site_is_that_teams_or_sites_figure(
        tmp_path: Path, claim: str, words: str) -> None:
    code, out = reconcile(tmp_path, claim, rows=TEAMS)
    assert code == 1
    (c,) = out["claims"]
    assert words in c["explanations"], c["explanations"]
    assert NO_EXPLANATION not in c["explanations"]


def test_a_site_not_given_is_never_named_as_the_claims_figure(tmp_path: Path
                                                                      ) -> None:
    # the rows with no site hold 1.5 of the 2.5 deleted FTE: a claim of 1.5 is theirs,
    # but "(not given)" is no site to name
    rows = [COLS, row(team="West", location="", posts=2, fte=1.5),
            row(team="West", location="Oak", posts=1)]
    code, out = reconcile(tmp_path, "deleted_fte=1.5", rows=rows)
    (c,) = out["claims"]
    assert not any("figure, not the whole schedule's" in e for e in c["explanations"])


def test_a_claim_equal_to_the_whole_schedule_needs_no_team_named(tmp_path: Path) -> None:
    code, out = reconcile(tmp_path, "deleted_fte=4.5", rows=TEAMS)
    assert code == 0 and out["claims"][0]["explanations"] == []


# reconcile: a claim equal to a number on a sheet that holds no posts
NO_EXPLANATION = "no explanation found"
NOTES = [["About this workbook"],
         ["Ten centres close (Oak, Elm) and every post at them is deleted; twelve stay "
          "open (Ash, Beech, Birch, Cedar, Fir, Hazel, Holly, Larch, Lime, Maple, Pine, "
          "Yew)."]]


def _with_notes(tmp_path: Path, **more: list[list[Any]]) -> Path:
    return make_xlsx(tmp_path, sheets={"Posts": TEAMS, "Notes": NOTES, **more})


def test_a_claim_equal_to_a_count_on_a_sheet_without_posts_is_named_by_sheet_and_cell(
        tmp_path: Path) -> None:
    path = _with_notes(tmp_path)
    # the schedule: Oak closes (2.5 FTE, nothing kept); Elm loses all 2.0; Ash keeps 1
    result = invoke("reconcile", path, "--claim", "closing_sites=12", "--format", "json")
    assert result.exit_code == 1, result.output
    (c,) = json.loads(result.stdout)["claims"]
    assert c["computed"] == 2
    assert c["explanations"] == [
        "the claim equals a number on sheet 'Notes', which holds no posts: cell A2 reads "
        "\"twelve stay open\"; that counts what those words say, not the schedule's sites "
        "closing (future FTE 0)"]


def test_a_numeric_cell_on_a_sheet_without_posts_is_named_with_its_label(tmp_path: Path
                                                                          ) -> None:
    path = _with_notes(tmp_path, Summary=[["Measure", "Count"],
                                          ["Centres staying open", 12],
                                          ["Staff consulted", 37.5]])
    result = invoke("reconcile", path, "--claim", "closing_sites=12", "--claim",
                    "deleted_fte=37.5", "--format", "json")
    twelve, fte = json.loads(result.stdout)["claims"]
    assert any("sheet 'Summary'" in e and "cell B2 reads \"Centres staying open\"" in e
               for e in twelve["explanations"]), twelve["explanations"]
    assert any("sheet 'Notes'" in e and "cell A2" in e for e in twelve["explanations"])
    assert fte["explanations"] == [
        "the claim equals a number on sheet 'Summary', which holds no posts: cell B3 reads "
        "\"Staff consulted\"; that counts what those words say, not the schedule's deleted FTE"]


def test_numbers_on_the_posts_sheet_or_a_sheet_naming_people_are_never_read(tmp_path: Path
                                                                            ) -> None:
    # a title line above the header on the posts sheet, and a staff list whose heading is
    # a personal-data column: neither is a sheet that holds no posts to quote
    path = make_xlsx(tmp_path, sheets={
        "Posts": [["Twelve centres: the proposals"], *TEAMS],
        "Staff": [["Employee name", "Years"], ["A. Person", 12]]})
    result = invoke("reconcile", path, "--claim", "closing_sites=12", "--format", "json")
    (c,) = json.loads(result.stdout)["claims"]
    assert c["explanations"] == [NO_EXPLANATION]


@pytest.mark.parametrize("text, found", [
    ("twelve stay open (Heanor, Glossop)", [(12, "twelve stay open")]),
    ("Ten centres close; twenty-one posts go", [(10, "Ten centres close"),
                                               (21, "twenty-one posts go")]),
    ("a saving of £5,242,253, about 59.8% of the budget",
     [(5242253, "a saving of £5,242,253"), (Decimal("59.8"), "about 59.8% of the budget")]),
    ("see cell A4 and 2026-04-06", []),              # a cell reference and a date
    ("132.5 of 221.5 FTE. Then", [(Decimal("132.5"), "132.5 of 221.5 FTE"),
                                  (Decimal("221.5"), "132.5 of 221.5 FTE")]),
])
def test_numbers_in_text_are_figures_or_words_with_their_clause(text: str, found: list
                                                                ) -> None:
    from reports.intake.figures import numbers_in

    assert numbers_in(text) == [(Decimal(v), says) for v, says in found]


def test_a_numeric_cell_is_labelled_by_the_text_to_its_left_else_above_it() -> None:
    from reports.intake.figures import sheet_figures

    rows: list[list[Any]] = [["Centres staying open", None, "Sites"],
                             ["12", "7", None],
                             [None, None, "3"],
                             ["2026-04-06 00:00:00", None, None]]        # a date: no number
    got = [(f.cell, f.value, f.says) for f in sheet_figures("Counts", rows)]
    assert got == [("A2", 12, "Centres staying open"),    # nothing to its left: above
                   ("B2", 7, ""),          # to its left only a number, above it nothing
                   ("C3", 3, "Sites")]


@pytest.mark.parametrize("value, claim, rounds", [
    ("4.45", "4.5", True),     # half up, to the nearest 0.1
    ("4.44", "4.5", False),
    ("4.45", "4", True),       # to the nearest 1
    ("4.5", "5", True),        # half up, to the nearest 1
])
def test_rounding_is_half_up_to_a_step_of_the_measure(tmp_path: Path, value: str, claim: str,
                                                      rounds: bool) -> None:
    code, out = reconcile(tmp_path, f"deleted_fte={claim}",
                          rows=[COLS, row(posts=9, fte=Decimal(value), location="Oak")])
    (c,) = out["claims"]
    assert any(e.startswith("rounding") for e in c["explanations"]) is rounds, \
        c["explanations"]


def test_a_claim_the_file_cannot_give_says_which_column_it_needs(tmp_path: Path) -> None:
    code, out = reconcile(tmp_path, "net_saving=1000", rows=TEAMS)
    (c,) = out["claims"]
    assert c["computed"] is None
    assert c["explanations"] == ["the file cannot give this figure: it needs an Annual cost "
                                 "column"]


def test_proposed_dismissals_claimed_as_fte_is_named(tmp_path: Path) -> None:
    # 5 people in 3.7 FTE of occupied deleted posts: a claim of 3.7 dismissals is the FTE
    rows = [COLS, row(posts=5, fte=3.7, location="Oak")]
    code, out = reconcile(tmp_path, "proposed_dismissals=3.7", rows=rows)
    (c,) = out["claims"]
    assert c["computed"] == 5
    assert any("FTE of the occupied deleted posts (3.7) instead of the people in them (5)"
               in e for e in c["explanations"]), c["explanations"]


def test_a_site_closes_only_when_it_keeps_no_fte(tmp_path: Path) -> None:
    rows = [COLS, row(location="Oak", posts=2), row(location="Oak", posts=1, fte=0.5,
                                                    status="Retained"),
            row(location="Ash", posts=2), row(location="", posts=3)]
    code, out = reconcile(tmp_path, "closing_sites=1", rows=rows)
    # Oak keeps 0.5 FTE: it stays; Ash keeps none: it closes; a blank site is no site
    assert code == 0
    assert [s["location"] for s in out["sites"]["closing"]] == ["Ash"]
    assert [s["location"] for s in out["sites"]["continuing"]] == ["Oak"]


def test_a_site_type_explains_a_claim_only_when_it_is_part_of_the_closures(tmp_path: Path
                                                                            ) -> None:
    header = COLS + ["Site type"]
    path = make_xlsx(tmp_path, [header, row(location="Oak", posts=1) + ["Centre"],
                                row(location="Ash", posts=1) + ["Centre"]])
    result = invoke("reconcile", path, "--claim", "closing_sites=1", "--format", "json")
    (c,) = json.loads(result.stdout)["claims"]
    # both closing sites are Centres: "only Centres" would explain nothing
    assert not any("type 'Centre'" in e for e in c["explanations"]), c["explanations"]


def test_reconcile_names_the_issue_25_claims_on_derbyshire() -> None:
    """Early Help North deletes 37.7 FTE of the 132.5 (its rows added in the sample), and
    the Notes sheet's A4 says twelve centres stay open, where ten close."""
    result = invoke("reconcile", sample("derbyshire_early_help.xlsx"), "--claim",
                    "deleted_fte=37.7", "--claim", "closing_sites=12")
    assert result.exit_code == 1
    assert "this is Early Help North's figure, not the whole schedule's" in result.stdout
    assert ("sheet 'Notes', which holds no posts: cell A4 reads \"twelve stay open\""
            in result.stdout)


# --------------------------------------------------------------------------
# briefing sections


def _pdf_text(path: Path) -> str:
    import pypdf  # the test reads the PDF only here

    return " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(path).pages)


def test_union_briefing_has_the_s188_and_pools_sections(tmp_path: Path) -> None:
    # 25 occupied deleted Workers in a pool of 25 + 5 kept; 2 vacant deleted; 1 new post
    path = make_xlsx(tmp_path, [COLS, row(title="Worker", posts=25, when=dt.date(2026, 6, 1)),
                                row(title="Worker", posts=5, status="Retained"),
                                row(title="Clerk", posts=2, vacant="Y"),
                                row(title="Lead", grade="Grade 7", status="Created",
                                    vacant="Y")])
    out = tmp_path / "union.pdf"
    assert invoke("brief", path, "-o", out).exit_code == 0
    text = _pdf_text(out)
    assert "s.188 and consultation" in text and "Pools and redeployment" in text
    assert "25 proposed dismissals" in text
    # 25 dismissals: 20-99, 30 days before 1 June 2026 = 2 May 2026
    assert "at least 30 days' consultation" in text and "by 2 May 2026" in text
    assert "180 days' pay" in text                        # first dismissal after 6 April 2026
    assert "What method will be used to select" in text
    # the pool: 25 + 5 = 30 people at risk for 25 deleted; 1 post available
    assert "30 people sit in selection pools" in text and "for 25 occupied posts" in text
    assert "retained vacancies): 1." in text


def test_management_briefing_has_deadlines_without_questions(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COLS, row(posts=25, when=dt.date(2026, 6, 1))])
    out = tmp_path / "management.pdf"
    assert invoke("brief", path, "--audience", "management", "-o", out).exit_code == 0
    text = _pdf_text(out)
    assert "by 2 May 2026" in text and "Pools and redeployment" in text
    assert "What method will be used to select" not in text


def test_public_briefing_has_only_totals_and_hides_small_ones(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COLS, row(posts=25, title="Worker"),
                                row(posts=5, title="Worker", status="Retained"),
                                row(posts=1, title="New", status="Created", vacant="Y")])
    out = tmp_path / "public.pdf"
    assert invoke("brief", path, "--audience", "public", "-o", out).exit_code == 0
    text = _pdf_text(out)
    assert "25 proposed dismissals" in text
    assert "retained vacancies): [c]." in text            # 1 post: under the threshold
    assert "people sit in selection pools" not in text
    assert "Redeploy posts" not in text and "What method" not in text


def test_reconcile_relocated_cost_counted_as_saved(tmp_path: Path) -> None:
    header = COLS + ["Annual cost"]
    path = make_xlsx(tmp_path, [header, row(posts=1) + [30000],
                                row(posts=1, status="Relocated", destination="Housing")
                                + [20000]])
    # saving by hand: £30,000 deleted, nothing created; the relocated £20,000 is not saved
    result = invoke("reconcile", path, "--claim", "annual_saving=£50,000", "--format", "json")
    assert result.exit_code == 1
    (c,) = json.loads(result.stdout)["claims"]
    assert (c["measure"], c["computed"], c["difference"]) == ("net_saving", 30000, 20000)
    assert any("relocated posts" in e and "as saved" in e for e in c["explanations"])


def test_reconcile_a_subtotal_row_that_disagrees(tmp_path: Path) -> None:
    subtotal = ["Sub-total", None, None, 3, None, None, None, None, None, None, None]
    rows = RECON[:4] + [subtotal] + RECON[4:]
    path = make_xlsx(tmp_path, rows)
    # team A's rows above it: 1.5 + 1 + 1 = 3.5 FTE, not 3
    result = invoke("reconcile", path, "--claim", "deleted_fte=3", "--format", "json")
    (c,) = json.loads(result.stdout)["claims"]
    assert any("Sub-total row at 'Posts'!D5" in e for e in c["explanations"]), c["explanations"]


def test_a_file_with_other_errors_is_not_reconciled(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COLS, row(fte=-1)])
    result = invoke("reconcile", path, "--claim", "deleted_fte=1")
    assert result.exit_code == 1
    assert "fte-negative" in result.stderr


def test_s188_description_and_pool_by_options(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [COLS, row(title="A", posts=3), row(title="B", posts=2),
                                row(title="B", posts=4, status="Retained")])
    pack = s188(path, "--description", "grade")
    # one description, Grade 6: 3 + 2 proposed, of 3 + 2 + 4 employed
    assert pack["employer"]["descriptions"] == [{"grade": "Grade 6", "proposed": 5,
                                                 "employed": 9}]
    p = pools(path, "--pool-by", "grade")
    assert [(x["grade"], x["occupied"], x["deleted"]) for x in p["pools"]] == \
        [("Grade 6", 9, 5)]


def test_s188_json_is_the_library_result(tmp_path: Path) -> None:
    from reports import intake
    from reports.figures.s188 import s188_pack
    from reports.render.data import to_json

    path = make_xlsx(tmp_path, [COLS, row(posts=21, when=dt.date(2026, 5, 1))])
    lib = json.loads(to_json(s188_pack(intake.check(path)).to_dict()))
    assert s188(path) == lib


def test_s188_csv_neutralises_formulas(tmp_path: Path) -> None:
    path = make_csv(tmp_path, [COLS, row(establishment="=HYPERLINK(1)")])
    out = invoke("s188", path, "--format", "csv").stdout
    assert "'=HYPERLINK(1)" in out


_NAMES = ["Grade 4", "Grade 04", "grade 4", "Grade 10", "B", "b", "Ärger"]


@settings(max_examples=40, derandomize=True, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_NAMES[:4]),
                               st.sampled_from(_NAMES), st.integers(1, 3),
                               st.sampled_from(["Deleted", "Retained", "Created"]),
                               st.sampled_from(["Y", "N"])), min_size=1, max_size=25))
def test_pools_are_summed_and_ordered_as_worked_out_row_by_row(rows):
    """Every pool (occupied deleted or retained posts sharing team, title and grade) with
    its counts, the affected ones first, then by the natural order of team, title and
    grade, and pools that sort alike in the order they first appear: worked out here row
    by row with a dict and a stable sort, against `impact pools`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = make_csv(Path(tmp), [COLS] + [
            row(team=team, title=title, grade=grade, posts=n, status=status, vacant=vacant)
            for team, grade, title, n, status, vacant in rows])
        result = pools(path)
    got = result["pools"]
    found: dict[tuple[str, str, str], list[int]] = {}
    for team, grade, title, n, status, vacant in rows:
        if status in ("Deleted", "Retained") and vacant == "N":
            key = (team, title, grade)
            occupied, deleted, kept = found.setdefault(key, [0, 0, 0])
            found[key] = [occupied + n, deleted + n * (status == "Deleted"),
                          kept + n * (status == "Retained")]
    expected = sorted(found.items(), key=lambda item: (
        item[1][1] == 0, *(natural(name) for name in item[0])))
    assert [((p["team"], p["title"], p["grade"]), [p["occupied"], p["deleted"], p["kept"]])
            for p in got] == expected
    # the totals count every pool, those losing nothing too (made only when listed)
    totals = result["totals"]
    assert totals["pools"] == len(expected)
    assert totals["affected_pools"] == sum(1 for _, c in expected if c[1] > 0)
    assert totals["occupied_posts_deleted"] == sum(c[1] for _, c in expected)
    assert totals["people_in_affected_pools"] == sum(c[0] for _, c in expected if c[1] > 0)
