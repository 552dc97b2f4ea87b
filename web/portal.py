"""What every request of the portal uses, for the app factory (`web.app`) and the views
(`web.routes`) alike: the `Portal` object that `create_app` keeps in
`current_app.extensions`, the logged-in user, the client's address and the pages'
folder.  The views get the portal from here, never by importing the app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, request
from flask_login import UserMixin

from reports.services.builds import Builder
from reports.services.checking import Checker
from reports.store.accounts import Accounts
from reports.store.db import Store

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "portal"
EXTENSION = "impact"           # the portal's key in `app.extensions`


@dataclass
class Portal:
    """What every request uses: the store and the portal's tables in it."""

    store: Store
    accounts: Accounts
    checker: Checker
    builder: Builder


class PortalUser(UserMixin):
    """A logged-in user; its id is the session token (a row in the store)."""

    def __init__(self, user: Any, token: str) -> None:
        self.name, self.role, self.token = user.name, user.role, token

    def get_id(self) -> str:
        return self.token


def portal() -> Portal:
    """The portal of the application handling the request."""
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def address() -> str:
    return request.remote_addr or "unknown"
