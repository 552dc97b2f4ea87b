"""Spreadsheet reading: the only module that touches python-calamine, zipfile and csv.

`read(path, options)` returns a `Workbook`: for each sheet with a recognisable
header row, a `Table` of raw cell values for the known fields, with the
sheet row number of every row.  Personal-data columns are never copied out
of the grid, so nothing downstream can ever see them.

Reading xlsx uses python-calamine (about 10x faster than openpyxl), which has
sharp edges (ENGINEERING.md): it aborts the whole process on a far-away cell
and has no zip-bomb guard.  So before calamine sees a file we
  * check the zip's members: count, declared sizes, compression ratios;
  * inflate every XML part ourselves with a hard cap (zipfile never returns
    more than a member's declared size, and checks its CRC), which also proves
    the declared sizes true;
  * find each sheet's real used range from the cell references themselves
    and refuse an absurd one;
  * find formula cells that have no saved result, which calamine would
    silently read as blank.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from ..model import fields as schema
from ..model.errors import (
    AbsurdRange,
    BadEncoding,
    CorruptFile,
    EmptyFile,
    NoHeaderRow,
    NotASpreadsheet,
    PasswordProtected,
    TooLarge,
    UnsupportedFormat,
    UsageProblem,
)
from ..model.findings import INFO, WARNING, Findings, cell_ref, column_letter, echo
from .digest import sha256_file

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile or broken file from exhausting the machine."""

    max_file_bytes: int = 256 * MiB
    max_members: int = 2_000
    max_member_bytes: int = 512 * MiB       # one decompressed part
    max_total_bytes: int = 1024 * MiB       # all decompressed parts together
    max_ratio: float = 100.0                # compression ratio of one part
    ratio_floor_bytes: int = 1 * MiB        # parts smaller than this may compress better
    # rows x columns of a sheet's used range; room for Excel's 1,048,576 rows x 26 columns
    max_cells: int = 30_000_000
    header_search_rows: int = 30


@dataclass(frozen=True)
class ReadOptions:
    sheets: tuple[str, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)   # normalised header -> field
    encoding: str | None = None
    limits: Limits = Limits()


class FormulaNoValue:
    """Stands in the grid for a formula cell whose result was never saved."""

    __slots__ = ("formula",)

    def __init__(self, formula: str) -> None:
        self.formula = formula

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"FormulaNoValue({self.formula!r})"

    def __str__(self) -> str:
        return f"={self.formula}" if self.formula else "(formula)"


KIND_POST, KIND_TOTAL, KIND_SUBTOTAL = "post", "total", "subtotal"


@dataclass
class Table:
    """The posts (and control-total rows) of one sheet, as raw values."""

    sheet: str
    header_row: int                  # 1-based
    columns: dict[str, int]          # field -> 0-based column index
    headers: dict[str, str]          # field -> header text as written
    rows: np.ndarray                 # 1-based sheet row of each data row
    kinds: np.ndarray                # KIND_* of each data row
    data: dict[str, Column]        # the cells of each mapped field, one per data row

    def cell(self, fld: str, row: int) -> str:
        return cell_ref(self.columns[fld], row)

    @property
    def n_posts(self) -> int:
        return int((self.kinds == KIND_POST).sum())


@dataclass
class Workbook:
    """What was read from one file."""

    path: Path
    name: str
    sha256: str
    fmt: str
    tables: list[Table]
    skipped: list[tuple[str, str]]
    findings: Findings
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def sheets_read(self) -> list[str]:
        return [t.sheet for t in self.tables]

    @property
    def rows_read(self) -> int:
        return sum(t.n_posts for t in self.tables)


# --------------------------------------------------------------------------
# entry point


