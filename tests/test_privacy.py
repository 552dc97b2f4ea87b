"""Disclosure control: no hidden value can be narrowed to a range under the threshold.

The leaks an attacker with a pencil found in the old public briefing are rebuilt
here by hand, one per path (two markers, bounds, money, the same figure in two
tables, a change since the last version), and each must now be caught.  The
property test audits random schedules with its own linear program (scipy's
`linprog`), written from the published tables' structure, not from the code under
test: the ranges it checks come from that solver alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from scipy.optimize import linprog

from reports.figures import privacy
from reports.figures.privacy import MARKER, Links
from reports.model.errors import Unpublishable
from reports.model.measures import FTE, MONEY, POSTS

from .conftest import invoke, make_xlsx, sample

THRESHOLD = 5
HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status", "Destination",
          "Location", "Vacant", "Annual cost"]
STATUSES = ("deleted", "retained", "relocated", "created")
BASELINE = ("deleted", "retained", "relocated")


# --------------------------------------------------------------------------
# an independent audit, from the published summary's shape


def independent_ranges(data: dict[str, Any], by: tuple[str, ...] = ("team", "grade"),
                       with_destinations: bool = True) -> dict[tuple, tuple[float, float]]:
    """min and max of every hidden ("[c]") figure of a public summary (JSON), given every
    number published beside it.  The relations are written here, from what the tables
    mean: each table's rows add up to the total, baseline = deleted + retained +
    relocated, future = retained + created, FTE <= posts where both are given, no
    value is negative and a hidden value is not zero."""
    cells, eqs, pairs = summary_system(data, by, with_destinations)
    return solve_ranges(cells, eqs, pairs)


def summary_system(data: dict[str, Any], by: tuple[str, ...] = ("team", "grade"),
                   with_destinations: bool = True, tag: tuple = ()
                   ) -> tuple[dict[tuple, Any], list[dict[tuple, int]], list[tuple]]:
    """A public summary's published cells (keys prefixed with `tag`), its relations (each
    {key: coefficient} adding to 0) and its (FTE, posts) pairs."""
    cells: dict[tuple, Any] = {}
    for m, v in data["totals"].items():
        if m.endswith(("_fte", "_posts")):
            cells[tag + ("total", m)] = v
    groups = {"team": "by_team", "grade": "by_grade", "destination": "by_destination",
              "location": "by_location"}
    for col in by + (("destination",) if with_destinations else ()):
        for g in data[groups[col]]:
            for m, v in g.items():
                if m.endswith(("_fte", "_posts")) and v is not None:
                    if col == "destination" and not m.startswith("relocated"):
                        continue
                    cells[tag + (col, g[col], m)] = v
    eqs: list[dict[tuple, int]] = []

    def relate(total: tuple, parts: list[tuple]) -> None:
        terms = {tag + total: -1}
        for p in parts:
            terms[tag + p] = terms.get(tag + p, 0) + 1
        if all(k in cells for k in terms):
            eqs.append(terms)

    for prefix in [("total",)] + [(col, g[col]) for col in by for g in data[groups[col]]]:
        for u in ("fte", "posts"):
            relate(prefix + (f"baseline_{u}",), [prefix + (f"{s}_{u}",) for s in BASELINE])
            relate(prefix + (f"future_{u}",), [prefix + (f"{s}_{u}",)
                                               for s in ("retained", "created")])
    for col in by + (("destination",) if with_destinations else ()):
        labels = [g[col] for g in data[groups[col]]]
        if not labels:              # no such table (a file with no sites): no relation,
            continue                # not "the total is the sum of nothing", i.e. 0
        for m in data["totals"]:
            if col == "destination" and not m.startswith("relocated"):
                continue            # the destination table holds only the relocated posts
            if m.endswith(("_fte", "_posts")):
                relate(("total", m), [(col, lab, m) for lab in labels])
    names = sorted(cells, key=repr)
    pairs = [(k, k[:-1] + (k[-1].replace("_fte", "_posts"),)) for k in names
             if k[-1].endswith("_fte")]
    pairs = [(f, p) for f, p in pairs if p in cells]
    return cells, eqs, pairs


def solve_ranges(cells: dict[tuple, Any], eqs: list[dict[tuple, int]], pairs: list[tuple],
                 extra_unknown: Iterable[tuple] = ()) -> dict[tuple, tuple[float, float]]:
    """The range of every hidden cell (and of each `extra_unknown` cell) by scipy's HiGHS."""
    names = sorted(cells, key=repr)
    unknown = [k for k in names if cells[k] == MARKER] + list(extra_unknown)

    def num(v: Any) -> float:
        return float(v)

    var = {k: i for i, k in enumerate(unknown)}
    a_eq, b_eq = [], []
    for terms in eqs:
        row = [0.0] * len(unknown)
        rhs = 0.0
        for k, c in terms.items():
            if k in var:
                row[var[k]] += c
            else:
                rhs -= c * num(cells[k])
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
    a_ub, b_ub = [], []
    for f, p in pairs:
        row = [0.0] * len(unknown)
        rhs = 0.0
        for k, c in ((f, 1.0), (p, -1.0)):
            if k in var:
                row[var[k]] += c
            else:
                rhs -= c * num(cells[k])
        if any(row):
            a_ub.append(row)
            b_ub.append(rhs)
    bounds: list[tuple[float | None, float | None]] = [
        (None, None) if k in extra_unknown else
        (0.01 if k[-1].endswith("_fte") else 1, None) for k in unknown]
    out = {}
    for k in unknown:
        c = [0.0] * len(unknown)
        ends = []
        for sign in (1.0, -1.0):
            c[var[k]] = sign
            res = linprog(c, A_ub=a_ub or None, b_ub=b_ub or None, A_eq=a_eq or None,
                          b_eq=b_eq or None, bounds=bounds, method="highs")
            assert res.status in (0, 3), res.message
            ends.append(None if res.status == 3 else sign * res.fun)
        out[k] = (ends[0], float("inf") if ends[1] is None else ends[1])
    return out


