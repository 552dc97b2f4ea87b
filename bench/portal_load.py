#!/usr/bin/env python3
"""Load test of the web portal: concurrent uploads, then cold mixed downloads of every
output kind, against a real `impact serve` (waitress) on localhost.

    python bench/portal_load.py                          # SQLite store in a temp folder
    python bench/portal_load.py --uploads 20 --downloads 200 --threads 8
    python bench/portal_load.py --sequential             # one request at a time instead
    python bench/portal_load.py --db postgresql+psycopg://impact@localhost/impact
    python bench/portal_load.py --pg --servers 2        # two servers, one throwaway PostgreSQL
    python bench/portal_load.py --pg --compare-servers  # 1 server, then 2, side by side

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

`--servers N` starts N `impact serve` processes on N free ports, each with its own new
empty folder, all on the same PostgreSQL `--db` (an SQLite store is one folder that only
one server may use, so N > 1 without PostgreSQL is refused); the users and the sample are
made through a third folder.  hr logs in once (a session is every server's) and each
phase's requests go round-robin over the servers.  `--servers 1,2` (or
`--compare-servers`) runs the whole scenario with one server, then with two, each on a
new empty database and new folders, prints both tables and a side-by-side table.  `--pg`
starts a throwaway PostgreSQL 15 server (tests/pg.py's `PgServer`; needs the `test`
extra and PostgreSQL at /usr/lib/postgresql/15/bin) and makes a new database on it for
each configuration.

Every configuration is checked for lost or duplicated work: each output of each version
has exactly one job, each job is done (or failed because the disclosure audit refused
it), was tried once (`attempts` 1) and was never seen claimed twice or opened again by a
watcher that polls the queue every 0.25 s, and each done output is stored once (one row
of `built_outputs` per version and output on PostgreSQL, its file on SQLite).

Every request must succeed (200, or 202 while cold), the dataset must hold versions 1..N
with no gap or duplicate, every output must be built once (above), and `impact store
check` must be clean afterwards.  Prints each phase's throughput and latency
percentiles, the checks, then one PASS or FAIL line per target:
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

    def __init__(self, base: str, jar: http.cookiejar.CookieJar | None = None) -> None:
        self.base = base
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
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

    def __init__(self, base: str | list[str], jar: http.cookiejar.CookieJar) -> None:
        """`base`: one server, or several (request i goes to server i modulo their
        number: `message(..., server=i)` and `send_all(..., servers)`)."""
        self.addresses: list[tuple[str, int]] = []
        self.hosts: list[str] = []
        for b in [base] if isinstance(base, str) else base:
            parts = urllib.parse.urlsplit(b)
            self.addresses.append((parts.hostname or "127.0.0.1", parts.port or 80))
            self.hosts.append(parts.netloc)
        self.address, self.host = self.addresses[0], self.hosts[0]
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in jar)

    def message(self, path: str, data: bytes | None = None,
                headers: dict[str, str] | None = None, server: int = 0) -> bytes:
        host = self.hosts[server % len(self.hosts)]
        lines = [f"{'POST' if data is not None else 'GET'} {path} HTTP/1.1",
                 f"Host: {host}", f"Cookie: {self.cookie}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if data is not None:
            lines.append(f"Content-Length: {len(data)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (data or b"")

    def send_all(self, messages: list[bytes], servers: list[int] | None = None
                 ) -> tuple[list[float], list[tuple[int, bytes]], float]:
        """Each message's latency (s) and (status, body), and the phase's wall time;
        message i goes to server `servers[i]` (modulo their number; default the first)."""
        n = len(messages)
        latencies = [0.0] * n
        answers: list[tuple[int, bytes]] = [(0, b"")] * n
        sel = selectors.DefaultSelector()
        t0 = time.perf_counter()
        for i, msg in enumerate(messages):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(self.addresses[(servers[i] if servers else 0)
                                           % len(self.addresses)])
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


def phase(name: str, jobs: list[Any], asked: Any, judge: Any, client: Client | list[Client],
          burst: Burst | None = None, sequential: bool = False) -> dict[str, Any]:
    """Run every job at the same moment, or with `sequential` one after another from this
    thread.  `asked(job)` is its request (path, body, headers), `judge(job, status, body)`
    its result; at the same moment means from `burst` (one thread, every connection at
    once) when given, else one thread per request, released together.  With several
    servers (a list of clients, a burst of several), job i goes to server i modulo their
    number: round-robin."""
    latencies: list[float] = [0.0] * len(jobs)
    results: list[Any] = [None] * len(jobs)
    clients = client if isinstance(client, list) else [client]

    def one(i: int) -> None:
        t0 = time.perf_counter()
        results[i] = judge(jobs[i], *clients[i % len(clients)].request(*asked(jobs[i])))
        latencies[i] = time.perf_counter() - t0

    if sequential:
        t0 = time.perf_counter()
        for i in range(len(jobs)):
            one(i)
        wall = time.perf_counter() - t0
    elif burst is not None:
        messages = []
        for i, j in enumerate(jobs):
            path, data, headers = asked(j)
            messages.append(burst.message(path, data, headers, server=i))
        latencies, answers, wall = burst.send_all(messages, list(range(len(jobs))))
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


class Watch(threading.Thread):
    """Polls the build queue of dataset 'load' every `every` seconds, from before the
    uploads until every output is built, and counts each job's claims as it sees them: a
    job seen running under a new owner, or running again after it was seen otherwise,
    or running with a new timestamp less than 55 s after its claim (a builder renews
    its lease every 60 s, so that is not a renewal but a second claim).  A job seen done
    or failed and later anything else was opened again.  A poll can miss a claim that
    comes and goes between two looks; the jobs' `attempts` (1 each) is checked too."""

    def __init__(self, store: Path, db: str | None, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.store, self.db, self.every = store, db, every
        self.stop = threading.Event()
        self.claims: dict[int, int] = {}
        self.reopened: set[int] = set()
        self.polls = 0
        self.error: str | None = None

    def run(self) -> None:
        from reports.store.db import EMBEDDED, Store  # the package under test
        from reports.store.jobs import DONE, FAILED, RUNNING, Jobs

        last: dict[int, Any] = {}
        claimed_at: dict[int, Any] = {}
        try:
            with Store(self.store, url=self.db or EMBEDDED, create=False) as s:
                jobs = Jobs(s)
                while True:
                    stopping = self.stop.is_set()
                    for j in jobs.of_dataset("load"):
                        prev = last.get(j.id)
                        if j.state == RUNNING and (
                                prev is None or prev.state != RUNNING or prev.owner != j.owner
                                or (j.updated_at != prev.updated_at and
                                    (j.updated_at - claimed_at[j.id]).total_seconds() < 55)):
                            self.claims[j.id] = self.claims.get(j.id, 0) + 1
                            claimed_at[j.id] = j.updated_at
                        if prev is not None and prev.state in (DONE, FAILED) and (
                                j.state != prev.state or j.updated_at != prev.updated_at):
                            self.reopened.add(j.id)
                        last[j.id] = j
                    self.polls += 1
                    if stopping:
                        return
                    self.stop.wait(self.every)
        except Exception as e:  # reported as a failed check, never silently
            self.error = f"{type(e).__name__}: {e}"


def built_once(store: Path, db: str | None, numbers: list[int],
               watch: Watch) -> dict[str, Any]:
    """Whether every output of every version of 'load' was built, and built once: a job
    for each output the version has (no more, none twice), each done, or failed because
    the disclosure audit refused it; each job tried once (`attempts` 1) and never seen
    claimed twice or opened again; and each done output stored once: on PostgreSQL one
    row per (version, output) in `built_outputs`, none for an output not done; on
    SQLite its file in the store's outputs folder."""
    from sqlalchemy import func, select

    from reports.services.builds import NOT_PUBLISHABLE, earlier_of, folder_of, outputs_of
    from reports.store import blobs
    from reports.store.db import EMBEDDED, Store
    from reports.store.jobs import DONE, FAILED, Jobs

    problems: list[str] = []
    with Store(store, url=db or EMBEDDED, create=False) as s:
        versions = {n: s.version("load", n) for n in numbers}
        expected = {(n, o) for n, v in versions.items()
                    for o in outputs_of(v, earlier_of(s, v))}
        jobs = Jobs(s).of_dataset("load")
        keys = [(j.version, j.output) for j in jobs]
        done = {(j.version, j.output) for j in jobs if j.state == DONE}
        refused = [j for j in jobs if j.state == FAILED
                   and (j.error or "").startswith(NOT_PUBLISHABLE)]
        other = [j for j in jobs if j.state != DONE and j not in refused]
        twice = len(keys) - len(set(keys))
        tried = [j for j in jobs if j.attempts != 1]
        if s.embedded:
            stored_rows = [(n, o) for n, o in sorted(done)
                           if (folder_of(store, versions[n]) / o).is_file()]
            rows_twice, rows_not_done = 0, 0
        else:
            with s.engine.connect() as conn:
                counted = conn.execute(
                    select(blobs.outputs_t.c.version, blobs.outputs_t.c.output,
                           func.count()).where(blobs.outputs_t.c.dataset == "load")
                    .group_by(blobs.outputs_t.c.version, blobs.outputs_t.c.output)).all()
            stored_rows = [(int(v), str(o)) for v, o, _ in counted]
            rows_twice = sum(1 for *_, c in counted if c != 1)
            rows_not_done = len(set(stored_rows) - done)
    lost = expected - set(keys)
    extra = set(keys) - expected
    missing_rows = done - set(stored_rows)
    claimed_twice = sorted(i for i, c in watch.claims.items() if c > 1)
    for count, what in ((len(lost), "outputs with no job (lost)"),
                        (len(extra), "jobs for an output the version does not have"),
                        (twice, "outputs with two jobs"),
                        (len(other), "jobs neither done nor refused by the audit"),
                        (len(tried), "jobs tried more than once (attempts != 1)"),
                        (len(claimed_twice), "jobs seen claimed twice"),
                        (len(watch.reopened), "jobs seen done and then opened again"),
                        (len(missing_rows), "done outputs not stored"),
                        (rows_twice, "outputs stored twice"),
                        (rows_not_done, "outputs stored but not done")):
        if count:
            problems.append(f"{count} {what}")
    if watch.error:
        problems.append(f"the queue could not be watched: {watch.error}")
    return {"outputs": len(expected), "jobs": len(jobs), "done": len(done),
            "refused": len(refused), "not_done_or_refused": len(other),
            "lost": len(lost), "jobs_twice": twice, "attempts_not_1": len(tried),
            "seen_claimed_twice": len(claimed_twice), "reopened": len(watch.reopened),
            "claims_seen": sum(watch.claims.values()), "polls": watch.polls,
            "stored": len(stored_rows), "stored_in": "SQLite folder" if db is None
            else "built_outputs", "stored_twice": rows_twice,
            "stored_not_done": rows_not_done, "done_not_stored": len(missing_rows),
            "problems": problems, "ok": not problems}


def start_servers(args: argparse.Namespace, folders: list[Path], db: list[str]
                  ) -> list[tuple[subprocess.Popen[bytes], int]]:
    """`impact serve` on a free port for each folder, all on the same `db`; waits until
    each accepts connections."""
    exe = Path(sys.executable).with_name("impact")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import cli; cli.main()"]
    servers = []
    for folder in folders:
        port = free_port()
        servers.append((subprocess.Popen(
            [*cmd, "serve", "--port", str(port), "--threads", str(args.threads), "--store",
             str(folder), *db,
             *([] if args.check_workers is None else
               ["--check-workers", str(args.check_workers)]),
             *([] if args.build_workers is None else
               ["--build-workers", str(args.build_workers)]),
             *([] if args.processes is None else ["--processes", str(args.processes)])],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), port))
    for server, port in servers:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("impact serve exited: " + server.stderr.read().decode()
                                     if server.stderr else "") from None
                time.sleep(0.1)
    return servers


def run(args: argparse.Namespace, n_servers: int, db_url: str | None, files: list[bytes],
        work: Path) -> dict[str, Any]:
    """The whole scenario against `n_servers` servers on a new store; prints its table and
    lines, and returns its results (as --json writes them)."""
    if n_servers == 1:
        store = args.store or work / "store"
        folders = [store]
    else:               # each server its own new, empty folder; the users made through a third
        store = work / "setup"
        folders = [work / f"server-{i}" for i in range(1, n_servers + 1)]
        for folder in folders:
            folder.mkdir(parents=True)
    db = ["--db", db_url] if db_url else []
    env = dict(os.environ)
    for name, role in (("hr", "hr"), ("union", "union")):
        r = impact("users", "add", name, "--role", role, "--password-stdin", "--store",
                   str(store), *db, env=env)
        if r.returncode != 0 and "already a user" not in r.stderr + r.stdout:
            raise SystemExit(f"impact users add failed: {r.stderr or r.stdout}")
    r = impact("upload", str(DATA / "derbyshire_early_help.xlsx"), "--dataset", "derbyshire",
               "--store", str(store), *db)
    if r.returncode != 0:
        raise SystemExit(f"impact upload failed: {r.stderr}")
    servers = start_servers(args, folders, db)
    bases = [f"http://127.0.0.1:{port}" for _, port in servers]
    watch = Watch(store, db_url)
    try:
        hr, union = Client(bases[0]), Client(bases[0])
        hr.log_in("hr")              # once: a session is every server's (one database)
        union.log_in("union")
        hrs = [hr] + [Client(b, hr.jar) for b in bases[1:]]
        # each server's upload form, through the one session (which also wakes each server
        # up before it is timed); upload i goes to server i modulo their number
        tokens = [c.token("/upload") for c in hrs]

        def upload(item: tuple[int, bytes]) -> tuple[str, bytes, dict[str, str]]:
            i, content = item
            token = tokens[(i - 1) % len(tokens)]
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

        burst = Burst(bases, hr.jar) if args.client == "burst" else None
        watch.start()
        results = [phase("uploads", list(enumerate(files, 1)), upload, uploaded, hrs, burst,
                         args.sequential)]
        t_cold = time.perf_counter()
        results.append(phase("cold mixed downloads", list(range(args.downloads)), download,
                             downloaded, hrs, burst, args.sequential))
        waited = wait_built(store, db_url, args.build_limit)
        built_s = None if waited is None else time.perf_counter() - t_cold
        watch.stop.set()
        watch.join(timeout=120)
        results.append(phase("finished mixed downloads", list(range(args.downloads)),
                             download, downloaded, hrs, burst, args.sequential))
    finally:
        watch.stop.set()
        for server, _ in servers:
            server.terminate()
        for server, _ in servers:
            server.wait(timeout=60)
    r = impact("history", "load", "--format", "json", "--store", str(store), *db)
    numbers = sorted(v["version"] for v in json.loads(r.stdout)) if r.returncode == 0 else []
    check = impact("store", "check", "--store", str(store), *db)
    once = built_once(store, db_url, numbers, watch)
    ok = (all(p["succeeded"] == p["requests"] for p in results) and built_s is not None
          and results[2]["answers"]["preparing"] == 0
          and numbers == list(range(1, args.uploads + 1)) and check.returncode == 0
          and once["ok"])
    store_kind = "PostgreSQL" if db_url else "SQLite"
    how = ("one after another" if args.sequential else
           f"at the same moment ({args.client} client)")
    spread = "" if n_servers == 1 else f", {n_servers} servers (requests round-robin)"
    print(f"impact serve --threads {args.threads}, store {'at ' + db_url if db_url else 'SQLite'}"
          f"{spread}, {os.cpu_count()} CPUs, requests sent {how}")
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
    print(f"built once: {'yes' if once['ok'] else 'NO'}: {once['jobs']} jobs for "
          f"{once['outputs']} outputs ({once['lost']} lost, {once['jobs_twice']} twice), "
          f"{once['done']} done, {once['refused']} refused by the audit, "
          f"{once['not_done_or_refused']} neither; {once['attempts_not_1']} with attempts "
          f"!= 1, {once['seen_claimed_twice']} seen claimed twice and {once['reopened']} "
          f"opened again ({once['claims_seen']} claims seen in {once['polls']} polls); "
          f"{once['stored']} stored in the {once['stored_in']} ({once['stored_twice']} "
          f"twice, {once['done_not_stored']} done but not stored, "
          f"{once['stored_not_done']} stored but not done)")
    for problem in once["problems"]:
        print(f"  problem: {problem}")
    workers = ("" if args.check_workers is None
               else f", --check-workers {args.check_workers}")
    workers += "" if args.build_workers is None else f", --build-workers {args.build_workers}"
    workers += "" if args.processes is None else f", --processes {args.processes}"
    served = f"impact serve --threads {args.threads}{workers}, {store_kind}{spread}"
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
    return {"threads": args.threads, "client": args.client,
            "check_workers": args.check_workers, "db": db_url or "sqlite",
            "upload_rows": args.upload_rows, "processes": args.processes or 1,
            "servers": n_servers, "sequential": args.sequential, "cpus": os.cpu_count(),
            "phases": results, "verdicts": verdicts, "built_s": built_s,
            "versions": numbers, "store_check": check.returncode == 0,
            "built_once": once, "ok": ok}


def side_by_side(runs: list[dict[str, Any]]) -> None:
    """One column per configuration: each phase's throughput and p95, and the time until
    every output is built."""
    names = [f"{r['servers']} server{'s' if r['servers'] > 1 else ''}" for r in runs]
    print("| | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(runs))
    for i, label in enumerate(("uploads", "cold downloads", "finished downloads")):
        print(f"| {label}, throughput /s | "
              + " | ".join(str(r["phases"][i]["throughput_per_s"]) for r in runs) + " |")
        print(f"| {label}, p95 ms | "
              + " | ".join(f"{r['phases'][i]['p95_ms']:,}" for r in runs) + " |")
    print("| every output built, s | " + " | ".join(
        "not built" if r["built_s"] is None else f"{r['built_s']:.1f}" for r in runs) + " |")
    print("| nothing lost or built twice | " + " | ".join(
        "yes" if r["built_once"]["ok"] and r["store_check"] else "NO" for r in runs) + " |")


def server_counts(text: str) -> list[int]:
    """`--servers`: "2", or "1,2" for one whole run after another."""
    try:
        counts = [int(n) for n in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of servers: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("each number of servers must be 1 or more")
    return counts


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
    ap.add_argument("--servers", type=server_counts, default=[1], metavar="N[,N...]",
                    help="how many impact serve processes share the store, each with its "
                         "own empty folder (more than 1 needs PostgreSQL: --db or --pg); "
                         "1,2 runs the whole scenario with 1, then with 2, each on a new "
                         "database (default 1)")
    ap.add_argument("--compare-servers", action="store_true",
                    help="the same as --servers 1,2")
    ap.add_argument("--pg", action="store_true",
                    help="start a throwaway PostgreSQL 15 server (tests/pg.py) and use a new "
                         "database on it for each configuration")
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
    counts = [1, 2] if args.compare_servers else args.servers
    if args.pg and args.db:
        ap.error("--pg starts its own PostgreSQL server: give --pg or --db, not both")
    if max(counts) > 1 and not (args.db or args.pg):
        ap.error(f"--servers {max(counts)} needs a PostgreSQL store (--db URL or --pg): "
                 "servers share a store through its database, and an SQLite store is one "
                 "folder that only one server may use")
    if len(counts) > 1 and (args.db or args.store):
        ap.error("comparing configurations needs a new empty database and folders for each: "
                 "use --pg, not --db or --store")

    tmp = tempfile.TemporaryDirectory(prefix="impact-load-")
    files = variants(args.uploads, args.upload_rows, Path(tmp.name))
    pg: Any = None
    if args.pg:
        sys.path.insert(0, str(ROOT))
        from tests.pg import PgServer  # a throwaway server, as the tests start it

        pg = PgServer()
        pg.start()
    runs = []
    try:
        for k, n in enumerate(counts):
            if len(counts) > 1:
                print(f"\n## {n} server{'s' if n > 1 else ''}\n")
            db_url = pg.new_database()[1] if pg is not None else args.db
            work = Path(tmp.name) / f"run-{k + 1}" if len(counts) > 1 else Path(tmp.name)
            runs.append(run(args, n, db_url, files, work))
    finally:
        if pg is not None:
            pg.stop()
    if len(runs) > 1:
        print("\n## Side by side\n")
        side_by_side(runs)
    ok = all(r["ok"] for r in runs)
    if args.json:
        out = runs[0] if len(runs) == 1 else {"configurations": runs, "ok": ok}
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
