"""`impact equality`: part-time status worked out from FTE, the four-fifths test, Fisher's
exact test, and small counts hidden in every output."""

from __future__ import annotations

from decimal import Decimal
from math import comb

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reports import intake
from reports.figures.equality import equality, fisher_p, part_time_split
from reports.figures.privacy import MARKER

from .conftest import make_xlsx

HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Sex"]


def _rows(group: str, kept: int, deleted: int) -> list[list]:
    out = []
    if kept:
        out.append(["T", "Worker", "G1", kept, kept, "Retained", "N", group])
    if deleted:
        out.append(["T", "Worker", "G1", deleted, deleted, "Deleted", "N", group])
    return out


# --------------------------------------------------------------------------
# part-time from FTE

@pytest.mark.parametrize("fte,posts,full,certain", [
    (1.0, 1, 1, True),        # a single full-time post
    (0.5, 1, 0, True),        # a single part-time post
    (0.99, 1, 0, True),
    (2.0, 2, 2, True),        # FTE == posts: every post is full-time
    (1.01, 3, 0, True),       # a full-time post would leave 0.01 for 2 posts: impossible
    (1.0, 2, 0, True),        # 1 + 0 is not allowed (every post is above 0)
    (1.99, 2, 1, True),       # 0 full-time would need 2 posts of 0.995: impossible
    (1.5, 2, 0, False),       # 1 + 0.5, or 0.75 + 0.75
    (1.5, 3, 0, False),       # 1 + 0.25 + 0.25, or 0.5 x 3
    (33.69, 45, 0, False),    # many ways
    (2.6, 3, 0, False),
])
def test_part_time_split(fte, posts, full, certain):
    f, c = part_time_split(np.array([round(fte * 100) * 10_000]), np.array([posts]))  # millionths
    assert bool(c[0]) is certain
    if certain:
        assert int(f[0]) == full


def test_part_time_split_by_brute_force():
    # every way to fill p posts with 1..100 hundredths each, post by post: the (total,
    # full-time count) pairs that can be reached.  A total is certain when it is reached
    # with one full-time count only.
    for p in (1, 2, 3, 4):
        reach = {(0, 0)}
        for _ in range(p):
            reach = {(f + x, k + (x == 100)) for f, k in reach for x in range(1, 101)}
        ks: dict[int, set[int]] = {}
        for f, k in reach:
            ks.setdefault(f, set()).add(k)
        totals = sorted(ks)
        got, certain = part_time_split(np.array(totals) * 10_000, np.full(len(totals), p))
        for f, full, sure in zip(totals, got, certain):
            assert bool(sure) == (len(ks[f]) == 1), (f, p, ks[f])
            if sure:
                assert int(full) == next(iter(ks[f]))


# --------------------------------------------------------------------------
# the four-fifths test and Fisher's exact test

def _characteristic(e, key: str):
    return next(c for c in e.characteristics if c.key == key)


def _sex(e):
    return {r["group"]: r for r in _characteristic(e, "sex").rows}


def _hypergeometric_two_sided(a: int, b: int, c: int, d: int) -> float:
    """P(tables at least as extreme) for fixed margins: the sum of P(x) over every x with
    P(x) <= P(a), P(x) = C(K, x) C(N - K, n - x) / C(N, n)."""
    n, big_k, big_n = a + b, a + c, a + b + c + d

    def prob(x):
        return comb(big_k, x) * comb(big_n - big_k, n - x) / comb(big_n, n)

    observed = prob(a)
    lo, hi = max(0, n - (big_n - big_k)), min(n, big_k)
    return sum(prob(x) for x in range(lo, hi + 1) if prob(x) <= observed * (1 + 1e-7))


@pytest.mark.parametrize(("kept_b", "ratio", "flagged"), [
    (79, "0.79", True),      # 0.79 < 0.8
    (80, "0.80", False),     # exactly four-fifths: not "below 80%" (DOMAIN.md), not flagged
    (81, "0.81", False),
])
def test_four_fifths_rule_flags_retention_below_four_fifths_of_the_best(tmp_path, kept_b, ratio,
                                                                        flagged):
    # group A keeps all its 100 posts; group B keeps `kept_b` of 100: B's ratio is kept_b/100
    rows = [HEADER] + _rows("A", 100, 0) + _rows("B", kept_b, 100 - kept_b)
    e = equality(intake.check(make_xlsx(tmp_path, rows)))
    by = _sex(e)
    assert by["A"]["retention_ratio"] == Decimal("1.00")
    assert by["B"]["retention_ratio"] == Decimal(ratio)
    assert by["B"]["below_four_fifths"] is flagged
    assert _characteristic(e, "sex").flagged == (["B"] if flagged else [])


