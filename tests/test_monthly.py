"""Scheduled monthly reports, and the whole upload -> history -> brief -> compare -> monthly
flow on the Derbyshire sample."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from commands import options
from reports.documents.template import load_builtin
from reports.services.datasets import upload as store_upload
from reports.services.monthly import Month, audiences_from, run_monthly, verify_files
from reports.store.db import Store

from . import store_helpers as helpers
from .store_helpers import DATASET, impact_exe, invoke, run, sample, sha256, snapshot

# fixtures from store_helpers (pytest finds them by their names here)
derbyshire_v1 = helpers.derbyshire_v1
derbyshire_v2 = helpers.derbyshire_v2
fresh_store = helpers.fresh_store
isolated_store_env = helpers.isolated_store_env

FILES = ["briefing-union.pdf", "briefing-management.pdf", "summary.xlsx", "summary.json",
         "changes.json"]


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def manifest(out: Path, month: str) -> dict[str, Any]:
    return json.loads((out / month / "manifest.json").read_text())


def up(store: Path, path: Path, as_of: str, dataset: str = DATASET) -> None:
    result = invoke("upload", path, "--dataset", dataset, "--store", store, "--as-of", as_of)
    assert result.exit_code == 0, result.output


def fake_render(report: Any, summary: Any, template: Any, out: Any, *, changes: Any,
                month: Month, version: Any, briefing: Any = None) -> None:
    """A stand-in renderer for tests of the loop: small, fast, deterministic."""
    section = changes.comparison.headline if changes.comparison else changes.note
    texts = [section]
    out.write(json.dumps({"audience": template.audience, "version": version.number,
                          "month": str(month), "changes": texts}).encode())


# --------------------------------------------------------------------------
# months


def test_months() -> None:
    assert Month.before(date(2024, 5, 1)) == Month(2024, 4)
    assert Month.before(date(2024, 5, 31)) == Month(2024, 4)
    assert Month.before(date(2024, 1, 15)) == Month(2023, 12)
    assert Month.parse("2024-02").last_day == date(2024, 2, 29)
    assert Month.parse("2023-02").last_day == date(2023, 2, 28)
    assert (str(Month(2024, 4)), Month(2024, 4).label) == ("2024-04", "April 2024")
    for bad in ("2024-13", "April", "2024/04", "24-04"):
        with pytest.raises(ValueError):
            Month.parse(bad)


def test_bad_month_is_a_usage_error(fresh_store: Path) -> None:
    result = invoke("monthly", "--month", "2024-13", "--store", fresh_store)
    assert result.exit_code == 2
    assert "'2024-13' is not a month; give it as YYYY-MM" in result.stderr


def test_default_month_is_the_previous_one(fresh_store: Path, derbyshire_v1: Path,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    monkeypatch.setattr(options, "today", lambda: date(2024, 5, 1))
    result = invoke("monthly", "--store", fresh_store, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    # the month, and the id of the store the folder belongs to (issue 24)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".impact-store-id",
                                                                     "2024-04"]
    assert manifest(tmp_path / "out", "2024-04")["period_end"] == "2024-04-30"


# --------------------------------------------------------------------------
# the whole flow


def test_upload_history_brief_compare_monthly(fresh_store: Path, derbyshire_v1: Path,
                                              derbyshire_v2, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    v2, moved = derbyshire_v2
    moved_ids = sorted(m.post_id for m in moved)
    extra = sum(m.fte for m in moved)
    out = tmp_path / "reports"
    # upload two versions, and an invalid file that must change nothing
    up(fresh_store, derbyshire_v1, "2024-03-01")
    up(fresh_store, v2, "2024-04-12")
    history = invoke("history", DATASET, "--store", fresh_store).stdout
    bad = invoke("upload", sample("broken_example.xlsx"), "--dataset", DATASET, "--store",
                 fresh_store, "--as-of", "2024-04-20")
    assert bad.exit_code == 1
    assert invoke("history", DATASET, "--store", fresh_store).stdout == history
    assert "Version 2, as of 12 April 2024" in history
    # brief and compare from the store
    monkeypatch.chdir(tmp_path)
    brief = invoke("brief", "--dataset", DATASET, "--store", fresh_store, "--since-version",
                   "1", "-o", "latest.pdf")
    assert brief.exit_code == 0, brief.output
    assert "Since version 1 (1 March 2024)" in pdf_text(tmp_path / "latest.pdf")
    comparison = json.loads(invoke("compare", "--dataset", DATASET, "--from", "1", "--to",
                                   "2", "--store", fresh_store, "--format", "json").stdout)
    assert sorted(c["new"]["post_id"] for c in comparison["changed"]) == moved_ids
    assert [c["changes"] for c in comparison["changed"]] == [["status"]] * 3
    assert comparison["added"] == comparison["removed"] == []
    # March, then April
    for month in ("2024-03", "2024-04"):
        result = invoke("monthly", "--month", month, "--store", fresh_store, "--out", out)
        assert result.exit_code == 0, result.output
        assert result.stdout == (f"{month}: 1 dataset(s) written (5 files); manifest "
                                 f"{out / month / 'manifest.json'}\n")
    april = out / "2024-04" / DATASET
    assert sorted(p.name for p in april.iterdir()) == sorted(FILES)
    m = manifest(out, "2024-04")
    assert (m["month"], m["complete"], m["failures"]) == ("2024-04", True, [])
    (entry,) = m["datasets"]
    assert (entry["dataset"], entry["status"], entry["version"], entry["as_of"]) == (
        DATASET, "ok", 2, "2024-04-12")
    # last month's version by number, row id and sha256 (issue 24)
    assert entry["previous"] == {"month": "2024-03", "version": 1, "from": "manifest",
                                 "version_id": 1, "sha256": sha256(derbyshire_v1)}
    assert [f["path"] for f in entry["files"]] == [f"{DATASET}/{name}" for name in FILES]
    for f in entry["files"]:
        assert sha256(out / "2024-04" / f["path"]) == f["sha256"]
    assert manifest(out, "2024-03")["datasets"][0]["version"] == 1
    # what changed since last month: exactly the three posts
    changes = json.loads((april / "changes.json").read_text())
    assert sorted(c["new"]["post_id"] for c in changes["comparison"]["changed"]) == moved_ids
    assert changes["headline"] == (f"Since version 1 (1 March 2024): deleted FTE up "
                                   f"{extra.normalize():f} to "
                                   f"{(Decimal('132.5') + extra).normalize():f}; 3 more posts "
                                   f"at risk")
    for audience in ("union", "management"):
        template = load_builtin(audience)
        headline, after = (template.headings[s] for s in template.sections[:2])
        text = pdf_text(april / f"briefing-{audience}.pdf")
        at = text.index("What changed since last month")
        assert text.index(headline) < at < text.index(after, at)
        assert changes["headline"] in " ".join(text[at:].split())
        for post_id in moved_ids:
            assert post_id in text[at:]
    summary = json.loads((april / "summary.json").read_text())
    assert Decimal(str(summary["totals"]["deleted_fte"])) == Decimal("132.5") + extra
    march = json.loads((out / "2024-03" / DATASET / "changes.json").read_text())
    assert march["comparison"] is None and march["previous"] is None
    # a re-run changes no file
    before = snapshot(out)
    again = invoke("monthly", "--month", "2024-04", "--store", fresh_store, "--out", out)
    assert again.exit_code == 0
    assert again.stdout.startswith("2024-04 is already complete in ")
    assert "nothing rewritten" in again.stdout
    assert snapshot(out) == before


def test_no_new_version_since_last_month(fresh_store: Path, derbyshire_v1: Path,
                                         tmp_path: Path) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    with Store(fresh_store) as store:
        for month in (Month(2024, 3), Month(2024, 4)):
            result = run_monthly(store, tmp_path, month, render=fake_render)
    rendered = json.loads((tmp_path / "2024-04" / DATASET / "briefing-union.pdf").read_text())
    assert rendered["changes"] == [("No new version since last month: version 1 (1 March "
                                    "2024) was used for March 2024 too.")]
    assert result.runs[0].entry["changes"] == rendered["changes"][0]


def test_previous_version_is_the_one_last_months_run_used(fresh_store: Path,
                                                          derbyshire_v1: Path, derbyshire_v2,
                                                          tmp_path: Path) -> None:
    v2, _ = derbyshire_v2
    up(fresh_store, derbyshire_v1, "2024-03-01")
    with Store(fresh_store) as store:
        run_monthly(store, tmp_path, Month(2024, 3), render=fake_render)
        # a correction dated in March arrives after March's run
        store_upload(store, v2, DATASET, as_of=date(2024, 3, 20))
        result = run_monthly(store, tmp_path, Month(2024, 4), render=fake_render)
    entry = result.runs[0].entry
    assert (entry["version"], entry["previous"]) == (2, {"month": "2024-03", "version": 1,
                                                         "from": "manifest", "version_id": 1,
                                                         "sha256": sha256(derbyshire_v1)})
    assert entry["changes"].startswith("Since version 1 (1 March 2024)")


def test_dataset_without_a_version_by_month_end_is_skipped(fresh_store: Path,
                                                           derbyshire_v1: Path,
                                                           tmp_path: Path) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    up(fresh_store, sample("coop_working.xlsx"), "2024-05-02", dataset="coop")
    result = invoke("monthly", "--month", "2024-04", "--store", fresh_store, "--out", tmp_path)
    assert result.exit_code == 0
    assert result.stdout.startswith("2024-04: 1 dataset(s) written (5 files), 1 skipped;")
    entries = {e["dataset"]: e for e in manifest(tmp_path, "2024-04")["datasets"]}
    assert entries["coop"] == {"dataset": "coop", "slug": "coop", "status": "skipped",
                               "note": "no version has an as-of date on or before "
                                       "30 April 2024"}
    assert not (tmp_path / "2024-04" / "coop").exists()


def test_one_failing_dataset_does_not_stop_the_others(fresh_store: Path, derbyshire_v1: Path,
                                                      tmp_path: Path) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    up(fresh_store, sample("coop_working.xlsx"), "2024-03-01", dataset="coop")
    broken = fresh_store / "templates" / "coop" / "union.toml"
    broken.parent.mkdir(parents=True)
    broken.write_text('title = "unterminated\n')
    out = tmp_path / "out"
    result = invoke("monthly", "--month", "2024-03", "--store", fresh_store, "--out", out)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 2024-03: dataset 'coop' failed: template "
                                    "union.toml is not valid TOML")
    m = manifest(out, "2024-03")
    assert m["complete"] is False
    assert [f["dataset"] for f in m["failures"]] == ["coop"]
    ok = next(e for e in m["datasets"] if e["dataset"] == DATASET)
    assert ok["status"] == "ok" and verify_files(out / "2024-03", ok["files"])
    # fixed: the next run builds only the dataset that failed
    done = snapshot(out / "2024-03" / DATASET)
    broken.write_text('title = "Co-operative Working: briefing"\n')
    result = invoke("monthly", "--month", "2024-03", "--store", fresh_store, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2024-03: 1 dataset(s) written (5 files), 1 up to date;")
    assert snapshot(out / "2024-03" / DATASET) == done
    assert manifest(out, "2024-03")["complete"] is True
    assert "Co-operative Working: briefing" in pdf_text(out / "2024-03" / "coop" /
                                                        "briefing-union.pdf")


def test_damaged_stored_file_fails_only_its_dataset(fresh_store: Path, derbyshire_v1: Path,
                                                    tmp_path: Path) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    up(fresh_store, sample("coop_working.xlsx"), "2024-03-01", dataset="coop")
    with Store(fresh_store) as store:
        stored = store.path_of(store.version("coop"))
    stored.chmod(0o644)
    stored.write_bytes(b"garbage")
    with Store(fresh_store) as store:
        result = run_monthly(store, tmp_path, Month(2024, 3), render=fake_render)
    assert [(r.dataset, r.status) for r in result.runs] == [("coop", "failed"),
                                                            (DATASET, "written")]
    assert "is damaged" in result.failures[0].message


def test_force_rebuilds_byte_identical_files_whatever_the_date(fresh_store: Path,
                                                               derbyshire_v1: Path,
                                                               tmp_path: Path) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    with Store(fresh_store) as store:
        run_monthly(store, tmp_path, Month(2024, 4),
                    now=datetime(2024, 5, 1, 6, tzinfo=UTC))
        first = snapshot(tmp_path / "2024-04" / DATASET)
        time.sleep(0.01)
        result = run_monthly(store, tmp_path, Month(2024, 4), force=True,
                             now=datetime(2026, 1, 9, 12, tzinfo=UTC))
    assert result.count("written") == 1
    second = snapshot(tmp_path / "2024-04" / DATASET)
    assert {k: v[1] for k, v in first.items()} == {k: v[1] for k, v in second.items()}
    assert all(first[k][0] != second[k][0] for k in first)
    assert manifest(tmp_path, "2024-04")["generated_at"] == "2026-01-09T12:00:00Z"


def test_a_new_version_in_the_month_rebuilds_that_dataset(fresh_store: Path,
                                                          derbyshire_v1: Path, derbyshire_v2,
                                                          tmp_path: Path) -> None:
    v2, _ = derbyshire_v2
    up(fresh_store, derbyshire_v1, "2024-03-01")
    with Store(fresh_store) as store:
        run_monthly(store, tmp_path, Month(2024, 4), render=fake_render)
        store_upload(store, v2, DATASET, as_of=date(2024, 4, 29))
        result = run_monthly(store, tmp_path, Month(2024, 4), render=fake_render)
    assert (result.already_complete, result.runs[0].status) == (False, "written")
    assert manifest(tmp_path, "2024-04")["datasets"][0]["version"] == 2


def test_audiences(fresh_store: Path, derbyshire_v1: Path, tmp_path: Path) -> None:
    from reports.model.errors import UsageProblem

    custom = tmp_path / "branch.toml"
    custom.write_text('audience = "union"\ntitle = "Branch briefing"\n')
    assert [a.name for a in audiences_from(["public", str(custom)])] == ["public", "union"]
    for bad in (["nobody"], ["union", "union"], [str(tmp_path / "missing.toml")]):
        with pytest.raises(UsageProblem):
            audiences_from(bad)
    up(fresh_store, derbyshire_v1, "2024-03-01")
    result = invoke("monthly", "--month", "2024-03", "--store", fresh_store, "--out", tmp_path,
                    "--audience", "public", "--audience", custom)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "2024-03" / DATASET
    assert sorted(p.name for p in folder.glob("*.pdf")) == ["briefing-union.pdf"]
    assert "Branch briefing" in pdf_text(folder / "briefing-union.pdf")
    # the public audience has a folder of its own, with only public-safe files
    public = folder / "public"
    assert sorted(p.name for p in public.iterdir()) == ["briefing.pdf", "changes.json",
                                                       "summary.json", "summary.xlsx"]
    data = json.loads((public / "summary.json").read_text())
    assert "[c]" in json.dumps(data)
    assert json.loads((public / "changes.json").read_text())["comparison"] is None
    # other audiences make the month incomplete again
    again = invoke("monthly", "--month", "2024-03", "--store", fresh_store, "--out", tmp_path)
    assert again.stdout.startswith("2024-03: 1 dataset(s) written")


def test_progress_lines_on_a_terminal_only(fresh_store: Path, derbyshire_v1: Path,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    args = ["monthly", "--month", "2024-03", "--store", fresh_store, "--out", tmp_path]
    quiet_pipe = invoke(*args)
    assert quiet_pipe.stderr == ""
    monkeypatch.setattr(options, "on_terminal", lambda: True)
    shown = invoke(*args, "--force")
    assert shown.stderr.splitlines() == [
        f"[1/1] {DATASET}: version 1 (as of 1 March 2024) …",
        f"[1/1] {DATASET}: written, 5 files"]
    quiet = invoke(*args, "--force", "--quiet")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


# --------------------------------------------------------------------------
# killed mid-run


@pytest.mark.slow
def test_killed_mid_run_the_next_run_finishes_the_month(fresh_store: Path,
                                                        derbyshire_v1: Path,
                                                        tmp_path: Path) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    up(fresh_store, sample("coop_working.xlsx"), "2024-03-01", dataset="coop")
    out = tmp_path / "out"
    args = [impact_exe(), "monthly", "--month", "2024-03", "--store", str(fresh_store),
            "--out", str(out)]
    # held ($IMPACT_FAULT) with a dataset's first file in place and its second written
    # beside its final name, then the run and its workers killed: whatever the speed
    gate = tmp_path / "never"
    env = {**os.environ, "IMPACT_FAULT": f"monthly.part-written#2:pause:{gate}"}
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    month = out / "2024-03"
    reached = gate.with_name("never.reached")
    deadline = time.monotonic() + 300            # a bound, not a verdict
    while not reached.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(child.pid, signal.SIGKILL)         # the run and the workers it started
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert list(month.rglob(".*.part")), "not killed mid-file"
    written = [p for p in month.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert 0 < len(written) < 2 * len(FILES) + 1, "killed before or after the run"
    for path in written:        # a file under its final name is always whole
        if path.suffix == ".pdf":
            assert path.read_bytes().rstrip().endswith(b"%%EOF")
    m = json.loads((month / "manifest.json").read_text()) if (month / "manifest.json"
                                                             ).exists() else None
    assert m is None or m["complete"] is False
    # the next run finishes the month
    result = run(tmp_path, "monthly", "--month", "2024-03", "--store", fresh_store,
                 "--out", out)
    assert result.returncode == 0, result.stderr
    m = manifest(out, "2024-03")
    assert m["complete"] is True
    assert sorted(e["dataset"] for e in m["datasets"]) == ["coop", DATASET]
    for entry in m["datasets"]:
        assert [f["path"] for f in entry["files"]] == [f"{entry['slug']}/{name}"
                                                       for name in FILES]
        assert verify_files(month, entry["files"])
    assert list(out.rglob("*.part")) == []
    listed = {f["path"] for e in m["datasets"] for f in e["files"]}
    on_disk = {p.relative_to(month).as_posix() for p in month.rglob("*")
               if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json"}
    assert on_disk == listed


def test_a_complete_month_stays_complete_when_a_template_changes(fresh_store: Path,
                                                                 derbyshire_v1: Path,
                                                                 tmp_path: Path) -> None:
    up(fresh_store, derbyshire_v1, "2024-03-01")
    out = tmp_path / "out"
    override = fresh_store / "templates" / DATASET / "union.toml"
    with Store(fresh_store) as store:
        run_monthly(store, out, Month(2024, 3), render=fake_render)
        before = snapshot(out)
        override.parent.mkdir(parents=True)
        override.write_text('title = "Edited after the month was published"\n')
        again = run_monthly(store, out, Month(2024, 3), render=fake_render)
        assert again.already_complete
        assert snapshot(out) == before
        forced = run_monthly(store, out, Month(2024, 3), render=fake_render, force=True)
    assert forced.runs[0].status == "written"
    assert forced.runs[0].entry["templates"]["union"] == sha256(override)


def test_a_full_disk_names_every_dataset_that_failed(fresh_store: Path, derbyshire_v1: Path,
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write fails with ENOSPC: each dataset fails, then the month's manifest
    cannot be written either; the one error says so and names both datasets (before,
    it named only the manifest, and cron's mail did not say what was lost)."""
    import errno

    from reports.model.errors import CannotWrite
    from reports.services import monthly

    up(fresh_store, derbyshire_v1, "2024-03-01")
    up(fresh_store, derbyshire_v1, "2024-03-01", dataset="Second dataset")

    def full(folder: Path, path: Path, data: bytes, pause: float) -> None:
        raise CannotWrite(path, OSError(errno.ENOSPC, "No space left on device"))

    def full_manifest(folder: Path, *args: Any, **kw: Any) -> None:
        raise CannotWrite(folder / "manifest.json",
                          OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(monthly, "_write", full)
    monkeypatch.setattr(monthly, "_write_manifest", full_manifest)
    with Store(fresh_store) as store, pytest.raises(monthly.MonthNotWritten) as got:
        run_monthly(store, tmp_path, Month(2024, 3), render=fake_render)
    message = str(got.value)
    assert "No space left on device" in message and "not complete" in message
    assert f"'{DATASET}'" in message and "'Second dataset'" in message
    assert "2 dataset(s) failed" in message and "0 written" in message
