"""Many portal servers, one PostgreSQL store (issue 29): what a server used to keep only in
its own folder (an upload held for the mapping step, the datasets' profiles, their
template overrides) is in the database too, so that a request may land on any server,
and a server's folder may be deleted at any time (`reports.store.shared`).

"Servers" here are two Flask apps (`create_app`) with two separate folders on one
throwaway PostgreSQL database (tests/pg.py), and Stores opened on further folders: the
same code `impact serve` runs, without its processes.  Nothing waits on a clock: an
upload's age is set in the database, a file's by `os.utime`."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from reports.services import datasets, migrate, monthly, upkeep, uploads, users
from reports.services.profiles import PROFILES_DIR, profile_of, save_profile
from reports.services.source import HowToRead
from reports.store import shared
from reports.store.accounts import Accounts
from reports.store.db import EMBEDDED, Store
from tests.conftest import make_csv, make_xlsx
from tests.portal_helpers import DATA, PASSWORD, log_in
from tests.test_portal_mapping import choose, field_index, form_of, headline, upload
from tests.test_read_choices import odd_rows
from tests.test_uploads import GOOD
from web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2024, 3, 1)


def _open(folder: Path, url: str) -> Store:
    return Store(folder, url=url, lock=None)


def _client(folder: Path, url: str) -> Any:
    return create_app(folder, db=url).test_client()


def _move_cookies(src: Any, dst: Any) -> None:
    """What a browser sends: the same cookies, whichever server answers."""
    for name in ("impact_session",):
        cookie = src.get_cookie(name)
        if cookie is not None:
            dst.set_cookie(cookie.key, cookie.value)


def _hold(store: Store, path: Path, dataset: str = "Chart") -> uploads.Held:
    with open(path, "rb") as fh:
        return uploads.hold(store, fh, path.name, dataset, as_of=AS_OF, note="n", user="hr")


def test_a_mapping_started_on_one_server_is_finished_on_another(tmp_path, pg_url):
    a, b, setup = tmp_path / "a", tmp_path / "b", tmp_path / "setup"
    with _open(setup, pg_url) as store:
        users.add_user(Accounts(store), "hr", "hr", PASSWORD, by="setup")
    on_a, on_b = _client(a, pg_url), _client(b, pg_url)
    assert log_in(on_a, "hr").status_code == 302

    page = upload(on_a, make_xlsx(tmp_path, odd_rows(), name="chart.xlsx"), "Chart")
    assert "Find the header row" in page                      # held on A
    held = next((a / uploads.PENDING).iterdir())
    assert stat.S_IMODE(held.stat().st_mode) == 0o700
    form = form_of(page)
    answers = {f"field-{field_index(form, h)}": f for h, f in
               (("Section", "team"), ("Pay level", "grade"), ("Hours share", "fte"),
                ("Plan", "status"), ("Month", "ignore"))}

    # the first answers go to B, whose folder has never seen this upload
    _move_cookies(on_a, on_b)
    status, page = choose(on_b, page, **answers)
    assert status == 200 and "Match the status words" in page, page[:2000]
    copy = b / uploads.PENDING / held.name
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in held.iterdir())
    for path in copy.iterdir():                               # owner-only, as on A
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(copy.stat().st_mode) == 0o700

    # ... the last to A, whose folder is deleted meanwhile (its copy is stale anyway)
    shutil.rmtree(a)
    _move_cookies(on_b, on_a)
    form = form_of(page)
    words = {form.values[k]: k.replace("word", "status") for k in form.values
             if k.startswith("word-")}
    status, page = choose(on_a, page, **{words["stays"]: "retained",
                                         words["goes"]: "deleted"})
    assert status == 200 and "0.5 of" in headline(page), page[:2000]

    with _open(tmp_path / "third", pg_url) as store:
        assert [v.number for v in store.versions("Chart")] == [1]
        assert shared.entries(store, shared.HELD, held.name) == {}    # stored: gone
        how = profile_of(store, "Chart")                 # saved through A, read here
        assert how is not None and how.header_row == 3 and "Month=ignore" in how.mapping
    assert uploads.find(_open(b, pg_url), held.name, "hr") is None
    assert not copy.exists()                             # B's stale copy went with it

    # the profile A saved reads B's next file of that layout: no mapping step there
    rows = odd_rows()
    rows[-1] = [*rows[-1][:3], "0.25", *rows[-1][4:]]
    page = upload(on_b, make_xlsx(tmp_path, rows, name="chart2.xlsx"), "Chart")
    assert "Find the header row" not in page and "Match the status words" not in page
    with _open(setup, pg_url) as store:
        assert [v.number for v in store.versions("Chart")] == [1, 2]


def test_a_held_upload_discarded_or_expired_anywhere_is_gone_everywhere(tmp_path, pg_url):
    a, b = _open(tmp_path / "a", pg_url), _open(tmp_path / "b", pg_url)
    with a, b:
        held = _hold(a, make_csv(tmp_path, [GOOD, ["A", "B", "G1", "1", "Deleted"]]))
        found = uploads.find(b, held.token, "hr")
        assert found is not None and found.path.read_bytes() == held.path.read_bytes()
        assert uploads.find(b, held.token, "union") is None          # another's: no
        uploads.discard(found)
        assert uploads.find(a, held.token, "hr") is None
        assert not held.folder.exists()

        # an invalid file: its annotated copy and findings are seen on the other server
        broken = _hold(a, DATA / "broken_example.xlsx", "Broken")
        assert uploads.check_and_store(a, broken, by="hr").outcome == uploads.INVALID
        there = uploads.find(b, broken.token, "hr")
        assert there is not None
        assert there.annotated() is not None and there.findings_file() is not None
        assert there.findings_file().read_bytes() == broken.findings_file().read_bytes()

        # expiry: an hour with nothing written, wherever the next upload is held
        with a.engine.begin() as conn:
            conn.execute(update(shared.files_t).where(shared.files_t.c.key == broken.token)
                         .values(updated_at=shared.now() - timedelta(
                             seconds=2 * uploads.PENDING_KEEP_S)))
        kept = _hold(b, make_csv(tmp_path, [GOOD, ["A", "B", "G1", "1", "Retained"]]))
        assert uploads.find(a, broken.token, "hr") is None
        assert not broken.folder.exists()
        assert uploads.find(a, kept.token, "hr") is not None      # a fresh one stays


def test_profiles_and_templates_survive_a_deleted_folder_and_reach_every_server(
        tmp_path, pg_url):
    a, b = tmp_path / "a", tmp_path / "b"
    with _open(a, pg_url) as store:
        made = datasets.upload(store, make_csv(tmp_path, [GOOD, ["A", "B", "G1", "1",
                                                                 "Deleted"]]),
                               "Team", as_of=AS_OF, by="hr", note="", how=HowToRead())
        assert made.version is not None
        slug = store.slug("Team")
        save_profile(store, "Team", HowToRead(default_status="retained"))
        override = a / monthly.TEMPLATES_DIR / slug / "union.toml"
        override.parent.mkdir(parents=True)
        text = (ROOT / "templates" / "union.toml").read_text("utf-8")
        override.write_text(text.replace("\n", "\n# for Team\n", 1), "utf-8")
        _, digest = monthly.Audience("union").template_for(store, slug)   # placed by hand
        assert digest == hashlib.sha256(override.read_bytes()).hexdigest()
    shutil.rmtree(a)                       # A's folder, deleted: the database has them
    with _open(b, pg_url) as store:
        assert profile_of(store, "Team") == HowToRead(default_status="retained")
        assert (b / PROFILES_DIR / f"{slug}.toml").is_file()
        assert monthly.Audience("union").template_for(store, slug)[1] == digest
        cached = b / monthly.TEMPLATES_DIR / slug / "union.toml"
        assert stat.S_IMODE(cached.stat().st_mode) == 0o600
        # edited by hand in B's folder after: B's edit is put into the database
        cached.write_text(text.replace("\n", "\n# edited on B\n", 1), "utf-8")
        later = cached.stat().st_mtime + 5
        os.utime(cached, (later, later))
        edited = monthly.Audience("union").template_for(store, slug)[1]
        assert edited == hashlib.sha256(cached.read_bytes()).hexdigest() != digest
        save_profile(store, "Team", HowToRead(default_status="deleted"))
    with _open(tmp_path / "c", pg_url) as store:           # A again, a new folder
        assert profile_of(store, "Team") == HowToRead(default_status="deleted")
        assert monthly.Audience("union").template_for(store, slug)[1] == edited


def test_backup_restore_and_migrate_carry_profiles_and_templates(tmp_path, pg_url,
                                                                 pg_server):
    def fill(store: Store) -> str:
        datasets.upload(store, make_csv(tmp_path, [GOOD, ["A", "B", "G1", "1", "Deleted"]]),
                        "Team", as_of=AS_OF, by="hr", note="", how=HowToRead())
        save_profile(store, "Team", HowToRead(default_status="retained"))
        slug = store.slug("Team")
        override = store.root / monthly.TEMPLATES_DIR / slug / "union.toml"
        override.parent.mkdir(parents=True)
        shutil.copyfile(ROOT / "templates" / "union.toml", override)
        with open(override, "a", encoding="utf-8") as fh:
            fh.write("# Team's own\n")
        monthly.Audience("union").template_for(store, slug)
        return hashlib.sha256(override.read_bytes()).hexdigest()

    def carried(folder: Path, url: str, digest: str) -> None:
        with _open(folder, url) as store:
            assert profile_of(store, "Team") == HowToRead(default_status="retained")
            slug = store.slug("Team")
            assert monthly.Audience("union").template_for(store, slug)[1] == digest

    # backup of a PostgreSQL store, restored into another database with a new folder
    with _open(tmp_path / "pg", pg_url) as store:
        digest = fill(store)
        upkeep.backup_store(store, tmp_path / "backup")
    name, other = pg_server.new_database()
    try:
        upkeep.restore_store(tmp_path / "backup", tmp_path / "restored", db=other)
        carried(tmp_path / "restored2", other, digest)
    finally:
        pg_server.drop_database(name)

    # an SQLite store's profile and template files, moved into PostgreSQL
    with Store(tmp_path / "lite", url=EMBEDDED) as store:
        lite = fill(store)
    name, target = pg_server.new_database()
    try:
        migrate.migrate_store(tmp_path / "lite", target)
        carried(tmp_path / "moved", target, lite)
    finally:
        pg_server.drop_database(name)


def _own_template_cycle(tmp_path: Path, store_dir: Path, db: tuple[str, ...],
                        other: Path | None) -> None:
    """`impact dataset-template` set, show, a refused file, remove, on one store (and its
    effect seen through `other`, a second folder on the same database, if given)."""
    from tests.conftest import invoke

    made = invoke("upload", make_csv(tmp_path, [GOOD, ["A", "B", "G1", "1", "Deleted"]]),
                  "--dataset", "Team", "--store", store_dir, *db, "--as-of", "2024-03-01")
    assert made.exit_code == 0, made.output
    mine = tmp_path / "mine.toml"
    text = (ROOT / "templates" / "union.toml").read_text("utf-8")
    mine.write_text(text.replace("\n", "\n# ours\n", 1), "utf-8")
    builtin = hashlib.sha256((ROOT / "templates" / "union.toml").read_bytes()).hexdigest()

    def used(folder: Path) -> str:
        with Store(folder, url=db[1] if db else EMBEDDED, lock=None) as store:
            return monthly.Audience("union").template_for(store, store.slug("Team"))[1]

    got = invoke("dataset-template", "set", "Team", "union", mine, "--store", store_dir, *db)
    assert got.exit_code == 0 and "now uses" in got.stderr, got.output
    for folder in (store_dir, *([other] if other else [])):
        assert used(folder) == hashlib.sha256(mine.read_bytes()).hexdigest()
    shown = invoke("dataset-template", "show", "Team", "union", "--store", other or store_dir,
                   *db)
    assert shown.exit_code == 0 and shown.stdout == mine.read_text("utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text("small_number_threshold = -3\n", "utf-8")
    refused = invoke("dataset-template", "set", "Team", "union", bad, "--store", store_dir,
                     *db)
    assert refused.exit_code == 1 and len(refused.stderr.splitlines()) == 1, refused.output
    assert used(store_dir) == hashlib.sha256(mine.read_bytes()).hexdigest()   # unchanged
    gone = invoke("dataset-template", "remove", "Team", "union", "--store", other or store_dir,
                  *db)
    assert gone.exit_code == 0 and "now uses the built-in" in gone.stderr, gone.output
    for folder in (store_dir, *([other] if other else [])):
        assert used(folder) == builtin
    again = invoke("dataset-template", "remove", "Team", "union", "--store", store_dir, *db)
    assert again.exit_code == 0 and "already uses the built-in" in again.stderr
    unknown = invoke("dataset-template", "show", "Nobody", "union", "--store", store_dir, *db)
    assert unknown.exit_code == 1 and "no dataset named 'Nobody'" in unknown.stderr


def test_a_datasets_own_template_is_set_and_removed_on_sqlite(tmp_path):
    _own_template_cycle(tmp_path, tmp_path / "store", (), None)


def test_a_datasets_own_template_set_on_one_server_is_removed_on_another(tmp_path, pg_url):
    """On PostgreSQL deleting the file would bring it back from the database: `remove`
    takes it out of the database, so every server goes back to the built-in one."""
    _own_template_cycle(tmp_path, tmp_path / "a", ("--db", pg_url), tmp_path / "b")
