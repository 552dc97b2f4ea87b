"""The versioned store: upload, datasets, history, and reading from the store."""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import stat
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from commands import options
from reports.model.errors import StoreError, UsageProblem
from reports.services import datasets as store_lib
from reports.store.db import Store, database_url
from reports.store.paths import check_name, default_dir, resolve_db, resolve_dir, slugify

from . import store_helpers as helpers
from .store_helpers import (
    DATASET,
    edit_cell,
    execute,
    impact_exe,
    invoke,
    sample,
    sha256,
    snapshot,
)

# fixtures from store_helpers (pytest finds them by their names here)
derbyshire_v1 = helpers.derbyshire_v1
derbyshire_v2 = helpers.derbyshire_v2
fresh_store = helpers.fresh_store
backend = helpers.backend          # every test with fresh_store: SQLite, then PostgreSQL
isolated_store_env = helpers.isolated_store_env

MARCH = date(2024, 3, 1)


def upload(store: Path, path: Path, *extra: str, dataset: str = DATASET):
    return invoke("upload", path, "--dataset", dataset, "--store", store, *extra)


# --------------------------------------------------------------------------
# where the store lives


def test_store_dir_comes_from_option_then_env_then_xdg(tmp_path: Path) -> None:
    env = {"IMPACT_STORE": str(tmp_path / "env"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert resolve_dir(tmp_path / "given", env) == tmp_path / "given"
    assert resolve_dir(None, env) == tmp_path / "env"
    assert resolve_dir(None, {"XDG_DATA_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg/impact"
    assert default_dir({}) == Path.home() / ".local" / "share" / "impact"
    assert default_dir({"XDG_DATA_HOME": "relative/ignored"}) == \
        Path.home() / ".local" / "share" / "impact"


def test_database_comes_from_option_then_env_then_the_store_folder() -> None:
    env = {"IMPACT_DB": "postgresql://env@h/e"}
    assert resolve_db("postgresql://given@h/g", env) == "postgresql://given@h/g"
    assert resolve_db(None, env) == "postgresql://env@h/e"
    assert resolve_db(None, {}) is None and resolve_db(None, {"IMPACT_DB": ""}) is None
    assert database_url("postgres://u:pw@h:5433/d") == "postgresql+psycopg://u:pw@h:5433/d"


def test_another_module_keeps_its_own_tables_in_the_store_database(fresh_store: Path,
                                                                   backend: str) -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select  # own tables

    own = MetaData()
    users = Table("test_users", own, Column("id", Integer, primary_key=True),
                  Column("name", String(50), nullable=False, unique=True))
    with Store(fresh_store) as store:
        assert store.dialect == backend
        store.create_tables(own)
        store.create_tables(own)                    # again: nothing to do
        with store.engine.begin() as conn:
            conn.execute(insert(users).values(name="ana"))
    with Store(fresh_store) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(users.c.name)).scalars().all() == ["ana"]
    assert invoke("store", "check", "--store", fresh_store).exit_code == 0


def test_store_is_created_on_first_use_from_the_environment(tmp_path: Path,
                                                            derbyshire_v1: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    where = tmp_path / "from-env"
    monkeypatch.setenv("IMPACT_STORE", str(where))
    assert not where.exists()
    result = invoke("upload", derbyshire_v1, "--dataset", DATASET, "--as-of", "2024-03-01")
    assert result.exit_code == 0, result.output
    assert (where / "impact.db").is_file()
    assert len(list((where / "files").iterdir())) == 1


# --------------------------------------------------------------------------
# upload


def test_upload_records_the_version(fresh_store: Path, derbyshire_v1: Path) -> None:
    result = upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01", "--by", "HR Team",
                    "--note", "Consultation draft")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Stored derbyshire_v1.xlsx as version 1 of '{DATASET}' "
                                    f"(as of 2024-03-01): 132.5 of 221.5 FTE (59.8%)")
    with Store(fresh_store) as store:
        v = store.version(DATASET)
    assert (v.number, v.as_of, v.uploaded_by, v.note) == (1, MARCH, "HR Team",
                                                          "Consultation draft")
    assert (v.sha256, v.original_name) == (sha256(derbyshire_v1), "derbyshire_v1.xlsx")
    assert v.sheets == ("Early Help", "Children's Centres")
    assert v.rows == 157
    assert (v.totals["baseline_fte"], v.totals["deleted_fte"]) == (Decimal("221.5"),
                                                                    Decimal("132.5"))
    assert (v.totals["deleted_posts"], v.totals["at_risk_fte"]) == (148, Decimal("110.2"))
    assert abs((datetime.now(UTC) - v.uploaded_at).total_seconds()) < 120
    stored = fresh_store / "files" / f"{v.sha256}.xlsx"
    assert stored.read_bytes() == derbyshire_v1.read_bytes()
    assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_upload_defaults_to_today_and_the_os_user(fresh_store: Path, derbyshire_v1: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options, "today", lambda: date(2024, 4, 12))
    assert upload(fresh_store, derbyshire_v1).exit_code == 0
    with Store(fresh_store) as store:
        v = store.version(DATASET)
    assert v.as_of == date(2024, 4, 12)
    assert v.uploaded_by == getpass.getuser()


def test_identical_file_makes_no_new_version(fresh_store: Path, derbyshire_v1: Path,
                                             tmp_path: Path) -> None:
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01")
    renamed = tmp_path / "same-bytes-other-name.xlsx"
    renamed.write_bytes(derbyshire_v1.read_bytes())
    result = upload(fresh_store, renamed, "--as-of", "2024-04-01")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"same-bytes-other-name.xlsx is already stored as version "
                                    f"1 of '{DATASET}' (uploaded ")
    assert result.stdout.endswith("no new version was made.\n")
    with Store(fresh_store) as store:
        assert [v.number for v in store.versions(DATASET)] == [1]


def test_same_file_may_be_a_version_of_two_datasets(fresh_store: Path,
                                                    derbyshire_v1: Path) -> None:
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01")
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01", dataset="copy")
    with Store(fresh_store) as store:
        assert [d.name for d in store.datasets()] == ["copy", DATASET]
    assert len(list((fresh_store / "files").iterdir())) == 1


def test_invalid_upload_stores_nothing_and_prints_validate_errors(
        fresh_store: Path, derbyshire_v1: Path) -> None:
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01")
    before_history = invoke("history", DATASET, "--store", fresh_store).stdout
    before_files = snapshot(fresh_store / "files")
    broken = sample("broken_example.xlsx")
    result = upload(fresh_store, broken, "--as-of", "2024-04-01")
    assert result.exit_code == 1
    validate = invoke("validate", broken)
    assert validate.exit_code == 1
    assert result.stderr == validate.stdout
    assert result.stdout == ""
    assert invoke("history", DATASET, "--store", fresh_store).stdout == before_history
    assert snapshot(fresh_store / "files") == before_files


def test_invalid_upload_json_errors_match_validate(fresh_store: Path) -> None:
    broken = sample("broken_example.xlsx")
    result = upload(fresh_store, broken, "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == json.loads(invoke("validate", broken, "--format",
                                                          "json").stdout)
    with Store(fresh_store) as store:
        assert store.datasets() == []


