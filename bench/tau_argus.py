"""Our suppression side by side with Tau-Argus's (issue 23, point 4).

For each file, the same two tables are protected by both tools:

- team x status and site x status, FTE as the cell value, the number of posts as the
  frequency (a row that stands for n posts is n records of FTE/n, exactly summed);
- the same rule: a cell of fewer than 5 posts (and more than 0) is primary-sensitive;
- the same protection: a hidden cell must keep a range of at least 5 FTE.  Tau-Argus
  states that as protection levels (an apriori `PL` line for each primary cell: lower
  min(value, 2.5), upper 5 less that), because its FREQ rule's own margin is a
  percentage of the cell, which for a 1-FTE cell would ask for far less than ours;
- Tau-Argus: `pytauargus` (the Tau-Argus engine with HiGHS), FREQ(5, 0) with those
  protection levels, OPT (optimal suppression, Fischetti-Salazar), cost = the cell's
  value, each table protected on its own (pytauargus's `protect()` does not link tables);
- ours: the public briefing's figures through the project's own `make_briefing`, which
  first merges groups too small to show alone ("Other teams", `reports/figures/recode.py`),
  then protects every table of the briefing together (team, grade, site, team x grade,
  destination, the totals) and audits it; the two tables' cells are then read from it,
  a merged group's cells counted as merged (neither published alone nor suppressed).

Compared, per tool: the cells suppressed and the FTE they hold, over the cells both
tools publish (each table's body and its status totals; Tau-Argus's own row totals, a
team's or site's all-status total, which our briefing does not publish, are counted
apart), the posts-sensitive cells a tool leaves published (should be 0), and the time.

    python bench/tau_argus.py                      # the three files; a table
    python bench/tau_argus.py --json OUT.json      # and every figure as JSON
    python bench/tau_argus.py --only derbyshire    # derbyshire, wide500, small

The 500-team file is `brief_wide.make_wide()` (500 teams x 40 posts); the small-teams
file is `make_small()` (30 teams of 2-8 posts, a fixed seed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

THRESHOLD = 5              # posts: the rule; FTE: the range a hidden cell keeps
STATUSES = ("deleted", "retained", "relocated", "created")
TOTAL = "Total"            # Tau-Argus's code for a marginal
MILLION = 1_000_000        # the reader keeps FTE in millionths


@dataclass
class Cell:
    row: str               # a team's or site's name, or TOTAL
    status: str            # a status, or TOTAL
    fte: Decimal
    posts: int


@dataclass
class Side:
    """One tool's protection of one table."""

    suppressed: int = 0             # cells suppressed, over the cells both publish
    suppressed_fte: Decimal = Decimal(0)
    primary: int = 0                # ... of which primary (fewer than 5 posts)
    row_totals_suppressed: int = 0  # Tau-Argus only: its own all-status totals
    sensitive_published: int = 0    # posts-sensitive cells left published
    fte_only: int = 0               # suppressed cells of 5+ posts but under 5 FTE
    merged: int = 0                 # ours: cells of a group merged before suppressing
    merged_fte: Decimal = Decimal(0)
    merged_cells: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    hidden: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FileResult:
    name: str
    rows: int
    posts: int
    cells: dict[str, int]                         # table -> cells both tools publish
    sensitive: dict[str, int]                     # table -> cells of 1-4 posts
    ours: dict[str, Side]
    tau: dict[str, Side]
    ours_s: float | None = None
    tau_s: float | None = None
    ours_hidden_in_briefing: int | None = None    # every figure our briefing hides
    ours_error: str | None = None
    ours_loss: dict[str, Any] | None = None      # reports/figures/loss.py, of our briefing
    ours_loss_text: str | None = None
    tau_error: str | None = None


# ---- the files


