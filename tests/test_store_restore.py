"""Issue 24: a restore is atomic, an interrupted one is found and finished (or rolled
back), and one store-wide lock keeps restores and uploads apart.

Kills are deterministic where they can be: $IMPACT_FAULT (`reports.store.faults`) makes
`impact store restore` SIGKILL itself, or wait, at a named step (`upkeep.STEPS`,
`die_at` and `pause_at` below); the rest are at seeded random
moments, which prove safety only (whether a timed kill lands depends on the machine's
speed, so no test counts them).  Nothing here proves anything by timing.
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
from reports.store import faults, transfer
from reports.store.db import RESTORE_MARKER, Store

from . import store_helpers as helpers
from .store_helpers import child_env, csv_variant, impact_exe, invoke

isolated_store_env = helpers.isolated_store_env

RESTORE_KILLS = 40


def on(db: str | None) -> list[str]:
    """The --db option naming `db`, if the store's tables are on PostgreSQL."""
    return ["--db", db] if db else []


def upload(store: Path, path: Path, dataset: str, db: str | None = None) -> None:
    result = invoke("upload", path, "--dataset", dataset, "--store", store, "--as-of",
                    "2024-03-01", *on(db))
    assert result.exit_code == 0, result.output


def listed(store: Path, db: str | None = None) -> list[tuple[str, int]] | str:
    """What `impact datasets` lists: (name, versions) of each, or its error line."""
    result = invoke("datasets", "--store", store, "--format", "json", *on(db))
    if result.exit_code != 0:
        return result.stderr.strip()
    assert "Created a new store" not in result.stderr
    return sorted((d["dataset"], d["versions"]) for d in json.loads(result.stdout))


def make_backups(tmp_path: Path, db: str | None = None,
                 other_db: str | None = None) -> tuple[Path, Path, Path]:
    """A live store (datasets 'old-a' and 'old-b'; its tables in `db` if given), and two
    backups: of the live store ('old'), and of another store ('new', dataset 'new-c'
    with two versions; its tables in `other_db`)."""
    live, other = tmp_path / "live", tmp_path / "other"
    upload(live, csv_variant(tmp_path, 1), "old-a", db)
    upload(live, csv_variant(tmp_path, 2), "old-b", db)
    upload(other, csv_variant(tmp_path, 3), "new-c", other_db)
    upload(other, csv_variant(tmp_path, 4), "new-c", other_db)
    for store, name, where in ((live, "old", db), (other, "new", other_db)):
        result = invoke("store", "backup", tmp_path / name, "--store", store, *on(where))
        assert result.exit_code == 0, result.output
    return live, tmp_path / "old", tmp_path / "new"


def die_at(step: str, nth: int = 0) -> dict[str, str]:
    """The child's environment to SIGKILL itself at restore step `step` (the `nth` time
    it reaches it; 0: the first)."""
    return {faults.ENV: f"restore.{step}{f'#{nth}' if nth else ''}:die"}


def pause_at(step: str, gate: Path) -> dict[str, str]:
    """The child's environment to wait at restore step `step`, holding what it holds,
    until `gate` exists (it makes `gate`.reached when it gets there)."""
    return {faults.ENV: f"restore.{step}:pause:{gate}"}


