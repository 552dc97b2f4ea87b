"""Every output the portal offers, built once per stored version, off the request path.

When a version is stored (`datasets.upload`), each output of `outputs_of` is queued in
the store's build queue (`reports.store.jobs`).  A `Builder` takes jobs from the queue
and builds them, in a child process each (WeasyPrint and the disclosure audit hold the
GIL for seconds; a child leaves the request threads free, and a crash in one takes only
that build, which is tried again).  A download asks `fetch`: a finished file, "being
prepared", or the one-line reason its build failed.

The files are `STORE/outputs/SLUG/vN-SHA16/OUTPUT`, built reproducibly: the briefings as
`impact brief --dataset NAME --version N --reproducible` makes them (the same bytes), the
workbooks with their timestamps pinned to the version's as-of date.  On a PostgreSQL
store a finished file is put into the database too (`Store.put_output`), before its job
is marked done, and the folder is only this server's cache: a download on another server
(or after the folder was emptied) fills it from there (`Store.fetch_output`).
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import queue
import re
import sys
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from ..model.errors import ImpactError, UnknownDataset, Unpublishable
from ..store.db import EMBEDDED, Store, Version
from ..store.files import PRIVATE_FILE, atomic_output, private_dir
from ..store.jobs import DONE, FAILED, Job, Jobs, owner_id
from . import summaries
from .checking import watch_server
from .result import Result
from .source import Source

OUTPUTS_DIR = "outputs"
AUDIENCES = ("union", "management", "public")
TAGGED = ("union", "management")      # the public briefing's PDF is tagged already
NOT_PUBLISHABLE = "Not publishable: "  # how a failed job's reason says the audit refused it


@dataclass(frozen=True)
class Output:
    """One output of a version: its file name, who may have it and its media type."""

    name: str
    permission: str
    mimetype: str
    label: str

    @property
    def public(self) -> bool:
        """A public output: released through the dataset's publication ledger, so the
        order in which versions' public outputs are built is the order of release."""
        return self.permission.endswith(":public")

    @property
    def inline(self) -> bool:
        """Shown in the browser (the HTML briefing) rather than downloaded."""
        return self.name.endswith(".html")


PDF, HTML = "application/pdf", "text/html"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _catalogue() -> dict[str, Output]:
    out: list[Output] = []
    for a in AUDIENCES:
        out.append(Output(f"briefing-{a}.pdf", f"brief:{a}", PDF, f"{a.capitalize()} briefing "
                                                                   f"(PDF)"))
        if a in TAGGED:
            out.append(Output(f"briefing-{a}-tagged.pdf", f"brief:{a}", PDF,
                              f"{a.capitalize()} briefing (tagged PDF, for screen readers)"))
        out.append(Output(f"briefing-{a}.html", f"brief:{a}", HTML,
                          f"{a.capitalize()} briefing (web page)"))
        out.append(Output(f"briefing-{a}.docx", f"brief:{a}", DOCX,
                          f"{a.capitalize()} briefing (Word, to edit)"))
    out += [Output("summary-full.xlsx", "summary:full", XLSX, "Summary, every figure (xlsx)"),
            Output("summary-public.xlsx", "summary:public", XLSX, "Public summary (xlsx)"),
            Output("public-audit.json", "summary:public", "application/json",
                   "The public figures' disclosure audit (JSON)"),
            Output("changes-full.csv", "changes:full", "text/csv",
                   "What changed since the version before, post by post (CSV)"),
            Output("changes-public.csv", "changes:public", "text/csv",
                   "What changed, public figures (CSV)")]
    return {o.name: o for o in out}


CATALOGUE = _catalogue()


def outputs_of(version: Version, earlier: Version | None) -> list[str]:
    """The outputs a version has: every one, less the comparisons for a first version."""
    return [n for n in CATALOGUE if earlier is not None or not n.startswith("changes-")]