def make_small(path: Path, teams: int = 30, seed: int = 23) -> Path:
    """Many small teams: `teams` teams of 2-8 posts, one post a row, 6 sites."""
    from brief_wide import DESTINATIONS, HEADER, TITLES
    from openpyxl import Workbook

    rnd = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Posts")
    ws.append(HEADER)
    n = 0
    for t in range(teams):
        for _ in range(rnd.randint(2, 8)):
            status = rnd.choice(["Deleted"] * 4 + ["Retained"] * 4 + ["Relocated", "Created"])
            fte = rnd.choice((1, 1, 0.5, 0.6, 0.81))
            ws.append([f"S{n:05d}", f"Small team {t:02d}", rnd.choice(TITLES),
                       f"Grade {rnd.randint(3, 9)}", fte, 1, status,
                       rnd.choice(DESTINATIONS) if status == "Relocated" else None,
                       f"Site {rnd.randrange(6)}", "" if status == "Created" else "N",
                       round(fte * rnd.randint(22_000, 40_000))])
            n += 1
    wb.save(path)
    return path


def files(tmp: Path, only: str | None) -> list[tuple[str, Path]]:
    from brief_wide import make_wide

    out = []
    if only in (None, "derbyshire"):
        out.append(("derbyshire", ROOT / "data" / "derbyshire_early_help.xlsx"))
    if only in (None, "wide500"):
        out.append(("wide500", make_wide(tmp / "wide500.xlsx")))
    if only in (None, "small"):
        out.append(("small", make_small(tmp / "small.xlsx")))
    return out


# ---- the tables, from the file's posts


def read(path: Path) -> Any:
    """The validated report of a file (the project's own reader)."""
    from reports.services.source import Source, check

    report = check(Source(file=path))
    if not report.valid:
        raise SystemExit(f"{path} is not valid")
    return report


def records(report: Any) -> list[dict[str, Any]]:
    """One record per post: team, site, status and FTE (a row of n posts is n records,
    the FTE shared in millionths, the remainder on the first, so sums stay exact)."""
    from reports.figures.totals import NOT_GIVEN

    p = report.posts
    out = []
    for team, site, status, fte, posts in zip(p["team"], p["location"], p["status"],
                                             p["fte"], p["posts"]):
        n = max(int(posts), 1)
        each, rest = divmod(int(fte), n)
        for i in range(n):
            out.append({"team": str(team), "site": str(site) or NOT_GIVEN,
                        "status": str(status),
                        "fte": Decimal(each + (rest if i == 0 else 0)) / MILLION})
    return out


def table(recs: Iterable[dict[str, Any]], by: str) -> dict[tuple[str, str], Cell]:
    """A table's cells, marginals included: (row, status) -> FTE and posts."""
    cells: dict[tuple[str, str], Cell] = {}
    for r in recs:
        for row in (r[by], TOTAL):
            for status in (r["status"], TOTAL):
                c = cells.setdefault((row, status), Cell(row, status, Decimal(0), 0))
                c.fte += r["fte"]
                c.posts += 1
    return cells


def sensitive(c: Cell) -> bool:
    return 0 < c.posts < THRESHOLD


def common(cells: dict[tuple[str, str], Cell]) -> dict[tuple[str, str], Cell]:
    """The cells both tools publish: the body and the status totals (not a row's
    all-status total, which our briefing does not publish)."""
    return {k: c for k, c in cells.items() if k[1] != TOTAL and c.posts > 0}


# ---- Tau-Argus


