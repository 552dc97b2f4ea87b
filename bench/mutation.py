"""Mutation score of the rule modules and reports/figures/ (issue 25), with mutmut.

Each group of modules is mutated and run against its OWN test files only, never
tests/test_golden.py: a golden file re-recorded after a regression would approve it, so a
golden must never be what kills a rule's mutant.  Nothing is written into the checkout:
each group runs in a temporary copy of the tree (the files git tracks, and new files it
does not ignore), with the [tool.mutmut] section for that group written into the copy's
pyproject.toml.

    python bench/mutation.py                        # every group; the report on stdout
    python bench/mutation.py --out bench/mutation-report.md
    python bench/mutation.py --only costs           # one group: a group name, or a module
    python bench/mutation.py --only reports/figures/loss.py   # (then only that module)
    python bench/mutation.py --max-children 2 --keep   # keep the copies, to `mutmut show`
    python bench/mutation.py --from-kept DIR --merge bench/mutation-survivors.md
                                    # DIR's groups, and the other modules of the earlier report

The score of a module is (killed + timed out) / all its mutants.  A mutant with no test
that reaches it ("no tests") counts against the score, as a survivor does.  The report
has a markdown table per module, the total, and each surviving mutant's diff.

Tests that run `impact` in a child process (tests/conftest.py `impact`) import the
installed, unmutated code, so they kill nothing; the in-process ones (`invoke`, direct
calls) do.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# tests/test_mutants.py holds the edge tests written to kill survivors of every group,
# each named after the rule it states, so it belongs to every group's own tests.
SHARED_TESTS = ["tests/test_mutants.py"]


@dataclass(frozen=True)
class Group:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]   # paths or globs under the root; missing ones are skipped
    # mutmut stops a mutant's tests after (their usual time + 1 s) x this x 2 CPU seconds
    # and counts it killed (timed out); None: mutmut's own 15
    timeout_multiplier: float | None = None


GROUPS: tuple[Group, ...] = (
    Group("costs", ("reports/model/redundancy_rules.py", "reports/figures/costs.py"),
          ("tests/test_costs.py", "tests/test_rules.py")),
    Group("s188", ("reports/model/s188_rules.py", "reports/figures/s188.py"),
          ("tests/test_consultation.py", "tests/test_rules.py")),
    Group("equality", ("reports/figures/equality.py",),
          ("tests/test_equality.py", "tests/test_disclosure_rules.py")),
    # 2 (stopped at 4 x the usual CPU time of its tests, + 4 s): a mutant that makes the
    # suppression repair loop (_Problem.pattern, recode._ordered, _free_label) ran 3-7
    # minutes of CPU each at mutmut's 15.  Not lower: at 0.75 a survivor that only changes
    # a message (Protection.summary) was stopped too, its tests taking 35 s of CPU in the
    # run against 20 s in mutmut's own timing of them
    Group("privacy", ("reports/figures/privacy.py", "reports/figures/recode.py"),
          ("tests/test_privacy.py", "tests/test_disclosure_rules.py"), 2.0),
    Group("releases", ("reports/figures/releases.py",),
          ("tests/test_ledger.py", "tests/test_releases.py")),
    Group("loss", ("reports/figures/loss.py",), ("tests/test_loss.py",)),
    Group("totals", ("reports/figures/totals.py",), ("tests/test_totals.py",)),
    Group("compare", ("reports/figures/compare.py",), ("tests/test_compare.py",)),
    Group("pools", ("reports/figures/pools.py",),
          ("tests/test_consultation.py", "tests/test_pools*.py")),
    Group("reconcile", ("reports/figures/reconcile.py",),
          ("tests/test_consultation.py", "tests/test_reconcile*.py")),
    Group("trend", ("reports/figures/trend.py",),
          ("tests/test_trend_rules.py", "tests/test_trend.py")),
)

# Files outside reports/ that the tests import or read (mutmut copies reports/ itself).
ALSO_COPY = ["data", "templates", "web", "commands", "cli.py"]

# mutmut's statuses (mutmut/stats.py `status_by_exit_code`), as `mutmut results` prints them
DETECTED = {"killed", "timeout", "caught by type check"}
NOT_CHECKED = "not checked"      # a run stopped before it reached the mutant
COLUMNS = ("killed", "timeout", "survived", "no tests", NOT_CHECKED)

# Survivors explained (equivalent mutants, wording): matched by module, function and the
# mutated line(s), not by mutmut's number, which shifts when a function changes.
EXPLAINED = ROOT / "bench" / "mutation-explained.toml"

RESULT_LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>[a-z][a-z ]*)\s*$")


# ---------------------------------------------------------------------------------------
# parsing and aggregation (tests/test_bench.py checks these on a recorded sample)

def parse_results(text: str) -> dict[str, str]:
    """`mutmut results --all true` output: {mutant name: status}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = RESULT_LINE.match(line)
        if m:
            out[m["name"]] = m["status"]
    return out