def restore_child(tmp_path: Path, src: Path, store: Path, db: str | None = None,
                  **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([impact_exe(), "store", "restore", str(src), "--store", str(store),
                             "--force", *on(db)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env(tmp_path, **env))


@pytest.mark.slow
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
    chosen: dict[str, int] = {}
    finished = rolled_back = 0
    for i in range(RESTORE_KILLS):
        want = "new" if now == "old" else "old"
        at = rng.choice([*upkeep.STEPS, "timed", "timed"])
        env = die_at(at) if at != "timed" else {}
        chosen[at] = chosen.get(at, 0) + 1
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
    # every kill at a named step happened (the seed chose each step at least once); the
    # timed ones may or may not have landed
    assert {s: killed.get(s, 0) for s in upkeep.STEPS} == {s: chosen.get(s, 0)
                                                           for s in upkeep.STEPS}
    assert set(upkeep.STEPS) <= set(chosen), f"not every step was chosen: {chosen}"
    print(f"\n{total} of {RESTORE_KILLS} restores killed ({killed}); after each the store "
          f"was the old or the new one; --resume finished {finished} and rolled back "
          f"{rolled_back}; store check healthy after each")


@pytest.mark.slow
def test_a_restore_killed_before_its_swap_is_rolled_back_and_after_it_finished(
        tmp_path: Path) -> None:
    live, _, new = make_backups(tmp_path)
    for step, expect, how in (("marked", [("old-a", 1), ("old-b", 1)], "rolled back"),
                              ("swapped", [("new-c", 2)], "finished")):
        child = restore_child(tmp_path, new, live, **die_at(step))
        assert child.wait(timeout=120) == -signal.SIGKILL
        assert listed(live) == expect
        resumed = invoke("store", "restore", "--resume", "--store", live)
        assert resumed.exit_code == 0 and how in resumed.stdout, resumed.output
        assert listed(live) == expect and upkeep.check_store(live).healthy


def test_a_restore_into_a_new_folder_killed_creates_nothing_by_accident(
        tmp_path: Path) -> None:
    _, _, new = make_backups(tmp_path)
    target = tmp_path / "fresh"
    child = restore_child(tmp_path, new, target, **die_at("added"))
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
# on PostgreSQL: the tables are replaced in one transaction

PG_RESTORE_KILLS = 20
BEFORE_COMMIT = ("staged", "kept", "marked", "adding", "added", "loading", "committing")


@pytest.mark.slow
def test_a_postgresql_restore_killed_at_any_moment_leaves_the_old_or_the_new_store(
        tmp_path: Path, pg_server) -> None:
    """20 restores of a store on PostgreSQL, each SIGKILLed at a point chosen by counting
    what it has done: a named step of `upkeep.PG_STEPS`, and for 'adding' the Nth file
    added, for 'loading' the Nth table loaded inside the one transaction (every step is
    chosen at least once, then at random).  A kill before the COMMIT must leave the old
    store, one after it the new; `impact datasets` lists exactly one of them after
    every kill (never 'No datasets', never a new store); `--resume` rolls back or
    finishes; `store check` is then healthy."""
    rng = random.Random(2024)
    db, other_db = pg_server.new_database()[1], pg_server.new_database()[1]
    live, old, new = make_backups(tmp_path, db, other_db)
    states = {"old": [("old-a", 1), ("old-b", 1)], "new": [("new-c", 2)]}
    tables = len(transfer.all_tables().sorted_tables)
    now = "old"
    killed: dict[str, int] = {}
    finished = rolled_back = 0
    points = list(upkeep.PG_STEPS)
    points += [rng.choice(upkeep.PG_STEPS) for _ in range(PG_RESTORE_KILLS - len(points))]
    for i, step in enumerate(points):
        nth = rng.randint(1, tables) if step == "loading" else rng.randint(1, 2) \
            if step == "adding" else 1          # each backup adds 2 files
        want = "new" if now == "old" else "old"
        child = restore_child(tmp_path, new if want == "new" else old, live, db,
                              **die_at(step, nth))
        out, err = child.communicate(timeout=120)
        assert child.returncode == -signal.SIGKILL, f"{step}:{nth} was not reached: {err}"
        killed[step] = killed.get(step, 0) + 1
        expect = now if step in BEFORE_COMMIT else want
        seen = listed(live, db)
        assert seen == states[expect], f"kill {i} at {step}:{nth}: {seen}"
        if (live / RESTORE_MARKER).exists():
            refused = invoke("upload", csv_variant(tmp_path, 9), "--dataset", "late",
                             "--store", live, "--db", db)
            assert refused.exit_code == 1 and "--resume" in refused.stderr
            resumed = invoke("store", "restore", "--resume", "--store", live, "--db", db)
            assert resumed.exit_code == 0, resumed.output
            how = "rolled back" if step in BEFORE_COMMIT else "finished"
            assert how in resumed.stdout, (step, resumed.stdout)
            finished += how == "finished"
            rolled_back += how == "rolled back"
        assert not (live / RESTORE_MARKER).exists()
        assert listed(live, db) == states[expect]
        check = upkeep.check_store(live, db)
        assert check.healthy, [p.message for p in check.problems]
        assert not [n for n in check.notes if n.kind == "orphan-file"], check.text()
        assert not [p for p in live.iterdir() if p.name.endswith(".restore-part")]
        assert not (live / "impact.db").exists()         # nothing went to SQLite
        now = expect
    total = sum(killed.values())
    assert total == PG_RESTORE_KILLS and set(upkeep.PG_STEPS) <= set(killed), killed
    # the store goes on: an upload after all that is numbered after the restored ones
    upload(live, csv_variant(tmp_path, 10), "old-a" if now == "old" else "new-c", db)
    # a copy kept of a replaced store holds its tables as an SQLite file: restorable
    kept = sorted(tmp_path.glob("live.replaced-*"))
    assert kept and not (kept[-1] / "impact.db").is_symlink()
    result = invoke("store", "restore", kept[-1], "--store", tmp_path / "from-kept")
    assert result.exit_code == 0, result.output
    assert listed(tmp_path / "from-kept") in (states["old"], states["new"])
    print(f"\n{total} of {PG_RESTORE_KILLS} PostgreSQL restores killed ({killed}); after "
          f"each the store was the old one (kills before the COMMIT) or the new one (after); "
          f"--resume finished {finished} and rolled back {rolled_back}; store check healthy "
          f"after each")


@pytest.mark.slow
def test_a_postgresql_restore_is_one_transaction_readers_see_the_old_store_until_commit(
        tmp_path: Path, pg_server) -> None:
    """The restore is held just before its COMMIT (every table already deleted and loaded
    inside its transaction): a reader that does not take the store's lock (the portal's
    pages) still sees the old store, whole; a command that does waits, and is told
    what holds it; after the COMMIT the same reader sees the new store."""
    db, other_db = pg_server.new_database()[1], pg_server.new_database()[1]
    live, _, new = make_backups(tmp_path, db, other_db)
    gate = tmp_path / "commit-now"
    child = restore_child(tmp_path, new, live, db, **pause_at("committing", gate))
    with Store(live, url=db, create=False, lock=None) as portal:
        deadline = time.monotonic() + 120
        while not _restore_transaction_open(db):
            assert child.poll() is None and time.monotonic() < deadline, child.communicate()
            time.sleep(0.02)
        assert sorted((d.name, d.versions) for d in portal.datasets()) == [
            ("old-a", 1), ("old-b", 1)]
        waiting = subprocess.run([impact_exe(), "datasets", "--store", str(live), "--db", db],
                                 capture_output=True, text=True, timeout=120,
                                 env=child_env(tmp_path, IMPACT_LOCK_WAIT="0.2"))
        assert waiting.returncode == 1 and "impact store restore (process" in waiting.stderr
        gate.touch()
        assert child.wait(timeout=120) == 0, child.communicate()
        assert [(d.name, d.versions) for d in portal.datasets()] == [("new-c", 2)]


def _restore_transaction_open(db: str) -> bool:
    """Whether a restore's transaction holds its advisory lock on `db` (it takes it first)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objid = :key"), {"key": transfer.RESTORE_KEY}).scalar())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_postgresql_restore_into_a_new_folder_killed_creates_nothing_by_accident(
        tmp_path: Path, pg_server) -> None:
    _, _, new = make_backups(tmp_path)
    db = pg_server.new_database()[1]
    target = tmp_path / "fresh"
    child = restore_child(tmp_path, new, target, db, **die_at("loading", 3))
    assert child.wait(timeout=120) == -signal.SIGKILL
    for args in (["datasets"], ["upload", csv_variant(tmp_path, 7), "--dataset", "x"]):
        result = invoke(*args, "--store", target, "--db", db)
        assert result.exit_code == 1, result.output
        [line] = result.stderr.splitlines()
        assert "--resume" in line
    resumed = invoke("store", "restore", "--resume", "--store", target)
    assert resumed.exit_code == 1 and "--db" in resumed.stderr      # which database?
    resumed = invoke("store", "restore", "--resume", "--store", target, "--db", db)
    assert resumed.exit_code == 0 and "finished" in resumed.stdout, resumed.output
    assert listed(target, db) == [("new-c", 2)]
    assert not (target / "impact.db").exists()


# --------------------------------------------------------------------------
# the store-wide lock


UPLOADS = 10
IMPATIENT = 5          # of them with IMPACT_LOCK_WAIT=0.2: refused while a restore holds it


def databases(backend: str, request: pytest.FixtureRequest) -> tuple[str | None, str | None]:
    """The databases of the live store and of the other one: (None, None) on SQLite, two
    new databases of the throwaway server on PostgreSQL."""
    if backend == "sqlite":
        return None, None
    server = request.getfixturevalue("pg_server")
    return server.new_database()[1], server.new_database()[1]


def wait_for_holder(lock: Path, child: subprocess.Popen[str]) -> None:
    """Until `child` (a restore) holds the store's lock, as its lock file says."""
    deadline = time.monotonic() + 120
    while "impact store restore" not in (lock.read_text() if lock.exists() else ""):
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_uploads_during_restores_and_backups_are_stored_and_kept_or_refused(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    """10 uploads while 3 restores and 3 backups run.  The first restore holds the lock
    (paused inside it until the test lets it go) when the uploads start.  Five uploads
    may wait only 0.2 s ($IMPACT_LOCK_WAIT): the restore is let go only once all five
    have ended, so each of them must have been refused, whatever the machine's speed;
    the other five wait (120 s) and then race the other restores and backups.  Every
    upload ends 'stored' or refused in one line naming what holds the lock; a refused
    one is nowhere (not in the store's database, its files/ or any kept copy); one that
    says 'stored' is in the final store, or in the copy kept by a restore that came
    after it (a restore replaces the store by design, and keeps the old one).  None is
    'internal error', none both stored and lost."""
    db, other_db = databases(backend, request)
    live, old, new = make_backups(tmp_path, db, other_db)
    gate = tmp_path / "let-the-restore-go"
    first = restore_child(tmp_path, new, live, db, **pause_at("staged", gate))
    wait_for_holder(live / "impact.lock", first)
    files = [csv_variant(tmp_path, 100 + i) for i in range(UPLOADS)]

    def start(path: Path, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen([impact_exe(), "upload", str(path), "--dataset", "during",
                                 "--store", str(live), "--as-of", "2024-03-01", "--format",
                                 "json", *on(db)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=child_env(tmp_path, **env))
    uploads = [start(path, IMPACT_LOCK_WAIT="0.2") for path in files[:IMPATIENT]]
    uploads += [start(path) for path in files[IMPATIENT:]]
    for proc in uploads[:IMPATIENT]:
        proc.wait(timeout=300)       # while the first restore still holds the lock
    others = [restore_child(tmp_path, (old, new)[i % 2], live, db) for i in range(2)]
    backups = [subprocess.Popen([impact_exe(), "store", "backup", str(tmp_path / f"b{i}"),
                                 "--store", str(live), *on(db)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=child_env(tmp_path))
               for i in range(3)]
    gate.touch()
    for proc in [first, *others, *backups]:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    stored: list[str] = []
    refused: list[str] = []
    for i, proc in enumerate(uploads):
        out, err = proc.communicate(timeout=300)
        assert "internal error" not in err
        if proc.returncode == 0:
            stored.append(json.loads(out)["version"]["sha256"])
        else:
            [line] = err.splitlines()
            assert proc.returncode == 1 and "is busy" in line and "holds it" in line, err
            refused.append(helpers.sha256(files[i]))
        if i < IMPATIENT:            # it lived and died while the restore held the lock
            assert proc.returncode == 1 and "impact store restore (process" in err, err
    with Store(live, url=db or "embedded", create=False) as store:
        final = {v.sha256 for d in store.datasets() for v in store.versions(d.name)}
    in_files = {p.name.split(".")[0] for p in (live / "files").iterdir()}
    kept: set[str] = set()
    for copy in tmp_path.glob("live.replaced-*"):
        kept |= {p.name.split(".")[0] for p in (copy / "files").iterdir()}
    lost = [sha for sha in stored if sha not in final and sha not in kept]
    assert not lost, f"{len(lost)} uploads said 'stored' and are nowhere"
    assert not set(refused) & (final | in_files | kept), "a refused upload was stored"
    assert upkeep.check_store(live, db).healthy
    assert len(stored) + len(refused) == UPLOADS and len(refused) >= IMPATIENT
    print(f"\n{backend}: {len(stored)} uploads stored ({len(set(stored) & final)} in the final "
          f"store, the rest in copies kept by later restores), {len(refused)} refused "
          f"({IMPATIENT} by design)")


HOLD = ("import sys; from pathlib import Path; from reports.store.lock import store_lock\n"
        "db = sys.argv[3] if len(sys.argv) > 3 else None\n"
        "with store_lock(Path(sys.argv[1]), sys.argv[2], what='impact store restore', db=db):\n"
        "    print('held', flush=True); sys.stdin.readline()\n")


def hold(root: Path, mode: str, db: str | None = None) -> subprocess.Popen[str]:
    """A process that holds the store's lock in `mode` until told (a line on its stdin),
    naming itself as a restore would."""
    import sys

    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(root), mode, *([db] if db else [])],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_upload_refused_for_the_lock_is_not_stored(tmp_path: Path, backend: str,
                                                      request: pytest.FixtureRequest) -> None:
    """The refusal path, forced: the test holds the lock exclusively for the upload's whole
    life, so the upload must be refused (whatever the machine's speed), in one line naming
    the holder; afterwards the store holds nothing of it."""
    db, _ = databases(backend, request)
    live = tmp_path / "live"
    upload(live, csv_variant(tmp_path, 1), "a", db)
    holder = hold(live, "exclusive", db)
    try:
        result = subprocess.run([impact_exe(), "upload", str(csv_variant(tmp_path, 2)),
                                 "--dataset", "a", "--store", str(live), *on(db)],
                                capture_output=True, text=True, timeout=120,
                                env=child_env(tmp_path, IMPACT_LOCK_WAIT="0.3"))
    finally:
        holder.communicate("\n", timeout=60)
    assert result.returncode == 1, result.stdout
    [line] = result.stderr.splitlines()
    assert "is busy: impact store restore (process" in line and "waited 0.3 s" in line, line
    assert listed(live, db) == [("a", 1)]
    assert [p.name.split(".")[0] for p in (live / "files").iterdir()] == \
        [helpers.sha256(csv_variant(tmp_path, 1))]
    assert upkeep.check_store(live, db).healthy


def test_the_postgresql_lock_is_an_advisory_lock_on_the_database(tmp_path: Path,
                                                                 pg_url: str) -> None:
    """Two folders (as two machines would have: each its own flock) on one database keep
    apart all the same: the advisory lock, exclusive against shared and shared with
    shared, named from the server when it is not free; a killed holder's goes with it."""
    from reports.model.errors import StoreError
    from reports.store.lock import store_lock

    here, there = tmp_path / "machine-a", tmp_path / "machine-b"
    here.mkdir()
    there.mkdir()
    holder = hold(here, "exclusive", pg_url)
    with pytest.raises(StoreError, match=r"impact store restore \(process \d+\) holds it in "
                                         r"its PostgreSQL database"):
        with store_lock(there, "shared", wait=0.2, db=pg_url):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    with store_lock(there, "exclusive", wait=60, db=pg_url):     # the server let it go
        pass
    holder = hold(here, "shared", pg_url)
    try:
        with store_lock(there, "shared", wait=5, db=pg_url):    # shared with shared
            pass
        with pytest.raises(StoreError, match=r"other impact commands are using it "
                                             r"\(impact store restore \(process"):
            with store_lock(there, "exclusive", wait=0.2, db=pg_url):
                pass
    finally:
        holder.communicate("\n", timeout=60)
    with store_lock(there, "exclusive", wait=60, db=pg_url):
        pass


@pytest.mark.slow
def test_a_command_that_cannot_get_the_lock_waits_then_says_what_holds_it(
        tmp_path: Path) -> None:
    live, _, new = make_backups(tmp_path)
    # paused until killed (the file is never made), however slow the upload below is
    holder = restore_child(tmp_path, new, live,
                           **pause_at("staged", tmp_path / "never"))
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


def test_threads_of_one_process_share_one_hold_of_the_store_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A flock belongs to the process, so its threads share one hold, counted.  Two
    threads taking the lock at once must not both find it unheld and each take and
    register it: one registration was lost, and the second release raised KeyError
    (seen in a portal test's build claimers on PostgreSQL).  Here the first taker waits
    inside the flock call for a second one to arrive there too, which only happens if
    both take it: with one taker at a time it waits 2 s and goes on alone."""
    import threading

    from reports.store import lock

    there = tmp_path / "store"
    there.mkdir()
    both_inside = threading.Barrier(2)
    calls: list[str] = []
    real = lock._acquire

    def acquire(*args: object) -> None:
        calls.append(threading.current_thread().name)
        real(*args)                                    # type: ignore[arg-type]
        try:
            both_inside.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass

    monkeypatch.setattr(lock, "_acquire", acquire)
    errors: list[BaseException] = []
    held = threading.Barrier(4)

    def use() -> None:
        try:
            with lock.store_lock(there, "shared", wait=30):
                held.wait(timeout=60)                  # all four hold it at once
        except BaseException as e:                     # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=use, name=f"taker-{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(calls) == 1                             # one flock for the process
    assert lock._held == {}                            # every use released
    with lock.store_lock(there, "exclusive", wait=0):  # so the flock was let go
        pass


def test_the_portal_opens_and_migrates_a_store_only_under_its_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The portal opens its store without holding the store's lock (it takes it for each
    upload and job), but making or migrating the schema happens under it: never while a
    backup or restore holds it alone.  Held exclusively by another process, the portal's
    open is refused in one line naming the holder, and nothing in the store changes."""
    from reports.store.db import StoreError

    live = tmp_path / "live"
    upload(live, csv_variant(tmp_path, 1), "a", None)
    before = (live / "impact.db").read_bytes()
    monkeypatch.setenv("IMPACT_LOCK_WAIT", "0.3")
    holder = hold(live, "exclusive")
    try:
        with pytest.raises(StoreError) as refused:
            Store(live, lock=None)
    finally:
        holder.communicate("\n", timeout=60)
    assert "is busy: impact store restore (process" in str(refused.value)
    assert (live / "impact.db").read_bytes() == before
    with Store(live, lock=None) as store:       # free again: it opens
        assert [d.name for d in store.datasets()] == ["a"]
