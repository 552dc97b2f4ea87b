"""bench/bench.py prints each issue-15 ratio against its anchor, measured in the same run.

No timing is asserted: the tests check that the printed ratio is the one the raw
runs give, and that each verdict follows the issue's limits (xlsx and Derbyshire
<= 1.5x, CSV <= 2.5x and peak RSS < 500 MB), worked out here from the JSON runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "bench.py"

# The limits, written out here rather than read from bench.py.
LIMITS = {"xlsx": 1.5, "csv": 2.5, "derbyshire": 1.5}
ANCHOR_CODE = {"xlsx": "fastexcel.read_excel(sys.argv[1]).load_sheet(0).to_pandas()",
               "csv": "pandas.read_csv(sys.argv[1], engine='pyarrow')",
               "derbyshire": "import pandas"}
RATIO_LINE = re.compile(r"^(PASS|FAIL)  (xlsx|csv|derbyshire): impact summary <= ([\d.]+)x "
                        r"[^:]+: ([\d.]+)x \(impact summary ([\d.]+) s, (.+) ([\d.]+) s\)$")


def load_bench():
    return conftest.load_script(BENCH, "bench_under_test")


def middle(values: list[float]) -> float:
    """The median by hand: the middle value, or the mean of the two middle ones."""
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def impact_cmd() -> str:
    script = Path(sys.executable).parent / "impact"
    return str(script) if script.exists() else f"{sys.executable} -m cli"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One run of the benchmark at tiny sizes: its stdout and its JSON."""
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "out.json"
    result = subprocess.run(
        [sys.executable, str(BENCH), "--xlsx-rows", "2000", "--csv-rows", "20000",
         "--cache-dir", str(tmp / "cache"), "--impact-cmd", impact_cmd(), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_three_ratio_lines_match_the_json_medians(small_run) -> None:
    stdout, data = small_run
    lines = {m.group(2): m for m in map(RATIO_LINE.match, stdout.splitlines()) if m}
    assert sorted(lines) == ["csv", "derbyshire", "xlsx"], stdout
    for kind, m in lines.items():
        word, limit, printed_ratio, imp_s, anchor_tool, anchor_s = m.group(1, 3, 4, 5, 6, 7)
        assert float(limit) == LIMITS[kind]
        cases = [c for c in data["cases"] if c["case"].endswith(kind)]
        imp = next(c for c in cases if c["tool"] == "impact summary")
        anchor = next(c for c in cases if c["tool"] == anchor_tool)
        # The anchor reads the same file with the bare reader the issue names.
        assert ANCHOR_CODE[kind] in anchor["argv"][2]
        if kind != "derbyshire":
            assert anchor["argv"][-1] == imp["argv"][imp["argv"].index("summary") + 1]
        imp_median = middle([r["seconds"] for r in imp["runs"]])
        anchor_median = middle([r["seconds"] for r in anchor["runs"]])
        ratio = imp_median / anchor_median
        assert printed_ratio == f"{ratio:.2f}"
        assert imp_s == f"{imp_median:.2f}" and anchor_s == f"{anchor_median:.2f}"
        assert word == ("PASS" if ratio <= LIMITS[kind] else "FAIL")


@pytest.mark.slow
def test_run_counts_and_the_csv_memory_line(small_run) -> None:
    stdout, data = small_run
    runs = {(c["case"], c["tool"]): len(c["runs"]) for c in data["cases"]}
    # --repeat 1, but the sub-second Derbyshire case runs at least 5 times.
    assert runs[("derbyshire", "impact summary")] == 5
    assert runs[("derbyshire", "import pandas")] == 5
    assert {n for (case, _), n in runs.items() if case != "derbyshire"} == {1}
    assert data["repeat"] == 1
    imp = next(c for c in data["cases"] if c["case"] == "20k csv"
               and c["tool"] == "impact summary")
    peak = imp["runs"][0]["peak_rss_bytes"]
    word = "PASS" if peak < 500 * 10**6 else "FAIL"
    assert f"{word}  csv: impact summary peak RSS < 500 MB: {peak / 10**6:.0f} MB" in stdout
    # The older references are still printed, as context rather than targets.
    assert re.search(r"^INFO  xlsx: impact summary against pandas.read_excel \(openpyxl\): ",
                     stdout, re.M)
    assert re.search(r"^INFO  csv: impact summary against pandas.read_csv \(C engine\): ",
                     stdout, re.M)
    assert re.search(r"^(PASS|FAIL)  xlsx: impact brief < 1.5x impact summary's time: ",
                     stdout, re.M)


def test_medians_rounds_and_limits_without_running_anything(monkeypatch) -> None:
    """run_cases and verdicts on made-up timings: median of each command's runs,
    Derbyshire run max(repeat, 5) times, <= at the limit (< for the briefing)."""
    bench = load_bench()
    times = {
        ("xlsx", "impact summary"): [3.0, 1.0, 2.0],       # median 2.0
        ("xlsx", bench.FASTEXCEL): [1.0, 4.0, 1.5],        # median 1.5 -> 1.333x PASS
        ("xlsx", "impact brief"): [3.0, 3.0, 9.0],         # median 3.0 -> 1.5x, not < 1.5
        ("csv", "impact summary"): [5.0, 5.0, 5.0],
        ("csv", bench.READ_CSV_PYARROW): [2.0, 2.0, 2.0],  # exactly 2.5x: PASS
        ("derbyshire", "impact summary"): [1.0, 1.0, 1.7, 1.6, 1.6],  # median 1.6
        ("derbyshire", bench.IMPORT_PANDAS): [1.0, 1.0, 1.0, 1.0, 1.0],  # 1.6x FAIL
    }
    cases = [bench.Case("2k xlsx", "impact summary", ["a"]),
             bench.Case("2k xlsx", bench.FASTEXCEL, ["b"]),
             bench.Case("2k xlsx", "impact brief", ["c"]),
             bench.Case("20k csv", "impact summary", ["d"]),
             bench.Case("20k csv", bench.READ_CSV_PYARROW, ["e"]),
             bench.Case("derbyshire", "impact summary", ["f"], min_runs=5),
             bench.Case("derbyshire", bench.IMPORT_PANDAS, ["g"], min_runs=5)]
    by_argv = {c.argv[0]: (c.case.split()[-1], c.tool) for c in cases}
    seen: dict[tuple[str, str], int] = {}

    def fake_measure(argv):
        key = by_argv[argv[0]]
        i = seen.get(key, 0)
        seen[key] = i + 1
        rss = 499 * 10**6 if key == ("csv", "impact summary") else 1
        return bench.Run(times[key][i], rss, 0, "")

    monkeypatch.setattr(bench, "measure", fake_measure)
    bench.run_cases(cases, repeat=3)
    assert seen == {key: len(t) for key, t in times.items()}
    checks = bench.verdicts(cases)

    def pick(word: str):
        return next(v for v in checks if word in v.target)

    xlsx = pick("fastexcel")
    assert xlsx.passed is True and xlsx.ratio == pytest.approx(2.0 / 1.5)
    assert xlsx.detail.startswith("1.33x (impact summary 2.00 s, ")
    assert xlsx.detail.endswith(" 1.50 s)")
    brief = pick("impact brief")
    assert brief.ratio == pytest.approx(1.5) and brief.passed is False
    csv_ratio = pick("pyarrow")
    assert csv_ratio.ratio == pytest.approx(2.5) and csv_ratio.passed is True
    memory = pick("RSS")
    assert memory.passed is True and memory.detail == "499 MB"
    derby = pick("import pandas")
    assert derby.ratio == pytest.approx(1.6) and derby.passed is False
