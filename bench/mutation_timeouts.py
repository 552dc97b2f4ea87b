"""Classify mutants that mutmut stopped at its time limit, test by test (issue 25).

mutmut stops a mutant when ALL the tests that reach its function together run longer
than (their usual time + 1 s) x a multiplier x 2 CPU seconds.  For the privacy group
that is costly and blunt at once: the tests of `protect` take about 35 s, so a mutant
that makes the repair loop for ever costs minutes before it is stopped, and a limit
tight enough to get through 400 of them also stops mutants that only run a little
slower than mutmut timed them (which says nothing of their behaviour).

This runs each named mutant's tests (mutmut's own list of tests for its function, from
the copy's `mutants/mutmut-stats.json`) one pytest process per mutant, stopping at the
first failing test as mutmut does, with a limit on each TEST: its CPU time without the
mutant (measured here first, in the same way) x FACTOR + PLUS seconds.  A test that
runs past its own limit is a timeout; a failing test a kill; all passing a survivor:

    python bench/mutation_timeouts.py COPY NAMES_FILE --out verdicts.json
    python bench/mutation_timeouts.py COPY NAMES_FILE --write-results   # also into
        # COPY/mutmut-results.txt, for `bench/mutation.py --from-kept`

COPY is a group's copy kept by `bench/mutation.py --keep` (it holds `mutants/`).  The
limits are CPU time (RLIMIT_CPU, which other load on the machine does not use up), not
wall time; a wall-clock bound of the whole process only guards against a mutant that
sleeps.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FACTOR = 5.0     # a test's limit: its own CPU time without the mutant x FACTOR + PLUS
PLUS = 3.0
TIMEOUT_EXIT = 99    # the plugin's exit code for a test that ran past its limit
WALL_PER_CPU = 3.0   # the process's wall-clock bound: its tests' limits summed x this
GRACE_S = 5.0        # CPU seconds past a test's limit before a test stuck in C is stopped

# The pytest plugin, written into the copy's mutants/ folder: it times each test's CPU
# (setup, call and teardown) and, with limits, sets RLIMIT_CPU before each test so that
# the kernel sends SIGXCPU when the test runs past its own limit.
PLUGIN = '''
import json, os, resource, signal, sys, time

import pytest

_LIMITS = json.loads(os.environ.get("IMPACT_TEST_LIMITS") or "null")
_TIMES = os.environ.get("IMPACT_TEST_TIMES")
_OVER = os.environ.get("IMPACT_TEST_OVER")
_DEADLINE = os.environ.get("IMPACT_TEST_DEADLINE")
_times = {}
_current = [None]


def _over(signum, frame):       # (pytest holds stderr, and _exit would lose it)
    with open(_OVER, "w") as f:
        f.write(_current[0])
    os._exit(EXIT_CODE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _current[0] = item.nodeid
    start = time.process_time()
    if _LIMITS is not None:
        signal.signal(signal.SIGXCPU, _over)
        limit = _LIMITS.get(item.nodeid, _LIMITS["*"])
        soft = int(start + limit) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        if _DEADLINE:       # for the runner, which stops a test stuck in C (see _pytest)
            with open(_DEADLINE + ".part", "w") as f:
                f.write(f"{soft} {item.nodeid}")
            os.replace(_DEADLINE + ".part", _DEADLINE)
    yield
    if _LIMITS is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY,
                                                 resource.RLIM_INFINITY))
    _times[item.nodeid] = time.process_time() - start


def pytest_sessionfinish(session):
    if _TIMES:
        with open(_TIMES, "w") as f:
            json.dump(_times, f)
'''.replace("EXIT_CODE", str(TIMEOUT_EXIT))
PLUGIN_NAME = "impact_test_limits"


def mangled(mutant: str) -> str:
    """The function a mutant belongs to, as mutmut's stats name it."""
    return mutant.partition("__mutmut_")[0]


def tests_of(stats: dict[str, object], mutant: str) -> list[str]:
    by_function = stats["tests_by_mangled_function_name"]
    assert isinstance(by_function, dict)
    return sorted(by_function.get(mangled(mutant), []))