@pytest.mark.parametrize("name", ["", "   ", "!!!"])
def test_unusable_dataset_name_is_a_usage_error(fresh_store: Path, derbyshire_v1: Path,
                                                name: str) -> None:
    result = upload(fresh_store, derbyshire_v1, dataset=name)
    assert result.exit_code == 2
    with pytest.raises(UsageProblem):
        check_name(name)


def test_a_dataset_is_known_by_its_exact_name_not_its_slug(fresh_store: Path,
                                                            derbyshire_v1: Path,
                                                            derbyshire_v2) -> None:
    v2, _ = derbyshire_v2
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01",
           dataset="Derbyshire Early Help")
    upload(fresh_store, v2, "--as-of", "2024-04-01", dataset="derbyshire early-help")
    with Store(fresh_store) as store:
        found = sorted((d.name, d.slug, d.versions) for d in store.datasets())
    assert found[0] == ("Derbyshire Early Help", DATASET, 1)
    assert found[1][0] == "derbyshire early-help" and found[1][2] == 1
    assert found[1][1].startswith(f"{DATASET}-") and found[1][1] != DATASET
    assert slugify("Children's Centres – High Peak") == "children-s-centres-high-peak"


def test_datasets_are_listed_in_the_same_order_on_both_back_ends(fresh_store: Path,
                                                                  tmp_path: Path) -> None:
    """By slug, code point by code point (as Python sorts), whatever the database's own
    collation: the test database on PostgreSQL sorts 'é' before 'z'."""
    names = ["Zeta", "Énergie", "early help", "Early-Help 2", "earlyhelp"]
    for i, name in enumerate(names):
        assert upload(fresh_store, helpers.csv_variant(tmp_path, i), dataset=name
                      ).exit_code == 0
    with Store(fresh_store) as store:
        listed = [(d.slug, d.name) for d in store.datasets()]
        assert store.names() == [name for _, name in listed]
    assert listed == sorted(listed)
    assert [name for _, name in listed] == ["early help", "Early-Help 2", "earlyhelp", "Zeta",
                                            "Énergie"]
    text = invoke("datasets", "--store", fresh_store).stdout.splitlines()[2:]
    assert [line.split("  ")[0].strip() for line in text] == [n for _, n in listed]


