"""bench/mutation.py reads `mutmut results --all true` and scores each module (issue 25).

No mutmut run here (a full run takes most of an hour): the parsing and the aggregation
are checked on a recorded sample of mutmut 3.8's output, with the counts worked out by
hand from the sample below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "mutation.py"

# Recorded from `mutmut results --all true` (mutmut 3.8.1) for the costs group, cut down,
# with a progress line and a module outside the group added.
SAMPLE = """\
⠋ Generating mutants
    reports.model.redundancy_rules.x_weeks_for_year__mutmut_1: killed
    reports.model.redundancy_rules.x_weeks_for_year__mutmut_2: survived
    reports.model.redundancy_rules.x_weeks_for_year__mutmut_10: timeout
    reports.model.redundancy_rules.x_cap_for__mutmut_3: no tests
    reports.figures.costs.xǁCostRowǁweekly__mutmut_1: killed
    reports.figures.costs.xǁCostRowǁweekly__mutmut_2: killed
    reports.figures.costs.x_costs__mutmut_4: survived
    reports.figures.costs.x_costs__mutmut_5: caught by type check
    reports.figures.costs.x_costs__mutmut_6: not checked
    reports.figures.costs_extra.x_other__mutmut_1: survived
"""

MODULES = ("reports/model/redundancy_rules.py", "reports/figures/costs.py")


def load():
    return conftest.load_script(SCRIPT, "mutation_under_test")


def test_results_lines_are_read_with_their_status() -> None:
    got = load().parse_results(SAMPLE)
    assert len(got) == 10
    assert got["reports.model.redundancy_rules.x_cap_for__mutmut_3"] == "no tests"
    assert got["reports.figures.costs.xǁCostRowǁweekly__mutmut_2"] == "killed"
    assert got["reports.figures.costs.x_costs__mutmut_5"] == "caught by type check"


def test_each_module_is_scored_on_its_own_mutants_only() -> None:
    m = load()
    scores = m.aggregate(m.parse_results(SAMPLE), MODULES)
    rules, costs = scores[MODULES[0]], scores[MODULES[1]]
    # redundancy_rules: 4 mutants, killed 1 + timeout 1 detected -> 50%
    assert (rules.total, rules.detected, rules.count("survived"), rules.count("no tests")) \
        == (4, 2, 1, 1)
    assert [s[0].rsplit(".", 1)[1] for s in rules.survivors] \
        == ["x_cap_for__mutmut_3", "x_weeks_for_year__mutmut_2"]
    # costs: 5 mutants (costs_extra is another module), 1 not checked, 3 detected -> 75%
    assert (costs.total, costs.checked, costs.detected, costs.other) == (5, 4, 3, 1)
    assert [s[1] for s in costs.survivors] == ["survived"]


def test_report_table_and_total() -> None:
    m = load()
    scores = list(m.aggregate(m.parse_results(SAMPLE), MODULES).values())
    scores[1].survivors = [(n, s, "-    a = 1\n+    a = 2", "") for n, s, *_ in scores[1].survivors]
    m.explain(scores[1], [{"module": MODULES[1], "function": "x_costs", "mutated": "a = 2",
                           "why": "a is never read"}])
    text = m.report(scores, when="2026-12-07", command="python bench/mutation.py",
                    version="3.8.1")
    rows = [line for line in text.splitlines() if line.startswith("| `") or "total" in line]
    assert rows[0].endswith("| 4 | 1 | 1 | 1 | 1 | 0 | 0 | 50.0% | 0 |")
    assert rows[1].endswith("| 5 | 2 | 0 | 1 | 0 | 1 | 1 | 75.0% | 1 |")
    # 9 mutants, 8 checked, 5 detected; the one not checked is not listed as a survivor
    assert rows[2].endswith("| 9 | 3 | 1 | 2 | 1 | 1 | 1 | **62.5%** | 1 |")
    assert "### `reports.figures.costs.x_costs__mutmut_4` (survived)" in text
    assert "+    a = 2" in text and "Why it survives: a is never read" in text
    assert text.count("### `") == 3


def test_an_explanation_matches_its_function_and_mutated_line_only() -> None:
    m = load()
    score = m.ModuleScore(MODULES[1], survivors=[
        ("reports.figures.costs.x_costs__mutmut_4", "survived", "-a = 1\n+a = 2", ""),
        ("reports.figures.costs.x_costs__mutmut_5", "survived", "-a = 1\n+a = 3", ""),
        ("reports.figures.costs.xǁCostsǁto_dict__mutmut_1", "survived", "-b\n+c", "")])
    m.explain(score, [{"module": MODULES[1], "function": "x_costs", "mutated": "a = 2",
                       "why": "two"},
                      {"module": MODULES[1], "function": "xǁCostsǁto_dict", "why": "any"},
                      {"module": MODULES[0], "function": "x_costs", "why": "other module"}])
    assert [s[3] for s in score.survivors] == ["two", "", "any"]
    assert score.explained == 2


def test_only_picks_a_group_or_one_module() -> None:
    m = load()
    [(group, modules)] = m.select("costs")
    assert modules == MODULES
    [(group, modules)] = m.select("recode")
    assert group.name == "privacy" and modules == ("reports/figures/recode.py",)


def test_no_group_runs_the_golden_files() -> None:
    m = load()
    for group in m.GROUPS:
        assert "tests/test_golden.py" not in m.own_tests(ROOT, group)
        assert all(Path(t).name.startswith("test_") for t in m.own_tests(ROOT, group))


def test_an_earlier_report_is_read_back_and_merged_with_a_new_run() -> None:
    m = load()
    sample = SAMPLE.replace("caught by type check", "killed")
    scores = list(m.aggregate(m.parse_results(sample), MODULES, ("tests/test_costs.py",))
                  .values())
    scores[1].survivors = [(n, s, "-    a = 1\n+    a = 2", "") for n, s, *_ in
                           scores[1].survivors]
    text = m.report(scores, when="2026-12-07", command="python bench/mutation.py",
                    version="3.8.1")
    earlier = m.read_report(text)
    assert [(s.module, s.counts, s.tests) for s in earlier] == [
        (MODULES[0], {"killed": 1, "timeout": 1, "survived": 1, "no tests": 1},
         ("test_costs.py",)),
        (MODULES[1], {"killed": 3, "survived": 1, "not checked": 1}, ("test_costs.py",))]
    # in the report's (natural) order; a survivor with no diff reads back with none
    assert [s.survivors for s in earlier] == [
        [("reports.model.redundancy_rules.x_cap_for__mutmut_3", "no tests", "", ""),
         ("reports.model.redundancy_rules.x_weeks_for_year__mutmut_2", "survived", "", "")],
        [("reports.figures.costs.x_costs__mutmut_4", "survived", "-    a = 1\n+    a = 2",
          "")]]
    # a new run of one module replaces it; the other is kept as it was
    new = m.ModuleScore(MODULES[1], ("tests/test_costs.py",), {"killed": 5})
    merged = m.merge(earlier, [new])
    assert [s.module for s in merged] == list(MODULES)
    assert merged[0].counts == earlier[0].counts and merged[1] is new
    again = m.report(merged, when="2026-12-07", command="c", version="3.8.1")
    assert "| 5 | 5 | 0 | 0 | 0 | 0 | 0 | 100.0% | 0 |" in again
    assert "x_costs__mutmut_4" not in again and "x_cap_for__mutmut_3" in again
    # statuses lumped under "other" cannot be read back
    with pytest.raises(ValueError, match="under 'other'"):
        m.read_report(m.report(list(m.aggregate(m.parse_results(SAMPLE), MODULES).values()),
                               when="x", command="c", version="3.8.1"))


def test_a_groups_timeout_multiplier_reaches_mutmuts_config() -> None:
    """The privacy group stops a looping mutant sooner than mutmut's own 15 does; a
    group that sets none leaves mutmut's default alone."""
    import tomllib

    m = load()
    config = {g.name: tomllib.loads(m.mutmut_section(g.modules, g.tests,
                                                     g.timeout_multiplier))["tool"]["mutmut"]
              for g in m.GROUPS}
    assert config["privacy"]["timeout_multiplier"] == 2.0
    assert "timeout_multiplier" not in config["costs"]
    assert config["costs"]["only_mutate"] == list(MODULES)


