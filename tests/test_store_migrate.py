"""`impact store migrate --to URL`: a SQLite store moved into an empty PostgreSQL
database (tables, originals, the portal's secret key), checked, with the SQLite store
left as it was.  Uses the throwaway PostgreSQL server of tests/pg.py (under CI a server
that cannot start fails the test)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from reports.services import users
from reports.store import transfer
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests.portal_helpers import PASSWORD, log_in
from web.app import create_app

from . import store_helpers as helpers
from .store_helpers import DERBYSHIRE, invoke, make_version_2, run, sample, sha256, snapshot

isolated_store_env = helpers.isolated_store_env

_LINK = re.compile(r'href="(/datasets/[^"/]+/v\d+/[^"]+)"')
# dataset -> how many posts each later version deletes (version 1: the sample itself)
PLAN = {"Alpha": [0, 3], "Beta": [0, 5, 7], "Gamma": [2]}


def _store_with_three_datasets(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    """A SQLite store: three datasets of one to three versions each, and a portal user.
    Returns the store and each dataset's files' sha256s, in version order."""
    root = tmp_path / "store"
    original = sample(DERBYSHIRE)
    shas: dict[str, list[str]] = {}
    for name, changes in PLAN.items():
        for i, n in enumerate(changes):
            path = original
            if n:
                path = tmp_path / f"{name}-{i}.xlsx"
                make_version_2(original, path, n=n)
            r = invoke("upload", path, "--dataset", name, "--store", root)
            assert r.exit_code == 0, r.output + r.stderr
            shas.setdefault(name, []).append(sha256(path))
    with Store(root) as store:
        users.add_user(Accounts(store), "hr", "hr", PASSWORD, by="setup")
    return root, shas


def _summary(root: Path, name: str, number: int, *db: str) -> dict[str, Any]:
    r = invoke("summary", "--dataset", name, "--version", number, "--format", "json",
               "--store", root, *db)
    assert r.exit_code == 0, r.output + r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def _portal_urls(client: Any) -> list[str]:
    """Every dataset page the portal lists, and the outputs of versions each links to."""
    listing = client.get("/datasets").get_data(as_text=True)
    pages = sorted(set(re.findall(r'href="(/datasets/[^"/]+)"', listing)))
    urls = list(pages)
    for page in pages:
        urls += sorted(set(_LINK.findall(client.get(page).get_data(as_text=True))))[:2]
    return urls


def test_a_sqlite_store_moves_to_postgresql_whole(tmp_path: Path, pg_server: Any) -> None:
    root, shas = _store_with_three_datasets(tmp_path)
    before = {(name, n): _summary(root, name, n)
              for name, changes in PLAN.items() for n in range(1, len(changes) + 1)}
    old = create_app(root).test_client()
    assert log_in(old, "hr").status_code == 302
    urls = _portal_urls(old)
    assert len([u for u in urls if "/v" in u]) >= 3, urls     # the test sees outputs too
    session = old.get_cookie("impact_session")
    assert session is not None
    untouched = snapshot(root)
    _, url = pg_server.new_database()

    r = invoke("store", "migrate", "--to", url, "--store", root)

    assert r.exit_code == 0, r.output + r.stderr
    assert f"--db {url}" in r.stdout.splitlines()[-1]
    for name in PLAN:                                         # a progress line per dataset
        assert f"'{name}'" in r.stderr
    assert snapshot(root) == untouched                        # the source only read
    # the originals are in the database, named by their own sha256 (worked out here)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            held = {row[0] for row in conn.execute(text("SELECT sha256 FROM blobs"))}
            rows = {(row[0], row[1]) for row in conn.execute(text(
                "SELECT d.name, v.sha256 FROM versions v JOIN datasets d "
                "ON d.id = v.dataset_id"))}
    finally:
        engine.dispose()
    assert held == {s for group in shas.values() for s in group}
    assert rows == {(name, s) for name, group in shas.items() for s in group}

    cache = tmp_path / "new-server"          # a new, empty folder: every original read back
    cache.mkdir()
    check = invoke("store", "check", "--store", cache, "--db", url, "--format", "json")
    assert check.exit_code == 0, check.output
    result = json.loads(check.stdout)
    assert result["healthy"] and result["datasets"] == len(PLAN)
    assert result["versions"] == result["files_checked"] == sum(map(len, PLAN.values()))
    for (name, n), figures in before.items():
        assert _summary(cache, name, n, "--db", url) == figures, (name, n)

    fresh = tmp_path / "another-server"
    fresh.mkdir()
    new = create_app(fresh, db=url).test_client()
    new.set_cookie("impact_session", session.value)          # signed in on the SQLite portal
    for path in urls:
        assert new.get(path).status_code in (200, 202), path
    (tmp_path / "third-server").mkdir()
    again = create_app(tmp_path / "third-server", db=url).test_client()
    assert log_in(again, "hr").status_code == 302     # the user and password moved too
    assert again.get(urls[0]).status_code == 200


def test_a_database_that_holds_a_store_is_refused_and_left_alone(
        tmp_path: Path, pg_server: Any) -> None:
    root, _ = _store_with_three_datasets(tmp_path)
    _, url = pg_server.new_database()
    other = tmp_path / "other"
    r = invoke("upload", sample(DERBYSHIRE), "--dataset", "Theirs", "--store", other,
               "--db", url)
    assert r.exit_code == 0, r.output + r.stderr
    engine = create_engine(url)

    def state() -> list[Any]:
        with engine.connect() as conn:
            return [sorted(conn.execute(text(f"SELECT * FROM {t}")).all(), key=repr)
                    for t in ("meta", "datasets", "versions", "blobs", "blob_chunks")]

    try:
        before, untouched = state(), snapshot(root)
        r = invoke("store", "migrate", "--to", url, "--store", root)
        assert r.exit_code == 1
        assert r.stderr.count("\n") == 1 and "already holds a store" in r.stderr
        assert state() == before
        assert snapshot(root) == untouched
    finally:
        engine.dispose()


def _empty(url: str) -> bool:
    """The database holds no store: no store id, no version, no original."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(conn.dialect.get_table_names(conn))
            blobs = (conn.execute(text("SELECT count(*) FROM blobs")).scalar()
                     if "blobs" in tables else 0)
    finally:
        engine.dispose()
    return transfer.store_id_in(url) is None and transfer.versions_in(url) == 0 and blobs == 0


