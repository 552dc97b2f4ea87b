"""The helper that waits for a test's server: it must fail, with what the server said,
when the server exits or never listens, rather than let the test go on without one."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from typing import IO

import pytest

from tests.server_helpers import free_port, wait_until_listening


def _start(code: str) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=out,
                            stderr=subprocess.STDOUT)
    return proc, out


def test_a_server_that_exits_fails_with_what_it_said() -> None:
    proc, out = _start("print('no store here', flush=True); raise SystemExit(1)")
    proc.wait(timeout=60)
    with out, pytest.raises(AssertionError, match="impact serve exited: no store here"):
        wait_until_listening(proc, free_port(), out)


def test_a_server_that_never_listens_fails_after_its_tries() -> None:
    proc, out = _start("import time; time.sleep(600)")
    port = free_port()
    try:
        with pytest.raises(AssertionError,
                           match=f"did not listen on port {port} after 3 tries"):
            wait_until_listening(proc, port, out, tries=3)
    finally:
        proc.kill()
        proc.wait(timeout=60)
        out.close()


def test_a_server_that_listens_is_waited_for() -> None:
    port = free_port()
    proc, out = _start("import socket, time\n"
                       f"s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen()\n"
                       "time.sleep(600)")
    try:
        wait_until_listening(proc, port, out)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait(timeout=60)
        out.close()
