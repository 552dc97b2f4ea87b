"""Helpers for the store, compare and monthly tests.

Every test gets its own store under tmp_path and passes it with --store (the
`isolated_store_env` fixture also points IMPACT_STORE and XDG_DATA_HOME into
tmp_path, and unsets IMPACT_DB, so nothing can reach the real data directory or a
real database).  A module that says `backend = store_helpers.backend` runs each
test that uses `fresh_store` twice: on SQLite, and on PostgreSQL, with the store's
tables in a new database of the throwaway server (tests/pg.py) named by IMPACT_DB,
which every `impact` the test runs, in process or as a child, inherits.  Version 2 of the
Derbyshire sample is made in the test with openpyxl: three retained,
occupied, single posts become deleted.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result

import cli as cli_module

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
DERBYSHIRE = "derbyshire_early_help.xlsx"
DATASET = "derbyshire-early-help"


def sample(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"sample {name} not generated yet (run data/make_samples.py)")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Moved:
    """A post whose status a test changed: its ID, FTE and number of posts."""

    post_id: str
    fte: Decimal
    posts: int


def make_version_2(src: Path, dst: Path, n: int = 3, sheet: str = "Early Help") -> list[Moved]:
    """Copy `src` to `dst` with `n` retained, occupied, single posts changed to Deleted.

    The posts are found by reading the file, by its header row, not by
    knowing the sample's rows.
    """
    wb = openpyxl.load_workbook(src)
    ws = wb[sheet]
    header_row, cols = _header(ws)
    moved: list[Moved] = []
    for row in ws.iter_rows(min_row=header_row + 1):
        cell = {name: row[i] for name, i in cols.items()}
        if (str(cell["Status"].value).strip().lower() == "retained"
                and str(cell["Vacant"].value).strip().upper() == "N"
                and cell["Posts"].value in (1, None)):
            cell["Status"].value = "Deleted"
            moved.append(Moved(str(cell["Post ID"].value), Decimal(str(cell["FTE"].value)), 1))
            if len(moved) == n:
                break
    assert len(moved) == n, "the sample has too few retained, occupied posts"
    wb.save(dst)
    return moved


def edit_cell(src: Path, dst: Path, column: str, post_id: str, value: Any,
              sheet: str = "Early Help") -> None:
    """Copy `src` to `dst` with one cell of the row of `post_id` changed."""
    wb = openpyxl.load_workbook(src)
    ws = wb[sheet]
    header_row, cols = _header(ws)
    for row in ws.iter_rows(min_row=header_row + 1):
        if row[cols["Post ID"]].value == post_id:
            row[cols[column]].value = value
            break
    else:
        raise AssertionError(f"no post {post_id}")
    wb.save(dst)


def _header(ws: Any) -> tuple[int, dict[str, int]]:
    for r, row in enumerate(ws.iter_rows(max_row=30, values_only=True), 1):
        if "Post ID" in row and "Status" in row:
            return r, {str(v): i for i, v in enumerate(row) if v is not None}
    raise AssertionError(f"no header row in {ws.title}")


def invoke(*args: Any, env: dict[str, str] | None = None) -> Result:
    """The click group in-process; stdout and stderr kept apart."""
    return CliRunner(env=env).invoke(cli_module.cli, [str(a) for a in args],
                                     catch_exceptions=False)


def impact_exe() -> str:
    return str(Path(sys.executable).with_name("impact"))


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment for a child `impact` that cannot touch the real data directory."""
    env = {**os.environ, "IMPACT_STORE": str(tmp_path / "env-store"),
           "XDG_DATA_HOME": str(tmp_path / "xdg"), **extra}
    env.pop("IMPACT_DEBUG", None)
    return env


def run(tmp_path: Path, *args: Any, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([impact_exe(), *map(str, args)], capture_output=True, text=True,
                          env=child_env(tmp_path, **extra), timeout=120, check=False)


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under `folder`: (mtime in ns, sha256); not the store's lock file, which
    records who holds the store, not what it holds."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, sha256(p))
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "impact.lock"}


@pytest.fixture(autouse=True)
def isolated_store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPACT_STORE", str(tmp_path / "env-store"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("IMPACT_DEBUG", raising=False)
    monkeypatch.delenv("IMPACT_TEST_SLOW", raising=False)
    monkeypatch.delenv("IMPACT_DB", raising=False)


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Both back ends, for a module that assigns this to its own `backend`."""
    return str(request.param)


@pytest.fixture
def fresh_store(tmp_path: Path, backend: str, request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store folder that does not exist yet (created on first use); on the postgresql
    back end, IMPACT_DB names a new, empty database for its tables."""
    if backend == "postgresql":
        monkeypatch.setenv("IMPACT_DB", request.getfixturevalue("pg_url"))
    return tmp_path / "store"


def database(store: Path) -> Any:
    """An SQLAlchemy engine on `store`'s database (IMPACT_DB, else its SQLite file), for
    tests that damage or age it by hand.  Dispose of it when done."""
    from sqlalchemy import create_engine  # only the tests that edit a database need it

    return create_engine(os.environ.get("IMPACT_DB") or f"sqlite:///{store / 'impact.db'}")


def execute(store: Path, sql: str, **params: Any) -> None:
    """Run one statement on `store`'s database and commit it."""
    from sqlalchemy import text  # only the tests that edit a database need it

    engine = database(store)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


@pytest.fixture
def derbyshire_v1(tmp_path: Path) -> Path:
    """The Derbyshire sample, copied so that the test owns it."""
    path = tmp_path / "derbyshire_v1.xlsx"
    path.write_bytes(sample(DERBYSHIRE).read_bytes())
    return path


@pytest.fixture
def derbyshire_v2(tmp_path: Path, derbyshire_v1: Path) -> tuple[Path, list[Moved]]:
    """Version 2: three retained, occupied posts moved to deleted."""
    path = tmp_path / "derbyshire_v2.xlsx"
    return path, make_version_2(derbyshire_v1, path)


def csv_variant(folder: Path, i: int) -> Path:
    """The co-op CSV with one more retained post: different bytes for every `i`."""
    path = folder / f"coop-{i:03d}.csv"
    text = sample("coop_working.csv").read_text(encoding="utf-8")
    path.write_text(text + f"CW-X{i:03d},Children's Centres,Worker {i},Grade 6,1,1,Retained,\n",
                    encoding="utf-8")
    return path
