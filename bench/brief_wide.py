"""Benchmark `impact brief` against `impact summary`, and check a wide file stays readable.

Two cases, each timed as a user would run it (the installed `impact` command, in a
child process, median of --repeat runs):

- wide: 500 teams x 40 grades (20,000 post rows).  The briefing must stay
  readable: its tables paginate and its charts show the top teams plus "Other".
- long: 100,000 post rows (the issue's budget: brief < 1.5 x summary).

    python bench/brief_wide.py                 # both cases
    python bench/brief_wide.py --case wide --keep out/   # keep the files and PDFs
    python bench/brief_wide.py --case public   # the 500-team public briefing and its audit
    python bench/brief_wide.py --case docx     # the 100,000-row union briefing: DOCX and PDF

`make_wide()` and `make_long()` write the workbooks; `time_pair()` times the two
commands on one file, so bench/bench.py can import and call them.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from openpyxl import Workbook

HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status", "Destination",
          "Location", "Vacant", "Annual cost"]
STATUSES = ["Deleted"] * 5 + ["Retained"] * 4 + ["Relocated"] + ["Created"]
TITLES = ["Support Worker", "Senior Practitioner", "Team Manager", "Administrator",
          "Family Worker", "Outreach Officer", "Service Lead", "Youth Worker"]
DESTINATIONS = ["Homes and Communities", "Learning Services", "Adult Care", "Public Health"]


def _write(path: Path, rows: int, teams: list[str], grades: list[str], sites: list[str],
           seed: int) -> Path:
    rnd = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Posts")
    ws.append(HEADER)
    for i in range(rows):
        posts = rnd.choice((1, 1, 1, 2, 3))
        fte = round(posts * rnd.choice((1, 1, 0.5, 0.81, 0.6)), 2)
        status = rnd.choice(STATUSES)
        ws.append([f"P{i:06d}", teams[i % len(teams)], rnd.choice(TITLES),
                   grades[rnd.randrange(len(grades))], fte, posts, status,
                   rnd.choice(DESTINATIONS) if status == "Relocated" else None,
                   rnd.choice(sites), "" if status == "Created" else rnd.choice("YNN"),
                   round(fte * rnd.randint(22_000, 60_000))])
    wb.save(path)
    return path


def make_wide(path: Path, teams: int = 500, grades: int = 40, rows_per_team: int = 40,
              seed: int = 1) -> Path:
    """A schedule with `teams` teams (some with long names) and `grades` grades."""
    names = [f"Team {n:03d}" + (" – Locality Partnership and Early Intervention Service"
                                if n % 7 == 0 else "") for n in range(teams)]
    grade_names = [f"Grade {g}" for g in range(1, grades + 1)]
    sites = [f"Site {s}" for s in range(60)]
    return _write(path, teams * rows_per_team, names, grade_names, sites, seed)


def make_long(path: Path, rows: int = 100_000, seed: int = 2) -> Path:
    """A long schedule: 100,000 rows over 60 teams, 14 grades and 40 sites."""
    teams = [f"Service {n}" for n in range(60)]
    grades = [f"Band {g}" for g in range(1, 15)]
    sites = [f"Centre {s}" for s in range(40)]
    return _write(path, rows, teams, grades, sites, seed)


def _impact() -> str:
    exe = Path(sys.executable).with_name("impact")
    return str(exe) if exe.exists() else (shutil.which("impact") or "impact")


def _run(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([_impact(), *args], cwd=cwd, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"impact {' '.join(args)} failed:\n{done.stderr}")
    return elapsed


def time_pair(path: Path, repeat: int = 3, out_dir: Path | None = None) -> dict[str, float]:
    """Median seconds of `impact summary FILE` and `impact brief FILE` (union), and the ratio."""
    path = path.resolve()
    out_dir = (out_dir or path.parent).resolve()
    pdf = out_dir / f"{path.stem}-union.pdf"
    summary = statistics.median(_run(["summary", str(path)], out_dir) for _ in range(repeat))
    brief = statistics.median(_run(["brief", str(path), "-o", str(pdf)], out_dir)
                              for _ in range(repeat))
    pages = _pages(pdf)
    return {"summary_s": summary, "brief_s": brief, "ratio": brief / summary, "pages": pages}


def time_public(path: Path, repeat: int = 3, out_dir: Path | None = None) -> dict[str, Any]:
    """Median seconds of the public briefing (suppression and its audit) and of the union
    one (no suppression) on one file, and the audit's own summary line."""
    path = path.resolve()
    out_dir = (out_dir or path.parent).resolve()
    public = statistics.median(
        _run(["brief", str(path), "--audience", "public", "--no-accessible", "-o",
              str(out_dir / "p.pdf")],
             out_dir) for _ in range(repeat))
    union = statistics.median(
        _run(["brief", str(path), "-o", str(out_dir / "u.pdf")], out_dir)
        for _ in range(repeat))
    done = subprocess.run([_impact(), "summary", str(path), "--audience", "public",
                           "--show-audit", "--format", "json"], capture_output=True,
                          text=True, check=False)
    audit = next((line for line in done.stderr.splitlines() if line.startswith("Audit:")),
                 "")
    return {"public_s": public, "union_s": union, "audit": audit}


