"""Real `impact` processes killed at exactly each point of the store's writes
($IMPACT_FAULT, reports/store/faults.py): after each kill `impact store check` passes,
nothing stored before is lost, and the next command carries on.  Nothing here depends
on timing: the process kills itself at the point, or waits there until the test lets
it go."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from reports.services import builds, datasets, upkeep
from reports.store import faults
from reports.store.db import Store
from reports.store.jobs import DONE, QUEUED, RUNNING, Jobs

from . import store_helpers as helpers
from .store_helpers import DATASET, child_env, csv_variant, impact_exe, invoke

fresh_store = helpers.fresh_store
isolated_store_env = helpers.isolated_store_env

ROOT = Path(__file__).resolve().parents[1]
UPLOAD_POINTS = [p for p in faults.POINTS if p.startswith("upload.")]


def upload_child(tmp_path: Path, store: Path, path: Path, fault: str) -> subprocess.Popen[str]:
    return subprocess.Popen([impact_exe(), "upload", str(path), "--dataset", DATASET,
                             "--store", str(store), "--as-of", "2024-03-01", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env(tmp_path, **{faults.ENV: fault}))


def stored(store: Path) -> list[tuple[int, str]]:
    with Store(store) as opened:
        return [(v.number, v.sha256) for v in opened.versions(DATASET)]


def healthy(store: Path) -> None:
    result = invoke("store", "check", "--store", store)
    assert result.exit_code == 0, result.output
    check = upkeep.check_store(store)
    assert check.healthy, [p.message for p in check.problems]


def wait_for(path: Path, child: subprocess.Popen[str]) -> None:
    """Until the child has reached its pause point (it made `path`); a bound, no verdict."""
    deadline = time.monotonic() + 300
    while not path.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never reached its pause point"
        time.sleep(0.01)


def test_every_point_is_reached_somewhere_in_the_code() -> None:
    """Each named point is called (restore's through upkeep's steps), so a test that
    names one really interrupts that write."""
    code = "\n".join(p.read_text() for p in (ROOT / "reports").rglob("*.py"))
    called = set(re.findall(r'faults\.point\("([a-z.-]+)"\)', code))
    steps = {f"restore.{s}" for s in upkeep.PG_STEPS}
    assert called | steps == set(faults.POINTS)
    assert 'faults.point(f"restore.{name}")' in code


@pytest.mark.parametrize("value", ["upload.nowhere:die", "upload.inserted:explode",
                                   "upload.inserted:pause", "upload.inserted",
                                   "upload.inserted#0:die", "upload.inserted#x:die"])
def test_a_fault_that_is_not_understood_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="IMPACT_FAULT"):
        faults._parse(value)


def test_faults_are_parsed() -> None:
    assert faults._parse("") is None
    assert faults._parse("upload.inserted:die, backup.copied#2:pause:/tmp/go") == {
        "upload.inserted": ("die", "", 0), "backup.copied": ("pause", "/tmp/go", 2)}


@pytest.mark.parametrize("point", UPLOAD_POINTS)
def test_an_upload_killed_at_each_point_loses_nothing(fresh_store: Path, tmp_path: Path,
                                                      point: str) -> None:
    first, second = csv_variant(tmp_path, 0), csv_variant(tmp_path, 1)
    assert invoke("upload", first, "--dataset", DATASET, "--store", fresh_store,
                  "--as-of", "2024-03-01").exit_code == 0
    child = upload_child(tmp_path, fresh_store, second, f"{point}:die")
    out, err = child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL, err
    assert out == ""                                 # it said nothing: it never finished
    healthy(fresh_store)
    kept = [(1, helpers.sha256(first))]
    if point == "upload.committed":                  # committed before it was killed
        kept.append((2, helpers.sha256(second)))
    assert stored(fresh_store) == kept
    assert helpers.sha256(fresh_store / "files" / f"{kept[0][1]}.csv") == kept[0][1]
    # the upload tried again is stored once, under the next number, and the store is whole
    again = invoke("upload", second, "--dataset", DATASET, "--store", fresh_store,
                   "--as-of", "2024-03-01", "--format", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["version"]["version"] == 2
    assert stored(fresh_store) == [(1, helpers.sha256(first)), (2, helpers.sha256(second))]
    healthy(fresh_store)
    assert not [n for n in upkeep.check_store(fresh_store).notes if n.kind == "orphan-file"]


@pytest.mark.parametrize("point", ["backup.copied", "backup.renamed"])
def test_a_backup_killed_at_each_point_leaves_the_store_whole(fresh_store: Path,
                                                             tmp_path: Path, point: str) -> None:
    for i in range(2):
        assert invoke("upload", csv_variant(tmp_path, i), "--dataset", DATASET, "--store",
                      fresh_store, "--as-of", "2024-03-01").exit_code == 0
    before = stored(fresh_store)
    dest = tmp_path / "backup"
    child = subprocess.run([impact_exe(), "store", "backup", str(dest), "--store",
                            str(fresh_store)], capture_output=True, text=True, timeout=300,
                           env=child_env(tmp_path, **{faults.ENV: f"{point}:die"}),
                           check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr
    healthy(fresh_store)
    assert stored(fresh_store) == before
    if point == "backup.copied":       # never renamed: no backup under its name
        assert not dest.exists()
    else:                              # renamed whole: it restores
        target = tmp_path / "restored"
        assert invoke("store", "restore", dest, "--store", target).exit_code == 0
        assert stored(target) == before
    # the killed backup's temporary folder is cleared by the check, and a new one works
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".backup-part")]
    again = invoke("store", "backup", tmp_path / "backup-2", "--store", fresh_store)
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("point,expect", [("restore.added", "old"), ("restore.swapped", "new")])
def test_a_restore_killed_before_or_after_its_rename(tmp_path: Path, point: str,
                                                    expect: str) -> None:
    live, other = tmp_path / "live", tmp_path / "other"
    for store, i in ((live, 1), (other, 2)):
        assert invoke("upload", csv_variant(tmp_path, i), "--dataset", DATASET, "--store",
                      store, "--as-of", "2024-03-01").exit_code == 0
    assert invoke("store", "backup", tmp_path / "new", "--store", other).exit_code == 0
    versions = {"old": stored(live), "new": stored(other)}
    child = subprocess.run([impact_exe(), "store", "restore", str(tmp_path / "new"),
                            "--store", str(live), "--force"], capture_output=True, text=True,
                           timeout=300, check=False,
                           env=child_env(tmp_path, **{faults.ENV: f"{point}:die"}))
    assert child.returncode == -signal.SIGKILL, child.stderr
    resumed = invoke("store", "restore", "--resume", "--store", live)
    assert resumed.exit_code == 0, resumed.output
    assert stored(live) == versions[expect]
    healthy(live)


@pytest.mark.slow
def test_a_backup_waits_for_uploads_paused_mid_write_and_holds_what_they_reported(
        fresh_store: Path, tmp_path: Path) -> None:
    """Three uploads paused with their files stored but no rows yet (holding the store's
    lock), three more finished: a backup begun then waits for the paused ones and holds
    every version, the paused ones' too."""
    assert invoke("upload", csv_variant(tmp_path, 0), "--dataset", DATASET, "--store",
                  fresh_store, "--as-of", "2024-03-01").exit_code == 0
    gates = [tmp_path / f"go-{i}" for i in range(3)]
    paused = [upload_child(tmp_path, fresh_store, csv_variant(tmp_path, 1 + i),
                           f"upload.file-stored:pause:{gate}") for i, gate in enumerate(gates)]
    for child, gate in zip(paused, gates):
        wait_for(gate.with_name(gate.name + ".reached"), child)
    done = [upload_child(tmp_path, fresh_store, csv_variant(tmp_path, 4 + i), "")
            for i in range(3)]
    said = [json.loads(c.communicate(timeout=300)[0])["version"]["sha256"] for c in done]
    assert all(c.poll() is None for c in paused)       # still mid-write
    result: list[upkeep.BackupResult] = []

    def backup() -> None:
        with Store(fresh_store, lock=None) as store:
            result.append(upkeep.backup_store(store, tmp_path / "backup"))

    thread = threading.Thread(target=backup)
    thread.start()
    for gate in gates:
        gate.touch()
    outs = [c.communicate(timeout=300) for c in paused]
    thread.join(timeout=300)
    assert all(c.returncode == 0 for c in paused), outs
    said += [json.loads(out)["version"]["sha256"] for out, _ in outs]
    assert len(result) == 1 and result[0].problems == []
    target = tmp_path / "restored"
    assert invoke("store", "restore", tmp_path / "backup", "--store", target).exit_code == 0
    healthy(target)
    assert {sha for _, sha in stored(target)} == {helpers.sha256(csv_variant(tmp_path, 0)),
                                                  *said}
    assert [n for n, _ in stored(target)] == list(range(1, 8))


