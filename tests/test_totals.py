"""Exact totals and groupings, worked out by hand in each test."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reports
from reports.figures import totals
from reports.figures.totals import GROUPINGS
from reports.model.errors import InvalidData
from reports.model.formats import natural
from reports.render import data as render_data
from reports.render import text as render_text
from reports.services.outputs import save_summary_xlsx
from tests.conftest import HEADER, make_csv, make_xlsx, post

FULL_HEADER = HEADER + ["Vacant", "Annual cost", "Location"]


@pytest.fixture
def grouped_workbook(tmp_path):
    """Grouped rows with fractional FTE, a relocation, a created post, vacancy and cost."""
    return make_xlsx(tmp_path, [
        FULL_HEADER,
        post("P1", "Family Support", "Family Worker", "Grade 10", 33.69, 45, "Deleted")
        + ["N", 1000.5, "Ilkeston"],
        post("P2", "Family Support", "Family Worker", "Grade 4", 4.62, 5, "Deleted")
        + ["Y", 200, "Belper"],
        post("P3", "Youth", "Youth Worker", "Grade 4", 0.5, 1, "Relocated", "Learning Services")
        + ["N", 300, "Belper"],
        post("P4", "Youth", "Team Lead", "Grade 9", 1, 1, "Created") + ["N", 400, None],
        post("P5", "Youth", "Youth Worker", "Grade 4", 2.25, 3, "Retained") + ["N", 900, "Belper"],
    ], name="grouped.xlsx")


@pytest.fixture
def grouped_summary(grouped_workbook):
    return reports.summarise(reports.check(grouped_workbook))


def test_exact_decimal_totals(grouped_summary):
    t = grouped_summary.totals
    deleted = Decimal("33.69") + Decimal("4.62")
    assert t["deleted_fte"] == deleted == Decimal("38.31")
    assert t["retained_fte"] == Decimal("2.25")
    assert t["relocated_fte"] == Decimal("0.5")
    assert t["created_fte"] == Decimal(1)
    assert t["baseline_fte"] == deleted + Decimal("2.25") + Decimal("0.5") == Decimal("41.06")
    assert t["future_fte"] == Decimal("2.25") + Decimal(1)
    assert (t["deleted_posts"], t["retained_posts"], t["relocated_posts"],
            t["created_posts"]) == (50, 3, 1, 1)
    assert (t["baseline_posts"], t["future_posts"]) == (54, 4)
    # 38.31 / 41.06 = 93.302...%
    assert t["pct_deleted"] == Decimal("93.3")
    for key, value in t.items():
        assert isinstance(value, (Decimal, int)) and not isinstance(value, bool), key
        assert not isinstance(value, float), key


def test_the_three_coop_figures_add_to_38_81(tmp_path):
    path = make_xlsx(tmp_path, [HEADER, post("C1", fte=33.69, posts=45),
                                post("C2", fte=4.62, posts=5), post("C3", fte=0.5)])
    totals = reports.summarise(reports.check(path)).totals
    assert totals["deleted_fte"] == Decimal("38.81")
    assert str(totals["deleted_fte"]) == "38.81"
    assert 33.69 + 4.62 + 0.5 != 38.81          # why the figures must not be floats


def test_vacancy_and_cost(grouped_summary):
    t = grouped_summary.totals
    assert (t["at_risk_fte"], t["at_risk_posts"]) == (Decimal("33.69"), 45)
    assert (t["vacant_deleted_fte"], t["vacant_deleted_posts"]) == (Decimal("4.62"), 5)
    assert t["deleted_cost"] == Decimal("1000.5") + Decimal(200)
    assert t["created_cost"] == Decimal(400)
    assert t["net_saving"] == Decimal("800.5")


def test_without_vacant_or_cost_columns_there_are_no_such_keys(valid_xlsx):
    totals = reports.summarise(reports.check(valid_xlsx)).totals
    for key in ("at_risk_fte", "vacant_deleted_fte", "deleted_cost", "net_saving"):
        assert key not in totals
    assert "at risk" not in reports.summarise(reports.check(valid_xlsx)).headline


def test_headline(grouped_summary):
    assert grouped_summary.headline.startswith("38.31 of 41.06 FTE (93.3%) proposed for deletion")
    assert "33.69 FTE in occupied posts at risk" in grouped_summary.headline
    assert "4.62 FTE vacant" in grouped_summary.headline


@pytest.mark.parametrize("deleted,retained,pct", [
    ("1", "15", "6.3"),          # 6.25 rounds half up, not to even
    ("1", "7", "12.5"),
    ("1", "2", "33.3"),
    ("2", "1", "66.7"),
    ("0.01", "99.99", "0.0"),
    ("0.05", "99.95", "0.1"),    # 0.05% rounds up to 0.1
])
def test_pct_deleted_rounds_half_up_to_one_place(tmp_path, deleted, retained, pct):
    path = make_xlsx(tmp_path, [HEADER, post("P1", fte=deleted, posts=100),
                                post("P2", fte=retained, posts=100, status="Retained")])
    assert reports.summarise(reports.check(path)).totals["pct_deleted"] == Decimal(pct)


def test_pct_deleted_is_none_without_a_baseline(tmp_path):
    path = make_xlsx(tmp_path, [HEADER, post("P1", status="Created")])
    summary = reports.summarise(reports.check(path))
    assert summary.totals["pct_deleted"] is None
    assert summary.to_dict()["totals"]["pct_deleted"] is None
    assert summary.headline == "No posts are proposed for deletion: 0 FTE in the baseline"


def test_summarise_refuses_an_invalid_report(invalid_xlsx):
    report = reports.check(invalid_xlsx)
    with pytest.raises(InvalidData) as caught:
        reports.summarise(report)
    assert caught.value.report is report


# --------------------------------------------------------------------------
# groupings


NUMERIC_KEYS = ("deleted_fte", "retained_fte", "relocated_fte", "created_fte",
                "deleted_posts", "retained_posts", "relocated_posts", "created_posts",
                "baseline_fte", "future_fte", "baseline_posts", "future_posts",
                "at_risk_fte", "at_risk_posts", "vacant_deleted_fte", "vacant_deleted_posts",
                "deleted_cost", "created_cost", "net_saving")


@pytest.mark.parametrize("grouping", ["by_team", "by_grade", "by_team_grade", "by_location"])
def test_groups_reconcile_to_the_totals(grouped_summary, grouping):
    groups = grouped_summary.groups[grouping]
    assert groups
    for key in NUMERIC_KEYS:
        assert sum(g[key] for g in groups) == grouped_summary.totals[key], key


def test_by_team(grouped_summary):
    by_team = {g["team"]: g for g in grouped_summary.groups["by_team"]}
    assert list(by_team) == ["Family Support", "Youth"]
    assert by_team["Family Support"]["deleted_fte"] == Decimal("38.31")
    assert by_team["Family Support"]["pct_deleted"] == Decimal("100.0")
    assert by_team["Youth"]["baseline_fte"] == Decimal("2.75")
    assert by_team["Youth"]["future_fte"] == Decimal("3.25")
    assert by_team["Youth"]["pct_deleted"] == Decimal("0.0")


def test_grades_in_natural_order(grouped_summary):
    assert [g["grade"] for g in grouped_summary.groups["by_grade"]] == [
        "Grade 4", "Grade 9", "Grade 10"]
    grade9 = grouped_summary.groups["by_grade"][1]
    assert grade9["pct_deleted"] is None          # only a created post: no baseline


def test_by_team_grade(grouped_summary):
    pairs = [(g["team"], g["grade"], g["baseline_fte"])
             for g in grouped_summary.groups["by_team_grade"]]
    assert pairs == [("Family Support", "Grade 4", Decimal("4.62")),
                     ("Family Support", "Grade 10", Decimal("33.69")),
                     ("Youth", "Grade 4", Decimal("2.75")),
                     ("Youth", "Grade 9", Decimal(0))]


def test_by_destination_holds_only_relocations(grouped_summary):
    rows = grouped_summary.groups["by_destination"]
    assert [(g["destination"], g["relocated_fte"], g["relocated_posts"]) for g in rows] == [
        ("Learning Services", Decimal("0.5"), 1)]
    assert sum(g["relocated_fte"] for g in rows) == grouped_summary.totals["relocated_fte"]
    assert all(g["deleted_fte"] == 0 and g["retained_fte"] == 0 for g in rows)


def test_by_location_names_blank_locations(grouped_summary):
    locations = {g["location"]: g["baseline_fte"] for g in grouped_summary.groups["by_location"]}
    assert locations == {"Belper": Decimal("4.62") + Decimal("0.5") + Decimal("2.25"),
                         "Ilkeston": Decimal("33.69"), "(not given)": Decimal(0)}


def test_no_location_column_means_no_location_groups(valid_xlsx):
    assert reports.summarise(reports.check(valid_xlsx)).groups["by_location"] == []


def test_groups_across_sheets(tmp_path):
    path = make_xlsx(tmp_path, sheets={
        "One": [HEADER, post("A1", team="Youth", fte=0.5), post("A2", team="Early Help")],
        "Two": [["Service", "Role", "Band", "Proposal", "FTE"],
                ["Youth", "Lead", "Grade 9", "Retained", 0.75]],
    })
    by_team = {g["team"]: g for g in reports.summarise(reports.check(path)).groups["by_team"]}
    assert by_team["Youth"]["baseline_fte"] == Decimal("1.25")
    assert by_team["Youth"]["deleted_fte"] == Decimal("0.5")
    assert by_team["Early Help"]["deleted_fte"] == Decimal(1)


# --------------------------------------------------------------------------
# exports of the summary


def _walk_numbers(node, path="$"):
    if isinstance(node, bool) or node is None or isinstance(node, str):
        return
    if isinstance(node, (int, float)):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _walk_numbers(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_numbers(v, f"{path}[{i}]")


def assert_at_most_two_places(document):
    for where, number in _walk_numbers(document):
        assert Decimal(repr(number)) == Decimal(repr(number)).quantize(Decimal("0.01")), where


def test_summary_json_numbers(grouped_summary):
    data = json.loads(render_data.summary_json(grouped_summary))
    assert_at_most_two_places(data)
    assert data["totals"]["deleted_fte"] == 38.31
    assert data["totals"]["created_fte"] == 1 and isinstance(data["totals"]["created_fte"], int)
    assert data["headline"] == grouped_summary.headline
    assert set(data) >= {"source", "headline", "totals", "by_team", "by_grade",
                         "by_team_grade", "by_destination", "by_location", "warnings"}
    assert data["source"]["file"] == "grouped.xlsx"
    assert data["source"]["rows"] == 5


def test_summary_csv_golden(tmp_path):
    path = make_xlsx(tmp_path, [
        HEADER,
        post("C1", "Youth", "Worker", "Grade 4", 33.69, 45, "Deleted"),
        post("C2", "Youth", "Worker", "Grade 10", 0.5, 1, "Relocated", "Learning Services"),
    ])
    text = render_data.summary_csv(reports.summarise(reports.check(path)))
    keys = ("deleted_fte,retained_fte,relocated_fte,created_fte,deleted_posts,retained_posts,"
            "relocated_posts,created_posts,baseline_fte,future_fte,baseline_posts,future_posts,"
            "pct_deleted")
    assert text == (
        "# totals\n"
        f"scope,{keys}\n"
        "all,33.69,0,0.5,0,45,0,1,0,34.19,0,46,0,98.5\n"
        "\n# by_team\n"
        f"team,{keys}\n"
        "Youth,33.69,0,0.5,0,45,0,1,0,34.19,0,46,0,98.5\n"
        "\n# by_grade\n"
        f"grade,{keys}\n"
        "Grade 4,33.69,0,0,0,45,0,0,0,33.69,0,45,0,100\n"
        "Grade 10,0,0,0.5,0,0,0,1,0,0.5,0,1,0,0\n"
        "\n# by_team_grade\n"
        f"team,grade,{keys}\n"
        "Youth,Grade 4,33.69,0,0,0,45,0,0,0,33.69,0,45,0,100\n"
        "Youth,Grade 10,0,0,0.5,0,0,0,1,0,0.5,0,1,0,0\n"
        "\n# by_destination\n"
        f"destination,{keys}\n"
        "Learning Services,0,0,0.5,0,0,0,1,0,0.5,0,1,0,0\n"
        "\n# by_location\n"
        f"location,{keys}\n"
    )


def test_summary_csv_tables_parse(grouped_summary):
    tables: dict[str, list[dict[str, str]]] = {}
    name = None
    lines: list[str] = []
    for line in render_data.summary_csv(grouped_summary).splitlines() + [""]:
        if line.startswith("# "):
            name, lines = line[2:], []
        elif line == "" and name:
            tables[name] = list(csv.DictReader(io.StringIO("\n".join(lines))))
            name = None
        else:
            lines.append(line)
    assert tables["totals"][0]["deleted_fte"] == "38.31"
    assert [r["team"] for r in tables["by_team"]] == ["Family Support", "Youth"]
    assert sum(Decimal(r["baseline_fte"]) for r in tables["by_team"]) == Decimal("41.06")


def test_summary_xlsx(grouped_summary, tmp_path):
    import openpyxl

    out = tmp_path / "totals.xlsx"
    save_summary_xlsx(grouped_summary, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["totals", "by_team", "by_grade", "by_team_grade",
                             "by_destination", "by_location"]
    ws = wb["totals"]
    header = [c.value for c in ws[1]]
    values = dict(zip(header, [c.value for c in ws[2]]))
    assert values["scope"] == "all"
    assert Decimal(str(values["deleted_fte"])) == Decimal("38.31")
    assert values["deleted_posts"] == 50


def test_summary_text(grouped_summary):
    text = render_text.summary_text(grouped_summary)
    assert text.splitlines()[0] == grouped_summary.headline + "."
    assert "Family Support" in text and "Learning Services" in text
    assert "£1,200.50" in text and "£800.50" in text


# --------------------------------------------------------------------------
# the one grouped pass (issue 15), against sums worked out here row by row


def _random_sheets(seed: int) -> tuple[dict[str, list[list]], list[tuple]]:
    """Two sheets of random posts (labels with stray spaces, blank locations, relocations),
    and the rows as (team, grade, location, destination, status, fte) for the check."""
    import random

    rng = random.Random(seed)
    teams = ["Youth", " Youth", "Early Help", "Libraries ", "Café – North"]
    grades = ["Grade 4", "Grade 10", "Band 3a", "7"]
    locations = ["Belper", "Ilkeston ", None, "", "Matlock"]
    sheets, expected = {}, []
    for name in ("One", "Two"):
        rows: list[list] = [FULL_HEADER]
        for i in range(rng.randint(30, 60)):
            status = rng.choice(["Deleted", "Retained", "Relocated", "Created"])
            dest = rng.choice(["Learning", "Highways"]) if status == "Relocated" else None
            fte = rng.choice([1, 0.5, 0.81, 2.25, 0.333333])
            team, grade, loc = rng.choice(teams), rng.choice(grades), rng.choice(locations)
            rows.append(post(f"{name}{i}", team, "Worker", grade, fte, 3, status, dest)
                        + ["N", 100, loc])
            expected.append((team.strip(), grade.strip(), (loc or "").strip() or "(not given)",
                             dest, status.lower(), Decimal(str(fte))))
        sheets[name] = rows
    return sheets, expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_grouped_pass_matches_row_by_row_sums(tmp_path, seed):
    import dataclasses

    sheets, rows = _random_sheets(seed)
    report = reports.check(make_xlsx(tmp_path, sheets=sheets))
    summary = reports.summarise(report)
    by_key: dict[str, dict[tuple, Decimal]] = {}
    for team, grade, loc, dest, status, fte in rows:
        if status == "deleted":
            for name, key in (("by_team", (team,)), ("by_grade", (grade,)),
                              ("by_team_grade", (team, grade)), ("by_location", (loc,))):
                by_key.setdefault(name, {}).setdefault(key, Decimal(0))
                by_key[name][key] += fte
        if status == "relocated":
            by_key.setdefault("by_destination", {}).setdefault((dest,), Decimal(0))
            by_key["by_destination"][(dest,)] += fte
    for name, cols in (("by_team", ("team",)), ("by_grade", ("grade",)),
                       ("by_team_grade", ("team", "grade")), ("by_location", ("location",))):
        got = {tuple(g[c] for c in cols): g["deleted_fte"] for g in summary.groups[name]
               if g["deleted_fte"]}
        assert got == by_key[name], name
    got = {(g["destination"],): g["relocated_fte"] for g in summary.groups["by_destination"]}
    assert got == by_key["by_destination"]
    # the codes validation hands over give the same figures as hashing the labels again
    again = reports.summarise(dataclasses.replace(report, label_codes=None))
    assert again.groups == summary.groups and again.totals == summary.totals


@pytest.mark.parametrize("seed", [4, 5])
def test_totals_alone_are_the_summary_totals(tmp_path, seed):
    # what an upload stores (totals_of) is what the summary says, without its groupings
    from reports.figures.totals import totals_of

    sheets, _ = _random_sheets(seed)
    report = reports.check(make_xlsx(tmp_path, sheets=sheets))
    assert totals_of(report) == reports.summarise(report).totals
    assert totals_of(reports.check(make_xlsx(tmp_path, [HEADER, post("P1", fte=0.5)],
                                             name="one.xlsx")))["deleted_fte"] == Decimal("0.5")


@pytest.mark.parametrize("big", [False, True])
def test_combined_keys_number_the_label_tuples_by_first_appearance(big):
    # big: so many labels per column that one mixed-radix number would overflow, and the
    # keys are renumbered column by column instead
    import numpy as np

    from reports.figures.totals import _combine

    scale = 3_000_000 if big else 1
    a = np.array([5, 0, 5, -1, 0, 5]) * scale
    b = np.array([1, 2, 1, 1, 2, 0]) * scale
    c = np.array([0, 0, 0, 0, 0, 3]) * scale
    a[3] = -1                      # "-1": a relocated post's missing destination code
    tuples = list(zip(a.tolist(), b.tolist(), c.tolist()))
    first_seen: dict = {}
    expected = [first_seen.setdefault(t, len(first_seen)) for t in tuples]
    assert _combine([a, b, c]).tolist() == expected


_LABELS = ["Grade 4", "Grade 04", "grade 4", "Grade 10", "Band 3", "Band 3a", "B", "b",
           "10", "9", "Z 1", "Ärger", "ab"]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(_LABELS), st.sampled_from(_LABELS)),
                      min_size=1, max_size=25))
def test_groups_come_in_natural_order_and_ties_in_order_of_first_appearance(pairs):
    """Each grouping lists its groups sorted by the natural order of their labels, column
    by column, and groups whose labels sort alike in the order they first appear: checked
    against sorting every group's labels with `natural` (a stable sort)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = make_csv(Path(tmp), [HEADER] + [
            post(f"P{i}", team, "Worker", grade, 1, 1, "Retained")
            for i, (team, grade) in enumerate(pairs)])
        summary = reports.summarise(reports.check(path))
    for name, cols in (("by_team", (0,)), ("by_grade", (1,)), ("by_team_grade", (0, 1))):
        first_seen = list(dict.fromkeys(tuple(p[c] for c in cols) for p in pairs))
        expected = sorted(first_seen, key=lambda key: tuple(natural(k) for k in key))
        got = [tuple(g[GROUPINGS[name][k]] for k in range(len(cols)))
               for g in summary.groups[name]]
        assert got == expected, name


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@settings(max_examples=40, derandomize=True, deadline=None)
@given(rows=st.lists(st.tuples(
    st.sampled_from(["A", "B", "C"]), st.sampled_from(["Grade 1", "Grade 2"]),
    st.sampled_from(["Deleted", "Retained", "Created", "Relocated"]),
    st.decimals("0.01", 1, places=2), st.integers(1, 3),
    st.sampled_from(["Y", "N", ""]), st.decimals(0, 10**9, places=2)), min_size=1,
    max_size=30), sure_way=st.booleans())
