#!/usr/bin/env python3
"""Benchmark `impact summary` against the fastest bare reads (issue 15).

One run generates (or reuses) a 100,000-row xlsx and a 1,000,000-row CSV of
realistic redundancy data, times each command and its anchor (a bare fastexcel
read, pandas.read_csv with pyarrow, a bare `import pandas` for the Derbyshire
sample) in their own fresh processes, and prints a Markdown table plus PASS/FAIL
for each ratio against the targets.

    python bench/bench.py                      # all three cases, once each
    python bench/bench.py --repeat 3 --only xlsx
    python bench/bench.py --impact-cmd "python -m cli" --json out.json
    python bench/bench.py --only brief --repeat 5   # impact brief against impact summary

`--only brief` times just `impact brief` and `impact summary` on the same 100,000-row
xlsx, alternating, each in its own process, and prints their medians, the ratio
(issue #3's target: under 1.5x) and the load average before and after.

Exit code: 0 when every command ran (whether or not a target was met),
1 when a measured command itself failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HEADERS = ("Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status",
           "Destination", "Location", "Annual cost")
SHEET = "Posts"
SEED = 20240601
GENERATOR_VERSION = 1  # bump when the data changes, so stale caches are not reused
XLSX_ROWS = 100_000
CSV_ROWS = 1_000_000
DEFAULT_CACHE = Path(__file__).resolve().parent / ".cache"
DERBYSHIRE = Path(__file__).resolve().parents[1] / "data" / "derbyshire_early_help.xlsx"
KINDS = ("xlsx", "csv", "derbyshire")
ONLY = (*KINDS, "brief")        # brief: the xlsx case's two impact commands alone
DERBYSHIRE_MIN_RUNS = 5  # the sample takes about a second: one run is mostly noise

# Targets (issue 15), each a ratio of medians measured in the same run.
# MB is decimal (10**6 bytes): the stricter reading.
XLSX_RATIO = 1.5              # impact summary <= 1.5x a bare fastexcel read
CSV_RATIO = 2.5               # impact summary <= 2.5x pandas.read_csv(engine="pyarrow")
CSV_RSS_LIMIT = 500 * 10**6   # and impact's peak RSS < 500 MB
DERBYSHIRE_RATIO = 1.5        # impact summary <= 1.5x a bare `import pandas`
BRIEF_RATIO = 1.5             # issue #3: a briefing costs < 1.5x the summary
MIB = 1024 * 1024
# The anchors, and the older references kept as context.
FASTEXCEL = "fastexcel load_sheet(0).to_pandas()"
READ_CSV_PYARROW = "pandas.read_csv (pyarrow)"
IMPORT_PANDAS = "import pandas"
# Named explicitly: pandas 3 warns its default xlsx engine will become calamine.
READ_EXCEL = "pandas.read_excel (openpyxl)"
READ_CSV = "pandas.read_csv (C engine)"

_START = time.perf_counter()


def log(message: str) -> None:
    """A progress line on stderr, stamped with seconds since start."""
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data

SERVICES = ("Early Help", "Adult Social Care", "Children's Social Care", "Libraries",
            "Highways", "Waste Services", "Parks, Open Spaces & Countryside", "Housing Options",
            "Revenues & Benefits", "Public Health", "Youth Service", "Trading Standards",
            "Customer Services", "Property Services", "Café & Catering", "Planning",
            "Registrars", "Transport", "Learning Disability", "Finance")
AREAS = ("North", "South", "East", "West", "Central", "High Peak", "Dales", "Erewash",
         "Amber Valley", "Bolsover")
TITLES = tuple(f"{level}{role}" for role in (
    "Social Worker", "Family Support Worker", "Team Manager", "Business Support Officer",
    "Library Assistant", "Highways Inspector", "Finance Officer", "Youth Worker",
    "Occupational Therapist", "Care Assistant") for level in (
    "", "Senior ", "Principal ", "Lead ", "Trainee "))
LOCATIONS = tuple(f"{town} {kind}" for town in (
    "Matlock", "Chesterfield", "Buxton", "Ilkeston", "Ripley", "Belper", "Glossop", "Swadlincote",
    "Long Eaton", "Bakewell") for kind in ("County Hall", "Family Centre", "Depot", "Library"))
TEAMS = tuple(f"{service} – {area}" for service in SERVICES for area in AREAS)  # 200
STATUSES = ("Deleted", "Retained", "Relocated", "Created")
STATUS_P = (0.30, 0.50, 0.12, 0.08)
PART_TIME_FTE = (50, 60, 81, 40, 80, 53, 75, 20, 92, 64)  # hundredths


@dataclass(frozen=True)
class Posts:
    """Generated rows, column by column, as integer codes and hundredths."""

    team: np.ndarray
    title: np.ndarray
    grade: np.ndarray
    fte: np.ndarray  # hundredths of an FTE
    posts: np.ndarray
    status: np.ndarray
    destination: np.ndarray  # index into TEAMS, -1 when blank
    location: np.ndarray
    cost: np.ndarray  # pence

    def __len__(self) -> int:
        return len(self.team)


def generate_posts(n: int, seed: int = SEED) -> Posts:
    """`n` rows of plausible post-level data, the same for the same seed."""
    rng = np.random.default_rng(seed)
    posts = np.where(rng.random(n) < 0.93, 1, rng.integers(2, 6, n))
    full_time = rng.random(n) < 0.7
    part = rng.choice(PART_TIME_FTE, n)
    odd = rng.integers(1, 100, n)  # any hundredth, for a few rows
    per_post = np.where(full_time, 100, np.where(rng.random(n) < 0.8, part, odd))
    fte = np.where(posts == 1, per_post,
                   np.maximum(1, posts * 100 - rng.integers(0, 100, n) * (~full_time)))
    grade = rng.integers(3, 16, n)
    status = rng.choice(len(STATUSES), n, p=STATUS_P)
    team = rng.integers(0, len(TEAMS), n)
    relocated = status == STATUSES.index("Relocated")
    destination = np.where(relocated, (team + rng.integers(1, len(TEAMS), n)) % len(TEAMS), -1)
    salary_pence = (18_000 + (grade - 3) * 3_400) * 100 + rng.integers(0, 250_000, n)
    cost = salary_pence * fte * 13 // 1_000  # with on-costs of 30%, to the penny
    return Posts(team=team, title=rng.integers(0, len(TITLES), n), grade=grade, fte=fte,
                 posts=posts, status=status, destination=destination,
                 location=rng.integers(0, len(LOCATIONS), n), cost=cost)


def hundredths_text(h: int) -> str:
    """1 -> '0.01', 50 -> '0.5', 100 -> '1', 250 -> '2.5'."""
    whole, frac = divmod(h, 100)
    return str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")


def text_rows(p: Posts) -> Iterator[tuple[str, ...]]:
    """The rows as CSV text, numbers written exactly."""
    fte_text = [hundredths_text(h) for h in range(int(p.fte.max()) + 1)]
    cols = zip(p.team.tolist(), p.title.tolist(), p.grade.tolist(), p.fte.tolist(),
               p.posts.tolist(), p.status.tolist(), p.destination.tolist(),
               p.location.tolist(), p.cost.tolist())
    for i, (team, title, grade, fte, posts, status, dest, loc, cost) in enumerate(cols, 1):
        yield (f"P{i:06d}", TEAMS[team], TITLES[title], f"Grade {grade}", fte_text[fte],
               str(posts), STATUSES[status], TEAMS[dest] if dest >= 0 else "",
               LOCATIONS[loc], f"{cost // 100}.{cost % 100:02d}")


def cell_rows(p: Posts) -> Iterator[tuple[object, ...]]:
    """The rows as spreadsheet cells: numbers as numbers, blank destination as None."""
    for row in text_rows(p):
        yield (row[0], row[1], row[2], row[3], float(row[4]), int(row[5]), row[6],
               row[7] or None, row[8], float(row[9]))


def write_csv(p: Posts, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(text_rows(p))


def write_xlsx(p: Posts, path: Path) -> None:
    """With xlsxwriter (fast, constant memory) when installed, else openpyxl write-only."""
    try:
        import xlsxwriter
    except ImportError:
        _write_xlsx_openpyxl(p, path)
        return
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet(SHEET)
    ws.write_row(0, 0, HEADERS)
    for r, row in enumerate(cell_rows(p), 1):
        for c, value in enumerate(row):
            if isinstance(value, str):
                ws.write_string(r, c, value)
            elif value is not None:
                ws.write_number(r, c, value)
    wb.close()


def _write_xlsx_openpyxl(p: Posts, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET)
    ws.append(HEADERS)
    for row in cell_rows(p):
        ws.append(row)
    wb.save(path)


def cached(path: Path, rows: int, writer: Callable[[Posts, Path], None],
           regenerate: bool) -> float | None:
    """Make `path` unless it exists; returns the seconds taken, None if reused.
    Writes to a temporary name first so an interrupted run leaves no half file."""
    if path.exists() and not regenerate:
        log(f"reusing {path.name} ({path.stat().st_size / MIB:.1f} MiB)")
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"generating {path.name}: {rows:,} rows ...")
    start = time.perf_counter()
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    writer(generate_posts(rows), tmp)
    tmp.replace(path)
    seconds = time.perf_counter() - start
    log(f"generated {path.name} in {seconds:.1f}s ({path.stat().st_size / MIB:.1f} MiB)")
    return seconds


# --------------------------------------------------------------------------- measuring

@dataclass
class Run:
    seconds: float
    peak_rss_bytes: int
    returncode: int
    stderr_tail: str


@dataclass
class Case:
    case: str
    tool: str
    argv: list[str]
    runs: list[Run] = field(default_factory=list)
    min_runs: int = 1  # run at least this many times, whatever --repeat says

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.returncode == 0 for r in self.runs)

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_rss_bytes(self) -> int:
        return int(statistics.median(r.peak_rss_bytes for r in self.runs))


def measure(argv: list[str]) -> Run:
    """Run `argv` once with stdout discarded; its wall time and its own peak RSS.

    os.wait4 returns the rusage of exactly this child (including any
    descendants it reaped), so ru_maxrss is its high-water mark alone."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err)
        except OSError as exc:  # e.g. the command is not installed
            return Run(0.0, 0, 127, str(exc))
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    return Run(seconds, usage.ru_maxrss * scale, proc.returncode, tail)


