"""Information loss (issue 23, point 4): what a public output gives up, reported by
`--show-audit` and in `public-audit.json` (reports/figures/loss.py).

The expected figures are worked out here from what the output itself publishes (the
written public summary's CSV rows), never copied from an earlier run."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

from reports.figures.loss import information_loss
from reports.services import builds, datasets
from reports.store.db import Store

from .conftest import invoke, sample
from .portal_helpers import AS_OF, DATA

MARKER = "[c]"


def _sections(text: str) -> dict[str, list[dict[str, str]]]:
    """The public summary CSV's sections ('# by_team' ...) as rows of dicts."""
    out: dict[str, list[dict[str, str]]] = {}
    for block in text.strip().split("\n\n"):
        head, _, body = block.partition("\n")
        out[head.lstrip("# ").strip()] = list(csv.DictReader(io.StringIO(body)))
    return out


def _visible(rows: list[dict[str, str]]) -> tuple[Decimal, int, int]:
    """The sum of the published deleted FTE of the rows, how many are published, hidden."""
    shown = [r["deleted_fte"] for r in rows if r["deleted_fte"] not in (MARKER, "")]
    hidden = sum(1 for r in rows if r["deleted_fte"] == MARKER)
    return sum((Decimal(v) for v in shown), Decimal(0)), len(shown), hidden


def test_the_loss_of_plain_figures_counts_and_sums_exactly() -> None:
    values = {("total", "deleted_fte"): Decimal("10.3"),
              ("team", "A", "deleted_fte"): Decimal("6.1"),
              ("team", "B", "deleted_fte"): Decimal("3.2"),
              ("team", "C", "deleted_fte"): Decimal("1"),
              ("loc", "X", "deleted_fte"): Decimal("10.3"),
              ("team", "A", "retained_fte"): Decimal("2")}
    shown = set(values) - {("team", "A", "retained_fte")}
    hidden = {("team", "B", "deleted_fte"), ("team", "C", "deleted_fte")}
    loss = information_loss(values, shown, hidden)
    assert (loss.published, loss.hidden, loss.merged) == (3, 2, 0)
    team, site = loss.by["team"], loss.by["loc"]
    assert (team.groups, team.shown, team.hidden) == (3, 1, 2)
    assert team.visible_fte == Decimal("6.1") and team.share == Decimal("6.1") / Decimal("10.3")
    assert site.share == 1
    assert "59.2%" in loss.text() and "100.0%" in loss.text()


def test_merged_groups_are_counted_apart_and_a_hidden_total_keeps_its_share_private(
        ) -> None:
    values = {("total", "deleted_fte"): Decimal("9"),
              ("team", "A", "deleted_fte"): Decimal("6"),
              ("team", "B", "deleted_fte"): Decimal("1"),
              ("team", "C", "deleted_fte"): Decimal("2"),
              ("team", "other teams", "deleted_fte"): Decimal("3")}
    recoded = {("team", "B", "deleted_fte"): ("team", "other teams", "deleted_fte"),
               ("team", "C", "deleted_fte"): ("team", "other teams", "deleted_fte")}
    shown = {("total", "deleted_fte"), ("team", "A", "deleted_fte"),
             ("team", "other teams", "deleted_fte")}
    loss = information_loss(values, shown, {("total", "deleted_fte")}, recoded)
    assert loss.merged == 2 and loss.total_hidden
    team = loss.by["team"]
    assert team.visible_fte == 6 and team.merged_fte == 3 and team.shown == 1
    public = loss.as_json(public=True)
    assert public["deleted_fte_by_team"]["share"] is None
    assert public["deleted_fte_by_team"]["total_fte"] is None and "note" in public
    assert loss.as_json()["deleted_fte_by_team"]["share"] == str(Decimal(6) / Decimal(9))


def test_show_audit_reports_the_loss_the_written_public_summary_shows(tmp_path: Path) -> None:
    out = tmp_path / "public.csv"
    result = invoke("summary", sample("derbyshire_early_help.xlsx"), "--audience", "public",
                    "--format", "csv", "-o", out, "--show-audit")
    assert result.exit_code == 0, result.stderr
    tables = _sections(out.read_text(encoding="utf-8"))
    total = Decimal(tables["totals"][0]["deleted_fte"])
    line = next(x for x in result.stderr.splitlines() if x.startswith("Information loss:"))
    for section, words, plural in (("by_team", "by team", "teams"),
                                   ("by_location", "by site", "sites")):
        visible, shown, _ = _visible(tables[section])
        rows = len(tables[section])
        pct = (visible / total * 100).quantize(Decimal("0.1"))
        m = re.search(rf"deleted FTE visible {words} ([\d.]+)% \(([\d.,]+) of ([\d.,]+) FTE; "
                      rf"(\d+) of (\d+) {plural} shown\)", line)
        assert m, line
        assert Decimal(m[1]) == pct and Decimal(m[2]) == visible and Decimal(m[3]) == total
        assert (int(m[4]), int(m[5])) == (shown, rows)
    m = re.match(r"Information loss: ([\d,]+) figures published, ([\d,]+) hidden, "
                 r"([\d,]+) merged", line)
    assert m, line
    recoded = json.loads(invoke("summary", sample("derbyshire_early_help.xlsx"), "--audience",
                                "public", "--format", "json").stdout)["recoded"]
    assert int(m[3]) == _merged_figures(recoded)
    audit = re.search(r"Audit: ([\d,]+) values? hidden", result.stderr)
    assert audit and m[2] == audit[1]


def test_the_public_audit_json_reports_the_loss(tmp_path: Path) -> None:
    with Store(tmp_path / "store") as store:
        datasets.upload(store, DATA / "derbyshire_early_help.xlsx", "Derbyshire",
                        as_of=AS_OF)
        root = str(store.root)
    audit = json.loads(Path(builds.build_output(root, None, "Derbyshire", 1,
                                                "public-audit.json")).read_text())
    summary = Path(builds.build_output(root, None, "Derbyshire", 1, "summary-public.xlsx"))
    from openpyxl import load_workbook

    wb = load_workbook(summary, read_only=True)

    def published(c: object) -> bool:
        return c not in (MARKER, None, "")

    loss = audit["information_loss"]
    assert loss["figures_hidden"] == len(audit["hidden"])
    assert loss["figures_merged"] == _merged_figures(audit["recoded"]) > 0
    totals = list(wb["totals"].iter_rows(values_only=True))
    total_cell = totals[1][list(totals[0]).index("deleted_fte")]
    assert published(total_cell), "Derbyshire publishes its deleted FTE: the share is given"
    total = Decimal(str(total_cell))
    for sheet, key in (("by_team", "deleted_fte_by_team"),
                       ("by_location", "deleted_fte_by_site")):
        rows = list(wb[sheet].iter_rows(values_only=True))
        cells = [r[list(rows[0]).index("deleted_fte")] for r in rows[1:]]
        visible = sum((Decimal(str(c)) for c in cells if published(c)), Decimal(0))
        got = loss[key]
        assert Decimal(got["visible_fte"]) == visible and Decimal(got["total_fte"]) == total
        assert Decimal(got["share"]) == visible / total
        assert got["shown"] == sum(1 for c in cells if published(c))
        assert got["hidden"] == sum(1 for c in cells if c == MARKER)
        assert got["groups"] == len(cells)


def _merged_figures(recoded: dict[str, dict[str, list[str]]]) -> int:
    """Each merged group's figures: a team's, grade's or site's six FTE figures, a
    destination's relocated FTE and posts."""
    return sum(len(parts) * (2 if col == "destination" else 6)
               for col, merged in recoded.items() for parts in merged.values())