def test_the_sums_by_finest_key_are_exact_either_way(rows, sure_way, monkeypatch_module):
    """`_fine_sums` adds each measure up by the finest key with float64 bincount when
    that is exact, else by sorting: either way it equals adding the rows' int64 values in
    Python, key by key, and each key's first row is where that key first appears."""
    with tempfile.TemporaryDirectory() as tmp:
        path = make_csv(Path(tmp), [FULL_HEADER] + [
            post(f"P{i}", team, "Worker", grade, fte, n, status,
                 "Elsewhere" if status == "Relocated" else None) + [vacant, cost, "Here"]
            for i, (team, grade, status, fte, n, vacant, cost) in enumerate(rows)])
        report = reports.check(path)
    assert report.valid, report.findings.errors
    with monkeypatch_module.context() as patch:
        if sure_way:
            patch.setattr(totals, "_EXACT", 1)         # every column the sorting way
        chosen, summed = totals._measures(report)
        _, fine, _ = totals._labels(report)
        sums, first = totals._fine_sums(report.posts, summed, fine)
    columns = totals._rows(report.posts, summed)
    keys = fine.tolist()
    assert first.tolist() == [keys.index(k) for k in range(max(keys) + 1)]
    for k, m in enumerate(summed):
        by_key: dict[int, int] = {}
        for key, value in zip(keys, np.asarray(m.rows(columns), dtype=np.int64).tolist()):
            by_key[key] = by_key.get(key, 0) + value
        assert sums[:, k].tolist() == [by_key[key] for key in range(len(by_key))], m.key
