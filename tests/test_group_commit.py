"""The audit log's group commit: entries that arrive while one transaction is written
go together in the next one, and no caller returns before its own entry is committed.

Every portal download writes an audit entry before the file is sent.  Written one
transaction each, 200 downloads at once were 200 commits (200 fsyncs), each taking the
SQLite store's write lock in turn and keeping readers waiting meanwhile.  The tests
here hold the first batch's write open until the other callers are queued, so which
entries share a batch is decided by the test, not by timing.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from reports.store.accounts import Accounts, GroupCommit
from reports.store.db import Store

CALLERS = 10


class _HeldWriter:
    """A `write` that records each batch, holds the first one open until released, and
    fails the batches whose number is in `fail`."""

    def __init__(self, fail: tuple[int, ...] = ()) -> None:
        self.batches: list[list[dict[str, int]]] = []
        self.committed: set[int] = set()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, entries: list[dict[str, int]]) -> None:
        number = len(self.batches)
        self.batches.append(list(entries))
        if number == 0:
            assert self.release.wait(60), "the test never released the first batch"
        if number in self.fail:
            raise RuntimeError(f"batch {number} failed")
        self.committed.update(e["n"] for e in entries)


def _queued(group: GroupCommit, n: int) -> None:
    """Wait (on the group's own condition, not a clock) until n callers are queued."""
    with group._cond:
        assert group._cond.wait_for(lambda: len(group._waiting) == n, timeout=60)


def _callers(group: GroupCommit, writer: _HeldWriter) -> tuple[list[threading.Thread],
                                                               dict[int, BaseException | bool]]:
    """Caller 0 starts the first batch; callers 1..9 queue behind it."""
    outcome: dict[int, BaseException | bool] = {}

    def call(n: int) -> None:
        try:
            group.add({"n": n})
            outcome[n] = n in writer.committed   # returned only once committed?
        except BaseException as e:
            outcome[n] = e

    first = threading.Thread(target=call, args=(0,))
    first.start()
    with group._cond:
        assert group._cond.wait_for(lambda: group._writing, timeout=60)
    rest = [threading.Thread(target=call, args=(n,)) for n in range(1, CALLERS)]
    for t in rest:
        t.start()
    _queued(group, CALLERS - 1)
    writer.release.set()
    for t in [first, *rest]:
        t.join(60)
        assert not t.is_alive()
    return [first, *rest], outcome


def test_entries_that_arrive_during_a_write_share_the_next_transaction() -> None:
    writer = _HeldWriter()
    group = GroupCommit(writer)
    _, outcome = _callers(group, writer)
    assert [sorted(e["n"] for e in b) for b in writer.batches] == [
        [0], list(range(1, CALLERS))]
    # every caller returned, and only after its own entry was committed
    assert outcome == {n: True for n in range(CALLERS)}


def test_a_failed_batch_fails_each_of_its_callers_and_no_other() -> None:
    writer = _HeldWriter(fail=(1,))
    group = GroupCommit(writer)
    _, outcome = _callers(group, writer)
    assert outcome[0] is True
    for n in range(1, CALLERS):
        assert isinstance(outcome[n], RuntimeError), outcome[n]
    # the group is not stuck: the next entry is written in a batch of its own
    writer.release.set()
    group.add({"n": 99})
    assert writer.batches[-1] == [{"n": 99}] and 99 in writer.committed


def test_one_caller_alone_writes_its_own_entry_at_once() -> None:
    written: list[list[dict[str, int]]] = []
    group = GroupCommit(written.append)
    group.add({"n": 1})
    group.add({"n": 2})
    assert written == [[{"n": 1}], [{"n": 2}]]


def test_the_audit_log_keeps_every_entry_of_many_threads_in_order_of_ids(tmp_path) -> None:
    """Through the real store: every entry of 8 threads x 25 is in the log exactly once,
    and each thread's own entries keep their order."""
    with Store(tmp_path / "store") as store:
        accounts = Accounts(store)
        threads = 8
        start = threading.Barrier(threads)

        def log(t: int) -> None:
            start.wait()
            for i in range(25):
                accounts.log("hr", "download", f"{t}:{i}", "127.0.0.1",
                             now=datetime(2026, 12, 7, tzinfo=UTC))

        workers = [threading.Thread(target=log, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        got = [e.what for e in reversed(accounts.audit())]     # oldest first
    assert sorted(got) == sorted(f"{t}:{i}" for t in range(threads) for i in range(25))
    for t in range(threads):
        mine = [int(w.split(":")[1]) for w in got if w.startswith(f"{t}:")]
        assert mine == list(range(25))