def test_four_fifths_rule_reads_the_exact_ratio_not_the_rounded_one(tmp_path):
    # B keeps 399 of 500: 0.798, printed as 0.80 but below four-fifths
    rows = [HEADER] + _rows("A", 100, 0) + _rows("B", 399, 101)
    by = _sex(equality(intake.check(make_xlsx(tmp_path, rows))))
    assert by["B"]["retention_ratio"] == Decimal("0.80")
    assert by["B"]["below_four_fifths"] is True


def test_four_fifths_ratio_is_to_the_best_retained_group(tmp_path):
    # A keeps 90 of 100 (the best), B 72 of 100: 0.72 / 0.9 = 0.8 exactly, not flagged;
    # C 71 of 100: 0.788..., flagged
    rows = [HEADER] + _rows("A", 90, 10) + _rows("B", 72, 28) + _rows("C", 71, 29)
    by = _sex(equality(intake.check(make_xlsx(tmp_path, rows))))
    assert (by["B"]["retention_ratio"], by["B"]["below_four_fifths"]) == (Decimal("0.80"), False)
    assert (by["C"]["retention_ratio"], by["C"]["below_four_fifths"]) == (Decimal("0.79"), True)


def test_fisher_p_is_the_hypergeometric_sum_through_the_tables(tmp_path):
    rows = [HEADER] + _rows("A", 100, 0) + _rows("B", 79, 21) + _rows("C", 81, 19)
    by = _sex(equality(intake.check(make_xlsx(tmp_path, rows))))
    # B against everyone else: at risk 21 / kept 79 against 19 / 181
    assert float(by["B"]["fisher_p"]) == pytest.approx(
        _hypergeometric_two_sided(21, 79, 19, 181), rel=1e-3)
    assert float(by["C"]["fisher_p"]) == pytest.approx(
        _hypergeometric_two_sided(19, 81, 21, 179), rel=1e-3)


@pytest.mark.parametrize(("x", "rest"), [
    ((3, 7), (1, 9)),            # the team of 20
    ((21, 79), (19, 181)),
    ((12, 3), (30, 55)),
])
def test_fisher_p_of_a_group_against_everyone_else_matches_scipy(tmp_path, x, rest):
    """Each group's table is [[its at risk, its kept], [everyone else's at risk, kept]],
    two-sided, to 4 significant figures: checked against scipy.stats.fisher_exact."""
    from scipy.stats import fisher_exact

    from reports.figures.equality import EqualityRule

    rows = [HEADER] + _rows("X", x[1], x[0]) + _rows("Y", rest[1], rest[0])
    e = equality(intake.check(make_xlsx(tmp_path, rows)), EqualityRule(in_full=frozenset({"sex"})))
    expected = Decimal(f"{fisher_exact([list(x), list(rest)], alternative='two-sided').pvalue:.4g}")
    assert _sex(e)["X"]["fisher_p"] == expected
    assert _sex(e)["Y"]["fisher_p"] == expected         # the same table, turned over


@pytest.mark.parametrize(("posts", "too_few"), [(9, True), (10, False)])
def test_minimum_group_size_a_group_under_10_posts_is_said_to_be_too_small(tmp_path, posts,
                                                                           too_few):
    from reports.figures.equality import SMALL_GROUP, EqualityRule

    assert SMALL_GROUP == 10
    rows = [HEADER] + _rows("A", 40, 10) + _rows("B", posts - 4, 4)
    e = equality(intake.check(make_xlsx(tmp_path, rows)), EqualityRule(in_full=frozenset({"sex"})))
    notes = _characteristic(e, "sex").notes
    assert ("B: too few posts for the ratio or the test to mean much." in notes) is too_few
    assert not any(n.startswith("A: too few") for n in notes)


@pytest.mark.parametrize("table", [(3, 7, 12, 8), (0, 10, 10, 0), (5, 5, 5, 5), (1, 30, 9, 2)])
def test_fisher_p_is_the_hypergeometric_sum(table):
    assert float(fisher_p(*table)) == pytest.approx(_hypergeometric_two_sided(*table),
                                                    rel=1e-3)


