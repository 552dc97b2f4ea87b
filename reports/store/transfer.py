"""Copying a store's tables between PostgreSQL and an SQLite file, for backup and restore.

A backup is always an SQLite file (STORE/impact.db of the backup folder), whichever
database the store uses: a store on PostgreSQL is backed up by copying every table
impact keeps (`all_tables`: the store's own, the portal's accounts and audit log, the
build queue, the ledger, the delivery lists with every message sent, and the shared small
files: profiles, template overrides, held uploads) from one snapshot of its database (a REPEATABLE READ
transaction) into a new SQLite file, and restored by the reverse copy.

`replace_tables` restores: in ONE PostgreSQL transaction it locks every table against
writers (readers go on, seeing the old rows), deletes their rows, inserts the backup's,
resets the id sequences and records the restore's id in `meta`.  PostgreSQL's DDL and
DML are transactional, so until the COMMIT every reader sees the old store, and from it
the new one; a transaction cut off by a kill is rolled back by the server.  It holds
the advisory lock `RESTORE_KEY` to its end, so `restore_committed` (which takes the same
lock) learns whether a killed restore's transaction committed only once the server has
finished it, either way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, Table, create_engine, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..model.errors import StoreError
from . import accounts, delivery, jobs, ledger, shared
from .db import _SCHEMA_LOCK, db_message, meta_t, shown_url, sqlite_engine
from .db import metadata as store_metadata

RESTORE_KEY = 0x1A7AC9        # advisory lock a restore's transaction holds to its end
RESTORE_ID = "restore_id"     # meta: the id of the restore that put these rows here
_BATCH = 500


def all_tables() -> MetaData:
    """Every table impact keeps in a store's database, in one MetaData (so that they
    sort by their foreign keys)."""
    combined = MetaData()
    for tables in (store_metadata, accounts.metadata, jobs.metadata, ledger.metadata,
                   delivery.metadata, shared.metadata):
        for table in tables.sorted_tables:
            table.to_metadata(combined)
    return combined


def _columns(conn: Connection, table: Table) -> list[Any]:
    """The columns of `table` that the database's copy of it has (an older impact may
    have made it without a later one)."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    return [c for c in table.columns if c.name in have]


