"""`impact equality`: part-time status worked out from FTE, the four-fifths test, Fisher's
exact test, and small counts hidden in every output."""

from __future__ import annotations

from decimal import Decimal
from math import comb

import numpy as np
import pytest

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

def _hypergeometric_two_sided(a: int, b: int, c: int, d: int) -> float:
    """P(tables at least as extreme) for fixed margins: the sum of P(x) over every x with
    P(x) <= P(a), P(x) = C(K, x) C(N - K, n - x) / C(N, n)."""
    n, big_k, big_n = a + b, a + c, a + b + c + d

    def prob(x):
        return comb(big_k, x) * comb(big_n - big_k, n - x) / comb(big_n, n)

    observed = prob(a)
    lo, hi = max(0, n - (big_n - big_k)), min(n, big_k)
    return sum(prob(x) for x in range(lo, hi + 1) if prob(x) <= observed * (1 + 1e-7))


def test_ratios_of_0_79_and_0_81_fall_either_side_of_four_fifths(tmp_path):
    rows = [HEADER] + _rows("A", 100, 0) + _rows("B", 79, 21) + _rows("C", 81, 19)
    e = equality(intake.check(make_xlsx(tmp_path, rows)))
    sex = next(c for c in e.characteristics if c.key == "sex")
    by = {r["group"]: r for r in sex.rows}
    assert by["A"]["retention_ratio"] == Decimal("1.00")
    assert by["B"]["retention_ratio"] == Decimal("0.79")
    assert by["B"]["below_four_fifths"] is True
    assert by["C"]["retention_ratio"] == Decimal("0.81")
    assert by["C"]["below_four_fifths"] is False
    assert sex.flagged == ["B"]
    assert by["B"]["retention_rate"] == Decimal("79.0")
    # B against everyone else: at risk 21 / kept 79 against 19 / 181
    expected = _hypergeometric_two_sided(21, 79, 19, 181)
    assert float(by["B"]["fisher_p"]) == pytest.approx(expected, rel=1e-3)
    assert float(by["C"]["fisher_p"]) == pytest.approx(
        _hypergeometric_two_sided(19, 81, 21, 179), rel=1e-3)


def test_a_ratio_of_exactly_four_fifths_is_not_flagged(tmp_path):
    rows = [HEADER] + _rows("A", 100, 0) + _rows("B", 80, 20)
    e = equality(intake.check(make_xlsx(tmp_path, rows)))
    sex = next(c for c in e.characteristics if c.key == "sex")
    assert sex.flagged == []


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
