"""The publication ledger (issue 23): public outputs are safe together, not one at a time.

Each test sets the outputs a reader can collect side by side (two versions' public
summaries from the portal and the public comparison; two months' public folders; two
runs on files kept in one --ledger) and audits them with its own linear program
(`test_privacy.solve_ranges`, scipy's HiGHS), written from the published tables: every
figure hidden in either is a variable, and a figure whose true value did not change
between the versions is taken as unchanged (old = new), as a reader may assume.  No
hidden figure may be narrowed below the threshold.  The truth (which figures did not
change, which money moved) comes from the unsuppressed summaries.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from reports.figures.privacy import MARKER
from reports.figures.releases import Prior, Release
from reports.services import datasets, publication, users
from reports.store.accounts import Accounts
from reports.store.db import Store
from reports.store.ledger import Ledger, LedgerMoved
from web.app import create_app

from .conftest import invoke, sample
from .portal_helpers import PASSWORD, log_in
from .store_helpers import make_version_2
from .test_privacy import assert_safe, solve_ranges, summary_system

BY = ("team", "grade", "location")
MONEY = ("deleted_cost", "at_risk_cost", "net_saving")


def _full(path: Path) -> dict[str, Any]:
    result = invoke("summary", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _cells(data: dict[str, Any], tag: str) -> dict[tuple, Any]:
    return summary_system(data, BY, tag=(tag,))[0]


def _audit_together(old: dict[str, Any], new: dict[str, Any], old_full: dict[str, Any],
                    new_full: dict[str, Any], by: tuple[str, ...] = BY) -> int:
    """Audit two public summaries together, every truly unchanged figure taken as
    unchanged; returns how many hidden figures were audited.  `by`: the breakdowns to
    read (one the file does not have is left out by `summary_system`)."""
    cells, eqs, pairs = summary_system(old, by, tag=("old",))
    more = summary_system(new, by, tag=("new",))
    cells.update(more[0])
    eqs += more[1]
    pairs += more[2]
    truth_old, truth_new = _cells(old_full, "old"), _cells(new_full, "new")
    for key in list(cells):
        if key[0] != "old":
            continue
        other = ("new",) + key[1:]
        if other in cells and key in truth_old and other in truth_new \
                and Decimal(str(truth_old[key])) == Decimal(str(truth_new[other])):
            eqs.append({key: 1, other: -1})           # a reader takes it as unchanged
    ranges = solve_ranges(cells, eqs, pairs)
    assert_safe(ranges)
    return len(ranges)


def _xlsx_summary(data: bytes) -> dict[str, Any]:
    """A public summary workbook as the JSON summary's shape."""
    wb = load_workbook(io.BytesIO(data), read_only=True)
    out: dict[str, Any] = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if not rows:
            continue
        header = [str(h) for h in rows[0]]
        items = [dict(zip(header, r, strict=False)) for r in rows[1:]]
        if ws.title == "totals":
            out["totals"] = items[0]
        elif ws.title.startswith("by_"):
            out[ws.title] = items
    return out


def _money_moved_safely(old: dict[str, Any], new: dict[str, Any], old_full: dict[str, Any],
                        new_full: dict[str, Any]) -> int:
    """Money that moved (by fewer than 5 posts' worth of change) is never published on
    both sides.  Returns how many moved."""
    moved = 0
    for key in MONEY:
        if key in old_full["totals"] and old_full["totals"][key] != new_full["totals"][key]:
            moved += 1
            assert MARKER in (old["totals"].get(key), new["totals"].get(key)), key
    return moved


