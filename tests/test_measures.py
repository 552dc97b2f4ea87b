"""The measures registry is the one place a figure is defined.

A made-up measure, registered in one place, must reach the summary (JSON and
CSV), the comparison, a template's placeholders in the briefing, and the
store's saved totals, with no other code changed.  Its expected values are
counted in the test from the rows it writes, not by the code under test.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from reports.model import measures
from reports.model.measures import FTE, POSTS, Measure

from .conftest import HEADER, invoke, make_xlsx, post, sample

# (team, fte, posts, status): the rows of the test file
ROWS = [("Family Support", 1, 1, "Deleted"), ("Family Support", 0.5, 1, "Deleted"),
        ("Family Support", 0.6, 1, "Retained"), ("Youth", 3, 3, "Deleted"),
        ("Youth", 0.8, 1, "Deleted"), ("Youth", 1, 1, "Created")]


def part_time(rows: list[tuple[str, float, int, str]]) -> int:
    """Single-post rows under 1 FTE: the made-up measure, counted by hand."""
    return sum(1 for _, fte, posts, _ in rows if posts == 1 and fte < 1)


@pytest.fixture
def part_time_measure() -> Iterator[Measure]:
    measure = measures.register(Measure(
        "part_time_posts", POSTS, "Part-time posts",
        rows=lambda r: r.count((r.posts == 1) & (r.fte < 1_000_000))))
    yield measure
    measures.unregister("part_time_posts")


@pytest.fixture
def rows_xlsx(tmp_path: Path) -> Path:
    return make_xlsx(tmp_path, [HEADER] + [post(f"P{i}", team=t, fte=f, posts=n, status=s)
                                           for i, (t, f, n, s) in enumerate(ROWS, 1)],
                     name="rows.xlsx")


def test_a_registered_measure_reaches_the_summary_json(part_time_measure: Measure,
                                                       rows_xlsx: Path) -> None:
    result = invoke("summary", rows_xlsx, "--format", "json")
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["totals"]["part_time_posts"] == part_time(ROWS) == 3
    by_team = {g["team"]: g["part_time_posts"] for g in got["by_team"]}
    assert by_team == {team: part_time([r for r in ROWS if r[0] == team])
                       for team in ("Family Support", "Youth")}


def test_a_registered_measure_reaches_the_summary_csv(part_time_measure: Measure,
                                                      rows_xlsx: Path) -> None:
    result = invoke("summary", rows_xlsx, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("# totals")
    table = list(csv.DictReader(io.StringIO("\n".join(lines[at + 1:at + 3]))))
    assert table[0]["part_time_posts"] == str(part_time(ROWS))


def test_a_registered_measure_reaches_a_briefing_placeholder(part_time_measure: Measure,
                                                             rows_xlsx: Path,
                                                             tmp_path: Path) -> None:
    template = tmp_path / "mine.toml"
    template.write_text('audience = "union"\n[wording]\nheadline = "{deleted_fte} FTE deleted; '
                        '{part_time_posts} part-time posts in all."\n', encoding="utf-8")
    out = tmp_path / "brief.pdf"
    result = invoke("brief", rows_xlsx, "--template", template, "-o", out)
    assert result.exit_code == 0, result.stderr
    text = " ".join(p.extract_text() for p in PdfReader(out).pages)
    deleted = sum(Decimal(str(f)) for _, f, _, s in ROWS if s == "Deleted")
    assert f"{deleted} FTE deleted; {part_time(ROWS)} part-time posts in all." in \
        " ".join(text.split())


def test_an_unknown_placeholder_is_refused_and_a_registered_one_is_listed(
        part_time_measure: Measure, rows_xlsx: Path, tmp_path: Path) -> None:
    template = tmp_path / "typo.toml"
    template.write_text('[wording]\nheadline = "{part_time_post}"\n', encoding="utf-8")
    result = invoke("brief", rows_xlsx, "--template", template, "-o", tmp_path / "x.pdf")
    assert result.exit_code == 1
    assert "unknown placeholder {part_time_post}" in result.stderr
    assert "part_time_posts" in result.stderr


def test_a_registered_measure_reaches_the_comparison(part_time_measure: Measure,
                                                     rows_xlsx: Path, tmp_path: Path) -> None:
    changed = list(ROWS)
    changed[1] = ("Family Support", 1, 1, "Deleted")       # 0.5 FTE becomes full time
    newer = make_xlsx(tmp_path, [HEADER] + [post(f"P{i}", team=t, fte=f, posts=n, status=s)
                                            for i, (t, f, n, s) in enumerate(changed, 1)],
                      name="newer.xlsx")
    result = invoke("compare", rows_xlsx, newer, "--format", "json")
    assert result.exit_code == 0, result.stderr
    totals = {t["key"]: t for t in json.loads(result.stdout)["totals"]}
    assert (totals["part_time_posts"]["old"], totals["part_time_posts"]["new"],
            totals["part_time_posts"]["change"]) == (part_time(ROWS), part_time(changed), -1)
    text = invoke("compare", rows_xlsx, newer).stdout
    assert "Part-time posts" in text


def test_a_registered_measure_is_kept_in_the_stored_totals(part_time_measure: Measure,
                                                           rows_xlsx: Path,
                                                           tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert invoke("upload", rows_xlsx, "--dataset", "mine", "--as-of", "2024-03-01",
                  "--store", store).exit_code == 0
    history = json.loads(invoke("history", "mine", "--store", store, "--format",
                                "json").stdout)
    assert history[0]["totals"]["part_time_posts"] == part_time(ROWS)


def test_units_decide_formatting_everywhere() -> None:
    assert measures.text("net_saving", Decimal("1234.5")) == "£1,234.50"
    assert measures.text("pct_deleted", Decimal("59.8")) == "59.8%"
    assert measures.text("deleted_fte", Decimal("132.50")) == "132.5"
    assert {m.unit for m in measures.all_measures()} == set(measures.UNITS)
    assert measures.text("payback_months", Decimal("6.3")) == "6.3"


def test_every_summary_key_is_a_measure() -> None:
    result = invoke("summary", sample("derbyshire_early_help.xlsx"), "--format", "json")
    totals = json.loads(result.stdout)["totals"]
    # every measure summed from the rows; s.188, costs and equality figures come from their
    # own commands
    assert list(totals) == [m.key for m in measures.available((measures.VACANT,
                                                                measures.COST))
                            if not m.computed_by]


def test_register_refuses_a_taken_key_and_a_measure_with_no_rule() -> None:
    with pytest.raises(ValueError, match="already registered"):
        measures.register(Measure("deleted_fte", FTE, "again", rows=lambda r: r.fte))
    with pytest.raises(ValueError, match="exactly one of"):
        measures.register(Measure("nothing", FTE, "nothing"))


def test_register_refuses_counts_on_a_measure_that_is_not_money() -> None:
    with pytest.raises(ValueError, match="only a money measure"):
        measures.register(Measure("odd_fte", FTE, "Odd", rows=lambda r: r.fte,
                                  counts=("deleted_fte",)))
    assert not measures.known("odd_fte")


def test_every_declared_relation_names_a_registered_measure_of_a_fitting_unit() -> None:
    for m in measures.all_measures():
        for key in measures.related(m):
            assert measures.known(key), (m.key, key)
        assert all(measures.unit_of(k) in (FTE, POSTS) for k in m.counts), m.key
        assert all(measures.unit_of(k) == m.unit for k in m.sum_of), m.key
        assert all(measures.unit_of(k) == m.unit for k, _ in m.signed), m.key
