"""bench/portal_load.py judges the portal targets from the latencies it measured.

No timing is asserted: a tiny run (3 uploads of a 50-row generated xlsx, then 6 cold
mixed downloads and the same 6 once everything is built) must succeed, its uploads must
be distinct versions of that file, and each PASS/FAIL line must follow from the raw
latencies in its JSON (p95 worked out here) and the limits (upload to verdict < 1 s, a
"being prepared" answer < 1 s, a finished download < 1 s).
"""

from __future__ import annotations

import http.cookiejar
import http.server
import io
import json
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "portal_load.py"

# The limits, written out here rather than read from portal_load.py.
LIMITS = {"portal upload to verdict": 1.0, "portal being-prepared answer": 1.0,
          "portal finished download": 1.0}
VERDICT_LINE = re.compile(r"^(PASS|FAIL)  (portal upload to verdict|portal being-prepared "
                          r"answer|portal finished download) p95 < ([\d.]+) s: ([\d.]+) s "
                          r"\((\d+) (uploads|202 answers|200 answers) (.+)\)$")
# which phase, and which of its answers, each verdict is about
JUDGED = {"portal upload to verdict": (0, None), "portal being-prepared answer": (1, "preparing"),
          "portal finished download": (2, "finished")}


def load_script():
    return conftest.load_script(SCRIPT, "portal_load_under_test")


def p95_by_hand(values: list[float]) -> float:
    """Nearest rank: the smallest value with at least 95% of the values at or below it."""
    ordered = sorted(values)
    for k, value in enumerate(ordered, 1):
        if k * 100 >= 95 * len(ordered):
            return value
    raise AssertionError("no values")


def test_p95_by_hand_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 20 values: the 19th is the 95th percentile
    assert p95_by_hand(values) == 19.0
    assert p95_by_hand([3.0]) == 3.0
    assert p95_by_hand([float(v) for v in range(200, 0, -1)]) == 190.0


def test_the_script_p95_is_the_nearest_rank() -> None:
    module = load_script()
    for n in (1, 2, 3, 19, 20, 21, 200):
        values = [((i * 37) % n) / 7 for i in range(n)]  # a shuffled 0..n-1, scaled
        assert module.nearest_rank(values, 95) == p95_by_hand(values), n


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """3 uploads of a 50-row file and 6 downloads, cold then built, against a real
    impact serve."""
    tmp = tmp_path_factory.mktemp("load")
    out, store = tmp / "out.json", tmp / "store"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--uploads", "3", "--downloads", "6", "--upload-rows",
         "50", "--threads", "2", "--store", str(store), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout, json.loads(out.read_text(encoding="utf-8")), store


def test_verdict_lines_follow_from_the_raw_latencies(tiny_run) -> None:
    stdout, data, _ = tiny_run
    lines = {m.group(2): m for m in map(VERDICT_LINE.match, stdout.splitlines()) if m}
    assert sorted(lines) == sorted(LIMITS), stdout
    assert [p["phase"] for p in data["phases"]] == ["uploads", "cold mixed downloads",
                                                     "finished mixed downloads"]
    for target, m in lines.items():
        word, limit, printed, count, what = m.group(1, 3, 4, 5, 7)
        index, answer = JUDGED[target]
        phase = data["phases"][index]
        latencies = (phase["latencies_s"] if answer is None
                     else phase["latencies_by_answer_s"][answer])
        assert len(latencies) == int(count)
        assert float(limit) == LIMITS[target]
        p95 = p95_by_hand(latencies)
        assert printed == f"{p95:.3f}"
        all_ok = phase["succeeded"] == phase["requests"]
        assert word == ("PASS" if all_ok and p95 < LIMITS[target] else "FAIL")
        # The line says what was measured: all at once, and with how many server threads.
        assert "at the same moment" in what and "impact serve --threads 2" in what
    assert "50-row xlsx" in lines["portal upload to verdict"].group(7)
    assert int(lines["portal upload to verdict"].group(5)) == 3
    # cold, nothing of the new versions is built: every answer is "being prepared"; once
    # built, every one is the file
    assert data["phases"][1]["answers"] == {"finished": 0, "preparing": 6, "refused": 0}
    assert data["phases"][2]["answers"]["preparing"] == 0
    assert sum(data["phases"][2]["answers"].values()) == 6
    assert data["built_s"] is not None and data["built_s"] > 0


def test_each_upload_is_a_new_version_of_the_generated_file(tiny_run) -> None:
    stdout, data, store = tiny_run
    assert data["ok"] is True and data["upload_rows"] == 50
    assert "numbered 1..3 without gaps: True" in stdout
    assert ": healthy" in stdout
    exe = Path(sys.executable).with_name("impact")
    history = subprocess.run([str(exe), "history", "load", "--format", "json", "--store",
                              str(store)], cwd=ROOT, capture_output=True, text=True)
    assert history.returncode == 0, history.stderr
    versions = json.loads(history.stdout)
    assert sorted(v["version"] for v in versions) == [1, 2, 3]
    assert all(v["rows"] == 50 for v in versions)
    assert len({v["sha256"] for v in versions}) == 3
    assert sorted(v["file"] for v in versions) == ["posts-0001.xlsx", "posts-0002.xlsx",
                                                   "posts-0003.xlsx"]


