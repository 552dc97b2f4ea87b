"""Debian's Chromium for every browser test, through pytest-playwright's fixtures.

`browser_type_launch_args` (session-scoped) points pytest-playwright at the system
Chromium (`apt-get install -y chromium`; Playwright cannot download its own browser
here), so that the portal's end-to-end test and the axe checks of the HTML briefings
share one Playwright and one browser (two Playwright sessions in one thread cannot
run at once).  Without Chromium the browser tests skip, except under CI (CI set),
where they fail: .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright's launch arguments: Debian's Chromium, not a downloaded one."""
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    return {"executable_path": path, "args": ARGS, "headless": True}
