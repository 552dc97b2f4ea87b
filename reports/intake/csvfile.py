"""Reading a CSV file: decoding, the delimiter, parsing into a `Grid`, and the table."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
from ..model.fixes import ENCODING, Fix, one
from .digest import sha256_bytes
from .tables import Grid, Layout, header_score, table_from_grid
from .workbook import ReadOptions, Table

MAX_COLUMNS = 16_384   # Excel's own limit (column XFD), as the xlsx guards assume


def read_csv(path: Path, options: ReadOptions, findings: Findings,
             layouts: list[Layout] | None = None,
             ) -> tuple[list[Table], list[tuple[str, str]], str, str, str]:
    """The file's table (none if it has no header row), the skipped "sheet", the
    encoding and the delimiter it was read with, and the sha256 of its bytes (read once,
    so the digest is of the very bytes parsed)."""
    if options.sheets:
        raise UsageProblem(f"{path.name}: --sheet applies only to workbooks, not CSV files")
    raw = path.read_bytes()
    # the digest is worked out beside the parse: hashlib lets go of the GIL on big buffers
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(sha256_bytes, raw)
        # pyarrow's parser: 4.85 s of 7.49 s (65%), 1M-row CSV, load 6 (bench/fastpaths.py)
        fast = _read_arrow(raw, options)
        digest_text = digest.result()
    if fast is not None:
        grid, encoding, delimiter = fast
    else:
        grid, encoding, delimiter = _read_text(path.name, raw, options)
    del raw
    if encoding == "cp1252" and not options.encoding:   # a guess, not the user's choice
        findings.add(codes.ENCODING,
                     f"{path.name} is not UTF-8; it was read as Windows-1252, so accented "
                     f"letters may look wrong.",
                     fixes=one(Fix(ENCODING)))
    skipped: list[tuple[str, str]] = []
    table = table_from_grid(path.name, grid, options, findings, skipped, layouts)
    del grid
    # Arrow's allocator keeps the parser's freed blocks for reuse; give them back, so the
    # rest of the run does not sit on top of them (a million rows: about 150 MB)
    pa.default_memory_pool().release_unused()
    return ([table] if table else []), skipped, encoding, delimiter, digest_text


def _read_text(name: str, raw: bytes, options: ReadOptions) -> tuple[Grid, str, str]:
    """Any CSV: decoded in full, then parsed by pandas' C parser or the csv module."""
    text, encoding = _decode(name, raw, options.encoding)
    if "\x00" in text[:65536]:
        raise NotASpreadsheet(f"{name}: not a spreadsheet (it holds binary data); give "
                              f"an .xlsx, .xlsm or .csv file")
    if not text.strip():
        raise EmptyFile(f"{name}: the file holds no data")
    delimiter, width, _ = _sniff_delimiter(text, options)
    _check_width(name, width)
    return _parse_csv(name, text, delimiter, width), encoding, delimiter


SAMPLE_BYTES = 256 * 1024
_UTF8 = ("utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig")


def _read_arrow(raw: bytes, options: ReadOptions) -> tuple[Grid, str, str] | None:
    """A UTF-8 file whose rows all have the same number of cells, read by pyarrow's
    multi-threaded parser straight into Arrow columns; None for any other file, which
    `_read_text` then reads (and explains, if it is not a CSV at all).

    Only the first 256 KiB are decoded in Python, to sniff the delimiter; pyarrow checks
    that the rest is UTF-8, and a file that is not (a Windows-1252 file with an accent
    past the sample) falls back to `_read_text`, so its findings are the same."""
    if options.encoding and options.encoding.lower() not in _UTF8:
        return None
    bom = raw.startswith(b"\xef\xbb\xbf")
    body = memoryview(raw)[3:] if bom else memoryview(raw)
    sample = bytes(body[:SAMPLE_BYTES])
    if len(body) > SAMPLE_BYTES:
        sample = sample[: sample.rfind(b"\n") + 1]
    if not sample or b"\x00" in sample[:65536]:
        return None
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip():
        return None
    delimiter, width, rows = _sniff_delimiter(text, options)
    if width > MAX_COLUMNS:
        return None
    dense = _mostly_distinct(rows)
    import pyarrow.csv as pacsv  # lazy: only a CSV is read with it (pyarrow itself is loaded)

    names = [f"c{j}" for j in range(max(width, 1))]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True,
                                           block_size=4 * 1024 * 1024),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"',
                                              double_quote=True, escape_char=False,
                                              newlines_in_values=True,
                                              ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                # dictionary-encoded as it is parsed: a repeated team name is stored once
                # (a column of IDs or amounts, all different, is left as plain text)
                column_types={n: pa.string() if j in dense else
                              pa.dictionary(pa.int32(), pa.string())
                              for j, n in enumerate(names)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False, check_utf8=True))
    except (pa.ArrowException, ValueError):
        return None     # ragged rows, bytes that are not UTF-8: the general way
    encoding = options.encoding or ("utf-8-sig" if bom else "utf-8")
    return Grid.from_arrow(table, dense=dense), encoding, delimiter


def _mostly_distinct(rows: list[list[str]]) -> set[int]:
    """The columns whose values in the sample's rows are mostly all different (IDs,
    amounts): encoding them as a dictionary while parsing would cost more than it saves."""
    if len(rows) < 100:
        return set()
    width = max(len(r) for r in rows)
    return {j for j in range(width)
            if len({r[j] for r in rows if j < len(r)}) > len(rows) // 2}


def csv_rows(path: Path, encoding: str, delimiter: str) -> list[list[str]]:
    """A CSV file's rows as the reader saw them (the same decoding), for a copy of it."""
    text, _ = _decode(path.name, path.read_bytes(), encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _parse_csv(name: str, text: str, delimiter: str, width: int) -> Grid:
    """pandas' C parser (3x the csv module's speed); the csv module when rows are ragged."""
    import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
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
            others = tuple(x for x in ("cp1252", "utf-8") if x != encoding.lower())
            raise BadEncoding(f"{name}: byte {e.start} cannot be read as {encoding} "
                              f"({e.reason}); say which character encoding the file uses",
                              fixes=one(Fix(ENCODING, None, others))) from None
        return text.removeprefix("\ufeff"), encoding
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise BadEncoding(f"{name}: starts with a UTF-8 marker but byte {e.start + 3} is "
                              f"not UTF-8; say which character encoding the file uses",
                              fixes=one(Fix(ENCODING))) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as e:
        raise BadEncoding(f"{name}: the file is neither UTF-8 nor Windows-1252 (byte "
                          f"{e.start}); say which character encoding it uses",
                          fixes=one(Fix(ENCODING))) from None


def _sniff_delimiter(text: str, options: ReadOptions,
                     ) -> tuple[str, int, list[list[str]]]:
    """The delimiter under which a header row is best recognised, the widest of the first
    rows under it, and the rows of the first 256 KiB as it splits them."""
    sample = text[: 256 * 1024]
    if len(text) > len(sample):
        sample = sample[: sample.rfind("\n") + 1] or sample
    best, best_score, best_width, best_rows = ",", -1, 1, []
    for delim in (",", ";", "\t"):
        try:
            rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delim))
        except csv.Error:
            continue
        first = rows[: max(options.limits.header_search_rows, 200)]
        head = first[: options.limits.header_search_rows]
        score = max((header_score(r, options.mapping) for r in head), default=0)
        width = max((len(r) for r in first), default=1)
        if score > best_score or (score == best_score and width > best_width):
            best, best_score, best_width, best_rows = delim, score, width, rows
    return best, best_width, best_rows
