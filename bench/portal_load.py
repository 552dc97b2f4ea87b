#!/usr/bin/env python3
"""Load test of the web portal: concurrent uploads, then cold mixed downloads of every
output kind, against a real `impact serve` (waitress) on localhost.

    python bench/portal_load.py                          # SQLite store in a temp folder
    python bench/portal_load.py --uploads 20 --downloads 200 --threads 8
    python bench/portal_load.py --sequential             # one request at a time instead
    python bench/portal_load.py --db postgresql+psycopg://impact@localhost/impact

It makes a store with one hr and one union user and the Derbyshire sample, writes one
`--upload-rows` schedule (default 5,000 rows) with bench/bench.py's generator, starts
`impact serve --threads N --build-workers B` on a free port, logs each role in once,
then:

1. `--uploads` uploads at the same moment, by hr, of as many different versions of that
   xlsx file (each with its own first Post ID) to one dataset;
2. right after them, `--downloads` downloads at the same moment, by hr, spread over
   every output kind (briefings for each audience as PDF, tagged PDF and web page,
   summaries, the public audit, comparisons) of every uploaded version: cold, since
   nothing of those versions is built yet, so most answers are "being prepared" (202);
   a public output that the disclosure audit refuses answers 409, which counts as a
   right answer (not an error);
3. it waits until the background builders have built every output (the time until
   every output is built, counted from the start of step 2), then sends the same
   downloads again at the same moment: now every one is a finished file (200).

With `--sequential` each phase sends its requests one after another instead.

Every request must succeed (200, or 202 while cold), the dataset must hold versions 1..N
with no gap or duplicate, and `impact store check` must be clean afterwards.  Prints
each phase's throughput and latency percentiles, then one PASS or FAIL line per target:
upload-to-verdict p95 < 1 s, "being prepared" answer p95 < 1 s, finished download p95
< 1 s.  p95 is the nearest-rank 95th percentile of the phase's latencies (for 20
requests the 19th fastest).  `--json OUT` writes every latency and the verdicts.  Exit
code 0 when every request and check succeeded, even if a target failed; 1 otherwise.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import io
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import generate_posts, write_xlsx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
UPLOAD_P95_LIMIT = 1.0    # seconds: upload to verdict of a 5,000-row file
PREPARING_P95_LIMIT = 1.0  # seconds: a "being prepared" answer to a cold download
FINISHED_P95_LIMIT = 1.0   # seconds: a finished output's download
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PASSWORD = "load test passphrase 1"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """One logged-in browser: its cookie jar, shared by the threads that act for it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, path: str, data: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=600) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def token(self, path: str) -> str:
        status, body = self.request(path)
        m = CSRF.search(body.decode("utf-8", "replace"))
        if status != 200 or not m:
            raise SystemExit(f"no form at {path} (status {status})")
        return m.group(1)

    def log_in(self, name: str) -> None:
        form = urllib.parse.urlencode({"name": name, "password": PASSWORD,
                                       "csrf_token": self.token("/login")}).encode()
        status, _ = self.request("/login", form, {"Content-Type":
                                                  "application/x-www-form-urlencoded"})
        if status != 302:
            raise SystemExit(f"could not log in as {name} (status {status})")