@pytest.fixture
def two_versions(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A store with the Derbyshire sample as version 1 and, as version 2, the same with
    one occupied post deleted; a user hr."""
    v1, v2 = sample("derbyshire_early_help.xlsx"), tmp_path / "v2.xlsx"
    make_version_2(v1, v2, n=1)
    root = tmp_path / "store"
    with Store(root) as store:
        for path, day in ((v1, date(2026, 1, 5)), (v2, date(2026, 2, 5))):
            assert datasets.upload(store, path, "Derbyshire", as_of=day, by="t").version
        users.add_user(Accounts(store), "hr", "hr", PASSWORD, by="setup")
    return root, v1, v2


def test_two_public_downloads_of_consecutive_versions_recover_nothing(
        two_versions: tuple[Path, Path, Path]) -> None:
    root, v1, v2 = two_versions
    client = create_app(root).test_client()
    log_in(client, "hr")
    got = {}
    for name in ("v1/summary-public.xlsx", "v2/summary-public.xlsx",
                 "v2/changes-public.csv"):
        r = client.get(f"/datasets/derbyshire/{name}")
        assert r.status_code == 200, (name, r.status_code)
        got[name] = r.data
    old, new = (_xlsx_summary(got[f"v{n}/summary-public.xlsx"]) for n in (1, 2))
    old_full, new_full = _full(v1), _full(v2)
    assert new_full["totals"]["deleted_posts"] == old_full["totals"]["deleted_posts"] + 1
    assert _audit_together(old, new, old_full, new_full) > 0
    assert _money_moved_safely(old, new, old_full, new_full) >= 2   # the post's cost
    # the public comparison: a change is stated only where both sides are published,
    # and then it is their difference
    text = got["v2/changes-public.csv"].decode()
    rows = list(csv.DictReader(io.StringIO(text[text.index("key,old,new,change"):])))
    assert rows
    for row in rows:
        if MARKER in (row["old"], row["new"]):
            assert row["change"] == MARKER, row
        elif row["old"] and row["new"] and row["change"] not in ("", "no change"):
            assert Decimal(row["change"]) == Decimal(row["new"]) - Decimal(row["old"]), row
    for key in MONEY:
        row = next((r for r in rows if r["key"] == key), None)
        if row is not None and old_full["totals"][key] != new_full["totals"][key]:
            assert row["change"] == MARKER, row
    # every figure released is in the store's ledger, by version and output
    with Store(root) as store:
        entries = Ledger.of_store(store).entries("Derbyshire")
    outputs = {(" ".join(e.label.split()[:2]), e.output) for e in entries}
    assert {("version 1", "summary-public.xlsx"), ("version 2", "summary-public.xlsx"),
            ("version 2", "changes-public.csv")} <= outputs
    published = {(" ".join(e.label.split()[:2]), e.figure): e.value for e in entries
                 if e.output == "summary-public.xlsx"}
    assert published[("version 1", "total / deleted_posts")] == \
        str(old_full["totals"]["deleted_posts"])
    assert any(v is None for v in published.values())            # hidden ones, as NULL


def test_a_version_keeps_its_pattern_whatever_is_released_after_it(
        two_versions: tuple[Path, Path, Path]) -> None:
    root = two_versions[0]

    def public(version: int) -> str:
        result = invoke("summary", "--dataset", "Derbyshire", "--version", str(version),
                        "--store", root, "--audience", "public", "--format", "json")
        assert result.exit_code == 0, result.stderr
        assert "not stored" not in result.stderr
        return result.stdout

    first = public(1)
    public(2)
    assert public(1) == first


def _month(store: Path, out: Path, month: str) -> dict[str, Any]:
    result = invoke("monthly", "--month", month, "--store", store, "--out", out,
                    "--audience", "public")
    assert result.exit_code == 0, result.output
    return json.loads((out / month / "derbyshire" / "public" / "summary.json").read_text())


def test_two_months_public_folders_are_safe_together_and_keep_what_they_published(
        tmp_path: Path) -> None:
    v1, v2 = sample("derbyshire_early_help.xlsx"), tmp_path / "v2.xlsx"
    make_version_2(v1, v2, n=3)              # three retained posts deleted; baseline as was
    store, out = tmp_path / "store", tmp_path / "out"
    for path, day in ((v1, "2024-01-10"), (v2, "2024-02-10")):
        assert invoke("upload", path, "--dataset", "Derbyshire", "--store", store,
                      "--as-of", day).exit_code == 0
    jan = _month(store, out, "2024-01")
    feb = _month(store, out, "2024-02")
    old_full, new_full = _full(v1), _full(v2)
    assert _audit_together(jan, feb, old_full, new_full) > 0
    assert _money_moved_safely(jan, feb, old_full, new_full) >= 2    # 3 posts' pay
    # a figure published in January keeps its value in February unless the schedule
    # changed it
    jan_cells, feb_cells = _cells(jan, "m"), _cells(feb, "m")
    truth_jan, truth_feb = _cells(old_full, "m"), _cells(new_full, "m")
    kept = 0
    for key, value in jan_cells.items():
        if value == MARKER or key not in truth_feb or key not in feb_cells:
            continue
        if Decimal(str(truth_jan[key])) == Decimal(str(truth_feb[key])):
            assert feb_cells[key] == value, key
            kept += 1
    assert kept > 10
    assert feb["totals"]["baseline_posts"] == jan["totals"]["baseline_posts"] == 239


def test_files_kept_in_one_ledger_are_audited_together(tmp_path: Path) -> None:
    v1, v2 = sample("derbyshire_early_help.xlsx"), tmp_path / "v2.xlsx"
    make_version_2(v1, v2, n=1)
    ledger = tmp_path / "ledger.db"
    got = []
    for path in (v1, v2):
        result = invoke("summary", path, "--audience", "public", "--format", "json",
                        "--ledger", ledger)
        assert result.exit_code == 0, result.stderr
        assert "not stored" not in result.stderr
        got.append(json.loads(result.stdout))
    assert _audit_together(got[0], got[1], _full(v1), _full(v2)) > 0
    assert _money_moved_safely(got[0], got[1], _full(v1), _full(v2)) >= 2
    entries = Ledger.of_file(ledger).entries(publication.FILE_DATASET)
    assert {e.label for e in entries} == {v1.name, v2.name}


def test_a_file_with_no_ledger_says_so_on_stderr_and_in_the_method(tmp_path: Path) -> None:
    result = invoke("summary", sample("derbyshire_early_help.xlsx"), "--audience", "public",
                    "--format", "json")
    assert result.exit_code == 0
    lines = [x for x in result.stderr.splitlines() if "not stored" in x]
    assert len(lines) == 1 and "--ledger FILE" in lines[0]
    out = tmp_path / "public.html"
    brief = invoke("brief", sample("derbyshire_early_help.xlsx"), "--audience", "public",
                   "--format", "html", "-o", out)
    assert brief.exit_code == 0
    assert "not checked against them" in " ".join(out.read_text().split())
    union = invoke("summary", sample("derbyshire_early_help.xlsx"), "--format", "json")
    assert "not stored" not in union.stderr            # nothing public, nothing to say


def _release(links_from: Path, version: str) -> Release:
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin
    from reports.figures.totals import summarise
    from reports.services.source import Source, check

    report = check(Source(file=links_from))
    b = make_briefing(report, summarise(report), load_builtin("public"))
    assert b.protection is not None
    return Release(version, version, b.figures.links(), frozenset(b.figures.hidden),
                   dict(b.protection.ranges), "public.toml")


def test_a_release_recorded_meanwhile_is_seen_before_recording(tmp_path: Path) -> None:
    """Two processes release at once: the one that read the ledger first and records
    second is refused (`LedgerMoved`), reads again and chooses over both."""
    ledger = Ledger.of_file(tmp_path / "ledger.db")
    a = _release(sample("derbyshire_early_help.xlsx"), "a")
    stale = ledger.state("D")
    ledger.record(stale, a, "first", [("total / deleted_fte", "132.5")])
    with pytest.raises(LedgerMoved):
        ledger.record(stale, a, "second", [])
    # `released` retries: its first choice is overtaken by another release
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin
    from reports.figures.totals import summarise
    from reports.services.source import Source, check

    v2 = tmp_path / "v2.xlsx"
    make_version_2(sample("derbyshire_early_help.xlsx"), v2, n=1)
    report = check(Source(file=v2))
    template = load_builtin("public")
    seen: list[int] = []

    def make(prior: Prior | None) -> Any:
        assert prior is not None
        seen.append(len(prior.releases))
        if len(seen) == 1:                  # another process records meanwhile, its
            other = ledger.state("D")       # pattern chosen over what it read (a)
            b = make_briefing(report, summarise(report), template,
                              prior=Prior(other.others(None)))
            assert b.protection is not None
            ledger.record(other, Release("c", "c", b.figures.links(),
                                         frozenset(b.figures.hidden),
                                         dict(b.protection.ranges), template.name),
                          "other", [])
        return make_briefing(report, summarise(report), template, prior=prior)

    pub = publication.Publishing(ledger, "D", "b", "version b", "test")
    publication.released(pub, template, make)
    assert seen == [1, 2]                   # chosen again, over both earlier releases
    assert [s.release.version for s in ledger.state("D").stored] == ["a", "c", "b"]


def test_the_union_grows_only_by_what_changed(tmp_path: Path) -> None:
    """A fast path: a figure unchanged since an earlier release is one variable with
    it.  The union of a release with itself adds no variable; with the version before
    it (one post deleted), only the figures that post changed."""
    from reports.figures.releases import union

    v1 = sample("derbyshire_early_help.xlsx")
    same = _release(v1, "a")
    links = same.links
    assert union(links, [same, same], 5).prior == set()
    tmp = tmp_path / "v2.xlsx"
    make_version_2(v1, tmp, n=1)
    other = _release(tmp, "b")
    both = union(links, [other], 5)
    changed = {k for k, v in other.links.values.items()
               if k in links.values and links.values[k] != v}
    added = {k[2:] for k in both.prior}
    assert changed and added == changed | (set(other.links.values) - set(links.values))


TWENTY = ["Team", "Job title", "Grade", "FTE", "Posts", "Status", "Vacant", "Annual cost"]


def _twenty_posts(tmp_path: Path, name: str, kept: int) -> Path:
    """20 posts of 1 FTE in four teams of 5: in each, posts 0-2 deleted (post 1 vacant),
    3-4 retained; post `kept` of Alpha (none: -1) retained instead."""
    from .conftest import make_xlsx

    rows = []
    for t, team in enumerate(("Alpha", "Beta", "Gamma", "Delta")):
        for k in range(5):
            deleted = k < 3 and not (team == "Alpha" and k == kept)
            rows.append([team, f"Officer {k}", f"G{4 + k % 3}", 1, 1,
                         "Deleted" if deleted else "Retained", "Y" if k == 1 else "N",
                         30000 + 1000 * k + 500 * t])
    return make_xlsx(tmp_path, [TWENTY, *rows], name=name)


def test_a_20_post_files_next_public_version_is_published_and_safe_with_the_last(
        tmp_path: Path) -> None:
    """Only a file of fewer than 10 posts may be refused.  Version 1 of a 20-post file
    publishes its deleted FTE (12) and hides its deleted posts: FTE is at most the
    posts, so they are at least 12 and can only be shown to have room upwards.  Version
    2 (one occupied post kept) used to be refused ("deleted_posts (as published before)
    could be worked out to within 5 ... whatever else is hidden"): the repair asked for
    room downwards that FTE <= posts never gives.  Now it is published, and the two
    public summaries audited together by an independent LP recover nothing."""
    v1, v2 = _twenty_posts(tmp_path, "v1.xlsx", -1), _twenty_posts(tmp_path, "v2.xlsx", 2)
    root = tmp_path / "store"
    got = []
    for path, day in ((v1, "2026-01-05"), (v2, "2026-02-05")):
        assert invoke("upload", path, "--dataset", "Twenty", "--store", root,
                      "--as-of", day).exit_code == 0
        result = invoke("summary", "--dataset", "Twenty", "--store", root, "--audience",
                        "public", "--format", "json")
        assert result.exit_code == 0, result.stderr
        got.append(json.loads(result.stdout))
    old_full, new_full = _full(v1), _full(v2)
    assert (old_full["totals"]["baseline_posts"], old_full["totals"]["deleted_posts"],
            new_full["totals"]["deleted_posts"]) == (20, 12, 11)
    assert got[0]["totals"]["deleted_fte"] not in (MARKER, None)   # what holds it up
    assert _audit_together(got[0], got[1], old_full, new_full) > 0
    assert _money_moved_safely(got[0], got[1], old_full, new_full) >= 1
