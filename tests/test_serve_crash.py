"""A real `impact serve` under simultaneous public-output requests stays up and answers
every one (the shared HiGHS solver used to segfault it under 2-4 such requests).

8 threads ask for public outputs at the same moment, 5 rounds, on a SQLite store and
on a PostgreSQL one.  Every answer is 200 (the finished file) or 202 (being prepared),
the server is alive afterwards, and once its builder has finished, the files it serves
are the bytes the CLI makes for the same version and audience.  No verdict depends on
timing: the wait for the builder is a generous bound, not a measurement.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from reports.store.db import EMBEDDED, Store
from reports.store.jobs import Jobs

from .conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
EXE = Path(sys.executable).with_name("impact")
SLUG = "co-op-working"
PUBLIC = [f"v{n}/{o}" for n in (1, 2) for o in (
    "briefing-public.pdf", "briefing-public.html", "summary-public.xlsx", "public-audit.json")
          ] + ["v2/changes-public.csv", "briefing/public.pdf", "summary/public.xlsx",
               "changes/public.csv"]
THREADS, ROUNDS = 8, 5


def _impact(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, env=env, timeout=300)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(tmp: Path, db: list[str]) -> None:
    bench = load_script(ROOT / "bench" / "portal_load.py", "portal_load_for_crash")
    store = tmp / "store"
    at = ["--store", str(store), *db]
    for f in ("coop_working.xlsx", "coop_working.csv"):
        r = _impact("upload", str(DATA / f), "--dataset", "Co-op working", *at)
        assert r.returncode == 0, r.stderr
    r = _impact("users", "add", "union", "--role", "union", "--password-stdin", *at,
                stdin=bench.PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    port = _free_port()
    server = subprocess.Popen([str(EXE), "serve", "--port", str(port), "--threads", "8",
                               "--check-workers", "0", "--build-workers", "1", *at],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr \
                    else "impact serve exited"
                time.sleep(0.1)
        union = bench.Client(f"http://127.0.0.1:{port}")
        union.log_in("union")
        answers: list[tuple[str, int]] = []
        lock = threading.Lock()
        for r_ in range(ROUNDS):
            start = threading.Barrier(THREADS)

            def ask(i: int, rnd: int = r_, start: threading.Barrier = start) -> None:
                path = f"/datasets/{SLUG}/{PUBLIC[(i + rnd * THREADS) % len(PUBLIC)]}"
                start.wait()
                status, _ = union.request(path)
                with lock:
                    answers.append((path, status))

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert server.poll() is None, "impact serve died"
        assert len(answers) == THREADS * ROUNDS
        assert all(status in (200, 202) for _, status in answers), answers
        # the builder finishes every output (a bound, not a timing verdict)
        with Store(store, url=db[1] if db else EMBEDDED) as s:
            jobs = Jobs(s)
            deadline = time.monotonic() + 900
            while jobs.pending() and time.monotonic() < deadline:
                time.sleep(1)
            assert jobs.pending() == 0
            assert {j.state for j in jobs.of_dataset("Co-op working")} == {"done"}
        assert server.poll() is None
        for number in (1, 2):
            status, served = union.request(f"/datasets/{SLUG}/v{number}/briefing-public.pdf")
            assert status == 200
            out = tmp / f"cli-v{number}.pdf"
            r = _impact("brief", "--dataset", "Co-op working", "--version", str(number),
                        "--audience", "public", "--reproducible", "-o", str(out), *at)
            assert r.returncode == 0, r.stderr
            assert served == out.read_bytes(), f"version {number}: the portal's PDF differs"
        status, csv = union.request(f"/datasets/{SLUG}/changes/public.csv")
        r = _impact("compare", "--dataset", "Co-op working", "--audience", "public",
                    "--format", "csv", *at)
        assert status == 200 and r.returncode == 0, r.stderr
        assert csv.decode("utf-8") == r.stdout
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_serve_survives_simultaneous_public_requests_on_sqlite(tmp_path: Path) -> None:
    _run(tmp_path, [])


def test_serve_survives_simultaneous_public_requests_on_postgresql(
        tmp_path: Path, pg_url: str) -> None:
    _run(tmp_path, ["--db", pg_url])
