"""The versioned store: every upload of a post schedule, kept for good.

A store is a directory and a database::

    STORE/impact.db            the database (SQLite, the embedded default)
    STORE/files/<sha256>.xlsx  an immutable copy of every uploaded file

or, for a shared server, the same tables in a PostgreSQL database named by a URL
(``--db postgresql+psycopg://user@host:5432/impact`` or ``$IMPACT_DB``): the files
stay in STORE/files, only the tables move.  This is the only module that talks to
the database (through SQLAlchemy Core); `Store.engine` and `Store.create_tables`
let another module keep its own tables in the same database.

The database keeps what listings need (who uploaded what, when, and its
totals).  Everything else is rebuilt from the stored original with
`reports.services.source.load_report`, so nothing is lost when the derivation code improves.

Uploads are atomic.  The file is copied into ``files/`` under a temporary
name, fsynced and renamed into place *before* the version's row commits, so
a crash leaves either the whole version or nothing: at worst an orphan file
that no row names (harmless: files are named by their content, and the next
upload of the same bytes reuses it), never a row that names a missing file.
Version numbers come from ``max + 1`` inside a write transaction (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: the dataset's row locked ``FOR UPDATE``), backed
by a UNIQUE constraint and a retry, so uploads running at the same moment, from
any number of processes or machines, get distinct, consecutive numbers.  Creating
or migrating the schema holds a lock too (PostgreSQL: an advisory lock), so two
processes opening a new database at once make it once.

A dataset is its exact name, NFC-normalised and trimmed (`paths.check_name`);
its slug is only a folder label, unique in the store (a short hash of the name
is added when another dataset has the plain one).  A database that is missing,
empty or without the schema while ``files/`` holds originals is refused, never
silently replaced by an empty one; so is a schema version this code does not
know (schema 1, whose names were kept as typed, is migrated on opening).  A row
that cannot be read raises `DamagedRow`, naming its dataset and version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DisconnectionError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.schema import CreateColumn

from ..figures.totals import headline
from ..model.errors import StoreError, UnknownDataset, UsageProblem
from ..model.formats import fmt_date, jsonable
from ..model.measures import exact_totals
from . import blobs, faults
from .files import PRIVATE_FILE, STORED_FILE, atomic_output, private_dir, sha256_file
from .lock import store_lock
from .paths import (
    DB_ENV,
    MAX_NAME,
    STORE_ENV,
    check_name,
    normalise_name,
    resolve_db,
    resolve_dir,
    slug_with_hash,
    slugify,
)
from .urls import db_message, shown_url

DB_NAME = "impact.db"
FILES_DIR = "files"
ID_FILE = "store-id"              # STORE/store-id: the store's random id, as its database has it
RESTORE_MARKER = "restore-pending.json"   # written by a restore before it changes the store
# 1: names as given, looked up by slug.  2: names NFC-normalised, looked up by name.
# 3: a dataset may hold the same bytes twice (going back to an earlier proposal).
SCHEMA_VERSION = "3"
KNOWN_SCHEMAS = ("1", "2", "3")
STORED_NAME = re.compile(r"[0-9a-f]{64}(\.(xlsx|xlsm|csv))?")
_KNOWN_SUFFIXES = (".xlsx", ".xlsm", ".csv")
MAX_BY, MAX_FILE_NAME = 200, 500      # characters of --by and of an uploaded file's name
_BUSY_TIMEOUT_S = 60
_RETRIES = 20
STALE_PART_S = 3600          # a temporary copy untouched this long was left by a kill
EMBEDDED = "embedded"        # Store(root, url=EMBEDDED): STORE/impact.db, whatever $IMPACT_DB says
_SCHEMA_LOCK = 0x1A7AC7      # PostgreSQL advisory lock held while the schema is made or migrated
# SQLSTATEs after which a PostgreSQL transaction is simply tried again
_RETRY_STATES = ("40001", "40P01")   # serialization failure, deadlock detected
_CREATES = "; impact upload creates a store"
_HAD_VERSIONS = "had_versions"       # meta: set with the first version, never taken back

# --------------------------------------------------------------------------
# what a version is


@dataclass(frozen=True)
class Version:
    """One upload of a dataset, as the database records it."""

    dataset: str
    slug: str
    number: int
    as_of: date
    uploaded_at: datetime          # UTC
    uploaded_by: str
    note: str
    sha256: str
    original_name: str
    stored_name: str               # under STORE/files/
    size: int
    sheets: tuple[str, ...]
    rows: int
    totals: dict[str, Any]         # as `Summary.totals`: Decimal figures, int counts
    read_options: dict[str, Any] = field(default_factory=dict)
    file_missing: bool = field(default=False, compare=False)   # as `Store.versions` found it
    id: int = field(default=0, compare=False)      # the row's id: with sha256, its identity

    @property
    def label(self) -> str:
        """'version 2 (12 March 2024)', for headlines."""
        return f"version {self.number} ({fmt_date(self.as_of)})"

    @property
    def headline(self) -> str:
        return headline(self.totals)

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "slug": self.slug, "version": self.number,
                "as_of": self.as_of.isoformat(),
                "uploaded_at": self.uploaded_at.isoformat().replace("+00:00", "Z"),
                "uploaded_by": self.uploaded_by, "note": self.note,
                "sha256": self.sha256, "file": self.original_name, "bytes": self.size,
                "sheets": list(self.sheets), "rows": self.rows,
                "read_options": self.read_options,
                "headline": self.headline, "totals": jsonable(self.totals)}


@dataclass(frozen=True)
class Dataset:
    name: str
    slug: str
    versions: int
    latest: Version


# --------------------------------------------------------------------------
# the schema


metadata = MetaData()


def _bytewise(length: int) -> Any:
    """A string column that sorts by code point, as SQLite does, on PostgreSQL too (whose
    default collation would otherwise order 'early-help' and 'earlyhelp' by locale)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


