"""The login page sends the user back to the page they asked for (only a path on this
site: never another host), and removing a user asks first on a page of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from reports.services import users
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests.portal_helpers import PASSWORD, csrf
from web.app import create_app
from web.routes import safe_next


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    with Store(root) as store:
        accounts = Accounts(store)
        for role in ("admin", "hr", "union"):
            users.add_user(accounts, role, role, PASSWORD, by="setup")
    return root


def log_in_to(client: Any, login_url: str, name: str = "admin") -> Any:
    page = client.get(login_url).get_data(as_text=True)
    return client.post(login_url, data={"name": name, "password": PASSWORD,
                                        "csrf_token": csrf(page)})


# -- next --------------------------------------------------------------------------


def test_login_returns_to_the_page_asked_for(root: Path) -> None:
    client = create_app(root).test_client()
    r = client.get("/users?x=1")
    assert r.status_code == 302
    login_url = r.headers["Location"]
    assert login_url.startswith("/login?next=")
    page = client.get(login_url).get_data(as_text=True)
    assert 'action="/login?next=/users?x%3D1"' in page      # the form keeps it
    r = log_in_to(client, login_url)
    assert r.status_code == 302 and r.headers["Location"] == "/users?x=1"


@pytest.mark.parametrize("target", ["//evil.example", "//evil.example/users",
                                    "https://evil.example", "https://evil.example/users",
                                    "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
                                    "javascript:alert(1)", "evil.example", "///evil.example",
                                    "http:/evil.example", ""])
def test_login_never_redirects_off_the_site(root: Path, target: str) -> None:
    client = create_app(root).test_client()
    r = log_in_to(client, f"/login?next={quote(target, safe='')}")
    assert r.status_code == 302 and r.headers["Location"] == "/datasets"


def test_what_counts_as_a_same_site_path() -> None:
    assert safe_next("/datasets/derbyshire") == "/datasets/derbyshire"
    assert safe_next("/audit?page=2") == "/audit?page=2"
    for bad in (None, "", "//x", "/\\x", "https://x/", "x/y", "/a\nb", "/a\x7fb"):
        assert safe_next(bad) is None, bad


# -- removing a user -----------------------------------------------------------------


def test_removing_a_user_asks_first_on_its_own_page(root: Path) -> None:
    admin = create_app(root).test_client()
    assert log_in_to(admin, "/login").status_code == 302
    listing = admin.get("/users").get_data(as_text=True)
    assert 'href="/users/hr/remove"' in listing
    assert 'href="/users/admin/remove"' not in listing            # not yourself
    r = admin.get("/users/hr/remove")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "<h1>Remove hr?</h1>" in page
    assert 'method="post" action="/users/hr/remove"' in page
    assert 'name="csrf_token"' in page and 'href="/users"' in page       # the cancel link
    assert 'href="/static/portal.css"' in page                           # the site's style
    assert ">hr<" in admin.get("/users").get_data(as_text=True)         # nothing removed yet
    with Store(root) as store:
        assert Accounts(store).user("hr") is not None
    assert admin.post("/users/hr/remove", data={}).status_code == 400    # no CSRF token
    r = admin.post("/users/hr/remove", data={"csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"] == "/users"
    with Store(root) as store:
        assert Accounts(store).user("hr") is None
    assert "User &#39;hr&#39; removed." in admin.get("/users").get_data(as_text=True)


def test_the_confirmation_page_for_nobody_or_yourself(root: Path) -> None:
    admin = create_app(root).test_client()
    assert log_in_to(admin, "/login").status_code == 302
    assert admin.get("/users/nobody/remove").status_code == 404
    r = admin.get("/users/admin/remove")
    assert r.status_code == 302 and r.headers["Location"] == "/users"
    union = create_app(root).test_client()
    assert log_in_to(union, "/login", "union").status_code == 302
    assert union.get("/users/hr/remove").status_code == 403
