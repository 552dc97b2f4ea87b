"""`impact users`: add, list, passwd and remove, with the password read from stdin; the
store keeps only argon2 hashes; every change is in the audit log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import cli as cli_module
from reports.services import users
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests import portal_helpers  # noqa: F401  (cheap argon2 costs for the test run)


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli_module.cli, list(args), input=stdin)
    return result.exit_code, result.output


def test_users_add_list_passwd_remove(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    code, out = run("users", "add", "alice", "--role", "hr", "--password-stdin", "--store",
                    store, stdin="twelve chars ok\n")
    assert code == 0 and "Added alice (hr)" in out
    code, out = run("users", "add", "alice", "--role", "union", "--password-stdin",
                    "--store", store, stdin="another long one\n")
    assert code == 2 and "already a user named 'alice'" in out
    code, out = run("users", "add", "bob", "--role", "union", "--password-stdin", "--store",
                    store, stdin="elevenchars\n")
    assert code == 2 and "at least 12 characters" in out
    code, out = run("users", "add", "bob", "--role", "boss", "--password-stdin", "--store",
                    store, stdin="twelve chars ok\n")
    assert code == 2
    code, out = run("users", "list", "--format", "json", "--store", store)
    assert code == 0 and [(u["name"], u["role"]) for u in json.loads(out)] == [("alice", "hr")]
    with Store(tmp_path / "s") as s:
        accounts = Accounts(s)
        assert users.log_in(accounts, "alice", "twelve chars ok", address="t").user is not None
        code, out = run("users", "passwd", "alice", "--password-stdin", "--store", store,
                        stdin="a new passphrase\n")
        assert code == 0
        assert users.log_in(accounts, "alice", "twelve chars ok", address="t").user is None
        assert users.log_in(accounts, "alice", "a new passphrase", address="t").user is not None
    code, out = run("users", "remove", "alice", "--store", store)
    assert code == 0
    code, out = run("users", "remove", "alice", "--store", store)
    assert code == 2 and "no user named 'alice'" in out
    with sqlite3.connect(tmp_path / "s" / "impact.db") as db:
        dump = "\n".join(db.iterdump())
        actions = [r[0] for r in db.execute("SELECT action FROM portal_audit ORDER BY id")]
    assert "twelve chars ok" not in dump and "a new passphrase" not in dump
    assert actions == ["user-add", "login", "user-passwd", "login-failed", "login",
                       "user-remove"]


def test_the_password_prompt_asks_twice(tmp_path: Path) -> None:
    code, out = run("users", "add", "carol", "--role", "admin", "--store", str(tmp_path / "s"),
                    stdin="long enough pass\nlong enough pass\n")
    assert code == 0 and "Added carol (admin)" in out
    assert "long enough pass" not in out


def test_serve_runs_waitress_on_localhost_by_default(tmp_path: Path, monkeypatch: Any) -> None:
    from web import server  # replaced below: the test records what serve would run

    seen: dict[str, Any] = {}
    monkeypatch.setattr(server, "serve", lambda app, **kw: seen.update(app=app, **kw))
    code, out = run("serve", "--store", str(tmp_path / "s"))
    assert code == 0, out
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 8000)
    app = seen["app"]
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024
    code, out = run("serve", "--behind-proxy", "--port", "8081", "--max-upload-mb", "5",
                    "--store", str(tmp_path / "s"))
    assert code == 0 and seen["port"] == 8081
    assert seen["app"].config["SESSION_COOKIE_SECURE"] is True
    assert seen["app"].config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    assert type(seen["app"].wsgi_app).__name__ == "ProxyFix"
