"""Looking after a store: check it, back it up while it is in use, restore a backup.

`check_store` reports every problem by dataset and version: the database file's
own integrity (PRAGMA integrity_check), its schema version, rows that cannot be
read, and every stored file against its sha256.  Files that no version names
(left by an upload that was interrupted before its row committed) are notes,
not problems: they are harmless and reused by the next upload of the same bytes.

`backup_store` takes the database with SQLite's online backup API (a snapshot at
one moment, while uploads go on), then copies the stored files that snapshot
names: files are immutable and written before their row commits, so every
version in the snapshot has its file.  A manifest lists every file's sha256.
The backup is made in a temporary folder beside DEST and renamed into place.

`restore_store` copies a backup into a temporary folder beside the target,
checks every sha256 and then the restored store as `check_store` does, and only
then renames it into place: a restore that fails or is killed leaves the target
as it was.

A store whose tables are on PostgreSQL (--db) is backed up and restored the same way:
its backup's database is an SQLite file too, copied from one snapshot of its tables
(`reports.store.transfer`), and a restore replaces its tables in one PostgreSQL
transaction (the instant at which the store turns from old to new is the COMMIT).

Backup, restore and --resume hold the store's lock exclusively (`store_lock`; on
PostgreSQL its advisory lock too): a backup waits for running uploads to finish, and
they (and restores) for it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..figures.totals import totals_of
from ..model.errors import ImpactError, StoreError
from ..model.formats import jsonable
from ..model.measures import exact_totals
from ..model.version import __version__
from ..store import faults, transfer
from ..store.db import (
    DB_NAME,
    EMBEDDED,
    FILES_DIR,
    ID_FILE,
    RESTORE_MARKER,
    DamagedStore,
    Store,
    Version,
    database_url,
    pending_restore,
    read_store_id,
    write_store_id,
)
from ..store.files import (
    PRIVATE_DIR,
    PRIVATE_FILE,
    STORED_FILE,
    atomic_output,
    fsync_dir,
    private_dir,
    sha256_file,
    write_private,
)
from ..store.lock import LOCK_NAME, store_lock
from ..store.paths import DB_ENV, resolve_db
from .source import load_report

MANIFEST = "manifest.json"
BACKUP_FORMAT = "impact-store-backup"


@dataclass
class Problem:
    """One thing wrong with a store, named by dataset and version where it has them."""

    message: str
    dataset: str | None = None
    version: int | str | None = None
    kind: str = "problem"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "dataset": self.dataset, "version": self.version,
                "message": self.message}


@dataclass
class CheckResult:
    root: Path
    schema: str = ""
    datasets: int = 0
    versions: int = 0
    files_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"store": str(self.root), "healthy": self.healthy, "schema": self.schema,
                "datasets": self.datasets, "versions": self.versions,
                "files_checked": self.files_checked,
                "problems": [p.to_dict() for p in self.problems],
                "notes": [n.to_dict() for n in self.notes]}

    def text(self) -> str:
        lines = [p.message for p in self.problems] + [f"Note: {n.message}" for n in self.notes]
        state = ("healthy" if self.healthy else
                 f"{len(self.problems)} problem(s)")
        lines.append(f"Store at {self.root}: {state} (schema {self.schema}; "
                     f"{self.datasets} dataset(s), {self.versions} version(s), "
                     f"{self.files_checked} stored file(s) checked against their sha256)")
        return "\n".join(lines) + "\n"


def check_store(root: Path, db: str | None = None) -> CheckResult:
    """Every problem with the store at `root` whose database is `db` (default: $IMPACT_DB,
    else its own SQLite file); see the module's docstring.  Temporary folders left by
    killed backups and restores are removed, and noted.  A store whose database has lost
    a table or its versions is one problem, naming the originals it still holds."""
    try:
        store = Store(root, url=db, create=False)
    except DamagedStore as e:
        result = CheckResult(Path(root), schema="?")
        result.problems.append(Problem(str(e), kind="damaged-store"))
        result.problems += [Problem(f"{FILES_DIR}/{name} is a stored original that no "
                                    f"version names any more; impact store restore, or an "
                                    f"upload of that file, brings it back", kind="unnamed")
                            for name in e.originals]
        return result
    with store:
        removed = remove_stale_temporaries(store.root)
        result = check_open(store)
    result.notes += [Problem(f"removed {path}, a temporary folder left by a killed backup or "
                             f"restore", kind="temporary-removed") for path in removed]
    return result


def check_open(store: Store) -> CheckResult:
    result = CheckResult(store.root, schema=store.schema)
    for line in store.integrity():
        result.problems.append(Problem(f"the database file {DB_NAME} is damaged: {line}",
                                       kind="integrity"))
    datasets, versions, damaged = store.scan()
    result.datasets, result.versions = len(datasets), len(versions)
    named: set[str] = set()
    for row in damaged:
        result.problems.append(Problem(str(row), row.dataset, row.number, "damaged-row"))
        if row.stored_name:
            named.add(row.stored_name)        # its file is its, not an orphan
            if not (store.files / row.stored_name).is_file():
                result.problems.append(Problem(
                    f"version {row.number} of dataset '{row.dataset}': its stored file "
                    f"{FILES_DIR}/{row.stored_name} is missing too; upload "
                    f"{row.original_name} again, or restore a backup",
                    row.dataset, row.number, "missing-file"))
    for v in versions:
        named.add(v.stored_name)
        path = store.files / v.stored_name
        where = f"version {v.number} of dataset '{v.dataset}'"
        if not store.embedded:     # the database's copy, fetched into the folder (a cache)
            try:
                store.path_of(v)
            except StoreError as e:
                result.problems.append(Problem(
                    f"{where}: {e}", v.dataset, v.number,
                    "damaged-file" if "damaged" in str(e) else "missing-file"))
                continue
        if not path.is_file():
            result.problems.append(Problem(
                f"{where}: its stored file {FILES_DIR}/{v.stored_name} is missing; upload "
                f"{v.original_name} again to put it back, or restore a backup",
                v.dataset, v.number, "missing-file"))
            continue
        result.files_checked += 1
        try:
            intact = sha256_file(path) == v.sha256
        except OSError as e:
            intact = False
            detail = f"cannot be read ({e.strerror or e})"
        else:
            detail = "no longer matches its sha256"
        if not intact:
            result.problems.append(Problem(
                f"{where}: its stored file {FILES_DIR}/{v.stored_name} {detail}; upload "
                f"{v.original_name} again to put it back, or restore a backup",
                v.dataset, v.number, "damaged-file"))
            continue
        wrong = _totals_differ(store, v)
        if wrong:
            result.problems.append(Problem(
                f"{where}: its saved totals differ from its stored file's ({wrong}); "
                f"history and datasets show the saved ones: restore a backup",
                v.dataset, v.number, "wrong-totals"))
    for name in store.stored_files():
        if name not in named:
            result.notes.append(Problem(
                f"{FILES_DIR}/{name} is named by no version (left by an interrupted upload; "
                f"harmless, and reused if the same bytes are uploaded)", kind="orphan-file"))
    try:
        partials = sorted(p.name for p in store.files.iterdir() if p.name.endswith(".part"))
    except OSError:
        partials = []
    for name in partials:
        result.notes.append(Problem(f"{FILES_DIR}/{name} is a partial copy left by an "
                                    f"interrupted upload (harmless)", kind="partial-file"))
    return result


def _totals_differ(store: Store, version: Version) -> str:
    """'' if the version's saved totals are those of its stored original, read again
    with its own reading options; else the first that differs, as 'KEY saved S, file F'."""
    try:
        report = load_report(store, version)
    except ImpactError as e:
        return f"the file cannot be read again: {e}"
    if not report.valid:
        return "the file no longer reads as valid"
    saved = jsonable(version.totals)
    again = jsonable(exact_totals(jsonable(totals_of(report))))
    for key in sorted(set(saved) | set(again)):
        if saved.get(key) != again.get(key):
            return f"{key} saved {saved.get(key)}, file {again.get(key)}"
    return ""


# --------------------------------------------------------------------------
# backup


@dataclass
class BackupResult:
    dest: Path
    versions: int
    files: int
    problems: list[str]


def backup_store(store: Store, dest: Path, *, now: datetime | None = None) -> BackupResult:
    """A consistent copy of `store` at `dest` (which must not exist yet, or be empty)."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StoreError(f"{dest} already exists; give a new folder for the backup")
    with store_lock(store.root, "exclusive", what="impact store backup", db=store.pg_url):
        parent = dest.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            tmp = _mkdtemp(f".{dest.name}.", ".backup-part", parent)
        except OSError as e:
            raise StoreError(f"cannot create the backup at {dest}: {e.strerror or e}") \
                from None
        with _registered(store.root, tmp):
            return _backup_into(store, dest, tmp, now)