datasets_t = Table(
    "datasets", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", _bytewise(MAX_NAME), nullable=False, unique=True),
    Column("slug", _bytewise(120), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

versions_t = Table(
    "versions", metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("uploaded_at", DateTime, nullable=False),     # naive UTC
    Column("uploaded_by", String(MAX_BY), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("sha256", String(64), nullable=False),
    Column("original_name", String(MAX_FILE_NAME), nullable=False),
    Column("stored_name", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sheets", JSON, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("totals", JSON, nullable=False),
    Column("read_options", JSON, nullable=False),
    UniqueConstraint("dataset_id", "number", name="uq_version_number"),
    # not unique (schema 3): a later version may be the file of an earlier one again
    Index("ix_versions_file", "dataset_id", "sha256"),
    Index("ix_versions_as_of", "dataset_id", "as_of"),
)

meta_t = Table(
    "meta", metadata,
    Column("key", String(50), primary_key=True),
    Column("value", Text, nullable=False),
)


def database_url(given: str) -> str:
    """A --db / $IMPACT_DB value as the URL SQLAlchemy opens: PostgreSQL through psycopg 3
    ('postgresql://' and 'postgres://' mean that too).  `UsageProblem` for anything else."""
    example = "postgresql+psycopg://impact@db.example.org:5432/impact"
    try:
        url = make_url(given.strip())
    except ArgumentError:
        raise UsageProblem(f"--db (or ${DB_ENV}) is not a database URL; give one such as "
                           f"{example}") from None
    if url.drivername.split("+")[0] in ("postgresql", "postgres"):     # any driver: psycopg
        if not url.database:
            raise UsageProblem(f"the --db URL names no database; end it with /NAME, e.g. "
                               f"{example}")
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise UsageProblem(f"--db (or ${DB_ENV}) takes a PostgreSQL URL such as {example}; "
                       f"'{url.drivername}' is not one (without --db the store keeps its "
                       f"own SQLite database, STORE/{DB_NAME})")


_READ_ONLY = "impact_read_only"     # an execution option: this transaction only reads


def sqlite_engine(path: Path) -> Engine:
    """An engine on one SQLite file (a ledger kept outside a store), as a store's."""
    return _make_engine(URL.create("sqlite", database=str(path)))


def _file_id(path: str | None) -> tuple[int, int] | None:
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return None if st is None else (st.st_dev, st.st_ino)


def _make_engine(url: str | URL) -> Engine:
    is_sqlite = str(url).startswith("sqlite")
    db_path = url.database if isinstance(url, URL) else None
    engine = create_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_S} if is_sqlite else
                           {"connect_timeout": 10, "application_name": "impact"})
    if is_sqlite:
        # pysqlite's own transaction handling issues a deferred BEGIN late; take it over so
        # that every transaction starts with BEGIN IMMEDIATE and holds the write lock from
        # its first statement (the SQLAlchemy documented recipe).
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, record: Any) -> None:
            record.info["file"] = _file_id(db_path)
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_S * 1000}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA synchronous = FULL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # a read-only transaction (`Store.read`) takes only a shared lock, so that
            # readers (every portal request's session and version lookups) do not queue
            # one behind another for the write lock
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY)
                                 else "BEGIN IMMEDIATE")

        # A restore renames a new database over impact.db: a pooled connection (the
        # portal keeps some for its whole life) still has the old file open, so one whose
        # file is no longer impact.db is dropped and a new one opened (SQLAlchemy's
        # pessimistic-disconnect recipe: DisconnectionError at checkout retries).
        @event.listens_for(engine, "checkout")
        def _on_checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            if record.info.get("file") != _file_id(db_path):
                raise DisconnectionError("the database file was replaced (a restore)")
    return engine


# --------------------------------------------------------------------------
# the store