def folder_of(root: Path, version: Version) -> Path:
    return root / OUTPUTS_DIR / version.slug / f"v{version.number}-{version.sha256[:16]}"


def earlier_of(store: Store, version: Version) -> Version | None:
    """The version stored before `version` in its dataset, if any."""
    return store.version_before(version.dataset, version.number)


def queue_version(store: Store, version: Version) -> int:
    """Queue every output of a newly stored version; how many were queued."""
    return Jobs(store).enqueue(version.dataset, version.number, version.sha256,
                               outputs_of(version, earlier_of(store, version)))


# -- building one output (in a child process, or in the caller's thread) ---------


def build_output(root: str, url: str | None, dataset: str, number: int, output: str) -> str:
    """Build one output of a stored version into its file; the file's path.  `url` is the
    database URL (None: the store's own SQLite file).  Raises `Unpublishable` when a
    public output fails the disclosure audit, `ImpactError` for any other reason it
    cannot be made."""
    if output not in CATALOGUE:
        raise UnknownDataset(f"no output {output!r}")
    with Store(root, url=url or EMBEDDED, create=False) as store:
        version = store.version(dataset, number)
        target = folder_of(store.root, version) / output
        data = _make(store, version, output)
        private_dir(target.parent)             # owner-only, whatever the umask
        with atomic_output(target, perms=PRIVATE_FILE) as fh:
            fh.write(data)
        store.put_output(version, output, target)     # PostgreSQL: for every server
        return str(target)


@dataclass(frozen=True)
class Built:
    """What a build in a child process came to, in plain values (an exception with its
    own constructor may not survive the trip back between processes)."""

    path: str | None = None
    problem: str | None = None       # an `ImpactError`'s message: a final failure


def build_in_child(root: str, url: str | None, dataset: str, number: int,
                   output: str) -> Built:
    """`build_output` for a process pool: its `ImpactError` as a plain message."""
    try:
        return Built(path=build_output(root, url, dataset, number, output))
    except Unpublishable as e:
        return Built(problem=f"{NOT_PUBLISHABLE}{e}")
    except ImpactError as e:
        return Built(problem=str(e) or type(e).__name__)


def _make(store: Store, version: Version, output: str) -> bytes:
    source = Source.stored(version.dataset, version.number, store.root,
                           None if store.embedded else store.url)
    if output.startswith("briefing-"):
        return _briefing(source, version, output)
    if output.startswith("summary-") or output == "public-audit.json":
        return _summary(source, version, output)
    return _changes(store, version, output)


def _briefing(source: Any, version: Version, output: str) -> bytes:
    import tempfile

    from . import briefs  # start-up: the documents layer, only in the process that builds

    m = re.fullmatch(r"briefing-(\w+?)(-tagged)?\.(pdf|html|docx)", output)
    assert m, output
    audience, tagged, ext = m.group(1), bool(m.group(2)), m.group(3)
    with tempfile.TemporaryDirectory(prefix="impact-build-") as tmp:
        out = Path(tmp) / f"briefing.{ext}"
        _usable(briefs.brief(source, audience=audience, audience_given=True, output=out,
                             reproducible=True, fmt=ext, accessible=True if tagged else None,
                             release_as=output), version)
        return out.read_bytes()


