"""Fault injection for tests: stop a real process at a named point of a store write.

$IMPACT_FAULT=POINT:ACTION (several joined by commas) makes the process act when it
reaches POINT (one of `POINTS`); POINT#N:ACTION, only the Nth time it reaches it:

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
    # `impact monthly`: a file written beside its final name, not yet renamed
    "monthly.part-written",
    # `impact store migrate`: a dataset's originals written, inside the one transaction;
    # the transaction committed, the copy not yet checked
    "migrate.copying", "migrate.committed",
)

ACTIONS = ("die", "pause")


def _parse(value: str) -> dict[str, tuple[str, str, int]] | None:
    wanted: dict[str, tuple[str, str, int]] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        where, _, rest = part.partition(":")
        name, _, nth = where.partition("#")
        action, _, arg = rest.partition(":")
        if (name not in POINTS or action not in ACTIONS or (action == "pause") != bool(arg)
                or not (nth == "" or nth.isdigit() and int(nth) > 0)):
            raise ValueError(f"${ENV}: {part!r} is not POINT[#N]:die or POINT[#N]:pause:FILE "
                             f"with POINT one of {', '.join(POINTS)}")
        wanted[name] = (action, arg, int(nth or 0))
    return wanted or None


def _load(value: str) -> tuple[dict[str, tuple[str, str, int]] | None, str | None]:
    """What $IMPACT_FAULT asks for, and the one-line reason it cannot be read (then it
    asks for nothing: `problem` reports it, so that a front end refuses to start)."""
    try:
        return _parse(value), None
    except ValueError as e:
        return None, str(e)


_WANTED, _PROBLEM = _load(os.environ.get(ENV, ""))
_reached: dict[str, int] = {}


def problem() -> str | None:
    """Why $IMPACT_FAULT cannot be read, or None (unset or well formed)."""
    return _PROBLEM


def point(name: str) -> None:
    """The write has reached `name` (one of `POINTS`): act if $IMPACT_FAULT says so."""
    if _WANTED is None:
        return
    _act(name, _WANTED)


def _act(name: str, wanted: dict[str, tuple[str, str, int]]) -> None:
    assert name in POINTS, name
    _reached[name] = _reached.get(name, 0) + 1
    action, arg, nth = wanted.get(name, ("", "", 0))
    if nth and nth != _reached[name]:
        return
    if action == "die":
        os.kill(os.getpid(), signal.SIGKILL)
        os._exit(137)                       # not reached where SIGKILL exists
    elif action == "pause":
        go = Path(arg)
        reached = go.with_name(go.name + ".reached")
        reached.write_text(f"{os.getpid()}\n")
        while not go.exists():
            time.sleep(0.01)                # waits on the test, never on the clock
