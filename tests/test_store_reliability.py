"""Issue 9: what the store promises, one test per defect.

Dataset identity is the exact (NFC, trimmed) name; a lost database is refused, not
silently replaced; re-uploading the same bytes repairs a lost copy; a stored CSV is
shown under its own name; a damaged row names itself and stops nothing else; and
`impact store check | backup | restore`.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import inspect

from reports.services import upkeep, users
from reports.services.monthly import Month, run_monthly
from reports.store.accounts import Accounts
from reports.store.db import Store

from . import store_helpers as helpers
from .portal_helpers import PASSWORD
from .store_helpers import DATASET, csv_variant, invoke, sample, sha256

derbyshire_v1 = helpers.derbyshire_v1
derbyshire_v2 = helpers.derbyshire_v2
fresh_store = helpers.fresh_store
backend = helpers.backend          # every test with fresh_store: SQLite, then PostgreSQL
isolated_store_env = helpers.isolated_store_env

LONG = "Derbyshire County Council Children's Services Early Help Restructure 2024 " \
       "(Locality Teams)"


def upload(store: Path, path: Path, dataset: str = DATASET, *extra: str):
    return invoke("upload", path, "--dataset", dataset, "--store", store, *extra)


def names(store: Path) -> list[tuple[str, str, int]]:
    with Store(store) as opened:
        return sorted((d.name, d.slug, d.versions) for d in opened.datasets())


# --------------------------------------------------------------------------
# 1. a dataset is its exact name


@pytest.mark.parametrize("first, second", [
    (f"{LONG} Phase 1", f"{LONG} Phase 2"),         # the same first 80 slug characters
    ("Team Δ", "Team Ω"),                           # no ASCII letters to tell them apart
    ("Derbyshire Early Help", "derbyshire-early-help"),
])
def test_different_names_are_different_datasets(fresh_store: Path, tmp_path: Path,
                                                first: str, second: str) -> None:
    assert upload(fresh_store, csv_variant(tmp_path, 1), first).exit_code == 0
    result = upload(fresh_store, csv_variant(tmp_path, 2), second)
    assert result.exit_code == 0, result.output
    assert f"as version 1 of '{second}'" in result.stdout
    found = names(fresh_store)
    assert sorted(n for n, _, _ in found) == sorted([first, second])
    assert all(count == 1 for _, _, count in found)
    slugs = [s for _, s, _ in found]
    assert len(set(slugs)) == 2, "two datasets share a folder label"
    for name in (first, second):
        history = invoke("history", name, "--store", fresh_store, "--format", "json")
        assert [v["dataset"] for v in json.loads(history.stdout)] == [name]


@pytest.mark.parametrize("name", ["Реструктуризация отдела", "人事部の再編", "إعادة الهيكلة",
                                  "Ελληνικά"])
def test_names_in_any_script_are_accepted(fresh_store: Path, tmp_path: Path,
                                          name: str) -> None:
    result = upload(fresh_store, csv_variant(tmp_path, 1), name)
    assert result.exit_code == 0, result.output
    [(stored, slug, _)] = names(fresh_store)
    assert stored == name
    assert slug and not slug.isascii() and "/" not in slug
    assert invoke("history", name, "--store", fresh_store).exit_code == 0
    assert invoke("summary", "--dataset", name, "--store", fresh_store).exit_code == 0


def test_nfc_and_nfd_spellings_and_spaces_are_one_dataset(fresh_store: Path,
                                                          tmp_path: Path) -> None:
    nfc = "Café Services"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    upload(fresh_store, csv_variant(tmp_path, 1), nfc)
    result = upload(fresh_store, csv_variant(tmp_path, 2), f"  {nfd} ")
    assert result.exit_code == 0
    assert names(fresh_store) == [(nfc, "café-services", 2)]


def test_monthly_gives_names_that_share_a_label_their_own_folders(fresh_store: Path,
                                                                  tmp_path: Path) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1), "Early Help", "--as-of", "2024-03-01")
    upload(fresh_store, csv_variant(tmp_path, 2), "early-help", "--as-of", "2024-03-01")

    def render(report, summary, template, out, **kwargs) -> None:  # no PDF needed here
        out.write(f"%PDF {report.workbook.name}\n%%EOF".encode())

    with Store(fresh_store) as store:
        result = run_monthly(store, tmp_path / "out", Month.parse("2024-03"), render=render)
    assert result.ok, [r.message for r in result.runs]
    folders = sorted(p.name for p in (tmp_path / "out" / "2024-03").iterdir() if p.is_dir())
    assert len(folders) == 2 and "early-help" in folders


def test_an_old_store_with_unnormalised_names_is_migrated(fresh_store: Path,
                                                          tmp_path: Path) -> None:
    nfc = "Café Services"
    upload(fresh_store, csv_variant(tmp_path, 1), nfc)
    # as schema 1 kept it
    helpers.execute(fresh_store, "UPDATE datasets SET name = :name",
                    name=unicodedata.normalize("NFD", nfc))
    helpers.execute(fresh_store, "UPDATE meta SET value = '1' WHERE key = 'schema'")
    result = upload(fresh_store, csv_variant(tmp_path, 2), nfc)
    assert result.exit_code == 0, result.output
    assert "as version 2 of" in result.stdout
    with Store(fresh_store) as store:
        assert store.schema == "3"        # and on to schema 3 (a file may come back)
        assert [d.name for d in store.datasets()] == [nfc]


# --------------------------------------------------------------------------
# 2. a lost database is refused, not replaced by an empty one


@pytest.mark.parametrize("backend, damage", [("sqlite", "missing"), ("sqlite", "empty"),
                                             ("sqlite", "no schema"),
                                             ("postgresql", "no schema")])
def test_a_lost_database_is_refused_while_files_are_stored(fresh_store: Path, tmp_path: Path,
                                                           backend: str, damage: str) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    db = fresh_store / "impact.db"
    if backend == "postgresql":       # the tables dropped, or --db naming another database
        helpers.execute(fresh_store, "DROP TABLE versions, datasets, meta, build_jobs, "
                                     "built_outputs, blob_chunks, blobs")
        assert not db.exists()
    else:
        db.unlink()
    if damage == "empty":
        db.write_bytes(b"")
    elif damage == "no schema" and backend == "sqlite":
        sqlite3.connect(db).close()
    fix = "impact store restore"
    for args in (["datasets"], ["history", DATASET], ["upload", csv_variant(tmp_path, 2),
                                                     "--dataset", DATASET]):
        result = invoke(*args, "--store", fresh_store)
        assert result.exit_code == 1
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert fix in result.stderr and "1 stored file(s)" in result.stderr
        assert "internal error" not in result.stderr
    if backend == "postgresql":
        engine = helpers.database(fresh_store)
        assert inspect(engine).get_table_names() == []
        engine.dispose()
        return
    assert db.exists() == (damage != "missing")
    if db.exists():
        assert sqlite3.connect(db).execute("SELECT name FROM sqlite_master").fetchall() == []


def test_an_unreachable_postgresql_database_is_one_line(pg_server, tmp_path: Path) -> None:
    gone = pg_server.url("no_such_database")
    for args in (["datasets"], ["store", "check"], ["summary", "--dataset", DATASET]):
        result = invoke(*args, "--store", tmp_path / "store", "--db", gone)
        assert result.exit_code == 1, result.output
        [line] = result.stderr.splitlines()
        assert line.startswith("Error: cannot open the store database at "
                               "postgresql+psycopg://") or "no store at" in line, line
        assert "internal error" not in line
    result = invoke("datasets", "--store", tmp_path / "store", "--db", gone)
    assert 'database "no_such_database" does not exist' in result.stderr
    assert "check the --db URL" in result.stderr


def test_a_database_password_is_never_printed(tmp_path: Path) -> None:
    url = "postgresql://impact:s3cret-pw@127.0.0.1:1/impact"     # nothing listens on port 1
    result = invoke("datasets", "--store", tmp_path / "store", "--db", url)
    assert result.exit_code == 1
    assert "s3cret-pw" not in result.output
    assert "postgresql+psycopg://impact:***@127.0.0.1:1/impact" in result.stderr


@pytest.mark.parametrize("url, message", [
    ("mysql://u@h/db", "takes a PostgreSQL URL"),
    ("sqlite:///x.db", "takes a PostgreSQL URL"),
    ("not a url", "is not a database URL"),
    ("postgresql://u@h:5432", "names no database"),
])
def test_a_db_that_is_not_a_postgresql_url_is_a_usage_error(tmp_path: Path, url: str,
                                                            message: str) -> None:
    result = invoke("datasets", "--store", tmp_path / "store", "--db", url)
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_unknown_schema_version_is_refused(fresh_store: Path, tmp_path: Path) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    helpers.execute(fresh_store, "UPDATE meta SET value = '99' WHERE key = 'schema'")
    result = invoke("datasets", "--store", fresh_store)
    assert result.exit_code == 1
    assert "schema version '99'" in result.stderr


# --------------------------------------------------------------------------
# 3. the same bytes again put a lost copy back


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_uploading_the_same_bytes_restores_a_lost_copy(fresh_store: Path, tmp_path: Path,
                                                       damage: str, backend: str) -> None:
    path = csv_variant(tmp_path, 1)
    upload(fresh_store, path)
    stored = fresh_store / "files" / f"{sha256(path)}.csv"
    if damage == "missing":
        stored.unlink()
        if backend == "postgresql":     # the folder is a cache: the database's copy too
            helpers.execute(fresh_store, "DELETE FROM blobs")
    else:
        stored.chmod(0o644)
        stored.write_bytes(b"not the file")
    history = invoke("history", DATASET, "--store", fresh_store)
    marked = "Stored file missing" in history.stdout
    assert marked == (damage == "missing")
    items = json.loads(invoke("history", DATASET, "--store", fresh_store, "--format",
                              "json").stdout)
    assert items[0]["file_missing"] is (damage == "missing")
    result = upload(fresh_store, path)
    assert result.exit_code == 0
    assert "no new version was made" in result.stdout
    assert f"it has been restored from {path.name}" in result.stdout
    assert stored.read_bytes() == path.read_bytes()
    assert invoke("summary", "--dataset", DATASET, "--store", fresh_store).exit_code == 0
    again = upload(fresh_store, path, DATASET, "--format", "json")
    assert json.loads(again.stdout)["repaired"] is False
    assert "Stored file missing" not in invoke("history", DATASET, "--store",
                                               fresh_store).stdout


# --------------------------------------------------------------------------
# 4. a stored CSV is shown under its original name


def test_a_stored_csv_shows_its_own_name_everywhere(fresh_store: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader

    path = tmp_path / "coop_working.csv"
    path.write_bytes(sample("coop_working.csv").read_bytes())
    upload(fresh_store, path)
    digest = sha256(path)
    for fmt in ("text", "json"):
        stored = invoke("validate", "--dataset", DATASET, "--store", fresh_store,
                        "--format", fmt)
        direct = invoke("validate", path, "--format", fmt)
        assert stored.stdout == direct.stdout
        assert f"{digest}.csv" not in stored.stdout and f"'{digest}'" not in stored.stdout
    summary = json.loads(invoke("summary", "--dataset", DATASET, "--store", fresh_store,
                                "--format", "json").stdout)
    assert digest not in json.dumps(summary["source"]["sheets"] if "source" in summary
                                    else summary).replace(f'"sha256": "{digest}"', "")
    monkeypatch.chdir(tmp_path)
    assert invoke("brief", "--dataset", DATASET, "--store", fresh_store, "-o",
                  "b.pdf").exit_code == 0
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "b.pdf").pages)
    assert text.count(digest[:12]) <= 1 and "coop_working" in text   # the SHA-256 row only
    result = invoke("validate", "--dataset", DATASET, "--store", fresh_store, "--annotate",
                    tmp_path / "checked.xlsx")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "checked.xlsx")
    assert not any(digest[:12] in title for title in book.sheetnames)


# --------------------------------------------------------------------------
# 5. one damaged row names itself and stops nothing else


DAMAGE = [("totals", "{not json"), ("as_of", "2024-13-45"), ("sheets", "7"), ("totals", "{}"),
          ("totals", '{"deleted_fte": "x"}'), ("uploaded_at", "yesterday"), ("rows", "many")]
# PostgreSQL's typed columns cannot hold a bad date, number or JSON text: only the damage a
# well-typed value can do is tried there.
TYPED = {("sheets", "7"), ("totals", "{}"), ("totals", '{"deleted_fte": "x"}')}


@pytest.mark.parametrize("backend, column, value",
                         [("sqlite", c, v) for c, v in DAMAGE]
                         + [("postgresql", c, v) for c, v in DAMAGE if (c, v) in TYPED])
def test_a_damaged_row_is_named_and_monthly_goes_on(fresh_store: Path, tmp_path: Path,
                                                    backend: str, column: str,
                                                    value: str) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1), "healthy", "--as-of", "2024-03-01")
    upload(fresh_store, csv_variant(tmp_path, 2), "hurt", "--as-of", "2024-03-01")
    cast = "CAST(:value AS JSON)" if backend == "postgresql" else ":value"
    helpers.execute(fresh_store, f"UPDATE versions SET {column} = {cast} WHERE dataset_id = "
                    f"(SELECT id FROM datasets WHERE name = 'hurt')", value=value)
    for args in (["history", "hurt"], ["datasets"], ["summary", "--dataset", "hurt"]):
        result = invoke(*args, "--store", fresh_store)
        assert result.exit_code == 1, result.output
        assert "internal error" not in result.stderr
        assert "version 1 of dataset 'hurt' is damaged" in result.stderr
        assert column in result.stderr
    assert invoke("history", "healthy", "--store", fresh_store).exit_code == 0
    monthly = invoke("monthly", "--month", "2024-03", "--store", fresh_store, "--out",
                     tmp_path / "out", "--audience", "management")
    assert monthly.exit_code == 1
    assert "internal error" not in monthly.output
    assert "dataset 'hurt' failed" in monthly.stderr
    assert (tmp_path / "out" / "2024-03" / "healthy" / "briefing-management.pdf").is_file()
    check = invoke("store", "check", "--store", fresh_store)
    assert check.exit_code == 1
    assert "version 1 of dataset 'hurt' is damaged" in check.stdout


# --------------------------------------------------------------------------
# 6. impact store check | backup | restore


def test_store_check_names_every_problem(fresh_store: Path, tmp_path: Path,
                                         backend: str) -> None:
    paths = [csv_variant(tmp_path, i) for i in range(3)]
    for path in paths:
        upload(fresh_store, path)
    healthy = invoke("store", "check", "--store", fresh_store)
    assert healthy.exit_code == 0
    assert "healthy" in healthy.stdout and "3 version(s)" in healthy.stdout
    files = fresh_store / "files"
    (files / f"{sha256(paths[0])}.csv").unlink()
    damaged = files / f"{sha256(paths[1])}.csv"
    damaged.chmod(0o644)
    damaged.write_text("changed")
    (files / ("0" * 64 + ".csv")).write_text("an orphan")
    if backend == "postgresql":     # the folder is a cache: lose and damage the database's
        helpers.execute(fresh_store, "DELETE FROM blobs WHERE sha256 = :s", s=sha256(paths[0]))
        helpers.execute(fresh_store, "UPDATE blob_chunks SET data = :d WHERE sha256 = :s",
                        d=b"changed", s=sha256(paths[1]))
    result = invoke("store", "check", "--store", fresh_store)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"version 1 of dataset '{DATASET}'") and "is missing" in line
               for line in lines)
    assert any(line.startswith(f"version 2 of dataset '{DATASET}'") and "sha256" in line
               for line in lines)
    assert any(line.startswith("Note: files/000") for line in lines)
    report = json.loads(invoke("store", "check", "--store", fresh_store, "--format",
                               "json").stdout)
    assert report["healthy"] is False
    assert sorted((p["kind"], p["version"]) for p in report["problems"]) == [
        ("damaged-file", 2), ("missing-file", 1)]
    assert [n["kind"] for n in report["notes"]] == ["orphan-file"]


def another_database(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment for a second store: on PostgreSQL, IMPACT_DB naming a new database
    (one database holds one store's tables)."""
    if backend == "sqlite":
        return {}
    name, url = request.getfixturevalue("pg_server").new_database()
    return {"IMPACT_DB": url}


