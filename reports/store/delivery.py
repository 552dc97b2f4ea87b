"""Who receives the monthly briefings by e-mail, and every message sent to them.

Two tables in the store's database, beside the versions (SQLAlchemy Core on the
`Store`'s engine, so SQLite and a PostgreSQL URL alike; made on first use, as the
build queue's):

- ``delivery_list``: one row per dataset, audience and address;
- ``delivery_sends``: one row per message (a month's briefing of one dataset for one
  address of one audience), with its Message-ID, recorded *before* it is sent, its
  state, how many times it was tried, and the server's last answer.

A message is claimed for sending in one transaction (`claim`): its row goes from
queued or retry to sending only if it is still in one of those states, so two runs at
the same moment never send the same message; a row left "sending" by a run that died
is claimed again once `LEASE` has passed.  Nothing here knows SMTP: the sending is in
`reports.services.delivery`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..model.errors import StoreError
from .accounts import now_utc
from .db import Store, db_message
from .paths import MAX_NAME

MAX_ADDRESS = 320          # RFC 3696's longest address: 64 + 1 + 255
LEASE = timedelta(minutes=15)   # a message "sending" this long was left by a run that died

QUEUED, SENDING, SENT, RETRY, FAILED = "queued", "sending", "sent", "retry", "failed"

metadata = MetaData()

list_t = Table(
    "delivery_list", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset", String(MAX_NAME), nullable=False),
    Column("audience", String(20), nullable=False),
    Column("address", String(MAX_ADDRESS), nullable=False),
    Column("added_by", String(200), nullable=False),
    Column("added_at", DateTime, nullable=False),
    UniqueConstraint("dataset", "audience", "address", name="uq_delivery_list_entry"),
)

sends_t = Table(
    "delivery_sends", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(250), nullable=False, unique=True),
    Column("month", String(7), nullable=False),
    Column("dataset", String(MAX_NAME), nullable=False),
    Column("audience", String(20), nullable=False),
    Column("address", String(MAX_ADDRESS), nullable=False),
    # what the message carries: [{"path": absolute, "name": attachment name, "sha256"}]
    Column("files", JSON, nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("answer", Text, nullable=True),          # the server's last answer (or the error)
    Column("created_at", DateTime, nullable=False),
    Column("tried_at", DateTime, nullable=True),
    Column("sent_at", DateTime, nullable=True),
    UniqueConstraint("month", "dataset", "audience", "address", name="uq_delivery_message"),
)


@dataclass(frozen=True)
class Entry:
    """One address on a dataset's list for one audience."""

    id: int
    dataset: str
    audience: str
    address: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class Send:
    """One message, as recorded."""

    id: int
    message_id: str
    month: str
    dataset: str
    audience: str
    address: str
    files: list[dict[str, Any]]
    state: str
    attempts: int
    answer: str | None
    created_at: datetime
    tried_at: datetime | None
    sent_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        def stamp(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat() + "Z"
        return {"message_id": self.message_id, "month": self.month, "dataset": self.dataset,
                "audience": self.audience, "to": self.address,
                "files": [{"name": f["name"], "sha256": f["sha256"]} for f in self.files],
                "state": self.state, "attempts": self.attempts, "answer": self.answer,
                "created_at": stamp(self.created_at), "tried_at": stamp(self.tried_at),
                "sent_at": stamp(self.sent_at)}


class Deliveries:
    """The delivery list and the sends in a store's database (tables made on first use)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        try:
            store.create_tables(metadata)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open the delivery list in {store.where}: "
                             f"{db_message(e)}") from None

    # -- the list ---------------------------------------------------------------

    def add(self, dataset: str, audience: str, address: str, by: str) -> bool:
        """Add an address; False if it was on that list already."""
        try:
            self.store.run("add to the delivery list", lambda c: c.execute(list_t.insert().values(
                dataset=dataset, audience=audience, address=address, added_by=by[:200],
                added_at=now_utc())))
        except IntegrityError:
            return False
        return True

    def remove(self, dataset: str, audience: str, address: str) -> bool:
        """Take an address off a list; False if it was not on it."""
        return bool(self.store.run("remove from the delivery list", lambda c: c.execute(
            delete(list_t).where(list_t.c.dataset == dataset, list_t.c.audience == audience,
                                 list_t.c.address == address)).rowcount))

    def entry(self, entry_id: int) -> Entry | None:
        row = self.store.read("read the delivery list", lambda c: c.execute(
            select(list_t).where(list_t.c.id == entry_id)).first())
        return None if row is None else Entry(*row)

    def entries(self, dataset: str | None = None) -> list[Entry]:
        """Every entry (of one dataset), by dataset, audience and address."""
        query = select(list_t).order_by(list_t.c.dataset, list_t.c.audience, list_t.c.address)
        if dataset is not None:
            query = query.where(list_t.c.dataset == dataset)
        rows = self.store.read("read the delivery list", lambda c: c.execute(query).all())
        return [Entry(*r) for r in rows]

    # -- the messages -----------------------------------------------------------

    def plan(self, month: str, dataset: str, audience: str, address: str,
             files: list[dict[str, Any]], message_id: str) -> bool:
        """Record a message to send, with its Message-ID, unless that month's message for
        that dataset, audience and address is recorded already (whatever its state);
        whether it was recorded now."""
        try:
            self.store.run("record a message to send", lambda c: c.execute(
                sends_t.insert().values(
                    message_id=message_id, month=month, dataset=dataset, audience=audience,
                    address=address, files=files, state=QUEUED, attempts=0,
                    created_at=now_utc())))
        except IntegrityError:
            return False
        return True

    def to_send(self, now: datetime | None = None) -> list[Send]:
        """Every message waiting: queued, to retry, or left sending by a run that died."""
        stamp = now or now_utc()
        rows = self.store.read("read the messages to send", lambda c: c.execute(
            select(sends_t).where(_waiting(stamp)).order_by(sends_t.c.id)).all())
        return [Send(*r) for r in rows]

    def claim(self, send: Send, now: datetime | None = None) -> Send | None:
        """Mark a waiting message as being sent (one more attempt); None if another run
        took it meanwhile, or it is no longer waiting."""
        stamp = now or now_utc()
        taken = self.store.run("claim a message to send", lambda c: c.execute(
            update(sends_t).where(sends_t.c.id == send.id, _waiting(stamp))
            .values(state=SENDING, attempts=sends_t.c.attempts + 1, tried_at=stamp)).rowcount)
        if not taken:
            return None
        row = self.store.read("read a message", lambda c: c.execute(
            select(sends_t).where(sends_t.c.id == send.id)).first())
        return None if row is None else Send(*row)

    def finish(self, send: Send, state: str, answer: str,
               files: list[dict[str, Any]] | None = None) -> None:
        """Record how a send ended: SENT, RETRY or FAILED, with the server's answer (and
        the files as they were sent)."""
        stamp = now_utc()
        values: dict[str, Any] = {"state": state, "answer": answer[:2000]}
        if state == SENT:
            values["sent_at"] = stamp
        if files is not None:
            values["files"] = files
        self.store.run("record a message sent", lambda c: c.execute(
            update(sends_t).where(sends_t.c.id == send.id, sends_t.c.state == SENDING)
            .values(**values)))

    def sends(self, month: str | None = None, limit: int | None = None) -> list[Send]:
        """Recorded messages (of one month), the newest first."""
        query = select(sends_t).order_by(sends_t.c.id.desc())
        if month is not None:
            query = query.where(sends_t.c.month == month)
        if limit is not None:
            query = query.limit(limit)
        rows = self.store.read("read the messages sent", lambda c: c.execute(query).all())
        return [Send(*r) for r in rows]


def _waiting(now: datetime) -> Any:
    return or_(sends_t.c.state.in_((QUEUED, RETRY)),
               and_(sends_t.c.state == SENDING, sends_t.c.tried_at < now - LEASE))
