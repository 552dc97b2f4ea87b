"""A real `impact serve` for tests: started on a free port of 127.0.0.1 and stopped after;
raw requests over a socket (for requests no HTTP library will send, such as a
Content-Length that is not a number) and a logged-in client (urllib with cookies)."""

from __future__ import annotations

import http.cookiejar
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from reports.services import users

from .portal_helpers import PASSWORD, csrf

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running `impact serve`: its port and its process (to kill it as a test needs)."""

    port: int
    process: subprocess.Popen[bytes]


@contextmanager
def serving(store: Path, *args: str) -> Iterator[int]:
    """`impact serve --store STORE ARGS` on a free port; yields the port."""
    with serving_process(store, *args) as served:
        yield served.port


@contextmanager
def serving_process(store: Path, *args: str, env: dict[str, str] | None = None,
                    log: Path | None = None, check_workers: int | None = 0
                    ) -> Iterator[Served]:
    """`impact serve --store STORE ARGS` on a free port (with `--check-workers
    CHECK_WORKERS`, unless None: then serve's own default), with `env` added to its
    environment and its output in the file `log` (else a temporary file: a pipe nobody
    reads while it runs would stop the server once its warnings filled it); yields its
    port and process once it listens, and fails, with what it said, if it exits first
    or never listens.  Stopped after (if it still runs)."""
    port = free_port()
    exe = Path(sys.executable).with_name("impact")
    command = [str(exe)] if exe.exists() else [sys.executable, "-c", "import cli; cli.main()"]
    env = {**os.environ, users.CHEAP_HASH_ENV: "1", **(env or {})}
    out = open(log, "w+b") if log is not None else tempfile.TemporaryFile()  # closed below
    workers = () if check_workers is None else ("--check-workers", str(check_workers))
    proc = subprocess.Popen([*command, "serve", "--port", str(port), "--store", str(store),
                             *workers, *args],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(proc, port, out)
        yield Served(port, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        out.close()


def wait_until_listening(proc: subprocess.Popen[bytes], port: int, out: IO[bytes],
                         tries: int = 600) -> None:
    """Return once `proc` accepts connections on `port`; fail with its output (`out`,
    the file it writes to) if it exits or has not listened after `tries` attempts (a
    count, so the verdict does not depend on the machine's speed: each waits for a
    refusal, or a second, then 0.1 s)."""
    for _ in range(tries):
        if proc.poll() is not None:
            raise AssertionError(f"impact serve exited: {said(out)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"impact serve did not listen on port {port} after {tries} "
                         f"tries: {said(out)}")


def said(out: IO[bytes]) -> str:
    out.flush()
    out.seek(0)
    return out.read().decode(errors="replace")


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], str]:
    """Send `request` as it is and read the whole answer (the server closes the
    connection after it): (status, headers with lower-case names, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            head, sep, rest = b"".join(chunks).partition(b"\r\n\r\n")
            if sep:
                lengths = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")]
                if lengths and len(rest) >= int(lengths[0]):
                    break
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body.decode("utf-8", "replace")


class Client:
    """A browser-like client of the real server: cookies kept, no redirect hidden."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, path: str, data: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=300) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return self.request(path)

    def get_built(self, path: str, limit_s: float = 600) -> tuple[int, dict[str, str], bytes]:
        """GET an output, following "being prepared" (202) answers as a browser follows
        their Refresh header, until the background builder has made it (a bound, not a
        timing verdict)."""
        import time

        deadline = time.monotonic() + limit_s
        while True:
            status, headers, body = self.get(path)
            if status != 202 or time.monotonic() > deadline:
                return status, headers, body
            time.sleep(0.5)

    def log_in(self, name: str) -> None:
        _, _, page = self.get("/login")
        body = urllib.parse.urlencode({"name": name, "password": PASSWORD,
                                       "csrf_token": csrf(page.decode())}).encode()
        status, _, _ = self.request("/login", body)
        assert status == 200, status        # redirected to the datasets page

    def upload(self, filename: bytes, content: bytes, dataset: str = "",
               existing: str = "", as_of: str = "2024-03-01") -> tuple[int, str]:
        """POST the upload form with `filename` exactly as these bytes in the multipart
        header (a browser sends UTF-8)."""
        _, _, page = self.get("/upload")
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in (("csrf_token", csrf(page.decode())), ("dataset", existing),
                            ("new_dataset", dataset), ("as_of", as_of), ("note", "")):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f'\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="'.encode() + filename + b'"\r\nContent-Type: '
                     b'application/octet-stream\r\n\r\n' + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        status, _, body = self.request(
            "/upload", b"".join(parts),
            {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status, body.decode("utf-8")

