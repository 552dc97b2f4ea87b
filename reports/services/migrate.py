"""Moving a store from SQLite (its folder) into an empty PostgreSQL database.

`migrate_store` holds the store's lock exclusively (uploads, monthly runs and the
portal's writes to the SQLite store wait for it, and it for them), so the store it
copies is the store at one moment.  The SQLite store is only read: a snapshot of its
database is taken with SQLite's online backup API into a temporary folder outside the
store, and its stored originals are read from STORE/files.

Then, in ONE PostgreSQL transaction (`transfer.load_into_empty`): the target is refused
if it already holds a store (its meta table names one, or it has versions), every
impact table is copied from the snapshot (`transfer.all_tables`), every stored original
is streamed into the blob table a chunk at a time (`blobs.put`, which checks each
against its sha256), the datasets' profiles and template overrides (STORE/profiles,
STORE/templates) are put into the shared files' tables (`shared`), and the portal's
secret key (STORE/portal-secret-key) becomes the database's key, so that sessions issued
by the old portal stay valid.  A failure or a
kill before the COMMIT leaves the target as it was (the server rolls the transaction
back).

After the COMMIT the new store is checked as `impact store check` does
(`upkeep.check_open`), through a new, empty cache folder, so that every original is
read back from the database: its sha256 against its version's, and each version's
totals worked out again from it against the saved ones.  A store that fails the check
is emptied again (one transaction), and the migration fails, naming the problems.  A
migration killed after the COMMIT and before the check has ended leaves the whole
store in the database (never part of it); `impact store check --db URL` checks it.

Built outputs are not copied: the portal builds them again on first request; nor are
uploads held for the mapping step (they last an hour; the portal is stopped to move).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection

from ..model.errors import StoreError
from ..store import blobs, faults, shared, transfer
from ..store.db import (
    DB_NAME,
    EMBEDDED,
    Store,
    Version,
    database_url,
    meta_t,
    shown_url,
    sqlite_engine,
)
from ..store.files import PRIVATE_DIR
from ..store.lock import store_lock
from ..store.paths import PORTAL_SECRET_FILE, PORTAL_SECRET_META
from .monthly import TEMPLATES_DIR
from .profiles import PROFILE_NAME, PROFILES_DIR
from .upkeep import CheckResult, check_open


@dataclass
class MigrateResult:
    url: str            # the target, as given to --db (its password hidden)
    datasets: int
    versions: int
    originals: int      # distinct stored originals put into the blob table
    secret_key: bool    # whether the portal's secret key was carried over
    check: CheckResult


def migrate_store(root: Path, to: str,
                  progress: Callable[[str], None] = lambda _: None) -> MigrateResult:
    """Move the SQLite store at `root` into the empty PostgreSQL database `to` (see the
    module's docstring); `progress` is told what is being done, a line per dataset."""
    url = database_url(to)
    where = shown_url(url)
    _refuse_if_holding(url, where)                     # early, in one line
    with store_lock(root, "exclusive", what="impact store migrate"):
        work = Path(tempfile.mkdtemp(prefix="impact-migrate-"))
        try:
            work.chmod(PRIVATE_DIR)
            with Store(root, url=EMBEDDED, create=False, lock=None) as source:
                datasets, versions, damaged = source.scan()
                if damaged:
                    raise StoreError(f"the store at {root} has damaged rows ({damaged[0]}); "
                                     f"run impact store check, and mend it before moving it")
                source.backup_database(work / DB_NAME)
                _forget_folder(work / DB_NAME)
                secret = _secret(root)
                by_dataset: dict[str, list[Version]] = {}
                for v in versions:
                    by_dataset.setdefault(v.dataset, []).append(v)

                def refuse(conn: Connection) -> None:
                    if _holds_store(conn):
                        raise StoreError(_holding(where))

                def originals(conn: Connection) -> None:
                    blobs.metadata.create_all(conn)
                    done: set[str] = set()
                    for name, group in by_dataset.items():
                        fresh = [v for v in group if v.sha256 not in done]
                        for v in fresh:
                            path = source.path_of(v)    # checked against its sha256
                            with open(path, "rb") as fh:
                                blobs.put(conn, fh, v.sha256)
                            done.add(v.sha256)
                        progress(f"'{name}': {len(group)} version(s), "
                                 f"{len(fresh)} original(s) copied")
                        faults.point("migrate.copying")
                    _share_folder(conn, root)
                    if secret is not None:
                        conn.execute(meta_t.delete().where(meta_t.c.key == PORTAL_SECRET_META))
                        conn.execute(meta_t.insert().values(key=PORTAL_SECRET_META,
                                                            value=secret))
                    copied.update(done)
                    progress("committing")

                copied: set[str] = set()
                progress(f"copying the store at {root} into {where}: "
                         f"{len(datasets)} dataset(s), {len(versions)} version(s)")
                try:
                    transfer.load_into_empty(url, work / DB_NAME, lambda _: None,
                                             refuse, originals)
                except blobs.Mismatch as e:
                    raise StoreError(f"{e}: a stored original changed while it was copied; "
                                     f"nothing was written to {where}") from None
            faults.point("migrate.committed")
            progress("checking the copy: every original read back, every version's "
                     "totals worked out again")
            checked = _check(url, work / "cache")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if not checked.healthy:
        transfer.empty_tables(url, blobs.metadata)
        raise StoreError(f"the copy in {where} failed its check, so it was emptied again "
                         f"(the store at {root} is as it was): "
                         + "; ".join(p.message for p in checked.problems[:5]))
    return MigrateResult(where, len(datasets), len(versions), len(copied), secret is not None,
                         checked)


def _check(url: str, cache: Path) -> CheckResult:
    """`impact store check` of the store in `url`, through the new, empty folder `cache`
    (so that every original is read back from the database)."""
    cache.mkdir(mode=PRIVATE_DIR)
    with Store(cache, url=url, create=False, lock=None) as store:
        return check_open(store)


def _share_folder(conn: Connection, root: Path) -> None:
    """Put the store folder's profiles and template overrides into the shared files'
    tables (in `conn`'s transaction), as `profiles` and `monthly` keep them on
    PostgreSQL."""
    found = [(shared.PROFILE, p.stem, PROFILE_NAME, p)
             for p in sorted((root / PROFILES_DIR).glob("*.toml"))]
    found += [(shared.TEMPLATE, p.parent.name, p.name, p)
              for p in sorted((root / TEMPLATES_DIR).glob("*/*.toml"))]
    for kind, key, name, path in found:
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as fh:
                shared.write(conn, kind, key, name, fh)


def _forget_folder(snapshot: Path) -> None:
    """The snapshot without the SQLite store's folder (meta 'store_root'): on PostgreSQL
    a folder is only one server's cache."""
    engine = sqlite_engine(snapshot)
    try:
        with engine.begin() as conn:
            conn.execute(meta_t.delete().where(meta_t.c.key == "store_root"))
    finally:
        engine.dispose()


def _secret(root: Path) -> str | None:
    """The portal's secret key kept in the store's folder, if it has one."""
    path = root / PORTAL_SECRET_FILE
    try:
        return path.read_text("ascii").strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError) as e:
        raise StoreError(f"cannot read the portal's secret key {path}: {e}") from None


def _holds_store(conn: Connection) -> bool:
    names = set(inspect(conn).get_table_names())
    if "meta" in names and conn.execute(
            select(meta_t.c.value).where(meta_t.c.key == "store_id")).first() is not None:
        return True
    return "versions" in names and conn.execute(
        select(1).select_from(transfer.all_tables().tables["versions"]).limit(1)
    ).first() is not None


def _holding(where: str) -> str:
    return (f"the database at {where} already holds a store; migrate into a new, empty "
            f"database")


def _refuse_if_holding(url: str, where: str) -> None:
    if transfer.store_id_in(url) is not None or transfer.versions_in(url) > 0:
        raise StoreError(_holding(where))