def assert_safe(ranges: dict[tuple, tuple[float, float]]) -> None:
    narrow = {k: r for k, r in ranges.items() if r[1] - r[0] < THRESHOLD - 1e-6}
    assert narrow == {}, f"hidden values a reader can narrow: {narrow}"


# --------------------------------------------------------------------------
# the leaks, rebuilt by hand


def links(values: dict[tuple, Any], units: dict[tuple, str], equations: list[tuple],
          **kw: Any) -> Links:
    return Links(values=values, units=units, shown=set(values), equations=equations, **kw)


def test_two_markers_no_longer_give_away_a_small_value() -> None:
    """CSC 5, PH 1, total 6: with one marker and a range check, PH cannot be told."""
    v = {("dest", "CSC", "posts"): 5, ("dest", "PH", "posts"): 1, ("total", "posts"): 6,
         ("total", "other"): 100, ("total", "all"): 106}
    u = dict.fromkeys(v, POSTS)
    eqs = [(("total", "posts"), ("dest", "CSC", "posts"), ("dest", "PH", "posts")),
           (("total", "all"), ("total", "posts"), ("total", "other"))]
    p = privacy.protect(links(v, u, eqs), THRESHOLD)
    assert ("dest", "PH", "posts") in p.hidden
    assert set(p.hidden.values()) == {MARKER}
    exact = privacy.audit(links(v, u, eqs), p.hidden, THRESHOLD)
    assert all(hi is None or hi - lo >= THRESHOLD for lo, hi in exact.values())
    # with only PH hidden, or PH and CSC hidden, a reader pins PH: [1, 5] is too narrow
    narrow = privacy.audit(links(v, u, eqs), {("dest", "PH", "posts"),
                                              ("dest", "CSC", "posts")}, THRESHOLD)
    assert narrow[("dest", "PH", "posts")] == (Decimal(1), Decimal(5))


def test_fte_at_most_posts_is_used_by_the_audit() -> None:
    """6 FTE in 6 posts: every relocated FTE equals its posts; a hidden FTE beside a
    published posts figure of 1 is pinned to at most 1 FTE."""
    v = {("dest", "A", "fte"): Decimal(1), ("dest", "A", "posts"): 1}
    u = {("dest", "A", "fte"): FTE, ("dest", "A", "posts"): POSTS}
    ranges = privacy.audit(Links(values=v, units=u, shown=set(v),
                                 at_most=[(("dest", "A", "fte"), ("dest", "A", "posts"))]),
                           {("dest", "A", "fte")}, THRESHOLD)
    assert ranges[("dest", "A", "fte")] == (Decimal("0.01"), Decimal(1))
    # so protecting it means hiding the posts too: here, every figure, which is refused
    with pytest.raises(Unpublishable):
        privacy.protect(Links(values=v, units=u, shown=set(v),
                              at_most=[(("dest", "A", "fte"), ("dest", "A", "posts"))]),
                        THRESHOLD)


