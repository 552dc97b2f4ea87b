"""Issue 23's rules for public figures, each tested at its edge, from the rule:

- a figure is sensitive when it describes more than 0 and fewer than 5 posts (the
  template's threshold): a count, and the FTE (and money) of such a group; FTE stands
  in only when the file gives no Posts column;
- so a group of 7 part-time posts holding 4.7 FTE is not sensitive, and a realistic
  HR schedule with such a grade is published, not refused;
- a file with relocated posts and no Posts column gets its public outputs (it crashed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reports import intake
from reports.figures import privacy
from reports.figures.privacy import MARKER, Links, audit, protect
from reports.figures.recode import ALL, recode
from reports.intake.rules import Report
from reports.model.measures import FTE, POSTS
from reports.services.source import Source, check

from .conftest import invoke, make_xlsx
from .test_privacy import assert_safe, independent_ranges

THRESHOLD = 5
HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Destination"]


def _derbyshire() -> Report:
    """The Derbyshire early help sample, read and checked."""
    return check(Source(file=Path(__file__).parent.parent / "data" /
                        "derbyshire_early_help.xlsx"))


def _links(values: dict[tuple, Any], units: dict[tuple, str],
           people: dict[tuple, int] | None = None) -> Links:
    return Links(values=values, units=units, shown=set(values), people=people or {})


@pytest.mark.parametrize(("posts", "sensitive"), [(4, True), (5, False), (6, False)])
def test_a_count_of_posts_is_sensitive_under_five(posts: int, sensitive: bool) -> None:
    key = ("team", "A", "deleted_posts")
    assert _links({key: posts}, {key: POSTS}).is_small(key, THRESHOLD) is sensitive


@pytest.mark.parametrize(("posts", "sensitive"), [(4, True), (5, False), (6, False)])
def test_the_fte_of_a_group_is_sensitive_by_its_posts_not_its_fte(posts: int,
                                                                  sensitive: bool) -> None:
    key = ("team", "A", "deleted_fte")
    fte = Decimal("0.5") * posts            # part-time posts: under 5 FTE in every case
    assert _links({key: fte}, {key: FTE}, {key: posts}).is_small(key, THRESHOLD) is sensitive


def test_seven_part_time_posts_holding_4_7_fte_are_not_sensitive() -> None:
    key = ("grade", "Band 3", "baseline_fte")
    links = _links({key: Decimal("4.70")}, {key: FTE}, {key: 7})
    assert not links.is_small(key, THRESHOLD)


def test_fte_stands_in_when_the_file_gives_no_posts() -> None:
    small, large = ("team", "A", "deleted_fte"), ("team", "B", "deleted_fte")
    links = _links({small: Decimal("4.99"), large: Decimal("5.00")}, {small: FTE, large: FTE})
    assert links.is_small(small, THRESHOLD) and not links.is_small(large, THRESHOLD)


def test_zero_and_money_are_never_sensitive_by_themselves() -> None:
    zero, money = ("team", "A", "created_fte"), ("team", "A", "deleted_cost")
    links = _links({zero: Decimal(0), money: Decimal("19000")}, {zero: FTE, money: "money"},
                   {zero: 0, money: 1})
    assert not links.is_small(zero, THRESHOLD) and not links.is_small(money, THRESHOLD)


def test_a_zero_or_unknown_figure_is_never_sensitive_whatever_posts_it_names() -> None:
    """Rule: "a zero is never hidden", and a figure with no value (not known) is not
    sensitive either, even where a count of 3 posts stands beside it."""
    zero, unknown = ("team", "A", "relocated_fte"), ("team", "A", "created_fte")
    links = _links({zero: Decimal(0), unknown: None}, {zero: FTE, unknown: FTE},
                   {zero: 3, unknown: 3})
    assert not links.is_small(zero, THRESHOLD) and not links.is_small(unknown, THRESHOLD)


def test_a_figure_of_no_posts_is_not_sensitive() -> None:
    """Rule: sensitive means MORE than 0 and fewer than the threshold posts; a figure
    that describes 0 posts (an FTE change with no post added or lost) is not."""
    key = ("change", "baseline_fte")
    assert not _links({key: Decimal("0.5")}, {key: FTE}, {key: 0}).is_small(key, THRESHOLD)


def test_a_threshold_of_0_hides_nothing_not_even_a_sensitive_change() -> None:
    """Rule (template `small_number_threshold`): 0 means this output does not suppress
    small numbers, so nothing is hidden, a figure marked sensitive (a small change)
    included, and no hidden figure has a range."""
    small, change = ("team", "A", "deleted_posts"), ("change", "deleted_cost")
    links = Links(values={small: 1, change: Decimal("19000")},
                  units={small: POSTS, change: "money"}, shown={small, change},
                  sensitive={change})
    p = protect(links, 0)
    assert (p.hidden, p.ranges, p.threshold) == ({}, {}, 0)
    assert p.summary() == "No value is hidden: this output does not suppress small numbers."


def test_a_threshold_of_1_hides_an_fte_under_1_when_the_file_gives_no_posts() -> None:
    """Rule: sensitive is more than 0 and fewer than the threshold; without posts, FTE
    stands in, so with a threshold of 1 a group of 0.5 FTE is sensitive (and 1.0 FTE
    is not), and its figure is hidden."""
    half, whole = ("team", "A", "deleted_fte"), ("team", "B", "deleted_fte")
    links = _links({half: Decimal("0.5"), whole: Decimal("1.0")}, {half: FTE, whole: FTE})
    assert links.is_small(half, 1) and not links.is_small(whole, 1)
    assert half in protect(links, 1).hidden


def _two_destinations(csc_fte: str, ph_fte: str, *, at_most: bool = False
                      ) -> tuple[dict[tuple, Any], Links]:
    """5 posts relocated to CSC and 1 to PH (6 in all, beside 100 others), in posts and
    in FTE (as given, to the file's places; 90.50 FTE others); with `at_most`, each
    FTE is held at most by its posts."""
    v: dict[tuple, Any] = {
        ("dest", "CSC", "posts"): 5, ("dest", "PH", "posts"): 1, ("total", "posts"): 6,
        ("total", "other"): 100, ("total", "all"): 106,
        ("dest", "CSC", "fte"): Decimal(csc_fte), ("dest", "PH", "fte"): Decimal(ph_fte),
        ("total", "fte"): Decimal(csc_fte) + Decimal(ph_fte),
        ("total", "other_fte"): Decimal("90.50")}
    v[("total", "all_fte")] = v[("total", "fte")] + v[("total", "other_fte")]
    pairs = [(("dest", d, "fte"), ("dest", d, "posts")) for d in ("CSC", "PH")] + \
        [(("total", "fte"), ("total", "posts"))]
    return v, Links(
        values=v, units={k: FTE if "fte" in k[-1] else POSTS for k in v}, shown=set(v),
        people={("dest", "CSC", "fte"): 5, ("dest", "PH", "fte"): 1, ("total", "fte"): 6},
        equations=[(("total", "posts"), ("dest", "CSC", "posts"), ("dest", "PH", "posts")),
                   (("total", "all"), ("total", "posts"), ("total", "other")),
                   (("total", "fte"), ("dest", "CSC", "fte"), ("dest", "PH", "fte")),
                   (("total", "all_fte"), ("total", "fte"), ("total", "other_fte"))],
        at_most=pairs if at_most else ())


@pytest.mark.parametrize("places", [2, 3])
def test_the_ranges_a_protection_states_are_in_each_figures_own_unit(places: int) -> None:
    """Rule (the audit JSON publishes them): each hidden figure's stated range is in its
    own unit (posts; FTE to the file's places: hundredths, or millionths for a file that
    gives more than 2), holds its true value, is at least the threshold wide, and is
    the exact audit's range: a problem of 10 figures fits in one neighbourhood of the
    repair's audit (privacy.NEIGHBOURHOODS), which is then the whole problem."""
    v, links = _two_destinations(*{2: ("4.12", "0.88"), 3: ("4.125", "0.875")}[places])
    assert len(v) < privacy.NEIGHBOURHOODS[0]
    p = protect(links, THRESHOLD)
    assert {("dest", "PH", "posts"), ("dest", "PH", "fte")} <= set(p.hidden)
    exact = audit(links, p.hidden, THRESHOLD)
    assert set(p.ranges) == set(p.hidden)
    unit = Decimal(1) / 10 ** (6 if places > 2 else 2)
    for key, (lo, hi) in p.ranges.items():
        assert (lo, hi) == exact[key], key
        assert lo <= v[key] and (hi is None or v[key] <= hi), (key, lo, hi)
        assert hi is None or hi - lo >= THRESHOLD, (key, lo, hi)
        assert lo % (1 if links.units[key] == POSTS else unit) == 0, (key, lo)


@pytest.mark.parametrize(("csc", "hidden"), [(5, 4), (6, 2)])
def test_a_range_exactly_the_threshold_wide_protects_and_nothing_more_is_hidden(
        csc: int, hidden: int) -> None:
    """Rule: a hidden figure is safe when a reader can narrow it to no less than the
    threshold ("a range of at least 5").  PH (1 post) hidden with CSC: PH is then 1 to
    CSC + 1 - 1.  With CSC 6 that is 1 to 6, exactly 5 wide: safe, so the two are all
    that is hidden.  With CSC 5 it is 1 to 5, too narrow, and the totals go too."""
    ph, c = ("dest", "PH", "posts"), ("dest", "CSC", "posts")
    v = {c: csc, ph: 1, ("total", "posts"): csc + 1, ("total", "other"): 100,
         ("total", "all"): csc + 101}
    links = Links(values=v, units=dict.fromkeys(v, POSTS), shown=set(v),
                  equations=[(("total", "posts"), c, ph),
                             (("total", "all"), ("total", "posts"), ("total", "other"))])
    p = protect(links, THRESHOLD)
    assert len(p.hidden) == hidden and {ph, c} <= set(p.hidden)
    assert p.primary == 1                   # PH alone is under the threshold
    if hidden == 2:
        assert p.ranges[ph] == (1, 6)


def test_a_zero_cost_is_not_hidden_with_the_count_it_belongs_to() -> None:
    """Rule: money follows its counts (a single new post's cost is hidden with it), but
    "a zero is never hidden": a cost of 0 beside a hidden count is published."""
    posts, cost, deleted = ("total", "created_posts"), ("total", "created_cost"), \
        ("total", "deleted_posts")
    v = {posts: 1, cost: Decimal(0), deleted: 40, ("total", "all_posts"): 41}
    links = Links(values=v, units={**dict.fromkeys(v, POSTS), cost: "money"}, shown=set(v),
                  equations=[(("total", "all_posts"), posts, deleted)],
                  follows={cost: [posts]})
    p = protect(links, THRESHOLD)
    assert posts in p.hidden and cost not in p.hidden


@pytest.mark.parametrize(("hidden", "nonzero", "refused"),
                         [(17, 20, False), (18, 20, True), (1, 1, True), (1, 0, True)])
def test_an_output_is_refused_only_when_more_than_85_percent_would_be_hidden(
        hidden: int, nonzero: int, refused: bool) -> None:
    """Rule (privacy.MAX_HIDDEN_SHARE): an output that would hide MORE than 85% of its
    non-zero figures is not written; exactly 85% (17 of 20) is.  A single figure hidden
    of one (or of none non-zero) is more than 85%."""
    keys = {("team", str(i), "deleted_posts") for i in range(hidden)}
    if refused:
        with pytest.raises(privacy.Unpublishable, match=f"hide {hidden:,} of {nonzero:,}"):
            privacy._too_many(keys, nonzero, privacy.MAX_HIDDEN_SHARE)
    else:
        privacy._too_many(keys, nonzero, privacy.MAX_HIDDEN_SHARE)


def test_fte_at_most_posts_holds_only_where_both_figures_are_given() -> None:
    """Rule (the audit's links): FTE is at most the posts only where both are figures of
    the output; a pair whose count is not given (a table without posts) links nothing,
    and the protection is as if it were not there."""
    a, b, total = ("team", "A", "deleted_fte"), ("team", "B", "deleted_fte"), \
        ("total", "deleted_fte")
    v = {a: Decimal("1.00"), b: Decimal("9.00"), total: Decimal("10.00")}
    given: dict[str, Any] = {"values": v, "units": dict.fromkeys(v, FTE), "shown": set(v),
                             "equations": [(total, a, b)], "people": {a: 1, b: 9, total: 10}}
    with_pair = protect(Links(**given, at_most=[(a, ("team", "A", "deleted_posts"))]),
                        THRESHOLD)
    without = protect(Links(**given), THRESHOLD)
    assert set(with_pair.hidden) == set(without.hidden) == {a, b}
    assert with_pair.ranges == without.ranges == {a: (Decimal("0.01"), Decimal("9.99")),
                                                  b: (Decimal("0.01"), Decimal("9.99"))}


@pytest.mark.parametrize(("fte", "posts", "unit"), [("0.50", 1, "0.01"), ("1.50", 2, "0.01"),
                                                    ("0.875", 1, "0.000001"),
                                                    ("1.875", 2, "0.000001")])
def test_a_hidden_fte_beside_its_published_posts_is_at_most_one_fte_a_post(
        fte: str, posts: int, unit: str) -> None:
    """Rule (the audit's links): FTE is at most the posts, so a hidden FTE beside its
    published count of posts lies between the smallest unit above 0 (a hidden value is
    not 0) and one FTE a post: in hundredths, or in millionths for a file that gives
    FTE to more than 2 places."""
    f, n = ("dest", "A", "fte"), ("dest", "A", "posts")
    links = Links(values={f: Decimal(fte), n: posts}, units={f: FTE, n: POSTS},
                  shown={f, n}, at_most=[(f, n)])
    assert audit(links, {f}, THRESHOLD)[f] == (Decimal(unit), Decimal(posts))


def test_a_search_cut_short_with_no_figure_found_trusts_only_the_true_value(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule (privacy._Problem._solve): the exact audit's whole-number search is limited
    to MIP_NODES branch-and-bound nodes, a count and not a time; a search stopped there
    before it found any figure the value could take claims no room at all (the range is
    the value itself), and any other answer is the full search's.  With no nodes
    allowed, the searches over FTE held at most by posts stop that way."""
    v, links = _two_destinations("4.12", "0.88", at_most=True)
    hidden = set(protect(links, THRESHOLD).hidden)
    full = audit(links, hidden, THRESHOLD)
    monkeypatch.setattr(privacy, "MIP_NODES", 0)
    cut = audit(links, hidden, THRESHOLD)
    stopped = {k for k in hidden if cut[k] != full[k]}
    assert stopped, "no search was cut short: the test no longer tests the rule"
    assert all(cut[k] == (v[k], v[k]) for k in stopped), cut


def test_a_headline_figure_is_hidden_only_when_a_detail_figure_will_not_do() -> None:
    """Rule (issue 23, step 4): hiding costs make the headline measures (a team's
    deleted figures, the totals) dear and the detail (retained, relocated, created)
    cheap.  Team A's 1 deleted post is protected by hiding either B's 9 deleted or A's
    10 retained: by size alone the smaller (B's deleted) is cheaper, but it is a
    headline figure, so A's retained is hidden instead."""
    small, headline, detail = ("team", "A", "deleted_posts"), ("team", "B", "deleted_posts"), \
        ("team", "A", "retained_posts")
    v = {small: 1, headline: 9, detail: 10, ("total", "posts"): 20}
    given: dict[str, Any] = {"values": v, "units": dict.fromkeys(v, POSTS), "shown": set(v),
                             "equations": [(("total", "posts"), small, headline, detail)]}
    assert set(protect(Links(**given), THRESHOLD).hidden) == {small, headline}
    assert set(protect(Links(**given, dear={headline}), THRESHOLD).hidden) == {small, detail}


def test_the_solvers_banner_never_reaches_standard_output() -> None:
    """Rule (privacy._solver): HiGHS prints a banner on standard output when a process
    makes its first instance; a JSON summary goes to standard output, so the banner is
    sent to /dev/null, no solve prints its log, and standard output is left as it was.
    A fresh process (the banner shows once per process), importing the code from the
    tree under test, protects a small table and prints one line."""
    root = Path(__file__).resolve().parents[1]
    code = ("from reports.figures import privacy\n"       # PH 1 beside CSC 6: solves
            "from reports.figures.privacy import Links\n"
            "v = {('d', 'CSC'): 6, ('d', 'PH'): 1, ('t',): 7}\n"
            "links = Links(values=v, units=dict.fromkeys(v, 'posts'), shown=set(v),\n"
            "              equations=[(('t',), ('d', 'CSC'), ('d', 'PH'))])\n"
            "assert privacy.protect(links, 5).hidden\n"
            "print('clean', flush=True)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout == "clean\n", done.stdout


def _schedule(tmp_path: Path, *, band8: bool = False) -> Path:
    """20 rows, 167 posts in six teams, as an HR schedule gives them; Band 3 is 7
    part-time posts holding 4.7 FTE in all (as in the file issue 23 found refused).
    With `band8`, a grade of 3 posts too (22 rows, still 167 posts)."""
    rows: list[list[Any]] = [HEADER]
    teams = ["Libraries", "Museums", "Parks", "Leisure", "Archives", "Arts"]
    # (team, title, grade, FTE per post, posts, status)
    plan = [(0, "Librarian", "Band 6", 1, 12, "Deleted"), (0, "Assistant", "Band 4", 1, 10,
                                                            "Retained"),
            (0, "Clerk", "Band 3", Decimal("0.70"), 3, "Deleted"),
            (1, "Curator", "Band 6", 1, 9, "Deleted"), (1, "Attendant", "Band 4", 1, 11,
                                                       "Retained"),
            (1, "Clerk", "Band 3", Decimal("0.60"), 2, "Deleted"),
            (2, "Ranger", "Band 5", 1, 14, "Deleted"), (2, "Gardener", "Band 4", 1, 12,
                                                       "Retained"),
            (2, "Clerk", "Band 3", Decimal("0.70"), 2, "Deleted"),
            (3, "Instructor", "Band 5", 1, 11, "Retained"), (3, "Lifeguard", "Band 4", 1, 10,
                                                             "Deleted"),
            (4, "Archivist", "Band 6", 1, 8, "Retained"), (4, "Conservator", "Band 6", 1, 6,
                                                           "Deleted"),
            (5, "Officer", "Band 5", 1, 9, "Deleted"), (5, "Producer", "Band 5", 1, 8,
                                                        "Retained"),
            (5, "Technician", "Band 4", 1, 7, "Deleted"),
            (0, "Manager", "Band 7", 1, 6, "Retained"), (2, "Manager", "Band 7", 1, 6,
                                                        "Deleted"),
            (3, "Manager", "Band 7", Decimal("0.95"), 7, "Retained"),
            (4, "Porter", "Band 4", Decimal("0.90"), 14, "Retained")]
    if band8:
        plan[-1] = (4, "Porter", "Band 4", Decimal("0.90"), 11, "Retained")
        plan += [(5, "Director", "Band 8", 1, 1, "Deleted"), (3, "Head", "Band 8", 1, 2,
                                                              "Retained")]
    for team, title, grade, fte, posts, status in plan:
        rows.append([teams[team], title, grade, Decimal(fte) * posts, posts, status, None])
    path = make_xlsx(tmp_path, [[float(c) if isinstance(c, Decimal) else c for c in r]
                                for r in rows], name="schedule.xlsx")
    return path


def test_a_realistic_schedule_with_a_small_fte_grade_of_many_posts_is_published(
        tmp_path: Path) -> None:
    path = _schedule(tmp_path)
    full = json.loads(invoke("summary", path, "--format", "json").stdout)
    assert len(full["by_team"]) == 6 and full["totals"]["baseline_posts"] == 167
    band3 = next(g for g in full["by_grade"] if g["grade"] == "Band 3")
    assert band3["baseline_posts"] == 7 and Decimal(str(band3["baseline_fte"])) == \
        Decimal("4.70")
    result = invoke("summary", path, "--audience", "public", "--format", "json")
    assert result.exit_code == 0, result.stderr
    public = json.loads(result.stdout)
    band3 = next(g for g in public["by_grade"] if g["grade"] == "Band 3")
    assert band3["baseline_fte"] != MARKER              # 7 posts: not sensitive
    assert_safe(independent_ranges(public))


def _full_rows(full: dict[str, Any], group: str, col: str, recoded: dict[str, Any]
               ) -> dict[str, dict[str, Any]]:
    """The full summary's rows by the public label: a merged group is its parts' sum."""
    merged = {part: label for label, parts in recoded.get(col, {}).items() for part in parts}
    out: dict[str, dict[str, Any]] = {}
    for row in full[group]:
        label = merged.get(row[col], row[col])
        into = out.setdefault(label, {})
        for k, v in row.items():
            if k.endswith("_posts"):
                into[k] = into.get(k, 0) + v
    return out


def test_a_grade_of_three_posts_is_merged_and_every_small_figure_is_hidden(
        tmp_path: Path) -> None:
    path = _schedule(tmp_path, band8=True)
    full = json.loads(invoke("summary", path, "--format", "json").stdout)
    assert full["totals"]["baseline_posts"] == 167
    result = invoke("summary", path, "--audience", "public", "--format", "json")
    assert result.exit_code == 0, result.stderr
    public = json.loads(result.stdout)
    assert_safe(independent_ranges(public))
    merged = public["recoded"]["grade"]["Other grades"]
    assert merged[0] == "Band 8"                    # 3 posts, under 5: merged, smallest first
    sizes = {g["grade"]: g["baseline_posts"] for g in full["by_grade"]}
    assert sum(sizes[g] for g in merged) >= THRESHOLD > sum(sizes[g] for g in merged[:-1])
    assert "Band 8" not in {g["grade"] for g in public["by_grade"]}
    checked = 0
    for col, group in (("team", "by_team"), ("grade", "by_grade")):
        posts = _full_rows(full, group, col, public.get("recoded", {}))
        for row in public[group]:
            for m in ("deleted", "retained"):
                n = posts[row[col]][f"{m}_posts"]
                if 0 < n < THRESHOLD:
                    assert row[f"{m}_fte"] == MARKER, (col, row[col], m)
                    checked += 1
    assert checked >= 1


def test_relocated_posts_with_no_posts_column_get_public_outputs(tmp_path: Path) -> None:
    """It stopped with "TypeError: '<' not supported between 'int' and 'NoneType'"."""
    rows: list[list[Any]] = [["Team", "Job title", "Grade", "FTE", "Status", "Destination"]]
    for t in range(4):
        for i in range(10):
            status = ("Relocated" if i < 2 else "Deleted" if i < 6 else "Retained")
            rows.append([f"Team {t}", "Officer", f"G{4 + i % 3}", 1, status,
                         "Adult Care" if status == "Relocated" else None])
    path = make_xlsx(tmp_path, rows)
    summary = invoke("summary", path, "--audience", "public", "--format", "json")
    assert summary.exit_code == 0, summary.stderr
    data = json.loads(summary.stdout)
    assert data["totals"]["relocated_posts"] is None        # not given, not invented
    out = tmp_path / "public.pdf"
    brief = invoke("brief", path, "--audience", "public", "-o", out)
    assert brief.exit_code == 0, brief.stderr
    assert out.read_bytes().startswith(b"%PDF")


# --------------------------------------------------------------------------
# recoding before suppression (figures.recode), each step on a file built to need it


def _rows(teams: list[tuple[str, int, str]], dest: dict[int, str] | None = None
          ) -> list[list[Any]]:
    """One row a post: (team, posts, status) groups; `dest`: row index -> destination."""
    rows: list[list[Any]] = [HEADER]
    for team, n, status in teams:
        for _ in range(n):
            rows.append([team, "Officer", "G5", 1, 1, status, None])
    for i, d in (dest or {}).items():
        rows[i][5], rows[i][6] = "Relocated", d
    return rows


def _public(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    full = json.loads(invoke("summary", path, "--format", "json").stdout)
    result = invoke("summary", path, "--audience", "public", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return full, json.loads(result.stdout)


def test_a_small_relocation_destination_is_merged_into_other_services(tmp_path: Path
                                                                      ) -> None:
    teams = [("A", 12, "Deleted"), ("A", 12, "Retained"), ("B", 12, "Deleted"),
             ("B", 12, "Retained")]
    dest = {i: "Adult Care" for i in range(1, 7)} | {i: "Public Health" for i in (30, 31)}
    full, public = _public(make_xlsx(tmp_path, _rows(teams, dest)))
    sizes = {g["destination"]: g["relocated_posts"] for g in full["by_destination"]}
    assert sizes == {"Adult Care": 6, "Public Health": 2}
    merged = public["recoded"]["destination"]["Other services"]
    assert merged[0] == "Public Health"               # the small one, first
    assert sum(sizes[d] for d in merged) >= THRESHOLD
    assert [g["destination"] for g in public["by_destination"]] == ["Other services"]


def test_many_small_teams_are_merged_in_groups_that_each_reach_five_posts(
        tmp_path: Path) -> None:
    teams = [(f"T{i:02}", 1 + i % 3, "Deleted" if i % 2 else "Retained") for i in range(30)]
    teams += [("Big", 20, "Deleted"), ("Big", 20, "Retained")]
    full, public = _public(make_xlsx(tmp_path, _rows(teams)))
    sizes = {g["team"]: g["baseline_posts"] for g in full["by_team"]}
    bins = public["recoded"]["team"]
    assert len(bins) > 1 and "Big" not in {t for parts in bins.values() for t in parts}
    assert sorted(t for parts in bins.values() for t in parts) == sorted(
        t for t, n in sizes.items() if n < THRESHOLD)
    for label, parts in bins.items():
        assert sum(sizes[t] for t in parts) >= THRESHOLD, label
    shown = {g["team"] for g in public["by_team"]}
    assert shown == set(bins) | {"Big"}


def test_level_one_merges_a_group_with_a_small_status_that_level_zero_keeps() -> None:

    report = _derbyshire()
    posts = report.posts
    small_status = {t for t, g in posts.groupby("team")
                    if any(0 < n < THRESHOLD for n in g.groupby("status")["posts"].sum())}
    assert small_status                  # Amber Valley & Dales: 1 relocated post
    _, zero = recode(report, THRESHOLD, 0)
    _, one = recode(report, THRESHOLD, 1)
    assert "team" not in zero.merged     # every team has 5 posts or more
    assert small_status <= {t for parts in one.merged["team"].values() for t in parts}


@pytest.mark.parametrize("level", [0, 1, 2])
def test_a_threshold_of_0_merges_nothing_at_any_level(level: int) -> None:
    """Rule (template `small_number_threshold`): 0 means no small-number protection, so
    no design merges anything, even the last one (which merges every grouping into
    one): the report itself is published, and the recoding says which level it is."""

    report = _derbyshire()
    same, recoding = recode(report, 0, level)
    assert same is report and not recoding and recoding.merged == {}
    assert recoding.level == level


def test_without_a_posts_column_groups_are_merged_by_their_fte(tmp_path: Path) -> None:
    """Rule: a group counts posts; a file with no Posts column counts FTE instead, and
    a group is small under 5.  Team A's 3 rows of 2 FTE (6 FTE, though 3 rows) and team
    C's exactly 5.00 FTE are not merged at 5; at 7 both are, smallest first."""

    rows = [["Team", "Job title", "Grade", "FTE", "Status"],
            *[["A", "Officer", "G5", 2, "Deleted"]] * 3,
            *[["C", "Assistant", "G4", 1, "Deleted"]] * 5,
            *[["B", "Clerk", "G3", 1, "Retained"]] * 10]
    report = intake.check(make_xlsx(tmp_path, rows))
    assert report.valid and not report.has_posts
    assert recode(report, THRESHOLD, 0)[1].merged == {}
    assert recode(report, 7, 0)[1].merged["team"] == {"Other teams": ["C", "A"]}


def test_a_group_of_exactly_five_posts_is_not_merged(tmp_path: Path) -> None:
    """Rule: a group is small under 5 posts; 5 is not."""

    rows = [HEADER, ["Five", "Clerk", "G1", 5, 5, "Deleted", ""],
            ["Big", "Clerk", "G1", 20, 20, "Retained", ""]]
    report = intake.check(make_xlsx(tmp_path, rows))
    assert report.valid
    assert recode(report, THRESHOLD, 0)[1].merged == {}


def test_rows_with_no_site_are_not_a_site_to_merge(tmp_path: Path) -> None:
    """Rule: sites are merged among the rows that give one; rows with no Location are
    no site, so the small site X (2 posts) merges with the next smallest site, Y, and
    never with the 6 posts that give no site."""

    rows = [[*HEADER[:-1], "Location"],
            ["A", "Clerk", "G1", 2, 2, "Deleted", "X"],
            ["B", "Clerk", "G1", 6, 6, "Deleted", ""],
            ["C", "Clerk", "G1", 10, 10, "Retained", "Y"]]
    report = intake.check(make_xlsx(tmp_path, rows))
    assert report.valid
    merged = recode(report, THRESHOLD, 0)[1].merged
    assert merged["location"] == {"Other sites": ["X", "Y"]}

def test_the_last_design_merges_each_grouping_into_one() -> None:
    """Rule (recode level 2, the last design): every grouping with more than one group
    is merged into one ("All teams", "All grades"), so only the whole file's figures
    are left to publish."""

    report = _derbyshire()
    merged = recode(report, THRESHOLD, 2)[1].merged
    for col in ("team", "grade"):
        labels = sorted(set(report.posts[col]))
        assert len(labels) > 1
        assert list(merged[col]) == [ALL[col]] and sorted(merged[col][ALL[col]]) == labels


def test_the_last_design_publishes_a_twelve_post_file_and_only_a_tiny_one_is_refused(
        tmp_path: Path) -> None:
    twelve = [("A", 3, "Deleted"), ("B", 3, "Retained"), ("C", 2, "Deleted"),
              ("D", 2, "Retained"), ("E", 2, "Deleted")]
    full, public = _public(make_xlsx(tmp_path, _rows(twelve), name="twelve.xlsx"))
    assert full["totals"]["baseline_posts"] == 12
    assert public["totals"]["baseline_posts"] == 12                # published
    four = [("A", 2, "Deleted"), ("B", 2, "Retained")]      # nothing in it is safe
    path = make_xlsx(tmp_path, _rows(four), name="four.xlsx")
    result = invoke("summary", path, "--audience", "public", "--format", "json")
    assert result.exit_code == 1
    assert "4 posts in all, fewer than 10" in result.stderr
    assert "union or management briefing" in result.stderr


# --------------------------------------------------------------------------
# issue 25: suppression at its edges, and a threshold set from a template


def _template_with(audience: str = "public", **tables: dict[str, Any]) -> Any:
    """A built-in template with the keys of `tables` (e.g. equality={"threshold": 3})
    changed, as a user's edited copy would have them."""
    import tomllib

    from reports.documents.template import parse_template, template_path

    data = tomllib.loads(template_path(f"{audience}.toml").read_text("utf-8"))
    for table, keys in tables.items():
        data.setdefault(table, {}).update(keys)
    return parse_template(data, f"{audience}-edited.toml")


def _equality_counts(tmp_path: Path, at_risk: int, rule: Any) -> dict[str, Any]:
    """Group X: `at_risk` occupied posts deleted and 20 kept; group Y: 20 and 20.  Only X's
    at-risk count can be small."""
    from reports.figures.equality import equality

    rows: list[list[Any]] = [["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant",
                              "Sex"]]
    for group, deleted in (("X", at_risk), ("Y", 20)):
        rows += [["T", "W", "G", deleted, deleted, "Deleted", "N", group],
                 ["T", "W", "G", 20, 20, "Retained", "N", group]]
    e = equality(intake.check(make_xlsx(tmp_path, rows)), rule)
    (sex,) = [c for c in e.characteristics if c.key == "sex"]
    return {r["group"]: r for r in sex.rows}


@pytest.mark.parametrize(("at_risk", "hidden"), [(4, True), (5, False), (6, False)])
def test_suppression_an_equality_count_under_five_is_hidden(tmp_path: Path, at_risk: int,
                                                            hidden: bool) -> None:
    from reports.figures.equality import PROTECT_ALL

    x = _equality_counts(tmp_path, at_risk, PROTECT_ALL)["X"]
    assert (x["eq_at_risk_posts"] == MARKER) is hidden
    if not hidden:          # nothing else is small, so nothing at all is hidden
        assert x["eq_at_risk_posts"] == at_risk and x["fisher_p"] != MARKER


@pytest.mark.parametrize(("at_risk", "hidden"), [(2, True), (3, False)])
def test_suppression_an_equality_threshold_of_3_set_from_a_template(tmp_path: Path,
                                                                    at_risk: int,
                                                                    hidden: bool) -> None:
    # a management template that protects sex too, at 3
    t = _template_with("management", equality={"shown_in_full": [], "threshold": 3})
    assert t.equality_rule.threshold == 3 and t.equality_rule.protects("sex")
    x = _equality_counts(tmp_path, at_risk, t.equality_rule)["X"]
    assert (x["eq_at_risk_posts"] == MARKER) is hidden


@pytest.mark.parametrize(("deleted", "hidden"), [(2, True), (3, False)])
def test_suppression_a_briefing_threshold_of_3_set_from_a_template(tmp_path: Path,
                                                                   deleted: int,
                                                                   hidden: bool) -> None:
    from reports.documents.briefing import make_briefing
    from reports.figures.totals import summarise

    t = _template_with("public", privacy={"small_number_threshold": 3})
    assert t.small_number_threshold == 3
    rows: list[list[Any]] = [HEADER[:6]]
    for team, lost in (("Alpha", deleted), ("Beta", 10)):
        rows += [[team, "W", "G1", lost, lost, "Deleted"], [team, "W", "G1", 20, 20, "Retained"]]
    report = intake.check(make_xlsx(tmp_path, rows))
    b = make_briefing(report, summarise(report), t)
    assert b.protection is not None and b.protection.threshold == 3
    assert (("team", "Alpha", "deleted_fte") in b.figures.hidden) is hidden
    method = " ".join(x.text for s in b.sections if s.id == "method" for x in s.blocks
                      if hasattr(x, "text") and isinstance(x.text, str))
    assert "above 0 and under 3 is hidden" in method
    # the equality tables keep the public floor of 5 whatever the briefing's threshold
    assert t.equality_rule.threshold == 5


@pytest.mark.parametrize(("edit", "refusal"), [
    ({"shown_in_full": ["sex"]}, "cannot show an equality characteristic in full"),
    ({"threshold": 4}, "from 5 to 1000 in a public template"),
    ({"kept": "retained"}, "keeps 'equality.kept'"),
])
def test_a_public_template_cannot_weaken_the_equality_protection(edit: dict[str, Any],
                                                                 refusal: str) -> None:
    from reports.model.errors import TemplateError

    with pytest.raises(TemplateError, match=refusal):
        _template_with("public", equality=edit)


@pytest.mark.parametrize("audience", ["union", "management"])
@pytest.mark.parametrize("characteristic", ["ethnicity", "disability", "religion_or_belief",
                                            "sexual_orientation"])
def test_no_template_can_show_special_category_data_in_full(audience: str,
                                                            characteristic: str) -> None:
    from reports.model.errors import TemplateError

    with pytest.raises(TemplateError, match="special category data"):
        _template_with(audience, equality={"shown_in_full": [characteristic]})


def test_a_consultation_template_may_not_set_an_equality_threshold_under_2() -> None:
    from reports.model.errors import TemplateError

    with pytest.raises(TemplateError, match="from 2 to 1000"):
        _template_with("union", equality={"threshold": 1})


@pytest.mark.parametrize(("audience", "in_full"), [
    ("union", {"part_time", "sex", "working_pattern"}),
    ("management", {"part_time", "sex", "working_pattern"}),
    ("public", set()),
])
def test_each_builtin_template_says_which_characteristics_are_shown_in_full(
        audience: str, in_full: set[str]) -> None:
    from reports.documents.template import load_builtin

    rule = load_builtin(audience).equality_rule
    assert set(rule.in_full) == in_full and rule.threshold == 5
    assert rule.kept == "retained+relocated"


def test_a_template_that_suppresses_is_public_for_the_equality_rule() -> None:
    """A union template given a small-number threshold makes public releases (recorded in
    the ledger): it shows no characteristic in full, and another kept is refused."""
    from reports.documents.template import parse_template, with_kept
    from reports.model.errors import TemplateError, UsageProblem

    t = parse_template({"audience": "union", "privacy": {"small_number_threshold": 5}})
    assert t.equality_rule.in_full == frozenset()        # left out: nothing in full
    with pytest.raises(TemplateError, match="cannot show an equality characteristic"):
        _template_with("union", privacy={"small_number_threshold": 5})   # the copy lists 3
    with pytest.raises(UsageProblem, match="public output"):
        with_kept(t, "retained")


def test_a_hidden_count_held_up_by_a_published_fte_gets_all_its_room_above() -> None:
    """The repair gives a hidden figure room of the threshold, on either side.  A count
    of posts whose FTE is published cannot go below that FTE (FTE is at most the posts),
    so all its room must be above: here, by hiding another figure of its relation.
    (It used to ask for room below first, found none, and refused.)"""
    from reports.figures.privacy import protect

    d, r, b = ("total", "deleted_posts"), ("total", "retained_posts"), ("total", "baseline_posts")
    d_fte, b_fte = ("total", "deleted_fte"), ("total", "baseline_fte")
    values: dict[tuple, Any] = {d: 12, r: 8, b: 20, d_fte: Decimal(12), b_fte: Decimal(20)}
    units = {d: POSTS, r: POSTS, b: POSTS, d_fte: FTE, b_fte: FTE}
    links = _links(values, units)
    links.equations = [(b, d, r)]
    links.at_most = [(d_fte, d), (b_fte, b)]
    links.sensitive = {d}                     # hidden for its own sake (a small change)
    links.fixed = {d_fte, b_fte}              # published before: never hidden now
    hidden = set(protect(links, THRESHOLD).hidden)
    assert d in hidden and hidden & {b, r} and not hidden & links.fixed
    from .test_privacy import solve_ranges

    cells = {k: MARKER if k in hidden else v for k, v in values.items()}
    lo, hi = solve_ranges(cells, [{b: -1, d: 1, r: 1}], [(d_fte, d), (b_fte, b)])[d]
    assert lo == 12 and hi - lo >= THRESHOLD             # from 12 up, never below


def _small_file(tmp_path: Path, teams: int, per: int, version: int) -> Path:
    """`teams` teams of `per` posts of 1 FTE: the first half (rounded up) of each team's
    posts deleted (the second one vacant), the rest retained; in version 2 the first
    post of the first team is retained instead."""
    rows = []
    for t in range(teams):
        for k in range(per):
            deleted = k < (per + 1) // 2 and not (version == 2 and t == 0 and k == 0)
            rows.append([f"Team {t}", f"Officer {k}", f"G{4 + k % 3}", 1, 1,
                         "Deleted" if deleted else "Retained", "Y" if k == 1 else "N",
                         30000 + 1000 * k + 500 * t])
    return make_xlsx(tmp_path, [["Team", "Job title", "Grade", "FTE", "Posts", "Status",
                                 "Vacant", "Annual cost"], *rows], name=f"v{version}.xlsx")


@pytest.mark.parametrize(("teams", "per"), [(2, 5), (5, 2), (10, 1), (3, 4), (4, 5)])
def test_the_next_public_version_of_a_file_of_10_posts_or_more_is_published(
        tmp_path: Path, teams: int, per: int) -> None:
    """Only a file of fewer than 10 posts may be refused, and that holds for its next
    version too, audited with what the first one published.  A file of 10 posts whose
    first version hid nearly everything had its second refused: the repair asked for
    room below that a sum of hidden parts (one unit each at least) does not have."""
    root = tmp_path / "store"
    for version in (1, 2):
        path = _small_file(tmp_path, teams, per, version)
        assert invoke("upload", path, "--dataset", "Small", "--store", root, "--as-of",
                      f"2026-0{version}-05").exit_code == 0
        for command in (["summary", "--format", "json"], ["brief", "-o", tmp_path / "b.pdf"]):
            result = invoke(*command[:1], "--dataset", "Small", "--store", root,
                            "--audience", "public", *command[1:])
            assert result.exit_code == 0, (version, command[0], result.stderr)


# --- a change's three cells, and which changes a public output may state ----------------
# Rule (privacy.change_cells): then, now and the change of one figure, each hidden as its
# output hides it; a change of zero reads "no change"; a change carries its sign.

def test_a_change_row_shows_then_now_and_the_signed_change_unless_hidden() -> None:
    from reports.figures.privacy import change_cells

    assert change_cells("deleted_fte", Decimal("10"), Decimal("12.5"), Decimal("2.5")) == \
        ["10", "12.5", "+2.5"]
    assert change_cells("deleted_fte", Decimal("12.5"), Decimal("10"), Decimal("-2.5")) == \
        ["12.5", "10", "-2.5"]
    assert change_cells("deleted_cost", Decimal("1000"), Decimal("1500"), Decimal("500")) == \
        ["£1,000", "£1,500", "+£500"]
    assert change_cells("deleted_posts", 4, 4, 0) == ["4", "4", "no change"]
    # each side hidden on its own, the others shown
    assert change_cells("deleted_posts", 4, 6, 2, old_hidden=True) == [MARKER, "6", "+2"]
    assert change_cells("deleted_posts", 4, 6, 2, new_hidden=True) == ["4", MARKER, "+2"]
    assert change_cells("deleted_posts", 4, 6, 2, change_hidden=True) == ["4", "6", MARKER]
    assert change_cells("deleted_posts", 4, 4, 0, change_hidden=True) == ["4", "4", MARKER]


# Rule (privacy.hidden_changes): a change may not be stated when its figure is hidden on
# either side or missing on one; one whose two sides are both published is stated.

def test_a_change_is_hidden_when_either_side_is_hidden_or_missing() -> None:
    from reports.figures.privacy import hidden_changes

    figures = [("both", 1, 2), ("old_missing", None, 2), ("new_missing", 1, None),
               ("both_missing", None, None), ("old_hidden", 1, 2), ("new_hidden", 1, 2)]
    assert hidden_changes(figures, 5, old_hidden=["old_hidden"],
                          new_hidden=["new_hidden"]) == {
        "old_missing", "new_missing", "both_missing", "old_hidden", "new_hidden"}
    assert hidden_changes(figures, 0, old_hidden=["old_hidden"]) == set()   # nothing hidden


@pytest.mark.parametrize(("prefix", "named"), [
    ((), "total / small"),
    (("@", 3), "total / small (as published before)"),   # an earlier release's figure
])
def test_a_refusal_names_the_figure_that_could_be_worked_out(
        prefix: tuple[Any, ...], named: str) -> None:
    """Rule: when no pattern protects a figure, the refusal names it as the reader knows
    it ("team / Alpha / deleted_posts"), an earlier release's figure without its
    release number and marked "as published before"."""
    from reports.model.errors import Unpublishable

    small, big, whole = (*prefix, "total", "small"), (*prefix, "total", "big"), \
        (*prefix, "total", "all")
    v = {small: 2, big: 10, whole: 12}
    # the other two were published before, so they stay: hiding the small one is no use
    links = Links(values=v, units=dict.fromkeys(v, POSTS), shown=set(v),
                  fixed={big, whole}, equations=[(whole, small, big)])
    with pytest.raises(Unpublishable) as refused:
        privacy.protect(links, 5)
    assert str(refused.value) == (
        f"no safe pattern of hidden figures exists: {named} could be worked out to within "
        f"5 from the other figures, whatever else is hidden; the output is not written")


def test_the_audit_summary_counts_what_is_hidden_and_why() -> None:
    """Rule: the method section says how many values are hidden, how many of them are
    under the threshold and how many protect those, and the range each hidden value
    keeps; one value is "value", not "values"; an output that hides nothing says why."""
    from reports.figures.privacy import Protection

    def hidden(n: int) -> dict[Any, str]:
        return {("k", i): MARKER for i in range(n)}

    assert Protection(hidden(7), {}, 5, primary=3).summary() == (
        "7 values hidden (3 under 5, 4 to protect them); every hidden value has a range "
        "of at least 5 given everything published.")
    assert Protection(hidden(1), {}, 3, primary=1).summary() == (
        "1 value hidden (1 under 3, 0 to protect them); every hidden value has a range "
        "of at least 3 given everything published.")
    assert Protection(hidden(2), {}, 5, primary=2).summary().startswith("2 values hidden")
    assert Protection(hidden(1234), {}, 5, primary=1000).summary().startswith(
        "1,234 values hidden (1,000 under 5, 234 to protect them)")
    assert Protection({}, {}, 5).summary() == (
        "No value is hidden: no published figure is under 5 or could reveal one.")
    assert Protection({}, {}, 0).summary() == (
        "No value is hidden: this output does not suppress small numbers.")


def test_the_method_section_names_every_merge_smallest_first() -> None:
    """Rule: each merge is one sentence: how many groups, the merged group's name, and
    the groups themselves smallest first, the first 12 named and the rest counted."""
    from reports.figures.recode import Recoding

    few = Recoding({"grade": {"Other grades": ["Grade 13", "Grade 12"]},
                    "destination": {"Other services": ["Libraries", "Parks"]}})
    assert few.sentences() == [
        "2 grades are merged into \u201cOther grades\u201d, as some are too small to show "
        "alone (smallest first): Grade 13, Grade 12.",
        "2 relocation destinations are merged into \u201cOther services\u201d, as some are "
        "too small to show alone (smallest first): Libraries, Parks."]
    names = [f"Team {i}" for i in range(1, 1015)]
    many = Recoding({"team": {"Other teams 1": names[:12], "Other teams 2": names}})
    first, second = many.sentences()
    assert first.startswith("12 teams are merged into \u201cOther teams 1\u201d")
    assert first.endswith(": " + ", ".join(names[:12]) + ".")
    assert second.startswith("1,014 teams are merged into \u201cOther teams 2\u201d")
    assert second.endswith(": " + ", ".join(names[:12]) + " and 1,002 more.")
    [edge] = Recoding({"team": {"Other teams": names[:13]}}).sentences()   # 13: one more
    assert edge.endswith(": " + ", ".join(names[:12]) + " and 1 more.")
    sites = Recoding({"location": {"Other sites": ["Depot", "Annex"]}}).sentences()
    assert sites == ["2 sites are merged into \u201cOther sites\u201d, as some are too small to "
                     "show alone (smallest first): Depot, Annex."]
    assert Recoding().sentences() == [] and not Recoding()