class Store:
    """A store directory and its database.

    `url` is the database: a PostgreSQL URL (see `database_url`), or None for $IMPACT_DB
    if that is set, else the SQLite file STORE/impact.db; `EMBEDDED` is always that file.
    `create`: make the store if there is none (only `upload`, `users add` and `serve`
    do; every other command is refused with one line, so that a typo or an unmounted
    volume never becomes a new, empty store).  `created` says whether this did.
    `lock`: hold the store's lock in this mode ("shared") while the store is open, or
    None (the portal, which takes it for each upload and job instead); see `lock.py`."""

    def __init__(self, root: str | os.PathLike[str], *, url: str | None = None,
                 create: bool = True, lock: str | None = "shared") -> None:
        self.root = Path(root)
        self.files = self.root / FILES_DIR
        self._tables_lock = threading.Lock()          # guards _tables_made
        self._tables_made: list[MetaData] = []
        self._made_schema = False          # this open made the database's schema
        self._held = contextlib.ExitStack()
        given = None if url == EMBEDDED else resolve_db(url)
        self.embedded = given is None
        self.db_file = self.root / DB_NAME
        if self.embedded:
            self._url: str | URL = URL.create("sqlite", database=str(self.db_file.resolve()))
            self.url = f"sqlite:///{self.db_file.resolve()}"     # for messages only
        else:
            self.url = self._url = database_url(given or "")
        self.where = shown_url(self.url)         # for messages: no password
        pending = self.pending_restore()
        if not create or pending is not None:
            try:
                self._refuse_missing(pending)
            except StoreError:
                if not self.embedded:
                    self._reach()         # an unreachable database is the first thing to say
                raise
        if self.embedded and not self.db_file.exists() and self.stored_files():
            raise self._lost(f"its database {DB_NAME} is missing")
        self.created = not self.root.is_dir() or (
            self.embedded and not self.db_file.exists() or
            not self.embedded and not self.files.is_dir())
        try:
            # owner-only, whatever the umask: the folders 0700, the database file 0600
            # (SQLite gives its journal and WAL files the database file's mode)
            private_dir(self.files)
            if self.embedded and not self.db_file.exists():
                os.close(os.open(self.db_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                 PRIVATE_FILE))
                os.chmod(self.db_file, PRIVATE_FILE)
        except FileExistsError:
            pass
        except OSError as e:
            raise StoreError(f"cannot create the store at {self.root}: {e.strerror or e}; "
                             f"choose another place with --store DIR or ${STORE_ENV}") from None
        if lock is not None:
            self._held.enter_context(store_lock(self.root, lock, db=self.pg_url))
        self.engine = _make_engine(self._url)
        try:
            # creating or migrating the schema happens under the store's lock (shared)
            # even for the portal, which otherwise takes it per upload and job: so never
            # while a backup or restore (exclusive) runs; two migrations are kept apart by
            # the schema lock inside the database (`_lock_schema`)
            with (contextlib.nullcontext() if lock is not None else
                  store_lock(self.root, "shared", what="impact (opening the store)",
                             db=self.pg_url)):
                self.schema = self._open_schema()
            if not self.embedded:      # the originals and built outputs, shared (blobs.py)
                # a new folder on a database that holds a store is its cache, not a new store
                self.created = self._made_schema
                self.create_tables(blobs.metadata)
                self._share_originals()
        except StoreError:
            self.close()
            raise
        except SQLAlchemyError as e:
            self.close()
            hint = (f"if it is damaged, restore a backup with impact store restore BACKUP "
                    f"--store {self.root} --force" if self.embedded else
                    f"check the --db URL (or ${DB_ENV}) and that the database server is "
                    f"running and lets you in")
            raise StoreError(f"cannot open the store database at {self.where}: "
                             f"{db_message(e)}; {hint}") from None
        except BaseException:
            self.close()
            raise

    @property
    def pg_url(self) -> str | None:
        """The PostgreSQL URL whose advisory lock is the store's lock too (None: SQLite)."""
        return None if self.embedded else str(self._url)

    def _reach(self) -> None:
        """Connect to the PostgreSQL database once: `StoreError` saying why it cannot be."""
        engine = _make_engine(self._url)
        try:
            with engine.connect():
                pass
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open the store database at {self.where}: "
                             f"{db_message(e)}; check the --db URL (or ${DB_ENV}) and that "
                             f"the database server is running and lets you in") from None
        finally:
            engine.dispose()

    def _refuse_missing(self, pending: dict[str, Any] | None) -> None:
        """Refuse, in one line, to open a store that is not there (or, during an
        interrupted restore, one whose database is not there): nothing is created."""
        resume = (f"; an interrupted restore was found: finish it with impact store "
                  f"restore --resume --store {self.root}" if pending is not None else "")
        if not self.root.is_dir():
            raise StoreError(f"there is no store at {self.root} (no such folder); check "
                             f"--store (or ${STORE_ENV}), or that its volume is mounted; "
                             f"impact upload creates a store")
        if self.embedded and not self.db_file.exists() and (resume or not self.stored_files()):
            raise StoreError(f"there is no store at {self.root} (no {DB_NAME})"
                             f"{resume or _CREATES}")
        if not self.embedded and not self.files.is_dir() and (resume or not self._db_has_store()):
            raise StoreError(f"there is no store at {self.root} (no {FILES_DIR} folder)"
                             f"{resume or _CREATES}")

    def _db_has_store(self) -> bool:
        """Whether the PostgreSQL database holds a store (its meta table names one): an
        empty local folder is then that store's cache, not a missing store."""
        engine = _make_engine(self._url)
        try:
            with engine.connect() as conn:
                if "meta" not in inspect(conn).get_table_names():
                    return False
                return conn.execute(select(meta_t.c.value).where(
                    meta_t.c.key == "store_id")).first() is not None
        except SQLAlchemyError:
            return False
        finally:
            engine.dispose()

    def pending_restore(self) -> dict[str, Any] | None:
        """What an interrupted `impact store restore` recorded (RESTORE_MARKER), or None."""
        return pending_restore(self.root)

    def refuse_while_restoring(self) -> None:
        """`StoreError` if a restore of this store was interrupted: a change made now would
        be lost when it is finished (or would mix two histories)."""
        if self.pending_restore() is not None:
            raise StoreError(f"a restore of the store at {self.root} was interrupted; nothing "
                             f"is changed until it is finished: run impact store restore "
                             f"--resume --store {self.root}")

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def run(self, what: str, work: Any) -> Any:
        """`work(connection)` in one transaction: its result, or a one-line `StoreError`
        saying what could not be done (an `IntegrityError` is passed on, for callers that
        retry a race).  For modules that keep their own tables beside the store's."""
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except IntegrityError:
            raise
        except SQLAlchemyError as e:
            raise StoreError(f"cannot {what} in the store database at {self.where}: "
                             f"{db_message(e)}") from None

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn

    def read(self, what: str, work: Any) -> Any:
        """`work(connection)` in one transaction that only reads, as `run` otherwise.  On
        SQLite it takes a shared lock instead of the write lock, so concurrent readers
        proceed together; on PostgreSQL it is an ordinary transaction."""
        try:
            with self._reading() as conn:
                return work(conn)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot {what} in the store database at {self.where}: "
                             f"{db_message(e)}") from None

    def create_tables(self, tables: MetaData) -> None:
        """Create the tables of `tables` (another module's own MetaData) that the database
        lacks, under the same lock as the store's schema: for modules that keep their own
        tables beside the store's (they use `self.engine` for everything else).  Done once
        per open store: a server's requests ask on every download."""
        with self._tables_lock:
            if tables in self._tables_made:
                return
            with self.engine.begin() as conn:
                self._lock_schema(conn)
                tables.create_all(conn)
            self._tables_made.append(tables)

    def add_missing_columns(self, table: Table) -> None:
        """Add to the database's `table` the columns it lacks (made by an older impact),
        under the schema lock: `ALTER TABLE ... ADD COLUMN`, each with its server default,
        so the rows already there get that value."""
        with self.engine.begin() as conn:
            have = {c["name"] for c in inspect(conn).get_columns(table.name)}
            missing = [c for c in table.columns if c.name not in have]
            if not missing:
                return
            self._lock_schema(conn)
            have = {c["name"] for c in inspect(conn).get_columns(table.name)}
            prep = conn.dialect.identifier_preparer
            for column in missing:
                if column.name in have:        # another process added it meanwhile
                    continue
                ddl = CreateColumn(column).compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {prep.format_table(table)} ADD COLUMN {ddl}"))

    def _lock_schema(self, conn: Connection) -> None:
        """Hold the schema lock to the end of the transaction (SQLite's BEGIN IMMEDIATE
        already holds the whole database)."""
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK)))

    def _open_schema(self) -> str:
        """Create the schema in a new database, migrate an old one; the schema version.
        A database without the schema while stored files exist is refused: making it anew
        would lose the history and start the numbering again.  So is one that lacks a
        table it needs, or whose versions are gone while it says it had some
        (`DamagedStore`), and one that belongs to another store folder (its id)."""
        with self.engine.begin() as conn:
            self._lock_schema(conn)
            have = set(inspect(conn).get_table_names())
            if "meta" not in have:
                if self.pending_restore() is not None:     # a restore into it was killed
                    raise StoreError(f"there is no store at {self.root} (its database "
                                     f"{self._db_name} holds no store tables); an interrupted "
                                     f"restore was found: finish it with impact store restore "
                                     f"--resume --store {self.root}")
                if self.stored_files() or have & {"datasets", "versions"}:
                    raise self._lost(f"its database {self._db_name} is empty (it holds no "
                                     f"store tables)" if not have & {"datasets", "versions"}
                                     else f"its database {self._db_name} has lost its meta "
                                     f"table")
                metadata.create_all(conn)
                conn.execute(meta_t.insert().values(key="schema", value=SCHEMA_VERSION))
                self._made_schema = True
                self._identify(conn, {})
                return SCHEMA_VERSION
            meta = {r.key: r.value for r in conn.execute(select(meta_t.c.key, meta_t.c.value))}
            schema = meta.get("schema")
            if schema not in KNOWN_SCHEMAS:
                raise StoreError(f"the store database at {self.where} has schema version "
                                 f"{schema!r}, which this impact does not know (it knows "
                                 f"{', '.join(KNOWN_SCHEMAS)}); use the impact that made it, "
                                 f"or a newer one")
            lacking = [t for t in ("datasets", "versions") if t not in have]
            if lacking:
                raise self._damaged(f"its database {self._db_name} has lost its "
                                    f"{' and '.join(lacking)} table{'s' * (len(lacking) > 1)}")
            count = conn.execute(select(func.count()).select_from(versions_t)).scalar() or 0
            named = conn.execute(select(func.count()).select_from(datasets_t)).scalar() or 0
            if not count and (named or meta.get(_HAD_VERSIONS)):
                raise self._damaged(f"its database {self._db_name} has lost every version "
                                    f"(its versions table is empty, but it had versions)")
            if count and not meta.get(_HAD_VERSIONS):      # a store made before this mark
                conn.execute(meta_t.insert().values(key=_HAD_VERSIONS, value="1"))
            if schema in ("1", "2"):   # one file per dataset at most once: no longer
                _allow_repeated_files(conn)
            metadata.create_all(conn)
            if schema == "1":      # names were kept as given; identity is now the NFC name
                for row in conn.execute(select(datasets_t.c.id, datasets_t.c.name)).all():
                    if normalise_name(row.name) != row.name:
                        conn.execute(datasets_t.update().where(datasets_t.c.id == row.id)
                                     .values(name=normalise_name(row.name)))
            if schema != SCHEMA_VERSION:
                conn.execute(meta_t.update().where(meta_t.c.key == "schema")
                             .values(value=SCHEMA_VERSION))
            self._identify(conn, meta)
            return SCHEMA_VERSION

    def _identify(self, conn: Connection, meta: dict[str, str]) -> None:
        """Match the store folder and its database by the store's random id (meta
        'store_id', and the file STORE/store-id).  A store made before ids gets one.  A
        folder and a database with different ids are refused.  On SQLite the folder is
        the store; on PostgreSQL the database holds everything shared (`blobs`) and a
        folder is one server's cache, so a folder without an id is taken as this store's
        cache and given the database's id (any number of servers, each its own folder)."""
        folder_id = read_store_id(self.root)
        db_id = meta.get("store_id")
        here = os.path.realpath(self.root)
        if db_id and folder_id and db_id != folder_id:
            raise StoreError(f"the store folder {self.root} (store id {folder_id}) and the "
                             f"database at {self.where} (store id {db_id}) belong to different "
                             f"stores; give the --db URL (or --store folder) that belongs "
                             f"with it")
        store_id = db_id or folder_id or secrets.token_hex(16)
        if db_id is None:
            conn.execute(meta_t.insert().values(key="store_id", value=store_id))
        if self.embedded and meta.get("store_root") != here:   # PostgreSQL: many folders
            conn.execute(meta_t.delete().where(meta_t.c.key == "store_root"))
            conn.execute(meta_t.insert().values(key="store_root", value=here))
        if folder_id is None:
            write_store_id(self.root, store_id)
        self.id = store_id

    def _damaged(self, what: str) -> DamagedStore:
        originals = self.stored_files()
        fix = (f"restore a backup with impact store restore BACKUP --store {self.root} "
               f"--force" + ("" if self.embedded else " (and its --db)"))
        held = (f"; it holds {len(originals)} stored original(s) (see impact store check), "
                f"which a restore or a new upload of each can bring back" if originals else "")
        return DamagedStore(f"the store at {self.root} is damaged: {what}; refusing to start "
                            f"a new, empty history{held}. To repair it, {fix}", originals)

    @property
    def _db_name(self) -> str:
        return DB_NAME if self.embedded else self.where

    def _lost(self, what: str) -> StoreError:
        n = len(self.stored_files())
        fix = (f"Restore a backup with impact store restore BACKUP --store {self.root} --force"
               if self.embedded else
               f"Give the --db URL of this store's database, or restore a backup with impact "
               f"store restore BACKUP --store {self.root} --force (and its --db)")
        return StoreError(f"the store at {self.root} holds {n} stored file(s) but {what}; "
                          f"refusing to start a new, empty history. {fix}")

    def stored_files(self) -> list[str]:
        """The names of the stored originals under files/ (no temporary files)."""
        try:
            return sorted(p.name for p in self.files.iterdir()
                          if STORED_NAME.fullmatch(p.name) and p.is_file())
        except OSError:
            return []

    @classmethod
    def open(cls, given: str | os.PathLike[str] | None = None,
             environ: Mapping[str, str] | None = None, *, db: str | None = None,
             create: bool = False, lock: str | None = "shared") -> Store:
        """The store at --store DIR (else $IMPACT_STORE, else the XDG data directory) with
        the database --db URL (else $IMPACT_DB, else its own SQLite file).  Not created
        unless `create`."""
        return cls(resolve_dir(given, environ), url=resolve_db(db, environ) or EMBEDDED,
                   create=create, lock=lock)

    def close(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.dispose()
        self._held.close()        # the store's lock, if this holds it

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------

    def _select(self) -> Any:
        return _VERSIONS_SELECT if self.embedded else _PG_VERSIONS_SELECT

    def _version(self, row: Any) -> Version:
        """A row as a `Version`; `DamagedRow` (naming the dataset and version) if a value
        in it cannot be read."""
        m = row._mapping
        column = "?"
        try:
            column = "as_of"
            as_of = _parse_date(m["as_of"])
            column = "uploaded_at"
            uploaded = _parse_datetime(m["uploaded_at"])
            if uploaded.tzinfo is None:
                uploaded = uploaded.replace(tzinfo=UTC)
            column = "sheets"
            sheets = tuple(str(x) for x in _parse_json(m["sheets"], list))
            column = "totals"
            totals = exact_totals(_parse_json(m["totals"], dict))
            needed = _TOTALS_NEEDED + (_AT_RISK if "at_risk_fte" in totals else ())
            absent = [k for k in needed if k not in totals]
            if absent:
                raise KeyError(f"'{absent[0]}' is missing")
            for key in needed:
                given = not (key.endswith("_posts") and totals[key] is None)  # no Posts column
                if key != "pct_deleted" and given and not isinstance(totals[key], int | Decimal):
                    raise TypeError(f"'{key}' is not a number")
            headline(totals)
            column = "rows"
            rows, size = int(m["rows"]), int(m["size"])
            column = "read_options"
            read_options = dict(_parse_json(m["read_options"], dict))
            column = "number"
            number = int(m["number"])
            version = Version(dataset=m["name"], slug=m["slug"], number=number, as_of=as_of,
                              uploaded_at=uploaded, uploaded_by=m["uploaded_by"],
                              note=m["note"] or "", sha256=m["sha256"],
                              original_name=m["original_name"],
                              stored_name=m["stored_name"], size=size,
                              sheets=sheets, rows=rows, totals=totals,
                              read_options=read_options, id=int(m["id"]))
        except (ValueError, TypeError, KeyError, ArithmeticError, AttributeError) as e:
            raise DamagedRow(m["name"], m["number"], column, e,
                             stored_name=str(m["stored_name"] or ""),
                             original_name=str(m["original_name"] or "")) from None
        # on PostgreSQL the original is in the database, committed with its row (a query
        # of `_select` says whether it is still there); the folder is only a cache
        if (not (self.files / version.stored_name).is_file() if self.embedded
                else m.get("blob_held") is False):
            version = replace(version, file_missing=True)
        return version

    def _rows(self, query: Any, params: Mapping[str, Any] | None = None) -> list[Any]:
        try:
            with self._reading() as conn:
                return list(conn.execute(query, params))
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read the store database at {self.where}: "
                             f"{db_message(e)}") from None

    def names(self) -> list[str]:
        return [r[0] for r in self._rows(select(datasets_t.c.name).order_by(datasets_t.c.slug))]

    def datasets(self) -> list[Dataset]:
        """Every dataset with at least one version, by name, each with its latest version."""
        query = _latest().order_by(datasets_t.c.slug)
        return [Dataset(r.name, r.slug, r.count, self._version(r)) for r in self._rows(query)]

    def dataset_by_slug(self, slug: str) -> Dataset | None:
        """The dataset whose slug is `slug`, with its latest version, or None: the same
        as looking through `datasets()`, in one query of one dataset (the portal asks on
        every request)."""
        rows = self._rows(_DATASET_BY_SLUG, {"slug": slug})
        return Dataset(rows[0].name, rows[0].slug, rows[0].count,
                       self._version(rows[0])) if rows else None

    def version_by_slug(self, slug: str, number: int) -> Version | None:
        """Version `number` of the dataset whose slug is `slug`, or None (one query)."""
        rows = self._rows(_VERSION_BY_SLUG, {"slug": slug, "number": number})
        return self._version(rows[0]) if rows else None

    def versions(self, dataset: str) -> list[Version]:
        """Every version of `dataset`, oldest first.  Raises `UnknownDataset`."""
        rows = self._rows(self._select().where(_named(dataset)).order_by(versions_t.c.number))
        if not rows:
            raise self._unknown(dataset)
        return [self._version(r) for r in rows]

    def version(self, dataset: str, number: int | None = None) -> Version:
        """Version `number` of `dataset`, or its latest.  Raises `UnknownDataset`."""
        query = self._select().where(_named(dataset))
        if number is None:
            query = query.order_by(versions_t.c.number.desc()).limit(1)
        else:
            query = query.where(versions_t.c.number == number)
        rows = self._rows(query)
        if rows:
            return self._version(rows[0])
        if number is None:
            raise self._unknown(dataset)
        held = [v.number for v in self.versions(dataset)]
        raise UnknownDataset(f"dataset '{dataset}' has no version {number}; it has "
                             f"{_ranges(held)} (see: impact history {_quote(dataset)})")

    def version_before(self, dataset: str, number: int) -> Version | None:
        """The version of `dataset` stored before version `number` (the highest number
        below it), or None: one row, for the portal's every download."""
        rows = self._rows(self._select().where(_named(dataset), versions_t.c.number < number)
                          .order_by(versions_t.c.number.desc()).limit(1))
        return self._version(rows[0]) if rows else None

    def version_pair(self, dataset: str, older: int | None = None,
                     newer: int | None = None) -> tuple[Version, Version]:
        """The two versions a comparison means: `newer` (default the latest) and `older`
        (default the one before it)."""
        new = self.version(dataset, newer)
        if older is None:
            if new.number == 1:
                raise UsageProblem(f"'{new.dataset}' has no version before version 1; give "
                                   f"--from N and --to M")
            older = new.number - 1
        return self.version(dataset, older), new

    def version_as_of(self, dataset: str, day: date) -> Version | None:
        """The version of `dataset` in force on `day`, or None: of those with an as-of date
        on or before `day`, the one with the latest as-of date; of several with that date,
        the one uploaded last (then the highest number).  So a backdated upload does not
        displace one dated later.  Every version is read (in Python, not compared as text
        by the database), so a damaged as-of date is reported, never silently passed over."""
        rows = self._rows(self._select().where(_named(dataset)))
        dated = [v for v in (self._version(r) for r in rows) if v.as_of <= day]
        return max(dated, key=lambda v: (v.as_of, v.uploaded_at, v.number), default=None)

    def _unknown(self, dataset: str) -> UnknownDataset:
        names = self.names()
        hint = (f"the store at {self.root} holds {', '.join(repr(n) for n in names[:10])}"
                + (" …" if len(names) > 10 else "") if names else
                f"the store at {self.root} is empty; add a file with "
                f"impact upload FILE --dataset NAME")
        return UnknownDataset(f"no dataset '{dataset}' in the store; {hint}")

    def path_of(self, version: Version, *, verify: bool = True) -> Path:
        """The stored original of `version`.  Raises `StoreError` if it is missing or damaged.

        Every reader of a stored original comes here.  On PostgreSQL the database holds
        it (`blobs`) and STORE/files is a cache: the file there is used if its sha256 is
        right, else it is fetched from the database into the cache (atomically) and
        checked against its sha256."""
        path = self.files / version.stored_name
        if not self.embedded:
            if path.is_file() and (not verify or self._intact(path, version.sha256)):
                return path
            return self._fetch_original(version, path)
        if not path.is_file():
            raise StoreError(f"the stored file for '{version.dataset}' version {version.number} "
                             f"({path}) is missing; upload {version.original_name} again to "
                             f"'{version.dataset}' (the same bytes put the copy back), or "
                             f"restore the store from a backup")
        if verify and sha256_file(path) != version.sha256:
            raise StoreError(f"the stored file for '{version.dataset}' version {version.number} "
                             f"({path}) is damaged: its sha256 no longer matches; restore the "
                             f"store from a backup")
        return path

    def _share_originals(self) -> None:
        """Put into the database the originals that only this folder holds: those of a
        store made on PostgreSQL before the database kept them (one query when there
        are none).  A file here that is missing or damaged is left for `path_of` to
        report."""
        query = (select(versions_t.c.sha256, func.min(versions_t.c.stored_name))
                 .where(~select(blobs.blobs_t.c.sha256)
                        .where(blobs.blobs_t.c.sha256 == versions_t.c.sha256).exists())
                 .group_by(versions_t.c.sha256))
        with self.engine.connect() as conn:
            missing = list(conn.execute(query))
        for sha256, stored_name in missing:
            path = self.files / stored_name
            if self._intact(path, sha256):
                with self.engine.begin() as conn:
                    self._put_blob(conn, path, sha256)

    def _fetch_original(self, version: Version, path: Path) -> Path:
        """Fetch `version`'s original from the database into the cache file `path`."""
        what = f"the stored file for '{version.dataset}' version {version.number}"
        found = self._fetch_blob(version.sha256, path, STORED_FILE, what)
        if not found:
            raise StoreError(f"{what} is missing from the store database at {self.where}; "
                             f"upload {version.original_name} again to '{version.dataset}' "
                             f"(the same bytes put it back), or restore the store from a "
                             f"backup")
        return path

    def _fetch_blob(self, sha256: str, path: Path, perms: int, what: str) -> bool:
        """Copy the blob `sha256` from the database to `path` (atomically: a reader sees
        the whole file or none); whether the database has it.  `StoreError` if it cannot
        be read or is not its sha256's bytes."""
        try:
            with atomic_output(path, perms=perms) as fh:
                if not blobs.copy_out(self.engine, sha256, fh):
                    raise _NoBlob
        except _NoBlob:
            return False
        except blobs.Mismatch:
            raise StoreError(f"{what} is damaged in the store database at {self.where}: its "
                             f"sha256 no longer matches; restore the store from a backup"
                             ) from None
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read {what} from the store database at {self.where}: "
                             f"{db_message(e)}") from None
        return True

    def _put_blob(self, conn: Connection, src: Path, sha256: str) -> None:
        """Stream the file `src` into the database as the blob `sha256` (PostgreSQL only),
        in `conn`'s transaction."""
        try:
            with open(src, "rb") as fh:
                blobs.put(conn, fh, sha256)
        except blobs.Mismatch:
            raise StoreError(f"{src.name} changed while it was being stored; upload it "
                             f"again") from None
        except OSError as e:
            raise StoreError(f"cannot read {src}: {e.strerror or e}") from None

    # -- built outputs, shared through a PostgreSQL database ----------------

    @staticmethod
    def _output_key(version: Version, output: str) -> tuple[str, int, str, str]:
        return (version.dataset, version.number, version.sha256, output)

    def put_output(self, version: Version, output: str, path: Path) -> None:
        """On PostgreSQL, put the built file `path` of `version`'s `output` into the
        database, so that every server on the store can serve it (`fetch_output`).
        Nothing on SQLite, whose folder is the store."""
        if self.embedded:
            return
        sha256 = sha256_file(path)
        key = self._output_key(version, output)
        try:
            with self.engine.begin() as conn, open(path, "rb") as fh:
                blobs.put_output(conn, key, fh, sha256)
        except blobs.Mismatch:
            raise StoreError(f"the built {output} of '{version.dataset}' version "
                             f"{version.number} changed while it was stored") from None
        except SQLAlchemyError as e:
            raise StoreError(f"cannot store the built {output} in the store database at "
                             f"{self.where}: {db_message(e)}") from None

    def fetch_output(self, version: Version, output: str, path: Path) -> bool:
        """On PostgreSQL, fill the cache file `path` with `version`'s built `output` from
        the database; whether the database had it (always False on SQLite)."""
        if self.embedded:
            return False
        key = self._output_key(version, output)
        try:
            with self._reading() as conn:
                sha256 = blobs.output_blob(conn, key)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read the store database at {self.where}: "
                             f"{db_message(e)}") from None
        if sha256 is None:
            return False
        private_dir(path.parent)
        return self._fetch_blob(sha256, path, PRIVATE_FILE,
                                f"the built {output} of '{version.dataset}' version "
                                f"{version.number}")

    def shared_secret(self, key: str) -> str | None:
        """On PostgreSQL, the random secret `key` kept in the database's meta table, made
        once by whichever process asks first (INSERT ... ON CONFLICT DO NOTHING, then
        SELECT: two servers starting at once get the same one).  None on SQLite, whose
        secrets stay in the store's folder."""
        if self.embedded:
            return None
        def work(conn: Connection) -> str:
            conn.execute(pg_insert(meta_t).values(key=key, value=secrets.token_hex(32))
                         .on_conflict_do_nothing())
            return str(conn.execute(select(meta_t.c.value).where(meta_t.c.key == key))
                       .scalar_one())
        return self.run("keep the portal's secret key", work)  # type: ignore[no-any-return]

    def slug(self, dataset: str) -> str:
        """The folder label of `dataset` as the store keeps it (unique among datasets)."""
        rows = self._rows(select(datasets_t.c.slug).where(_named(dataset)))
        if not rows:
            raise self._unknown(dataset)
        return str(rows[0][0])

    # -- checking and copying ------------------------------------------------

    def integrity(self) -> list[str]:
        """SQLite's PRAGMA integrity_check: [] when the database file is sound.  (A
        PostgreSQL server checks its own pages; the rows are checked by `scan`.)"""
        if not self.embedded:
            return []
        try:
            with self.engine.connect() as conn:
                lines = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check")]
        except SQLAlchemyError as e:
            return [db_message(e)]
        return [] if lines == ["ok"] else lines

    def scan(self) -> tuple[list[Dataset], list[Version], list[DamagedRow]]:
        """Every dataset (with at least one readable version), every readable version and
        every row that cannot be read."""
        versions: list[Version] = []
        damaged: list[DamagedRow] = []
        for row in self._rows(self._select().order_by(datasets_t.c.slug,
                                                      versions_t.c.number)):
            try:
                versions.append(self._version(row))
            except DamagedRow as e:
                damaged.append(e)
        by_name: dict[str, list[Version]] = {}
        for v in versions:
            by_name.setdefault(v.dataset, []).append(v)
        datasets = [Dataset(name, vs[-1].slug, len(vs), vs[-1]) for name, vs in by_name.items()]
        return datasets, versions, damaged

    def backup_database(self, dest: Path) -> None:
        """A consistent copy of the database at `dest`, taken with SQLite's online backup
        API while other processes may be writing (they wait, at most seconds)."""
        if not self.embedded:
            raise StoreError(PG_BACKUP)
        source = str(self.db_file)
        try:
            src = sqlite3.connect(source, timeout=_BUSY_TIMEOUT_S)
            try:
                dst = sqlite3.connect(dest)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
            finally:
                src.close()
        except sqlite3.Error as e:
            raise StoreError(f"cannot back up the store database at {self.where}: {e}") \
                from None

    # -- writing -----------------------------------------------------------

    def add(self, src: str | os.PathLike[str], dataset: str, *, sha256: str,
            original_name: str, as_of: date, uploaded_by: str, note: str,
            sheets: Iterable[str], rows: int, totals: Mapping[str, Any],
            read_options: Mapping[str, Any] | None = None,
            now: datetime | None = None, pause: float = 0.0) -> tuple[Version, bool]:
        """Store the file `src` (whose sha256 the caller has already computed) as a new
        version of `dataset`.  Returns (version, created); `created` is False when the
        dataset's latest version is these exact bytes, and that version is returned.  The
        bytes of an earlier version (not the latest) make a new version: going back to an
        earlier proposal is a change (`same_as` finds which version it repeats).
        `pause` sleeps that long at each step (a test hook, for killing an upload).
        Holds the store's lock, shared, while it writes (see `lock.py`)."""
        with store_lock(self.root, "shared", what="impact upload", db=self.pg_url):
            self.refuse_while_restoring()
            return self._add(src, dataset, sha256=sha256, original_name=original_name,
                             as_of=as_of, uploaded_by=uploaded_by, note=note, sheets=sheets,
                             rows=rows, totals=totals, read_options=read_options, now=now,
                             pause=pause)

    def _add(self, src: str | os.PathLike[str], dataset: str, *, sha256: str,
             original_name: str, as_of: date, uploaded_by: str, note: str,
             sheets: Iterable[str], rows: int, totals: Mapping[str, Any],
             read_options: Mapping[str, Any] | None, now: datetime | None,
             pause: float) -> tuple[Version, bool]:
        name = check_name(dataset)
        for value, limit, what in ((uploaded_by, MAX_BY, "--by name"),
                                   (original_name, MAX_FILE_NAME, "file name")):
            if len(value) > limit:      # PostgreSQL would refuse it, SQLite not: refuse both
                raise UsageProblem(f"the {what} is {len(value)} characters long; use at most "
                                   f"{limit}")
        existing = self._latest_if(name, sha256)
        if existing is not None:
            return existing, False
        suffix = Path(original_name).suffix.lower()
        stored_name = sha256 + (suffix if suffix in _KNOWN_SUFFIXES else "")
        self._put_file(Path(src), stored_name, sha256, pause)
        faults.point("upload.file-stored")
        time.sleep(pause)
        stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(
            tzinfo=None, microsecond=0)
        values = {"as_of": as_of, "uploaded_at": stamp, "uploaded_by": uploaded_by,
                  "note": note, "sha256": sha256, "original_name": original_name,
                  "stored_name": stored_name, "size": (self.files / stored_name).stat().st_size,
                  "sheets": list(sheets), "rows": rows, "totals": jsonable(dict(totals)),
                  "read_options": dict(read_options or {})}
        for attempt in range(_RETRIES):
            try:
                with self.engine.begin() as conn:
                    dataset_id = self._dataset_id(conn, name, stamp)
                    latest = conn.execute(
                        select(versions_t.c.number, versions_t.c.sha256)
                        .where(versions_t.c.dataset_id == dataset_id)
                        .order_by(versions_t.c.number.desc()).limit(1)).first()
                    if latest is not None and latest.sha256 == sha256:
                        number, created = latest.number, False
                    else:
                        number = (latest.number if latest is not None else 0) + 1
                        if conn.execute(select(meta_t.c.value).where(
                                meta_t.c.key == _HAD_VERSIONS)).first() is None:
                            conn.execute(meta_t.insert().values(key=_HAD_VERSIONS, value="1"))
                        if not self.embedded:     # the original, in the same transaction
                            self._put_blob(conn, self.files / stored_name, sha256)
                        conn.execute(versions_t.insert().values(dataset_id=dataset_id,
                                                                number=number, **values))
                        faults.point("upload.inserted")
                        time.sleep(pause)
                        created = True
                return self.version(name, number), created
            except IntegrityError:
                # another upload took the number (or the dataset name) first: try again
                time.sleep(0.01 * (attempt + 1))
            except OperationalError as e:
                if not _passing(e) or attempt == _RETRIES - 1:
                    raise StoreError(f"cannot write to the store database at {self.where}: "
                                     f"{db_message(e)}") from None
                time.sleep(0.05 * (attempt + 1))
        raise StoreError(f"could not record a new version of '{name}' after {_RETRIES} "
                         f"attempts (other uploads kept taking the number); try again")

    def _dataset_id(self, conn: Connection, name: str, stamp: datetime) -> int:
        """The dataset's id, its row locked to the end of the transaction (PostgreSQL: FOR
        UPDATE, so uploads to one dataset take their numbers one after another; SQLite's
        BEGIN IMMEDIATE holds the whole database already).  A new dataset's row is new, so
        nobody else sees it before the commit; a second upload creating it at once hits the
        UNIQUE name and tries again."""
        found = conn.execute(select(datasets_t.c.id).where(_named(name)).with_for_update()
                             ).scalar()
        if found is not None:
            return int(found)
        slug = slugify(name)
        length = 8
        while conn.execute(select(datasets_t.c.id).where(datasets_t.c.slug == slug)
                           ).scalar() is not None:     # another name has this label
            slug = slug_with_hash(name, length)
            length += 4
        result = conn.execute(datasets_t.insert().values(name=name, slug=slug, created_at=stamp))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def _latest_if(self, name: str, sha256: str) -> Version | None:
        """The latest version of `name` if it is the file `sha256`, else None."""
        rows = self._rows(self._select().where(_named(name))
                          .order_by(versions_t.c.number.desc()).limit(1))
        if rows and rows[0].sha256 == sha256:
            return self._version(rows[0])
        return None

    def repair_file(self, version: Version, src: str | os.PathLike[str]) -> bool:
        """Put back the stored copy of `version` from `src` (the same bytes) if it is
        missing or no longer matches its sha256 (on PostgreSQL: in the database, and in
        the folder, its cache).  Returns whether it did."""
        repaired = False
        if not self._intact(self.files / version.stored_name, version.sha256):
            self._put_file(Path(src), version.stored_name, version.sha256)
            repaired = True
        if not self.embedded:
            with self.engine.begin() as conn:
                if not blobs.has(conn, version.sha256):
                    self._put_blob(conn, self.files / version.stored_name, version.sha256)
                    repaired = True
        return repaired

    @staticmethod
    def _intact(path: Path, sha256: str) -> bool:
        try:
            return path.is_file() and sha256_file(path) == sha256
        except OSError:
            return False

    def _put_file(self, src: Path, stored_name: str, sha256: str, pause: float = 0.0) -> None:
        """Copy `src` to files/<stored_name>, durably, unless an intact copy is there."""
        target = self.files / stored_name
        self._remove_stale_parts()
        if self._intact(target, sha256):
            return
        digest = hashlib.sha256()
        try:
            with open(src, "rb") as fin, atomic_output(target, perms=STORED_FILE) as fout:
                for chunk in iter(lambda: fin.read(1 << 20), b""):
                    digest.update(chunk)
                    fout.write(chunk)
                faults.point("upload.part-written")
                time.sleep(pause)
                if digest.hexdigest() != sha256:
                    raise StoreError(f"{src.name} changed while it was being uploaded; "
                                     f"upload it again once it is saved")
        except OSError as e:
            raise StoreError(f"cannot copy {src.name} into the store at {self.files}: "
                             f"{e.strerror or e}") from None


    def _remove_stale_parts(self) -> None:
        """Temporary copies a killed upload left in files/ (".<name>.<random>.part").  One
        untouched for an hour belongs to no running upload: a live copy is written to
        continuously, and nothing else writes there."""
        cutoff = time.time() - STALE_PART_S
        try:
            parts = list(self.files.glob(".*.part"))
        except OSError:
            return
        for part in parts:
            try:
                if not part.is_symlink() and part.stat().st_mtime < cutoff:
                    part.unlink()
            except OSError:
                continue