def test_money_follows_the_counts() -> None:
    """A single new post hidden as [c] must not sit beside its annual cost."""
    v = {("total", "created_posts"): 1, ("total", "created_cost"): Decimal(46000),
         ("total", "deleted_posts"): 40, ("total", "deleted_cost"): Decimal(900000),
         ("total", "net_saving"): Decimal(854000), ("total", "all_posts"): 41}
    u = {k: (MONEY if "cost" in k[1] or "saving" in k[1] else POSTS) for k in v}
    lk = links(v, u, [(("total", "all_posts"), ("total", "created_posts"),
                       ("total", "deleted_posts"))],
               signed=[[(("total", "net_saving"), -1), (("total", "deleted_cost"), 1),
                        (("total", "created_cost"), -1)]],
               follows={("total", "created_cost"): [("total", "created_posts")],
                        ("total", "net_saving"): [("total", "created_posts")]})
    p = privacy.protect(lk, THRESHOLD)
    assert ("total", "created_cost") in p.hidden
    assert ("total", "net_saving") in p.hidden


def test_the_same_posts_in_two_tables_are_hidden_in_both(tmp_path: Path) -> None:
    """A team that is all of one site: its hidden figure must not show in the site row."""
    rows = [HEADER]
    n = 0
    for team, site, status, count in (("Alpha", "North", "Deleted", 20),
                                      ("Alpha", "North", "Retained", 3),
                                      ("Beta", "South", "Deleted", 30),
                                      ("Beta", "South", "Retained", 25),
                                      ("Beta", "East", "Deleted", 12),
                                      ("Beta", "East", "Retained", 14)):
        for _ in range(count):
            n += 1
            rows.append([f"P{n}", team, "Worker", "Grade 5", 1, 1, status, None, site, "N",
                         30000])
    path = make_xlsx(tmp_path, rows, name="same.xlsx")
    out = tmp_path / "public.pdf"
    assert invoke("brief", path, "--audience", "public", "-o", out).exit_code == 0
    data = json.loads(invoke("summary", path, "--audience", "public", "--format",
                             "json").stdout)
    alpha = next(g for g in data["by_team"] if g["team"] == "Alpha")
    north = next(g for g in data["by_location"] if g["location"] == "North")
    assert alpha["retained_fte"] == MARKER
    assert north["retained_fte"] in (MARKER, None)
    for m in ("deleted_fte", "baseline_fte", "future_fte"):
        assert alpha[m] == MARKER or north[m] in (MARKER, None) or alpha[m] == north[m]
        if alpha[m] == MARKER:
            assert north[m] in (MARKER, None), m


def test_a_one_post_change_states_the_news_but_never_the_pay(tmp_path: Path) -> None:
    """One occupied 0.6 FTE post of 60 moves to deleted.  The whole file's counts and FTE
    may move by any amount (the news, which identifies no one); the money may not: the
    net saving moved by that one post's cost, so its new value is hidden, and with it
    the change."""
    old_rows, new_rows = [HEADER], [HEADER]
    for i in range(60):
        status = "Deleted" if i < 30 else "Retained"
        old_rows.append([f"P{i}", "Team A" if i % 2 else "Team B", "Worker", "Grade 5",
                         1 if i % 3 else 0.6, 1, status, None, "Site", "N", 19507.5])
        new_status = "Deleted" if i == 30 else status
        new_rows.append(old_rows[-1][:6] + [new_status] + old_rows[-1][7:])
    old = make_xlsx(tmp_path, old_rows, name="old.xlsx")
    new = make_xlsx(tmp_path, new_rows, name="new.xlsx")
    out = tmp_path / "public.pdf"
    result = invoke("brief", new, "--audience", "public", "--compare", old, "-o", out)
    assert result.exit_code == 0, result.stderr
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(out).pages).split())
    section = text[text.index("What changed"):]
    assert "deleted FTE up 0.6" in section and "1 more post at risk" in section
    assert "19,507.5" not in section and "11,704.5" not in section   # its pay, in any form
    row = section[section.index("less new posts"):].split()     # the net saving's row
    assert row[3:6] == ["£585,225", MARKER, MARKER], row[:6]      # then, now and change