def _summary(source: Any, version: Version, output: str) -> bytes:
    public = output != "summary-full.xlsx"
    result = _usable(summaries.summarise_source(
        source, audience="public" if public else None, release_as=output), version)
    if output == "public-audit.json":
        p = result.protection
        hidden = [] if p is None else [
            {"figure": " / ".join(str(x) for x in key),
             "from": _number(p.ranges[key][0]) if key in p.ranges else None,
             "to": _number(p.ranges[key][1]) if key in p.ranges else None}
            for key in sorted(p.hidden, key=repr)]
        record = {"dataset": version.dataset, "version": version.number,
                  "audit": p.summary() if p else "No value is hidden.",
                  "threshold": p.threshold if p else 0, "hidden": hidden,
                  "recoded": result.summary.recoded,
                  # anyone who may download the public summary may download this: a share
                  # that would reveal a hidden total is left out (reports/figures/loss.py)
                  "information_loss": (result.loss.as_json(public=True)
                                       if result.loss is not None else None)}
        return (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return xlsx_bytes(result.summary, version.as_of)


def _number(value: Any) -> Any:
    if value is None:
        return None
    return int(value) if value == int(value) else float(value)


def _changes(store: Store, version: Version, output: str) -> bytes:
    from ..render import data  # start-up: only in the process that builds
    from . import comparisons  # lazy: only in the process that builds

    earlier = earlier_of(store, version)
    if earlier is None:
        raise UnknownDataset(f"version {version.number} of '{version.dataset}' is the first: "
                             f"there is nothing to compare it with")
    result = _usable(comparisons.compare_sources(
        None, None, dataset=version.dataset, store_dir=store.root,
        db=None if store.embedded else store.url, audience=(
            "public" if output == "changes-public.csv" else None),
        from_version=earlier.number, to_version=version.number, release_as=output), version)
    if result.public is not None:
        return data.public_comparison_csv(result.public).encode("utf-8")
    return data.comparison_csv(result.comparison).encode("utf-8")


T = TypeVar("T")


def _usable(result: Result[T], version: Version) -> T:
    """A stored version's output worked out, or, when the version (or the one it is
    compared with) is invalid, `UnknownDataset` (a download that cannot be built)."""
    if result.value is None:
        raise UnknownDataset(f"version {version.number} of '{version.dataset}' cannot be "
                             f"read")
    return result.value


def xlsx_bytes(summary: Any, day: date) -> bytes:
    """The summary workbook, its timestamps pinned to `day`, so that a rebuild is the
    same bytes (`impact monthly` and the portal alike)."""
    from ..render.xlsx import write_summary_xlsx  # start-up: openpyxl, only for a workbook

    buf = io.BytesIO()
    write_summary_xlsx(summary, buf)
    return pin_zip_times(buf.getvalue(), day)


def pin_zip_times(data: bytes, day: date) -> bytes:
    stamp = f"{day.isoformat()}T00:00:00Z".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + stamp + m.group(3), body)
            pinned = zipfile.ZipInfo(info.filename, date_time=(day.year, day.month, day.day,
                                                               0, 0, 0))
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = info.external_attr
            dst.writestr(pinned, body)
    return out.getvalue()