class Burst:
    """A lean client for "at the same moment": one thread and one selector send every
    request of a phase at once on its own connection (`Connection: close`) and time each
    from the common start to the end of its answer.

    The threaded client (`--client threads`: one Python thread per request, urllib)
    spends about a millisecond of Python per request in this same process, on the same
    two cores as the server, and so measures itself as well as the server; this one
    spends a few microseconds per request (`--client` chooses; docs/performance.md gives both)."""

    def __init__(self, base: str, jar: http.cookiejar.CookieJar) -> None:
        parts = urllib.parse.urlsplit(base)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.host = parts.netloc
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in jar)

    def message(self, path: str, data: bytes | None = None,
                headers: dict[str, str] | None = None) -> bytes:
        lines = [f"{'POST' if data is not None else 'GET'} {path} HTTP/1.1",
                 f"Host: {self.host}", f"Cookie: {self.cookie}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if data is not None:
            lines.append(f"Content-Length: {len(data)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (data or b"")

    def send_all(self, messages: list[bytes]) -> tuple[list[float], list[tuple[int, bytes]], float]:
        """Each message's latency (s) and (status, body), and the phase's wall time."""
        n = len(messages)
        latencies = [0.0] * n
        answers: list[tuple[int, bytes]] = [(0, b"")] * n
        sel = selectors.DefaultSelector()
        t0 = time.perf_counter()
        for i, msg in enumerate(messages):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(self.address)
            sel.register(sock, selectors.EVENT_WRITE, [i, memoryview(msg), bytearray()])
        left = n
        while left:
            events = sel.select(timeout=600)
            if not events:
                raise SystemExit("no answer from the server within 600 s")
            for key, mask in events:
                sock, (i, out, got) = cast(socket.socket, key.fileobj), key.data
                try:
                    if mask & selectors.EVENT_WRITE:
                        sent = sock.send(out)
                        key.data[1] = out = out[sent:]
                        if not out:
                            sel.modify(sock, selectors.EVENT_READ, key.data)
                        continue
                    chunk = sock.recv(1 << 20)
                except OSError as e:
                    chunk, got[:] = b"", f"HTTP/1.1 0 {e}\r\n\r\n".encode()
                if chunk:
                    got += chunk
                    continue
                latencies[i] = time.perf_counter() - t0
                sel.unregister(sock)
                sock.close()
                head, _, body = bytes(got).partition(b"\r\n\r\n")
                status_line = head.split(b"\r\n", 1)[0].split()
                answers[i] = (int(status_line[1]) if len(status_line) > 1 else 0, body)
                left -= 1
        return latencies, answers, time.perf_counter() - t0


def multipart(fields: dict[str, str], file_field: str, file_name: str,
              content: bytes, content_type: str = "text/csv") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                     f'{v}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                 f'filename="{file_name}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                 + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


FIRST_ID = b"<t>P000001</t>"  # bench.py's first Post ID, an inline string in its xlsx


def variants(n: int, rows: int, work: Path) -> list[bytes]:
    """n different versions of one generated `rows`-row xlsx schedule (bench/bench.py's
    generator, written once): in each, the first Post ID is LOAD-0001, LOAD-0002, ..."""
    path = work / f"posts-{rows}.xlsx"
    write_xlsx(generate_posts(rows), path)
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    if sum(data.count(FIRST_ID) for _, data in members) != 1:
        raise SystemExit(f"{path}: expected the Post ID P000001 once")
    out = []
    for i in range(1, n + 1):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for info, data in members:
                z.writestr(info, data.replace(FIRST_ID, f"<t>LOAD-{i:04d}</t>".encode()))
        out.append(buf.getvalue())
    return out


def impact(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("impact")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import cli; cli.main()"]
    return subprocess.run([*cmd, *args], cwd=ROOT, capture_output=True, text=True, env=env,
                          input=PASSWORD + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nearest_rank(values: list[float], p: int) -> float:
    """The nearest-rank p-th percentile: the ceil(p * n / 100)-th smallest value."""
    ordered = sorted(values)
    return ordered[max(1, -(-p * len(ordered) // 100)) - 1]


def phase(name: str, jobs: list[Any], asked: Any, judge: Any, client: Client,
          burst: Burst | None = None, sequential: bool = False) -> dict[str, Any]:
    """Run every job at the same moment, or with `sequential` one after another from this
    thread.  `asked(job)` is its request (path, body, headers), `judge(job, status, body)`
    its result; at the same moment means from `burst` (one thread, every connection at
    once) when given, else one thread per request, released together."""
    latencies: list[float] = [0.0] * len(jobs)
    results: list[Any] = [None] * len(jobs)

    def one(i: int) -> None:
        t0 = time.perf_counter()
        results[i] = judge(jobs[i], *client.request(*asked(jobs[i])))
        latencies[i] = time.perf_counter() - t0

    if sequential:
        t0 = time.perf_counter()
        for i in range(len(jobs)):
            one(i)
        wall = time.perf_counter() - t0
    elif burst is not None:
        latencies, answers, wall = burst.send_all([burst.message(*asked(j)) for j in jobs])
        results = [judge(j, status, body) for j, (status, body) in zip(jobs, answers)]
    else:
        start = threading.Barrier(len(jobs) + 1)

        def released(i: int) -> None:
            start.wait()
            one(i)

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = [pool.submit(released, i) for i in range(len(jobs))]
            start.wait()
            t0 = time.perf_counter()
            for f in futures:
                f.result()
            wall = time.perf_counter() - t0
    p95 = nearest_rank(latencies, 95)
    ok = sum(1 for r in results if r is True or r in ANSWERS)
    by_answer = {a: [t for t, r in zip(latencies, results) if r == a] for a in ANSWERS}
    return {"phase": name, "answers": {a: len(v) for a, v in by_answer.items()},
            "latencies_by_answer_s": by_answer, "requests": len(jobs), "succeeded": ok, "wall_s": round(wall, 3),
            "throughput_per_s": round(len(jobs) / wall, 2),
            "p50_ms": round(statistics.median(latencies) * 1000), "p95_ms": round(p95 * 1000),
            "max_ms": round(max(latencies) * 1000), "p95_s": p95,
            "failures": [r for r in results if r is not True and r not in ANSWERS][:5],
            "latencies_s": latencies}


# a download's good answers: 200 (the file), 202 (being prepared), or 409 for a public
# output the disclosure audit refuses (the generated file's small teams can make that so)
ANSWERS = ("finished", "preparing", "refused")


def verdict(p: dict[str, Any], target: str, limit: float, what: str,
            answer: str | None = None) -> dict[str, Any]:
    """PASS when every request of the phase succeeded and the p95 of its latencies (of
    the answers of one kind, with `answer`) is under the limit."""
    values = p["latencies_s"] if answer is None else p["latencies_by_answer_s"][answer]
    p95 = nearest_rank(values, 95) if values else float("nan")
    passed = p["succeeded"] == p["requests"] and bool(values) and p95 < limit
    failed = p["requests"] - p["succeeded"]
    note = f"; {failed} of {p['requests']} requests failed" if failed else ""
    line = (f"{'PASS' if passed else 'FAIL'}  {target} p95 < {limit:g} s: "
            f"{p95:.3f} s ({len(values)} {what}{note})")
    return {"target": target, "limit_s": limit, "p95_s": p95, "count": len(values),
            "pass": passed, "line": line}


def catalogue() -> list[str]:
    """Every output a version may have (the portal's catalogue)."""
    from reports.services.builds import CATALOGUE  # the package under test

    return list(CATALOGUE)


def wait_built(store: Path, db: str | None, limit_s: float) -> float | None:
    """Seconds until the store's build queue is empty (None if not within `limit_s`)."""
    from reports.store.db import EMBEDDED, Store  # the package under test
    from reports.store.jobs import Jobs

    t0 = time.perf_counter()
    with Store(store, url=db or EMBEDDED) as s:
        jobs = Jobs(s)
        while jobs.pending():
            if time.perf_counter() - t0 > limit_s:
                return None
            time.sleep(0.5)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--uploads", type=int, default=20)
    ap.add_argument("--downloads", type=int, default=200)
    ap.add_argument("--upload-rows", type=int, default=5000, metavar="N",
                    help="rows of the generated xlsx schedule that is uploaded (default 5000)")
    ap.add_argument("--threads", type=int, default=8, help="impact serve --threads")
    ap.add_argument("--check-workers", type=int, default=None,
                    help="impact serve --check-workers (default: its own, one per core)")
    ap.add_argument("--build-workers", type=int, default=None,
                    help="impact serve --build-workers (default: its own, 1)")
    ap.add_argument("--processes", type=int, default=None,
                    help="impact serve --processes (default: its own, 1)")
    ap.add_argument("--build-limit", type=float, default=3600, metavar="S",
                    help="give up waiting for the builders after S seconds (default 3600)")
    ap.add_argument("--sequential", action="store_true",
                    help="send each phase's requests one after another, not all at once")
    ap.add_argument("--client", choices=("burst", "threads"), default="burst",
                    help="how requests are sent at the same moment: burst (default: one "
                         "thread, every connection at once) or threads (one urllib thread "
                         "per request, the client of runs 1-7)")
    ap.add_argument("--store", type=Path, help="store folder (default: a new temp folder)")
    ap.add_argument("--db", help="a database URL for the store (impact serve --db)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="impact-load-")
    store = args.store or Path(tmp.name) / "store"
    db = ["--db", args.db] if args.db else []
    env = dict(os.environ)
    files = variants(args.uploads, args.upload_rows, Path(tmp.name))
    for name, role in (("hr", "hr"), ("union", "union")):
        r = impact("users", "add", name, "--role", role, "--password-stdin", "--store",
                   str(store), *db, env=env)
        if r.returncode != 0 and "already a user" not in r.stderr + r.stdout:
            raise SystemExit(f"impact users add failed: {r.stderr or r.stdout}")
    r = impact("upload", str(DATA / "derbyshire_early_help.xlsx"), "--dataset", "derbyshire",
               "--store", str(store), *db)
    if r.returncode != 0:
        raise SystemExit(f"impact upload failed: {r.stderr}")
    port = free_port()
    exe = Path(sys.executable).with_name("impact")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import cli; cli.main()"]
    server = subprocess.Popen([*cmd, "serve", "--port", str(port), "--threads",
                               str(args.threads), "--store", str(store), *db,
                               *([] if args.check_workers is None else
                                 ["--check-workers", str(args.check_workers)]),
                               *([] if args.build_workers is None else
                                 ["--build-workers", str(args.build_workers)]),
                               *([] if args.processes is None else
                                 ["--processes", str(args.processes)])], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("impact serve exited: " + server.stderr.read().decode()
                                     if server.stderr else "") from None
                time.sleep(0.1)
        hr, union = Client(base), Client(base)
        hr.log_in("hr")
        union.log_in("union")
        token = hr.token("/upload")

        def upload(item: tuple[int, bytes]) -> tuple[str, bytes, dict[str, str]]:
            i, content = item
            body, ctype = multipart({"csrf_token": token, "new_dataset": "load",
                                     "as_of": "2024-03-01", "note": f"load {i}"},
                                    "file", f"posts-{i:04d}.xlsx", content, XLSX_TYPE)
            return "/upload", body, {"Content-Type": ctype}

        def uploaded(item: tuple[int, bytes], status: int, page: bytes) -> Any:
            return True if status == 200 and b"Uploaded: load" in page else f"{item[0]}: {status}"

        outputs = [(v, o) for o in catalogue() for v in range(1, args.uploads + 1)
                   if v > 1 or not o.startswith("changes-")]

        def download(i: int) -> tuple[str, None, None]:
            v, o = outputs[i % len(outputs)]
            return f"/datasets/load/v{v}/{o}", None, None

        def downloaded(i: int, status: int, body: bytes) -> Any:
            if status == 202 and b"Being prepared" in body:
                return "preparing"
            if status == 409 and b"Not publishable" in body:
                return "refused"     # the disclosure audit refused it: a right answer
            v, o = outputs[i % len(outputs)]
            return "finished" if status == 200 and body else f"v{v}/{o}: {status}"

        burst = Burst(base, hr.jar) if args.client == "burst" else None
        results = [phase("uploads", list(enumerate(files, 1)), upload, uploaded, hr, burst,
                         args.sequential)]
        t_cold = time.perf_counter()
        results.append(phase("cold mixed downloads", list(range(args.downloads)), download,
                             downloaded, hr, burst, args.sequential))
        waited = wait_built(store, args.db, args.build_limit)
        built_s = None if waited is None else time.perf_counter() - t_cold
        results.append(phase("finished mixed downloads", list(range(args.downloads)),
                             download, downloaded, hr, burst, args.sequential))
    finally:
        server.terminate()
        server.wait(timeout=60)
    r = impact("history", "load", "--format", "json", "--store", str(store), *db)
    numbers = sorted(v["version"] for v in json.loads(r.stdout)) if r.returncode == 0 else []
    check = impact("store", "check", "--store", str(store), *db)
    ok = (all(p["succeeded"] == p["requests"] for p in results) and built_s is not None
          and results[2]["answers"]["preparing"] == 0
          and numbers == list(range(1, args.uploads + 1)) and check.returncode == 0)
    store_kind = "PostgreSQL" if args.db else "SQLite"
    how = ("one after another" if args.sequential else
           f"at the same moment ({args.client} client)")
    print(f"impact serve --threads {args.threads}, store {'at ' + args.db if args.db else 'SQLite'}"
          f", {os.cpu_count()} CPUs, requests sent {how}")
    print("| phase | requests | succeeded | wall s | throughput /s | p50 ms | p95 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for p in results:
        print(f"| {p['phase']} | {p['requests']} | {p['succeeded']} | {p['wall_s']} | "
              f"{p['throughput_per_s']} | {p['p50_ms']} | {p['p95_ms']} | {p['max_ms']} |")
        if "answers" in p and p["phase"] != "uploads":
            print(f"  answers: {p['answers']['finished']} finished (200), "
                  f"{p['answers']['preparing']} being prepared (202), "
                  f"{p['answers']['refused']} refused by the disclosure audit (409)")
        if p["failures"]:
            print(f"  failures: {p['failures']}")
    print("every output built: " + (f"{built_s:.1f} s after the cold downloads began "
                                    f"({len(outputs)} outputs of {args.uploads} versions)"
                                    if built_s is not None else
                                    f"NOT within {args.build_limit:g} s"))
    print(f"versions of 'load': {len(numbers)}, numbered 1..{args.uploads} without gaps: "
          f"{numbers == list(range(1, args.uploads + 1))}")
    print(f"impact store check: {check.stdout.strip() or check.stderr.strip()}")
    workers = ("" if args.check_workers is None
               else f", --check-workers {args.check_workers}")
    workers += "" if args.build_workers is None else f", --build-workers {args.build_workers}"
    workers += "" if args.processes is None else f", --processes {args.processes}"
    served = f"impact serve --threads {args.threads}{workers}, {store_kind}"
    kinds = f"{len(outputs)} outputs of {args.uploads} versions"
    verdicts = [
        verdict(results[0], "portal upload to verdict", UPLOAD_P95_LIMIT,
                f"uploads of a {args.upload_rows:,}-row xlsx {how}, {served}"),
        verdict(results[1], "portal being-prepared answer", PREPARING_P95_LIMIT,
                f"202 answers of {args.downloads} cold downloads over {kinds} {how}, "
                f"{served}", answer="preparing"),
        verdict(results[2], "portal finished download", FINISHED_P95_LIMIT,
                f"200 answers of {args.downloads} downloads over {kinds}, once built, {how}, "
                f"{served}", answer="finished")]
    for v in verdicts:
        print(v["line"])
    if args.json:
        args.json.write_text(json.dumps({
            "threads": args.threads, "client": args.client, "check_workers": args.check_workers, "db": args.db or "sqlite", "upload_rows": args.upload_rows,
            "processes": args.processes or 1,
            "sequential": args.sequential, "cpus": os.cpu_count(), "phases": results,
            "verdicts": verdicts, "built_s": built_s, "ok": ok}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
