"""Issue 24: a store never hides, merges or misreports its history.

Nothing is created by accident; a database that has lost its versions is refused as
damaged (and `store check` names what it still holds); a store has an id, in its
database and in its folder, and two that differ are refused; monthly's output folder
belongs to one store, and last month's version is found by id and sha256; store paths
with URL characters stay paths; `store check` recomputes saved totals.  Each test
that uses `fresh_store` runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reports.services import upkeep
from reports.services.monthly import Month, run_monthly
from reports.store.db import Store

from . import store_helpers as helpers
from .store_helpers import DATASET, csv_variant, invoke, sample

fresh_store = helpers.fresh_store
backend = helpers.backend
isolated_store_env = helpers.isolated_store_env
derbyshire_v1 = helpers.derbyshire_v1


def upload(store: Path, path: Path, dataset: str = DATASET, *extra: str):
    result = invoke("upload", path, "--dataset", dataset, "--store", store, *extra)
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and "internal error" not in line
    return line


def fake_render(report, summary, template, out, **kwargs) -> None:   # no PDF needed here
    out.write(f"%PDF {report.workbook.name}\n%%EOF".encode())


# --------------------------------------------------------------------------
# nothing is created by accident


@pytest.mark.parametrize("args", [
    ["datasets"], ["history", DATASET], ["monthly", "--month", "2024-03"],
    ["summary", "--dataset", DATASET], ["store", "check"], ["store", "backup", "BACKUP"],
    ["profile", "show", DATASET], ["users", "list"],
    ["compare", "--dataset", DATASET],
])
def test_a_command_on_a_missing_store_creates_nothing(fresh_store: Path, tmp_path: Path,
                                                      args: list[str]) -> None:
    args = [str(tmp_path / "b") if a == "BACKUP" else a for a in args]
    result = invoke(*args, "--store", fresh_store)
    line = one_line_error(result)
    assert "no store at" in line
    assert not fresh_store.exists()


def test_only_upload_users_add_and_monthly_create_say_they_made_a_store(
        fresh_store: Path, tmp_path: Path) -> None:
    result = upload(fresh_store, csv_variant(tmp_path, 1))
    assert f"Created a new store at {fresh_store}" in result.stderr
    again = upload(fresh_store, csv_variant(tmp_path, 2))
    assert "Created" not in again.stderr
    if helpers.os.environ.get("IMPACT_DB"):
        return      # one database, one store: a second folder on it is refused (above)
    from click.testing import CliRunner

    import cli as cli_module

    users_store = tmp_path / "users-store"
    added = CliRunner().invoke(cli_module.cli, ["users", "add", "alice", "--role", "hr",
                                                "--password-stdin", "--store", str(users_store)],
                               input="correct horse battery staple 9\n")
    assert added.exit_code == 0, added.output
    assert f"Created a new store at {users_store}" in added.stderr
    other = tmp_path / "monthly-store"
    made = invoke("monthly", "--month", "2024-03", "--store", other, "--create",
                  "--out", tmp_path / "out")
    assert made.exit_code == 0 and f"Created a new store at {other}" in made.stderr


# --------------------------------------------------------------------------
# schema completeness


@pytest.mark.parametrize("damage", [
    "DROP TABLE versions",
    "DELETE FROM versions",
    "DELETE FROM versions; DELETE FROM datasets",
])
def test_a_store_that_lost_its_versions_is_refused_as_damaged(fresh_store: Path,
                                                              tmp_path: Path,
                                                              damage: str) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    upload(fresh_store, csv_variant(tmp_path, 2))
    for statement in damage.split("; "):
        helpers.execute(fresh_store, statement)
    for args in (["datasets"], ["upload", csv_variant(tmp_path, 3), "--dataset", DATASET]):
        line = one_line_error(invoke(*args, "--store", fresh_store))
        assert "damaged" in line and "2 stored original(s)" in line
    check = invoke("store", "check", "--store", fresh_store)
    assert check.exit_code == 1
    for sha in (helpers.sha256(csv_variant(tmp_path, i)) for i in (1, 2)):
        assert f"files/{sha}.csv is a stored original" in check.stdout
    assert "healthy" not in check.stdout
    helpers.execute(fresh_store, "SELECT 1")    # the damage was not repaired by recreating
    engine = helpers.database(fresh_store)
    try:
        from sqlalchemy import inspect
        if "DROP" in damage:
            assert "versions" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------
# identity


def test_a_second_folder_on_one_postgresql_database_is_its_cache(pg_url: str, tmp_path: Path,
                                                                 monkeypatch) -> None:
    """On PostgreSQL the database holds the whole store (originals too): a new, empty
    folder is taken as one more server's cache of it, given its id, and sees and adds to
    the same history; a folder that carries another store's id is still refused."""
    monkeypatch.setenv("IMPACT_DB", pg_url)
    first, second = tmp_path / "first", tmp_path / "second"
    assert "Created a new store" in upload(first, csv_variant(tmp_path, 1)).stderr
    second.mkdir()
    result = invoke("upload", csv_variant(tmp_path, 2), "--dataset", DATASET, "--store", second)
    assert result.exit_code == 0, result.output
    assert "Created a new store" not in result.stderr      # a cache of the existing one
    assert (second / "store-id").read_text() == (first / "store-id").read_text()
    for folder in (first, second):
        with Store(folder, create=False) as store:
            versions = store.versions(DATASET)
            assert [v.number for v in versions] == [1, 2]
            # each original reads back as its bytes, in either folder (fetched if need be)
            shas = [helpers.sha256(store.path_of(v)) for v in versions]
            assert shas == [helpers.sha256(csv_variant(tmp_path, i)) for i in (1, 2)]
    other = tmp_path / "other"
    monkeypatch.delenv("IMPACT_DB")
    upload(other, csv_variant(tmp_path, 3))          # a store of its own (SQLite)
    monkeypatch.setenv("IMPACT_DB", pg_url)
    line = one_line_error(invoke("datasets", "--store", other))
    assert "belong to different stores" in line