def test_variants_differ_only_in_the_first_post_id(tmp_path) -> None:
    module = load_script()
    files = module.variants(3, 20, tmp_path)
    assert len(files) == 3
    sheets = []
    for content in files:
        ws = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
        sheets.append([list(row) for row in ws.iter_rows(values_only=True)])
        assert zipfile.ZipFile(io.BytesIO(content)).testzip() is None
    assert all(len(rows) == 21 and rows[0][0] == "Post ID" for rows in sheets)
    assert [rows[1][0] for rows in sheets] == ["LOAD-0001", "LOAD-0002", "LOAD-0003"]
    # Everything else is the generated file unchanged: P000002 ... P000020 below.
    for rows in sheets:
        assert [r[0] for r in rows[2:]] == [f"P{i:06d}" for i in range(2, 21)]
        assert rows[1][1:] == sheets[0][1][1:] and rows[2:] == sheets[0][2:]


class _Client:
    """Stands in for the load test's Client: `request` runs `work` on the job."""

    def __init__(self, work: Any) -> None:
        self.work = work

    def request(self, job: Any, data: Any, headers: Any) -> tuple[int, Any]:
        return 200, self.work(job)


def _asked(job: int) -> tuple[int, None, None]:
    return job, None, None


def _judged(job: int, status: int, result: Any) -> Any:
    return result


def test_sequential_sends_one_request_at_a_time_in_order() -> None:
    module = load_script()
    seen: list[tuple[int, int]] = []

    def work(job: int) -> bool:
        seen.append((job, threading.get_ident()))
        return True

    result = module.phase("jobs", list(range(5)), _asked, _judged, _Client(work),
                          sequential=True)
    assert seen == [(job, threading.get_ident()) for job in range(5)]
    assert result["requests"] == result["succeeded"] == 5
    assert len(result["latencies_s"]) == 5


def test_by_default_every_request_is_in_flight_at_once() -> None:
    module = load_script()
    together = threading.Barrier(4)

    def work(job: int) -> bool | str:
        try:  # passes only when all four jobs are running at the same time
            together.wait(timeout=60)
        except threading.BrokenBarrierError:
            return f"{job}: not concurrent"
        return True

    result = module.phase("jobs", list(range(4)), _asked, _judged, _Client(work))
    assert result["succeeded"] == 4, result["failures"]


def test_the_burst_client_has_every_request_in_flight_at_once() -> None:
    """A real HTTP server whose handlers each wait until all four requests have arrived:
    it answers only if the burst client sent them together."""
    module = load_script()
    together = threading.Barrier(4)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                together.wait(timeout=60)
                body = f"ok {self.path} {self.headers.get('Cookie')}".encode()
                self.send_response(200)
            except threading.BrokenBarrierError:
                body = b"not concurrent"
                self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        jar = http.cookiejar.CookieJar()
        jar.set_cookie(http.cookiejar.Cookie(
            0, "session", "abc", None, False, "127.0.0.1", False, False, "/", True, False,
            None, True, None, None, {}))
        burst = module.Burst(f"http://127.0.0.1:{server.server_port}", jar)
        result = module.phase("jobs", [f"/{i}" for i in range(4)], lambda j: (j, None, None),
                              lambda j, status, body: body == f"ok {j} session=abc".encode()
                              if status == 200 else f"{j}: {status} {body!r}",
                              _Client(None), burst)
    finally:
        server.shutdown()
    assert result["succeeded"] == 4, result["failures"]
    assert all(t > 0 for t in result["latencies_s"])


def test_several_servers_need_postgresql(capsys: pytest.CaptureFixture[str]) -> None:
    module = load_script()
    for argv in (["--servers", "2"], ["--compare-servers"], ["--servers", "1,2"]):
        with pytest.raises(SystemExit) as stopped:
            module.main(argv)
        assert stopped.value.code == 2
        assert "needs a PostgreSQL store (--db URL or --pg)" in capsys.readouterr().err
    with pytest.raises(SystemExit):          # a comparison needs a new database for each
        module.main(["--compare-servers", "--db", "postgresql+psycopg://x@localhost/y"])
    assert "use --pg, not --db or --store" in capsys.readouterr().err
    assert module.server_counts("1,2") == [1, 2]


def test_the_burst_client_spreads_requests_round_robin() -> None:
    """Two real HTTP servers: request i of a phase goes to server i modulo 2."""
    module = load_script()
    seen: dict[int, list[str]] = {0: [], 1: []}

    def handler_for(n: int) -> type[http.server.BaseHTTPRequestHandler]:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen[n].append(self.path)
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass
        return Handler

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(n))
               for n in (0, 1)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    try:
        burst = module.Burst([f"http://127.0.0.1:{s.server_port}" for s in servers],
                             http.cookiejar.CookieJar())
        result = module.phase("jobs", [f"/{i}" for i in range(6)], lambda j: (j, None, None),
                              lambda j, status, body: status == 200 or f"{j}: {status}",
                              _Client(None), burst)
    finally:
        for s in servers:
            s.shutdown()
    assert result["succeeded"] == 6, result["failures"]
    assert sorted(seen[0]) == ["/0", "/2", "/4"] and sorted(seen[1]) == ["/1", "/3", "/5"]
