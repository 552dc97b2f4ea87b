"""Issue 26 item 11: a refused duplicate upload (the latest version's very bytes, which
stores nothing) changes nothing, the dataset's saved profile included: on the command
line and in the portal."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from reports.services import users
from reports.services.profiles import PROFILES_DIR
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests.conftest import invoke
from tests.portal_helpers import PASSWORD, csrf, log_in, store_state, write_rows
from web.app import create_app

HEADER = ["Team", "Job title", "Grade", "Share of a full week", "Status"]
ROWS: list[list[Any]] = [["Family Support", "Worker", "G6", 1, "Deleted"],
                         ["Family Support", "Manager", "G9", 0.5, "Retained"],
                         ["Family Support", "Officer", "G7", 0.75, "Pooled for selection"]]
FIRST = ["--map", "Share of a full week=fte", "--status-map", "Pooled for selection=deleted"]


def _profile_file(root: Path) -> Path:
    files = list((root / PROFILES_DIR).glob("*.toml"))
    assert len(files) == 1, files
    return files[0]


def _snapshot(root: Path) -> tuple[Any, ...]:
    """The profile as a file: its bytes and its inode (a rewrite makes a new one)."""
    path = _profile_file(root)
    return path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns


def test_a_duplicate_upload_on_the_command_line_keeps_the_saved_profile(
        tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.xlsx", HEADER, ROWS)
    root = tmp_path / "store"
    r = invoke("upload", path, "--dataset", "Mapped", "--store", root, *FIRST)
    assert r.exit_code == 0, r.output
    before_profile, before_store = _snapshot(root), store_state(root)
    shown = invoke("profile", "show", "Mapped", "--store", root).output
    # the same bytes again, read with one more option: refused as a duplicate
    r = invoke("upload", path, "--dataset", "Mapped", "--store", root, *FIRST,
               "--status-map", "Ring-fenced=retained", "--default-status", "retained")
    assert r.exit_code == 0, r.output
    assert "version 1" in r.output.lower()
    assert store_state(root) == before_store
    assert _snapshot(root) == before_profile
    assert invoke("profile", "show", "Mapped", "--store", root).output == shown
    assert "Ring-fenced" not in shown and "default_status" not in shown
    # a new file with those options does change it (the rule is about duplicates only)
    write_rows(path, HEADER, ROWS + [["Family Support", "Clerk", "G4", 1, "Ring-fenced"]])
    r = invoke("upload", path, "--dataset", "Mapped", "--store", root, *FIRST,
               "--status-map", "Ring-fenced=retained")
    assert r.exit_code == 0, r.output
    assert "Ring-fenced=retained" in invoke("profile", "show", "Mapped", "--store",
                                            root).output


def _portal(root: Path) -> Any:
    with Store(root) as store:
        users.add_user(Accounts(store), "hr", "hr", PASSWORD, by="setup")
    client = create_app(root).test_client()
    assert log_in(client, "hr").status_code == 302
    return client


def _upload(client: Any, path: Path, dataset: str, new: bool) -> Any:
    token = csrf(client.get("/upload").get_data(as_text=True))
    data = {"csrf_token": token, "as_of": "2024-04-01", "note": "",
            "file": (io.BytesIO(path.read_bytes()), path.name),
            "new_dataset" if new else "dataset": dataset}
    return client.post("/upload", data=data, content_type="multipart/form-data")


def test_a_duplicate_upload_in_the_portal_keeps_the_saved_profile(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "posts.xlsx", HEADER, ROWS)
    root = tmp_path / "store"
    client = _portal(root)
    page = _upload(client, path, "Mapped", new=True).get_data(as_text=True)
    assert "Match the columns" in page
    r = client.post("/upload/map", data={"csrf_token": csrf(page),
                                         "heading-0": "Share of a full week", "field-0": "fte",
                                         "word-0": "Pooled for selection",
                                         "status-0": "deleted"})
    assert r.status_code == 200, r.get_data(as_text=True)
    before_profile, before_store = _snapshot(root), store_state(root)
    r = _upload(client, path, "Mapped", new=False)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert store_state(root) == before_store
    assert _snapshot(root) == before_profile          # not even written again