def _copy_database(store: Store, dest: Path) -> None:
    """The store's database, consistently, as the SQLite file `dest`."""
    if store.embedded:
        store.backup_database(dest)
    else:
        transfer.dump_to_sqlite(store.url, dest)


def _backup_into(store: Store, dest: Path, tmp: Path, now: datetime | None) -> BackupResult:
    parent = dest.parent
    try:
        _copy_database(store, tmp / DB_NAME)
        os.chmod(tmp / DB_NAME, PRIVATE_FILE)
        with Store(tmp, url=EMBEDDED, lock=None) as snapshot:    # the database as it was at that moment
            _, versions, damaged = snapshot.scan()
        problems = [str(d) for d in damaged]
        private_dir(tmp / FILES_DIR)
        entries: list[dict[str, Any]] = []
        for name in sorted({v.stored_name: v for v in versions}):
            v = next(x for x in versions if x.stored_name == name)
            src = store.files / name
            if not store.embedded:    # the database holds it; the folder is a cache
                try:
                    store.path_of(v)
                except StoreError as e:
                    problems.append(f"version {v.number} of dataset '{v.dataset}': {e}; the "
                                    f"backup lacks it")
                    continue
            try:
                shutil.copyfile(src, tmp / FILES_DIR / name)
            except OSError as e:
                problems.append(f"version {v.number} of dataset '{v.dataset}': its stored file "
                                f"{FILES_DIR}/{name} cannot be copied ({e.strerror or e}); "
                                f"the backup lacks it")
                continue
            digest = sha256_file(tmp / FILES_DIR / name)
            if digest != v.sha256:
                problems.append(f"version {v.number} of dataset '{v.dataset}': its stored file "
                                f"{FILES_DIR}/{name} no longer matches its sha256; the "
                                f"backup holds the damaged copy")
            entries.append({"path": f"{FILES_DIR}/{name}", "sha256": digest,
                            "bytes": (tmp / FILES_DIR / name).stat().st_size})
            os.chmod(tmp / FILES_DIR / name, STORED_FILE)
        stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        manifest = {"format": BACKUP_FORMAT, "format_version": 1,
                    "created_at": stamp.isoformat().replace("+00:00", "Z"),
                    "impact": __version__, "source": str(store.root),
                    "schema": store.schema, "versions": len(versions),
                    "database": {"path": DB_NAME, "sha256": sha256_file(tmp / DB_NAME)},
                    "files": entries, "problems": problems}
        write_private(tmp / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
        for path in (tmp / FILES_DIR, tmp):
            fsync_dir(path)
        faults.point("backup.copied")
        if dest.exists():
            dest.rmdir()                     # empty, checked above
        os.rename(tmp, dest)
        faults.point("backup.renamed")
        fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BackupResult(dest, len(versions), len(entries), problems)


# --------------------------------------------------------------------------
# restore


@dataclass
class RestoreResult:
    target: Path
    check: CheckResult
    replaced: Path | None = None     # where a copy of the store it replaced is kept
    resumed: str = ""                # with --resume: "finished" or "rolled back"


STAGE_SUFFIX = ".restore-part"
STEPS = ("staged", "kept", "marked", "adding", "added", "swapped", "cleaning")
# on PostgreSQL, inside the one transaction: after each table is loaded, before COMMIT
PG_STEPS = (*STEPS[:5], "loading", "committing", *STEPS[5:])


def _step(name: str) -> None:
    """A named point of a restore (`STEPS`, `PG_STEPS`): $IMPACT_FAULT=restore.NAME:die
    (or restore.NAME#N:die, the Nth time) kills the process there, and
    restore.NAME:pause:FILE makes it wait there until FILE exists, so that tests stop a
    restore at exactly that point, whatever the machine's speed (`store.faults`)."""
    faults.point(f"restore.{name}")


def restore_store(src: Path, target: Path, *, force: bool = False,
                  db: str | None = None) -> RestoreResult:
    """Restore the backup `src` (made by `backup_store`, or a copied store folder) into
    the store folder `target`, which must be new or an empty store unless `force`.
    `db` (else $IMPACT_DB): the store's PostgreSQL database, if its tables are there.

    The restore works inside the store folder (so a mount point or the target of a
    symbolic link is restored where it is), holding the store's lock exclusively:

    1. the backup is copied into STORE/.<random>.restore-part, every sha256 checked,
       and the copy checked as `check_store` does;
    2. a copy of the store being replaced is kept beside it;
    3. RESTORE_MARKER records what is being done (from here on, every command sees it);
    4. the backup's files are added to STORE/files (files are named by their content,
       so the old database still finds all of its own);
    5. the database is renamed over STORE/impact.db (PostgreSQL: its tables are replaced
       in one transaction, `transfer.replace_tables`): the one instant at which the store
       changes from the old to the new, whole;
    6. files only the old database named are removed, and the marker.

    Killed anywhere, every reader sees the old store or the new one; the next command
    names the interrupted restore, changes nothing, and `resume_restore` finishes it
    (after step 5) or rolls it back (before)."""
    given = resolve_db(db)
    pg = database_url(given) if given else None
    src, target = Path(src), _real(Path(target))
    if not (src / DB_NAME).is_file():
        raise StoreError(f"{src} is not a backup of a store: it has no {DB_NAME}")
    if src.resolve() == target:
        raise StoreError("the backup and the store are the same folder")
    if (target / RESTORE_MARKER).exists():
        raise StoreError(f"an earlier restore of the store at {target} was interrupted; "
                         f"finish it first with impact store restore --resume --store {target}")
    manifest = _manifest(src)
    try:
        private_dir(target)
    except OSError as e:
        raise StoreError(f"cannot create the store at {target}: {e.strerror or e}") from None
    with store_lock(target, "exclusive", what="impact store restore", db=pg):
        if (target / RESTORE_MARKER).exists():     # another restore was killed meanwhile
            raise StoreError(f"an earlier restore of the store at {target} was interrupted; "
                             f"finish it first with impact store restore --resume --store "
                             f"{target}")
        replacing = not _empty_store(target, pg)
        if replacing and not force:
            raise StoreError(f"the store at {target} is not empty; restore into a new folder, "
                             f"or add --force to replace it (a copy of the store it replaces "
                             f"is kept beside it)")
        remove_stale_temporaries(target)
        store_id = (read_store_id(target) or (transfer.store_id_in(pg) if pg else None)
                    or secrets.token_hex(16))
        stage = _mkdtemp(".", STAGE_SUFFIX, target)
        try:
            _copy_backup(src, stage, manifest)
            _give_id(stage, store_id)
            with Store(stage, url=EMBEDDED, create=False, lock=None) as restored:
                checked = check_open(restored)
                _, versions, _ = restored.scan()
            if not checked.healthy:
                raise StoreError(f"the backup at {src} does not restore to a healthy store: "
                                 + "; ".join(p.message for p in checked.problems[:5]))
            for leftover in (ID_FILE, LOCK_NAME):
                with contextlib.suppress(OSError):
                    (stage / leftover).unlink()
            fsync_dir(stage)
            _step("staged")
            old_named = _named_files(target, pg) if replacing else set()
            kept = _keep(target, pg) if replacing else None
            _step("kept")
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        new_named = sorted({v.stored_name for v in versions})
        marker = {"source": str(src), "stage": stage.name, "kept": str(kept or ""),
                  "database_sha256": sha256_file(stage / DB_NAME),
                  "old_files": sorted(old_named), "new_files": new_named,
                  "database": "postgresql" if pg else "sqlite", "replacing": replacing,
                  "restore_id": secrets.token_hex(16),
                  "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        if not (target / ID_FILE).exists():
            write_store_id(target, store_id)
        with atomic_output(target / RESTORE_MARKER, "w", perms=PRIVATE_FILE) as fh:
            fh.write(json.dumps(marker, indent=2) + "\n")
        _step("marked")
        _finish(target, marker, pg)
    checked.root = target
    return RestoreResult(target, checked, kept)


def _finish(target: Path, marker: dict[str, Any], pg: str | None) -> None:
    """Steps 4 to 6 of a restore (see `restore_store`), from wherever they were left;
    `pg`: the store's PostgreSQL URL, if its tables are there."""
    stage = target / str(marker["stage"])
    files = target / FILES_DIR
    private_dir(files)
    for name in marker["new_files"]:
        staged, live = stage / FILES_DIR / name, files / name
        if not staged.exists():             # added by the run that was interrupted
            continue
        if Store._intact(live, _sha_of(name)):
            continue
        os.replace(staged, live)
        _step("adding")
    fsync_dir(files)
    _step("added")
    if pg:
        transfer.replace_tables(pg, stage / DB_NAME, str(marker["restore_id"]), _step)
    else:
        _settle(target / DB_NAME)
        os.replace(stage / DB_NAME, target / DB_NAME)
        fsync_dir(target)
    _step("swapped")
    _clean_up(target, marker)


def _clean_up(target: Path, marker: dict[str, Any]) -> None:
    """Step 6: the old store's own files (a copy is kept), the stage and the marker."""
    new = set(marker["new_files"])
    for name in set(marker["old_files"]) - new:
        with contextlib.suppress(OSError):
            (target / FILES_DIR / name).unlink()
    _step("cleaning")
    shutil.rmtree(target / str(marker["stage"]), ignore_errors=True)
    (target / RESTORE_MARKER).unlink(missing_ok=True)
    fsync_dir(target)


def resume_restore(target: Path, db: str | None = None) -> RestoreResult:
    """Finish a restore that was interrupted after its database was renamed into place
    (the stage no longer holds it), or roll back one interrupted before (the store is
    then as it was: the files it had added are removed).  A restore into a new folder is
    finished.  On PostgreSQL (`db`, else $IMPACT_DB) the database itself says whether
    the restore's transaction committed (`transfer.restore_committed`)."""
    target = _real(Path(target))
    marker_path = target / RESTORE_MARKER
    if not marker_path.exists():
        raise StoreError(f"no interrupted restore was found at {target}; nothing to resume")
    given = resolve_db(db)
    on_pg = (pending_restore(target) or {}).get("database") == "postgresql"
    if on_pg and not given:
        raise StoreError(f"the interrupted restore of {target} was into a PostgreSQL "
                         f"database; give its URL with --db (or ${DB_ENV})")
    pg = database_url(given) if on_pg and given else None    # the marker says which
    with store_lock(target, "exclusive", what="impact store restore --resume", db=pg):
        try:
            marker = json.loads(marker_path.read_text(encoding="utf-8"))
            for key in ("stage", "database_sha256", "old_files", "new_files"):
                marker[key]  # noqa: B018  (each must be there)
        except (OSError, ValueError, KeyError, TypeError):
            raise StoreError(f"{marker_path} cannot be read; restore the backup again with "
                             f"impact store restore BACKUP --store {target} --force") from None
        staged = (target / str(marker["stage"]) / DB_NAME).exists()
        if pg is not None:
            swapped = transfer.restore_committed(pg, str(marker.get("restore_id", "")))
            first = not marker.get("replacing", True)
        else:
            swapped, first = not staged, not (target / DB_NAME).exists()
        if staged and first and not swapped:
            _finish(target, marker, pg)    # a first restore into an empty folder
            how = "finished"
        elif swapped:                      # renamed into place: the new store is in
            _clean_up(target, marker)
            how = "finished"
        else:
            old = set(marker["old_files"])
            for name in set(marker["new_files"]) - old:
                with contextlib.suppress(OSError):
                    (target / FILES_DIR / name).unlink()
            shutil.rmtree(target / str(marker["stage"]), ignore_errors=True)
            marker_path.unlink(missing_ok=True)
            fsync_dir(target)
            how = "rolled back"
        with Store(target, url=pg or EMBEDDED, create=False, lock=None) as store:
            checked = check_open(store)
    kept = Path(marker["kept"]) if marker.get("kept") else None
    return RestoreResult(target, checked, kept, how)


def _real(target: Path) -> Path:
    """The folder a store path means: a symbolic link's target, so that a restore
    replaces the store there and leaves the link in place."""
    return Path(os.path.realpath(target.expanduser()))


def _give_id(stage: Path, store_id: str) -> None:
    """Give the staged database the id of the store it is restored into, so that the
    store keeps its identity (and a restored copy elsewhere gets its own)."""
    try:
        conn = sqlite3.connect(stage / DB_NAME)
        try:
            with conn:
                conn.execute("DELETE FROM meta WHERE key IN ('store_id', 'store_root')")
                conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?)",
                             (store_id,))
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise StoreError(f"the backup's {DB_NAME} cannot be restored: {e}") from None
    write_store_id(stage, store_id)