# --------------------------------------------------------------------------
# the samples


@pytest.mark.parametrize("name", ["derbyshire_early_help.xlsx", "coop_working.csv"])
def test_sample_public_summary_passes_an_independent_audit(name: str) -> None:
    result = invoke("summary", sample(name), "--audience", "public", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    ranges = independent_ranges(data)
    assert ranges, "the sample should have hidden values"
    assert_safe(ranges)


@pytest.mark.parametrize("name", ["derbyshire_early_help.xlsx", "coop_working.csv"])
def test_sample_public_briefing_uses_one_marker_and_states_its_audit(name: str,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "public.pdf"
    result = invoke("brief", sample(name), "--audience", "public", "-o", out, "--show-audit")
    assert result.exit_code == 0, result.stderr
    assert "every hidden value has a range of at least 5" in result.stderr
    text = " ".join(p.extract_text() for p in PdfReader(out).pages)
    assert "<5" not in text
    assert MARKER in text
    assert "every hidden value has a range of at least 5" in " ".join(text.split())


def test_the_audit_of_a_sample_is_exact(tmp_path: Path) -> None:
    """The code's own exact audit (the whole linear program, no neighbourhoods) agrees."""
    import reports
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin

    report = reports.check(sample("derbyshire_early_help.xlsx"))
    b = make_briefing(report, reports.summarise(report), load_builtin("public"))
    exact = privacy.audit(b.figures.links(), b.figures.hidden, THRESHOLD)
    assert exact and all(hi is None or hi - lo >= THRESHOLD for lo, hi in exact.values())


def test_refuses_rather_than_publish_an_unsafe_output() -> None:
    v = {("total", "a"): 2, ("total", "b"): 1, ("total", "all"): 3}
    u = dict.fromkeys(v, POSTS)
    with pytest.raises(Unpublishable):
        privacy.protect(Links(values=v, units=u, shown=set(v), keep=set(v),
                              equations=[(("total", "all"), ("total", "a"),
                                          ("total", "b"))]), THRESHOLD)


def test_an_unpublishable_file_gets_no_briefing(tmp_path: Path) -> None:
    rows = [HEADER] + [[f"P{i}", "Tiny", "Worker", "Grade 5", 1, 1,
                        "Deleted" if i < 2 else "Retained", None, "Site", "N", 20000]
                       for i in range(3)]
    path = make_xlsx(tmp_path, rows, name="tiny.xlsx")
    out = tmp_path / "tiny.pdf"
    result = invoke("brief", path, "--audience", "public", "-o", out)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "not written" in result.stderr
    assert not out.exists()


# --------------------------------------------------------------------------
# random schedules


def _rows(draw: Any) -> list[list[Any]]:
    teams = draw(st.integers(2, 4))
    grades = draw(st.integers(2, 3))
    rows = [HEADER]
    n = draw(st.integers(12, 40))
    for i in range(n):
        status = draw(st.sampled_from(["Deleted", "Deleted", "Retained", "Relocated",
                                       "Created"]))
        posts = draw(st.sampled_from([1, 1, 1, 2, 3]))
        fte = draw(st.sampled_from([1, 1, 0.5, 0.6])) * posts
        rows.append([f"P{i}", f"Team {draw(st.integers(1, teams))}", "Worker",
                     f"Grade {draw(st.integers(1, grades))}", round(fte, 2), posts, status,
                     "Health" if status == "Relocated" and i % 2 else
                     ("Housing" if status == "Relocated" else None),
                     "Site", "N", 25000])
    return rows


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(st.data())
def test_random_public_summaries_pass_an_independent_audit(tmp_path: Path, data: Any) -> None:
    rows = _rows(data.draw)
    path = make_xlsx(tmp_path, rows, name="random.xlsx")
    result = invoke("summary", path, "--audience", "public", "--format", "json")
    if result.exit_code == 1:                  # refused: nothing was published
        assert "not written" in result.stderr
        return
    assert result.exit_code == 0, result.stderr
    published = json.loads(result.stdout)
    assert_safe(independent_ranges(published))


# --------------------------------------------------------------------------
# charts: a hidden value is a visible mark; a folded bar is a total


def test_chart_draws_hidden_values_as_marks_and_folds_with_a_total(tmp_path: Path) -> None:
    from reportlab.graphics.shapes import Group, Rect, String

    import reports
    from reports.documents.blocks import Chart
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin
    from reports.render.pdf import _chart, register_fonts

    rows = [HEADER]
    n = 0
    for t in range(20):                     # 20 teams: the chart shows 14 and folds 6
        for status, count in (("Deleted", 8 + t), ("Retained", 9), ("Relocated", 2 + t % 2)):
            for _ in range(count):
                n += 1
                rows.append([f"P{n}", f"Team {t:02d}", "Worker", "Grade 5", 1, 1, status,
                             "Health" if status == "Relocated" else None, "Site", "N", 25000])
    path = make_xlsx(tmp_path, rows, name="teams.xlsx")
    report = reports.check(path)
    b = make_briefing(report, reports.summarise(report), load_builtin("public"))
    chart = next(blk for sec in b.sections for blk in sec.blocks
                 if isinstance(blk, Chart) and blk.axis == "Team")
    hidden_bars = [i for i in range(len(chart.categories))
                   if any(chart.series[s][i] is None for s in STATUSES)]
    assert hidden_bars, "relocated 2 or 3 FTE per team must be hidden"
    register_fonts()
    drawing = _chart(chart, b.colours, 500)

    def walk(node: object) -> list[object]:
        out = [node]
        for child in getattr(node, "contents", []) or []:
            out += walk(child)
        return out

    marks = [g for g in walk(drawing) if isinstance(g, Group)
             and any(isinstance(c, Rect) for c in g.contents)
             and any(isinstance(c, String) and c.text == MARKER for c in g.contents)]
    assert len(marks) == len(hidden_bars)
    # the six teams losing least, each 8 + t deleted (t = 0..5), add up to 63: a total
    assert chart.categories[-1] == f"Other 6 teams: {sum(8 + t for t in range(6))} FTE deleted"


def test_a_public_comparison_states_every_change_it_can_and_hides_a_side_of_a_small_one(
        tmp_path: Path) -> None:
    """Derbyshire, three retained posts moved to deleted.  A change whose old and new
    values are both published is stated (it is plain subtraction); the whole file's
    counts and FTE move freely (the news); money moved by three posts' pay is a sensitive
    change, so one side of it is hidden, and so is its change."""
    from .store_helpers import make_version_2

    v1 = sample("derbyshire_early_help.xlsx")
    v2 = tmp_path / "v2.xlsx"
    moved = make_version_2(v1, v2)
    result = invoke("compare", v1, v2, "--audience", "public", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "added" not in data and "changed" not in data       # no post is listed
    by_key = {t["key"]: t for t in data["totals"]}
    for t in data["totals"]:
        if MARKER in (t["old"], t["new"]):
            assert t["change"] == MARKER, t
        elif t["old"] is not None and t["new"] is not None:
            assert Decimal(str(t["change"])) == Decimal(str(t["new"])) - Decimal(str(t["old"])), t
    assert by_key["deleted_posts"]["change"] == len(moved)       # the news: 3 more posts
    for money in ("deleted_cost", "at_risk_cost", "net_saving"):
        t = by_key.get(money)
        if t is not None and t["old"] != t["new"]:
            assert MARKER in (t["old"], t["new"]) and t["change"] == MARKER, t


def test_a_public_summary_of_hours_based_fte_passes_an_independent_audit(tmp_path: Path
                                                                         ) -> None:
    # FTE to 6 places (hours / 37.5): the audit works in millionths, so that every total
    # still equals the sum of its parts exactly and each hidden value keeps its range
    hours = [20, 22.5, 7.5, 30, 37.5, 18.75, 11, 15, 25]
    rows: list[list[Any]] = [["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status",
                              "Vacant"]]
    for i in range(90):
        fte = (Decimal(str(hours[i % len(hours)])) / Decimal("37.5")).quantize(
            Decimal("0.000001"))
        rows.append([f"P{i}", f"Team {i % 7}", "Worker", f"G{i % 4}", float(fte), 1,
                     "Deleted" if i % 3 == 0 else "Retained", "N" if i % 5 else "Y"])
    assert any(len(str(r[4]).split(".")[-1]) > 2 for r in rows[1:])
    path = make_xlsx(tmp_path, rows, name="hours.xlsx")
    result = invoke("summary", path, "--audience", "public", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    ranges = independent_ranges(data)
    assert ranges, "small teams and grades should be hidden"
    assert_safe(ranges)


def test_the_audit_is_exact_for_fte_to_six_places() -> None:
    # total 0.666667 = a + b with b = 0.333333 published: a is exactly 0.333334, which an
    # audit in hundredths would have truncated to 0.33 (and its total to 0.66)
    values = {("t", "x_fte"): Decimal("0.666667"), ("a", "x_fte"): Decimal("0.333334"),
              ("b", "x_fte"): Decimal("0.333333")}
    units = {k: FTE for k in values}
    lk = links(values, units, [(("t", "x_fte"), ("a", "x_fte"), ("b", "x_fte"))])
    assert lk.fine
    assert privacy.audit(lk, {("a", "x_fte")}, 5) == {
        ("a", "x_fte"): (Decimal("0.333334"), Decimal("0.333334"))}


def test_a_public_comparison_passes_an_independent_audit_with_both_versions(
        tmp_path: Path) -> None:
    """Everything a reader has: the old and the new public summaries and the public
    comparison between them (each total's old, new and change).  Written here as one
    linear program, every hidden figure, and every change stated as hidden, keeps a
    range of at least the threshold."""
    from .store_helpers import make_version_2

    v1 = sample("derbyshire_early_help.xlsx")
    v2 = tmp_path / "v2.xlsx"
    make_version_2(v1, v2)
    ledger = tmp_path / "ledger.db"     # what was released from these files, kept
    old, new = (json.loads(invoke("summary", v, "--audience", "public", "--format",
                                  "json", "--ledger", ledger).stdout) for v in (v1, v2))
    result = invoke("compare", v1, v2, "--audience", "public", "--format", "json",
                    "--ledger", ledger)
    assert result.exit_code == 0, result.stderr
    compared = json.loads(result.stdout)
    cells, eqs, pairs = summary_system(old, tag=("old",))
    more = summary_system(new, tag=("new",))
    cells.update(more[0])
    eqs += more[1]
    pairs += more[2]
    hidden_changes = []
    for t in compared["totals"]:
        key = t["key"]
        if not key.endswith(("_fte", "_posts")):
            continue
        for side in ("old", "new"):
            if t[side] != MARKER:           # the comparison states it: the same figure
                assert cells.get((side, "total", key), t[side]) in (t[side], MARKER)
                cells[(side, "total", key)] = t[side]
        if (("old", "total", key) in cells) and (("new", "total", key) in cells):
            change = ("change", key)
            if t["change"] == MARKER:
                hidden_changes.append(change)
                eqs.append({change: -1, ("new", "total", key): 1, ("old", "total", key): -1})
            elif t["change"] is not None:
                cells[change] = t["change"]
                eqs.append({change: -1, ("new", "total", key): 1, ("old", "total", key): -1})
    assert any(v == MARKER for v in cells.values()), "both versions hide small figures"
    # every hidden figure of either version keeps its range with all three outputs side by
    # side (a change left unstated may still be the difference of two published totals:
    # what is promised is that no hidden figure can be narrowed)
    ranges = solve_ranges(cells, eqs, pairs, extra_unknown=hidden_changes)
    assert_safe({k: v for k, v in ranges.items() if k not in hidden_changes})


def test_the_audit_is_bounded_by_work_never_by_the_clock(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """The whole-number search of a range stops after MIP_NODES branch-and-bound nodes,
    never after some seconds: a time limit would make what a public output hides depend
    on how busy the machine is (the portal's builder and the CLI would disagree)."""
    made: list[Any] = []
    real = privacy._solver

    def spy() -> Any:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(privacy, "_solver", spy)
    v = {("dest", "CSC", "posts"): 5, ("dest", "PH", "posts"): 1, ("total", "posts"): 6,
         ("total", "other"): 100, ("total", "all"): 106}
    u = dict.fromkeys(v, POSTS)
    eqs = [(("total", "posts"), ("dest", "CSC", "posts"), ("dest", "PH", "posts")),
           (("total", "all"), ("total", "posts"), ("total", "other"))]
    privacy.audit(links(v, u, eqs), {("dest", "PH", "posts"), ("dest", "CSC", "posts")},
                  THRESHOLD)
    assert made and all(h.getOptionValue("time_limit")[1] == float("inf") for h in made)
    whole = [h for h in made if len(h.getLp().integrality_) > 0]
    assert whole and all(h.getOptionValue("mip_max_nodes")[1] == privacy.MIP_NODES
                         for h in whole)