# -- what a download gets ---------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """A download's answer: the finished file, or why there is none yet (`preparing`),
    or at all (`failed`, with the build's one-line reason)."""

    output: Output
    path: Path | None = None
    failed: str | None = None

    @property
    def preparing(self) -> bool:
        return self.path is None and self.failed is None


def fetch(store: Store, builder: Builder | None, version: Version, output: str) -> Fetched:
    """The file of one output of a version.  Never waits for a build in a server's
    background builder; with no background builder (`builder` None or with no
    workers), builds it now in this thread, as the embedded portal always did."""
    wanted = CATALOGUE.get(output)
    if wanted is None:
        raise UnknownDataset("no such output")
    path = folder_of(store.root, version) / output
    if _built(store, version, output, path):    # only an output the version has is built
        return Fetched(wanted, path=path)
    if output.startswith("changes-") and earlier_of(store, version) is None:
        raise UnknownDataset("no such output")     # a first version has no comparison
    jobs = Jobs(store)
    job = jobs.of_version(version.dataset, version.number, version.sha256).get(output)
    if job is None:            # a version stored before the queue existed
        jobs.enqueue(version.dataset, version.number, version.sha256,
                     outputs_of(version, earlier_of(store, version)))
    elif job.state == DONE:
        # a builder marks its job done only once the file is written (and, on PostgreSQL,
        # in the database): if it finished since the look above, that is the file; only
        # a file still missing now went missing, and is built again
        if _built(store, version, output, path):
            return Fetched(wanted, path=path)
        jobs.retry(version.dataset, version.number, version.sha256, output)
    elif job.state == FAILED:
        return Fetched(wanted, failed=job.error or "the build failed")
    if builder is not None and builder.workers:
        # someone is waiting for this one: the builder takes it next, before the rest;
        # not a public one, which keeps its place: each version's public outputs are
        # released in turn through the ledger, and a later version's public trend
        # gives what the earlier ones published
        builder.wake(asked=None if wanted.public else
                     (version.dataset, version.number, version.sha256, output))
        return Fetched(wanted)
    done = run_one(store, jobs, only=(version, output))
    if done is not None and done.state == FAILED:
        return Fetched(wanted, failed=done.error or "the build failed")
    if path.is_file():
        return Fetched(wanted, path=path)
    return Fetched(wanted)     # another thread or process is building it


def _built(store: Store, version: Version, output: str, path: Path) -> bool:
    """Whether `output` of `version` is built: its file at `path` in this server's folder,
    or (PostgreSQL) in the database, another server's build, put at `path` now."""
    return path.is_file() or store.fetch_output(version, output, path)


def run_one(store: Store, jobs: Jobs, *, only: tuple[Version, str] | None = None,
            build: Callable[..., str] = build_output) -> Job | None:
    """Claim one job (the given output only, with `only`) and build it in this thread;
    the job as it ended, or None when there was nothing to claim."""
    owner = owner_id()
    match = None
    if only is not None:
        v, output = only
        match = (v.dataset, v.number, v.sha256, output)
    job = jobs.claim(owner, only=match)
    if job is None:
        return None
    url = None if store.embedded else store.url
    try:
        build(str(store.root), url, job.dataset, job.version, job.output)
    except Unpublishable as e:
        jobs.fail(job, owner, f"{NOT_PUBLISHABLE}{e}", final=True)
    except ImpactError as e:
        jobs.fail(job, owner, str(e), final=True)
    except Exception as e:  # a bug in one build: tried again, then reported
        jobs.fail(job, owner, f"internal error ({type(e).__name__}: {e})", final=False)
    else:
        jobs.finish(job, owner)
    return jobs.of_version(job.dataset, job.version, job.sha256).get(job.output)


# -- the background builder ---------------------------------------------------------


class Builder:
    """`workers` threads that take jobs from the store's queue and build each in a child
    process (a pool of `workers` spawned processes).  0 workers: no background building
    (downloads build in their own thread; `fetch`).

    The queue is built oldest first, except that an output someone has asked for (a
    download that found it "being prepared": `wake(asked=...)`) is taken next: after an
    upload a version queues some twenty outputs, and the person at the page waits for
    one of them, not for all that were queued before it.  Public outputs keep their
    place (`Output.public`)."""

    POLL_S = 2.0        # how often an idle worker looks at the queue (other processes queue)
    RENEW_S = 60.0      # how often a running build's lease is renewed

    def __init__(self, store: Store, workers: int = 1, *,
                 build: Callable[..., Built] = build_in_child,
                 priority: str = "idle") -> None:
        if priority not in PRIORITIES:
            raise ValueError(f"build priority {priority!r}: one of {', '.join(PRIORITIES)}")
        self.store = store
        self.workers = workers
        self.build = build
        self.priority = priority
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # outputs asked for, (dataset, version, sha256, output), oldest first: a
        # thread-safe inbox from request threads to the builder's threads
        self._asked: queue.SimpleQueue[tuple[str, int, str, str]] = queue.SimpleQueue()

    def start(self) -> None:
        if not self.workers or self._threads:
            return
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"impact-builder-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def wake(self, asked: tuple[str, int, str, str] | None = None) -> None:
        """Tell the idle workers there may be work; `asked` (dataset, version, sha256,
        output): a job someone is waiting for, to take before the others."""
        if asked is not None:
            self._asked.put(asked)
        with self._wake:
            self._wake.notify_all()

    def next_job(self, jobs: Jobs, owner: str) -> Job | None:
        """Claim the next job for `owner`: the oldest one asked for that is still queued
        (or abandoned), else the oldest in the queue."""
        while True:
            try:
                asked = self._asked.get_nowait()
            except queue.Empty:
                break
            job = jobs.claim(owner, only=asked)
            if job is not None:
                return job      # else built, being built or failed since it was asked
        return jobs.claim(owner)

    def close(self) -> None:
        self._stop.set()
        self.wake()
        for t in self._threads:
            t.join(timeout=30)
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_background, initargs=(os.getpid(), self.priority))
            return self._pool

    def _broken(self, pool: ProcessPoolExecutor) -> None:
        with self._pool_lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        jobs: Jobs | None = None
        while not self._stop.is_set():
            try:
                jobs = jobs or Jobs(self.store)
                busy = self._one(jobs)
            except Exception as e:   # the store could not be read, or a bug: never end the
                busy = False         # builder for it; say so, and try again later
                print(f"impact: background build: {type(e).__name__}: {e}", file=sys.stderr)
            if not busy:
                with self._wake:
                    self._wake.wait(self.POLL_S)

    def _one(self, jobs: Jobs) -> bool:
        owner = owner_id()
        job = self.next_job(jobs, owner)
        if job is None:
            return False
        url = None if self.store.embedded else self.store.url
        pool = self._executor()
        try:
            future: Future[Built] = pool.submit(self.build, str(self.store.root), url,
                                                job.dataset, job.version, job.output)
            while True:
                try:
                    built = future.result(timeout=self.RENEW_S)
                    break
                except TimeoutError:
                    if self._stop.is_set():
                        future.cancel()
                        return True       # its lease runs out; another builder takes it
                    jobs.renew(job, owner)
        except BrokenProcessPool:
            self._broken(pool)
            jobs.fail(job, owner, "the build's process died", final=False)
        except Exception as e:  # a bug in one build: tried again, then reported
            jobs.fail(job, owner, f"internal error ({type(e).__name__}: {e})", final=False)
        else:
            if built.problem is not None:
                jobs.fail(job, owner, built.problem, final=True)
            else:
                jobs.finish(job, owner)
        return True

    def drain(self) -> None:
        """Build every queued job in this thread (for tests and one-off runs)."""
        jobs = Jobs(self.store)
        while run_one(self.store, jobs, build=_unwrapped(self.build)) is not None:
            pass


