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

Backup and restore copy SQLite stores only: a store whose tables are on PostgreSQL
is backed up with pg_dump and its files/ folder (`PG_BACKUP` says so in one line).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..model.errors import StoreError
from ..model.version import __version__
from ..store.db import DB_NAME, EMBEDDED, FILES_DIR, PG_BACKUP, Store
from ..store.files import (
    PRIVATE_DIR,
    PRIVATE_FILE,
    STORED_FILE,
    fsync_dir,
    private_dir,
    sha256_file,
    write_private,
)
from ..store.paths import resolve_db

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
    else its own SQLite file); see the module's docstring."""
    with Store(root, url=db, create=False) as store:
        return check_open(store)


def check_open(store: Store) -> CheckResult:
    result = CheckResult(store.root, schema=store.schema)
    for line in store.integrity():
        result.problems.append(Problem(f"the database file {DB_NAME} is damaged: {line}",
                                       kind="integrity"))
    datasets, versions, damaged = store.scan()
    result.datasets, result.versions = len(datasets), len(versions)
    for row in damaged:
        result.problems.append(Problem(str(row), row.dataset, row.number, "damaged-row"))
    named: set[str] = set()
    for v in versions:
        named.add(v.stored_name)
        path = store.files / v.stored_name
        where = f"version {v.number} of dataset '{v.dataset}'"
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
    if not store.embedded:
        raise StoreError(PG_BACKUP)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StoreError(f"{dest} already exists; give a new folder for the backup")
    parent = dest.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = _mkdtemp(f".{dest.name}.", ".backup-part", parent)
    except OSError as e:
        raise StoreError(f"cannot create the backup at {dest}: {e.strerror or e}") from None
    try:
        store.backup_database(tmp / DB_NAME)
        os.chmod(tmp / DB_NAME, PRIVATE_FILE)
        with Store(tmp, url=EMBEDDED) as snapshot:    # the database as it was at that moment
            _, versions, damaged = snapshot.scan()
        problems = [str(d) for d in damaged]
        private_dir(tmp / FILES_DIR)
        entries: list[dict[str, Any]] = []
        for name in sorted({v.stored_name: v for v in versions}):
            v = next(x for x in versions if x.stored_name == name)
            src = store.files / name
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
        if dest.exists():
            dest.rmdir()                     # empty, checked above
        os.rename(tmp, dest)
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
    replaced: Path | None = None     # where the store it replaced was kept (with --force)


def restore_store(src: Path, target: Path, *, force: bool = False,
                  db: str | None = None) -> RestoreResult:
    """Restore the backup `src` (made by `backup_store`, or a copied store folder) to
    `target`, which must be new or an empty store unless `force`.  Refused when the
    target's database is `db` or $IMPACT_DB (PostgreSQL): see `PG_BACKUP`."""
    if resolve_db(db):
        raise StoreError(PG_BACKUP)
    src, target = Path(src), Path(target)
    if not (src / DB_NAME).is_file():
        raise StoreError(f"{src} is not a backup of a store: it has no {DB_NAME}")
    if src.resolve() == target.resolve():
        raise StoreError("the backup and the store are the same folder")
    replacing = target.exists() and not _empty_store(target)
    if replacing and not force:
        raise StoreError(f"the store at {target} is not empty; restore into a new folder, or "
                         f"add --force to replace it (the store it replaces is kept beside it)")
    manifest = _manifest(src)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _mkdtemp(f".{target.name}.", ".restore-part", target.parent)
    try:
        _copy_backup(src, tmp, manifest)
        if target.exists():                  # keep what is not the store: templates, reports
            for item in target.iterdir():
                if item.name in (DB_NAME, FILES_DIR) or item.name.startswith(DB_NAME):
                    continue
                if item.is_dir():
                    shutil.copytree(item, tmp / item.name, symlinks=True)
                else:
                    shutil.copy2(item, tmp / item.name)
        with Store(tmp, url=EMBEDDED) as restored:
            checked = check_open(restored)
        if not checked.healthy:
            raise StoreError(f"the backup at {src} does not restore to a healthy store: "
                             + "; ".join(p.message for p in checked.problems[:5]))
        fsync_dir(tmp)
        replaced = None
        if target.exists():
            replaced = Path(tempfile.mkdtemp(prefix=f".{target.name}.replaced-",
                                             dir=target.parent))
            os.rename(target, replaced / target.name)
        os.rename(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if replaced is not None and not replacing:
        shutil.rmtree(replaced, ignore_errors=True)
        replaced = None
    checked.root = target
    return RestoreResult(target, checked,
                         None if replaced is None else replaced / target.name)


def _mkdtemp(prefix: str, suffix: str, parent: Path) -> Path:
    """A new folder beside the target, owner-only (0700) like every store folder, whatever
    the umask: a backup holds the whole database."""
    path = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    os.chmod(path, PRIVATE_DIR)
    return path


def _empty_store(root: Path) -> bool:
    """A folder with nothing in it, or a store with no file and no version."""
    if not root.is_dir():
        return False
    names = {p.name for p in root.iterdir()}
    if not names:
        return True
    files = root / FILES_DIR
    if files.is_dir() and any(files.iterdir()):
        return False
    if not (root / DB_NAME).exists():
        return names <= {FILES_DIR}
    try:
        with Store(root, url=EMBEDDED, create=False) as store:
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
        with Store(src, url=EMBEDDED, create=False) as source:
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
