#!/usr/bin/env python3
"""What each fast path in the reading path buys: `impact summary` with it and without.

Each fast path is a branch that chooses a faster way and falls back to a plain one.
This script runs `impact summary FILE --format json` in fresh processes, with the fast
path and without it (monkeypatched off in that process only, so the product has no
switch for it), alternating with/without in every round so the machine's other load
hits both alike (with first in odd rounds, without first in even ones), and prints
the medians of wall time and of CPU time (user + system of the process, all its
threads: less moved by the machine's other load) as a Markdown table, with the
median of each round's difference and the load average before and after.  Files are the generated schedules of `bench/bench.py` (the same
cache: a 100,000-row xlsx and a 1,000,000-row CSV).

    python bench/fastpaths.py                     # every path, 5 rounds
    python bench/fastpaths.py --repeat 7 --only isal,re2

Before timing, one run of each variant checks that the patched function was really
reached (a marker on stderr) and that the summary printed is the same with and
without the fast path.  Exit code 1 if either check fails or a command fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  # the generated files and their cache

MARK = "FASTPATH-REACHED"

# Each variant runs this program: `setup` imports what it needs and, without the fast
# path, replaces it by its plain fallback; `mark` is a wrapper so the run proves the
# branch was reached.  Both variants import the same modules.
RUNNER = """
import sys
{setup}
import cli
sys.argv = ["impact", "summary", {path!r}, "--format", "json"]
cli.main()
"""


@dataclass
class FastPath:
    name: str
    kinds: tuple[str, ...]     # which files it applies to
    what: str
    where: str
    on: str                    # setup with the fast path (only the marker)
    off: str                   # setup without it (the fallback, and the marker)


def _marker(module: str, attr: str, replacement: str) -> str:
    """Code that wraps `module.attr` (or its `replacement`) to print MARK once."""
    return f"""
import {module} as _m
_orig = {replacement}
_seen = []
def _wrapped(*a, **k):
    if not _seen:
        _seen.append(1)
        sys.stderr.write("{MARK}\\n")
        sys.stderr.flush()
    return _orig(*a, **k)