def test_a_folder_and_a_database_with_different_ids_are_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    upload(a, csv_variant(tmp_path, 1))
    upload(b, csv_variant(tmp_path, 2))
    shutil.copyfile(a / "impact.db", b / "impact.db")      # b's folder, a's database
    line = one_line_error(invoke("datasets", "--store", b))
    assert "belong to different stores" in line
    assert (a / "store-id").read_text() != (b / "store-id").read_text()


def test_monthly_refuses_an_output_folder_of_another_store(fresh_store: Path,
                                                           tmp_path: Path) -> None:
    other = tmp_path / "other"
    upload(fresh_store, csv_variant(tmp_path, 1), DATASET, "--as-of", "2024-03-01")
    out = tmp_path / "out"
    with Store(fresh_store, create=False) as store:
        assert run_monthly(store, out, Month.parse("2024-03"), render=fake_render).ok
        assert (out / ".impact-store-id").read_text().strip() == store.id
    if helpers.os.environ.get("IMPACT_DB"):
        return      # one database holds one store: the other store would be refused anyway
    upload(other, csv_variant(tmp_path, 2), DATASET, "--as-of", "2024-03-01")
    result = invoke("monthly", "--month", "2024-03", "--store", other, "--out", out,
                    "--audience", "union")
    assert "another store" in one_line_error(result)


def test_monthly_last_month_is_found_by_id_and_sha256_not_by_number(
        fresh_store: Path, tmp_path: Path) -> None:
    """The issue's case: after a restore, a new upload reuses the number last month's
    version had; the briefing must not say 'No new version since last month'."""
    upload(fresh_store, csv_variant(tmp_path, 1), DATASET, "--as-of", "2024-02-01")
    assert invoke("store", "backup", tmp_path / "b1", "--store", fresh_store).exit_code == 0
    upload(fresh_store, csv_variant(tmp_path, 2), DATASET, "--as-of", "2024-03-01")
    out = tmp_path / "out"
    with Store(fresh_store, create=False) as store:
        assert run_monthly(store, out, Month.parse("2024-03"), render=fake_render).ok
    assert invoke("store", "restore", tmp_path / "b1", "--store", fresh_store,
                  "--force").exit_code == 0
    upload(fresh_store, csv_variant(tmp_path, 3), DATASET, "--as-of", "2024-04-01")  # v2 again
    with Store(fresh_store, create=False) as store:
        assert [v.number for v in store.versions(DATASET)] == [1, 2]
        result = run_monthly(store, out, Month.parse("2024-04"), render=fake_render)
    assert result.ok
    [entry] = json.loads((out / "2024-04" / "manifest.json").read_text())["datasets"]
    assert "No new version" not in entry["changes"]
    assert entry["previous"]["version"] == 1 and entry["previous"]["from"] == "store"


def test_monthly_takes_the_latest_as_of_date_not_the_highest_number(fresh_store: Path,
                                                                    tmp_path: Path) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1), DATASET, "--as-of", "2024-03-20")
    upload(fresh_store, csv_variant(tmp_path, 2), DATASET, "--as-of", "2024-03-05")  # backdated
    with Store(fresh_store, create=False) as store:
        chosen = store.version_as_of(DATASET, Month.parse("2024-03").last_day)
    assert chosen is not None and chosen.number == 1


# --------------------------------------------------------------------------
# paths


@pytest.mark.parametrize("name", ["a?b", "a#b", "a%20b", "a b", "Équipe Δ"])
def test_a_store_path_is_a_path_whatever_its_characters(tmp_path: Path, name: str) -> None:
    store, twin = tmp_path / name, tmp_path / (name + "2")
    upload(store, csv_variant(tmp_path, 1))
    assert (store / "impact.db").is_file()
    upload(twin, csv_variant(tmp_path, 2))     # its own database, its own version 1
    for folder in (store, twin):
        result = invoke("history", DATASET, "--store", folder, "--format", "json")
        assert [v["version"] for v in json.loads(result.stdout)] == [1]
        assert upkeep.check_store(folder).healthy
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(name.split("?")[0])
                and p not in (store, twin) and p.suffix == ".db"]