# --------------------------------------------------------------------------
# atomicity


def test_a_crash_before_the_row_commits_leaves_no_version(fresh_store: Path,
                                                          derbyshire_v1: Path,
                                                          derbyshire_v2,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    v2, _ = derbyshire_v2
    with Store(fresh_store) as store:
        store_lib.upload(store, derbyshire_v1, DATASET, as_of=MARCH)

        def crash(*args: object, **kwargs: object) -> int:
            raise KeyboardInterrupt("power cut")

        monkeypatch.setattr(Store, "_dataset_id", crash)
        with pytest.raises(KeyboardInterrupt):
            store_lib.upload(store, v2, DATASET, as_of=MARCH)
        monkeypatch.undo()
        assert [v.number for v in store.versions(DATASET)] == [1]
        # the copy made before the crash is an orphan: harmless, and reused next time
        assert (fresh_store / "files" / f"{sha256(v2)}.xlsx").is_file()
        result = store_lib.upload(store, v2, DATASET, as_of=MARCH)
        assert (result.version.number, result.created) == (2, True)
        for name in store.names():
            for v in store.versions(name):
                assert store.path_of(v).is_file()
    assert not list((fresh_store / "files").glob(".*.part"))


def test_file_changed_during_upload_is_refused(fresh_store: Path, derbyshire_v1: Path) -> None:
    with Store(fresh_store) as store:
        with pytest.raises(StoreError, match="changed while it was being uploaded"):
            store.add(derbyshire_v1, DATASET, sha256="0" * 64, original_name="x.xlsx",
                      as_of=MARCH, uploaded_by="me", note="", sheets=["Posts"], rows=1,
                      totals={"deleted_fte": Decimal(1)})
        assert store.datasets() == []
    assert [p.name for p in (fresh_store / "files").iterdir()] == []


def upload_at_once(files: list[Path], store: Path, env: dict[str, str], *,
                   timeout: float) -> list[tuple[str, str]]:
    """`impact upload --format json` of every file to DATASET, all started at once, each in
    its own process; every one must succeed.  Their (stdout, stderr)."""
    children = [subprocess.Popen([impact_exe(), "upload", str(path), "--dataset", DATASET,
                                  "--store", str(store), "--as-of", "2024-03-01",
                                  "--format", "json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env)
                for path in files]
    outputs = [child.communicate(timeout=timeout) for child in children]
    assert [child.returncode for child in children] == [0] * len(files), outputs
    return outputs


def test_parallel_uploads_get_distinct_version_numbers(fresh_store: Path, tmp_path: Path,
                                                       derbyshire_v1: Path) -> None:
    files = []
    for i in range(4):
        path = tmp_path / f"upload-{i}.xlsx"
        edit_cell(derbyshire_v1, path, "Job title", "EH-0001", f"Early Help Team Manager {i}")
        files.append(path)
    env = {**os.environ, "IMPACT_STORE": str(tmp_path / "env-store")}
    env.pop("IMPACT_DEBUG", None)
    outputs = upload_at_once(files, fresh_store, env, timeout=120)
    numbers = sorted(json.loads(out)["version"]["version"] for out, _ in outputs)
    assert numbers == [1, 2, 3, 4]
    with Store(fresh_store) as store:
        versions = store.versions(DATASET)
        assert sorted(v.original_name for v in versions) == sorted(p.name for p in files)
        assert all(store.path_of(v).is_file() for v in versions)


def test_concurrent_uploads_to_a_new_database_number_consecutively(fresh_store: Path,
                                                                   tmp_path: Path) -> None:
    """Eight processes start on a store that does not exist yet: they race to make the
    schema, the dataset and each number.  Every upload succeeds with its own number, the
    numbers are 1..8, each names its own file, and `impact store check` is clean."""
    files = [helpers.csv_variant(tmp_path, i) for i in range(8)]
    outputs = upload_at_once(files, fresh_store, helpers.child_env(tmp_path), timeout=300)
    reported = {json.loads(out)["version"]["sha256"]: json.loads(out)["version"]["version"]
                for out, _ in outputs}
    assert sorted(reported.values()) == list(range(1, 9))
    assert set(reported) == {sha256(p) for p in files}
    with Store(fresh_store) as store:
        assert {v.sha256: v.number for v in store.versions(DATASET)} == reported
    check = invoke("store", "check", "--store", fresh_store, "--format", "json")
    assert check.exit_code == 0, check.output
    report = json.loads(check.stdout)
    assert (report["healthy"], report["versions"], report["files_checked"]) == (True, 8, 8)
    assert report["problems"] == report["notes"] == []


# --------------------------------------------------------------------------
# listings


def test_datasets_lists_latest_version_as_of_and_headline(fresh_store: Path,
                                                          derbyshire_v1: Path,
                                                          derbyshire_v2) -> None:
    v2, _ = derbyshire_v2
    missing = invoke("datasets", "--store", fresh_store)    # issue 24: nothing is created
    assert missing.exit_code == 1 and not fresh_store.exists()
    assert len(missing.stderr.splitlines()) == 1 and "no store at" in missing.stderr
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01")
    upload(fresh_store, v2, "--as-of", "2024-04-12")
    upload(fresh_store, sample("coop_working.xlsx"), "--as-of", "2024-02-01", dataset="coop")
    result = invoke("datasets", "--store", fresh_store)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Dataset", "Latest", "As", "of", "Headline"]
    assert lines[2].split()[:3] == ["coop", "1", "2024-02-01"]
    assert lines[3].split()[:3] == [DATASET, "2", "2024-04-12"]
    assert "FTE" in lines[3] and "proposed for deletion" in lines[3]
    as_json = json.loads(invoke("datasets", "--store", fresh_store, "--format", "json").stdout)
    with Store(fresh_store) as store:
        assert as_json == json.loads(json.dumps(store_lib.datasets_dict(store.datasets())))
    assert [(d["dataset"], d["versions"], d["latest"]["version"]) for d in as_json] == [
        ("coop", 1, 1), (DATASET, 2, 2)]


def test_history_shows_totals_and_changes(fresh_store: Path, derbyshire_v1: Path,
                                          derbyshire_v2) -> None:
    v2, moved = derbyshire_v2
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01", "--note", "First draft")
    upload(fresh_store, v2, "--as-of", "2024-03-12")
    up = sum(m.fte for m in moved)
    result = invoke("history", DATASET, "--store", fresh_store)
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith(f"{DATASET}: 2 version(s)\n")
    assert text.index("Version 2, as of 12 March 2024") < text.index("Version 1, as of "
                                                                     "1 March 2024")
    assert (f"Since version 1 (1 March 2024): deleted FTE up {up.normalize():f} to "
            f"{(Decimal('132.5') + up).normalize():f}; 3 more posts at risk") in text
    assert "Note: First draft" in text
    assert "baseline 221.5 FTE (239 posts); deleted 132.5 FTE (148 posts, 59.8%)" in text
    items = json.loads(invoke("history", DATASET, "--store", fresh_store, "--format",
                              "json").stdout)
    assert [i["version"] for i in items] == [1, 2]
    assert items[0]["changes"] is None
    changes = items[1]["changes"]["totals"]
    assert Decimal(str(changes["deleted_fte"])) == up
    assert (changes["at_risk_posts"], changes["retained_posts"], changes["baseline_fte"]) == \
        (3, -3, 0)


def test_history_of_unknown_dataset(fresh_store: Path, derbyshire_v1: Path) -> None:
    upload(fresh_store, derbyshire_v1)
    result = invoke("history", "nope", "--store", fresh_store)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: no dataset 'nope' in the store; the store at "
                             f"{fresh_store} holds '{DATASET}'\n")


# --------------------------------------------------------------------------
# reading from the store


def test_summary_and_validate_of_a_stored_version_match_the_file(fresh_store: Path,
                                                                 derbyshire_v1: Path,
                                                                 derbyshire_v2) -> None:
    v2, _ = derbyshire_v2
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01")
    upload(fresh_store, v2, "--as-of", "2024-04-01")
    for args, path in ((["--version", "1"], derbyshire_v1), ([], v2)):
        stored = invoke("summary", "--dataset", DATASET, "--store", fresh_store, *args,
                        "--format", "json")
        direct = invoke("summary", path, "--format", "json")
        assert stored.exit_code == direct.exit_code == 0
        assert json.loads(stored.stdout) == json.loads(direct.stdout)
        checked = invoke("validate", "--dataset", DATASET, "--store", fresh_store, *args)
        assert (checked.exit_code, checked.stdout) == (0, invoke("validate", path).stdout)


def test_stored_original_is_what_gets_read(fresh_store: Path, derbyshire_v1: Path) -> None:
    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01")
    expected = invoke("summary", derbyshire_v1).stdout
    derbyshire_v1.unlink()
    result = invoke("summary", "--dataset", DATASET, "--store", fresh_store)
    assert (result.exit_code, result.stdout) == (0, expected)


def test_brief_from_the_store(fresh_store: Path, derbyshire_v1: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader

    upload(fresh_store, derbyshire_v1, "--as-of", "2024-03-01")
    monkeypatch.chdir(tmp_path)
    result = invoke("brief", "--dataset", DATASET, "--store", fresh_store)
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "derbyshire_v1-union.pdf"
    text = PdfReader(pdf).pages[0].extract_text()
    assert "132.5" in text and "derbyshire_v1.xlsx" in text


def test_damaged_stored_file_is_reported(fresh_store: Path, derbyshire_v1: Path,
                                         backend: str) -> None:
    upload(fresh_store, derbyshire_v1)
    stored = next((fresh_store / "files").iterdir())
    stored.chmod(0o644)
    stored.write_bytes(b"PK\x03\x04 not the file that was uploaded")
    if backend == "postgresql":
        # the folder is only a cache: the original is fetched again from the database
        result = invoke("summary", "--dataset", DATASET, "--store", fresh_store)
        assert result.exit_code == 0, result.output
        assert sha256(stored) == sha256(derbyshire_v1)
        # the database's own copy damaged, and the cache gone: that is reported
        execute(fresh_store, "UPDATE blob_chunks SET data = :d WHERE seq = 0",
                d=b"PK\x03\x04 not the file that was uploaded")
        stored.unlink()
    result = invoke("summary", "--dataset", DATASET, "--store", fresh_store)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: the stored file for '{DATASET}' version 1 ")
    assert "is damaged" in result.stderr and "its sha256 no longer matches" in result.stderr
    assert not stored.exists() or backend == "sqlite"   # nothing damaged put in the cache
    stored.unlink(missing_ok=True)
    if backend == "postgresql":
        execute(fresh_store, "DELETE FROM blobs")
    result = invoke("summary", "--dataset", DATASET, "--store", fresh_store)
    assert result.exit_code == 1
    assert "is missing" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["summary"], "Missing argument 'FILE' (or give --dataset NAME"),
    (["summary", "x.xlsx", "--dataset", DATASET], "give FILE or --dataset NAME, not both"),
    (["validate", "x.xlsx", "--version", "2"], "--version goes with --dataset NAME"),
    (["summary", "--dataset", DATASET, "--version", "0"], "0 is not in the range x>=1"),
    (["validate", "x.xlsx", "--db", "postgresql://u@h/d"], "--db goes with --dataset NAME"),
    (["compare", "a.xlsx", "b.xlsx", "--db", "postgresql://u@h/d"],
     "--from, --to, --store and --db go with --dataset NAME"),
])
def test_file_or_dataset_usage_errors(fresh_store: Path, args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_unknown_version(fresh_store: Path, derbyshire_v1: Path) -> None:
    upload(fresh_store, derbyshire_v1)
    result = invoke("summary", "--dataset", DATASET, "--version", "5", "--store", fresh_store)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: dataset '{DATASET}' has no version 5; it has version 1 "
                             f"(see: impact history {DATASET})\n")


