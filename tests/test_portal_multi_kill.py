"""Many portal servers, one store (issue 29): server A is killed with SIGKILL during 20
uploads while server B serves downloads.  Every upload that A reported stored is in the
store, B never fails, and the build A was running is finished by B.

Two real `impact serve` processes (one background builder each) on one throwaway
PostgreSQL database (tests/pg.py), each with its own empty folder; users are made
through a third folder.  HR uploads 20 different files to one dataset on A from three
threads while a union member downloads outputs of the stored versions from B in a loop.

The moment of the kill is chosen, not guessed with a timer: A runs with $IMPACT_FAULT
(reports/store/faults.py) so that it stops, alive and serving, (1) in its builder right
after its second claim of a job (committed as running under A's lease, not yet built)
and (2) in the request of the 6th upload it commits (stored, not yet answered).  The
first 9 uploads go ahead; the rest wait until A has stopped at both points, and are let
go as A is killed: they fail or succeed as the kill finds them, which is all right.

The lease is 5 minutes (`jobs.LEASE`).  The test does not wait for it: once A is dead it
sets the lease of A's job to a moment long past, in the database.  That stands in for
the clock only; what happens next is the real code path: B's builder claims the job as
one whose lease ran out, builds it and marks it done.

Nothing here waits a fixed time: every wait polls for a state, with a generous bound
that only guards against a hang; no verdict depends on how fast the machine is."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from reports.services import builds, users
from reports.store.accounts import Accounts
from reports.store.db import Store, Version
from reports.store.jobs import DONE, FAILED, RUNNING, Job, Jobs, jobs_t
from tests.pg import PgServer
from tests.portal_helpers import DATA, PASSWORD, write_rows
from tests.server_helpers import Client, Served, serving_process

DATASET = "Kill test"
UPLOADS = 20
FREE = 9                 # uploads let go at once; the rest wait until A is stopped
PAUSED_UPLOAD = 6        # A stops after committing its 6th upload, before answering it
THREADS = 3
LIMIT_S = 900            # a bound on every wait (a hang guard, never a timing verdict)
UNION_OUTPUTS = sorted(n for n, o in builds.CATALOGUE.items()
                       if users.may("union", o.permission))
STORED = re.compile(r"<h1>Uploaded: [^<]*, version (\d+) \(")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Upload:
    """One file sent to A, and what came of it."""

    content: bytes
    stored: int | None = None        # the version number A's answer said it stored
    answer: str = ""                 # else: the status or the connection error

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Answer:
    path: str
    status: int | None               # None: no HTTP answer at all (a connection error)
    detail: str
    after_kill: bool


def _variant(folder: Path, i: int) -> bytes:
    """A small workbook of its own (file i): fast to build, a new version each."""
    rows = [["Family Support", "Clerk", "G4", 1, 1, "Deleted"],
            ["Family Support", "Officer", "G5", 1, 1, "Retained"],
            ["Youth Work", "Worker", "G6", round(0.5 + i / 40, 3), 1, "Deleted"],
            ["Youth Work", "Manager", "G8", 1, 1 + i % 3, "Retained"]]
    path = write_rows(folder / f"variant-{i}.xlsx",
                      ["Team", "Job title", "Grade", "FTE", "Posts", "Status"], rows)
    return path.read_bytes()


def _owner_pid(owner: str | None) -> int | None:
    """The process id in a job's owner (`jobs.owner_id`: host:pid:thread)."""
    if owner is None:
        return None
    return int(owner.split(":")[-2])


