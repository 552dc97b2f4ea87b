"""bench/brief_tagged.py judges `impact monthly` against issue 15: 50 datasets x 3
audiences, tagged public PDFs included, under 60 s on 2 cores (the pooled run).

No timing is asserted: the verdict is checked on made-up timings, and a tiny run
(1 dataset) must print a verdict line that follows from its own pooled time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "brief_tagged.py"
LIMIT = 60.0  # the limit, written out here rather than read from the script
VERDICT = re.compile(r"^(PASS|FAIL)  monthly, (\d+) datasets x 3 audiences, pool, < 60 s: "
                     r"([\d.]+) s wall \(([\d.]+) s CPU; (\d+) CPUs(.*)\)$")
POOL = re.compile(r"^monthly, (\d+) datasets x 3 audiences, pool \((\d+) CPUs\)\s+([\d.]+) s wall"
                  r"\s+([\d.]+) s CPU$")


def load_script():
    return conftest.load_script(SCRIPT, "brief_tagged_under_test")


def test_verdict_on_made_up_timings() -> None:
    verdict = load_script().monthly_verdict
    line = verdict((59.99, 110.0), 50, 2)
    assert line == ("PASS  monthly, 50 datasets x 3 audiences, pool, < 60 s: 59.99 s wall "
                    "(110.00 s CPU; 2 CPUs)")
    assert verdict((60.0, 110.0), 50, 2).startswith("FAIL  ")  # under 60 s, so 60 fails
    assert verdict((75.5, 80.0), 50, 2).startswith("FAIL  ")
    # A run that is not the target's says so.
    assert "not the target: 10 datasets, not 50" in verdict((5.0, 9.0), 10, 2)
    assert "not the target's 2 cores" in verdict((30.0, 100.0), 50, 4)
    assert "not the target" not in line


def test_tiny_run_prints_a_verdict_from_its_pooled_time(tmp_path) -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--case", "monthly", "--datasets",
                             "1", "--keep", str(tmp_path / "work")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    pool = [m for m in map(POOL.match, lines) if m]
    verdicts = [m for m in map(VERDICT.match, lines) if m]
    assert len(pool) == 1 and len(verdicts) == 1, result.stdout
    word, datasets, wall, cpu, cpus, notes = verdicts[0].groups()
    assert datasets == pool[0].group(1) == "1" and cpus == pool[0].group(2)
    assert (wall, cpu) == (pool[0].group(3), pool[0].group(4))  # the pooled run, not the other
    assert word == ("PASS" if float(wall) < LIMIT else "FAIL")
    assert "not the target: 1 datasets, not 50" in notes
    # The pooled run made the public PDF, and it is tagged (a structure tree).
    public = list((tmp_path / "work" / "pool").rglob("public/briefing.pdf"))
    assert len(public) == 1, result.stdout
    assert "/StructTreeRoot" in PdfReader(public[0]).trailer["/Root"]