def module_of(mutant: str, modules: Iterable[str]) -> str | None:
    """The module path a mutant belongs to: its name starts with the module's dotted name
    (`reports.figures.costs.x_costs__mutmut_3`, `reports.figures.costs.xǁCls...`)."""
    best = None
    for path in modules:
        dotted = path.removesuffix(".py").replace("/", ".")
        if mutant.startswith(dotted + ".") and (best is None or len(path) > len(best)):
            best = path
    return best


@dataclass
class ModuleScore:
    module: str
    tests: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    # name, status, diff, and why it survives (from EXPLAINED; "" if not explained)
    survivors: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def explained(self) -> int:
        return sum(1 for s in self.survivors if len(s) > 3 and s[3])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def detected(self) -> int:
        return sum(n for s, n in self.counts.items() if s in DETECTED)

    @property
    def checked(self) -> int:
        return self.total - self.count(NOT_CHECKED)

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def other(self) -> int:
        return self.total - sum(self.count(s) for s in COLUMNS)


def aggregate(results: dict[str, str], modules: Iterable[str],
              tests: tuple[str, ...] = ()) -> dict[str, ModuleScore]:
    """Per-module counts of each status; every mutant not detected is listed as a survivor
    (without its diff, which `attach_diffs` adds)."""
    modules = list(modules)
    scores = {m: ModuleScore(m, tests) for m in modules}
    for name, status in sorted(results.items(), key=lambda kv: natural_key(kv[0])):
        module = module_of(name, modules)
        if module is None:
            continue
        s = scores[module]
        s.counts[status] = s.counts.get(status, 0) + 1
        if status not in DETECTED and status != NOT_CHECKED:
            s.survivors.append((name, status, "", ""))
    return scores


def function_of(mutant: str, module: str) -> str:
    """`reports.figures.costs.x_costs__mutmut_3` -> `x_costs` (`xǁCostsǁto_dict` for a
    method): the mangled function, without the module or the mutant's number."""
    dotted = module.removesuffix(".py").replace("/", ".") + "."
    return mutant.removeprefix(dotted).rpartition("__mutmut_")[0]


def mutated_lines(diff: str) -> str:
    """The lines a mutant puts in (the diff's + lines), stripped and joined."""
    return "\n".join(line[1:].strip() for line in diff.splitlines()
                     if line.startswith("+") and not line.startswith("+++"))


def load_explained(path: Path = EXPLAINED) -> list[dict[str, str]]:
    if not path.exists():
        return []
    import tomllib  # lazy: only the report reads it
    return list(tomllib.loads(path.read_text(encoding="utf-8")).get("mutant", []))


def explain(score: ModuleScore, explained: list[dict[str, str]]) -> None:
    """Attach each survivor's explanation, where one matches its function and mutated
    line(s); an entry without `mutated` covers every survivor of the function."""
    out = []
    for name, status, diff, *_ in score.survivors:
        func, lines = function_of(name, score.module), mutated_lines(diff)
        why = next((e["why"] for e in explained
                    if e["module"] == score.module and e["function"] == func
                    and e.get("mutated", lines).strip() == lines), "")
        out.append((name, status, diff, why))
    score.survivors = out


