"""Shared helpers: small workbooks and CSV files built in each test, named for what they hold.

Every expected figure in the suite is worked out in the test itself (with
openpyxl and Decimal) or taken from the issue's stated facts, never from the
code under test.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

import cli as cli_module

from .browser import browser_type_launch_args  # noqa: F401  (fixture: Debian's Chromium)
from .pg import pg_server, pg_url  # noqa: F401  (fixtures: a throwaway PostgreSQL server)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

# Every `impact serve` a test starts builds at normal priority.  The default, idle, builds
# only on a core nothing else wants: with other work on the machine (bench/stress_suite.sh
# runs two busy loops beside the suite) a test waiting for a background build would wait
# for that work to end, and its verdict would depend on the machine's load.  The idle
# setting itself is tested (test_builds.py).
os.environ["IMPACT_BUILD_PRIORITY"] = "normal"

# The canonical headings, in the order the template writes them.
HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status", "Destination"]


def post(post_id: Any = None, team: Any = "Family Support", title: Any = "Support Worker",
         grade: Any = "Grade 6", fte: Any = 1, posts: Any = 1, status: Any = "Deleted",
         destination: Any = None) -> list[Any]:
    """One row under HEADER."""
    return [post_id, team, title, grade, fte, posts, status, destination]


def make_xlsx(tmp_path: Path, rows: Sequence[Sequence[Any]] | None = None, *,
              sheet: str = "Posts", title_rows: int = 0, name: str = "posts.xlsx",
              sheets: dict[str, Sequence[Sequence[Any]]] | None = None) -> Path:
    """Write `rows` (the first is the header) to a workbook with openpyxl.

    `title_rows` puts a title line and blank lines above the header, as HR do.
    `sheets` writes several sheets instead: {sheet name: rows}.
    """
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet_name, sheet_rows in (sheets or {sheet: rows or []}).items():
        ws = wb.create_sheet(sheet_name)
        if title_rows:
            ws.append(["Proposed staffing changes 2025/26"])
            for _ in range(title_rows - 1):
                ws.append([])
        for row in sheet_rows:
            ws.append(list(row))
    path = tmp_path / name
    wb.save(path)
    return path


def make_csv(tmp_path: Path, rows: Iterable[Sequence[Any]], *, name: str = "posts.csv",
             encoding: str = "utf-8", delimiter: str = ",", bom: bool = False) -> Path:
    """Write `rows` as a CSV file in `encoding`, optionally with a UTF-8 byte-order mark."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    data = buf.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = tmp_path / name
    path.write_bytes(data)
    return path


def located(findings: Iterable[Any]) -> list[tuple[str, str | None]]:
    """(code, cell) of each finding, in order."""
    return [(f.code, f.cell) for f in findings]


def replace_part(src: Path, dst: Path, part: str, data: bytes,
                 compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """Copy the zip `src` to `dst` with the member `part` replaced by `data`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            body = data if info.filename == part else zin.read(info.filename)
            zout.writestr(info.filename, body, compress_type=compression)
    return dst


def read_part(path: Path, part: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(part)


CHILD_MEMORY = 4 << 30   # address space of a child `impact`: a runaway allocation aborts it


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def impact(*args: str | os.PathLike[str], cwd: Path | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script `impact` in a child process, exactly as a user would.

    The child's memory is capped, so a file that makes the xlsx reader try to allocate
    hundreds of GiB kills only the child (a failing test), never the machine.
    """
    exe = Path(sys.executable).with_name("impact")
    full_env = dict(os.environ)
    full_env.pop("IMPACT_DEBUG", None)
    full_env["RUST_BACKTRACE"] = "0"
    full_env.update(env or {})
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=120, preexec_fn=_limit_memory,
                          check=False)


def invoke(*args: str | os.PathLike[str], catch_exceptions: bool = False) -> Any:
    """Invoke the click group in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli_module.cli, [str(a) for a in args],
                              catch_exceptions=catch_exceptions)


@pytest.fixture
def backend() -> str:
    """The store's database in `store_helpers.fresh_store`: SQLite, unless a module runs its
    tests on both back ends (`backend = store_helpers.backend`)."""
    return "sqlite"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def valid_xlsx(tmp_path: Path) -> Path:
    """Three valid posts: 2 deleted (1 + 0.5 FTE), 1 retained (1 FTE)."""
    return make_xlsx(tmp_path, [
        HEADER,
        post("P1", fte=1, status="Deleted"),
        post("P2", fte=0.5, status="Deleted"),
        post("P3", fte=1, status="Retained"),
    ], name="valid.xlsx")


@pytest.fixture
def invalid_xlsx(tmp_path: Path) -> Path:
    """One valid post and one with a negative FTE in E3."""
    return make_xlsx(tmp_path, [
        HEADER,
        post("P1", fte=1),
        post("P2", fte=-4.62),
    ], name="invalid.xlsx")


def sample(name: str) -> Path:
    """A sample file from data/ (made by data/make_samples.py); missing is a failure."""
    path = DATA / name
    assert path.exists(), f"sample {name} is missing; run data/make_samples.py"
    return path


def load_script(path: Path, name: str) -> Any:
    """A bench script as a module, for its tests (its folder on sys.path, for its own
    imports, and the module in sys.modules, where dataclasses look it up)."""
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