def test_backup_and_restore_round_trip(fresh_store: Path, tmp_path: Path, backend: str,
                                       request: pytest.FixtureRequest) -> None:
    for i in range(3):
        upload(fresh_store, csv_variant(tmp_path, i), "Команда Δ" if i else DATASET)
    backup = tmp_path / "backup"
    result = invoke("store", "backup", backup, "--store", fresh_store)
    assert result.exit_code == 0, result.output
    manifest = json.loads((backup / "manifest.json").read_text())
    assert len(manifest["files"]) == 3 and manifest["versions"] == 3
    target = tmp_path / "restored"
    other = another_database(backend, request)
    result = invoke("store", "restore", backup, "--store", target, env=other)
    assert result.exit_code == 0, result.output
    with Store(target, url=other.get("IMPACT_DB", "embedded")) as opened:
        assert sorted((d.name, d.slug, d.versions) for d in opened.datasets()) == \
            names(fresh_store)
    assert invoke("store", "check", "--store", target, env=other).exit_code == 0
    # the ids go on after the restored ones: an upload to the restored store is version 2
    result = invoke("upload", csv_variant(tmp_path, 9), "--dataset", DATASET, "--store",
                    target, env=other)
    assert result.exit_code == 0 and "as version 2 of" in result.stdout, result.output
    # a store that is not empty is replaced only with --force
    refused = invoke("store", "restore", backup, "--store", fresh_store)
    assert refused.exit_code == 1 and "--force" in refused.stderr
    expected = names(fresh_store)
    upload(fresh_store, csv_variant(tmp_path, 7), "later")
    assert invoke("store", "restore", backup, "--store", fresh_store, "--force").exit_code == 0
    assert names(fresh_store) == expected


