"""Spreadsheet reading: `read(path, options)` sniffs the format and returns a `Workbook`.

For each sheet with a recognisable header row the workbook has a `Table` of raw
cell values for the known fields, with the sheet row number of every row.
Personal-data columns are never copied out of the grid, so nothing downstream
can ever see them.  The work is done by:

    workbook   the types: Limits, ReadOptions, Workbook, Table, Column (Arrow text)
    guards     zip, XML and used-range checks before calamine sees a file
    xlsx       xlsx/xlsm sheets read with fastexcel (calamine into Arrow), or
               python-calamine for a sheet fastexcel's table cannot be placed from
    csvfile    CSV decoding, delimiter sniffing, and parsing with pyarrow's reader
               (or pandas' C parser and the csv module for any other file)
    tables     from a grid of cells to a Table (header search, totals rows)
"""

from __future__ import annotations

import os
from pathlib import Path

from ..model import codes
from ..model.errors import (
    CorruptFile,
    EmptyFile,
    ImpactError,
    NoHeaderRow,
    NotASpreadsheet,
    PasswordProtected,
    TooLarge,
    UnsupportedFormat,
    UsageProblem,
)
from ..model.findings import Findings, echo
from .contacts import REMOVED
from .csvfile import csv_rows, read_csv
from .digest import sha256_file
from .tables import Layout
from .workbook import (
    KIND_POST,
    KIND_SUBTOTAL,
    KIND_TOTAL,
    Column,
    FormulaNoValue,
    Limits,
    MiB,
    ReadOptions,
    Table,
    Workbook,
)
from .xlsx import read_xlsx

__all__ = ["KIND_POST", "KIND_SUBTOTAL", "KIND_TOTAL", "Column", "FormulaNoValue", "Limits",
           "ReadOptions", "Table", "Workbook", "csv_rows", "read"]


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
    kind = _sniff(path, head)
    findings = Findings()
    layouts: list[Layout] = []
    if kind == "zip":
        digest = sha256_file(path)
        tables, skipped, fmt, figures = read_xlsx(path, options, findings, layouts)
        encoding = delimiter = None
    else:
        tables, skipped, encoding, delimiter, digest = read_csv(path, options, findings,
                                                                layouts)
        fmt, figures = "csv", []
    if not tables:
        reasons = "; ".join(f"'{s}': {why}" for s, why in skipped) or "no sheets"
        if skipped and all("empty" in why for _, why in skipped):
            raise EmptyFile(f"{path.name}: no data to read ({reasons})")
        fixes = next((f for _, why in skipped if (f := getattr(why, "fixes", ()))), ())
        if options.header_row is not None:
            problem: ImpactError = NoHeaderRow(f"{path.name}: no table read ({reasons})",
                                               fixes=fixes)
        else:
            problem = NoHeaderRow(
                f"{path.name}: no header row found ({reasons}). A header row needs at least 3 "
                f"of the headings Team, Job title, Grade, FTE, Status or their aliases (see "
                f"the README), or say which of your headings hold the fields", fixes=fixes)
        problem.layouts = tuple(layouts)
        raise problem
    if sum(t.n_posts for t in tables) == 0 and any(t.where_dropped > 0 for t in tables):
        # the option given keeps nothing: a usage problem on the command line; with the
        # layouts, the portal's mapping step asks again which rows to read
        kept_none = UsageProblem(_kept_none(tables))
        kept_none.layouts = tuple(layouts)
        raise kept_none
    if sum(t.n_posts for t in tables) == 0:
        where = ", ".join(f"'{t.sheet}' (header at row {t.header_row})" for t in tables)
        empty = EmptyFile(f"{path.name}: the header row was found on {where} but there are "
                          f"no posts below it")
        empty.layouts = tuple(layouts)
        raise empty
    for sheet, why in skipped:
        findings.add(codes.SHEET_SKIPPED, f"Sheet '{sheet}' was not read: {why}.", sheet=sheet,
                     fixes=getattr(why, "fixes", ()))
    in_text = [(t.sheet, *t.in_text) for t in tables if t.in_text]
    if in_text:
        count = sum(n for _, n, _ in in_text)
        sheet, _, cell = in_text[0]
        findings.add(codes.CONTACT_DETAILS_IN_TEXT,
                     f"{count:,} cell{'s' if count != 1 else ''} below the header "
                     f"{'hold' if count != 1 else 'holds'} e-mail addresses, phone numbers or "
                     f"National Insurance numbers written in text (the first is cell {cell} of "
                     f"sheet '{sheet}'); each is shown as {REMOVED} in every output and in the "
                     f"annotated copy. Names written in text cannot be found reliably, so read "
                     f"the notes and other text columns for names before you share the file.",
                     sheet=sheet, cell=cell)
    return Workbook(path, path.name, digest, fmt, tables, skipped, findings, encoding, delimiter,
                    options, figures, layouts)


def _kept_none(tables: list[Table]) -> str:
    """'--where kept 0 of 81,603 rows; Month holds 2017-SEP, 2018-JUN'."""
    rows = sum(t.where_dropped for t in tables)
    held: dict[str, list[str]] = {}
    for t in tables:
        for heading, values in t.where_values.items():
            held.setdefault(heading, [])
            held[heading] += [v for v in values if v not in held[heading]]
    said = "; ".join(
        f"{echo(h)} holds " + (", ".join(echo(v) for v in vs[:_SHOWN]) +
                               (f" and {len(vs) - _SHOWN:,} more" if len(vs) > _SHOWN else "")
                               if vs else "only blanks")
        for h, vs in held.items())
    return f"--where kept 0 of {rows:,} rows" + (f"; {said}" if said else "")


_SHOWN = 12         # values of a --where column named when it keeps no row
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
    if suffix == ".xlsb":
        raise UnsupportedFormat(f"{path.name}: a binary workbook (.xlsb), which is not "
                                f"supported; open it and save it as .xlsx")
    if suffix in (".xls", ".ods", ".numbers"):
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
