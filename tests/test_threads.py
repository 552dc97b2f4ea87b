"""Public outputs made in many threads at once are the bytes a single thread makes.

The portal builds public summaries and briefings in request and build threads.  One
process-wide HiGHS instance, shared by every thread, crashed the server (a segfault)
and, when it did not, gave other threads' answers ("no safe pattern" until a
restart).  Here 16 threads each make the public summary and the public briefing of
one of three files, 5 rounds, all at once; every result must equal what one thread
made alone.  faulthandler is on, so a crash prints every thread's stack.
"""

from __future__ import annotations

import faulthandler
import random
import threading
from pathlib import Path

import pytest

from reports.render.data import summary_json
from reports.services import briefs, summaries
from reports.services.source import Source

from .conftest import make_xlsx

ROOT = Path(__file__).resolve().parents[1]
THREADS = 16
ROUNDS = 5
HEADER = ["Team", "Job title", "Grade", "FTE", "Posts", "Status"]
STATUSES = ("Deleted", "Retained", "Relocated", "Created")


def _schedule(tmp: Path, name: str, seed: int, teams: int) -> Path:
    """A schedule of small groups, so that the public outputs hide figures and the
    disclosure audit solves many linear programs."""
    rnd = random.Random(seed)
    rows = []
    for t in range(teams):
        for g in range(3):
            for status in STATUSES:
                if rnd.random() < 0.7:
                    posts = rnd.choice((1, 2, 3, 4, 6, 9, 14))
                    rows.append([f"Team {t + 1}", f"Officer {g}", f"Grade {g + 4}",
                                 posts * rnd.choice((1, 0.5, 0.8)), posts, status])
    return make_xlsx(tmp, [HEADER, *rows], name=name)


def _outputs(path: Path, out_dir: Path, tag: str) -> tuple[bytes, bytes]:
    """The public summary (JSON) and the public briefing (its web page: the same audit
    and document as the PDF, without the seconds WeasyPrint takes to lay it out)."""
    summarised = summaries.summarise_source(Source.of_file(path), audience="public").value
    assert summarised is not None
    out = out_dir / f"{tag}.html"
    result = briefs.brief(Source.of_file(path), audience="public", audience_given=True,
                          output=out, reproducible=True, fmt="html").value
    assert result is not None and result.path == out and result.protection is not None
    assert result.protection.hidden, "the file must make the audit work"
    return summary_json(summarised.summary).encode("utf-8"), out.read_bytes()


@pytest.fixture()
def faults():
    """pytest's faulthandler plugin (on by default) prints every thread's stack to the
    real standard error if the process crashes; this test relies on it."""
    assert faulthandler.is_enabled(), "run without -p no:faulthandler"
    yield


def test_public_outputs_in_16_threads_equal_one_threads(tmp_path, faults) -> None:
    files = [_schedule(tmp_path, f"s{i}.xlsx", seed=i, teams=2 + i) for i in range(3)]
    expected = [_outputs(f, tmp_path, f"alone-{i}") for i, f in enumerate(files)]
    assert len({e for e in expected}) == 3, "three different files, three different outputs"
    results: dict[tuple[int, int], tuple[bytes, bytes]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        try:
            start.wait()
            for r in range(ROUNDS):
                i = (n + r) % 3
                results[(n, r)] = _outputs(files[i], tmp_path, f"t{n}-r{r}")
        except BaseException as e:  # reported below, with the thread it came from
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(results) == THREADS * ROUNDS
    for (n, r), got in results.items():
        i = (n + r) % 3
        assert got[0] == expected[i][0], f"thread {n} round {r}: the public summary differs"
        assert got[1] == expected[i][1], f"thread {n} round {r}: the public briefing differs"
