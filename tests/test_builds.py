"""Each stored version's outputs are built once, off the request path, from a durable
queue in the store (reports/services/builds.py, reports/store/jobs.py).

What is shown here: an upload queues every output; the builder makes the same bytes as
the CLI; two claimers (threads, or processes on one PostgreSQL database) never take the
same job; a build whose process dies is tried again a bounded number of times and then
shown with its reason; a download of an output not built yet gets a "being prepared"
page at once; every version is reachable as the role allows; the queue survives a
restart.  Nothing here depends on timing: a builder is run to completion (`drain`, or
waiting on the queue with a generous bound), never raced.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reports.services import builds, datasets
from reports.store.accounts import now_utc
from reports.store.db import Store
from reports.store.jobs import DONE, FAILED, MAX_ATTEMPTS, QUEUED, RUNNING, Jobs
from web.app import create_app

from .portal_helpers import AS_OF, DATA, log_in, make_store

ROOT = Path(__file__).resolve().parents[1]
COOP = "co-op-working"


@pytest.fixture(scope="module")
def built(tmp_path_factory: Any) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("builds") / "store"
    return root, make_store(root)


def _copy(src: Path, tmp: Path) -> Path:
    import shutil

    dst = tmp / "store"
    shutil.copytree(src, dst)
    return dst


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    exe = Path(sys.executable).with_name("impact")
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=300)


def test_an_upload_queues_every_output_of_the_new_version(tmp_path: Path) -> None:
    with Store(tmp_path / "store") as store:
        v1 = datasets.upload(store, DATA / "coop_working.xlsx", "Co-op", as_of=AS_OF).version
        v2 = datasets.upload(store, DATA / "coop_working.csv", "Co-op", as_of=AS_OF).version
        again = datasets.upload(store, DATA / "coop_working.csv", "Co-op", as_of=AS_OF)
        assert v1 and v2 and not again.created
        jobs = Jobs(store)
        first = jobs.of_version("Co-op", 1, v1.sha256)
        second = jobs.of_version("Co-op", 2, v2.sha256)
    # every output of the catalogue, less the comparisons for a first version
    assert sorted(first) == sorted(n for n in builds.CATALOGUE if not n.startswith("changes-"))
    assert sorted(second) == sorted(builds.CATALOGUE)
    assert {j.state for j in [*first.values(), *second.values()]} == {QUEUED}
    assert len(jobs.of_dataset("Co-op")) == len(first) + len(second)   # none twice


@pytest.mark.slow
def test_the_builder_makes_the_clis_bytes(built: tuple[Path, dict[str, str]],
                                          tmp_path: Path) -> None:
    root = _copy(built[0], tmp_path)
    with Store(root) as store:
        builds.Builder(store, 0).drain()
        v = store.version("Co-op working", 2)
        folder = builds.folder_of(root, v)
        states = {j.state for j in Jobs(store).of_dataset("Co-op working")}
    assert states == {DONE}
    for audience, extra, name in (
            ("union", [], "briefing-union.pdf"), ("public", [], "briefing-public.pdf"),
            ("union", ["--accessible"], "briefing-union-tagged.pdf"),
            ("management", ["--format", "docx"], "briefing-management.docx"),
            ("public", ["--format", "docx"], "briefing-public.docx")):
        out = tmp_path / f"cli-{name}"
        r = _cli("brief", "--dataset", "Co-op working", "--version", "2", "--audience",
                 audience, "--reproducible", "-o", str(out), "--store", str(root), *extra)
        assert r.returncode == 0, r.stderr
        assert (folder / name).read_bytes() == out.read_bytes(), name
    r = _cli("summary", "--dataset", "Co-op working", "--version", "2", "--audience",
             "public", "--format", "json", "--store", str(root))
    import json

    import openpyxl

    public = json.loads(r.stdout)
    book = openpyxl.load_workbook(folder / "summary-public.xlsx", read_only=True)
    cells = {str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
             for c in row if c is not None}
    assert str(public["totals"]["baseline_fte"]) in cells or \
        str(float(public["totals"]["baseline_fte"])) in cells


def test_two_claimers_never_take_the_same_job(built: tuple[Path, dict[str, str]],
                                              tmp_path: Path) -> None:
    root = _copy(built[0], tmp_path)
    taken: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def claimer(n: int) -> None:
        with Store(root) as store:          # its own engine, as another process has
            jobs = Jobs(store)
            start.wait()
            while (job := jobs.claim(f"claimer-{n}")) is not None:
                with lock:
                    taken.append(job.id)
                jobs.finish(job, f"claimer-{n}")

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Store(root) as store:
        expected = len(Jobs(store).of_dataset("Co-op working")) + \
            len(Jobs(store).of_dataset("Derbyshire early help")) + \
            len(Jobs(store).of_dataset("Tiny"))
    assert len(taken) == expected and len(set(taken)) == expected   # each once


def test_two_claimers_on_postgresql_never_take_the_same_job(pg_url: str,
                                                           tmp_path: Path) -> None:
    with Store(tmp_path / "a", url=pg_url) as store:
        for f in ("coop_working.xlsx", "coop_working.csv"):
            datasets.upload(store, DATA / f, "Co-op", as_of=AS_OF)
        total = len(Jobs(store).of_dataset("Co-op"))
    taken: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def claimer(n: int) -> None:
        # each server its own connections to one database and the one store folder they
        # all mount (two different folders on one database are refused: issue 24)
        with Store(tmp_path / "a", url=pg_url) as store:
            jobs = Jobs(store)
            start.wait()
            while (job := jobs.claim(f"server-{n}")) is not None:
                with lock:
                    taken.append(job.id)
                jobs.finish(job, f"server-{n}")

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == total and len(set(taken)) == total


def test_a_job_whose_builder_died_is_retried_then_failed_with_its_reason(
        tmp_path: Path) -> None:
    with Store(tmp_path / "store") as store:
        datasets.upload(store, DATA / "coop_working.xlsx", "Co-op", as_of=AS_OF)
        jobs = Jobs(store)
        total = len(jobs.of_dataset("Co-op"))
        base = now_utc() - timedelta(hours=10)
        # every job is claimed by a builder that then dies: an hour later its lease is over
        for attempt in range(1, MAX_ATTEMPTS + 1):
            later = base + timedelta(hours=attempt)
            claimed = [jobs.claim("dead", now=later) for _ in range(total)]
            assert all(j is not None and j.attempts == attempt for j in claimed)
            assert all(j.state == RUNNING for j in jobs.of_dataset("Co-op"))
        assert jobs.claim("alive") is None          # nothing left to try
        ended = jobs.of_dataset("Co-op")
    assert {j.state for j in ended} == {FAILED}
    assert all("stopped 3 times" in (j.error or "") for j in ended)


@pytest.mark.slow
def test_a_build_that_raises_is_tried_again_then_shown_on_the_dataset_page(
        built: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: Any) -> None:
    root = _copy(built[0], tmp_path)
    calls: list[str] = []

    def broken(store: Any, version: Any, output: str) -> bytes:
        calls.append(output)
        raise RuntimeError("the renderer fell over")

    monkeypatch.setattr(builds, "_make", broken)
    with Store(root) as store:
        builds.Builder(store, 0).drain()
        ended = Jobs(store).of_dataset("Tiny")
    assert {j.state for j in ended} == {FAILED}
    assert all(j.attempts == MAX_ATTEMPTS for j in ended)
    assert calls.count("briefing-union.pdf") == 4 * MAX_ATTEMPTS   # four versions in all
    assert all("the renderer fell over" in (j.error or "") for j in ended)
    client = create_app(root).test_client()
    log_in(client, "hr")
    page = client.get("/datasets/tiny").get_data(as_text=True)
    assert "could not be made" in page and "the renderer fell over" in page
    r = client.get("/datasets/tiny/v1/briefing-union.pdf")
    assert r.status_code == 409 and b"the renderer fell over" in r.data


@pytest.mark.slow
def test_a_download_not_built_yet_is_being_prepared_at_once(
        built: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root = _copy(built[0], tmp_path)
    app = create_app(root, build_workers=1)      # a background builder, never started here
    client = app.test_client()
    log_in(client, "union")
    r = client.get(f"/datasets/{COOP}/briefing/union.pdf")
    assert r.status_code == 202 and r.mimetype == "text/html"
    assert r.headers["Refresh"] == "5" and r.headers["Retry-After"] == "5"
    assert b"Being prepared" in r.data and b"/static/portal.css" in r.data
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    page = client.get(f"/datasets/{COOP}").get_data(as_text=True)
    assert "(being prepared)" in page
    with Store(root) as store:       # the queue is in the store: a restart finds it
        builds.Builder(store, 0).drain()
    r = create_app(root, build_workers=1).test_client()
    log_in(r, "union")
    got = r.get(f"/datasets/{COOP}/briefing/union.pdf")
    assert got.status_code == 200 and got.data.startswith(b"%PDF")


def test_every_version_is_reachable_as_the_role_allows(
        built: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root = _copy(built[0], tmp_path)
    union = create_app(root).test_client()
    log_in(union, "union")
    page = union.get(f"/datasets/{COOP}").get_data(as_text=True)
    for number in (1, 2):
        assert f"/datasets/{COOP}/v{number}/briefing-union-tagged.pdf" in page
    assert "briefing-management" not in page and "summary-full" not in page
    r = union.get(f"/datasets/{COOP}/v1/briefing-union-tagged.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    import io

    from pypdf import PdfReader  # the tagged one is tagged

    assert "/StructTreeRoot" in PdfReader(io.BytesIO(r.data)).trailer["/Root"]
    assert union.get(f"/datasets/{COOP}/v1/briefing-management.pdf").status_code == 403
    assert union.get(f"/datasets/{COOP}/v1/changes-public.csv").status_code == 404  # first
    assert union.get(f"/datasets/{COOP}/v3/briefing-union.pdf").status_code == 404
    assert union.get(f"/datasets/{COOP}/v1/nothing.pdf").status_code == 404
    audit = union.get(f"/datasets/{COOP}/v2/public-audit.json")
    assert audit.status_code == 200 and audit.json["hidden"]
    assert all(h["to"] is None or h["to"] - h["from"] >= audit.json["threshold"]
               for h in audit.json["hidden"])


@pytest.mark.slow
def test_a_background_builder_builds_in_a_child_process_and_survives_its_death(
        tmp_path: Path) -> None:
    with Store(tmp_path / "store") as store:
        datasets.upload(store, DATA / "coop_working.xlsx", "Co-op", as_of=AS_OF)
        v = store.version("Co-op", 1)
        jobs = Jobs(store)
        wanted = sorted(jobs.of_version("Co-op", 1, v.sha256))
        # normal priority: an idle builder on a loaded machine builds nothing meanwhile
        builder = builds.Builder(store, 1, build=dies_on_the_union_briefing,
                                 priority="normal")
        builder.POLL_S = 0.2
        builder.start()
        try:
            deadline = time.monotonic() + 600        # a bound, not a verdict
            while jobs.pending() and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            builder.close()
        ended = jobs.of_version("Co-op", 1, v.sha256)
        folder = builds.folder_of(store.root, v)
    assert sorted(ended) == wanted
    dead = ended.pop("briefing-union.pdf")
    assert dead.state == FAILED and dead.attempts == MAX_ATTEMPTS
    assert "process died" in (dead.error or "")
    assert {j.state for j in ended.values()} == {DONE}      # the others were built
    assert all((folder / name).is_file() for name in ended)
    assert not (folder / "briefing-union.pdf").exists()


def dies_on_the_union_briefing(root: str, url: Any, dataset: str, number: int,
                               output: str) -> Any:
    """A build (run in the builder's child process) whose process dies on one output."""
    if output == "briefing-union.pdf":
        os._exit(3)
    return builds.build_in_child(root, url, dataset, number, output)


def test_a_months_full_summary_is_the_portals_for_the_same_version(tmp_path: Path) -> None:
    """`impact monthly` and the portal make the summary workbook with one builder: the
    month's summary.xlsx is byte for byte the version's summary-full.xlsx."""
    from reports.services.monthly import Month, audiences_from, run_monthly

    with Store(tmp_path / "store") as store:
        datasets.upload(store, DATA / "coop_working.xlsx", "Co-op", as_of=AS_OF)
        version = store.version("Co-op", 1)
        path = builds.build_output(str(store.root), None, "Co-op", 1, "summary-full.xlsx")
        run = run_monthly(store, tmp_path / "months", Month.parse("2024-03"),
                          audiences=audiences_from(["union"]))
        assert run.ok, run.summary_line()
    month_file = tmp_path / "months" / "2024-03" / version.slug / "summary.xlsx"
    assert month_file.read_bytes() == Path(path).read_bytes()


def test_a_dataset_found_by_its_slug_is_the_one_datasets_lists(
        built: tuple[Path, dict[str, str]]) -> None:
    """`Store.dataset_by_slug` (one query, for every request) against `datasets()`."""
    with Store(built[0]) as store:
        listed = store.datasets()
        assert [store.dataset_by_slug(d.slug) for d in listed] == listed
        assert store.dataset_by_slug("no-such-thing") is None


_SERVER = r"""
import sys, time
from pathlib import Path
from reports.services import builds
from reports.store.db import Store
from tests.test_builds import slow_build
with Store(Path(sys.argv[1])) as store:
    builder = builds.Builder(store, 1, build=slow_build)
    builder.POLL_S = 0.2
    builder.start()
    time.sleep(3600)
"""


def slow_build(root: str, url: Any, dataset: str, number: int, output: str) -> Any:
    """A build (in the builder's child) that says where it runs, then takes an hour."""
    (Path(root) / "builder.pid").write_text(str(os.getpid()))
    time.sleep(3600)


@pytest.mark.slow
def test_a_killed_server_leaves_no_builder_behind(tmp_path: Path) -> None:
    import signal

    root = tmp_path / "store"
    with Store(root) as store:
        datasets.upload(store, DATA / "coop_working.xlsx", "Co-op", as_of=AS_OF)
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(root)], cwd=ROOT)
    pid_file = root / "builder.pid"
    try:
        deadline = time.monotonic() + 300            # bounds, not timing verdicts
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pid_file.exists(), "the builder never started a build"
        child = int(pid_file.read_text())
        os.kill(child, 0)                             # it is running, mid-build
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=60)
    deadline = time.monotonic() + 120
    gone = False
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            gone = True
            break
        time.sleep(0.2)
    assert gone, f"builder process {child} outlived its server"


