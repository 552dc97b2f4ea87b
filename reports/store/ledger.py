"""The publication ledger: every public figure released for a stored dataset.

One row per version's release (`ledger_releases`: the pattern of hidden figures chosen
for that version, with the figures and relations it was chosen over, as
`figures.releases` writes them), and one row per figure per output that released it
(`ledger_figures`: the figure's label, its value or NULL for hidden, the version, the
output, and when).  A new public output is audited together with every release of its
dataset (`services.publication`).

Two processes may release at once (two portal builders, a monthly run): each reads the
ledger's revision for the dataset, chooses its pattern over what it read, and records
its release only if the revision is still the one it read (`ledger_heads`; an UPDATE
... WHERE revision = read, or the first INSERT, is atomic on SQLite and PostgreSQL
alike).  Otherwise `LedgerMoved` is raised and the caller chooses again.

The ledger lives in the store's database; `--ledger FILE` keeps one in a SQLite file
of its own for files that are not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..figures import releases
from ..figures.releases import Release
from ..model.errors import StoreError
from .accounts import now_utc
from .db import Store, db_message, sqlite_engine
from .paths import MAX_NAME

metadata = MetaData()

heads_t = Table(
    "ledger_heads", metadata,
    Column("dataset", String(MAX_NAME), primary_key=True),
    Column("revision", Integer, nullable=False),
)

releases_t = Table(
    "ledger_releases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset", String(MAX_NAME), nullable=False, index=True),
    Column("version", String(64), nullable=False),       # the version's sha256
    Column("label", String(200), nullable=False),
    Column("template", String(200), nullable=False),
    Column("body", Text, nullable=False),                 # releases.to_json
    Column("at", DateTime(timezone=True), nullable=False),
)

figures_t = Table(
    "ledger_figures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("release_id", Integer, ForeignKey("ledger_releases.id"), nullable=False,
           index=True),
    Column("output", String(200), nullable=False),
    Column("figure", String(1000), nullable=False),
    Column("value", String(100)),                         # NULL: hidden
    Column("at", DateTime(timezone=True), nullable=False),
)


class LedgerMoved(Exception):
    """Another process recorded a release since this one read the ledger."""


@dataclass(frozen=True)
class Stored:
    id: int
    release: Release


@dataclass(frozen=True)
class State:
    """The ledger of one dataset as read: its revision and its releases."""

    dataset: str
    revision: int
    stored: tuple[Stored, ...]

    def own(self, version: str, template: str) -> list[Stored]:
        """This version's releases under this template, newest first."""
        return [s for s in reversed(self.stored) if s.release.version == version
                and s.release.template == template]

    def others(self, but: Stored | None) -> tuple[Release, ...]:
        """Every release but `but`."""
        return tuple(s.release for s in self.stored if s is not but)


@dataclass(frozen=True)
class Entry:
    """One figure as an output released it."""

    version: str
    label: str
    output: str
    figure: str
    value: str | None          # None: hidden
    at: datetime


class Ledger:
    """The publication ledger in a store's database, or in a file of its own."""

    def __init__(self, engine: Engine, where: str, make: Callable[[], None],
                 owned: bool = False) -> None:
        self.engine = engine
        self.where = where
        self.owned = owned              # its own file's engine, disposed by `close`
        try:
            make()
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open the publication ledger in {where}: "
                             f"{db_message(e)}") from None

    @classmethod
    def of_store(cls, store: Store) -> Ledger:
        return cls(store.engine, store.where, lambda: store.create_tables(metadata))

    @classmethod
    def of_file(cls, path: Path) -> Ledger:
        """A ledger kept in a SQLite file of its own (`--ledger FILE`), made if new."""
        engine = sqlite_engine(path)
        return cls(engine, str(path), lambda: metadata.create_all(engine), owned=True)

    def _run(self, what: str, work: Callable[[Any], Any]) -> Any:
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except (LedgerMoved, IntegrityError):
            raise
        except SQLAlchemyError as e:
            raise StoreError(f"cannot {what} in the publication ledger at {self.where}: "
                             f"{db_message(e)}") from None

    def state(self, dataset: str) -> State:
        def work(conn: Any) -> State:
            rev = conn.execute(select(heads_t.c.revision)
                               .where(heads_t.c.dataset == dataset)).scalar()
            rows = conn.execute(select(releases_t.c.id, releases_t.c.body)
                                .where(releases_t.c.dataset == dataset)
                                .order_by(releases_t.c.id)).all()
            return State(dataset, rev or 0,
                         tuple(Stored(r.id, releases.from_json(r.body)) for r in rows))
        return self._run("read", work)  # type: ignore[no-any-return]

    def record(self, state: State, release: Release, output: str,
               figures: list[tuple[str, str | None]], kept: Stored | None = None) -> None:
        """Record `release` (a new one, or `kept`, the stored release whose pattern it
        kept) and the figures `output` released, if the dataset's ledger is still at
        `state`'s revision; else `LedgerMoved`.  An output's figures are recorded once
        per release."""
        now = now_utc()
        dataset = state.dataset

        def work(conn: Any) -> None:
            if state.revision == 0:
                conn.execute(insert(heads_t).values(dataset=dataset, revision=1))
            elif not conn.execute(update(heads_t).where(
                    heads_t.c.dataset == dataset, heads_t.c.revision == state.revision)
                    .values(revision=state.revision + 1)).rowcount:
                raise LedgerMoved
            if kept is not None:
                rid = kept.id
                if conn.execute(select(figures_t.c.id).where(
                        figures_t.c.release_id == rid, figures_t.c.output == output)
                        .limit(1)).first():
                    return
            else:
                rid = conn.execute(insert(releases_t).values(
                    dataset=dataset, version=release.version, label=release.label[:200],
                    template=release.template[:200], body=releases.to_json(release),
                    at=now)).inserted_primary_key[0]
            if figures:
                conn.execute(insert(figures_t), [
                    {"release_id": rid, "output": output[:200], "figure": f[:1000],
                     "value": v, "at": now} for f, v in figures])

        try:
            self._run("record a release", work)
        except IntegrityError:          # another process made the first head row
            raise LedgerMoved from None

    def entries(self, dataset: str) -> list[Entry]:
        """Every figure released for `dataset`, oldest first."""
        r, f = releases_t, figures_t
        rows = self._run("read", lambda c: c.execute(
            select(r.c.version, r.c.label, f.c.output, f.c.figure, f.c.value, f.c.at)
            .join(f, f.c.release_id == r.c.id).where(r.c.dataset == dataset)
            .order_by(f.c.id)).all())
        return [Entry(*row) for row in rows]

    def close(self) -> None:
        if self.owned:
            self.engine.dispose()