def _background(server: int, priority: str = "idle") -> None:
    """A builder's process: it ends when its server does, mid-build if need be (the
    job's lease runs out; another builder takes it), and runs at `priority`
    (`set_priority`)."""
    watch_server(server)
    set_priority(priority)


# How a builder's process shares the CPU with the server's (`impact serve
# --build-priority`):
# - idle: SCHED_IDLE on Linux (only a core nothing else wants), else nice 10.  Its
#   files can wait a moment, a person at a page cannot; but on a machine kept busy by
#   other work at normal priority it may build nothing until that work ends;
# - low: nice 10 (a small share, however busy the machine);
# - normal: as the server.
PRIORITIES = ("idle", "low", "normal")
BUILD_NICENESS = 10


def set_priority(priority: str) -> None:
    """Lower this process's CPU priority as `priority` says (one of `PRIORITIES`)."""
    if priority == "normal":
        return
    if priority == "idle":
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return
        except (AttributeError, OSError):
            pass
    try:
        os.nice(BUILD_NICENESS)
    except OSError:
        pass


def _unwrapped(build: Callable[..., Built]) -> Callable[..., str]:
    """A child's build, as `run_one` calls it: its problem raised again."""
    def run(*args: Any) -> str:
        built = build(*args)
        if built.problem is not None:
            raise ImpactError(built.problem)
        assert built.path is not None
        return built.path
    return run