def test_a_worker_whose_server_is_already_gone_ends_at_once() -> None:
    """A worker started just as its server was killed is already init's child: it is
    given its server's id, so it sees the server gone instead of watching init."""
    code = ("import time; from reports.services.checking import watch_server; "
            "watch_server(2**22 + 12345); time.sleep(600)")   # no such parent
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=300)
    assert done.returncode == 0


def test_a_download_as_its_build_finishes_does_not_build_it_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A download looks for the file, finds none, and reads the job: if the builder
    finished in between (file written, then the job marked done), the job is DONE and
    the file is there.  That is the finished file, not a file that went missing: the
    job must not be queued to be built a second time."""
    with Store(tmp_path / "store") as store:
        v = datasets.upload(store, DATA / "coop_working.csv", "Co-op", as_of=AS_OF).version
        assert v is not None
        jobs = Jobs(store)
        output = "summary-full.xlsx"
        real = Jobs.of_version
        finished: list[bool] = []

        def builder_finishes_first(self: Jobs, *args: Any) -> Any:
            if not finished:     # the builder, between the download's look and this read
                finished.append(True)
                job = self.claim("builder", only=(v.dataset, v.number, v.sha256, output))
                assert job is not None
                builds.build_output(str(store.root), None, v.dataset, v.number, output)
                self.finish(job, "builder")
            return real(self, *args)

        monkeypatch.setattr(Jobs, "of_version", builder_finishes_first)
        got = builds.fetch(store, builds.Builder(store, 1), v, output)
        monkeypatch.setattr(Jobs, "of_version", real)
        job = jobs.of_version(v.dataset, v.number, v.sha256)[output]
    assert finished
    assert got.path is not None and got.path.is_file()
    assert (job.state, job.attempts) == (DONE, 1)      # built once, not queued again


def test_a_done_output_whose_file_went_missing_is_built_again(tmp_path: Path) -> None:
    """The other side of the test above: a job done whose file is gone (not in the
    folder, and on SQLite no database copy) is queued again and built."""
    with Store(tmp_path / "store") as store:
        v = datasets.upload(store, DATA / "coop_working.csv", "Co-op", as_of=AS_OF).version
        assert v is not None
        output = "summary-full.xlsx"
        first = builds.fetch(store, None, v, output)      # no builder: built in this thread
        assert first.path is not None
        first.path.unlink()
        again = builds.fetch(store, None, v, output)
        job = Jobs(store).of_version(v.dataset, v.number, v.sha256)[output]
    assert again.path is not None and again.path.is_file()
    assert (job.state, job.attempts) == (DONE, 1)     # queued again (attempts from 0), built


def test_an_output_someone_waits_for_is_built_before_those_queued_earlier(
        tmp_path: Path) -> None:
    """The queue is built oldest first, except that a download which finds its output
    "being prepared" has the builder take that one next; then the oldest again.  An
    output asked for that was taken meanwhile does not hold the rest up."""
    with Store(tmp_path / "store") as store:
        datasets.upload(store, DATA / "coop_working.xlsx", "Co-op", as_of=AS_OF)
        v = store.version("Co-op", 1)
        jobs = Jobs(store)
        queued = sorted(jobs.of_version("Co-op", 1, v.sha256).values(), key=lambda j: j.id)
        assert len(queued) >= 5
        builder = builds.Builder(store, 1)          # not started: nothing is built here
        last = [j.output for j in queued if not builds.CATALOGUE[j.output].public][-1]
        assert last != queued[4].output
        assert builds.fetch(store, builder, v, last).preparing
        assert builder.next_job(jobs, "test").output == last
        assert builder.next_job(jobs, "test").output == queued[0].output   # then oldest
        # asked for, but another builder took it first: the next oldest instead
        assert builds.fetch(store, builder, v, queued[1].output).preparing
        taken = jobs.claim("another", only=("Co-op", 1, v.sha256, queued[1].output))
        assert taken is not None
        assert builder.next_job(jobs, "test").output == queued[2].output
        # with nothing asked for, the plain order
        assert builder.next_job(jobs, "test").output == queued[3].output
        # a public output keeps its place: versions' public outputs are released through
        # the ledger in turn, so a later version's may not go before an earlier one's
        rest = [j.output for j in queued[4:]]
        public = next(o for o in rest if builds.CATALOGUE[o].public)
        assert public != rest[0]
        assert builds.fetch(store, builder, v, public).preparing
        assert builder.next_job(jobs, "test").output == rest[0]


@pytest.mark.parametrize(("priority", "policy", "niceness"), [
    ("idle", "SCHED_IDLE", 0), ("low", "SCHED_OTHER", builds.BUILD_NICENESS),
    ("normal", "SCHED_OTHER", 0)])
def test_a_builders_process_runs_at_the_priority_asked(priority: str, policy: str,
                                                        niceness: int) -> None:
    """idle: only a core nothing else wants (SCHED_IDLE); low: nice 10; normal: as the
    server.  Checked in a fresh process: its policy after, and its niceness after less
    before (the suite itself may run niced)."""
    if not hasattr(os, "SCHED_IDLE"):
        pytest.skip("no SCHED_IDLE on this system")
    code = ("import os; from reports.services.builds import set_priority; before = os.nice(0); "
            f"set_priority({priority!r}); print(os.sched_getscheduler(0), os.nice(0) - before)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout.split()
    assert [int(x) for x in out] == [getattr(os, policy), niceness]
    with pytest.raises(ValueError, match="idle, low, normal"):
        builds.Builder(None, 1, priority="high")  # type: ignore[arg-type]


def test_serve_offers_exactly_the_builders_priorities() -> None:
    """`impact serve --build-priority` writes its choices out (the command must not load
    the builder at start-up): they are `builds.PRIORITIES`, in order."""
    from commands.portal import serve

    option = next(p for p in serve.params if p.name == "build_priority")
    assert tuple(option.type.choices) == builds.PRIORITIES  # type: ignore[attr-defined]
    assert option.default == "idle"
