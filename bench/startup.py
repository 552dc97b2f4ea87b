#!/usr/bin/env python3
"""Start-up: `impact` on the small Derbyshire sample against a bare `import pandas`.

Each command runs in its own fresh process, all of them in turn, --repeat times;
the table gives the median wall-clock time and the median CPU time (user + system,
from the children's rusage), each also as a multiple of `python -c "import pandas"`.
--importtime adds, from `python -X importtime` logs of the same runs (medians), the
12 modules with the most cumulative import time in `impact summary`, and the import
time (self µs) of every module it imports that `import pandas` does not, by package.

    python bench/startup.py                         # 5 rounds
    python bench/startup.py --repeat 7 --importtime
    python bench/startup.py --also-path /tmp/old    # and the code checked out there

--also-path DIR runs the same commands with DIR first on PYTHONPATH (a checkout of
another commit, e.g. `git archive COMMIT | tar -x -C DIR`), beside this one.
The process inherits PYTHONDONTWRITEBYTECODE: set, every run compiles impact's own
modules from source (about 8 ms per 1,000 lines), as on a machine that never caches
bytecode; --bytecode lets Python cache it (under a temporary PYTHONPYCACHEPREFIX).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "derbyshire_early_help.xlsx"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _importtime(log: str) -> dict[str, tuple[int, int]]:
    """Module -> (self, cumulative) microseconds, from a `-X importtime` log."""
    out: dict[str, tuple[int, int]] = {}
    for line in log.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            own, cumulative, name = line[len("import time:"):].split("|")
            out.setdefault(name.strip(), (int(own), int(cumulative)))
    return out


def _package(module: str) -> str:
    """Ours by layer (reports.intake, ...) and cli*.py together; others by top package."""
    if module.startswith("reports."):
        return ".".join(module.split(".")[:2])
    return "cli*.py" if module.startswith("cli") else module.split(".")[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--also-path", type=Path, metavar="DIR")
    ap.add_argument("--importtime", action="store_true")
    ap.add_argument("--bytecode", action="store_true")
    args = ap.parse_args()

    env = dict(os.environ)
    env.pop("IMPACT_DEBUG", None)
    if args.bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="impact-pyc-")
    python = sys.executable
    impact = str(Path(python).with_name("impact"))
    commands = [("impact --help", [impact, "--help"]),
                ("impact summary (Derbyshire)", [impact, "summary", str(SAMPLE)]),
                ("impact validate (Derbyshire)", [impact, "validate", str(SAMPLE)])]
    cases = [("python -c 'import pandas'", [python, "-c", "import pandas"], env)]
    if args.also_path:
        other = dict(env, PYTHONPATH=str(args.also_path.resolve()))
        cases += [(f"{name} [{args.also_path}]", cmd, other) for name, cmd in commands]
    cases += [(name, cmd, env) for name, cmd in commands]
    if args.importtime:
        cases += [(f"{name} -X importtime",
                   [python, "-X", "importtime", *(cmd[1:] if cmd[0] == python else cmd)], e)
                  for name, cmd, e in cases if "summary" in name or "pandas" in name]

    wall: dict[str, list[float]] = {c[0]: [] for c in cases}
    cpu: dict[str, list[float]] = {c[0]: [] for c in cases}
    logs: dict[str, list[dict[str, tuple[int, int]]]] = {c[0]: [] for c in cases}
    for _, cmd, e in cases:                       # once first: the page cache, bytecode
        subprocess.run(cmd, capture_output=True, env=e, cwd=tempfile.gettempdir())
    for _ in range(args.repeat):
        for name, cmd, e in cases:
            c0, t0 = _cpu(), time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True, env=e,
                               cwd=tempfile.gettempdir())
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(_cpu() - c0)
            if r.returncode != 0:
                print(f"{name} failed:\n{r.stderr[-2000:]}", file=sys.stderr)
                return 1
            if "importtime" in name:
                logs[name].append(_importtime(r.stderr))

    base_w, base_c = (statistics.median(x[cases[0][0]]) for x in (wall, cpu))
    print(f"load average {os.getloadavg()[0]:.2f}; median of {args.repeat}; "
          f"bytecode {'cached' if args.bytecode else 'per env'}\n")
    print("| command | wall | ÷ import pandas | CPU | ÷ import pandas |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, *_ in cases:
        if "importtime" in name:
            continue
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"| {name} | {w:.2f} s | {w / base_w:.2f}× | {c:.2f} s | {c / base_c:.2f}× |")
    pandas = set().union(*(set(r) for r in logs[f"{cases[0][0]} -X importtime"]))
    beyond: dict[str, dict[str, float]] = {}
    for name, runs in logs.items():
        if not runs or "pandas" in name:
            continue
        common = set.intersection(*(set(r) for r in runs))
        med = {m: statistics.median(r[m][1] for r in runs) for m in common}
        print(f"\n{name}: top 12 by cumulative µs, {len(runs[0])} modules\n")
        print("| module | cumulative µs |\n| --- | ---: |")
        for m, us in sorted(med.items(), key=lambda kv: -kv[1])[:12]:
            print(f"| `{m}` | {us:,.0f} |")
        totals = []
        for r in runs:
            by: dict[str, int] = {}
            for m, (own, _) in r.items():
                if m not in pandas:
                    by[_package(m)] = by.get(_package(m), 0) + own
            totals.append(by)
        keys = set().union(*totals)
        beyond[name] = {k: statistics.median(t.get(k, 0) for t in totals) for k in keys}
        beyond[name]["all"] = statistics.median(sum(t.values()) for t in totals)
    if beyond:
        names = list(beyond)
        rows = sorted(set().union(*beyond.values()), key=lambda k: -beyond[names[0]].get(k, 0))
        print("\nImport time beyond `import pandas` (self µs by package, medians)\n")
        print("| package | " + " | ".join(names) + " |")
        print("| --- |" + " ---: |" * len(names))
        for k in rows:
            if max(b.get(k, 0) for b in beyond.values()) >= 500:
                print(f"| {k} | " + " | ".join(f"{b.get(k, 0):,.0f}" for b in beyond.values())
                      + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