_BUILD = """
import sys
from reports.services import builds
from reports.store.db import Store
from reports.store.jobs import Jobs
with Store(sys.argv[1]) as store:
    builds.run_one(store, Jobs(store))
"""


@pytest.mark.parametrize("point", ["build.claimed", "build.finishing"])
def test_a_builder_killed_at_each_point_leaves_its_job_to_be_taken_again(
        tmp_path: Path, point: str) -> None:
    root = tmp_path / "store"
    with Store(root) as store:
        datasets.upload(store, csv_variant(tmp_path, 0), DATASET,
                        as_of=date(2024, 3, 1))
        v = store.version(DATASET, 1)
        first = min(Jobs(store).of_version(DATASET, 1, v.sha256).values(), key=lambda j: j.id)
    child = subprocess.run([sys.executable, "-c", _BUILD, str(root)], cwd=ROOT,
                           capture_output=True, text=True, timeout=300, check=False,
                           env=child_env(tmp_path, **{faults.ENV: f"{point}:die"}))
    assert child.returncode == -signal.SIGKILL, child.stderr
    healthy(root)
    with Store(root) as store:
        jobs = Jobs(store)
        dead = jobs.of_version(DATASET, 1, v.sha256)[first.output]
        assert dead.state == RUNNING and dead.attempts == 1     # claimed, never ended
        assert {j.state for j in jobs.of_version(DATASET, 1, v.sha256).values()
                if j.id != first.id} == {QUEUED}
        # nobody takes it while its lease runs; once it has run out, it is built again
        assert jobs.claim("other", only=(DATASET, 1, v.sha256, first.output)) is None
        later = dead.lease_until + timedelta(seconds=1)
        again = jobs.claim("other", now=later, only=(DATASET, 1, v.sha256, first.output))
        assert again is not None and again.attempts == 2
        builds.build_output(str(root), None, DATASET, 1, first.output)
        jobs.finish(again, "other")
        assert jobs.of_version(DATASET, 1, v.sha256)[first.output].state == DONE
    assert (builds.folder_of(root, v) / first.output).is_file()