def limits(baseline: dict[str, float], tests: Iterable[str], factor: float,
           plus: float) -> dict[str, float]:
    """Each test's CPU limit; a test not timed without the mutant gets the longest."""
    longest = max(baseline.values(), default=0.0)
    out = {t: baseline.get(t, longest) * factor + plus for t in tests}
    out["*"] = longest * factor + plus
    return out


def verdict(code: int) -> str:
    """A mutant's status from its pytest process's exit code, as mutmut names them."""
    if code == 0:
        return "survived"
    if code in (TIMEOUT_EXIT, -24, 152):     # the plugin, or SIGXCPU itself
        return "timeout"
    if code in (1, 3):                       # a test failed, or pytest's internal error
        return "killed"
    if code == 5:
        return "no tests"
    return "suspicious"


def _cpu_seconds(pid: int) -> float:
    """A running process's CPU time, all its threads (as RLIMIT_CPU counts it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _deadline(path: Path | None) -> tuple[float, str] | None:
    """The CPU second the running test must end by, and its name, as the plugin wrote
    them (None before the first test, or without limits)."""
    try:
        soft, test = path.read_text().split(" ", 1) if path is not None else ("", "")
        return float(soft), test
    except (OSError, ValueError):
        return None


def _pytest(mutants: Path, tests: list[str], env: dict[str, str],
            wall: float | None) -> tuple[int, str]:
    """Run pytest; (its exit code, the end of its output).  A test past its CPU limit
    normally ends the process itself (SIGXCPU, handled in Python); one stuck in C code
    (a solver fed NaN) never returns to Python, so this stops it GRACE_S CPU seconds
    after its test's limit, by the deadline the plugin writes, as a timeout (naming the
    test in IMPACT_TEST_OVER, as the plugin would)."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "--rootdir=.", "--tb=line",
               "-p", "no:randomly", "-p", "no:cacheprovider", "-p", PLUGIN_NAME, *tests]
    deadline = Path(env["IMPACT_TEST_DEADLINE"]) if "IMPACT_TEST_DEADLINE" in env else None
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, cwd=mutants, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)
        started = time.monotonic()
        while True:
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pass
            running = _deadline(deadline)
            try:
                stuck = running is not None and _cpu_seconds(proc.pid) > running[0] + GRACE_S
            except OSError:          # it ended since the wait: the next wait says how
                continue
            if stuck or (wall is not None and time.monotonic() - started > wall):
                proc.kill()
                proc.wait()
                if running is not None and env.get("IMPACT_TEST_OVER"):
                    over = Path(env["IMPACT_TEST_OVER"])
                    if not over.exists():
                        over.write_text(running[1])
                return TIMEOUT_EXIT, "stopped: past its CPU limit in C code, or the wall bound"
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return code, text[-1500:]


def measure(mutants: Path, tests: list[str]) -> dict[str, float]:
    """Each test's CPU seconds with no mutant active (mutmut's trampolines in place)."""
    times = mutants / "impact-test-times.json"
    code, out = _pytest(mutants, tests, {"MUTANT_UNDER_TEST": "",
                                         "IMPACT_TEST_TIMES": str(times)}, None)
    if code != 0:
        raise SystemExit(f"the tests fail without a mutant (exit {code}):\n{out}")
    measured: dict[str, float] = json.loads(times.read_text())
    times.unlink()
    return measured