# --------------------------------------------------------------------------
# helpers

_PARSED = ("as_of", "uploaded_at", "sheets", "totals", "read_options")
# the saved totals every listing shows (`history`, `datasets`, the headline)
_TOTALS_NEEDED = ("baseline_fte", "baseline_posts", "deleted_fte", "deleted_posts",
                  "pct_deleted", "retained_fte", "relocated_fte", "created_fte", "future_fte")
_AT_RISK = ("at_risk_posts", "vacant_deleted_fte")


PG_BACKUP = ("Store.backup_database copies an SQLite database only; a store on PostgreSQL is "
             "backed up by reports.store.transfer")


def _versions_select() -> Any:
    # Dates and JSON come back as text and are parsed in `Store._version`, so that one
    # damaged row is reported by dataset and version instead of failing the whole query.
    raw = [type_coerce(c, Text).label(c.name) if c.name in _PARSED else c
           for c in versions_t.c]
    return (select(*raw, datasets_t.c.name, datasets_t.c.slug)
            .join(datasets_t, versions_t.c.dataset_id == datasets_t.c.id))


# Built once: a Select is immutable (each .where() makes a new one), so every thread may
# start from it, and SQLAlchemy keeps its cache key instead of working it out per query.
_VERSIONS_SELECT = _versions_select()
# on PostgreSQL, with whether the database still holds the version's original
_PG_VERSIONS_SELECT = _VERSIONS_SELECT.add_columns(
    select(blobs.blobs_t.c.sha256).where(blobs.blobs_t.c.sha256 == versions_t.c.sha256)
    .exists().label("blob_held"))