@pytest.mark.parametrize("value", ["bogus", "upload.inserted:explode", "nowhere:die",
                                   "upload.inserted#0:die", "upload.inserted:pause"])
def test_a_malformed_fault_hook_is_one_line_and_nothing_runs(tmp_path: Path, value: str) -> None:
    """A mistyped $IMPACT_FAULT (a test hook) stops the command before it does anything,
    with one line that says what the variable must look like: no traceback."""
    store = tmp_path / "store"
    done = subprocess.run([impact_exe(), "upload", str(csv_variant(tmp_path, 0)), "--dataset",
                           DATASET, "--store", str(store), "--as-of", "2024-03-01"],
                          capture_output=True, text=True, timeout=120,
                          env=child_env(tmp_path, **{faults.ENV: value}))
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"Error: ${faults.ENV}: ") and "POINT[#N]:die" in done.stderr
    assert not store.exists()


def test_the_fault_hook_reads_each_well_formed_value() -> None:
    assert faults._load("") == (None, None)
    assert faults._load("upload.inserted#2:die, backup.copied:pause:/tmp/x") == (
        {"upload.inserted": ("die", "", 2), "backup.copied": ("pause", "/tmp/x", 0)}, None)
    wanted, problem = faults._load("upload.inserted:die,bogus")
    assert wanted is None and problem is not None and "'bogus'" in problem
