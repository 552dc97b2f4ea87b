"""Checking uploads in worker processes (`reports.services.checking`).

The workers are real spawned processes.  A worker that dies is made to die for real
(os.abort, as calamine aborts), through `Checker`'s `run` argument, which names the
function a worker runs: here a module-level function of this file, which a spawned
worker imports by name.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from reports.intake.rules import Report
from reports.model.errors import CorruptFile, ImpactError
from reports.services.checking import Checker, check_file
from reports.services.source import HowToRead
from tests.conftest import DATA
from tests.portal_helpers import csrf, log_in, make_store, store_state
from web.app import create_app

DERBYSHIRE = DATA / "derbyshire_early_help.xlsx"
GATE = "IMPACT_TEST_CHECK_GATE"


def abort_on_crash(path: Path, how: HowToRead) -> Report:
    """What a worker runs in these tests: a file whose name has "crash" in it kills the
    worker process at once; a file named "slow..." first waits until the file named in
    $IMPACT_TEST_CHECK_GATE exists (so a crash can happen while it is being checked)."""
    if "crash" in path.name:
        os.abort()
    if path.name.startswith("slow"):
        gate = Path(os.environ[GATE])
        while not gate.exists():
            threading.Event().wait(0.01)
    return check_file(path, how)


def same_report(a: Report, b: Report) -> None:
    assert a.posts.equals(b.posts)
    assert [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]
    assert a.workbook.sha256 == b.workbook.sha256


@pytest.fixture(scope="module")
def checker() -> Any:
    c = Checker(2)
    c.start()
    yield c
    c.close()


def test_a_worker_gives_the_report_the_calling_process_would(checker: Checker) -> None:
    for path in (DERBYSHIRE, DATA / "broken_example.xlsx", DATA / "coop_working.csv"):
        same_report(checker.check(path, HowToRead()), Checker(0).check(path, HowToRead()))


def test_a_whole_file_problem_raises_the_same_error_from_a_worker(checker: Checker,
                                                                  tmp_path: Path) -> None:
    bad = tmp_path / "not-a-zip.xlsx"
    bad.write_bytes(b"this is not a workbook")
    with pytest.raises(ImpactError) as here:
        Checker(0).check(bad, HowToRead())
    with pytest.raises(ImpactError) as there:
        checker.check(bad, HowToRead())
    assert type(there.value) is type(here.value) and str(there.value) == str(here.value)


def test_checks_run_side_by_side_in_different_processes(checker: Checker) -> None:
    """Two checks at once are answered by two processes, neither of them this one."""
    pids: set[int] = set()
    lock = threading.Lock()

    def one() -> None:
        pid = checker._current().submit(os.getpid).result()
        with lock:
            pids.add(pid)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def within(seconds: float, work: Any) -> None:
    """Run `work` on a thread; fail (not hang) if it has not ended in `seconds`."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as e:  # handed to the test's thread
            failed.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still waiting after {seconds} s"
    if failed:
        raise failed[0]


@pytest.mark.slow
def test_a_worker_that_dies_refuses_its_file_and_the_next_check_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GATE, str(tmp_path / "open"))
    within(120, lambda: _crash_and_recover(tmp_path))


def _crash_and_recover(tmp_path: Path) -> None:
    c = Checker(2, run=abort_on_crash)
    try:
        crash = tmp_path / "crash.xlsx"
        crash.write_bytes(DERBYSHIRE.read_bytes())
        with pytest.raises(CorruptFile) as e:
            c.check(crash, HowToRead())
        assert "stopped the spreadsheet reader" in str(e.value) and "crash.xlsx" in str(e.value)
        same_report(c.check(DERBYSHIRE, HowToRead()), Checker(0).check(DERBYSHIRE, HowToRead()))

        # A file being checked when another kills a worker is checked again, and passes.
        slow = tmp_path / "slow.xlsx"
        slow.write_bytes(DERBYSHIRE.read_bytes())
        result: dict[str, Any] = {}
        t = threading.Thread(target=lambda: result.update(r=c.check(slow, HowToRead())))
        t.start()
        with pytest.raises(CorruptFile):
            c.check(crash, HowToRead())
        (tmp_path / "open").touch()
        t.join(timeout=60)
        same_report(result["r"], Checker(0).check(DERBYSHIRE, HowToRead()))
    finally:
        c.close()


def test_the_portal_checks_an_upload_in_a_worker(tmp_path: Path) -> None:
    """An upload to a portal with one check worker is checked there and stored; an
    invalid one stores nothing, as without workers (test_portal has the pages)."""
    root = tmp_path / "store"
    make_store(root)
    app = create_app(root, check_workers=1)
    checker = app.extensions["impact"].checker
    try:
        client = app.test_client()
        assert log_in(client, "hr").status_code == 302

        def upload(path: Path, dataset: str) -> Any:
            token = csrf(client.get("/upload").get_data(as_text=True))
            return client.post("/upload", content_type="multipart/form-data", data={
                "csrf_token": token, "as_of": "2024-04-01", "note": "", "new_dataset": dataset,
                "file": (io.BytesIO(path.read_bytes()), path.name)})

        before = store_state(root)
        r = upload(DATA / "broken_example.xlsx", "Broken")
        assert r.status_code == 422 and "Nothing was stored" in r.get_data(as_text=True)
        assert store_state(root) == before
        r = upload(DERBYSHIRE, "Again")
        assert r.status_code == 200, r.get_data(as_text=True)
        assert "132.5 of 221.5 FTE" in r.get_data(as_text=True)
        assert checker._pool is not None        # the worker pool was used
    finally:
        checker.close()


SERVER = """
import sys, time
from pathlib import Path
from reports.services.checking import Checker
from reports.services.source import HowToRead
if __name__ == "__main__":
    c = Checker(2)
    c.check(Path(sys.argv[1]), HowToRead())
    print(*c._current()._processes, flush=True)
    time.sleep(600)
"""


def test_a_killed_server_leaves_no_worker_behind(tmp_path: Path) -> None:
    """A server killed outright (no chance to shut its pool down) takes its workers
    with it within a few seconds: each worker watches for its parent's end."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "server.py"
    script.write_text(SERVER, "utf-8")
    server = subprocess.Popen([sys.executable, str(script), str(DERBYSHIRE)],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    try:
        assert server.stdout is not None
        pids = [int(p) for p in server.stdout.readline().split()]
        assert len(pids) == 2
        assert all(Path(f"/proc/{p}").exists() for p in pids)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_running(p) for p in pids):
        time.sleep(0.2)
    assert not any(_running(p) for p in pids), pids


def _running(pid: int) -> bool:
    """A process that exists and is not a zombie (an orphan's zombie is init's to reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
