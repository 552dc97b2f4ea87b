"""Fault injection for tests: stop a real process at a named point of a store write.

$IMPACT_FAULT=POINT:ACTION (several joined by commas) makes the process act when it
reaches POINT (one of `POINTS`):

- ``die``: SIGKILL itself there (no clean-up, no `finally`, no atexit): a power cut
  or an OOM kill at exactly that step, whatever the machine's speed;
- ``pause:FILE``: create FILE.reached, then wait (holding whatever it holds: the
  store's lock, an open transaction) until FILE exists.  A test waits for
  FILE.reached, does what it wants to race with the paused write, then creates FILE.

So a test of "killed mid-write" chooses the moment instead of guessing it with a
timer, and cannot flake on a loaded machine.  Never set it in production.  The
variable is read once, at import: unset, `point` is one global test and a return.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ENV = "IMPACT_FAULT"

POINTS = (
    # Store.add (an upload): the copy written beside its final name, not yet renamed;
    # renamed into files/ but no row yet; the version row inserted, not committed;
    # committed, but the portal's outputs not yet queued
    "upload.part-written", "upload.file-stored", "upload.inserted", "upload.committed",
    # backup_store: the copy complete in its temporary folder; renamed to its name
    "backup.copied", "backup.renamed",
    # restore_store's steps (upkeep.STEPS): before the database is renamed over the
    # store's ("marked", "adding", "added") and after ("swapped", "cleaning")
    "restore.staged", "restore.kept", "restore.marked", "restore.adding", "restore.added",
    "restore.swapped", "restore.cleaning", "restore.loading", "restore.committing",
    # the build queue: a job claimed (committed as running); built, not yet marked done
    "build.claimed", "build.finishing",
)

ACTIONS = ("die", "pause")


def _parse(value: str) -> dict[str, tuple[str, str]] | None:
    wanted: dict[str, tuple[str, str]] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, _, rest = part.partition(":")
        action, _, arg = rest.partition(":")
        if name not in POINTS or action not in ACTIONS or (action == "pause") != bool(arg):
            raise ValueError(f"${ENV}: {part!r} is not POINT:die or POINT:pause:FILE "
                             f"with POINT one of {', '.join(POINTS)}")
        wanted[name] = (action, arg)
    return wanted or None


_WANTED = _parse(os.environ.get(ENV, ""))


def point(name: str) -> None:
    """The write has reached `name` (one of `POINTS`): act if $IMPACT_FAULT says so."""
    if _WANTED is None:
        return
    _act(name, _WANTED)


def _act(name: str, wanted: dict[str, tuple[str, str]]) -> None:
    assert name in POINTS, name
    action, arg = wanted.get(name, ("", ""))
    if action == "die":
        os.kill(os.getpid(), signal.SIGKILL)
        os._exit(137)                       # not reached where SIGKILL exists
    elif action == "pause":
        go = Path(arg)
        reached = go.with_name(go.name + ".reached")
        reached.write_text(f"{os.getpid()}\n")
        while not go.exists():
            time.sleep(0.01)                # waits on the test, never on the clock
