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
import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import schema
from .errors import (
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
from .findings import INFO, WARNING, Findings, cell_ref, column_letter, echo

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
    max_cells: int = 25_000_000             # rows x columns of a sheet's used range
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
    data: pd.DataFrame               # one object column per mapped field

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
    digest = _sha256(path)
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
            f"{path.name}: no header row found in the first {options.limits.header_search_rows} "
            f"rows of any sheet ({reasons}). The header row needs at least 3 of the headings "
            f"Team, Job title, Grade, FTE, Status (or their aliases; see --help), or use "
            f"--map \"Your heading=field\"")
    if sum(t.n_posts for t in tables) == 0:
        where = ", ".join(f"'{t.sheet}' (header at row {t.header_row})" for t in tables)
        raise EmptyFile(f"{path.name}: the header row was found on {where} but there are no "
                        f"posts below it")
    for sheet, why in skipped:
        findings.add("sheet-skipped", INFO, f"Sheet '{sheet}' was not read: {why}.", sheet=sheet)
    return Workbook(path, path.name, digest, fmt, tables, skipped, findings, encoding, delimiter)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
        raise CorruptFile(f"{path.name}: named {suffix} but is not a valid workbook (it may be "
                          f"damaged or truncated); open it in a spreadsheet program and save "
                          f"it again")
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
            if row <= len(grid) and col < len(grid[row - 1]):
                grid[row - 1][col] = FormulaNoValue(formula)
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