# bench/mutation_timeouts.py, on a toy copy: mutmut's trampolines choose the mutated
# function by MUTANT_UNDER_TEST; here the toy module does the same by hand.
TOY = '''
import os


def double(x):
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if mutant == "toy.x_double__mutmut_1" and x:    # loops for ever, but for 0
        while True:
            x += 0
    if mutant == "toy.x_double__mutmut_2":          # a wrong answer, but for 0
        return x * 3
    if mutant == "toy.x_double__mutmut_4" and x:    # stuck in C code, but for 0: no
        sum(range(10 ** 15))                        # Python signal handler runs there
    return x + x                                # mutant 3 changes nothing
'''
TOY_TESTS = '''
from toy import double


def test_zero():
    assert double(0) == 0


def test_two():
    assert double(2) == 4
'''


def test_a_mutant_is_a_timeout_only_when_one_test_runs_past_its_own_limit(
        tmp_path: Path) -> None:
    """Each test is stopped at its own CPU time without the mutant x FACTOR + PLUS:
    the loop is a timeout in the first test that reaches it (in C code, where no Python
    signal handler runs, the runner stops it GRACE_S later), the wrong answer a kill
    by the test that fails, and the mutant that changes nothing a survivor.  The saved
    listing then says so, and nothing else in it changes."""
    t = conftest.load_script(ROOT / "bench" / "mutation_timeouts.py", "timeouts_under_test")
    copy = tmp_path / "copy"
    (copy / "mutants" / "tests").mkdir(parents=True)
    (copy / "mutants" / "toy.py").write_text(TOY)
    (copy / "mutants" / "tests" / "test_toy.py").write_text(TOY_TESTS)
    both = ["tests/test_toy.py::test_zero", "tests/test_toy.py::test_two"]
    (copy / "mutants" / "mutmut-stats.json").write_text(
        json.dumps({"tests_by_mangled_function_name": {"toy.x_double": both}}))
    names = [f"toy.x_double__mutmut_{i}" for i in (1, 2, 3, 4)]
    listing = "".join(f"    {n}: timeout\n" for n in names) + "    toy.x_other__mutmut_1: killed\n"
    (copy / "mutmut-results.txt").write_text(listing)
    saved = tmp_path / "verdicts.json"

    results = t.classify(copy, names, plus=1.0, jobs=2, progress=False, save=saved)

    assert {n: (r["status"], r["test"]) for n, r in results.items()} == {
        names[0]: ("timeout", both[1]),       # test_two loops: stopped in it
        names[1]: ("killed", both[1]),        # 0 * 3 == 0: only test_two fails
        names[2]: ("survived", None),
        names[3]: ("timeout", both[1])}      # stopped by the runner, past GRACE_S
    assert json.loads(saved.read_text()) == results
    t.write_results(copy, results)
    assert (copy / "mutmut-results.txt").read_text() == (
        f"    {names[0]}: timeout\n    {names[1]}: killed\n    {names[2]}: survived\n"
        f"    {names[3]}: timeout\n"
        "    toy.x_other__mutmut_1: killed\n")
    # a stopped run goes on where it was: what is saved is not run again
    assert t.classify(copy, names, progress=False, save=saved) == results


def test_each_test_gets_its_own_limit() -> None:
    t = conftest.load_script(ROOT / "bench" / "mutation_timeouts.py", "timeouts_under_test")
    limits = t.limits({"a": 2.0, "b": 0.5}, ["a", "b", "c"], factor=5, plus=3)
    assert limits == {"a": 13.0, "b": 5.5, "c": 13.0, "*": 13.0}
    assert [t.verdict(c) for c in (0, 1, t.TIMEOUT_EXIT, -24, 5, -11)] == [
        "survived", "killed", "timeout", "timeout", "no tests", "suspicious"]