_m.{attr} = _wrapped
"""


def _path(name: str, kinds: tuple[str, ...], what: str, where: str, module: str,
          attr: str, fallback: str) -> FastPath:
    return FastPath(name, kinds, what, where,
                    _marker(module, attr, f"_m.{attr}"),
                    f"import {module} as _m\n{fallback}\n" + _marker(module, attr, "_plain"))


PATHS = [
    _path("isal", ("xlsx",),
          "inflates each deflated xlsx part with ISA-L in one call, after reading its zip "
          "local header by hand; else zipfile's own reader (zlib)",
          "reports/intake/guards.py `_inflate_quickly`",
          "reports.intake.guards", "_inflate_quickly",
          "def _plain(fh, info):\n    return None"),
    _path("re2", ("xlsx",),
          "proves a sheet's used range ordinary with two RE2 searches "
          "(pyarrow.compute, off the GIL); else `_every_reference` reads every reference",
          "reports/intake/guards.py `scan_range`",
          "reports.intake.guards", "scan_range",
          "def _plain(xml):\n    return _m._every_reference(xml, xml.count(b'<row'))"),
    _path("fastexcel", ("xlsx",),
          "reads each sheet with fastexcel (calamine straight into Arrow) on a second "
          "thread; else python-calamine cell by cell",
          "reports/intake/xlsx.py `_fast_load`/`_fast_grids`",
          "reports.intake.xlsx", "_fast_load",
          "def _plain(path, names, reading):\n    reading.set()\n    return None"),
    _path("arrow-csv", ("csv",),
          "parses a UTF-8 CSV with pyarrow's multi-threaded reader; else it is decoded "
          "in full and parsed by `_read_text`",
          "reports/intake/csvfile.py `_read_arrow`",
          "reports.intake.csvfile", "_read_arrow",
          "def _plain(raw, options):\n    return None"),
    _path("exit", ("xlsx", "csv"),
          "ends the process with os._exit after the atexit functions and a flush; else "
          "sys.exit and the interpreter's teardown",
          "commands/options.py `leave` (called by cli.py `main`)",
          "cli", "leave",
          "def _plain(code):\n    sys.exit(code)"),
]


@dataclass
class Variant:
    path: FastPath
    kind: str
    fast: bool
    argv: list[str]
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def argv_for(setup: str, file: Path) -> list[str]:
    return [sys.executable, "-c", RUNNER.format(setup=setup, path=str(file))]


def run_once(argv: list[str], capture: bool = False) -> tuple[float, float, int, bytes, str]:
    """Wall seconds, CPU seconds (user + system, from wait4: this child alone), exit
    code, stdout (if captured) and stderr of one fresh process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=out if capture else subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return (seconds, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status),
                out.read(), err.read().decode("utf-8", "replace"))


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, metavar="N",
                   help="rounds of with/without for each path and file (default 5)")
    p.add_argument("--only", default="", metavar="NAMES",
                   help="comma-separated: " + ",".join(fp.name for fp in PATHS))
    p.add_argument("--kinds", default="xlsx,csv", help="which files (default xlsx,csv)")
    p.add_argument("--cache-dir", type=Path, default=bench.DEFAULT_CACHE)
    args = p.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    unknown = only - {fp.name for fp in PATHS}
    if unknown:
        p.error(f"unknown fast path(s): {', '.join(sorted(unknown))}")
    kinds = [k for k in args.kinds.split(",") if k]

    rows = {"xlsx": bench.XLSX_ROWS, "csv": bench.CSV_ROWS}
    writers = {"xlsx": bench.write_xlsx, "csv": bench.write_csv}
    files = {}
    for k in kinds:
        files[k] = args.cache_dir / f"posts-v{bench.GENERATOR_VERSION}-{rows[k]}.{k}"
        bench.cached(files[k], rows[k], writers[k], False)

    variants: list[Variant] = []
    for fp in PATHS:
        if only and fp.name not in only:
            continue
        for k in kinds:
            if k in fp.kinds:
                variants += [Variant(fp, k, True, argv_for(fp.on, files[k])),
                             Variant(fp, k, False, argv_for(fp.off, files[k]))]

    # Checks first: each variant reaches its patched function, and both print the same.
    failed = False
    digests: dict[tuple[str, str], set[str]] = {}
    for v in variants:
        _, _, code, out, err = run_once(v.argv, capture=True)
        if code != 0 or MARK not in err:
            print(f"FAIL {v.path.name} {v.kind} fast={v.fast}: exit {code}, marker "
                  f"{'seen' if MARK in err else 'NOT seen'}\n{err[-1500:]}", file=sys.stderr)
            failed = True
        digests.setdefault((v.path.name, v.kind), set()).add(hashlib.sha256(out).hexdigest())
    for (name, kind), seen in digests.items():
        if len(seen) != 1:
            print(f"FAIL {name} {kind}: the summary differs with and without", file=sys.stderr)
            failed = True
    if failed:
        return 1

    load_before = loadavg()
    started = datetime.now(UTC)
    for r in range(args.repeat):
        bench.log(f"round {r + 1}/{args.repeat} (load {loadavg()})")
        pairs = list(zip(variants[::2], variants[1::2], strict=True))
        for on, off in pairs:    # with/without, then without/with in the next round
            for v in ((on, off) if r % 2 == 0 else (off, on)):
                seconds, cpu, code, _, err = run_once(v.argv)
                if code != 0:
                    print(f"FAIL {v.path.name} {v.kind}: exit {code}\n{err[-1500:]}",
                          file=sys.stderr)
                    return 1
                v.seconds.append(seconds)
                v.cpu.append(cpu)
    load_after = loadavg()

    print(f"\n{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}, `impact summary FILE --format json`, medians of "
          f"{args.repeat} alternating runs; load average (1/5/15 min) {load_before} before, "
          f"{load_after} after\n")
    print("| fast path | file | wall with | wall without | bought (median of pairs) | share "
          "| CPU with | CPU without | CPU bought | share |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for on, off in zip(variants[::2], variants[1::2], strict=True):
        w, wo = statistics.median(on.seconds), statistics.median(off.seconds)
        dw = statistics.median(b - a for a, b in zip(on.seconds, off.seconds, strict=True))
        c, co = statistics.median(on.cpu), statistics.median(off.cpu)
        dc = statistics.median(b - a for a, b in zip(on.cpu, off.cpu, strict=True))
        print(f"| {on.path.name} | {on.kind} | {w:.2f} s | {wo:.2f} s | {dw:+.2f} s | "
              f"{dw / w:+.1%} | {c:.2f} s | {co:.2f} s | {dc:+.2f} s | {dc / c:+.1%} |")
    print("\n(wall: medians of whole processes; bought: the median of each round's "
          "without - with; share: bought / the command's median with the fast path. "
          "CPU: user + system of the process, all threads. Spread of wall with: " + ", ".join(
              f"{on.path.name}/{on.kind} {min(on.seconds):.2f}-{max(on.seconds):.2f}"
              for on in variants[::2]) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
