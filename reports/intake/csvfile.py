"""Reading a CSV file: decoding, the delimiter, parsing into a `Grid`, and the table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..model import codes
from ..model.errors import (
    AbsurdRange,
    BadEncoding,
    CorruptFile,
    EmptyFile,
    NotASpreadsheet,
    UsageProblem,
)
from ..model.findings import Findings
from .tables import Grid, header_score, table_from_grid
from .workbook import ReadOptions, Table

MAX_COLUMNS = 16_384   # Excel's own limit (column XFD), as the xlsx guards assume


def read_csv(path: Path, options: ReadOptions, findings: Findings,
             ) -> tuple[list[Table], list[tuple[str, str]], str, str]:
    """The file's table (none if it has no header row), the skipped "sheet", the
    encoding and the delimiter it was read with."""
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
    _check_width(path.name, width)
    grid = _parse_csv(path.name, text, delimiter, width)
    del text
    if encoding == "cp1252" and not options.encoding:   # a guess, not the user's choice
        findings.add(codes.ENCODING,
                     f"{path.name} is not UTF-8; it was read as Windows-1252. If accented "
                     f"letters look wrong, give the right --encoding.")
    skipped: list[tuple[str, str]] = []
    table = table_from_grid(path.name, grid, options, findings, skipped)
    return ([table] if table else []), skipped, encoding, delimiter


def csv_rows(path: Path, encoding: str, delimiter: str) -> list[list[str]]:
    """A CSV file's rows as the reader saw them (the same decoding), for a copy of it."""
    text, _ = _decode(path.name, path.read_bytes(), encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _parse_csv(name: str, text: str, delimiter: str, width: int) -> Grid:
    """pandas' C parser (3x the csv module's speed); the csv module when rows are ragged."""
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=None,
                            names=range(max(width, 1)), dtype=object, keep_default_na=False,
                            na_filter=False, skip_blank_lines=False, engine="c",
                            quotechar='"', doublequote=True)
        return Grid([pa.array(frame[j].to_numpy(dtype=object), pa.string())
                     for j in frame.columns], len(frame))
    except (pd.errors.ParserError, ValueError):
        pass  # a row wider than the first rows: read it the slow, general way
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            _check_width(name, len(row), len(rows) + 1)
            rows.append(row)
    except csv.Error as e:
        raise CorruptFile(f"{name}: the CSV cannot be parsed ({e})") from None
    return Grid.from_rows(rows)


def _check_width(name: str, width: int, row: int | None = None) -> None:
    """Refuse a row wider than any spreadsheet can be, before the rows are parsed
    (200,000 columns would take a minute and gigabytes)."""
    if width > MAX_COLUMNS:
        where = f"row {row:,}" if row is not None else "a row near the top"
        raise AbsurdRange(f"{name}: {where} has {width:,} columns, over Excel's limit of "
                          f"{MAX_COLUMNS:,}; this is not a schedule. Check the delimiter, or "
                          f"delete the stray columns and save")


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
        score = max((header_score(r, options.mapping) for r in head), default=0)
        width = max((len(r) for r in rows), default=1)
        if score > best_score or (score == best_score and width > best_width):
            best, best_score, best_width = delim, score, width
    return best, best_width