def test_a_damaged_backup_leaves_the_target_as_it_was(fresh_store: Path, tmp_path: Path,
                                                      backend: str,
                                                      request: pytest.FixtureRequest) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    backup = tmp_path / "backup"
    invoke("store", "backup", backup, "--store", fresh_store)
    copy = next((backup / "files").iterdir())
    copy.chmod(0o644)
    copy.write_text("bit rot")
    target = tmp_path / "target"
    other = another_database(backend, request)
    invoke("upload", csv_variant(tmp_path, 2), "--dataset", "other", "--store", target,
           env=other)
    before = helpers.snapshot(target)
    result = invoke("store", "restore", backup, "--store", target, "--force", env=other)
    assert result.exit_code == 1
    assert "does not match the sha256" in result.stderr
    assert helpers.snapshot(target) == before
    listed = invoke("datasets", "--store", target, "--format", "json", env=other)
    assert [d["dataset"] for d in json.loads(listed.stdout)] == ["other"]
    assert [p.name for p in tmp_path.iterdir() if "restore" in p.name] == []


@pytest.mark.parametrize("backend", ["sqlite"])   # PostgreSQL: see the round trip
def test_restore_puts_back_a_lost_database(fresh_store: Path, tmp_path: Path) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    backup = tmp_path / "backup"
    invoke("store", "backup", backup, "--store", fresh_store)
    (fresh_store / "impact.db").unlink()
    assert invoke("datasets", "--store", fresh_store).exit_code == 1
    result = invoke("store", "restore", backup, "--store", fresh_store, "--force")
    assert result.exit_code == 0, result.output
    assert names(fresh_store) == [(DATASET, DATASET, 1)]