def _utc(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Times with a zone as naive UTC (SQLite keeps no zone), and back on PostgreSQL."""
    for column in table.columns:
        value = row.get(column.name)
        if isinstance(column.type, DateTime) and column.type.timezone and \
                isinstance(value, datetime):
            row[column.name] = (value.astimezone(UTC).replace(tzinfo=None)
                                if value.tzinfo else value)
    return row


def _copy(src: Connection, dst: Connection, table: Table) -> int:
    columns = _columns(src, table)
    rows = src.execute(select(*columns)).mappings()
    count = 0
    while True:
        batch = [_utc(table, dict(r)) for r in rows.fetchmany(_BATCH)]
        if not batch:
            return count
        dst.execute(table.insert(), batch)
        count += len(batch)


def dump_to_sqlite(url: str, dest: Path) -> None:
    """Copy every impact table of the PostgreSQL database `url`, as one snapshot, into the
    new SQLite file `dest`."""
    tables = all_tables()
    out, engine = sqlite_engine(dest), _engine(url)
    try:
        with engine.connect() as src:
            src = src.execution_options(isolation_level="REPEATABLE READ")
            with src.begin():
                have = set(inspect(src).get_table_names())
                with out.begin() as dst:
                    tables.create_all(dst)
                    for table in tables.sorted_tables:
                        if table.name in have:
                            _copy(src, dst, table)
    except SQLAlchemyError as e:
        raise StoreError(f"cannot back up the store database at {shown_url(url)}: "
                         f"{db_message(e)}") from None
    finally:
        out.dispose()
        engine.dispose()


def _engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool,
                         connect_args={"connect_timeout": 10, "application_name": "impact"})


def replace_tables(url: str, source: Path, restore_id: str,
                   step: Callable[[str], None]) -> None:
    """Replace every impact table of the PostgreSQL database `url` with the tables of the
    SQLite file `source`, in one transaction (see the module's docstring).  `step` is
    called after each table is loaded ("loading") and just before the COMMIT
    ("committing"): the restore's test hooks."""
    def mark(conn: Connection) -> None:
        conn.execute(meta_t.delete().where(meta_t.c.key == RESTORE_ID))
        conn.execute(meta_t.insert().values(key=RESTORE_ID, value=restore_id))
    try:
        _load(url, source, step, before_delete=None, before_commit=mark)
    except SQLAlchemyError as e:
        raise StoreError(f"cannot restore into the store database at {shown_url(url)}: "
                         f"{db_message(e)}; it is as it was") from None


def load_into_empty(url: str, source: Path, step: Callable[[str], None],
                    refuse: Callable[[Connection], None],
                    before_commit: Callable[[Connection], None]) -> None:
    """Copy every impact table of the SQLite file `source` into the PostgreSQL database
    `url`, in one transaction, as `replace_tables` does; `refuse(conn)` is called once the
    transaction holds its locks and before anything is written (it raises to refuse a
    database that is not empty: nothing is then changed), and `before_commit(conn)` adds
    what else must commit with the tables (`impact store migrate`: the originals).  A
    failure or a kill anywhere rolls the whole of it back."""
    try:
        _load(url, source, step, before_delete=refuse, before_commit=before_commit)
    except SQLAlchemyError as e:
        raise StoreError(f"cannot copy the store into the database at {shown_url(url)}: "
                         f"{db_message(e)}; nothing was written to it") from None


def _load(url: str, source: Path, step: Callable[[str], None],
          before_delete: Callable[[Connection], None] | None,
          before_commit: Callable[[Connection], None]) -> None:
    tables = all_tables()
    src_engine, engine = sqlite_engine(source), _engine(url)
    try:
        with engine.begin() as conn, src_engine.connect() as src:
            conn.execute(select(func.pg_advisory_xact_lock(RESTORE_KEY)))
            conn.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
            tables.create_all(conn)
            prep = conn.dialect.identifier_preparer
            names = ", ".join(prep.format_table(t) for t in tables.sorted_tables)
            # writers wait for the COMMIT; readers go on, seeing the old rows until then
            conn.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
            if before_delete is not None:
                before_delete(conn)
            have = set(inspect(src).get_table_names())
            for table in reversed(tables.sorted_tables):
                conn.execute(table.delete())
            for table in tables.sorted_tables:
                if table.name in have:
                    _copy(src, conn, table)
                if table.autoincrement_column is not None:
                    _reset_sequence(conn, table, table.autoincrement_column.name)
                step("loading")
            before_commit(conn)
            step("committing")
    finally:
        src_engine.dispose()
        engine.dispose()


def empty_tables(url: str, extra: MetaData) -> None:
    """Delete every row of every impact table (and of `extra`'s tables) of the PostgreSQL
    database `url`, in one transaction: a migration that failed its check undone."""
    tables = all_tables()
    def work(conn: Connection) -> None:
        conn.execute(select(func.pg_advisory_xact_lock(RESTORE_KEY)))
        have = set(inspect(conn).get_table_names())
        for group in (extra, tables):
            for table in reversed(group.sorted_tables):
                if table.name in have:
                    conn.execute(table.delete())
    _run(url, "empty the tables", work)


def _reset_sequence(conn: Connection, table: Table, column: str) -> None:
    """The next id of `table` after its highest restored one (PostgreSQL's sequence does
    not move when rows are inserted with their ids)."""
    prep = conn.dialect.identifier_preparer
    conn.execute(text(
        f"SELECT setval(seq, COALESCE((SELECT max({prep.quote(column)}) FROM "
        f"{prep.format_table(table)}), 0) + 1, false) "
        f"FROM (SELECT pg_get_serial_sequence(:table, :column) AS seq) s "
        f"WHERE seq IS NOT NULL"), {"table": prep.format_table(table), "column": column})


def restore_committed(url: str, restore_id: str) -> bool:
    """Whether the restore `restore_id` committed its rows into the PostgreSQL database
    `url`; asked under `RESTORE_KEY`, so a killed restore's transaction has ended, either
    way, by the time this reads."""
    def ask(conn: Connection) -> bool:
        conn.execute(select(func.pg_advisory_xact_lock(RESTORE_KEY)))
        return _meta_value(conn, RESTORE_ID) == restore_id
    return bool(_run(url, "read the restore's mark", ask))


def versions_in(url: str) -> int:
    """How many versions the PostgreSQL database `url` holds (0 without a versions table);
    nothing is created."""
    def count(conn: Connection) -> int:
        if "versions" not in inspect(conn).get_table_names():
            return 0
        return int(conn.execute(text("SELECT count(*) FROM versions")).scalar() or 0)
    return int(_run(url, "count the versions", count))


def store_id_in(url: str) -> str | None:
    """The store id the PostgreSQL database `url` records (None: none, or no meta)."""
    return _run(url, "read the store's id",  # type: ignore[no-any-return]
                lambda conn: _meta_value(conn, "store_id"))


def _meta_value(conn: Connection, key: str) -> str | None:
    """The value of `key` in the database's meta table (None: no such key, or no meta)."""
    if "meta" not in inspect(conn).get_table_names():
        return None
    found = conn.execute(select(meta_t.c.value).where(meta_t.c.key == key)).scalar()
    return None if found is None else str(found)


def _run(url: str, what: str, work: Callable[[Connection], Any]) -> Any:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            return work(conn)
    except SQLAlchemyError as e:
        raise StoreError(f"cannot {what} in the store database at {shown_url(url)}: "
                         f"{db_message(e)}") from None
    finally:
        engine.dispose()