def _settle(db_file: Path) -> None:
    """Let SQLite roll back a journal left by a killed writer before the database is
    replaced (a stale journal must never be applied to the restored one)."""
    if not db_file.exists():
        return
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(db_file, timeout=60)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()


def _named_files(target: Path, pg: str | None) -> set[str]:
    """The stored files the store's database names (none if it cannot be read)."""
    try:
        with Store(target, url=pg or EMBEDDED, create=False, lock=None) as store:
            _, versions, _ = store.scan()
    except StoreError:
        return set()
    return {v.stored_name for v in versions}


def _keep(target: Path, pg: str | None) -> Path:
    """A copy of the store about to be replaced (its database and files, as they are,
    damaged or not), beside it: TARGET.replaced-<UTC time>."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = target.parent / f"{target.name}.replaced-{stamp}"
    n = 1
    while dest.exists():
        n += 1
        dest = target.parent / f"{target.name}.replaced-{stamp}-{n}"
    try:
        tmp = _mkdtemp(f".{dest.name}.", ".keep-part", target.parent)
    except OSError as e:
        raise StoreError(f"cannot keep a copy of the store beside it in {target.parent}: "
                         f"{e.strerror or e}") from None
    with _registered(target, tmp):
        return _keep_into(target, dest, tmp, pg)


def _keep_into(target: Path, dest: Path, tmp: Path, pg: str | None) -> Path:
    try:
        if pg is not None:                   # its tables, as a backup's database
            transfer.dump_to_sqlite(pg, tmp / DB_NAME)
            os.chmod(tmp / DB_NAME, PRIVATE_FILE)
        elif (target / DB_NAME).exists():
            _settle(target / DB_NAME)
            shutil.copy2(target / DB_NAME, tmp / DB_NAME)
        if (target / FILES_DIR).is_dir():
            shutil.copytree(target / FILES_DIR, tmp / FILES_DIR, symlinks=True,
                            ignore=shutil.ignore_patterns(".*"))
        if (target / ID_FILE).exists():
            shutil.copy2(target / ID_FILE, tmp / ID_FILE)
        fsync_dir(tmp)
        os.rename(tmp, dest)
        fsync_dir(target.parent)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StoreError(f"cannot keep a copy of the store at {dest}: {e.strerror or e}") \
            from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _sha_of(stored_name: str) -> str:
    return stored_name.split(".")[0]


TEMPORARY_DIR = "temporary"       # STORE/temporary/<id>.json: a backup's or a kept copy's


@contextlib.contextmanager
def _registered(root: Path, tmp: Path) -> Iterator[None]:
    """Record the temporary folder `tmp` (made beside a backup's destination, or beside
    the store for a kept copy) in the store, in a file this process holds locked (flock)
    while it works.  A record whose lock is free belongs to a process that is gone, so
    `remove_stale_temporaries` knows, without guessing from times, what to remove."""
    folder = private_dir(root / TEMPORARY_DIR)
    record = folder / f"{tmp.name}.json"
    fd = os.open(record, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps({"path": str(tmp)}).encode())
        os.fsync(fd)
        yield
    finally:
        record.unlink(missing_ok=True)
        os.close(fd)


def remove_stale_temporaries(root: Path) -> list[str]:
    """Remove the temporary folders that killed backups and restores left: a restore's
    stage inside the store (unless a pending restore still needs it; the caller holds
    the store's lock, so no restore is running), and the folders recorded by
    `_registered` whose process is gone.  The paths removed."""
    pending = pending_restore(root) or {}
    removed = []
    try:
        found = [p for p in root.iterdir() if p.name.endswith(STAGE_SUFFIX) and p.is_dir()]
    except OSError:
        found = []
    for path in found:
        if path.name != pending.get("stage"):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    try:
        records = sorted((root / TEMPORARY_DIR).glob("*.json"))
    except OSError:
        records = []
    for record in records:
        try:
            fd = os.open(record, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue                    # its backup is still running
            try:
                path = Path(json.loads(os.pread(fd, 4096, 0) or b"{}").get("path", ""))
            except (ValueError, AttributeError):
                path = Path()
            if path.name.endswith((".backup-part", ".keep-part")) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(str(path))
            record.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return removed


def _mkdtemp(prefix: str, suffix: str, parent: Path) -> Path:
    """A new folder beside the target, owner-only (0700) like every store folder, whatever
    the umask: a backup holds the whole database."""
    path = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    os.chmod(path, PRIVATE_DIR)
    return path


def _empty_store(root: Path, pg: str | None = None) -> bool:
    """A folder with nothing in it, or a store with no file and no version (`pg`: whose
    tables are in that PostgreSQL database)."""
    if not root.is_dir():
        return False
    if pg is not None:
        files = root / FILES_DIR
        if files.is_dir() and any(p for p in files.iterdir() if not p.name.startswith(".")):
            return False
        return transfer.versions_in(pg) == 0
    names = {p.name for p in root.iterdir()
             if p.name not in (LOCK_NAME, ID_FILE, TEMPORARY_DIR)
             and not p.name.endswith(STAGE_SUFFIX)}
    if not names:
        return True
    files = root / FILES_DIR
    if files.is_dir() and any(files.iterdir()):
        return False
    if not (root / DB_NAME).exists():
        return names <= {FILES_DIR}
    try:
        with Store(root, url=EMBEDDED, create=False, lock=None) as store:
            _, versions, damaged = store.scan()
    except StoreError:
        return False
    return not versions and not damaged


def _manifest(src: Path) -> dict[str, Any] | None:
    path = src / MANIFEST
    if not path.exists():
        return None                          # a store folder copied by hand
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise StoreError(f"the backup's {MANIFEST} cannot be read: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise StoreError(f"{src / MANIFEST} is not the manifest of an impact store backup")
    database, files = manifest.get("database"), manifest.get("files")
    if not (isinstance(database, dict) and isinstance(database.get("sha256"), str)
            and isinstance(files, list)
            and all(isinstance(f, dict) and isinstance(f.get("path"), str)
                    and isinstance(f.get("sha256"), str) for f in files)):
        raise StoreError(f"{src / MANIFEST} is damaged: it does not list the database and "
                         f"the files with their sha256")
    return manifest


def _copy_backup(src: Path, tmp: Path, manifest: dict[str, Any] | None) -> None:
    """The database and the stored files, each checked against the manifest's sha256."""
    (tmp / FILES_DIR).mkdir(mode=PRIVATE_DIR)
    os.chmod(tmp / FILES_DIR, PRIVATE_DIR)
    wanted: list[tuple[str, str | None]]
    if manifest is None:                     # a plain store folder: a consistent database copy
        with Store(src, url=EMBEDDED, create=False, lock=None) as source:
            source.backup_database(tmp / DB_NAME)
        os.chmod(tmp / DB_NAME, PRIVATE_FILE)
        wanted = [(f"{FILES_DIR}/{p.name}", None) for p in sorted((src / FILES_DIR).iterdir())
                  if p.is_file() and not p.name.startswith(".")] \
            if (src / FILES_DIR).is_dir() else []
    else:
        shutil.copyfile(src / DB_NAME, tmp / DB_NAME)
        os.chmod(tmp / DB_NAME, PRIVATE_FILE)
        expected = manifest.get("database", {}).get("sha256")
        if sha256_file(tmp / DB_NAME) != expected:
            raise StoreError(f"the backup's {DB_NAME} does not match the sha256 in its "
                             f"{MANIFEST}: the backup is damaged")
        wanted = [(str(f["path"]), str(f["sha256"])) for f in manifest.get("files", [])]
    for rel, digest in wanted:
        name = Path(rel).name
        if Path(rel).parent.as_posix() != FILES_DIR or name in ("", ".", ".."):
            raise StoreError(f"the backup's {MANIFEST} names an unexpected file: {rel}")
        dst = tmp / FILES_DIR / name
        try:
            shutil.copyfile(src / FILES_DIR / name, dst)
        except OSError as e:
            raise StoreError(f"cannot copy {rel} from the backup: {e.strerror or e}") from None
        if digest is not None and sha256_file(dst) != digest:
            raise StoreError(f"the backup's {rel} does not match the sha256 in its "
                             f"{MANIFEST}: the backup is damaged")
        os.chmod(dst, STORED_FILE)
    fsync_dir(tmp / FILES_DIR)
