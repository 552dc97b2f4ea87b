"""`impact serve --processes N`: several server processes on one port and one store,
supervised by the process that started them (`web.server.serve_processes`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from reports.services import users

from .portal_helpers import make_store
from .server_helpers import ROOT, Client, free_port

WAIT_S = 120     # a bound on waiting for a process to start or end, never a verdict


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found |= {int(c) for c in children}
    return found


def _servers(parent: int) -> set[int]:
    """The parent's server processes (its children running `impact serve`, not the
    worker pools that a server process starts)."""
    return {c for c in _children(parent)
            if b"serve" in Path(f"/proc/{c}/cmdline").read_bytes()}


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status       # a zombie has ended


def _until(what: str, done: object) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():            # type: ignore[operator]
        assert time.monotonic() < deadline, f"still not {what} after {WAIT_S} s"
        time.sleep(0.1)


def _nothing_listens(port: int) -> None:
    """Nothing listens on the port any more: a connection to it is refused.  (Binding
    the port to check fails whenever any other socket has taken the freed port meanwhile,
    such as an outgoing connection's local end, which says nothing of a server: a CI run
    failed that way.)"""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=WAIT_S).close()


def _serve(root: Path, port: int) -> tuple[subprocess.Popen[bytes], list[str]]:
    """`impact serve --processes 2`, once both server processes are ready; and the lines
    it prints, as they come."""
    exe = Path(sys.executable).with_name("impact")
    command = [str(exe)] if exe.exists() else [sys.executable, "-c", "import cli; cli.main()"]
    server = subprocess.Popen([*command, "serve", "--port", str(port), "--store", str(root),
                               "--check-workers", "0", "--build-workers", "0",
                               "--processes", "2"], cwd=ROOT,
                              env={**os.environ, users.CHEAP_HASH_ENV: "1"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    lines: list[str] = []

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line.decode())

    threading.Thread(target=read, daemon=True).start()

    def ready() -> bool:         # both made their app (so neither holds the store's locks)
        assert server.poll() is None, "".join(lines)
        return len([line for line in lines if " ready (pid " in line]) == 2

    _until("ready with two server processes", ready)
    assert len(_servers(server.pid)) == 2
    return server, lines


def test_two_server_processes_share_one_port_and_one_store_and_outlive_a_kill(
        tmp_path: Path) -> None:
    root = tmp_path / "store"
    slugs = make_store(root)
    port = free_port()
    server, lines = _serve(root, port)
    try:
        first = _servers(server.pid)
        a, b = sorted(first)
        union = Client(port)
        os.kill(a, signal.SIGSTOP)   # a stopped process accepts nothing: b takes it all
        try:
            union.log_in("union")    # a session made by b ...
        finally:
            os.kill(a, signal.SIGCONT)
        os.kill(b, signal.SIGSTOP)
        try:                         # ... holds in a, which answers every request now
            status, _, page = union.get("/datasets")
            assert status == 200 and b"Derbyshire early help" in page
        finally:
            os.kill(b, signal.SIGCONT)
        for _ in range(20):          # and with both running, whichever answers
            status, _, page = union.get("/datasets")
            assert status == 200 and b"Derbyshire early help" in page
        killed = min(first)
        os.kill(killed, signal.SIGKILL)
        _until("replaced", lambda: len([line for line in lines if " ready (pid " in line]) == 3)
        assert len(_servers(server.pid) - {killed}) == 2
        assert len(_servers(server.pid) & first) == 1
        status, _, page = union.get(f"/datasets/{slugs['Co-op working']}")
        assert status == 200 and b"Co-op working" in page
        running = _servers(server.pid)
        server.terminate()           # SIGTERM: every server process ends, then the parent
        assert server.wait(timeout=WAIT_S) == 0
        out = "".join(lines)
        assert "2 server processes" in out
        assert "server process 1 was killed by signal 9; starting another" in out \
            or "server process 2 was killed by signal 9; starting another" in out
        assert "Traceback" not in out
        assert not [pid for pid in running if _alive(pid)], "a server process outlived it"
        _nothing_listens(port)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=WAIT_S)


def test_a_killed_supervisor_leaves_no_server_process_behind(tmp_path: Path) -> None:
    root = tmp_path / "store"
    make_store(root)
    port = free_port()
    server, lines = _serve(root, port)
    running = _servers(server.pid)
    try:
        server.kill()                # SIGKILL: no chance to stop them itself
        server.wait(timeout=WAIT_S)
        _until("ended", lambda: not [pid for pid in running if _alive(pid)])
        _nothing_listens(port)
    finally:
        for pid in running:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
