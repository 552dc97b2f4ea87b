"""Checking uploaded files in worker processes: every core at once, and a crash contained.

Reading and validating a file holds Python's GIL for most of its time (the guards'
scans of the sheet XML, validation), so the threads of one server process check one
file at a time however many cores the machine has: 20 uploads of a 5,000-row workbook
sent at once took 1.5 s to answer on 2 cores.  A `Checker` with workers runs each
check in one of a few long-lived processes instead, so the checks run side by side.

It also contains a reader that dies: calamine aborts the process on some inputs
(ENGINEERING.md), and `guards` exists to refuse those first; if one ever gets through,
only a worker dies.  The workers are started again, and each file that was being
checked is checked once more in a process of its own: the one that kills it again is
refused with a clean error, the others pass.

`Checker(0)` checks in the calling process, as the command line does.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .. import intake
from ..intake.rules import Report
from ..model.errors import CorruptFile
from .source import HowToRead

# spawn, not fork: the server has threads, and a forked copy of a lock that another
# thread held would never be released
_SPAWN: Any = multiprocessing.get_context("spawn")


def usable_cpus() -> int:
    """The CPUs this process may use (its affinity where the system has one): one check
    worker each by default, and one `impact monthly` worker each."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - not Linux


def check_file(path: Path, how: HowToRead) -> Report:
    """Read and validate one file (what a worker runs)."""
    return intake.check(path, **how.check_options())


def watch_server(server: int) -> None:
    """In a worker process: end it as soon as its server (the parent, process `server`,
    as the server gave it) is gone, even in the middle of a task, so that a killed server
    leaves no worker behind.  The server's own id is passed in, not read here: a server
    killed while the worker was starting has already handed it to init."""

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="impact-watch-server").start()


def _worker_start(server: int) -> None:
    """A new worker watches for its server's end, and imports what a check uses before
    the first file comes."""
    watch_server(server)
    import fastexcel  # noqa: F401  # lazy: warming a worker process is its only use here
    import pandas  # noqa: F401  # lazy: as above


def _nothing() -> None:
    """A task that makes the pool start a worker."""


class Checker:
    """`check(path, how)` as `intake.check` does it, in one of `workers` processes."""

    def __init__(self, workers: int = 0, *,
                 run: Callable[[Path, HowToRead], Report] = check_file) -> None:
        self.workers = max(0, workers)
        self._run = run                 # what a worker runs (tests make it die)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers and wait until they are ready (about a second), so the
        first uploads do not wait for them."""
        if self.workers:
            pool = self._current()
            for ready in [pool.submit(_nothing) for _ in range(self.workers)]:
                ready.result()

    def check(self, path: Path, how: HowToRead) -> Report:
        """The report of `path` read with `how`.  Whole-file problems raise
        `ImpactError` as `intake.check` does; a file that kills its reader raises
        `CorruptFile`."""
        if not self.workers:
            return self._run(path, how)
        pool = self._current()
        try:
            return pool.submit(self._run, path, how).result()
        except BrokenProcessPool:
            self._replace(pool)
        # A worker died: this file's, or another's checked at the same moment, and every
        # check then under way fails with it.  Check the file once more in a process of
        # its own, so that only a file that kills its reader is refused.
        with ProcessPoolExecutor(1, mp_context=_SPAWN) as alone:
            try:
                return alone.submit(self._run, path, how).result()
            except BrokenProcessPool:
                raise CorruptFile(f"{path.name}: the file stopped the spreadsheet reader "
                                  f"(its process ended); open it in a spreadsheet program, "
                                  f"save it again and upload that copy") from None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                pool = ProcessPoolExecutor(self.workers, mp_context=_SPAWN, initializer=_worker_start,
                                           initargs=(os.getpid(),))
                # Python 3.11 starts spawned workers one by one as work comes, and its
                # manager thread does not watch a worker started after it last woke: when
                # such a worker died, every check waited for ever (tests/test_checking).
                # Start them all with the pool, as it does for fork, so each is watched.
                pool._safe_to_dynamically_spawn_children = False  # type: ignore[attr-defined]
                self._pool = pool
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Drop `broken` (if no other thread has already) so new workers start."""
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)