def classify(copy: Path, names: list[str], *, factor: float = FACTOR, plus: float = PLUS,
             jobs: int = 2, progress: bool = True, save: Path | None = None,
             also: tuple[str, ...] = ()) -> dict[str, dict[str, object]]:
    """Each mutant's status, the test that decided it and the seconds it took.  With
    `save`, the verdicts so far are written there after each mutant, and the mutants
    it already holds are not run again (a stopped run goes on where it was).  `also`:
    tests run for every mutant besides mutmut's list (tests written since its run)."""
    results: dict[str, dict[str, object]] = {}
    if save is not None and save.exists():
        results = {k: v for k, v in json.loads(save.read_text()).items() if k in names}
        names = [n for n in names if n not in results]
    mutants = copy / "mutants"
    plugin = mutants / f"{PLUGIN_NAME}.py"
    if not plugin.exists() or plugin.read_text(encoding="utf-8") != PLUGIN:
        # (whole or not at all: another run's pytest may be importing it)
        part = plugin.with_suffix(".part")
        part.write_text(PLUGIN, encoding="utf-8")
        part.replace(plugin)
    stats = json.loads((mutants / "mutmut-stats.json").read_text(encoding="utf-8"))
    every = sorted({t for name in names for t in tests_of(stats, name)} | set(also))
    if progress:
        print(f"timing {len(every)} tests without a mutant ...", file=sys.stderr, flush=True)
    baseline = measure(mutants, every)
    started = time.monotonic()

    def run(name: str) -> tuple[str, dict[str, object]]:
        tests = sorted(set(tests_of(stats, name)) | set(also),
                       key=lambda t: (baseline.get(t, 0.0), t))
        if not tests:
            return name, {"status": "no tests", "test": None, "seconds": 0.0}
        limit = limits(baseline, tests, factor, plus)
        wall = sum(v for k, v in limit.items() if k != "*") * WALL_PER_CPU + 60
        t0 = time.monotonic()
        over = mutants / f"impact-test-over-{name}"
        deadline = mutants / f"impact-test-deadline-{name}"
        code, out = _pytest(mutants, tests, {"MUTANT_UNDER_TEST": name,
                                             "IMPACT_TEST_LIMITS": json.dumps(limit),
                                             "IMPACT_TEST_OVER": str(over),
                                             "IMPACT_TEST_DEADLINE": str(deadline)}, wall)
        deadline.unlink(missing_ok=True)
        status = verdict(code)
        if over.exists():
            test: str | None = over.read_text()
            over.unlink()
        else:
            found = re.search(r"^(?:FAILED )?(tests/\S+::\S+)", out, re.M)
            test = found.group(1) if found and status == "killed" else None
        return name, {"status": status, "test": test,
                      "seconds": round(time.monotonic() - t0, 1),
                      **({"output": out} if status == "suspicious" else {})}

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for i, (name, result) in enumerate(pool.map(run, names), 1):
            results[name] = result
            if save is not None:
                save.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
            if progress:
                print(f"[{i}/{len(names)} {time.monotonic() - started:.0f} s] {name}: "
                      f"{result['status']} ({result['test']}, {result['seconds']} s)",
                      file=sys.stderr, flush=True)
    return results


def write_results(copy: Path, results: dict[str, dict[str, object]]) -> None:
    """Put the verdicts into the copy's saved `mutmut results` listing (name: status)."""
    path = copy / "mutmut-results.txt"
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, _ = line.strip().rpartition(": ")
        if sep and name in results:
            line = f"    {name}: {results[name]['status']}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("copy", type=Path, help="a group's copy kept by mutation.py --keep")
    ap.add_argument("names", type=Path, help="a file of mutant names, one a line")
    ap.add_argument("--factor", type=float, default=FACTOR)
    ap.add_argument("--plus", type=float, default=PLUS)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--also", action="append", default=[], metavar="TEST",
                    help="a test to run for every mutant too (written since mutmut's "
                    "run; copy it into COPY/mutants/tests first); repeatable")
    ap.add_argument("--out", type=Path, help="write the verdicts here as JSON, after "
                    "each mutant; those it holds already are not run again")
    ap.add_argument("--write-results", action="store_true",
                    help="also into COPY/mutmut-results.txt")
    args = ap.parse_args(argv)
    names = args.names.read_text(encoding="utf-8").split()
    results = classify(args.copy, names, factor=args.factor, plus=args.plus,
                       jobs=args.jobs, save=args.out, also=tuple(args.also))
    counts: dict[str, int] = {}
    for r in results.values():
        counts[str(r["status"])] = counts.get(str(r["status"]), 0) + 1
    print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if args.write_results:
        write_results(args.copy, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