def test_small_groups_are_hidden_and_said_to_be_too_small(tmp_path):
    # group D: 7 occupied posts, 3 at risk and 4 kept: both under 5
    rows = [HEADER] + _rows("A", 50, 10) + _rows("B", 40, 20) + _rows("D", 4, 3)
    e = equality(intake.check(make_xlsx(tmp_path, rows)))
    sex = next(c for c in e.characteristics if c.key == "sex")
    d = next(r for r in sex.rows if r["group"] == "D")
    assert d["eq_at_risk_posts"] == MARKER and d["eq_retained_posts"] == MARKER
    assert d["retention_rate"] == MARKER and d["fisher_p"] == MARKER
    # and nothing else lets a reader work them out: another group's counts are hidden too
    hidden_elsewhere = [r for r in sex.rows if r["group"] != "D"
                        and MARKER in (r["eq_at_risk_posts"], r["eq_retained_posts"])]
    assert hidden_elsewhere


def test_part_time_comparison_from_fte_alone(tmp_path):
    # 20 full-time posts kept, 20 deleted; 10 part-time kept (0.5 each), 30 deleted
    rows = [HEADER[:7]]
    rows += [["T", "W", "G", 1, 1, "Retained", "N"]] * 20
    rows += [["T", "W", "G", 1, 1, "Deleted", "N"]] * 20
    rows += [["T", "W", "G", 0.5, 1, "Retained", "N"]] * 10
    rows += [["T", "W", "G", 0.5, 1, "Deleted", "N"]] * 30
    rows += [["T", "W", "G", 1.5, 2, "Deleted", "N"]]          # not certain: left out
    e = equality(intake.check(make_xlsx(tmp_path, rows)))
    (pt,) = e.characteristics
    by = {r["group"]: r for r in pt.rows}
    assert (by["Full-time"]["eq_baseline_posts"], by["Full-time"]["eq_at_risk_posts"]) == (40, 20)
    assert (by["Part-time"]["eq_baseline_posts"], by["Part-time"]["eq_at_risk_posts"]) == (40, 30)
    # 10/40 against 20/40: a ratio of 0.5
    assert by["Part-time"]["retention_ratio"] == Decimal("0.50")
    assert pt.flagged == ["Part-time"]
    assert any("2 occupied posts on grouped rows are left out" in n for n in pt.notes)


# --------------------------------------------------------------------------
# who may read what (issue 25, item 3): consultees read sex and working pattern in full;
# special category data keeps small-count protection everywhere; public outputs keep it
# for every characteristic

def _team_of_20(tmp_path, column: str = "Sex", groups=("Women", "Men")):
    """The issue's example: a team of 20, 3 of 10 women at risk against 1 of 10 men."""
    header = HEADER[:7] + [column]
    rows = [header] + [r[:7] + [groups[0]] for r in _rows("x", 7, 3)] + \
        [r[:7] + [groups[1]] for r in _rows("x", 9, 1)]
    return make_xlsx(tmp_path, rows)


def _briefing(path, audience: str = "union", template=None):
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin
    from reports.figures.totals import summarise

    report = intake.check(path)
    assert report.valid
    return make_briefing(report, summarise(report), template or load_builtin(audience))


def _table_after(briefing, label: str) -> dict[str, list[str]]:
    """The equality table under the subheading `label`: each group's cells as printed."""
    from reports.documents.blocks import Table, Text

    (section,) = [s for s in briefing.sections if s.id == "equality"]
    blocks = section.blocks
    at = next(i for i, b in enumerate(blocks) if isinstance(b, Text) and b.text == label
              and b.style == "subheading")
    table = next(b for b in blocks[at:] if isinstance(b, Table))
    return {row[0]: [briefing.figures.text(c) for c in row[1:]] for row in table.rows}


def _method(briefing) -> str:
    from reports.documents.blocks import Text

    (section,) = [s for s in briefing.sections if s.id == "method"]
    return " ".join(b.text for b in section.blocks if isinstance(b, Text))


@pytest.mark.parametrize("audience", ["union", "management"])
def test_consultation_briefings_show_sex_counts_under_five_ratio_and_flag(tmp_path, audience):
    from scipy.stats import fisher_exact

    b = _briefing(_team_of_20(tmp_path), audience)
    rows = _table_after(b, "Sex")
    # by hand: women keep 7 of 10, men 9 of 10; 0.7 / 0.9 = 0.777..., under 0.8
    p = Decimal(f"{fisher_exact([[3, 7], [1, 9]]).pvalue:.4g}")
    assert rows["Women"] == ["10", "3", "7", "70.0%", "0.78", "FLAG", f"{p:f}"]
    assert rows["Men"][:5] == ["10", "1", "9", "90.0%", "1.00"]
    assert MARKER not in str(rows)
    method = _method(b)
    assert "Sex" in method and "shown in full" in method.lower()


