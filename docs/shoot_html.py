"""Take docs/briefing-html.png: the top of the Derbyshire sample's public HTML briefing,
as Chromium (headless, driven by Playwright) shows it at a laptop's width.

    .venv/bin/python docs/shoot_html.py     # needs the system chromium (apt-get install chromium)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "briefing.html"
        subprocess.run([str(Path(sys.executable).with_name("impact")), "brief",
                        str(ROOT / "data" / "derbyshire_early_help.xlsx"), "--audience",
                        "public", "--format", "html", "--reproducible", "-o", str(html)],
                       check=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 1500})
            page.goto(html.as_uri())
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = false)")
            page.screenshot(path=str(ROOT / "docs" / "briefing-html.png"))
            browser.close()


if __name__ == "__main__":
    main()
