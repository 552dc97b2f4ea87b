"""Start-up: each command imports only what it uses (issue 15).

`impact` runs in a child process with Python's import log on (PYTHONPROFILEIMPORTTIME,
the same as `python -X importtime`), and the test reads which modules were imported.
Nothing here is timed: the log says *what* was imported, and the slow libraries
(PDF, web, database, solver, workbook writers) must not be among them for the
commands people run most.  docs/startup.md has the measured times.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import DATA, impact

DERBYSHIRE = DATA / "derbyshire_early_help.xlsx"

# Libraries a summary, a validation or --help never needs: PDF (ReportLab, WeasyPrint,
# pikepdf), HTML (Jinja2), the store (SQLAlchemy, psycopg), the portal (Flask and its
# kin), the solvers (SciPy, HiGHS), workbook writing (openpyxl, xlsxwriter), TOML writing.
HEAVY = ("reportlab", "weasyprint", "pikepdf", "jinja2", "sqlalchemy", "psycopg", "flask",
         "flask_wtf", "flask_login", "wtforms", "werkzeug", "waitress", "argon2", "scipy",
         "highspy", "openpyxl", "xlsxwriter", "tomli_w")
# Our own modules none of them needs: the briefing (documents layer and its
# renderers), the store, the disclosure audit, the comparison, the portal, and the
# other commands' services.
OWN = ("web", "reports.documents", "reports.render.pdf", "reports.render.tagged",
       "reports.render.html", "reports.render.xlsx", "reports.store.db",
       "reports.services.briefs", "reports.services.datasets", "reports.services.monthly",
       "reports.services.consultation", "reports.services.costs", "reports.figures.privacy",
       "reports.figures.compare", "reports.figures.costs", "reports.figures.equality")


def imported(*args: str | Path) -> set[str]:
    """Run `impact ARGS` with the import log on; the names of the modules it imported."""
    result = impact(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":          # the log's heading line
                names.add(name)
    assert names, "no import log: " + result.stderr[-500:]
    assert result.returncode == 0, result.stderr[-2000:]
    return names


def among(names: set[str], packages: tuple[str, ...]) -> list[str]:
    """The packages of `packages` that were imported (the package or any module in it)."""
    return sorted(p for p in packages if any(n == p or n.startswith(p + ".") for n in names))


@pytest.mark.parametrize("args", [("summary", DERBYSHIRE),
                                  ("summary", DERBYSHIRE, "--format", "json"),
                                  ("validate", DERBYSHIRE),
                                  ("--help",)], ids=lambda a: " ".join(str(x).rsplit("/", 1)[-1] for x in a))
def test_a_common_command_imports_no_heavy_library(args: tuple[str | Path, ...]) -> None:
    names = imported(*args)
    assert among(names, HEAVY) == []
    assert among(names, OWN) == []
    if args[0] != "--help":
        assert "reports.intake.rules" in names        # it did read and check the file


def test_comparing_two_files_opens_no_store() -> None:
    """`impact compare OLD NEW` needs the store (SQLAlchemy) only for --dataset."""
    names = imported("compare", DERBYSHIRE, DATA / "coop_working.xlsx")
    assert among(names, HEAVY) == []
    assert among(names, ("reports.store.db", "reports.documents", "web")) == []
    assert "reports.figures.compare" in names


def test_the_log_does_show_a_library_a_command_needs(tmp_path: Path) -> None:
    """The check above can fail: a summary written as a workbook does import openpyxl,
    and a public summary imports the disclosure audit and the documents layer."""
    names = imported("summary", DERBYSHIRE, "--format", "xlsx", "-o", tmp_path / "s.xlsx")
    assert among(names, HEAVY) == ["openpyxl"]
    names = imported("summary", DERBYSHIRE, "--audience", "public", "--format", "json")
    assert among(names, ("reports.figures.privacy", "reports.documents")) == [
        "reports.documents", "reports.figures.privacy"]


def test_pandas_is_not_imported_before_a_file_is_read() -> None:
    """pandas (0.2-0.3 s to import) is imported while fastexcel reads an xlsx on the other
    core (xlsx.read_xlsx), so nothing imported at start-up may import it first: the
    import log of `--help` (which imports the whole command line) must not name it, and
    a summary of an xlsx, which needs it, does import it."""
    assert among(imported("--help"), ("pandas",)) == []
    assert among(imported("summary", DERBYSHIRE), ("pandas",)) == ["pandas"]
