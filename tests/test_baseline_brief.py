"""Issue 26 item 12: briefings of a file where nothing is deleted (a pure baseline, every
post retained), in each format and audience:

- the team chart is ranked by baseline FTE, and its caption says so;
- "In brief" (the headline's heading) is printed once;
- a section with nothing to say is one line, not a page;
- the title does not say "the proposed job cuts" (nor any cut) over a pure baseline.
"""

from __future__ import annotations

import io
import math
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from reports.documents.template import load_builtin

from .conftest import invoke, make_xlsx

# 17 teams (more than the chart's 15 bars), in no order of size; every post retained
TEAMS = [(f"Team {chr(65 + i)}", Decimal(fte), posts) for i, (fte, posts) in enumerate([
    ("12.5", 14), ("30", 31), ("7.25", 8), ("19", 20), ("5.5", 6), ("41.75", 44), ("9", 9),
    ("22.5", 24), ("6", 6), ("15", 16), ("8.5", 9), ("27", 28), ("11", 12), ("5", 5),
    ("18.25", 19), ("6.75", 7), ("35", 36)])]
IDLE = {"s188": "s.188 and consultation", "pools": "Pools and redeployment",
        "costs": "Cost and saving", "equality": "Equality impact",
        "at_risk": "Occupied posts, vacancies and cost"}
CUTS = re.compile(r"job cuts|would cut|cuts to", re.IGNORECASE)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows: list[list[Any]] = [["Team", "Job title", "Grade", "FTE", "Posts", "Status"]]
    for team, fte, posts in TEAMS:
        half = (fte / 2).quantize(Decimal("0.01"))
        rest = fte - half
        rows += [[team, "Officer", "G5", float(half), math.ceil(half) + posts % 2, "Retained"],
                 [team, "Manager", "G8", float(rest), math.ceil(rest), "Remain"]]
    return make_xlsx(tmp_path_factory.mktemp("baseline"), rows, name="baseline.xlsx")


FORMATS = {"pdf": ["--no-accessible"], "tagged": ["--accessible"], "html": ["--format", "html"]}


def render(path: Path, tmp: Path, audience: str, fmt: str) -> Path:
    out = tmp / f"{audience}-{fmt}.{'html' if fmt == 'html' else 'pdf'}"
    r = invoke("brief", path, "--audience", audience, *FORMATS[fmt], "--reproducible",
               "-o", out)
    assert r.exit_code == 0, r.output + r.stderr
    return out


class _Page(HTMLParser):
    """The HTML briefing's sections: heading -> [(tag, text)] of its blocks, and the
    visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.stack: list[str] = []
        self.text: list[str] = []
        self.title = ""
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.stack.append(tag)
        if tag in ("style", "svg", "head"):
            self.skip += 1
        if tag == "h2":
            self.current = ""
        elif self.current is not None and tag in ("p", "table", "ul", "dl", "figure", "h3"):
            if len([t for t in self.stack if t in ("p", "table", "ul", "dl", "figure")]) <= 1:
                self.sections[self.current].append([tag, ""])
        self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "svg", "head"):
            self.skip -= 1
        while self.stack and self.stack.pop() != tag:
            pass
        self.text.append(" ")

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "title" and not self.title:
            self.title = data
        if self.skip:
            return
        self.text.append(data)
        if self.stack and self.stack[-1] == "h2":
            self.current = (self.current or "") + data
            self.sections.setdefault(self.current, [])
        elif self.current and self.sections.get(self.current):
            self.sections[self.current][-1][1] += data


def pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)


@pytest.mark.parametrize("audience", ["union", "management", "public"])
def test_html_of_a_pure_baseline(baseline: Path, tmp_path: Path, audience: str) -> None:
    page = _Page()
    page.feed(render(baseline, tmp_path, audience, "html").read_text(encoding="utf-8"))
    text = " ".join("".join(page.text).split())
    template = load_builtin(audience)
    headline = template.headings["headline"]
    assert text.count(headline) == 1                    # "In brief" once
    assert not CUTS.search(page.title) and not CUTS.search(text.split(headline)[0])
    # a section with nothing to say is one line
    for sid, heading in IDLE.items():
        if sid in template.sections:
            blocks = page.sections[template.headings.get(sid, heading)]
            assert [tag for tag, _ in blocks] == ["p"], (sid, blocks)
            assert blocks[0][1].strip().startswith("No posts are deleted"), blocks
    # the team chart: ranked by baseline FTE (every post is retained, so its Retained
    # column is the baseline), largest first, and its caption says so
    chart = text.split("FTE by status, per team", 1)[1].split("FTE by status, per grade")[0]
    assert "by FTE today" in chart or "with the most FTE today" in chart
    assert "losing the most" not in chart and "FTE deleted" not in chart
    table = chart.split("Team Deleted Retained Relocated Created", 1)[1]
    bars = re.findall(r"((?:Team [A-Q]|Other teams)|Other \d+ teams: [\d.,]+ FTE) "
                      r"0 ([\d.,\[\]c]+) 0 0", table)
    assert bars, table
    named = [Decimal(v) for label, v in bars if not label.startswith("Other ")]
    assert named == sorted(named, reverse=True)
    if template.small_number_threshold == 0:
        # every team shown alone: the 14 largest, then the other 3 added up
        ranked = sorted(TEAMS, key=lambda t: -t[1])
        assert [label for label, _ in bars[:14]] == [t[0] for t in ranked[:14]]
        rest = sum((t[1] for t in ranked[14:]), Decimal(0))
        assert bars[14][0] == f"Other 3 teams: {rest.normalize():f} FTE"


@pytest.mark.parametrize("fmt", ["pdf", "tagged"])
@pytest.mark.parametrize("audience", ["union", "management", "public"])
def test_pdf_of_a_pure_baseline(baseline: Path, tmp_path: Path, audience: str,
                                fmt: str) -> None:
    out = render(baseline, tmp_path, audience, fmt)
    text = pdf_text(out)
    template = load_builtin(audience)
    headline = template.headings["headline"]
    assert len(re.findall(rf"^{re.escape(headline)}$", text, re.MULTILINE)) == 1
    title = PdfReader(io.BytesIO(out.read_bytes())).metadata.title
    assert title and not CUTS.search(title) and not CUTS.search(text)
    flat = " ".join(text.split())
    for sid, heading in IDLE.items():
        if sid in template.sections:
            heading = template.headings.get(sid, heading)
            after = flat.split(f"{heading} No posts are deleted", 1)
            assert len(after) == 2, sid
            line = after[1].split(".", 1)[0]
            assert len(line) < 120, line                 # one sentence, then the next
    for detail in ("s.188(4)", "Fisher", "UPPER BOUND", "selection pools that lose posts",
                   "Per team"):
        assert detail not in flat


@pytest.mark.parametrize("audience", ["union", "management", "public"])
def test_axe_finds_no_violation_in_a_pure_baseline(browser: Any, baseline: Path,
                                                    tmp_path: Path, audience: str) -> None:
    """Its tables named by their section's heading (no caption) are still named."""
    from .test_axe import run_axe  # the axe-core runner, in Chromium

    assert run_axe(browser, render(baseline, tmp_path, audience, "html")) == []