# --------------------------------------------------------------------------
# store check


def test_store_check_recomputes_saved_totals(fresh_store: Path, derbyshire_v1: Path) -> None:
    upload(fresh_store, derbyshire_v1, DATASET, "--as-of", "2024-03-01")
    assert invoke("store", "check", "--store", fresh_store).exit_code == 0
    helpers.execute(fresh_store, "UPDATE versions SET totals = REPLACE(CAST(totals AS TEXT), "
                                 "'132.5', '132.4')" if not helpers.os.environ.get("IMPACT_DB")
                    else "UPDATE versions SET totals = REPLACE(totals::text, '132.5', "
                         "'132.4')::json")
    result = invoke("store", "check", "--store", fresh_store)
    assert result.exit_code == 1
    assert "deleted_fte saved 132.4, file 132.5" in result.stdout


def test_a_damaged_versions_missing_file_is_reported_not_called_an_orphan(
        fresh_store: Path, tmp_path: Path) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    upload(fresh_store, csv_variant(tmp_path, 2))
    helpers.execute(fresh_store, "UPDATE versions SET sheets = '{}' WHERE number = 1")
    sha1 = helpers.sha256(csv_variant(tmp_path, 1))
    (fresh_store / "files" / f"{sha1}.csv").unlink()
    sha2 = helpers.sha256(csv_variant(tmp_path, 2))
    helpers.execute(fresh_store, "UPDATE versions SET sheets = '{}' WHERE number = 2")
    check = upkeep.check_store(fresh_store)
    kinds = [(p.kind, p.version) for p in check.problems]
    assert ("missing-file", 1) in kinds and ("damaged-row", 2) in kinds
    assert not [n for n in check.notes if n.kind == "orphan-file"], \
        f"{sha2}.csv, the damaged version 2's own file, was called an orphan"


def test_check_removes_temporary_folders_of_killed_backups_and_restores(
        tmp_path: Path) -> None:
    """A backup records its temporary folder in the store, in a file it holds locked while
    it runs: a record whose lock is free was left by a killed one.  Both kinds are made
    here as a kill leaves them; a live backup's (its record locked) is kept."""
    import fcntl
    import os

    from reports.services.upkeep import TEMPORARY_DIR

    store = tmp_path / "store"
    upload(store, csv_variant(tmp_path, 1))
    (store / TEMPORARY_DIR).mkdir(exist_ok=True)
    folders = {}
    for name in ("dead", "live"):
        folder = tmp_path / f".bk-{name}.x1.backup-part"
        folder.mkdir()
        (folder / "impact.db").write_bytes(b"half a copy")
        record = store / TEMPORARY_DIR / f"{folder.name}.json"
        record.write_text(json.dumps({"path": str(folder)}))
        folders[name] = (folder, record)
    stage = store / ".abc.restore-part"
    stage.mkdir()
    fd = os.open(folders["live"][1], os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)            # as a running backup holds its record
    try:
        check = upkeep.check_store(store)
    finally:
        os.close(fd)
    assert check.healthy
    removed = sorted(n.message for n in check.notes if n.kind == "temporary-removed")
    assert len(removed) == 2, removed
    assert not folders["dead"][0].exists() and not stage.exists()
    assert folders["live"][0].exists() and folders["live"][1].exists()


def test_a_newline_in_an_uploaded_files_name_is_not_printed_raw(fresh_store: Path,
                                                                tmp_path: Path) -> None:
    odd = tmp_path / "two\nlines.csv"
    odd.write_bytes(csv_variant(tmp_path, 1).read_bytes())
    result = upload(fresh_store, odd)
    assert len(result.stdout.splitlines()) == 1, result.stdout
    history = invoke("history", DATASET, "--store", fresh_store)
    assert "two\nlines" not in history.stdout


def test_the_missing_file_hint_says_upload_to_the_same_dataset(fresh_store: Path,
                                                               tmp_path: Path,
                                                               backend: str) -> None:
    upload(fresh_store, csv_variant(tmp_path, 1))
    sha = helpers.sha256(csv_variant(tmp_path, 1))
    (fresh_store / "files" / f"{sha}.csv").unlink()
    if backend == "postgresql":     # the folder is a cache: the database's copy is lost too
        helpers.execute(fresh_store, "DELETE FROM blobs")
    line = one_line_error(invoke("summary", "--dataset", DATASET, "--store", fresh_store))
    assert "new dataset" not in line and f"again to '{DATASET}'" in line
    upload(fresh_store, csv_variant(tmp_path, 1))
    assert invoke("summary", "--dataset", DATASET, "--store", fresh_store).exit_code == 0


def test_far_months_are_one_line_not_a_bug(fresh_store: Path, tmp_path: Path) -> None:
    upload(fresh_store, sample("coop_working.csv"), "coop", "--as-of", "2024-03-01")
    for month in ("2108-01", "9999-11"):
        result = invoke("monthly", "--month", month, "--store", fresh_store, "--out",
                        tmp_path / "out", "--audience", "union")
        assert "internal error" not in result.stderr
        assert result.exit_code in (0, 1, 2)
