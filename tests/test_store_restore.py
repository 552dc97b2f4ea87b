"""Issue 24: a restore is atomic, an interrupted one is found and finished (or rolled
back), and one store-wide lock keeps restores and uploads apart.

Kills are deterministic where they can be: $IMPACT_TEST_KILL_AT makes `impact store
restore` SIGKILL itself at a named step (`upkeep.STEPS`); the rest are at seeded random
moments.  Every test counts what it killed, and proves nothing by timing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from reports.services import upkeep
from reports.store.db import RESTORE_MARKER, Store

from . import store_helpers as helpers
from .store_helpers import child_env, csv_variant, impact_exe, invoke

isolated_store_env = helpers.isolated_store_env

RESTORE_KILLS = 40


def upload(store: Path, path: Path, dataset: str) -> None:
    result = invoke("upload", path, "--dataset", dataset, "--store", store, "--as-of",
                    "2024-03-01")
    assert result.exit_code == 0, result.output


def listed(store: Path) -> list[tuple[str, int]] | str:
    """What `impact datasets` lists: (name, versions) of each, or its error line."""
    result = invoke("datasets", "--store", store, "--format", "json")
    if result.exit_code != 0:
        return result.stderr.strip()
    assert "Created a new store" not in result.stderr
    return sorted((d["dataset"], d["versions"]) for d in json.loads(result.stdout))


def make_backups(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A live store (datasets 'old-a' and 'old-b'), and two backups: of the live store
    ('old'), and of another store ('new', dataset 'new-c' with two versions)."""
    live, other = tmp_path / "live", tmp_path / "other"
    upload(live, csv_variant(tmp_path, 1), "old-a")
    upload(live, csv_variant(tmp_path, 2), "old-b")
    upload(other, csv_variant(tmp_path, 3), "new-c")
    upload(other, csv_variant(tmp_path, 4), "new-c")
    for store, name in ((live, "old"), (other, "new")):
        assert invoke("store", "backup", tmp_path / name, "--store", store).exit_code == 0
    return live, tmp_path / "old", tmp_path / "new"