def tau_argus(recs: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    """Protect team x status and site x status with Tau-Argus (OPT): per table, the
    set of suppressed cells (row, status) with their status symbol."""
    from pytauargus.arb import micro_arb
    from pytauargus.dataframe import to_microdata
    from pytauargus.engine import run_batch
    from pytauargus.micro import micro_asc_rda
    from pytauargus.result import TableResult

    # short codes: the fixed-width microdata file wants codes, not free text
    code: dict[str, dict[str, str]] = {}
    for by in ("team", "site"):
        names = sorted({r[by] for r in recs})
        code[by] = {n: f"{by[0].upper()}{i:04d}" for i, n in enumerate(names)}
    name = {by: {c: n for n, c in m.items()} for by, m in code.items()}
    micro = to_microdata({
        "team": [code["team"][r["team"]] for r in recs],
        "site": [code["site"][r["site"]] for r in recs],
        "change": [r["status"] for r in recs],     # "status" is a reserved result name
        "fte": [float(r["fte"]) for r in recs]})
    workdir.mkdir(parents=True, exist_ok=True)
    asc, rda, arb = (str(workdir / n) for n in ("micro.asc", "micro.rda", "batch.arb"))
    micro_asc_rda(micro, asc_filename=asc, rda_filename=rda, decimals=6)
    # the same protection as ours: a primary cell's range at least THRESHOLD FTE
    hst = []
    for i, by in enumerate(("team", "site")):
        path = workdir / f"levels{i + 1}.hst"
        cells = table(recs, by)
        # a first line that changes nothing (the grand total's cost is its value, as by
        # default), so that a table with no primary cell still has a readable file
        lines = [f"{TOTAL};{TOTAL};C;{cells[(TOTAL, TOTAL)].fte}"]
        for (row, status), c in cells.items():
            if sensitive(c) and row != TOTAL and status != TOTAL:
                lower = min(c.fte, Decimal(THRESHOLD) / 2)
                lines.append(f"{code[by][row]};{status};PL;{lower};{THRESHOLD - lower}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        hst.append(str(path))
    outputs = [str(workdir / f"tab{i}.tab") for i in (1, 2)]
    micro_arb(arb_filename=arb, asc_filename=asc, rda_filename=rda,
              explanatory_vars=[["team", "change"], ["site", "change"]], response_var="fte",
              safety_rules=f"FREQ({THRESHOLD},0)", suppress="OPT(1)",
              output_names=outputs, output_type="5", output_options="SO+",
              apriori={"hst": hst, "sep": ";"})
    # the engine writes its logs (CSPlogfile.txt, cspSCIP.*, FullJJ.log) in the current
    # folder: run it in the work folder, not wherever the script was started
    with contextlib.chdir(workdir):
        run_batch(arb)
    out = {}
    for by, path in zip(("team", "site"), outputs):
        result = TableResult(path, [by, "change"], "fte")
        # codes come back padded to the variable's width ("  deleted")
        out[by] = {(name[by].get(str(r[by]).strip(), TOTAL), str(r["change"]).strip()):
                   r["status"] for r in result.rows}
    return out


# ---- ours


def ours(report: Any) -> Any:
    """The public briefing, protected by the project's own code (small groups merged
    first, then suppression)."""
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin
    from reports.figures.totals import summarise

    return make_briefing(report, summarise(report), load_builtin("public"))


def our_key(by: str, row: str, status: str) -> tuple[str, ...]:
    kind = "team" if by == "team" else "loc"
    field_ = f"{status}_fte"
    return ("total", field_) if row == TOTAL else (kind, row, field_)


# ---- the comparison


def compare(label: str, path: Path, workdir: Path) -> FileResult:
    from reports.model.errors import Unpublishable

    report = read(path)
    recs = records(report)
    tables = {by: table(recs, by) for by in ("team", "site")}
    res = FileResult(label, len(report.posts), len(recs),
                     {by: len(common(t)) for by, t in tables.items()},
                     {by: sum(1 for c in common(t).values() if sensitive(c))
                      for by, t in tables.items()}, {}, {})
    start = time.perf_counter()
    try:
        briefing = ours(report)
    except Unpublishable as e:
        res.ours_error = f"refused: {e}"
        briefing = None
    res.ours_s = time.perf_counter() - start
    if briefing is not None:
        from reports.services.briefs import loss_of

        fig = briefing.figures
        loss = loss_of(briefing)
        res.ours_loss, res.ours_loss_text = loss.as_json(), loss.text()
        res.ours_hidden_in_briefing = len(fig.hidden)
        merged = briefing.recoding.merged if briefing.recoding else {}
        for by, t in tables.items():
            side = Side()
            gone = {part for parts in merged.get("team" if by == "team" else "location",
                                                 {}).values() for part in parts}
            for (row, status), c in common(t).items():
                key = our_key(by, row, status)
                hidden = key in fig.hidden
                if row in gone:          # merged into "Other teams": neither shown alone
                    side.merged += 1     # nor suppressed
                    side.merged_fte += c.fte
                    side.merged_cells.append((row, status))
                elif hidden:
                    side.suppressed += 1
                    side.suppressed_fte += c.fte
                    side.primary += sensitive(c)
                    side.fte_only += c.posts >= THRESHOLD and c.fte < THRESHOLD
                    side.hidden.append((row, status))
                elif sensitive(c):
                    side.sensitive_published += 1
            res.ours[by] = side
    start = time.perf_counter()
    try:
        got = tau_argus(recs, workdir / label)
    except Exception as e:       # report what pytauargus said, never invent figures
        res.tau_error = f"{type(e).__name__}: {e}"
        got = None
    res.tau_s = time.perf_counter() - start
    if got is not None:
        for by, t in tables.items():
            side = Side()
            status_of = got[by]
            for (row, status), c in t.items():
                if c.posts == 0:
                    continue
                symbol = status_of.get((row, status))
                if symbol is None:
                    side.error = f"cell {row} / {status} missing from Tau-Argus's table"
                    continue
                withheld = symbol in ("U", "M")
                if status == TOTAL:
                    side.row_totals_suppressed += withheld
                    continue
                if withheld:
                    side.suppressed += 1
                    side.suppressed_fte += c.fte
                    side.primary += symbol == "U"
                    side.hidden.append((row, status))
                elif sensitive(c):
                    side.sensitive_published += 1
            res.tau[by] = side
    return res


def text_table(results: list[FileResult]) -> str:
    from tabulate import tabulate

    rows = []
    for r in results:
        for by in ("team", "site"):
            o, t = r.ours.get(by), r.tau.get(by)
            rows.append([
                r.name, f"{by} x status", r.cells[by], r.sensitive[by],
                o.suppressed if o else (r.ours_error or "-")[:40],
                f"{o.suppressed_fte:.2f}" if o else "-",
                f"{o.merged} ({o.merged_fte:.2f})" if o else "-",
                t.suppressed if t else (r.tau_error or "-")[:40],
                f"{t.suppressed_fte:.2f}" if t else "-",
                t.row_totals_suppressed if t else "-",
                f"{o.sensitive_published}/{t.sensitive_published}" if o and t else "-",
                o.fte_only if o else "-"])
        rows.append([r.name, "time (s)", "", "",
                     f"{r.ours_s:.2f}" if r.ours_s is not None else "-", "", "",
                     f"{r.tau_s:.2f}" if r.tau_s is not None else "-", "", "", "", ""])
    return tabulate(rows, headers=["file", "table", "cells", "<5 posts", "ours: cells",
                                   "ours: FTE", "ours: merged (FTE)", "Tau-Argus: cells", "Tau-Argus: FTE",
                                   "TA row totals", "<5 left shown (ours/TA)",
                                   "ours: 5+ posts, <5 FTE"])


def as_json(results: list[FileResult]) -> dict[str, Any]:
    def side(s: Side) -> dict[str, Any]:
        d = asdict(s)
        d["suppressed_fte"] = str(s.suppressed_fte)
        d["merged_fte"] = str(s.merged_fte)
        d["hidden"] = [list(h) for h in s.hidden]
        d["merged_cells"] = [list(h) for h in s.merged_cells]
        return d

    out = []
    for r in results:
        d = {k: v for k, v in asdict(r).items() if k not in ("ours", "tau")}
        d["ours"] = {by: side(s) for by, s in r.ours.items()}
        d["tau"] = {by: side(s) for by, s in r.tau.items()}
        out.append(d)
    import platform

    import pytauargus

    return {"threshold": THRESHOLD, "pytauargus": pytauargus.__version__,
            "python": platform.python_version(), "files": out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["derbyshire", "wide500", "small"])
    ap.add_argument("--json", type=Path, metavar="OUT", help="write every figure here")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="write the files and Tau-Argus's batches here and keep them")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tau-argus-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = [compare(label, path, work) for label, path in files(work, args.only)]
    print(text_table(results))
    for r in results:
        if r.ours_loss_text:
            print(f"{r.name}: our public briefing's information loss: {r.ours_loss_text}")
        for what, err in (("ours", r.ours_error), ("Tau-Argus", r.tau_error)):
            if err:
                print(f"{r.name}: {what}: {err}")
        for by, side in r.tau.items():
            if side.error:
                print(f"{r.name}: Tau-Argus's {by} table: {side.error}")
    if args.json:
        args.json.write_text(json.dumps(as_json(results), indent=2) + "\n", encoding="utf-8")
        print(f"written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