def _public_without_costs():
    """The public template less its cost section: with 4 posts deleted in all, the cost
    section's bound on posts can be worked out within 5 whatever is hidden, and the whole
    public briefing is refused (rightly; that refusal is not the equality rule's)."""
    import dataclasses

    from reports.documents.template import load_builtin

    t = load_builtin("public")
    return dataclasses.replace(t, sections=tuple(s for s in t.sections if s != "costs"))


def test_the_public_briefing_does_not_reveal_the_small_sex_counts(tmp_path):
    b = _briefing(_team_of_20(tmp_path), template=_public_without_costs())
    rows = _table_after(b, "Sex")
    assert rows["Women"][1:3] == [MARKER, MARKER] and rows["Men"][1:3] == [MARKER, MARKER]
    assert rows["Women"][3:] == [MARKER] * 4            # no rate, ratio, flag or p
    assert "counts under 5" in _method(b).lower()


@pytest.mark.parametrize("audience", ["union", "management", "public"])
def test_special_category_counts_under_five_are_hidden_in_every_audience(tmp_path, audience):
    b = _briefing(_team_of_20(tmp_path, "Ethnicity", ("Group A", "Group B")), audience,
                  _public_without_costs() if audience == "public" else None)
    rows = _table_after(b, "Ethnicity")
    assert rows["Group A"][1:3] == [MARKER, MARKER]
    assert rows["Group A"][3:] == [MARKER] * 4
    assert "special category" in _method(b)


# --------------------------------------------------------------------------
# what "kept" means (issue 25, item 3): retained+relocated (the default) or retained

KEPT_HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Destination",
               "Sex"]


def _with_relocations(tmp_path):
    """Group A: 10 occupied posts, 4 deleted, 3 retained, 3 relocated; group B: 10
    occupied, 1 deleted, 9 retained."""
    rows = [KEPT_HEADER,
            ["T", "W", "G1", 4, 4, "Deleted", "N", "", "A"],
            ["T", "W", "G1", 3, 3, "Retained", "N", "", "A"],
            ["T", "W", "G1", 3, 3, "Relocated", "N", "Elsewhere", "A"],
            ["T", "W", "G1", 1, 1, "Deleted", "N", "", "B"],
            ["T", "W", "G1", 9, 9, "Retained", "N", "", "B"]]
    return make_xlsx(tmp_path, rows)




@pytest.mark.parametrize(("kept", "a_counts", "table"), [
    # by hand from the definition: relocated posts kept, or left out of the table
    ("retained+relocated", (10, 4, 6), [[4, 6], [1, 9]]),
    ("retained", (7, 4, 3), [[4, 3], [1, 9]]),
])
def test_kept_counts_relocated_posts_as_kept_or_leaves_them_out(tmp_path, kept, a_counts,
                                                                 table):
    from scipy.stats import fisher_exact

    from reports.figures.equality import EqualityRule

    rule = EqualityRule(in_full=frozenset({"sex"}), kept=kept)
    e = equality(intake.check(_with_relocations(tmp_path)), rule)
    a = _sex(e)["A"]
    assert (a["eq_baseline_posts"], a["eq_at_risk_posts"], a["eq_retained_posts"]) == a_counts
    assert a["fisher_p"] == Decimal(f"{fisher_exact(table).pvalue:.4g}")
    assert e.to_dict()["kept"] == kept
    left_out = [n for n in e.notes if "relocated to another service" in n]
    assert left_out == (["Kept means retained: 3 occupied posts relocated to another "
                         "service are left out of every table."] if kept == "retained" else [])


def test_the_cli_says_which_kept_it_used_and_takes_kept(tmp_path):
    import json

    from .conftest import invoke

    path = _with_relocations(tmp_path)
    default = json.loads(invoke("equality", path, "--format", "json").stdout)
    assert default["kept"] == "retained+relocated"
    assert default["kept_means"].startswith("Kept means retained or relocated")
    out = invoke("equality", path, "--audience", "union", "--kept", "retained")
    assert out.exit_code == 0, out.stderr
    assert "Kept means retained by this service" in out.stdout
    sex = out.stdout[out.stdout.index("Sex: shown in full"):]
    assert [line.split()[:4] for line in sex.splitlines()[3:5]] == [
        ["A", "7", "4", "3"], ["B", "10", "1", "9"]]


