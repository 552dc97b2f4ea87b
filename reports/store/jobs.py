"""The build queue: one row per output of a stored version (a briefing, a summary, a
comparison, the public audit) and what has become of it.

The rows live in the store's database, beside the versions, so the queue survives a
restart and is shared by every server process on the store.  A builder *claims* a job
in one transaction that also marks it running with a lease: on PostgreSQL the row is
taken `FOR UPDATE SKIP LOCKED`, so two processes never take the same job; on SQLite
every transaction begins `BEGIN IMMEDIATE` (`db._make_engine`), so there is one writer
at a time and the claim is just as exclusive.  A builder renews its lease while it
works; a job whose lease ran out (its process died) is claimed again, up to
`MAX_ATTEMPTS` times in all, and then stays failed with its one-line reason.

Why a table and not a job library: the well-kept Python queues (Celery, RQ, Dramatiq,
Huey) need a broker (Redis or RabbitMQ) that the embedded default does not have; the
ones that keep jobs in SQL (e.g. procrastinate) are PostgreSQL-only.  One small table
with row locks serves SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..model.errors import StoreError
from . import faults
from .accounts import now_utc
from .db import Store, db_message
from .paths import MAX_NAME

MAX_ATTEMPTS = 3
LEASE = timedelta(minutes=5)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

metadata = MetaData()

jobs_t = Table(
    "build_jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset", String(MAX_NAME), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("output", String(60), nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("owner", String(200), nullable=True),
    Column("lease_until", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("dataset", "version", "sha256", "output", name="uq_build_jobs_output"),
)


@dataclass(frozen=True)
class Job:
    id: int
    dataset: str
    version: int
    sha256: str
    output: str
    state: str
    attempts: int
    error: str | None
    owner: str | None
    lease_until: datetime | None
    updated_at: datetime


def owner_id() -> str:
    """This process and thread, for a job's `owner` column."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class Jobs:
    """The build queue in a store's database (its table made on first use)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        try:
            store.create_tables(metadata)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open the build queue in {store.where}: "
                             f"{db_message(e)}") from None

    def _run(self, what: str, work: Any) -> Any:
        return self.store.run(what, work)

    def enqueue(self, dataset: str, version: int, sha256: str, outputs: list[str]) -> int:
        """Queue each output of a version that has no job yet; how many were queued.  A
        job that already exists, whatever its state, is left as it is."""
        def work(conn: Any) -> int:
            have = {r[0] for r in conn.execute(
                select(jobs_t.c.output).where(_version_is(dataset, version, sha256)))}
            stamp = now_utc()
            new = [o for o in outputs if o not in have]
            for o in new:
                conn.execute(jobs_t.insert().values(
                    dataset=dataset, version=version, sha256=sha256, output=o, state=QUEUED,
                    attempts=0, updated_at=stamp))
            return len(new)
        for attempt in range(3):
            try:
                return int(self._run("queue outputs to build", work))
            except IntegrityError:       # another process queued the same output
                if attempt == 2:
                    raise
        return 0

    def claim(self, owner: str, *, now: datetime | None = None,
              only: tuple[str, int, str, str] | None = None) -> Job | None:
        """Take the oldest job that is queued, or running on a lease that ran out (its
        builder died), and mark it running for `owner` on a new lease.  None when there
        is nothing to do.  `only` (dataset, version, sha256, output): that job alone.  A
        job already tried `MAX_ATTEMPTS` times whose lease ran out
        is marked failed instead of being taken again."""
        def work(conn: Any) -> Job | None:
            stamp = now or now_utc()
            while True:
                query = (select(jobs_t).where(or_(
                    jobs_t.c.state == QUEUED,
                    and_(jobs_t.c.state == RUNNING, jobs_t.c.lease_until < stamp)))
                    .order_by(jobs_t.c.id).limit(1))
                if only is not None:
                    query = query.where(_version_is(*only[:3]), jobs_t.c.output == only[3])
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True)
                row = conn.execute(query).first()
                if row is None:
                    return None
                job = Job(*row)
                if job.attempts >= MAX_ATTEMPTS:
                    conn.execute(update(jobs_t).where(jobs_t.c.id == job.id).values(
                        state=FAILED, owner=None, lease_until=None, updated_at=stamp,
                        error=job.error or f"the build stopped {job.attempts} times "
                                           f"without finishing (its process died)"))
                    continue
                conn.execute(update(jobs_t).where(jobs_t.c.id == job.id).values(
                    state=RUNNING, owner=owner, attempts=job.attempts + 1,
                    lease_until=stamp + LEASE, updated_at=stamp))
                return replace(job, state=RUNNING, owner=owner, attempts=job.attempts + 1,
                               lease_until=stamp + LEASE)
        job: Job | None = self._run("take a job from the build queue", work)
        if job is not None:
            faults.point("build.claimed")
        return job

    def renew(self, job: Job, owner: str) -> bool:
        """Extend the lease of a job this owner holds; False if it no longer holds it."""
        stamp = now_utc()
        return bool(self._run("renew a build's lease", lambda c: c.execute(
            update(jobs_t).where(jobs_t.c.id == job.id, jobs_t.c.owner == owner,
                                 jobs_t.c.state == RUNNING)
            .values(lease_until=stamp + LEASE, updated_at=stamp)).rowcount))

    def finish(self, job: Job, owner: str) -> None:
        faults.point("build.finishing")
        self._end(job, owner, DONE, None)

    def fail(self, job: Job, owner: str, reason: str, *, final: bool) -> None:
        """A build that failed: queued again while it has attempts left and the failure
        may pass (a crash), else failed for good with `reason` (one line)."""
        again = not final and job.attempts < MAX_ATTEMPTS
        self._end(job, owner, QUEUED if again else FAILED, reason.splitlines()[0][:1000])

    def _end(self, job: Job, owner: str, state: str, error: str | None) -> None:
        self._run("record a build", lambda c: c.execute(
            update(jobs_t).where(jobs_t.c.id == job.id, jobs_t.c.owner == owner)
            .values(state=state, error=error, owner=None, lease_until=None,
                    updated_at=now_utc())))

    def retry(self, dataset: str, version: int, sha256: str, output: str) -> None:
        """Queue a finished or failed job again (its file went missing, or an admin asks)."""
        self._run("queue a build again", lambda c: c.execute(
            update(jobs_t).where(_version_is(dataset, version, sha256),
                                 jobs_t.c.output == output,
                                 jobs_t.c.state.in_((DONE, FAILED)))
            .values(state=QUEUED, attempts=0, error=None, updated_at=now_utc())))

    def of_version(self, dataset: str, version: int, sha256: str) -> dict[str, Job]:
        rows = self.store.read("read the build queue", lambda c: c.execute(
            _OF_VERSION, {"dataset": dataset, "version": version, "sha256": sha256}).all())
        return {r.output: Job(*r) for r in rows}

    def of_dataset(self, dataset: str) -> list[Job]:
        rows = self.store.read("read the build queue", lambda c: c.execute(
            select(jobs_t).where(jobs_t.c.dataset == dataset).order_by(jobs_t.c.id)).all())
        return [Job(*r) for r in rows]

    def pending(self) -> int:
        """Jobs queued or running."""
        rows = self.store.read("read the build queue", lambda c: c.execute(
            select(jobs_t.c.id).where(jobs_t.c.state.in_((QUEUED, RUNNING)))).all())
        return len(rows)


# built once: a download of an output not built yet asks on every request
_OF_VERSION = select(jobs_t).where(jobs_t.c.dataset == bindparam("dataset"),
                                   jobs_t.c.version == bindparam("version"),
                                   jobs_t.c.sha256 == bindparam("sha256"))


def _version_is(dataset: str, version: int, sha256: str) -> Any:
    return and_(jobs_t.c.dataset == dataset, jobs_t.c.version == version,
                jobs_t.c.sha256 == sha256)

