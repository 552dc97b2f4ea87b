"""`commands.options.leave`: the command line ends without tearing the interpreter down (0.1 s
with pandas loaded), but keeps what an ordinary exit does that matters.  Each case runs
in its own Python process, as `impact` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("code, status", [("0", 0), ("1", 1), ("None", 0), ("3", 3)])
def test_the_exit_code_is_kept(code: str, status: int) -> None:
    assert run(f"from commands.options import leave; leave({code})").returncode == status


def test_a_message_goes_to_stderr_with_code_1() -> None:
    r = run("from commands.options import leave; leave('Error: no such file')")
    assert (r.returncode, r.stderr) == (1, "Error: no such file\n")


def test_atexit_functions_run_and_buffered_output_is_flushed() -> None:
    r = run("import atexit, sys\nfrom commands.options import leave\n"
            "atexit.register(lambda: print('atexit ran'))\n"
            "sys.stdout.write('x' * 100000)\n"          # still in the buffer
            "leave(0)")
    assert r.returncode == 0
    assert r.stdout == "x" * 100000 + "atexit ran\n"


def test_a_thread_still_running_is_waited_for() -> None:
    r = run("import threading, time\nfrom commands.options import leave\n"
            "def late():\n"
            "    time.sleep(0.5)\n"
            "    print('the thread finished', flush=True)\n"
            "threading.Thread(target=late).start()\n"
            "leave(2)")
    assert (r.returncode, r.stdout) == (2, "the thread finished\n")


def test_the_interpreter_is_not_torn_down() -> None:
    """The check above can fail: an object's finaliser runs at an ordinary exit, and
    not after `leave` (that is the teardown it skips)."""
    finaliser = ("class Noisy:\n"
                 "    def __del__(self):\n"
                 "        print('torn down', flush=True)\n"
                 "kept = Noisy()\n")
    assert run(finaliser + "import sys; sys.exit(0)").stdout == "torn down\n"
    assert run(finaliser + "from commands.options import leave; leave(0)").stdout == ""


def test_impact_output_through_a_pipe_is_whole() -> None:
    """A whole JSON summary arrives through a pipe, and the code is 0."""
    import json

    r = subprocess.run([sys.executable, "-c", "import cli; cli.main()", "summary",
                        str(ROOT / "data" / "derbyshire_early_help.xlsx"), "--format", "json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["baseline_fte"] == 221.5
