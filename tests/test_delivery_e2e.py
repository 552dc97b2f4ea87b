"""The portal's Delivery page in a real browser (`impact serve`, Debian's Chromium through
Playwright): an admin adds an address with the page's form and removes it with its button;
axe-core runs on the page empty, with an entry and a recorded message, and must find no
violation.  IMPACT_SCREENSHOTS=1 writes docs/portal-delivery.png."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from reports.services import datasets
from reports.store.db import Store
from reports.store.delivery import SENT, Deliveries
from tests.portal_helpers import AS_OF, DATA

from .test_portal_e2e import (  # noqa: F401  (browser_context_args, server: fixtures)
    ROOT,
    Pages,
    _log_in,
    browser_context_args,
    server,
)

DATASET = "Derbyshire early help"


def test_an_admin_edits_a_delivery_list_in_a_real_browser(server: str, page: Any,  # noqa: F811
                                                          tmp_path: Path) -> None:
    root = tmp_path / "store"                    # the store `server` serves
    with Store(root) as store:
        assert datasets.upload(store, DATA / "derbyshire_early_help.xlsx", DATASET,
                               as_of=AS_OF, by="setup").version is not None
    shots = ROOT / "docs" if os.environ.get("IMPACT_SCREENSHOTS") else tmp_path
    pages = Pages(page, shots)
    _log_in(page, server, "admin")
    page.get_by_role("link", name="Delivery").click()
    page.wait_for_url(f"{server}/delivery")
    pages.check("delivery-empty")

    page.get_by_label("Dataset").select_option(DATASET)
    page.get_by_label("Audience").select_option("union")
    page.get_by_label("E-mail address").fill("branch@example.org")
    page.get_by_role("button", name="Add the address").click()
    page.wait_for_url(f"{server}/delivery")
    table = page.get_by_role("table", name="Who receives each dataset's monthly briefings")
    row = table.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="branch@example.org", exact=True))
    assert "union and public briefings" in row.inner_text()

    # a message as `impact monthly --send` records it, for the "Recent messages" table
    with Store(root) as store:
        deliveries = Deliveries(store)
        deliveries.plan("2024-03", DATASET, "union", "branch@example.org", [],
                        "<test-1@example.org>")
        [waiting] = deliveries.to_send()
        claimed = deliveries.claim(waiting)
        assert claimed is not None
        deliveries.finish(claimed, SENT, "250 2.0.0 Ok: queued as ABC123")
    page.reload()
    assert "250 2.0.0 Ok: queued as ABC123" in page.get_by_role(
        "table", name="Messages recorded, newest first (the last 50 at most)").inner_text()
    pages.check("delivery")

    page.get_by_role("button", name=f"Remove branch@example.org from the union list of "
                                    f"{DATASET}").click()
    page.wait_for_url(f"{server}/delivery")
    assert "removed from the union list" in page.get_by_role("status").inner_text()
    with Store(root) as store:
        assert Deliveries(store).entries() == []
    assert pages.seen == ["delivery-empty", "delivery"]