def time_docx(path: Path, repeat: int = 3, out_dir: Path | None = None) -> dict[str, float]:
    """Median seconds of the union briefing as DOCX (python-docx) and as PDF (ReportLab),
    the same file and command but for --format."""
    path = path.resolve()
    out_dir = (out_dir or path.parent).resolve()
    docx = statistics.median(
        _run(["brief", str(path), "--format", "docx", "-o", str(out_dir / "u.docx")], out_dir)
        for _ in range(repeat))
    pdf = statistics.median(
        _run(["brief", str(path), "-o", str(out_dir / "u.pdf")], out_dir)
        for _ in range(repeat))
    return {"docx_s": docx, "pdf_s": pdf, "ratio": docx / pdf}


def _pages(pdf: Path) -> float:
    try:
        from pypdf import PdfReader
    except ImportError:
        return float("nan")
    return float(len(PdfReader(str(pdf)).pages))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["wide", "long", "both", "public", "docx"],
                    default="both",
                    help="public: the 500-team file's public briefing, whose disclosure "
                         "audit must take under 10 s; docx: the 100,000-row union briefing "
                         "as DOCX, next to the PDF")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, metavar="DIR", help="write the files here and keep them")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="impact-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.case == "public":
            path = work / "bench_wide.xlsx"
            if not path.exists():
                make_wide(path)
            r = time_public(path, args.repeat, work)
            verdict = "ok" if r["public_s"] < 10 else "OVER BUDGET (10 s)"
            print(f"public 500 teams: brief --audience public {r['public_s']:.2f}s "
                  f"(union {r['union_s']:.2f}s)  {r['audit']}  {verdict}")
            return
        if args.case == "docx":
            path = work / "bench_long.xlsx"
            if not path.exists():
                make_long(path)
            r = time_docx(path, args.repeat, work)
            print(f"long   union briefing: docx {r['docx_s']:.2f}s  pdf {r['pdf_s']:.2f}s  "
                  f"ratio {r['ratio']:.2f}")
            return
        cases = ["wide", "long"] if args.case == "both" else [args.case]
        for case in cases:
            path = work / f"bench_{case}.xlsx"
            if not path.exists():
                (make_wide if case == "wide" else make_long)(path)
            r = time_pair(path, args.repeat, work)
            verdict = "ok" if r["ratio"] < 1.5 else "OVER BUDGET (1.5x)"
            print(f"{case:5}  summary {r['summary_s']:.2f}s  brief {r['brief_s']:.2f}s  "
                  f"ratio {r['ratio']:.2f}  {r['pages']:.0f} pages  {verdict}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