# built once: the portal runs it on every download (see accounts._SESSION_USER)
_VERSION_BY_SLUG = _VERSIONS_SELECT.where(datasets_t.c.slug == bindparam("slug"),
                                          versions_t.c.number == bindparam("number"))


def _latest(*where: Any) -> Any:
    """Each dataset's latest version (of the datasets matching `where`), with its count
    of versions."""
    latest = (select(versions_t.c.dataset_id, func.max(versions_t.c.number).label("n"),
                     func.count().label("count"))
              .join(datasets_t, datasets_t.c.id == versions_t.c.dataset_id).where(*where)
              .group_by(versions_t.c.dataset_id).subquery())
    return (_VERSIONS_SELECT.add_columns(latest.c.count)
            .join(latest, (latest.c.dataset_id == versions_t.c.dataset_id)
                  & (latest.c.n == versions_t.c.number)))


# the portal asks on every request for a dataset's latest version: built once, and
# grouping only that dataset's versions
_DATASET_BY_SLUG = _latest(datasets_t.c.slug == bindparam("slug"))


class _NoBlob(Exception):
    """The database has no such blob (inside `Store._fetch_blob` only)."""


class DamagedStore(StoreError):
    """A store whose database has lost a table or its versions while it is not new."""

    def __init__(self, message: str, originals: list[str]) -> None:
        super().__init__(message)
        self.originals = originals


