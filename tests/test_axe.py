"""axe-core in Chromium: the HTML briefing of every sample and audience has no violation.

The page is loaded from a file:// URL in the system Chromium (apt package
`chromium`, driven by Playwright), axe-core (vendored in tests/vendor/ with its
licence) is injected, and `axe.run` must report no violation of any rule it runs
by default (WCAG 2.0-2.2 A and AA, and its best practices).  The page is checked at
a desktop width and at a phone's.

Without Chromium the tests skip, except under CI (CI set), where they fail: CI
installs Chromium itself (.ci/run); tests/browser.py says where it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reports.render.html import render_html

from .golden import VALID_SAMPLES
from .test_accessible import AUDIENCES, briefing

AXE = Path(__file__).parent / "vendor" / "axe.min.js"

# `browser` is pytest-playwright's, launched on Debian's Chromium by tests/browser.py
# (shared with the portal's end-to-end test: one Playwright per test session).


def run_axe(browser: Any, html_file: Path, width: int = 1200) -> list[dict[str, Any]]:
    """axe's violations on the page at `html_file`; also fails on any request that is not
    the file itself (the page must be self-contained)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(html_file.as_uri())
        assert requests == [html_file.as_uri()], requests
        page.add_script_tag(content=AXE.read_text("utf-8"))
        result = page.evaluate("async () => await axe.run(document, "
                               "{resultTypes: ['violations']})")
    finally:
        page.close()
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["html"][:200] for n in v["nodes"][:3]]} for v in result["violations"]]


@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("name", VALID_SAMPLES)
def test_axe_finds_no_violation(browser: Any, name: str, audience: str,
                                tmp_path: Path) -> None:
    path = tmp_path / "briefing.html"
    path.write_text(render_html(briefing(name, audience)), "utf-8")
    assert run_axe(browser, path) == []


def test_axe_on_a_phone_and_on_a_hostile_file(browser: Any, tmp_path: Path) -> None:
    from reports import check, summarise
    from reports.documents.briefing import make_briefing
    from reports.documents.template import load_builtin

    from .conftest import make_xlsx
    from .test_brief import rich_rows  # long names, markup in team names, unicode

    report = check(make_xlsx(tmp_path, rich_rows(), name="rich.xlsx"))
    path = tmp_path / "rich.html"
    path.write_text(render_html(make_briefing(report, summarise(report),
                                              load_builtin("union"))), "utf-8")
    assert run_axe(browser, path, width=375) == []


def test_axe_would_catch_a_broken_page(browser: Any, tmp_path: Path) -> None:
    """The check can fail: the same page without its language, and with white text on
    the pale stripe colour, has violations."""
    html = render_html(briefing("coop_working.csv", "union"))
    broken = html.replace('<html lang="en-GB">', "<html>").replace(
        "tbody th { font-weight: normal; }", "tbody th { font-weight: normal; color: #FFFFFF; }")
    path = tmp_path / "broken.html"
    path.write_text(broken, "utf-8")
    assert {v["id"] for v in run_axe(browser, path)} >= {"html-has-lang", "color-contrast"}


@pytest.mark.parametrize("audience", AUDIENCES)
def test_axe_on_a_briefing_with_what_changed(browser: Any, tmp_path: Path,
                                             audience: str) -> None:
    """The "What changed" section (a comparison with an earlier version) too."""
    from .conftest import invoke  # the CLI, as a user runs it
    from .store_helpers import make_version_2, sample

    v1 = tmp_path / "v1.xlsx"
    v1.write_bytes(sample("derbyshire_early_help.xlsx").read_bytes())
    v2 = tmp_path / "v2.xlsx"
    make_version_2(v1, v2)
    out = tmp_path / "changed.html"
    result = invoke("brief", v2, "--compare", v1, "--audience", audience, "--format", "html",
                    "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "What changed" in out.read_text("utf-8")
    assert run_axe(browser, out) == []