def test_backup_to_an_existing_folder_is_refused(fresh_store: Path, tmp_path: Path) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    result = invoke("store", "backup", tmp_path / "taken", "--store", fresh_store)
    assert result.exit_code == 1 and "already exists" in result.stderr


def test_check_of_a_folder_that_is_no_store(tmp_path: Path) -> None:
    result = invoke("store", "check", "--store", tmp_path / "nothing")
    assert result.exit_code == 1
    assert "no store at" in result.stderr
    assert not (tmp_path / "nothing").exists()


def test_upkeep_check_counts(fresh_store: Path, tmp_path: Path) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    result = upkeep.check_store(fresh_store)
    assert (result.healthy, result.datasets, result.versions, result.files_checked) == (
        True, 1, 1, 1)


@pytest.mark.parametrize("manifest", ['{"format": "impact-store-backup", "files": "x", '
                                      '"database": {"sha256": "0"}}',
                                      '{"format": "impact-store-backup", "database": "x"}',
                                      '[1, 2]', "{not json"])
def test_a_damaged_manifest_is_one_line(fresh_store: Path, tmp_path: Path,
                                        manifest: str) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    backup = tmp_path / "backup"
    invoke("store", "backup", backup, "--store", fresh_store)
    (backup / "manifest.json").write_text(manifest)
    result = invoke("store", "restore", backup, "--store", tmp_path / "target")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and "manifest.json" in result.stderr
    assert not (tmp_path / "target").exists()