def pending_restore(root: Path) -> dict[str, Any] | None:
    """What an interrupted `impact store restore` of the store at `root` recorded
    (RESTORE_MARKER; {} if it cannot be read), or None if there is none."""
    path = root / RESTORE_MARKER
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def read_store_id(root: Path) -> str | None:
    """The id in STORE/store-id, or None if there is none."""
    try:
        found = (root / ID_FILE).read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    return found if re.fullmatch(r"[0-9a-f]{32}", found) else None


def write_store_id(root: Path, store_id: str) -> None:
    """Write the store's id into STORE/store-id (atomically: never half a file)."""
    with atomic_output(root / ID_FILE, "w", perms=PRIVATE_FILE) as fh:
        fh.write(store_id + "\n")


class DamagedRow(StoreError):
    """A version's row whose saved values cannot be read."""

    def __init__(self, dataset: str, number: Any, column: str, error: Exception, *,
                 stored_name: str = "", original_name: str = "") -> None:
        self.dataset, self.number, self.column = dataset, number, column
        self.stored_name, self.original_name = stored_name, original_name
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        super().__init__(f"version {number} of dataset '{dataset}' is damaged in the store "
                         f"database: its saved {column} cannot be read ({detail}); see "
                         f"impact store check")


def same_as(versions: list[Version], version: Version) -> int | None:
    """The number of the latest earlier version of the same dataset with the same bytes
    as `version` (it went back to that file), or None.  `versions`: the dataset's."""
    earlier = [v.number for v in versions
               if v.number < version.number and v.sha256 == version.sha256]
    return max(earlier) if earlier else None