_ROW_ATTR = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr=[\"'](\d+)[\"']")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_WIDE_REF = re.compile(rb"\sr=[\"']([A-Z]{2,3})(\d+)[\"']")
_ANY_REF = re.compile(rb"\sr=[\"']([A-Z]{1,3})(\d+)[\"']")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_END = re.compile(rb"</(?:\w+:)?c>|/>")
_CELL_START = re.compile(rb"<(?:\w+:)?c\s")
_VALUE = re.compile(rb"<(?:\w+:)?v\s*(?:/>|>(.*?)</(?:\w+:)?v>)", re.S)
_F_TEXT = re.compile(rb"<(?:\w+:)?f[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_T_ATTR = re.compile(rb"\st=[\"'](\w+)[\"']")


def _letters_to_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _scan_sheet(xml: bytes) -> _SheetScan:
    """The real used range (from the cell references, not the <dimension> tag, which
    calamine ignores too) and the formula cells that have no saved result."""
    max_row = len(_ROW_TAG.findall(xml))
    for m in _ROW_ATTR.finditer(xml):
        max_row = max(max_row, int(m.group(1)))
    max_col, far_cell = 26, None   # single-letter columns cost nothing to assume
    for m in _WIDE_REF.finditer(xml):
        col = _letters_to_index(m.group(1)) + 1
        if col > max_col:
            max_col, far_cell = col, (m.group(1) + m.group(2)).decode()
        max_row = max(max_row, int(m.group(2)))
    if far_cell is None and max_row > 1_000:
        far_cell = f"row {max_row:,}"
    formulas: dict[tuple[int, int], str] = {}
    for m in _FORMULA.finditer(xml):
        pos = m.start()
        starts = list(_CELL_START.finditer(xml, max(0, pos - 400), pos))
        if not starts:
            continue
        start = starts[-1].start()
        open_end = xml.find(b">", start)
        attrs = xml[start:open_end]
        end_m = re.compile(rb"</(?:\w+:)?c>").search(xml, pos)
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


def _calamine_grids(path: Path, names: list[str]) -> Iterable[tuple[str, list[list[Any]]]]:
    """Yield each sheet's cells as a list of rows, from A1, via python-calamine."""
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_path(str(path))
        for name in names:
            sheet = wb.get_sheet_by_name(name)
            yield name, sheet.to_python(skip_empty_area=False)
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
    raw = path.read_bytes()
    text, encoding = _decode(path.name, raw, options.encoding)
    del raw
    if "\x00" in text[:65536]:
        raise NotASpreadsheet(f"{path.name}: not a spreadsheet (it holds binary data); give "
                              f"an .xlsx, .xlsm or .csv file")
    if not text.strip():
        raise EmptyFile(f"{path.name}: the file holds no data")
    if options.sheets:
        raise UsageProblem(f"{path.name}: --sheet applies only to workbooks, not CSV files")
    delimiter = _sniff_delimiter(text, options)
    try:
        grid = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as e:
        raise CorruptFile(f"{path.name}: the CSV cannot be parsed ({e})") from None
    del text
    if encoding == "cp1252":
        findings.add("encoding", INFO,
                     f"{path.name} is not UTF-8; it was read as Windows-1252. If accented "
                     f"letters look wrong, give the right --encoding.")
    skipped: list[tuple[str, str]] = []
    table = _table_from_grid(path.name, grid, options, findings, skipped)
    return ([table] if table else []), skipped, encoding, delimiter


def _decode(name: str, raw: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise UsageProblem(f"--encoding {encoding!r} is not an encoding Python knows; try "
                               f"utf-8, cp1252 or latin-1") from None
        except UnicodeDecodeError as e:
            raise BadEncoding(f"{name}: byte {e.start} cannot be read as {encoding} "
                              f"({e.reason}); try --encoding cp1252 or utf-8") from None
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


def _sniff_delimiter(text: str, options: ReadOptions) -> str:
    """The delimiter under which a header row is best recognised."""
    sample_lines = text[: 256 * 1024].splitlines()[: options.limits.header_search_rows]
    sample = "\n".join(sample_lines)
    best, best_score = ",", -1
    for delim in (",", ";", "\t"):
        try:
            rows = list(csv.reader(io.StringIO(sample), delimiter=delim))
        except csv.Error:
            continue
        score = max((_header_score(r, options.mapping) for r in rows), default=0)
        width = max((len(r) for r in rows), default=0)
        if (score, width) > (best_score, 0) and (score > best_score or width > 1):
            best, best_score = delim, score
    return best


# --------------------------------------------------------------------------
# from a grid of cells to a table


def _header_score(row: Sequence[Any], mapping: dict[str, str]) -> int:
    fields = set()
    for cell in row:
        if isinstance(cell, str) and cell.strip():
            fld = schema.field_for_header(cell, mapping)
            if fld:
                fields.add(fld)
    return len(fields)


def _find_header(grid: list[list[Any]], options: ReadOptions) -> int | None:
    best, best_score = None, 2
    for i, row in enumerate(grid[: options.limits.header_search_rows]):
        score = _header_score(row, options.mapping)
        if score > best_score:
            best, best_score = i, score
    return best


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table_from_grid(sheet: str, grid: list[list[Any]], options: ReadOptions,
                     findings: Findings, skipped: list[tuple[str, str]]) -> Table | None:
    if not _any_data(grid):
        skipped.append((sheet, "it is empty"))
        return None
    h = _find_header(grid, options)
    if h is None:
        skipped.append((sheet, f"no header row in its first {options.limits.header_search_rows} "
                               f"rows (a header needs at least 3 of Team, Job title, Grade, "
                               f"FTE, Status)"))
        return None
    header = grid[h]
    header_row = h + 1
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    personal: list[int] = []
    for j, cell in enumerate(header):
        if _is_blank(cell):
            continue
        text = str(cell).strip()
        key = schema.normalise(text)
        explicit = options.mapping.get(key)
        fld = explicit or (None if schema.is_personal(text) else schema.field_for_header(text))
        ref = cell_ref(j, header_row)
        if fld is None and schema.is_personal(text):
            personal.append(j)
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

    body = grid[h + 1:]
    width = len(header)
    n = len(body)
    raw: dict[str, list[Any]] = {}
    for fld, j in columns.items():
        raw[fld] = [_clean(r[j]) if j < len(r) else "" for r in body]
    data = pd.DataFrame(raw, dtype=object) if raw else pd.DataFrame(index=range(n))
    nonblank = np.zeros(n, dtype=bool)
    for fld in columns:
        nonblank |= ~data[fld].eq("").to_numpy(dtype=bool)

    kinds = np.full(n, KIND_POST, dtype=object)
    if "status" in columns:
        candidates = np.flatnonzero(data["status"].eq("").to_numpy(dtype=bool))
        status_j = columns["status"]
    else:
        candidates = np.arange(n)
        status_j = -1
    skip_cols = set(personal)
    for i in candidates:
        row = body[i]
        label = _total_label(row, skip_cols, width)
        if label is not None:
            kinds[i] = label
            nonblank[i] = True
    if status_j >= 0:
        # A label in the status column itself ("Total") also marks a control total.
        status_text = data["status"]
        maybe = np.flatnonzero(status_text.map(lambda v: isinstance(v, str)
                                               and bool(schema.TOTAL_LABEL.match(v))
                                               ).to_numpy(dtype=bool)) if n else []
        for i in maybe:
            kinds[i] = _kind_of(str(status_text.iat[i]))
    keep = np.flatnonzero(nonblank)
    data = data.iloc[keep].reset_index(drop=True)
    rows = keep.astype(np.int64) + h + 2
    return Table(sheet, header_row, columns, headers, rows, kinds[keep], data)


def _any_data(grid: list[list[Any]]) -> bool:
    return any(not _is_blank(v) for row in grid for v in row)


def _clean(value: Any) -> Any:
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    return value


def _kind_of(label: str) -> str:
    return KIND_SUBTOTAL if schema.normalise(label).startswith("sub") else KIND_TOTAL


def _total_label(row: Sequence[Any], skip: set[int], width: int) -> str | None:
    for j, value in enumerate(row[: max(width, len(row))]):
        if j in skip or not isinstance(value, str):
            continue
        if schema.TOTAL_LABEL.match(value):
            return _kind_of(value)
    return None