def test_a_public_output_keeps_one_definition_of_kept(tmp_path):
    from .conftest import invoke

    out = invoke("equality", _with_relocations(tmp_path), "--audience", "public",
                 "--kept", "retained")
    assert out.exit_code == 2
    assert "cannot go with a public output" in out.stderr


def test_brief_kept_is_said_in_the_method_section(tmp_path):
    from reports.documents.template import load_builtin, with_kept

    b = _briefing(_with_relocations(tmp_path),
                  template=with_kept(load_builtin("union"), "retained"))
    assert "Kept means retained by this service" in _method(b)
    assert _table_after(b, "Sex")["A"][:3] == ["7", "4", "3"]
    assert "Kept means retained or relocated" in _method(_briefing(_with_relocations(tmp_path)))


def test_impact_brief_takes_kept(tmp_path):
    from .conftest import invoke

    out = tmp_path / "b.html"
    result = invoke("brief", _with_relocations(tmp_path), "--kept", "retained", "--format",
                    "html", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "Kept means retained by this service" in out.read_text("utf-8")
    refused = invoke("brief", _with_relocations(tmp_path), "--audience", "public", "--kept",
                     "retained", "-o", tmp_path / "p.pdf")
    assert refused.exit_code == 2 and not (tmp_path / "p.pdf").exists()


# Fisher's exact test without scipy.stats on the briefing's path: checked against scipy

def _scipy_p(a: int, b: int, c: int, d: int) -> float:
    from scipy.stats import fisher_exact

    return float(fisher_exact([[a, b], [c, d]], alternative="two-sided").pvalue)


def test_fisher_two_sided_matches_scipy_on_every_small_table() -> None:
    """Every table with cells 0..9 (10,000 tables: empty rows and columns, ties, the
    mode itself), and 4-figure agreement with scipy.stats.fisher_exact."""
    import itertools

    from reports.figures.equality import fisher_two_sided

    differ = [t for t in itertools.product(range(10), repeat=4)
              if f"{fisher_two_sided(*t):.4g}" != f"{_scipy_p(*t):.4g}"]
    assert differ == []


@given(st.integers(0, 60_000), st.integers(0, 60_000), st.integers(0, 60_000),
       st.integers(0, 60_000), st.booleans())
@settings(max_examples=400, deadline=None)
def test_fisher_two_sided_matches_scipy_on_large_tables(a: int, b: int, c: int, d: int,
                                                       mirror: bool) -> None:
    """Tables up to the 100,000-row files' sizes (above FISHER_EXACT_UP_TO: in floats), and
    mirrored ones [[a, b], [b, a]], whose two tails tie exactly."""
    from reports.figures.equality import fisher_two_sided

    if mirror:
        c, d = b, a
    want = _scipy_p(a, b, c, d)
    assume(want == 0.0 or want > 1e-300)        # scipy's subnormal sums are noise
    got = fisher_two_sided(a, b, c, d)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("table", [(0, 0, 0, 0), (0, 5, 0, 7), (3, 0, 4, 0), (0, 0, 2, 9),
                                   (5, 5, 5, 5), (1, 0, 0, 1), (0, 1, 1, 0), (500, 0, 0, 500),
                                   (400, 600, 600, 400), (1, 999, 0, 1000)])
def test_fisher_two_sided_edge_tables(table: tuple[int, int, int, int]) -> None:
    from reports.figures.equality import fisher_two_sided

    assert fisher_two_sided(*table) == pytest.approx(_scipy_p(*table), rel=1e-12)


def test_fisher_two_sided_is_the_hypergeometric_sum_by_hand() -> None:
    """[[1, 9], [11, 3]]: margins 10, 14 and 12.  By hand, C(10, x) C(14, 12 - x) / C(24, 12)
    for x = 0..10; the observed x = 1 and every table no more probable than it."""
    from math import comb

    from reports.figures.equality import fisher_two_sided

    p = {x: comb(10, x) * comb(14, 12 - x) / comb(24, 12) for x in range(0, 11)}
    want = sum(v for v in p.values() if v <= p[1] * (1 + 1e-7))
    assert fisher_two_sided(1, 9, 11, 3) == pytest.approx(want, rel=1e-15)
    assert {x for x in p if p[x] <= p[1]} == {0, 1, 9, 10}


def test_the_equality_figures_do_not_import_scipy() -> None:
    """`impact brief` imports no scipy.stats (half a second) for its one Fisher test."""
    import subprocess
    import sys

    code = ("import sys, cli\n"
            "from reports.figures.equality import fisher_p\n"
            "fisher_p(3, 7, 1, 9)\n"
            "print(sorted(m for m in sys.modules if m.startswith('scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"