def python_argv(code: str, path: Path) -> list[str]:
    return [sys.executable, "-c", code, str(path)]


def rows_label(n: int) -> str:
    """100000 -> '100k', 1000000 -> '1M', 2500 -> '2500'."""
    for size, suffix in ((10**6, "M"), (1000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def build_cases(kinds: list[str], files: dict[str, Path], rows: dict[str, int],
                impact: list[str]) -> list[Case]:
    cases: list[Case] = []
    if "brief" in kinds:
        x = files["xlsx"]
        name = f"{rows_label(rows['xlsx'])} xlsx"
        cases += [
            Case(name, "impact summary", [*impact, "summary", str(x), "--format", "json"]),
            Case(name, "impact brief", [*impact, "brief", str(x), "--reproducible", "-o",
                                        str(Path(tempfile.gettempdir()) / "bench-brief.pdf")]),
        ]
    if "xlsx" in kinds:
        x = files["xlsx"]
        name = f"{rows_label(rows['xlsx'])} xlsx"
        cases += [
            Case(name, "impact summary", [*impact, "summary", str(x), "--format", "json"]),
            Case(name, FASTEXCEL, python_argv(
                "import sys, fastexcel; "
                "fastexcel.read_excel(sys.argv[1]).load_sheet(0).to_pandas()", x)),
            Case(name, READ_EXCEL, python_argv(
                "import sys, pandas; pandas.read_excel(sys.argv[1], engine='openpyxl')", x)),
            # The PDF goes beside a temp path: atomic_output puts its temporary file next
            # to the target, so /dev/null would not do.
            Case(name, "impact brief", [*impact, "brief", str(x), "--reproducible", "-o",
                                        str(Path(tempfile.gettempdir()) / "bench-brief.pdf")]),
        ]
    if "csv" in kinds:
        c = files["csv"]
        name = f"{rows_label(rows['csv'])} csv"
        cases += [
            Case(name, "impact summary", [*impact, "summary", str(c), "--format", "json"]),
            Case(name, READ_CSV_PYARROW, python_argv(
                "import sys, pandas; pandas.read_csv(sys.argv[1], engine='pyarrow')", c)),
            Case(name, READ_CSV,
                 python_argv("import sys, pandas; pandas.read_csv(sys.argv[1])", c)),
        ]
    if "derbyshire" in kinds:
        d = files["derbyshire"]
        cases += [
            Case("derbyshire", "impact summary", [*impact, "summary", str(d), "--format", "json"],
                 min_runs=DERBYSHIRE_MIN_RUNS),
            Case("derbyshire", IMPORT_PANDAS, [sys.executable, "-c", "import pandas"],
                 min_runs=DERBYSHIRE_MIN_RUNS),
        ]
    return cases


def run_cases(cases: list[Case], repeat: int) -> None:
    """Each round runs every case still short of its count, so a command and its
    anchor alternate and share whatever else the machine is doing."""
    rounds = max(max(repeat, c.min_runs) for c in cases) if cases else 0
    for i in range(rounds):
        for case in cases:
            wanted = max(repeat, case.min_runs)
            if i >= wanted:
                continue
            log(f"run {i + 1}/{wanted}: {case.tool} on {case.case} ...")
            run = measure(case.argv)
            case.runs.append(run)
            if run.returncode != 0:
                log(f"FAILED (exit {run.returncode}): {shlex.join(case.argv)}\n{run.stderr_tail}")
            else:
                log(f"  {run.seconds:.2f}s, peak {run.peak_rss_bytes / MIB:.0f} MiB")


# --------------------------------------------------------------------------- report

@dataclass
class Verdict:
    target: str
    passed: bool | None  # None: could not be judged (or context, never judged)
    detail: str
    ratio: float | None = None  # the measured ratio, unrounded, when there is one
    context: bool = False       # a comparison shown for context, not a target


def find(cases: list[Case], prefix: str, tool: str) -> Case | None:
    return next((c for c in cases if c.case.endswith(prefix) and c.tool == tool), None)


def ratio_verdict(cases: list[Case], kind: str, tool: str, anchor: str, target: str,
                  limit: float | None = None, strict: bool = False) -> Verdict | None:
    """`tool`'s median time over `anchor`'s on the `kind` case: PASS when <= limit
    (< limit when strict). With no limit the line is context, not a target."""
    imp, ref = find(cases, kind, tool), find(cases, kind, anchor)
    if not (imp and ref):
        return None
    context = limit is None
    if not (imp.ok and ref.ok):
        return Verdict(target, None, "a command failed", context=context)
    ratio = imp.seconds / ref.seconds
    detail = f"{ratio:.2f}x ({tool} {imp.seconds:.2f} s, {anchor} {ref.seconds:.2f} s)"
    if limit is None:
        passed = None
    else:
        passed = ratio < limit if strict else ratio <= limit
    return Verdict(target, passed, detail, ratio=ratio, context=context)


def rss_verdict(cases: list[Case], kind: str, limit: int) -> Verdict | None:
    imp = find(cases, kind, "impact summary")
    if not imp:
        return None
    target = f"{kind}: impact summary peak RSS < {limit / 10**6:g} MB"
    if not imp.ok:
        return Verdict(target, None, "the command failed")
    return Verdict(target, imp.peak_rss_bytes < limit, f"{imp.peak_rss_bytes / 10**6:.0f} MB")


def verdicts(cases: list[Case]) -> list[Verdict]:
    summary = "impact summary"
    checks = [
        ratio_verdict(cases, "xlsx", summary, FASTEXCEL,
                      f"xlsx: impact summary <= {XLSX_RATIO:g}x a bare fastexcel read", XLSX_RATIO),
        ratio_verdict(cases, "xlsx", summary, READ_EXCEL,
                      "xlsx: impact summary against pandas.read_excel (openpyxl)"),
        ratio_verdict(cases, "xlsx", "impact brief", summary,
                      f"xlsx: impact brief < {BRIEF_RATIO:g}x impact summary's time", BRIEF_RATIO,
                      strict=True),
        ratio_verdict(cases, "csv", summary, READ_CSV_PYARROW,
                      f"csv: impact summary <= {CSV_RATIO:g}x pandas.read_csv(engine='pyarrow')",
                      CSV_RATIO),
        rss_verdict(cases, "csv", CSV_RSS_LIMIT),
        ratio_verdict(cases, "csv", summary, READ_CSV,
                      "csv: impact summary against pandas.read_csv (C engine)"),
        ratio_verdict(cases, "derbyshire", summary, IMPORT_PANDAS,
                      f"derbyshire: impact summary <= {DERBYSHIRE_RATIO:g}x a bare import pandas",
                      DERBYSHIRE_RATIO),
    ]
    return [v for v in checks if v is not None]


def markdown(cases: list[Case], checks: list[Verdict]) -> str:
    lines = ["| case | tool | time (s) | peak RSS (MiB) |", "| --- | --- | ---: | ---: |"]
    for c in cases:
        if c.ok:
            lines.append(f"| {c.case} | {c.tool} | {c.seconds:.2f} | "
                         f"{c.peak_rss_bytes / MIB:.0f} |")
        else:
            lines.append(f"| {c.case} | {c.tool} | FAILED | FAILED |")
    lines.append("")
    for v in checks:
        word = "INFO" if v.context else {True: "PASS", False: "FAIL", None: "N/A "}[v.passed]
        lines.append(f"{word}  {v.target}: {v.detail}")
    return "\n".join(lines)


def write_json(out: Path, cases: list[Case], checks: list[Verdict],
               generation: dict[str, float | None], repeat: int) -> None:
    data = {
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "cpus": os.cpu_count(),
        "repeat": repeat,
        "generation_seconds": generation,
        "cases": [{"case": c.case, "tool": c.tool, "argv": c.argv, "ok": c.ok,
                   "median_seconds": c.seconds if c.runs else None,
                   "median_peak_rss_bytes": c.peak_rss_bytes if c.runs else None,
                   "runs": [asdict(r) for r in c.runs]} for c in cases],
        "targets": [asdict(v) for v in checks],
    }
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {out}")


# --------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impact-cmd", default="impact",
                   help="command that runs impact, split like a shell (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="runs per command; the median is reported (default: 1; use 3). "
                        f"The Derbyshire case runs at least {DERBYSHIRE_MIN_RUNS} times")
    p.add_argument("--only", choices=ONLY,
                   help="run one case only (brief: impact brief against impact summary)")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                   help="where generated files live (default: bench/.cache)")
    p.add_argument("--regenerate", action="store_true", help="rebuild the cached files")
    p.add_argument("--cold", action="store_true",
                   help="do not compile the project's bytecode first (see bench/README.md)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the raw figures here")
    p.add_argument("--xlsx-rows", type=int, default=XLSX_ROWS, help=argparse.SUPPRESS)
    p.add_argument("--csv-rows", type=int, default=CSV_ROWS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def compile_project() -> None:
    """Write the bytecode of the project's own modules, as `pip install .` does.  An
    editable install under PYTHONDONTWRITEBYTECODE=1 (this machine's setting) would
    otherwise compile about 12,000 lines on every run, which the anchors, all installed
    packages, never pay."""
    import compileall

    root = Path(__file__).resolve().parents[1]
    ok = all(compileall.compile_dir(root / d, quiet=1) for d in ("reports", "web")) and all(
        compileall.compile_file(f, quiet=1) for f in sorted(root.glob("cli*.py")))
    log("compiled the project's bytecode" if ok else "could not compile the bytecode")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = [args.only] if args.only else list(KINDS)
    rows = {"xlsx": args.xlsx_rows, "csv": args.csv_rows}
    writers = {"xlsx": write_xlsx, "csv": write_csv}
    generated = [k for k in ("xlsx" if k == "brief" else k for k in kinds) if k in writers]
    files = {k: args.cache_dir / f"posts-v{GENERATOR_VERSION}-{rows[k]}.{k}" for k in generated}
    generation = {k: cached(files[k], rows[k], writers[k], args.regenerate) for k in generated}
    files["derbyshire"] = DERBYSHIRE

    if not args.cold:
        compile_project()
    cases = build_cases(kinds, files, rows, shlex.split(args.impact_cmd))
    before = os.getloadavg()
    run_cases(cases, args.repeat)
    checks = verdicts(cases)
    print(markdown(cases, checks))
    after = os.getloadavg()
    print(f"\nload average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in before)} before, "
          f"{' '.join(f'{x:.2f}' for x in after)} after; {os.cpu_count()} CPUs")
    if args.json:
        write_json(args.json, cases, checks, generation, args.repeat)
    failed = [c for c in cases if not c.ok]
    for c in failed:
        print(f"\nCommand failed: {shlex.join(c.argv)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