def read(path: str | os.PathLike[str], options: ReadOptions | None = None) -> Workbook:
    """Read a post-level schedule from an xlsx, xlsm or csv file."""
    options = options or ReadOptions()
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotASpreadsheet(f"{path}: no such file") from None
    except OSError as e:
        raise NotASpreadsheet(f"{path}: cannot be opened ({e.strerror})") from None
    if path.is_dir():
        raise NotASpreadsheet(f"{path}: is a folder, not a spreadsheet file")
    limit = options.limits.max_file_bytes
    if size > limit:
        raise TooLarge(f"{path.name}: the file is {size / MiB:.0f} MiB, over the "
                       f"{limit / MiB:.0f} MiB limit; split it or remove unused sheets")
    if size == 0:
        raise EmptyFile(f"{path.name}: the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(8)
    digest = sha256_file(path)
    kind = _sniff(path, head)
    findings = Findings()
    if kind == "zip":
        tables, skipped, fmt = _read_xlsx(path, options, findings)
        encoding = delimiter = None
    else:
        tables, skipped, encoding, delimiter = _read_csv(path, options, findings)
        fmt = "csv"
    if not tables:
        reasons = "; ".join(f"'{s}': {why}" for s, why in skipped) or "no sheets"
        if skipped and all("empty" in why for _, why in skipped):
            raise EmptyFile(f"{path.name}: no data to read ({reasons})")
        raise NoHeaderRow(
            f"{path.name}: no header row found ({reasons}). A header row needs at least 3 of "
            f"the headings Team, Job title, Grade, FTE, Status or their aliases (see the "
            f"README), or name yours with --map \"Your heading=field\"")
    if sum(t.n_posts for t in tables) == 0:
        where = ", ".join(f"'{t.sheet}' (header at row {t.header_row})" for t in tables)
        raise EmptyFile(f"{path.name}: the header row was found on {where} but there are no "
                        f"posts below it")
    for sheet, why in skipped:
        findings.add("sheet-skipped", INFO, f"Sheet '{sheet}' was not read: {why}.", sheet=sheet)
    return Workbook(path, path.name, digest, fmt, tables, skipped, findings, encoding, delimiter)


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _sniff(path: Path, head: bytes) -> str:
    """'zip' or 'text'; raises for formats we know but do not read."""
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(_OLE_MAGIC):
        with open(path, "rb") as fh:
            blob = fh.read(4 * MiB)
        if "EncryptedPackage".encode("utf-16-le") in blob:
            raise PasswordProtected(
                f"{path.name}: the workbook is password-protected; open it, remove the "
                f"password (File > Info > Protect Workbook) and save it again")
        raise UnsupportedFormat(
            f"{path.name}: this is an old Excel 97-2003 (.xls) workbook, which is not "
            f"supported; open it and save it as .xlsx")
    if suffix in (".xls", ".ods", ".numbers", ".xlsb"):
        raise UnsupportedFormat(
            f"{path.name}: {suffix} files are not supported; save the file as .xlsx or .csv")
    if suffix in (".xlsx", ".xlsm"):
        raise CorruptFile(f"{path.name}: named {suffix} but is not an Excel workbook: it is "
                          f"damaged or truncated, or another kind of file renamed; open it in "
                          f"a spreadsheet program and save it as .xlsx again")
    if suffix not in (".csv", ".txt", ".tsv", ""):
        raise NotASpreadsheet(
            f"{path.name}: not a spreadsheet; give an .xlsx, .xlsm or .csv file")
    return "text"


# --------------------------------------------------------------------------
# xlsx


_NS_RE = re.compile(r"^\{[^}]*\}")


def _local(tag: str) -> str:
    return _NS_RE.sub("", tag)


def _read_xlsx(path: Path, options: ReadOptions, findings: Findings,
               ) -> tuple[list[Table], list[tuple[str, str]], str]:
    limits = options.limits
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise CorruptFile(f"{path.name}: the file is damaged or truncated (not a readable zip "
                          f"archive); save it again from your spreadsheet program") from None
    with zf:
        names = set(zf.namelist())
        if "mimetype" in names and b"opendocument" in zf.read("mimetype")[:200]:
            raise UnsupportedFormat(f"{path.name}: OpenDocument (.ods) files are not "
                                    f"supported; save the file as .xlsx")
        if "xl/workbook.xml" not in names:
            if "EncryptedPackage" in names:
                raise PasswordProtected(f"{path.name}: the workbook is password-protected")
            raise NotASpreadsheet(f"{path.name}: a zip file, but not an Excel workbook "
                                  f"(no xl/workbook.xml); give an .xlsx, .xlsm or .csv file")
        _check_members(path.name, zf, limits)
        parts = {info.filename: _inflate(path.name, zf, info, limits)
                 for info in zf.infolist()
                 if info.filename.endswith((".xml", ".rels")) and not info.is_dir()}
    sheets = _workbook_sheets(path.name, parts)
    fmt = "xlsm" if path.suffix.lower() == ".xlsm" else "xlsx"
    wanted = _select_sheets(path.name, [name for name, _, _ in sheets], options.sheets)

    scans: dict[str, _SheetScan] = {}
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
        scan = _scan_sheet(xml)
        if scan.max_row * scan.max_col > limits.max_cells:
            far = f" at {scan.far_cell}" if scan.far_cell else ""
            raise AbsurdRange(
                f"{path.name}: sheet '{name}' has a cell{far}, so its used range is "
                f"{scan.max_row:,} rows x {scan.max_col:,} columns "
                f"({scan.max_row * scan.max_col:,} cells, over the {limits.max_cells:,} limit). "
                f"Delete the stray cells beyond the data (Ctrl+End finds the last one) and save")
        scans[name] = scan
    del parts

    tables: list[Table] = []
    grids = _calamine_grids(path, [n for n, _, _ in sheets if n in scans])
    for name, grid in grids:
        scan = scans[name]
        for (row, col), formula in scan.formulas.items():
            if row <= grid.nrows and col < len(grid.columns):
                grid.columns[col][row - 1] = FormulaNoValue(formula)
        table = _table_from_grid(name, grid, options, findings, skipped)
        if table is not None:
            tables.append(table)
    return tables, skipped, fmt


def _check_members(name: str, zf: zipfile.ZipFile, limits: Limits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise TooLarge(f"{name}: the workbook has {len(infos):,} parts, over the "
                       f"{limits.max_members:,} limit; it is not a normal spreadsheet")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise PasswordProtected(f"{name}: the workbook's parts are encrypted; remove the "
                                    f"password and save it again")
        total += info.file_size
        if info.file_size > limits.max_member_bytes:
            raise TooLarge(f"{name}: part {info.filename} would decompress to "
                           f"{info.file_size / MiB:,.0f} MiB, over the "
                           f"{limits.max_member_bytes / MiB:,.0f} MiB limit")
        if (info.file_size > limits.ratio_floor_bytes
                and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
            raise TooLarge(f"{name}: part {info.filename} is compressed "
                           f"{info.file_size / max(info.compress_size, 1):,.0f}:1 "
                           f"(real workbooks are about 10:1; over {limits.max_ratio:.0f}:1 is "
                           f"refused as a possible zip bomb)")
    if total > limits.max_total_bytes:
        raise TooLarge(f"{name}: the workbook would decompress to {total / MiB:,.0f} MiB, over "
                       f"the {limits.max_total_bytes / MiB:,.0f} MiB limit")


def _inflate(name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """Decompress one part.  zipfile stops at the declared size and checks the CRC,
    so a part that lies about its size is caught here, before calamine reads it."""
    try:
        with zf.open(info) as fh:
            data = fh.read(limits.max_member_bytes + 1)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as e:
        raise CorruptFile(f"{name}: part {info.filename} is damaged ({e}); save the workbook "
                          f"again from your spreadsheet program") from None
    except Exception as e:  # zlib.error and friends: the archive is damaged
        raise CorruptFile(f"{name}: part {info.filename} cannot be decompressed ({e})") from None
    if len(data) != info.file_size:
        raise CorruptFile(f"{name}: part {info.filename} is truncated")
    return data


def _parse_xml(name: str, part: str, data: bytes) -> Any:
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException

    try:
        return SafeET.fromstring(data)
    except DefusedXmlException:
        raise CorruptFile(f"{name}: {part} contains XML entity declarations, which are refused "
                          f"(a possible XML bomb)") from None
    except SafeET.ParseError as e:
        raise CorruptFile(f"{name}: {part} is not well-formed XML ({e})") from None


def _workbook_sheets(name: str, parts: dict[str, bytes]) -> list[tuple[str, str, str]]:
    """[(sheet name, part path, kind)] in workbook order."""
    root = _parse_xml(name, "xl/workbook.xml", parts["xl/workbook.xml"])
    rels_xml = parts.get("xl/_rels/workbook.xml.rels")
    targets: dict[str, tuple[str, str]] = {}
    if rels_xml is not None:
        for rel in _parse_xml(name, "xl/_rels/workbook.xml.rels", rels_xml):
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


@dataclass
class _SheetScan:
    max_row: int
    max_col: int
    far_cell: str | None
    formulas: dict[tuple[int, int], str]   # (1-based row, 0-based col) -> formula text


# XML allows spaces around "=", and calamine reads lower-case references too.
# These start with a literal "r" so that re can skip ahead fast (0.08 s for a 45 MB sheet,
# against 0.22 s for a pattern that starts with a character class).  Any attribute
# ending in "r" can match too ("header"); that only overestimates the range.
_ROW_ATTR = re.compile(rb"r\s*=\s*[\"'](\d+)[\"']")
_WIDE_REF = re.compile(rb"r\s*=\s*[\"']([A-Za-z]{2,3})(\d+)[\"']")
_ANY_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]{1,3})(\d+)[\"']")
# A cell start tag with no r attribute: calamine puts it one column after the previous cell.
_UNREF_CELL = re.compile(
    rb"<(?:\w+:)?c(?:\s+(?!r\s*=)[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>")
_ROW_SPAN = re.compile(rb"<(?:\w+:)?row\b[^>]*?(?:/>|>.*?</(?:\w+:)?row>)", re.S)
# Quick tests for a cell tag whose first attribute is not r (a superset of the above).
_MAYBE_UNREF = (re.compile(rb"<c(?:>|/>|\s+(?!r\s*=))"), re.compile(rb":c(?:>|/>|\s+(?!r\s*=))"))
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_CELL_START = re.compile(rb"<(?:\w+:)?c\s")
_VALUE = re.compile(rb"<(?:\w+:)?v\s*(?:/>|>(.*?)</(?:\w+:)?v>)", re.S)
_F_TEXT = re.compile(rb"<(?:\w+:)?f[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_T_ATTR = re.compile(rb"\st=[\"'](\w+)[\"']")


def _letters_to_index(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n - 1


def _scan_sheet(xml: bytes) -> _SheetScan:
    """The real used range (from the cell references, not the <dimension> tag, which
    calamine ignores too) and the formula cells that have no saved result."""
    # Rows without an r attribute are placed one after another, so count the tags too.
    max_row = xml.count(b"<row") + xml.count(b":row")
    numbered = _ROW_ATTR.findall(xml)
    if numbered:
        max_row = max(max_row, max(map(int, numbered)))
    max_col, far_cell = 26, None   # single-letter columns cost nothing to assume
    for m in _WIDE_REF.finditer(xml):
        col = _letters_to_index(m.group(1)) + 1
        if col > max_col:
            max_col, far_cell = col, (m.group(1) + m.group(2)).decode()
        max_row = max(max_row, int(m.group(2)))
    if any(p.search(xml) for p in _MAYBE_UNREF) and _UNREF_CELL.search(xml):
        # Cells without a reference: a row reaches at most its last referenced column
        # plus the number of its unreferenced cells (rare; Excel always writes r).
        for span in _ROW_SPAN.finditer(xml):
            body = span.group()
            col = max((_letters_to_index(m.group(1)) + 1 for m in _ANY_REF.finditer(body)),
                      default=0) + len(_UNREF_CELL.findall(body))
            if col > max_col:
                max_col = min(col, 16_384)
                far_cell = f"column {column_letter(max_col - 1)}"
    if far_cell is None and max_row > 1_000:
        far_cell = f"row {max_row:,}"
    formulas: dict[tuple[int, int], str] = {}
    if b"<f" not in xml and b":f" not in xml:
        return _SheetScan(max_row, max_col, far_cell, formulas)
    for m in _FORMULA.finditer(xml):
        pos = m.start()
        starts = list(_CELL_START.finditer(xml, max(0, pos - 400), pos))
        if not starts:
            continue
        start = starts[-1].start()
        open_end = xml.find(b">", start)
        attrs = xml[start:open_end]
        end_m = _CELL_END.search(xml, pos)
        body = xml[open_end + 1:end_m.start() if end_m else len(xml)]
        value = _VALUE.search(body)
        cell_type = _T_ATTR.search(attrs)
        is_str = cell_type is not None and cell_type.group(1) == b"str"
        has_value = value is not None and (bool(value.group(1)) or is_str)
        if has_value:
            continue
        ref = _ANY_REF.search(attrs)
        if ref is None:
            continue
        f_text = _F_TEXT.search(body)
        text = (f_text.group(1) or b"").decode("utf-8", "replace") if f_text else ""
        formulas[(int(ref.group(2)), _letters_to_index(ref.group(1)))] = _unescape(text)
    return _SheetScan(max_row, max_col, far_cell, formulas)


def _unescape(text: str) -> str:
    from xml.sax.saxutils import unescape

    return unescape(text, {"&quot;": '"', "&apos;": "'"})


def _calamine_grids(path: Path, names: list[str]) -> Iterable[tuple[str, Grid]]:
    """Yield each sheet's cells, from A1, as columns, via python-calamine."""
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
        for name in names:
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            yield name, Grid.from_rows(rows)
    except pc.PasswordError:
        raise PasswordProtected(f"{path.name}: the workbook is password-protected; remove the "
                                f"password and save it again") from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as e:  # CalamineError, XmlError, ZipError, and pyo3 panics
        raise CorruptFile(f"{path.name}: the workbook cannot be read ({type(e).__name__}: "
                          f"{echo(e)}); open it in a spreadsheet program and save it again"
                          ) from None


# --------------------------------------------------------------------------
# csv


def _read_csv(path: Path, options: ReadOptions, findings: Findings,
              ) -> tuple[list[Table], list[tuple[str, str]], str, str]:
    if options.sheets:
        raise UsageProblem(f"{path.name}: --sheet applies only to workbooks, not CSV files")
    raw = path.read_bytes()
    text, encoding = _decode(path.name, raw, options.encoding)
    del raw
    if "\x00" in text[:65536]:
        raise NotASpreadsheet(f"{path.name}: not a spreadsheet (it holds binary data); give "
                              f"an .xlsx, .xlsm or .csv file")
    if not text.strip():
        raise EmptyFile(f"{path.name}: the file holds no data")
    delimiter, width = _sniff_delimiter(text, options)
    grid = _parse_csv(path.name, text, delimiter, width)
    del text
    if encoding == "cp1252" and not options.encoding:   # a guess, not the user's choice
        findings.add("encoding", INFO,
                     f"{path.name} is not UTF-8; it was read as Windows-1252. If accented "
                     f"letters look wrong, give the right --encoding.")
    skipped: list[tuple[str, str]] = []
    table = _table_from_grid(path.name, grid, options, findings, skipped)
    return ([table] if table else []), skipped, encoding, delimiter


def _parse_csv(name: str, text: str, delimiter: str, width: int) -> Grid:
    """pandas' C parser (3x the csv module's speed); the csv module when rows are ragged."""
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=None,
                            names=range(max(width, 1)), dtype=object, keep_default_na=False,
                            na_filter=False, skip_blank_lines=False, engine="c",
                            quotechar='"', doublequote=True)
        return Grid([frame[j].to_numpy(dtype=object) for j in frame.columns], len(frame))
    except (pd.errors.ParserError, ValueError):
        pass  # a row wider than the first rows: read it the slow, general way
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as e:
        raise CorruptFile(f"{name}: the CSV cannot be parsed ({e})") from None
    return Grid.from_rows(rows)


def _decode(name: str, raw: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            text = raw.decode(encoding)
        except LookupError:
            raise UsageProblem(f"--encoding {encoding!r} is not an encoding Python knows; try "
                               f"utf-8, cp1252 or latin-1") from None
        except UnicodeDecodeError as e:
            raise BadEncoding(f"{name}: byte {e.start} cannot be read as {encoding} "
                              f"({e.reason}); try --encoding cp1252 or utf-8") from None
        return text.removeprefix("\ufeff"), encoding
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise BadEncoding(f"{name}: starts with a UTF-8 marker but byte {e.start + 3} is "
                              f"not UTF-8; give the right --encoding") from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as e:
        raise BadEncoding(f"{name}: the file is neither UTF-8 nor Windows-1252 (byte "
                          f"{e.start}); give its --encoding") from None


def csv_rows(path: Path, encoding: str, delimiter: str) -> list[list[str]]:
    """A CSV file's rows as the reader saw them (the same decoding), for a copy of it."""
    text, _ = _decode(path.name, path.read_bytes(), encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _sniff_delimiter(text: str, options: ReadOptions) -> tuple[str, int]:
    """The delimiter under which a header row is best recognised, and the widest of
    the first rows under it."""
    sample = text[: 256 * 1024]
    if len(text) > len(sample):
        sample = sample[: sample.rfind("\n") + 1] or sample
    best, best_score, best_width = ",", -1, 1
    for delim in (",", ";", "\t"):
        try:
            rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delim))
        except csv.Error:
            continue
        rows = rows[: max(options.limits.header_search_rows, 200)]
        head = rows[: options.limits.header_search_rows]
        score = max((_header_score(r, options.mapping) for r in head), default=0)
        width = max((len(r) for r in rows), default=1)
        if score > best_score or (score == best_score and width > best_width):
            best, best_score, best_width = delim, score, width
    return best, best_width


# --------------------------------------------------------------------------
# from a grid of cells to a table


@dataclass
class Grid:
    """A sheet's cells as columns of objects (rows are positions in each column)."""

    columns: list[np.ndarray]
    nrows: int

    @classmethod
    def from_rows(cls, rows: list[list[Any]]) -> Grid:
        if not rows:
            return cls([], 0)
        width = max(len(r) for r in rows)
        if any(len(r) != width for r in rows):
            rows = [list(r) + [""] * (width - len(r)) for r in rows]
        cols = [np.array(c, dtype=object) for c in zip(*rows)]
        return cls(cols, len(rows))

    def row(self, i: int) -> list[Any]:
        return [c[i] for c in self.columns]


@dataclass
class Column:
    """One field's cells: a code per row into an array of distinct, cleaned values.

    Rules run once per distinct value and spread to the rows by the codes, so a
    million-row status column costs a handful of regex calls, not a million.
    """

    codes: np.ndarray      # intp, one per row
    uniques: np.ndarray    # object: distinct cleaned values

    @classmethod
    def of(cls, values: np.ndarray) -> Column:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        codes, uniques = _split_booleans(values, codes, uniques)
        cleaned = np.array([_clean(v) for v in uniques], dtype=object)
        # Cleaning can merge values (" A" and "A"); it changed something only where it
        # returned a new object (str.strip returns the same one when there is nothing to do).
        if any(c is not u for c, u in zip(cleaned, uniques)):
            recodes, cleaned = pd.factorize(cleaned, use_na_sentinel=False)
            codes = recodes[codes]
        return cls(np.asarray(codes, dtype=np.intp), np.asarray(cleaned, dtype=object))

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> Any:
        return self.uniques[self.codes[i]]

    def take(self, idx: np.ndarray) -> Column:
        return Column(self.codes[idx], self.uniques)

    def values(self) -> np.ndarray:
        return self.uniques[self.codes]

    def map(self, func: Any, dtype: Any = object) -> np.ndarray:
        """func applied to each distinct value, spread to every row."""
        out = np.array([func(v) for v in self.uniques], dtype=dtype)
        return out[self.codes] if len(out) else np.zeros(len(self.codes), dtype=dtype)

    def blank(self) -> np.ndarray:
        """Which rows are blank (cleaning has made every blank cell "")."""
        return self.map(lambda v: v == "", bool)

    def spread(self, per_unique: np.ndarray) -> np.ndarray:
        """An array computed over `uniques`, spread to every row."""
        return per_unique[self.codes]


def _split_booleans(values: np.ndarray, codes: np.ndarray, uniques: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """factorize() hashes True as 1 and False as 0, so a TRUE cell among 1s would pass as
    the number 1.  Give the booleans their own codes (they clean to "TRUE"/"FALSE")."""
    extra: list[Any] = []
    for k, u in enumerate(uniques):
        if u.__class__ not in (bool, int, float) or not (u == 0 or u == 1):
            continue
        idx = np.flatnonzero(codes == k)
        is_bool = np.fromiter((v.__class__ is bool for v in values[idx]), bool, len(idx))
        if is_bool.all() or not is_bool.any():
            continue
        odd = idx[is_bool] if u.__class__ is not bool else idx[~is_bool]
        codes = codes.copy() if not extra else codes
        codes[odd] = len(uniques) + len(extra)
        extra.append(values[odd[0]])
    if extra:
        uniques = np.concatenate([np.asarray(uniques, dtype=object),
                                  np.array(extra, dtype=object)])
    return codes, uniques


def _header_score(row: Sequence[Any], mapping: dict[str, str]) -> int:
    fields = set()
    for cell in row:
        if isinstance(cell, str) and cell.strip():
            fld = schema.field_for_header(cell, mapping)
            if fld:
                fields.add(fld)
    return len(fields)


def _find_header(grid: Grid, options: ReadOptions) -> int | None:
    best, best_score = None, 2
    for i in range(min(grid.nrows, options.limits.header_search_rows)):
        score = _header_score(grid.row(i), options.mapping)
        if score > best_score:
            best, best_score = i, score
    return best


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table_from_grid(sheet: str, grid: Grid, options: ReadOptions,
                     findings: Findings, skipped: list[tuple[str, str]]) -> Table | None:
    if not any(np.any((c != "") & (c != None)) for c in grid.columns):  # noqa: E711
        skipped.append((sheet, "it is empty"))
        return None
    h = _find_header(grid, options)
    if h is None:
        skipped.append((sheet, f"no header row in its first {options.limits.header_search_rows} "
                               f"rows"))
        return None
    header = grid.row(h)
    header_row = h + 1
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    personal: set[int] = set()
    for j, cell in enumerate(header):
        if _is_blank(cell) or isinstance(cell, FormulaNoValue):
            continue
        text = str(cell).strip()
        key = schema.normalise(text)
        explicit = options.mapping.get(key)
        fld = explicit or (None if schema.is_personal(text) else schema.field_for_header(text))
        ref = cell_ref(j, header_row)
        if fld is None and schema.is_personal(text):
            personal.add(j)
            findings.add("personal-data", WARNING,
                         f"Column {column_letter(j)} '{echo(text)}' holds personal data; it was "
                         f"dropped when the file was read and appears in no output. Remove it "
                         f"from copies of the file you share.",
                         sheet=sheet, cell=ref, column=text)
        elif fld is None:
            findings.add("unknown-column", INFO,
                         f"Column {column_letter(j)} '{echo(text)}' is not a known heading and "
                         f"was ignored; if it holds one of the fields, use "
                         f"--map \"{echo(text)}=FIELD\".",
                         sheet=sheet, cell=ref, column=text)
        elif fld in columns:
            first = columns[fld]
            if explicit and schema.normalise(headers[fld]) not in options.mapping:
                columns[fld], headers[fld] = j, text   # an explicit --map beats an alias
                continue
            findings.add("duplicate-column", "error",
                         f"Columns {column_letter(first)} '{echo(headers[fld])}' and "
                         f"{column_letter(j)} '{echo(text)}' both look like the "
                         f"{schema.FIELD_BY_NAME[fld].label} field; rename one, or choose one "
                         f"with --map \"{echo(text)}={fld}\"",
                         sheet=sheet, cell=ref, column=text, value=text)
        else:
            columns[fld], headers[fld] = j, text

    start = h + 1
    n = grid.nrows - start
    data = {fld: Column.of(grid.columns[j][start:]) for fld, j in columns.items()}
    nonblank = np.zeros(n, dtype=bool)
    for col in data.values():
        nonblank |= ~col.blank()

    # Control-total rows: no status, and some text cell (in any column) reads "Total"...
    kinds = np.full(n, KIND_POST, dtype=object)
    if "status" in data:
        status = data["status"]
        candidates = np.flatnonzero(status.blank())
        # ... or the status cell itself reads "Total".
        in_status = status.map(_label_kind)
        kinds = np.where(in_status != "", in_status, kinds)
    else:
        candidates = np.arange(n)
    if len(candidates):
        found = np.full(len(candidates), "", dtype=object)
        for j, values in enumerate(grid.columns):
            if j in personal:
                continue
            label = Column.of(values[start:][candidates]).map(_label_kind)
            found = np.where(found == "", label, found)
        hit = found != ""
        if "title" in data and "grade" in data:
            # A row with a job title and a grade is a post (with a blank status), even when
            # a cell such as its title reads "Total Rewards Officer"; never drop it silently.
            a_post = ~data["title"].blank() & ~data["grade"].blank()
            hit &= ~a_post[candidates]
        kinds[candidates[hit]] = found[hit]
        nonblank[candidates[hit]] = True
    keep = np.flatnonzero(nonblank)
    rows = keep.astype(np.int64) + start + 1
    return Table(sheet, header_row, columns, headers, rows, kinds[keep],
                 {fld: col.take(keep) for fld, col in data.items()})


def _clean(value: Any) -> Any:
    """Strip text; blanks become ""; booleans, dates and the like become text."""
    cls = value.__class__
    if cls is str:
        return value.strip()
    if value is None:
        return ""
    if cls is float:
        return "" if value != value else value      # NaN is a blank
    if cls is int or cls is FormulaNoValue:
        return value
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _label_kind(value: Any) -> str:
    """'total' or 'subtotal' when a cell reads like a control-total label, else ''."""
    if value.__class__ is not str or not schema.TOTAL_LABEL.match(value):
        return ""
    return KIND_SUBTOTAL if schema.normalise(value).startswith("sub") else KIND_TOTAL