def _stat(pid: int) -> tuple[str, int, int] | None:
    """A process's state, parent and start time (from /proc), or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return fields[0], int(fields[1]), int(fields[19])


def _descendants(root: int) -> set[tuple[int, int]]:
    """Every process under `root`, as (pid, start time)."""
    parents: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents.setdefault(st[1], []).append((int(entry.name), st[2]))
    found: set[tuple[int, int]] = set()
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def _alive(pid: int, start: int) -> bool:
    st = _stat(pid)
    return st is not None and st[2] == start and st[0] not in ("Z", "X")


def _wait(what: str, ready: Callable[[], bool], limit_s: float = LIMIT_S) -> None:
    """Poll until `ready()` (a hang guard: failing says what never came)."""
    deadline = time.monotonic() + limit_s
    while not ready():
        assert time.monotonic() < deadline, f"still waiting, after {limit_s} s, for {what}"
        time.sleep(0.2)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`impact ARGS` as its own process (as tests/test_portal_multi.py runs it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "IMPACT_DB")}
    return subprocess.run([str(Path(sys.executable).with_name("impact")), *args], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def _cli_bytes(output: str, number: int, tmp_path: Path, url: str, store: Path) -> Any:
    """What the CLI makes for a briefing (its bytes) or a summary (its cells) of version
    `number`; None for another output (the audit record, a comparison)."""
    m = re.fullmatch(r"briefing-(union|management|public)(-tagged)?\.(pdf|html|docx)", output)
    s = re.fullmatch(r"summary-(full|public)\.xlsx", output)
    at = ["--dataset", DATASET, "--version", str(number), "--store", str(store), "--db", url]
    out = tmp_path / f"cli-{output}"
    if m:
        audience, tagged, ext = m.groups()
        extra = ["--accessible"] if tagged else [] if ext == "pdf" else ["--format", ext]
        r = _cli("brief", *at, "--audience", audience, "--reproducible", "-o", str(out),
                 *extra)
        assert r.returncode == 0, r.stderr
        return out.read_bytes()
    if s:
        audience = ["--audience", "public"] if s.group(1) == "public" else []
        r = _cli("summary", *at, *audience, "--format", "xlsx", "-o", str(out))
        assert r.returncode == 0, r.stderr
        return _cells(out)
    return None


def _cells(path: Path) -> list[list[Any]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    return [[list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets]


@pytest.mark.slow
def test_server_a_killed_during_uploads_loses_nothing_and_b_finishes_its_build(
        pg_server: PgServer, tmp_path: Path) -> None:
    name, url = pg_server.new_database()
    try:
        _kill_test(url, tmp_path)
    finally:
        pg_server.drop_database(name)


def _kill_test(url: str, tmp_path: Path) -> None:
    setup, a_dir, b_dir = tmp_path / "setup", tmp_path / "a", tmp_path / "b"
    with Store(setup, url=url) as store:
        accounts = Accounts(store)
        for user in ("hr", "union"):
            users.add_user(accounts, user, user, PASSWORD, by="setup")
    a_dir.mkdir()
    b_dir.mkdir()
    files = [Upload((DATA / "derbyshire_early_help.xlsx").read_bytes())]
    files += [Upload(_variant(tmp_path, i)) for i in range(1, UPLOADS)]
    assert len({u.sha256 for u in files}) == UPLOADS              # each a new version
    claimed, committed = tmp_path / "claimed", tmp_path / "committed"
    fault = f"build.claimed#2:pause:{claimed},upload.committed#{PAUSED_UPLOAD}:pause:{committed}"
    with serving_process(a_dir, "--db", url, "--build-workers", "1",
                         env={"IMPACT_FAULT": fault}, log=tmp_path / "a.log") as a, \
            serving_process(b_dir, "--db", url, "--build-workers", "1",
                            log=tmp_path / "b.log") as b:
        _with_servers(url, tmp_path, setup, a_dir, b_dir, a, b, files, claimed, committed)


def _with_servers(url: str, tmp_path: Path, setup: Path, a_dir: Path, b_dir: Path,
                  a: Served, b: Served, files: list[Upload], claimed: Path,
                  committed: Path) -> None:
    def shared() -> Store:
        return Store(setup, url=url, create=False, lock=None)

    # the first file alone, so that version 1 is the Derbyshire sample
    hr = Client(a.port)
    hr.log_in("hr")
    status, page = hr.upload(b"derbyshire.xlsx", files[0].content, DATASET)
    first = STORED.search(page)
    assert status == 200 and first, page
    files[0].stored = int(first.group(1))
    assert files[0].stored == 1
    with shared() as store:
        slug = store.version(DATASET, 1).slug

    # -- HR uploads the other 19 on A, from three threads --------------------------
    lock = threading.Lock()
    next_file = iter(range(1, UPLOADS))
    let_go = threading.Event()
    killed = threading.Event()
    problems: list[str] = []

    def send(client: Client) -> None:
        while True:
            with lock:
                i = next(next_file, None)
            if i is None:
                return
            if i >= FREE:
                let_go.wait()
            u = files[i]
            try:
                status, page = client.upload(f"variant-{i}.xlsx".encode(), u.content,
                                             existing=DATASET)
            except (OSError, http.client.HTTPException) as e:
                u.answer = f"{type(e).__name__}: {e}"
                continue
            found = STORED.search(page)
            if status == 200 and found:
                u.stored = int(found.group(1))
            else:
                u.answer = f"{status}: {page[:300]}"
                with lock:
                    problems.append(f"upload {i} was answered but not stored: {u.answer}")

    uploaders = []
    for _ in range(THREADS):
        client = Client(a.port)
        client.log_in("hr")
        uploaders.append(threading.Thread(target=send, args=(client,)))

    # -- meanwhile a union member downloads from B until the end -------------------
    answers: list[Answer] = []
    stop = threading.Event()
    union = Client(b.port)
    union.log_in("union")

    def download() -> None:
        turn = 0
        while not stop.is_set():
            stored = sorted({u.stored for u in files if u.stored is not None})
            wanted = [(v, o) for v in stored for o in UNION_OUTPUTS
                      if v > 1 or not o.startswith("changes-")]
            number, output = wanted[turn % len(wanted)]
            turn += 1
            path = f"/datasets/{slug}/v{number}/{output}"
            after = killed.is_set()
            try:
                status, _, body = union.get(path)
            except (OSError, http.client.HTTPException) as e:
                answers.append(Answer(path, None, f"{type(e).__name__}: {e}", after))
            else:
                answers.append(Answer(path, status, body[:300].decode("utf-8", "replace"),
                                      after))
            time.sleep(0.2)            # a person's pace, leaving the builds the CPU

    downloader = threading.Thread(target=download)
    downloader.start()
    for t in uploaders:
        t.start()
    try:
        _kill_and_take_over(url, tmp_path, shared, setup, a_dir, b_dir, a, b, files, slug,
                            claimed, committed, let_go, killed, answers)
    finally:
        let_go.set()
        stop.set()
        downloader.join(timeout=LIMIT_S)
        for t in uploaders:
            t.join(timeout=LIMIT_S)
    assert not problems, problems
    assert not downloader.is_alive() and not any(t.is_alive() for t in uploaders)

    # B never failed: every answer a file, "being prepared" or an audit's refusal
    bad = [x for x in answers if x.status not in (200, 202, 409)
           or x.status == 409 and "Not publishable" not in x.detail]
    assert not bad, bad[:5]
    assert any(x.after_kill for x in answers)
    assert b.process.poll() is None, (tmp_path / "b.log").read_text(errors="replace")

    # every upload A reported stored is there, with its number and its bytes' sha256
    with shared() as store:
        versions = store.versions(DATASET)
    numbers = [v.number for v in versions]
    assert numbers == list(range(1, len(versions) + 1))              # no gap
    by_number = {v.number: v.sha256 for v in versions}
    reported = [u for u in files if u.stored is not None]
    assert len(reported) >= FREE - 1
    for u in reported:
        assert u.stored is not None and by_number.get(u.stored) == u.sha256, u.stored
    assert len({u.stored for u in reported}) == len(reported)
    sent = {u.sha256 for u in files}
    assert set(by_number.values()) <= sent and len(set(by_number.values())) == len(versions)
    # the 6th upload A committed was never answered: it is kept all the same
    assert len(versions) > len(reported), [(u.stored, u.answer) for u in files]
    for u in files:
        if u.stored is None:
            assert u.answer and not u.answer[:3].isdigit(), u.answer   # no answer came

    # the store is healthy, as `impact store check` sees it
    r = _cli("store", "check", "--store", str(setup), "--db", url, "--format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["healthy"] is True, r.stdout


def _kill_and_take_over(url: str, tmp_path: Path, shared: Callable[[], Store], setup: Path,
                        a_dir: Path,
                        b_dir: Path, a: Served, b: Served, files: list[Upload], slug: str,
                        claimed: Path, committed: Path, let_go: threading.Event,
                        killed: threading.Event, answers: list[Answer]) -> None:
    reached = [p.with_name(p.name + ".reached") for p in (claimed, committed)]

    def a_stopped() -> bool:
        assert a.process.poll() is None, (tmp_path / "a.log").read_text(errors="replace")
        return (all(p.is_file() and p.read_text().endswith("\n") for p in reached)  # written
                and sum(u.stored is not None for u in files) >= 5)

    _wait("A to stop in its builder and in an upload, after 5 uploads stored", a_stopped)
    assert {p.read_text().strip() for p in reached} == {str(a.process.pid)}
    children = _descendants(a.process.pid)
    let_go.set()                                  # the other uploads go, and A is killed
    os.kill(a.process.pid, signal.SIGKILL)
    killed.set()
    assert a.process.wait(timeout=60) == -signal.SIGKILL

    # the job A was running: exactly one, still running under A's name
    with shared() as store:
        jobs = Jobs(store)
        held = [j for j in jobs.of_dataset(DATASET)
                if j.state == RUNNING and _owner_pid(j.owner) == a.process.pid]
        assert len(held) == 1, held
        job = held[0]
        version = store.version(DATASET, job.version)
        assert version.sha256 == job.sha256
    path = f"/datasets/{slug}/v{job.version}/{job.output}"
    hr_b = Client(b.port)
    hr_b.log_in("hr")
    # while its lease holds, B does not take it: the file is "being prepared"
    status, _, _ = hr_b.get(path)
    with shared() as store:
        still = Jobs(store).of_version(job.dataset, job.version, job.sha256)[job.output]
    if still.owner == job.owner:          # (unless 5 minutes passed on a very slow machine)
        assert status == 202, status

    # the lease runs out: set in the past here, in place of waiting 5 minutes
    with shared() as store:
        with store.engine.begin() as conn:
            conn.execute(update(jobs_t).where(
                jobs_t.c.id == job.id, jobs_t.c.state == RUNNING,
                jobs_t.c.owner == job.owner).values(lease_until=datetime(2000, 1, 1)))

    finished: list[Job] = []

    def done() -> bool:
        assert b.process.poll() is None, (tmp_path / "b.log").read_text(errors="replace")
        with shared() as store:
            now = Jobs(store).of_version(job.dataset, job.version, job.sha256)[job.output]
        if now.state in (DONE, FAILED):
            finished.append(now)
        return bool(finished)

    _wait(f"B to finish {job.output} of version {job.version}", done)
    end = finished[0]
    assert end.attempts >= 2, end                        # A's claim, then B's
    if end.state == FAILED:        # a public output of a small file: the audit's refusal
        assert (end.error or "").startswith(builds.NOT_PUBLISHABLE), end
        status, _, body = hr_b.get(path)
        assert status == 409 and b"Not publishable" in body, (status, body[:300])
    else:
        _check_built(url, tmp_path, setup, a_dir, b_dir, hr_b, path, version, job)

    # B answered downloads after the kill too; A's child processes ended with it
    _wait("a download from B after the kill", lambda: any(x.after_kill for x in answers))
    _wait("A's child processes to end", lambda: not any(_alive(*c) for c in children), 120)


def _check_built(url: str, tmp_path: Path, setup: Path, a_dir: Path, b_dir: Path,
                 hr_b: Client, path: str, version: Version, job: Job) -> None:
    """B built the job's file (into its own folder; A never did), serves it, and it is
    what the CLI makes."""
    built = builds.folder_of(b_dir, version) / job.output
    assert built.is_file()
    assert not (builds.folder_of(a_dir, version) / job.output).exists()
    status, _, body = hr_b.get(path)
    assert status == 200, body[:300]
    assert body == built.read_bytes()
    made = _cli_bytes(job.output, job.version, tmp_path, url, setup)
    if isinstance(made, bytes):
        assert body == made, f"{job.output}: B's file is not the CLI's"
    elif made is not None:
        served = tmp_path / f"served-{job.output}"
        served.write_bytes(body)
        assert _cells(served) == made, f"{job.output}: B's figures are not the CLI's"
