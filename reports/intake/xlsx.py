"""Reading an xlsx or xlsm workbook with python-calamine, after `guards` has passed it.

python-calamine is about 10x faster than openpyxl; `guards` covers what it lacks
(a zip-bomb guard, a used-range limit, formulas without a saved result).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from ..model.errors import CorruptFile, PasswordProtected, UsageProblem
from ..model.findings import Findings, echo
from . import guards
from .tables import Grid, table_from_grid
from .workbook import FormulaNoValue, ReadOptions, Table

_NS_RE = re.compile(r"^\{[^}]*\}")


def _local(tag: str) -> str:
    return _NS_RE.sub("", tag)


def read_xlsx(path: Path, options: ReadOptions, findings: Findings,
              ) -> tuple[list[Table], list[tuple[str, str]], str]:
    """The tables of the chosen sheets, the sheets skipped (with why) and 'xlsx'/'xlsm'."""
    limits = options.limits
    parts = guards.workbook_parts(path, limits)
    sheets = _workbook_sheets(path.name, parts)
    fmt = "xlsm" if path.suffix.lower() == ".xlsm" else "xlsx"
    wanted = _select_sheets(path.name, [name for name, _, _ in sheets], options.sheets)

    scans: dict[str, guards.SheetScan] = {}
    skipped: list[tuple[str, str]] = []
    for name, target, kind in sheets:
        if name not in wanted:
            continue
        if kind != "worksheet":
            skipped.append((name, f"it is a {kind}, not a worksheet"))
            continue
        xml = parts.get(target)
        if xml is None:
            raise CorruptFile(f"{path.name}: sheet '{name}' is listed but its part {target} "
                              f"is missing; save the file again")
        scan = guards.scan_sheet(xml)
        guards.check_range(path.name, name, scan, limits)
        scans[name] = scan
    del parts

    tables: list[Table] = []
    grids = _calamine_grids(path, [n for n, _, _ in sheets if n in scans])
    for name, grid in grids:
        scan = scans[name]
        grid.formulas = {(row - 1, col): FormulaNoValue(formula)
                         for (row, col), formula in scan.formulas.items()
                         if row <= grid.nrows and col < len(grid.columns)}
        table = table_from_grid(name, grid, options, findings, skipped)
        if table is not None:
            tables.append(table)
    return tables, skipped, fmt


def _workbook_sheets(name: str, parts: dict[str, bytes]) -> list[tuple[str, str, str]]:
    """[(sheet name, part path, kind)] in workbook order."""
    root = guards.parse_xml(name, "xl/workbook.xml", parts["xl/workbook.xml"])
    rels_xml = parts.get("xl/_rels/workbook.xml.rels")
    targets: dict[str, tuple[str, str]] = {}
    if rels_xml is not None:
        for rel in guards.parse_xml(name, "xl/_rels/workbook.xml.rels", rels_xml):
            target = rel.get("Target", "")
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                path = str(PurePosixPath("xl") / target)
            path = os.path.normpath(path).replace(os.sep, "/")
            kind = rel.get("Type", "").rsplit("/", 1)[-1].lower()
            targets[rel.get("Id", "")] = (path, kind)
    sheets = []
    for el in root.iter():
        if _local(el.tag) != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
        path, kind = targets.get(rid, ("", "worksheet"))
        label = {"worksheet": "worksheet", "chartsheet": "chart sheet",
                 "dialogsheet": "dialog sheet", "xlmacrosheet": "macro sheet"}.get(kind, kind)
        sheets.append((el.get("name", ""), path, label))
    if not sheets:
        raise CorruptFile(f"{name}: the workbook lists no sheets")
    return sheets


def _select_sheets(name: str, available: list[str], wanted: Sequence[str]) -> set[str]:
    if not wanted:
        return set(available)
    by_key = {s.casefold(): s for s in available}
    chosen = set()
    for w in wanted:
        if w.casefold() not in by_key:
            raise UsageProblem(f"{name}: there is no sheet {w!r}; the sheets are: "
                               + ", ".join(repr(s) for s in available))
        chosen.add(by_key[w.casefold()])
    return chosen


def _calamine_grids(path: Path, names: list[str]) -> Iterable[tuple[str, Grid]]:
    """Yield each sheet's cells, from A1, as columns, via python-calamine."""
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
        for name in names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            yield name, Grid.from_rows(rows, typed=True)
    except pc.PasswordError:
        raise PasswordProtected(f"{path.name}: the workbook is password-protected; remove the "
                                f"password and save it again") from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as e:  # CalamineError, XmlError, ZipError, and pyo3 panics
        raise CorruptFile(f"{path.name}: the workbook cannot be read ({type(e).__name__}: "
                          f"{echo(e)}); open it in a spreadsheet program and save it again"
                          ) from None
