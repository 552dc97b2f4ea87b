"""bench/tau_argus.py: our suppression side by side with Tau-Argus's (issue 23, point 4).

Run on a small file of small teams.  What is checked is the comparison's structure and
that its counts agree with the table worked out here from the workbook itself (openpyxl,
not the project's reader): every cell of fewer than 5 posts is suppressed by both
tools, each tool's count and FTE are those of the cells it lists.  Never its timings."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from .conftest import load_script

BENCH = Path(__file__).resolve().parents[1] / "bench" / "tau_argus.py"
STATUSES = {"Deleted": "deleted", "Retained": "retained", "Relocated": "relocated",
            "Created": "created"}


@pytest.fixture(scope="module")
def ta() -> Any:
    import pytauargus  # noqa: F401  (the test extra installs it: a missing one fails)

    return load_script(BENCH, "tau_argus_under_test")


def _cells(path: Path) -> dict[str, dict[tuple[str, str], tuple[int, Decimal]]]:
    """(row, status) -> (posts, FTE) for team x status and site x status, the status
    totals as ("Total", status), read straight from the workbook."""
    rows = list(load_workbook(path, read_only=True)["Posts"].iter_rows(values_only=True))
    head = list(rows[0])
    at = {name: head.index(name) for name in ("Team", "Location", "Status", "FTE", "Posts")}
    out: dict[str, dict[tuple[str, str], list[Any]]] = {
        "team": defaultdict(lambda: [0, Decimal(0)]),
        "site": defaultdict(lambda: [0, Decimal(0)])}
    for r in rows[1:]:
        status = STATUSES[r[at["Status"]]]
        for by, col in (("team", "Team"), ("site", "Location")):
            for row in (str(r[at[col]]), "Total"):
                cell = out[by][(row, status)]
                cell[0] += int(r[at["Posts"]])
                cell[1] += Decimal(str(r[at["FTE"]]))
    return {by: {k: (v[0], v[1]) for k, v in t.items()} for by, t in out.items()}


def test_the_comparison_suppresses_every_small_cell_and_counts_what_it_lists(
        ta: Any, tmp_path: Path) -> None:
    path = ta.make_small(tmp_path / "small.xlsx", teams=8, seed=5)
    result = ta.compare("small", path, tmp_path / "work")
    assert result.tau_error is None, result.tau_error
    truth = _cells(path)
    for by in ("team", "site"):
        cells = truth[by]
        primary = {k for k, (posts, _) in cells.items() if 0 < posts < 5}
        assert primary, "the file must give both tools small cells to protect"
        assert result.cells[by] == len(cells)
        assert result.sensitive[by] == len(primary)
        sides = [result.tau[by]] + ([result.ours[by]] if result.ours_error is None else [])
        for side in sides:
            hidden = {tuple(h) for h in side.hidden}
            merged = {tuple(h) for h in side.merged_cells}    # ours: small groups merged
            assert side.error is None, side.error
            assert not hidden & merged and side.merged == len(merged)
            assert side.merged_fte == sum((cells[k][1] for k in merged), Decimal(0))
            assert primary <= hidden | merged, "every cell of fewer than 5 posts is " \
                                               "suppressed (or merged, ours)"
            assert hidden <= set(cells)
            assert side.suppressed == len(hidden) == len(side.hidden)
            assert side.suppressed_fte == sum((cells[k][1] for k in hidden), Decimal(0))
            assert side.sensitive_published == 0
        assert result.tau[by].primary == len(primary)   # Tau-Argus marks exactly these
    if result.ours_error is None:     # our briefing's information loss comes with it
        assert result.ours_loss["figures_hidden"] == result.ours_hidden_in_briefing
    text = ta.text_table([result])
    assert "team x status" in text and "site x status" in text


def test_the_json_has_every_file_and_both_tools(ta: Any, tmp_path: Path) -> None:
    path = ta.make_small(tmp_path / "small.xlsx", teams=6, seed=7)
    result = ta.compare("small", path, tmp_path / "work")
    data = json.loads(json.dumps(ta.as_json([result])))
    assert data["threshold"] == 5 and data["pytauargus"]
    (entry,) = data["files"]
    assert entry["name"] == "small" and entry["posts"] >= entry["rows"]
    for tool in ("tau", "ours") if entry["ours_error"] is None else ("tau",):
        for by in ("team", "site"):
            side = entry[tool][by]
            assert side["suppressed"] == len(side["hidden"])
            assert Decimal(side["suppressed_fte"]) >= 0