def test_a_migration_killed_or_failing_midway_leaves_the_database_empty(
        tmp_path: Path, pg_server: Any) -> None:
    root, _ = _store_with_three_datasets(tmp_path)
    untouched = snapshot(root)
    _, url = pg_server.new_database()
    # killed (SIGKILL: no clean-up runs) with two datasets' originals written
    done = run(tmp_path, "store", "migrate", "--to", url, "--store", root,
               IMPACT_FAULT="migrate.copying#2:die")
    assert done.returncode == -9, done.stderr
    assert "'Beta'" in done.stderr                    # it was midway
    assert _empty(url)
    assert snapshot(root) == untouched
    # failing on the third dataset's original, damaged in the store since its upload
    with Store(root, create=False) as store:
        gamma = store.version("Gamma")
    damaged = root / "files" / gamma.stored_name
    damaged.chmod(0o600)
    damaged.write_bytes(damaged.read_bytes() + b"x")
    r = invoke("store", "migrate", "--to", url, "--store", root)
    assert r.exit_code == 1 and "damaged" in r.stderr, r.stderr
    assert _empty(url)
    # killed after the COMMIT, before its check: the whole store is there; a second
    # migration is refused, and impact store check finds it healthy
    damaged.write_bytes(damaged.read_bytes()[:-1])
    done = run(tmp_path, "store", "migrate", "--to", url, "--store", root,
               IMPACT_FAULT="migrate.committed:die")
    assert done.returncode == -9, done.stderr
    assert not _empty(url)
    assert invoke("store", "migrate", "--to", url, "--store", root).exit_code == 1
    (tmp_path / "cache").mkdir()
    assert invoke("store", "check", "--store", tmp_path / "cache", "--db", url).exit_code == 0


def test_a_copy_that_fails_its_check_is_emptied_again(tmp_path: Path, pg_server: Any,
                                                      monkeypatch: Any) -> None:
    from reports.services import migrate, upkeep

    root, _ = _store_with_three_datasets(tmp_path)
    _, url = pg_server.new_database()
    seen: list[int] = []

    def failing(store: Store) -> upkeep.CheckResult:
        result = upkeep.check_open(store)
        seen.append(result.versions)                 # it checked the committed copy
        result.problems.append(upkeep.Problem("made up for the test"))
        return result

    monkeypatch.setattr(migrate, "check_open", failing)
    r = invoke("store", "migrate", "--to", url, "--store", root)
    assert r.exit_code == 1 and "made up for the test" in r.stderr, r.stderr
    assert seen == [sum(map(len, PLAN.values()))]
    assert _empty(url)