def test_a_postgresql_backup_restores_into_sqlite_and_back(pg_url: str, tmp_path: Path,
                                                         pg_server) -> None:
    """A backup's database is an SQLite file whichever the store uses: a PostgreSQL store's
    backup restores into an SQLite store, and that store's backup into a new PostgreSQL
    database, with every version, the portal's users and an id sequence that goes on."""
    store = tmp_path / "store"
    for i in range(2):
        assert invoke("upload", csv_variant(tmp_path, i), "--dataset", DATASET, "--store",
                      store, "--db", pg_url).exit_code == 0
    with Store(store, url=pg_url) as opened:
        users.add_user(Accounts(opened), "ann", "hr", PASSWORD, by="a test")
    assert invoke("store", "backup", tmp_path / "b1", "--store", store,
                  "--db", pg_url).exit_code == 0
    assert not (store / "impact.db").exists()           # nothing went to SQLite
    lite = tmp_path / "lite"
    assert invoke("store", "restore", tmp_path / "b1", "--store", lite).exit_code == 0
    assert invoke("store", "backup", tmp_path / "b2", "--store", lite).exit_code == 0
    _, url2 = pg_server.new_database()
    back = tmp_path / "back"
    result = invoke("store", "restore", tmp_path / "b2", "--store", back, "--db", url2)
    assert result.exit_code == 0, result.output
    seen = {}
    for folder, db in ((store, pg_url), (lite, None), (back, url2)):
        with Store(folder, url=db or "embedded") as opened:
            seen[folder.name] = [(v.number, v.sha256, v.totals) for v in opened.versions(DATASET)]
    assert seen["store"] == seen["lite"] == seen["back"] and len(seen["store"]) == 2
    with Store(back, url=url2) as opened:
        assert [u.name for u in Accounts(opened).users()] == ["ann"]
    result = invoke("upload", csv_variant(tmp_path, 5), "--dataset", DATASET, "--store", back,
                    "--db", url2)
    assert result.exit_code == 0 and "as version 3 of" in result.stdout, result.output


def test_backup_of_a_store_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    result = invoke("store", "backup", tmp_path / "b", "--store", tmp_path / "none")
    assert result.exit_code == 1 and "no store at" in result.stderr
    assert not (tmp_path / "none").exists() and not (tmp_path / "b").exists()