def restore_child(tmp_path: Path, src: Path, store: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([impact_exe(), "store", "restore", str(src), "--store", str(store),
                             "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=child_env(tmp_path, **env))


def test_a_restore_killed_at_any_moment_leaves_the_old_or_the_new_store(
        tmp_path: Path) -> None:
    rng = random.Random(24)
    live, old, new = make_backups(tmp_path)
    states = {"old": [("old-a", 1), ("old-b", 1)], "new": [("new-c", 2)]}
    # how long one whole restore takes here: timed kills are spread over that span
    started = time.monotonic()
    whole = restore_child(tmp_path, old, live)
    assert whole.wait(timeout=120) == 0, whole.communicate()
    span = time.monotonic() - started
    now = "old"
    killed: dict[str, int] = {}
    finished = rolled_back = 0
    for i in range(RESTORE_KILLS):
        want = "new" if now == "old" else "old"
        at = rng.choice([*upkeep.STEPS, "timed", "timed"])
        env = {upkeep.KILL_ENV: at} if at != "timed" else {}
        child = restore_child(tmp_path, new if want == "new" else old, live, **env)
        if at == "timed":
            try:
                child.wait(timeout=rng.uniform(0.1, span))
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=120)
        if child.returncode == -signal.SIGKILL:
            killed[at] = killed.get(at, 0) + 1
        else:
            assert child.returncode == 0, err
        seen = listed(live)
        assert seen in (states["old"], states["new"]), f"kill {i} at {at}: {seen}"
        if (live / RESTORE_MARKER).exists():
            # the next command names it, and changes nothing until it is finished
            refused = invoke("upload", csv_variant(tmp_path, 9), "--dataset", "late",
                             "--store", live)
            assert refused.exit_code == 1 and "--resume" in refused.stderr
            assert "Warning: a restore" in invoke("datasets", "--store", live).stderr
            resumed = invoke("store", "restore", "--resume", "--store", live)
            assert resumed.exit_code == 0, resumed.output
            finished += "finished" in resumed.stdout
            rolled_back += "rolled back" in resumed.stdout
        assert not (live / RESTORE_MARKER).exists()
        check = upkeep.check_store(live)
        assert check.healthy, [p.message for p in check.problems]
        assert not [n for n in check.notes if n.kind == "orphan-file"], check.text()
        now = "new" if listed(live) == states["new"] else "old"
        assert not [p for p in live.iterdir() if p.name.endswith(".restore-part")]
    total = sum(killed.values())
    assert total >= RESTORE_KILLS * 3 // 4, f"only {total} restores were killed: {killed}"
    assert set(upkeep.STEPS) <= set(killed), f"not every step was interrupted: {killed}"
    print(f"\n{total} of {RESTORE_KILLS} restores killed ({killed}); after each the store "
          f"was the old or the new one; --resume finished {finished} and rolled back "
          f"{rolled_back}; store check healthy after each")


def test_a_restore_killed_before_its_swap_is_rolled_back_and_after_it_finished(
        tmp_path: Path) -> None:
    live, _, new = make_backups(tmp_path)
    for step, expect, how in (("marked", [("old-a", 1), ("old-b", 1)], "rolled back"),
                              ("swapped", [("new-c", 2)], "finished")):
        child = restore_child(tmp_path, new, live, **{upkeep.KILL_ENV: step})
        assert child.wait(timeout=120) == -signal.SIGKILL
        assert listed(live) == expect
        resumed = invoke("store", "restore", "--resume", "--store", live)
        assert resumed.exit_code == 0 and how in resumed.stdout, resumed.output
        assert listed(live) == expect and upkeep.check_store(live).healthy


def test_a_restore_into_a_new_folder_killed_creates_nothing_by_accident(
        tmp_path: Path) -> None:
    _, _, new = make_backups(tmp_path)
    target = tmp_path / "fresh"
    child = restore_child(tmp_path, new, target, **{upkeep.KILL_ENV: "added"})
    assert child.wait(timeout=120) == -signal.SIGKILL
    for args in (["datasets"], ["upload", csv_variant(tmp_path, 7), "--dataset", "x"]):
        result = invoke(*args, "--store", target)
        assert result.exit_code == 1, result.output
        [line] = result.stderr.splitlines()
        assert "--resume" in line
    assert not (target / "impact.db").exists()
    assert invoke("store", "restore", "--resume", "--store", target).exit_code == 0
    assert listed(target) == [("new-c", 2)]


def test_a_symlinked_store_is_restored_into_the_links_target(tmp_path: Path) -> None:
    live, _, new = make_backups(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(live)
    result = invoke("store", "restore", new, "--store", link, "--force")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(live)
    assert listed(live) == [("new-c", 2)] == listed(link)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("live.replaced-")]
    assert len(kept) == 1 and len(list((kept[0] / "files").iterdir())) == 2


def test_a_restore_works_in_place_so_a_mount_point_can_be_restored(tmp_path: Path,
                                                                   monkeypatch) -> None:
    """A mount point cannot be renamed (EBUSY): the restore must never rename the store
    folder itself.  Renaming it is made to fail as a mount point's would."""
    live, _, new = make_backups(tmp_path)
    real_rename, real_replace = os.rename, os.replace

    def no_moving_the_store(a, b, *args, **kwargs):
        if Path(a) == live or Path(b) == live:
            raise OSError(16, "Device or resource busy", str(a))
        return real_rename(a, b, *args, **kwargs)

    monkeypatch.setattr(os, "rename", no_moving_the_store)
    monkeypatch.setattr(os, "replace", lambda a, b, *r, **k: (
        no_moving_the_store(a, b) if Path(a) == live or Path(b) == live
        else real_replace(a, b, *r, **k)))
    result = invoke("store", "restore", new, "--store", live, "--force")
    assert result.exit_code == 0, result.output
    assert listed(live) == [("new-c", 2)]


def test_resume_without_an_interrupted_restore_is_one_line(tmp_path: Path) -> None:
    live, _, _ = make_backups(tmp_path)
    result = invoke("store", "restore", "--resume", "--store", live)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "no interrupted restore" in result.stderr
    assert invoke("store", "restore", "--store", live).exit_code == 2


# --------------------------------------------------------------------------
# the store-wide lock


UPLOADS = 10


def test_uploads_during_restores_and_backups_are_stored_and_kept_or_refused(
        tmp_path: Path) -> None:
    """10 uploads while 3 restores and 3 backups run.  The first restore holds the lock
    (it pauses inside it) when the uploads start, so they must wait for it.  Every upload
    that says 'stored' is in the final store, or in the copy kept by a restore that came
    after it (a restore replaces the store by design, and keeps the old one); every
    other one was refused in one line.  None is 'internal error', none both stored and
    lost."""
    live, old, new = make_backups(tmp_path)
    env = child_env(tmp_path)
    first = restore_child(tmp_path, new, live, **{upkeep.PAUSE_ENV: "staged=3"})
    lock = live / "impact.lock"
    deadline = time.monotonic() + 120
    while "impact store restore" not in (lock.read_text() if lock.exists() else ""):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.01)
    uploads = [subprocess.Popen([impact_exe(), "upload", str(csv_variant(tmp_path, 100 + i)),
                                 "--dataset", "during", "--store", str(live), "--as-of",
                                 "2024-03-01", "--format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env) for i in range(UPLOADS)]
    others = [restore_child(tmp_path, (old, new)[i % 2], live) for i in range(2)]
    backups = [subprocess.Popen([impact_exe(), "store", "backup", str(tmp_path / f"b{i}"),
                                 "--store", str(live)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env) for i in range(3)]
    for proc in [first, *others, *backups]:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    stored, refused = [], []
    for proc in uploads:
        out, err = proc.communicate(timeout=300)
        assert "internal error" not in err
        if proc.returncode == 0:
            stored.append(json.loads(out)["version"]["sha256"])
        else:
            assert proc.returncode == 1 and len(err.splitlines()) == 1, err
            refused.append(err)
    with Store(live, create=False) as store:
        final = {v.sha256 for d in store.datasets() for v in store.versions(d.name)}
    kept: set[str] = set()
    for copy in tmp_path.glob("live.replaced-*"):
        kept |= {p.name.split(".")[0] for p in (copy / "files").iterdir()}
    lost = [sha for sha in stored if sha not in final and sha not in kept]
    assert not lost, f"{len(lost)} uploads said 'stored' and are nowhere"
    assert upkeep.check_store(live).healthy
    assert len(stored) + len(refused) == UPLOADS
    print(f"\n{len(stored)} uploads stored ({len(set(stored) & final)} in the final store, "
          f"the rest in copies kept by later restores), {len(refused)} refused")


def test_a_command_that_cannot_get_the_lock_waits_then_says_what_holds_it(
        tmp_path: Path) -> None:
    live, _, new = make_backups(tmp_path)
    holder = restore_child(tmp_path, new, live, **{upkeep.PAUSE_ENV: "staged=30"})
    lock = live / "impact.lock"
    deadline = time.monotonic() + 120
    while "impact store restore" not in (lock.read_text() if lock.exists() else ""):
        assert holder.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    try:
        result = subprocess.run([impact_exe(), "upload", str(csv_variant(tmp_path, 5)),
                                 "--dataset", "x", "--store", str(live)],
                                capture_output=True, text=True, timeout=120,
                                env=child_env(tmp_path, IMPACT_LOCK_WAIT="0.5"))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "busy" in line and "impact store restore (process" in line, line
    # the killed holder's lock is gone with it
    assert invoke("datasets", "--store", live).exit_code == 0


def test_a_shared_taker_waits_for_an_exclusive_holder(tmp_path: Path) -> None:
    """The lock itself: a shared taker cannot get it while another process holds it
    exclusively (and is told who), and gets it once that one lets go."""
    import sys

    from reports.model.errors import StoreError
    from reports.store.lock import store_lock

    upload(tmp_path / "s", csv_variant(tmp_path, 1), "a")
    code = ("import sys; from pathlib import Path; from reports.store.lock import store_lock\n"
            "with store_lock(Path(sys.argv[1]), 'exclusive', what='a test'):\n"
            "    print('held', flush=True); sys.stdin.readline()\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "s")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    with pytest.raises(StoreError, match=r"a test \(process"):
        with store_lock(tmp_path / "s", "shared", wait=0.2):
            pass
    holder.communicate("\n", timeout=60)
    with store_lock(tmp_path / "s", "shared", wait=5):
        pass


def test_a_long_lived_store_sees_the_restored_database(tmp_path: Path) -> None:
    """The portal keeps its Store (and pooled SQLite connections) for its whole life and
    takes the lock only per upload and job: after a restore renames a new database over
    impact.db, its next query reads the new one, not the old file it had open."""
    live, _, new = make_backups(tmp_path)
    with Store(live, create=False, lock=None) as portal:
        assert sorted(d.name for d in portal.datasets()) == ["old-a", "old-b"]
        child = restore_child(tmp_path, new, live)
        assert child.wait(timeout=120) == 0, child.communicate()
        assert [(d.name, d.versions) for d in portal.datasets()] == [("new-c", 2)]
