"""Issue 9: the store survives real `impact upload` processes killed at random moments,
and a backup taken while uploads run restores to a healthy store.

IMPACT_TEST_SLOW makes each upload pause at every step of storing its file (copy
written, renamed into place, row inserted but not committed), so that random kills
land inside those steps as well as in the reading before them.  The random kills
prove safety only: how many land where depends on the machine's speed, so nothing
here asserts it.  That each step is interrupted is proved deterministically, by
$IMPACT_FAULT, in test_store_faults.py.  The numbers these tests measure are recorded
in docs/store.md (Reliability).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from reports.services import upkeep
from reports.store.db import Store

from . import store_helpers as helpers
from .store_helpers import DATASET, child_env, csv_variant, impact_exe, invoke, sample

fresh_store = helpers.fresh_store
isolated_store_env = helpers.isolated_store_env

KILLS = 50
LANES = 2                   # uploads killed two at a time: this machine has two cores
PARALLEL = 10
SLOW = "0.1"


def start_upload(tmp_path: Path, store: Path, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([impact_exe(), "upload", str(path), "--dataset", DATASET,
                             "--store", str(store), "--as-of", "2024-03-01", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env(tmp_path, IMPACT_TEST_SLOW=SLOW))


def _reported(out: str) -> str | None:
    """The sha256 of the version an upload reported, or None if it reported none."""
    try:
        return str(json.loads(out)["version"]["sha256"])
    except (ValueError, KeyError, TypeError):
        return None


@pytest.mark.slow
def test_uploads_killed_at_random_moments_leave_a_healthy_store(fresh_store: Path,
                                                                tmp_path: Path) -> None:
    rng = random.Random(9)
    # how long one whole upload takes here: kills are spread over that span
    started = time.monotonic()
    first = start_upload(tmp_path, fresh_store, csv_variant(tmp_path, 0))
    out, err = first.communicate(timeout=120)
    span = time.monotonic() - started
    assert first.returncode == 0, err
    reported = {json.loads(out)["version"]["sha256"]}
    killed: list[str] = []
    problems: list[str] = []
    lock = threading.Lock()
    delays = [rng.uniform(0.5 * span, 1.6 * span) for _ in range(KILLS)]

    def lane(indexes: list[int]) -> None:
        for i in indexes:
            path = csv_variant(tmp_path, i)
            child = start_upload(tmp_path, fresh_store, path)
            time.sleep(delays[i - 1])
            child.send_signal(signal.SIGKILL)
            out, _ = child.communicate(timeout=120)
            with lock:
                said = _reported(out)       # it said so, even if killed while exiting
                if said is not None:
                    reported.add(said)
                else:
                    assert child.returncode == -signal.SIGKILL
                    killed.append(helpers.sha256(path))
            check = upkeep.check_store(fresh_store)
            if not check.healthy:
                with lock:
                    problems.extend(p.message for p in check.problems)

    threads = [threading.Thread(target=lane, args=(list(range(1 + k, KILLS + 1, LANES)),))
               for k in range(LANES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not problems, problems
    assert len(killed) + len(reported) == KILLS + 1
    result = invoke("store", "check", "--store", fresh_store)
    assert result.exit_code == 0, result.stdout
    with Store(fresh_store) as store:
        versions = store.versions(DATASET)
    stored = {v.sha256 for v in versions}
    assert [v.number for v in versions] == list(range(1, len(versions) + 1))
    assert reported <= stored                       # every upload that said so is kept
    late = stored - reported                        # killed after the commit, before it spoke
    assert late <= set(killed)
    assert len(versions) == len(reported) + len(late)
    files = fresh_store / "files"
    copied = sum((files / f"{sha}.csv").exists() for sha in set(killed) - stored)
    partial = len(list(files.glob(".*.part")))
    print(f"\n{len(killed)} of {KILLS} uploads killed ({partial} while copying the file, "
          f"{copied} after the copy and before the commit, {len(late)} after the commit), "
          f"{len(reported) - 1} completed; {len(versions)} versions; store healthy")


@pytest.mark.slow
def test_a_backup_during_parallel_uploads_restores_every_reported_version(
        fresh_store: Path, tmp_path: Path) -> None:
    assert invoke("upload", csv_variant(tmp_path, 100), "--dataset", DATASET, "--store",
                  fresh_store, "--as-of", "2024-03-01").exit_code == 0
    children = [start_upload(tmp_path, fresh_store, csv_variant(tmp_path, i))
                for i in range(PARALLEL)]
    # wait until some have finished and some are still running, then back up
    deadline = time.monotonic() + 120
    while (sum(c.poll() is not None for c in children) < 2 and time.monotonic() < deadline):
        time.sleep(0.01)
    done_before = [c for c in children if c.poll() is not None]
    running = PARALLEL - len(done_before)
    with Store(fresh_store) as store:
        before = {(v.number, v.sha256) for v in store.versions(DATASET)}
    # the backup holds the store's lock exclusively: it waits for the running uploads
    with Store(fresh_store, lock=None) as store:
        backup = upkeep.backup_store(store, tmp_path / "backup")
    outputs = [c.communicate(timeout=120) for c in children]
    assert all(c.returncode == 0 for c in children), outputs
    # (whether any were still running depends on the machine's speed; the backup
    # waiting for uploads held mid-write is forced in test_store_faults.py)
    assert backup.problems == []
    reported_before = {(json.loads(out)["version"]["version"], json.loads(out)["version"]["sha256"])
                       for child, (out, _) in zip(children, outputs) if child in done_before}
    assert reported_before <= before
    target = tmp_path / "restored"
    result = invoke("store", "restore", tmp_path / "backup", "--store", target)
    assert result.exit_code == 0, result.output
    assert invoke("store", "check", "--store", target).exit_code == 0
    with Store(target) as restored:
        held = {(v.number, v.sha256) for v in restored.versions(DATASET)}
    assert reported_before | {(1, helpers.sha256(csv_variant(tmp_path, 100)))} <= held
    assert before <= held
    with Store(fresh_store) as store:
        assert len(store.versions(DATASET)) == PARALLEL + 1
    print(f"\nbackup started with {running} of {PARALLEL} uploads still running; it holds "
          f"{len(held)} versions, every one reported before it began")


MONTHLY_KILLS = 50


@pytest.mark.slow
def test_monthly_killed_at_random_moments_leaves_the_store_and_month_whole(
        fresh_store: Path, tmp_path: Path) -> None:
    """Kill a real `impact monthly` 50 times at random moments: after each kill the store
    passes `store check`, no file under its final name is partial, and a final run
    completes the month with every file matching its manifest."""
    rng = random.Random(8)
    assert invoke("upload", sample("coop_working.csv"), "--dataset", "coop", "--store",
                  fresh_store, "--as-of", "2024-03-01").exit_code == 0
    out = tmp_path / "reports"
    args = [impact_exe(), "monthly", "--month", "2024-03", "--store", str(fresh_store),
            "--out", str(out), "--audience", "union", "--force"]
    env = child_env(tmp_path, IMPACT_TEST_SLOW="0.05")
    started = time.monotonic()
    whole = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120,
                           check=False)
    span = time.monotonic() - started
    assert whole.returncode == 0, whole.stderr
    killed = 0
    for _ in range(MONTHLY_KILLS):
        child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, span))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        killed += child.returncode == -signal.SIGKILL
        assert upkeep.check_store(fresh_store).healthy
        for pdf in (out / "2024-03").rglob("*.pdf"):   # final names are always whole
            assert pdf.read_bytes().rstrip().endswith(b"%%EOF"), pdf
    done = subprocess.run(args[:-1], env=child_env(tmp_path), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "2024-03" / "manifest.json").read_text())
    assert manifest["complete"] is True
    for entry in manifest["datasets"]:
        for f in entry["files"]:
            assert helpers.sha256(out / "2024-03" / f["path"]) == f["sha256"]
    assert not list((out / "2024-03").rglob(".*.part"))
    print(f"\n{killed} of {MONTHLY_KILLS} monthly runs killed; store healthy after each; "
          f"the month completed on the next run")


def test_a_stale_temporary_copy_is_removed_by_the_next_upload(fresh_store: Path,
                                                               tmp_path: Path) -> None:
    import os

    assert invoke("upload", sample("coop_working.csv"), "--dataset", "coop", "--store",
                  fresh_store, "--as-of", "2024-03-01").exit_code == 0
    files = fresh_store / "files"
    stale, fresh = files / ".abc.csv.x1.part", files / ".def.csv.x2.part"
    for p in (stale, fresh):
        p.write_bytes(b"half a file")
    hour_ago = time.time() - 2 * 3600
    os.utime(stale, (hour_ago, hour_ago))
    assert invoke("upload", sample("coop_working.xlsx"), "--dataset", "coop", "--store",
                  fresh_store, "--as-of", "2024-03-02").exit_code == 0
    assert not stale.exists()          # left by a kill long ago: removed
    assert fresh.exists()              # may belong to an upload running now: kept


def test_an_upload_killed_inside_its_postgresql_transaction_leaves_no_trace(
        pg_url: str, tmp_path: Path, monkeypatch) -> None:
    """The PostgreSQL server, not the client, must undo a killed upload: SIGKILL the
    `impact upload` while its version row is inserted and the dataset's row locked, but
    not yet committed (seen in pg_stat_activity).  The server rolls it back: no version,
    no lock left behind (the next upload takes number 2 at once), and a healthy store."""
    import psycopg  # only this test looks at the server's own view of its clients

    monkeypatch.setenv("IMPACT_DB", pg_url)
    store = tmp_path / "store"
    assert invoke("upload", csv_variant(tmp_path, 0), "--dataset", DATASET, "--store", store,
                  "--as-of", "2024-03-01").exit_code == 0
    gate = tmp_path / "go"            # never made: the upload waits there until killed
    child = subprocess.Popen([impact_exe(), "upload", str(csv_variant(tmp_path, 1)),
                              "--dataset", DATASET, "--store", str(store), "--as-of",
                              "2024-03-01", "--format", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=child_env(tmp_path,
                                           IMPACT_FAULT=f"upload.inserted:pause:{gate}"))
    conninfo = pg_url.replace("postgresql+psycopg://", "postgresql://")
    waiting = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'impact' "
               "AND state = 'idle in transaction' AND query LIKE 'INSERT INTO versions%'")
    reached = gate.with_name("go.reached")
    deadline = time.monotonic() + 120            # a bound, not a verdict
    while not reached.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        seen = conn.execute(waiting).fetchone()[0] == 1
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=60)
        assert seen, f"the upload was never seen inside its transaction: {out} {err}"
        assert child.returncode == -signal.SIGKILL and out == ""
    with Store(store) as opened:
        assert [v.number for v in opened.versions(DATASET)] == [1]
    result = invoke("upload", csv_variant(tmp_path, 2), "--dataset", DATASET, "--store",
                    store, "--as-of", "2024-03-01", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["version"]["version"] == 2
    check = upkeep.check_store(store)
    assert check.healthy, [p.message for p in check.problems]
    # the killed upload's copy was renamed into place before its row: an orphan, noted
    assert [n.kind for n in check.notes] == ["orphan-file"]
