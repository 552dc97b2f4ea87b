"""The password rules (NIST SP 800-63B): at least 12 characters, not on the shipped list
of common passwords (compared case-insensitively, also with digits or symbols added at
either end), not repetitive or a sequence, not containing the user name; each refusal
names its rule.  For `impact users add/passwd` and the portal's Users page alike."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from reports.services import users
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests.portal_helpers import PASSWORD, csrf, log_in
from tests.test_users_cli import run
from web.app import create_app

GOOD = "kx7#Lm2qPz9w"       # 12 characters, none of the rules


def refused(password: str, name: str | None = "admin") -> str:
    with pytest.raises(users.UserProblem) as e:
        users.check_password(password, name)
    return str(e.value)


def test_twelve_characters_pass_and_eleven_do_not() -> None:
    assert len(GOOD) == 12 and users.check_password(GOOD, "admin") == GOOD
    assert "too short: use at least 12 characters" in refused(GOOD[:11])


def test_the_test_suites_passwords_pass() -> None:
    for name in ("hr", "union", "admin", "alice", "rep2"):
        users.check_password(PASSWORD, name)
    for password in ("twelve chars ok", "another long one", "a new passphrase",
                     "long enough pass", "a much longer passphrase 42"):
        users.check_password(password, "alice")


@pytest.mark.parametrize("password", ["qwerty123456", "QWERTY123456", "1qaz2wsx3edc",
                                      "JustinBieber"])
def test_a_common_password_is_refused_whatever_its_case(password: str) -> None:
    assert "too common: it is on the list of common passwords;" in refused(password)


@pytest.mark.parametrize("password", ["Dragon2024!!", "!!dragon2024!!", "123456monkey"])
def test_a_common_password_with_digits_or_symbols_added_is_refused(password: str) -> None:
    assert "too common" in refused(password) and "digits or symbols added" in refused(password)


def test_the_list_ships_as_package_data() -> None:
    text = resources.files("reports.data").joinpath("common-passwords.txt").read_text("utf-8")
    lines = text.splitlines()
    assert 10_000 <= len(lines) <= 11_000 and lines[:2] == ["123456", "password"]
    assert all(line == line.lower() and line.strip() == line and line for line in lines)
    assert PASSWORD not in lines
    assert any(len(line) >= 12 for line in lines)
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8")
    assert '"reports.data" = ["*.xlsx", "*.csv", "*.md", "*.txt"]' in pyproject


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abcabcabcabc", "123412341234",
                                      "passwordpassword", "Blue7Blue7Blue7"])
def test_a_repetition_is_refused_without_quoting_it(password: str) -> None:
    message = refused(password)
    assert "too repetitive: it is one piece repeated" in message
    assert password not in message.replace("like abcabcabcabc", "")


def test_few_different_characters_are_refused() -> None:
    assert "fewer than 4 different characters" in refused("aabbaabbaabbc")
    users.check_password("aabbaabbaabcd", "admin")           # 4 different: allowed


@pytest.mark.parametrize("password", ["abcdefghijkl", "123456789012", "lkjihgfedcba",
                                      "mnopqrstuvwx", "qwertyuiopas", "0987654321098"])
def test_a_sequence_is_refused(password: str) -> None:
    assert "is a sequence" in refused(password)


def test_a_password_containing_the_user_name_is_refused() -> None:
    message = refused("my name is ALICE, ok", "alice")
    assert "contains the user name" in message
    users.check_password("my name is ALICE, ok", "bob")
    users.check_password("the hr department 7", "hr")     # a name under 3 characters


def test_impact_users_add_and_passwd_apply_the_rules(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    code, out = run("users", "add", "alice", "--role", "hr", "--password-stdin", "--store",
                    store, stdin="Qwerty123456\n")
    assert code == 2 and "too common" in out
    code, out = run("users", "add", "alice", "--role", "hr", "--password-stdin", "--store",
                    store, stdin="alice's long password\n")
    assert code == 2 and "contains the user name" in out
    code, out = run("users", "add", "alice", "--role", "hr", "--password-stdin", "--store",
                    store, stdin=GOOD + "\n")
    assert code == 0
    code, out = run("users", "passwd", "alice", "--password-stdin", "--store", store,
                    stdin="abcabcabcabc\n")
    assert code == 2 and "too repetitive" in out


def test_the_users_page_applies_the_rules(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Store(root) as store:
        users.add_user(Accounts(store), "admin", "admin", PASSWORD, by="setup")
    admin = create_app(root).test_client()
    assert log_in(admin, "admin").status_code == 302
    token = csrf(admin.get("/users").get_data(as_text=True))
    for password, rule in (("123456789012", "is a sequence"), ("Football2024!", "too common"),
                           ("rep2 is my login!", "contains the user name")):
        r = admin.post("/users", data={"csrf_token": token, "name": "rep2", "role": "union",
                                       "password": password})
        page = r.get_data(as_text=True)
        assert r.status_code == 400 and rule in page, (password, page)
    r = admin.post("/users", data={"csrf_token": token, "name": "rep2", "role": "union",
                                   "password": GOOD})
    assert r.status_code == 302 and ">rep2<" in admin.get("/users").get_data(as_text=True)