def test_upload_keeps_the_read_options(fresh_store: Path, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Post ID", "Team", "Job title", "Grade", "Current FTE", "Status"])
    ws.append(["P1", "Family Support", "Support Worker", "Grade 6", 1, "Deleted"])
    ws.append(["P2", "Family Support", "Support Worker", "Grade 6", 0.5, "Retained"])
    path = tmp_path / "odd.xlsx"
    wb.save(path)
    assert invoke("summary", path).exit_code == 1
    assert upload(fresh_store, path, "--map", "Current FTE=fte").exit_code == 0
    result = invoke("summary", "--dataset", DATASET, "--store", fresh_store)
    assert result.exit_code == 0
    assert result.stdout.startswith("1 of 1.5 FTE (66.7%) proposed for deletion")


def test_upload_says_plainly_that_the_stored_copy_keeps_personal_columns(tmp_path):
    import openpyxl

    from tests.conftest import invoke

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Posts"
    ws.append(["Team", "Job title", "Grade", "FTE", "Status", "Employee name"])
    ws.append(["Youth", "Worker", "Grade 5", 1, "Deleted", "Łukasz Nowak"])
    path = tmp_path / "pd.xlsx"
    wb.save(path)
    result = invoke("upload", path, "--dataset", "pd", "--store", tmp_path / "store")
    assert result.exit_code == 0
    assert "'Employee name' hold personal data" in result.stderr
    assert "stored copy of the file still contains them" in result.stderr
    assert "Łukasz" not in result.stdout + result.stderr


def test_reads_proceed_while_another_process_holds_the_write_lock(
        tmp_path: Path, derbyshire_v1: Path) -> None:
    """Every portal request reads its session and its version: on SQLite those reads take
    a shared lock, not the write lock, so they never queue behind a writer or each other.
    (Before, every transaction began IMMEDIATE: this read waited the busy timeout, 60 s,
    and failed.)"""
    root = tmp_path / "store"
    with Store(root) as store:
        store_lib.upload(store, derbyshire_v1, DATASET, as_of=date(2026, 1, 5), by="t")
    with Store(root) as store:                         # opened (the schema checked) first
        writer = sqlite3.connect(root / "impact.db", isolation_level=None, timeout=0)
        writer.execute("BEGIN IMMEDIATE")              # another process is writing
        try:
            assert [d.name for d in store.datasets()] == [DATASET]
            assert store.version_by_slug(store.datasets()[0].slug, 1) is not None
            assert store.read("count", lambda c: c.exec_driver_sql(
                "SELECT count(*) FROM versions").scalar_one()) == 1
        finally:
            writer.execute("ROLLBACK")
            writer.close()

