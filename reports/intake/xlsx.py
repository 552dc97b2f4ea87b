"""Reading an xlsx or xlsm workbook, after `guards` has passed it.

fastexcel (calamine straight into Arrow text) reads each sheet; `_value_rows` and its
columns' absolute indices put the table back where it stands on the sheet.  A sheet it
cannot place (rows unnumbered, out of order or with a namespace prefix), or a file it
fails on, is read with python-calamine instead, cell by cell.  Both are about 10x
faster than openpyxl; `guards` covers what they lack (a zip-bomb guard, a used-range
limit, formulas without a saved result).
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..model.errors import CorruptFile, PasswordProtected, UsageProblem
from ..model.findings import Findings, echo
from . import guards
from .figures import SheetFigure, sheet_figures
from .tables import Grid, Layout, table_from_grid
from .workbook import FormulaNoValue, ReadOptions, Table

_NS_RE = re.compile(r"^\{[^}]*\}")


def _local(tag: str) -> str:
    return _NS_RE.sub("", tag)


def read_xlsx(path: Path, options: ReadOptions, findings: Findings,
              layouts: list[Layout] | None = None,
              ) -> tuple[list[Table], list[tuple[str, str]], str, list[SheetFigure]]:
    """The tables of the chosen sheets, the sheets skipped (with why), 'xlsx'/'xlsm', and
    the numbers on the sheets without a table (`figures`); each sheet's `Layout` is added
    to `layouts`."""
    limits = options.limits
    parts = guards.workbook_parts(path, limits)
    sheets = _workbook_sheets(path.name, parts)
    fmt = "xlsm" if path.suffix.lower() == ".xlsm" else "xlsx"
    wanted = _select_sheets(path.name, [name for name, _, _ in sheets], options.sheets)

    scans: dict[str, guards.SheetScan] = {}
    xmls: dict[str, bytes] = {}
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
        scan = guards.scan_range(xml)
        guards.check_range(path.name, name, scan, limits)
        scans[name], xmls[name] = scan, xml
    del parts
    names = [n for n, _, _ in sheets if n in scans]

    # Every guard that must come before calamine has passed.  fastexcel reads on a
    # second thread (it releases the GIL) while this one finds the formulas without a
    # result and the rows that hold values, and imports what validation needs next.
    spans: dict[str, tuple[int, int] | tuple[()] | None] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = threading.Event()
        loading = pool.submit(_fast_load, path, names, reading)
        # Until fastexcel is under way, this thread runs only Python's short steps, not a
        # long scan that holds the GIL: the reader would wait for each of them.
        reading.wait()
        _meanwhile(options.meanwhile)
        for name in names:
            xml = xmls.pop(name)
            scans[name].formulas = guards.scan_formulas(xml)
            spans[name] = _value_rows(xml, scans[name])
            del xml
        loaded = loading.result()

    tables: list[Table] = []
    numbers: list[SheetFigure] = []
    # fastexcel: 1.32 s of 3.66 s (36%), 100k-row xlsx, load 6 (bench/fastpaths.py)
    grids = _fast_grids(loaded, names, spans) or _calamine_grids(path, names)
    for name, grid in grids:
        scan = scans[name]
        grid.formulas = {(row - 1, col): FormulaNoValue(formula)
                         for (row, col), formula in scan.formulas.items()
                         if row <= grid.nrows and col < len(grid.columns)}
        table = table_from_grid(name, grid, options, findings, skipped, layouts)
        if table is not None:
            tables.append(table)
        elif grid.nrows:            # a sheet that holds no posts: its numbers, for reconcile
            numbers += sheet_figures(name, grid.head)
    return tables, skipped, fmt, numbers


def _meanwhile(modules: tuple[str, ...] = ()) -> None:
    """Import pandas while fastexcel reads: validation needs it next, and its 0.3 s of
    importing (which holds the GIL) then runs beside the read (which does not).  Then
    the caller's `modules` (a briefing's renderer: ReportLab, about 0.1 s), on this
    thread, so that no two threads import at once."""
    import pandas  # noqa: F401  # lazy: loaded here, beside fastexcel's read, on purpose

    for name in modules:
        importlib.import_module(name)


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


_ROW_NUMBER = re.compile(rb"<row\b[^>]*?\sr\s*=\s*[\"'](\d+)[\"']")
_HAS_VALUE = re.compile(rb"<v>[^<]|<is>")


def _value_rows(xml: bytes, scan: guards.SheetScan) -> tuple[int, int] | tuple[()] | None:
    """The first and last sheet rows (1-based) that hold a value, when every row is
    numbered, in ascending order, without namespace prefixes (as Excel, LibreOffice and
    every library we know write them); None for any other sheet, which python-calamine
    then reads; () for a sheet with no value at all.  fastexcel starts its table at the
    first row and column that hold a value: these, and its columns' absolute indices, put
    each cell back where it was.  `scan` is the guards' scan of the same XML, whose
    counts of row tags are not made again."""
    if scan.prefixed_row_tags:
        return None
    numbers = _ROW_NUMBER.findall(xml)
    if len(numbers) != scan.row_tags:
        return None
    if not numbers:
        return ()
    rows = np.array(numbers).astype(np.int64)
    if (np.diff(rows) <= 0).any():
        return None

    def holds_value(start: int) -> bool:
        tag_end = xml.find(b">", start)
        if tag_end < 0 or xml[tag_end - 1:tag_end] == b"/":     # <row r="5"/>: no cells
            return False
        end = xml.find(b"</row>", tag_end)
        return bool(_HAS_VALUE.search(xml, tag_end, end if end >= 0 else len(xml)))

    first, at = 0, xml.find(b"<row")          # the rows from the top, then from the bottom
    while at >= 0 and not holds_value(at):
        first, at = first + 1, xml.find(b"<row", at + 4)
    if at < 0:
        return ()
    last, at = len(rows) - 1, xml.rfind(b"<row")
    while not holds_value(at):
        last, at = last - 1, xml.rfind(b"<row", 0, at)
    return int(rows[first]), int(rows[last])


_Loaded = tuple[int, Any, int]      # (the table's height, its Arrow batch, its first column)


def _fast_load(path: Path, names: list[str], reading: threading.Event,
               ) -> dict[str, _Loaded | None] | None:
    """Each sheet's table through fastexcel (calamine straight into Arrow: no Python
    object per cell), None for a sheet it cannot load (a sheet with no value at all, for
    one); None for the whole file when fastexcel fails on it.  `reading` is set once
    fastexcel has been called, or has failed to import."""
    try:
        import fastexcel  # lazy: only an xlsx is read with it
    finally:
        reading.set()
    try:
        reader = fastexcel.read_excel(str(path))
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:   # fastexcel's errors and pyo3 panics: python-calamine decides
        return None
    out: dict[str, _Loaded | None] = {}
    for name in names:
        try:
            sheet = reader.load_sheet(name, header_row=None, dtypes="string")
            col0 = min((c.absolute_index for c in sheet.available_columns()), default=0)
            out[name] = (sheet.total_height, sheet.to_arrow(), col0)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException:
            out[name] = None
    return out


def _fast_grids(loaded: dict[str, _Loaded | None] | None, names: list[str],
                spans: dict[str, tuple[int, int] | tuple[()] | None],
                ) -> list[tuple[str, Grid]] | None:
    """Each sheet's cells, from A1, from fastexcel's tables put back where they stand;
    None when a sheet is not one `_value_rows` can place, or fastexcel failed or
    disagrees, so python-calamine reads the file instead."""
    if loaded is None or any(spans.get(n) is None for n in names):
        return None
    out = []
    for name in names:
        span = spans[name]
        if not span:                       # no value anywhere: as calamine reads it
            out.append((name, Grid([], 0, typed=True)))
            continue
        first, last = span
        table = loaded.get(name)
        if table is None or table[0] != last - first + 1:
            return None                    # not the rows we expected: read it the sure way
        _, batch, col0 = table
        out.append((name, Grid.placed(batch, first - 1, col0)))
    return out


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
