"""Helpers for the portal tests: a store with datasets and one user of each role, and
logging in through the real login form (with its CSRF token)."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any

from reports.services import datasets, users
from reports.store.accounts import Accounts
from reports.store.db import Store

from .conftest import make_xlsx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
PASSWORD = "correct horse battery staple"
ROLES = ("hr", "union", "admin")
AS_OF = date(2024, 3, 1)
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

os.environ.setdefault(users.CHEAP_HASH_ENV, "1")


def csrf(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def make_store(root: Path) -> dict[str, str]:
    """A store with the Derbyshire sample (one version), the co-op sample (two versions:
    the xlsx, then the same rows as CSV), and a tiny dataset whose public briefing fails
    the audit; users hr, union and admin.  Returns dataset name -> slug."""
    slugs = {}
    with Store(root) as store:
        for name, files in (("Derbyshire early help", ["derbyshire_early_help.xlsx"]),
                            ("Co-op working", ["coop_working.xlsx", "coop_working.csv"])):
            for f in files:
                r = datasets.upload(store, DATA / f, name, as_of=AS_OF, by="setup")
                assert r.version is not None, r.report.to_dict()
                slugs[name] = r.version.slug
        tiny = root.parent / "tiny.xlsx"
        write_rows(tiny, ["Team", "Job title", "Grade", "FTE", "Posts", "Status"],
                   [["A", "Clerk", "G4", 1, 1, "Deleted"], ["A", "Officer", "G5", 1, 1,
                                                             "Retained"]])
        r = datasets.upload(store, tiny, "Tiny", as_of=AS_OF, by="setup")
        assert r.version is not None
        slugs["Tiny"] = r.version.slug
        accounts = Accounts(store)
        for role in ROLES:
            users.add_user(accounts, role, role, PASSWORD, by="setup")
    return slugs


def write_rows(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """A one-sheet workbook ("Posts") at `path`: conftest's make_xlsx, by path."""
    return make_xlsx(path.parent, [header, *rows], name=path.name)


def log_in(client: Any, name: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": csrf(page.get_data(as_text=True))})


def store_state(root: Path) -> tuple[Any, ...]:
    """What an upload may change: every version row and the stored files."""
    with Store(root) as store:
        _, versions, damaged = store.scan()
        return (tuple((v.dataset, v.number, v.sha256) for v in versions), tuple(damaged),
                tuple(sorted(p.name for p in (root / "files").iterdir())))