def _allow_repeated_files(conn: Connection) -> None:
    """Schema 1 and 2 held each file at most once per dataset (a UNIQUE constraint on
    dataset and sha256); drop it.  PostgreSQL drops the constraint; SQLite cannot, so the
    versions table is copied into a new one without it (in this transaction: all or
    nothing).  `metadata.create_all` then adds the plain index in its place."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ALTER TABLE versions DROP CONSTRAINT IF EXISTS uq_version_file")
        return
    columns = ", ".join(f'"{c.name}"' for c in versions_t.c)
    conn.exec_driver_sql("ALTER TABLE versions RENAME TO versions_schema2")
    for index in versions_t.indexes:     # index names are the database's: free them
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
    versions_t.create(conn)
    conn.exec_driver_sql(f"INSERT INTO versions ({columns}) SELECT {columns} "
                         f"FROM versions_schema2")
    conn.exec_driver_sql("DROP TABLE versions_schema2")


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def _parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).strip())


def _parse_json(value: Any, kind: type) -> Any:
    parsed = json.loads(value) if isinstance(value, str | bytes) else value
    if not isinstance(parsed, kind):
        raise TypeError(f"{kind.__name__} expected, found {type(parsed).__name__}")
    return parsed


def _named(dataset: str) -> Any:
    """A dataset is known by its exact name, NFC-normalised and trimmed: 'Early Help' and
    'early-help' are two datasets."""
    return datasets_t.c.name == check_name(dataset)


def _passing(e: OperationalError) -> bool:
    """Whether a write that failed this way may simply be tried again: SQLite's database
    was locked, or PostgreSQL chose this transaction to give way (deadlock, serialization)."""
    return "locked" in str(e) or getattr(e.orig, "sqlstate", None) in _RETRY_STATES


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[\w.-]+", name) else f'"{name}"'


def _ranges(numbers: list[int]) -> str:
    if not numbers:
        return "no versions"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
        return f"versions {numbers[0]} to {numbers[-1]}"
    return "version" + ("s " if len(numbers) > 1 else " ") + ", ".join(map(str, numbers))