def natural_key(name: str) -> tuple[str, int]:
    head, _, n = name.rpartition("__mutmut_")
    return (head, int(n) if n.isdigit() else 0)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def report(scores: list[ModuleScore], *, when: str, command: str, version: str,
           elapsed: float | None = None) -> str:
    """The markdown report: a table per module, the total, then each survivor's diff and,
    where bench/mutation-explained.toml has one, why it survives."""
    lines = [f"Mutation score, {when}: `{command}` (mutmut {version}"
             + (f", {elapsed / 60:.0f} min" if elapsed is not None else "") + ").",
             "Score = (killed + timeout) / mutants checked; \"no tests\" counts as "
             "surviving; \"not checked\" = mutants a stopped run did not reach (left out of "
             "the score); \"explained\" = survivors with a reason below (equivalent "
             "mutants, wording).",
             "",
             "| module | own tests | mutants | killed | timeout | survived | no tests "
             "| not checked | other | score | explained |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in scores:
        tests = ", ".join(Path(t).name for t in s.tests)
        lines.append(f"| `{s.module}` | {tests} | {s.total} | {s.count('killed')} | "
                     f"{s.count('timeout')} | {s.count('survived')} | {s.count('no tests')} | "
                     f"{s.count(NOT_CHECKED)} | {s.other} | {percent(s.detected, s.checked)} | "
                     f"{s.explained} |")
    total = sum(s.total for s in scores)
    checked = sum(s.checked for s in scores)
    detected = sum(s.detected for s in scores)
    sums = {c: sum(s.count(c) for s in scores) for c in COLUMNS}
    lines.append(f"| **total** | | {total} | {sums['killed']} | {sums['timeout']} | "
                 f"{sums['survived']} | {sums['no tests']} | {sums[NOT_CHECKED]} | "
                 f"{sum(s.other for s in scores)} | **{percent(detected, checked)}** | "
                 f"{sum(s.explained for s in scores)} |")
    lines += ["", "## Surviving mutants", ""]
    any_survivor = False
    for s in scores:
        for name, status, diff, *why in s.survivors:
            any_survivor = True
            lines += [f"### `{name}` ({status})", ""]
            if why and why[0]:
                lines += [f"Why it survives: {why[0]}", ""]
            lines += ["```diff", diff.strip() or "(no diff)", "```", ""]
    if not any_survivor:
        lines.append("None.")
    return "\n".join(lines).rstrip() + "\n"


TABLE_ROW = re.compile(r"^\| `(?P<module>[^`]+)` \| (?P<tests>[^|]*) \| (?P<cells>.*) \|\s*$")
SECTION = re.compile(r"^### `(?P<name>[^`]+)` \((?P<status>[a-z ]+)\)\s*$", re.M)


def read_report(text: str) -> list[ModuleScore]:
    """The scores in an earlier report (this script's markdown): each module's counts from
    its table row, its survivors and their diffs from the sections below, without their
    explanations (`explain` gives them again from bench/mutation-explained.toml)."""
    scores: dict[str, ModuleScore] = {}
    for line in text.splitlines():
        m = TABLE_ROW.match(line)
        if not m:
            continue
        cells = [c.strip() for c in m["cells"].split("|")]
        total, *counts = (int(c) for c in cells[:7])
        tests = tuple(t.strip() for t in m["tests"].split(",") if t.strip())
        if counts[-1]:
            raise ValueError(f"{m['module']}: {counts[-1]} mutant(s) under 'other', whose "
                             f"statuses the report does not give; run that group again")
        score = ModuleScore(m["module"], tests, {c: n for c, n in zip(COLUMNS, counts) if n})
        assert score.total == total, (m["module"], total, score.counts)
        scores[score.module] = score
    parts = SECTION.split(text)
    for name, status, body in zip(parts[1::3], parts[2::3], parts[3::3]):
        module = module_of(name, scores)
        diff = body.split("```diff", 1)[-1].split("```", 1)[0].strip("\n")
        diff = "" if diff == "(no diff)" else diff
        if module is not None:
            scores[module].survivors.append((name, status, diff, ""))
    return list(scores.values())


def merge(earlier: list[ModuleScore], scores: list[ModuleScore]) -> list[ModuleScore]:
    """An earlier report's modules, each replaced by this run's where it has one, in the
    order of the groups; the earlier survivors explained again."""
    mine = {s.module: s for s in scores}
    out = [mine.pop(s.module, s) for s in earlier] + list(mine.values())
    explained = load_explained()
    for s in out:
        explain(s, explained)
    return out


# ---------------------------------------------------------------------------------------
# running mutmut in a copy of the tree

def tracked_files(root: Path) -> list[str]:
    """The files git tracks, and the untracked ones it does not ignore (new tests)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                         capture_output=True, check=True).stdout.decode()
    return [p for p in out.split("\0") if p and (root / p).is_file()]


def copy_tree(root: Path, dest: Path) -> None:
    for rel in tracked_files(root):
        if rel.startswith("mutants/"):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)


def own_tests(root: Path, group: Group) -> list[str]:
    found: list[str] = []
    for pattern in (*group.tests, *SHARED_TESTS):
        for p in sorted(root.glob(pattern)):
            rel = p.relative_to(root).as_posix()
            if rel != "tests/test_golden.py" and rel not in found:
                found.append(rel)
    return found


def toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def mutmut_section(modules: Iterable[str], tests: Iterable[str],
                   timeout_multiplier: float | None = None) -> str:
    return ("\n[tool.mutmut]\n"
            'source_paths = ["reports"]\n'
            f"only_mutate = {toml_list(modules)}\n"
            f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
            f"also_copy = {toml_list(ALSO_COPY)}\n"
            + ("" if timeout_multiplier is None else
               f"timeout_multiplier = {timeout_multiplier}\n"))


def mutmut_exe() -> list[str]:
    exe = Path(sys.executable).with_name("mutmut")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mutmut"]


def stream(proc: subprocess.Popen[bytes], log: Path, label: str, every: float = 30.0) -> None:
    """Copy mutmut's output to a log; every `every` s print its latest progress line."""
    last = ""
    shown = time.monotonic()
    start = shown
    assert proc.stdout is not None
    with log.open("wb") as f:
        buf = b""
        while chunk := proc.stdout.read1(4096):  # type: ignore[attr-defined]
            f.write(chunk)
            buf += chunk
            parts = re.split(rb"[\r\n]", buf)
            buf = parts[-1]
            for p in parts[:-1]:
                text = p.decode("utf-8", "replace").strip()
                if text:
                    last = text
            now = time.monotonic()
            if now - shown >= every and last:
                print(f"  [{label} {now - start:5.0f} s] {last}", file=sys.stderr, flush=True)
                shown = now


def run_group(group: Group, modules: tuple[str, ...], work: Path, max_children: int
              ) -> list[ModuleScore]:
    tests = own_tests(ROOT, group)
    missing = [t for t in group.tests if not any(ROOT.glob(t))]
    print(f"== {group.name}: {', '.join(modules)} against {', '.join(tests)}"
          + (f" (not found, skipped: {', '.join(missing)})" if missing else ""),
          file=sys.stderr, flush=True)
    tree = work / group.name
    copy_tree(ROOT, tree)
    pyproject = tree / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    text = re.sub(r"\n\[tool\.mutmut\][^\[]*", "\n", text)  # a checkout's own section, if any
    pyproject.write_text(text + mutmut_section(modules, tests, group.timeout_multiplier),
                         encoding="utf-8")

    start = time.monotonic()
    proc = subprocess.Popen([*mutmut_exe(), "run", "--max-children", str(max_children)],
                            cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    reader = threading.Thread(target=stream, args=(proc, tree / "mutmut-run.log", group.name))
    reader.start()
    code = proc.wait()
    reader.join()
    if code != 0:
        tail = (tree / "mutmut-run.log").read_text("utf-8", "replace")[-3000:]
        print(f"mutmut run failed for {group.name} (exit {code}):\n{tail}", file=sys.stderr)

    listing = subprocess.run([*mutmut_exe(), "results", "--all", "true"], cwd=tree,
                             capture_output=True, text=True, check=False).stdout
    (tree / "mutmut-results.txt").write_text(listing, encoding="utf-8")
    (tree / "mutmut-tests.txt").write_text("\n".join(tests), encoding="utf-8")
    return collect(tree, modules, start)


def collect(tree: Path, modules: tuple[str, ...], start: float) -> list[ModuleScore]:
    """The scores of a group's copy after its run (from its saved `mutmut results`)."""
    listing = (tree / "mutmut-results.txt").read_text(encoding="utf-8")
    tests = (tree / "mutmut-tests.txt").read_text(encoding="utf-8").split()
    scores = aggregate(parse_results(listing), modules, tuple(tests))
    diffs = show_all(tree, [name for s in scores.values() for name, *_ in s.survivors])
    explained = load_explained()
    for s in scores.values():
        s.survivors = [(name, status, diffs.get(name, ""), "")
                       for name, status, *_ in s.survivors]
        explain(s, explained)
        print(f"   {s.module}: {s.total} mutants, {s.detected} killed "
              f"({percent(s.detected, s.total)}), {s.total - s.detected} not "
              f"[{time.monotonic() - start:.0f} s]", file=sys.stderr, flush=True)
    return list(scores.values())


SHOW_ALL = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
out = {}
for name in json.load(sys.stdin):
    try:
        out[name] = get_diff_for_mutant(name)
    except Exception as e:  # a mutant mutmut cannot show: say so in the report
        out[name] = f"(no diff: {e!r})"
json.dump(out, sys.stdout)
"""


def show_all(tree: Path, names: list[str]) -> dict[str, str]:
    """Each mutant's diff, as `mutmut show NAME` gives it, in one process (not one each)."""
    if not names:
        return {}
    out = subprocess.run([sys.executable, "-c", SHOW_ALL], cwd=tree, input=json.dumps(names),
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"diffs not read: {out.stderr[-2000:]}", file=sys.stderr)
        return {}
    return json.loads(out.stdout)


def select_all(only: list[str] | None) -> list[tuple[Group, tuple[str, ...]]]:
    if not only:
        return [(g, g.modules) for g in GROUPS]
    return [pick for name in only for pick in select(name)]


def select(only: str) -> list[tuple[Group, tuple[str, ...]]]:
    for g in GROUPS:
        if only == g.name:
            return [(g, g.modules)]
    for g in GROUPS:
        for m in g.modules:
            if only in (m, Path(m).stem, Path(m).name):
                return [(g, (m,))]
    names = [g.name for g in GROUPS] + [m for g in GROUPS for m in g.modules]
    raise SystemExit(f"--only {only}: not a group or module; one of {', '.join(names)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append",
                    help="one group (costs, s188, ...) or one module (path or stem); repeatable")
    ap.add_argument("--out", type=Path, help="write the report here (default: stdout)")
    ap.add_argument("--max-children", type=int, default=2)
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary copies (to run `mutmut show NAME` in them)")
    ap.add_argument("--from-kept", type=Path, metavar="DIR", action="append",
                    help="no run: report again from the copies a --keep run left in DIR "
                         "(after editing bench/mutation-explained.toml); repeatable, a "
                         "group's copy in a later DIR replacing an earlier one's")
    ap.add_argument("--merge", type=Path, metavar="REPORT",
                    help="an earlier report (as --out writes it): its modules that this run "
                         "or --from-kept does not cover are kept, their survivors explained "
                         "again from bench/mutation-explained.toml")
    args = ap.parse_args(argv)

    try:
        version = importlib.metadata.version("mutmut")
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit("mutmut is not installed: pip install -e '.[bench]'") from None
    start = time.monotonic()
    scores: list[ModuleScore] = []
    if args.from_kept:
        for group, modules in select_all(args.only):
            kept = [d / group.name for d in args.from_kept
                    if (d / group.name / "mutmut-results.txt").exists()]
            if kept:
                scores += collect(kept[-1], modules, start)
        if args.merge:
            scores = merge(read_report(args.merge.read_text(encoding="utf-8")), scores)
        text = report(scores, when=kept_when(args.from_kept), command="python bench/mutation.py",
                      version=version)
        write(text, args.out)
        return 0
    work = Path(tempfile.mkdtemp(prefix="impact-mutation-"))
    try:
        for group, modules in select_all(args.only):
            scores += run_group(group, modules, work, args.max_children)
    finally:
        if args.keep:
            print(f"copies kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.merge:
        scores = merge(read_report(args.merge.read_text(encoding="utf-8")), scores)
    command = "python bench/mutation.py" + "".join(f" --only {o}" for o in args.only or ())
    text = report(scores, when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  command=command, version=version, elapsed=time.monotonic() - start)
    write(text, args.out)
    return 0


def kept_when(work: list[Path]) -> str:
    """When the kept runs finished: their newest results file's time."""
    stamp = max(p.stat().st_mtime for d in work for p in d.glob("*/mutmut-results.txt"))
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def write(text: str, out: Path | None) -> None:
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    sys.exit(main())
