"""The checks an xlsx file passes before python-calamine sees it.

python-calamine has sharp edges (ENGINEERING.md): it aborts the whole process on
a far-away cell and has no zip-bomb guard.  So before calamine sees a file we
  * check the zip's members: count, declared sizes, compression ratios;
  * inflate every XML part ourselves with a hard cap (ISA-L for plain deflate, one
    byte over the declared size at most; else zipfile, which never returns more than
    the declared size), checking its size and CRC, which proves the declared sizes
    true;
  * parse the XML we read ourselves with defusedxml (no entity declarations);
  * find each sheet's real used range from the cell references themselves
    and refuse an absurd one;
  * find formula cells that have no saved result, which calamine would
    silently read as blank.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..model.errors import (
    AbsurdRange,
    CorruptFile,
    NotASpreadsheet,
    PasswordProtected,
    TooLarge,
    UnsupportedFormat,
)
from ..model.findings import column_index, column_letter, echo
from .workbook import Limits, MiB


def workbook_parts(path: Path, limits: Limits) -> dict[str, bytes]:
    """Every XML part of an xlsx/xlsm zip, inflated under the limits, by part name."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise CorruptFile(f"{path.name}: the file is damaged or truncated (not a readable zip "
                          f"archive); save it again from your spreadsheet program") from None
    except (NotImplementedError, ValueError, EOFError, OSError) as e:
        # A corrupt "version needed to extract" (NotImplementedError: zip file version 25.5),
        # a name flagged UTF-8 that is not (UnicodeDecodeError), and the like.
        raise CorruptFile(f"{path.name}: the file is damaged (its zip directory cannot be "
                          f"read: {echo(e)}); save it again from your spreadsheet "
                          f"program") from None
    with zf:
        # Some writers store part names with backslashes ("xl\\workbook.xml"), which Excel
        # and calamine read; the parts are looked up by their name with forward slashes.
        names = {n.replace("\\", "/") for n in zf.namelist()}
        if "xl/workbook.bin" in names:
            raise UnsupportedFormat(f"{path.name}: a binary workbook (.xlsb), which is not "
                                    f"supported; open it and save it as .xlsx")
        if "mimetype" in names and b"opendocument" in _head(path.name, zf, "mimetype", 200):
            raise UnsupportedFormat(f"{path.name}: OpenDocument (.ods) files are not "
                                    f"supported; save the file as .xlsx")
        if "xl/workbook.xml" not in names:
            if "EncryptedPackage" in names:
                raise PasswordProtected(f"{path.name}: the workbook is password-protected")
            raise NotASpreadsheet(f"{path.name}: a zip file, but not an Excel workbook "
                                  f"(no xl/workbook.xml); give an .xlsx, .xlsm or .csv file")
        _check_members(path.name, zf, limits)
        with open(path, "rb") as fh:
            return {info.filename.replace("\\", "/"): _inflate(path.name, zf, fh, info, limits)
                    for info in zf.infolist()
                    if info.filename.endswith((".xml", ".rels")) and not info.is_dir()}


def _head(name: str, zf: zipfile.ZipFile, part: str, size: int) -> bytes:
    """The first `size` bytes of a part, read before the members are checked: never more."""
    try:
        with zf.open(part) as fh:
            return fh.read(size)
    except Exception as e:  # BadZipFile, NotImplementedError, zlib.error ...
        raise CorruptFile(f"{name}: part {part} is damaged ({echo(e)}); save the file again "
                          f"from your spreadsheet program") from None


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


def _inflate(name: str, zf: zipfile.ZipFile, fh: BinaryIO, info: zipfile.ZipInfo,
             limits: Limits) -> bytes:
    """Decompress one part.  zipfile stops at the declared size and checks the CRC,
    so a part that lies about its size is caught here, before calamine reads it."""
    # ISA-L inflate: 0.08 s CPU of 2.40 s (3%), 100k-row xlsx, load 6 (bench/fastpaths.py)
    data = _inflate_quickly(fh, info)
    if data is not None:
        return data
    try:
        with zf.open(info) as member:
            data = member.read(limits.max_member_bytes + 1)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as e:
        raise CorruptFile(f"{name}: part {info.filename} is damaged ({e}); save the workbook "
                          f"again from your spreadsheet program") from None
    except Exception as e:  # zlib.error and friends: the archive is damaged
        raise CorruptFile(f"{name}: part {info.filename} cannot be decompressed ({e})") from None
    if len(data) != info.file_size:
        raise CorruptFile(f"{name}: part {info.filename} is truncated")
    return data


# Deflate's general-purpose flags a part may have for `_inflate_quickly`: the compression
# level (bits 1-2), sizes in a data descriptor (bit 3; the central directory has them
# too) and UTF-8 names (bit 11).  Anything else is left to zipfile.
_PLAIN_FLAGS = 0x2 | 0x4 | 0x8 | 0x800
_LOCAL_HEADER = struct.Struct("<4s22xHH")      # signature ... name length, extra length


def _inflate_quickly(fh: BinaryIO, info: zipfile.ZipInfo) -> bytes | None:
    """A deflated part through ISA-L (python-isal) in one call, capped at one byte over
    its declared size; None when anything about it is not plain (another method, other
    flags, a local header that differs, a stream that is not exactly the declared size
    with the declared CRC), so that zipfile reads it and reports what is wrong."""
    from isal import isal_zlib  # lazy: only an xlsx is inflated

    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & ~_PLAIN_FLAGS:
        return None
    fh.seek(info.header_offset)
    header = fh.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size:
        return None
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != b"PK\x03\x04" or fh.read(name_length) != info.orig_filename.encode(
            "utf-8" if info.flag_bits & 0x800 else "cp437", "replace"):
        return None
    start = fh.seek(extra_length, 1)
    # a compressed size past the end of the file (up to 2**64 in Zip64) is never read
    # into one buffer: zipfile reads such a part in chunks and says what is wrong
    if info.compress_size > os.fstat(fh.fileno()).st_size - start:
        return None
    raw = fh.read(info.compress_size)
    if len(raw) != info.compress_size:
        return None
    try:
        data = isal_zlib.decompressobj(-15).decompress(raw, info.file_size + 1)
    except Exception:   # isal_zlib.error (its stubs declare it an instance): zipfile says
        return None
    if len(data) != info.file_size or isal_zlib.crc32(data) != info.CRC:
        return None
    return data


def parse_xml(name: str, part: str, data: bytes) -> Any:
    """An XML part as an ElementTree element, parsed with defusedxml."""
    from defusedxml import ElementTree as SafeET
    from defusedxml.common import DefusedXmlException

    try:
        return SafeET.fromstring(data)
    except DefusedXmlException:
        raise CorruptFile(f"{name}: {part} contains XML entity declarations, which are refused "
                          f"(a possible XML bomb)") from None
    except SafeET.ParseError as e:
        raise CorruptFile(f"{name}: {part} is not well-formed XML ({e})") from None


# --------------------------------------------------------------------------
# a sheet's used range and its formulas without a saved result


@dataclass
class SheetScan:
    max_row: int
    max_col: int
    far_cell: str | None
    formulas: dict[tuple[int, int], str]   # (1-based row, 0-based col) -> formula text
    row_tags: int = 0              # "<row" in the XML (for the reader's placing of a table)
    prefixed_row_tags: int = 0     # ":row", a row element with a namespace prefix


def check_range(name: str, sheet: str, scan: SheetScan, limits: Limits) -> None:
    """Refuse a sheet whose used range is over the cell limit (calamine would abort)."""
    if scan.max_row * scan.max_col > limits.max_cells:
        far = f" at {scan.far_cell}" if scan.far_cell else ""
        raise AbsurdRange(
            f"{name}: sheet '{sheet}' has a cell{far}, so its used range is "
            f"{scan.max_row:,} rows x {scan.max_col:,} columns "
            f"({scan.max_row * scan.max_col:,} cells, over the {limits.max_cells:,} limit). "
            f"Delete the stray cells beyond the data (Ctrl+End finds the last one) and save")


# XML allows spaces around "=", and calamine reads lower-case references too.  The
# patterns start with a literal "r" so that re can skip ahead fast (0.08 s for a 45 MB
# sheet, against 0.22 s for one that starts with a character class).  Any attribute
# ending in "r" can match too ("header"); that only overestimates the range.
#
# calamine places a cell by its reference: any number of letters, then the row.  Every
# reference with two or more letters can widen the range, and so can a one-letter
# reference with a large row: a cell at A99999999 inside <row r="2"> is where calamine
# puts it (it tried to allocate 35 GB for one).  One-letter references are most of a
# sheet's cells, so `_refs` finds only those whose row is over the count of row tags
# (a row at or under it cannot be the largest).  A reference with no letters is a row's
# number.
@functools.lru_cache(maxsize=16)
def _refs(row_tags: int) -> re.Pattern[bytes]:
    # (?=\d{n}) first: most rows are shorter, and fail that test fastest.
    return re.compile(rb"r\s*=\s*[\"'](?:([A-Za-z]{2,})|[A-Za-z](?=\d{%d})(?=(?:%s)[\"']))?"
                      rb"(\d+)[\"']" % (len(str(row_tags)), greater_than(row_tags)))


def greater_than(n: int) -> bytes:
    """A pattern for the runs of digits whose value is over `n` (and some with leading
    zeros that are not: those only cost a match): any longer run, or a run as long whose
    digits first differ from n's by being larger."""
    digits = str(n).encode()
    ways = [rb"\d{%d,}" % (len(digits) + 1)]
    for i, d in enumerate(digits):
        if d < ord("9"):
            ways.append(digits[:i] + b"[%c-9]" % (d + 1) + rb"\d" * (len(digits) - i - 1))
    return b"|".join(ways)


_ANY_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]+)(\d+)[\"']")
# A cell start tag with no r attribute: calamine puts it one column after the previous cell.
_UNREF_CELL = re.compile(
    rb"<(?:\w+:)?c(?:\s+(?!r\s*=)[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/?>")
_ROW_SPAN = re.compile(rb"<(?:\w+:)?row\b[^>]*?(?:/>|>.*?</(?:\w+:)?row>)", re.S)
# Quick tests for a cell tag whose first attribute is not r (a superset of the above);
# the one with a namespace prefix shares its pass with counting the prefixed row tags.
_MAYBE_UNREF = re.compile(rb"<c(?:>|/>|\s+(?!r\s*=))")
_COLON_TAGS = re.compile(rb":(?:(row)|c(?:>|/>|\s+(?!r\s*=)))")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_CELL_START = re.compile(rb"<(?:\w+:)?c\s")
_VALUE = re.compile(rb"<(?:\w+:)?v\s*(?:/>|>(.*?)</(?:\w+:)?v>)", re.S)
_F_TEXT = re.compile(rb"<(?:\w+:)?f[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_T_ATTR = re.compile(rb"\st=[\"'](\w+)[\"']")

# A sheet repeats a few column letters a million times; look each up once.
_col = functools.lru_cache(maxsize=4096)(column_index)


# RE2 patterns (no lookarounds) for what an ordinary sheet lacks, which are all that
# `_every_reference` would read beyond the row tags and column Z:
#   * a reference with two or more letters, or one whose row is over the count of row tags;
#   * a cell tag that may have no r attribute (a superset of `_UNREF_CELL`'s matches), or a
#     tag with a namespace prefix (":row", or a prefixed cell, which could lack an r).
# Two patterns, not one: each starts with a literal that RE2 skips ahead to, and the
# second does not need the count of row tags, so it runs while that is counted.
# \s is spelled out as Python's bytes patterns read it; RE2's leaves out \x0b.
_WS = r"\t\n\x0b\x0c\r "
_RE2_FAR = r"r[{w}]*=[{w}]*[\"'](?:[A-Za-z]{{2,}}[0-9]+|[A-Za-z]?(?:{n}))[\"']"
_RE2_ODD_CELL = rf"<c(?:/?>|[{_WS}]+(?:[^r{_WS}]|r[^{_WS}=]|r[{_WS}]+[^{_WS}=]))|:row|:c[/>{_WS}]"


_MAX_BINARY = 2 ** 31 - 1      # the most one Arrow binary value holds (32-bit offsets)


def _far_pattern(row_tags: int) -> str:
    """The RE2 pattern for a reference that reaches past `row_tags` rows or column Z."""
    return _RE2_FAR.format(w=_WS, n=greater_than(row_tags).decode())


def scan_range(xml: bytes) -> SheetScan:
    """The real used range, from the cell references (not the <dimension> tag, which
    calamine ignores too): what `check_range` needs before calamine may read the sheet.
    Its `formulas` are left empty; `scan_formulas` finds them, which calamine's reading
    does not depend on, so it may run beside the read."""
    import pyarrow as pa  # lazy: loaded with the xlsx path, which needs it for fastexcel too

    if len(xml) > _MAX_BINARY:
        return _every_reference(xml, xml.count(b"<row"))
    # RE2 proof: 0.34 s CPU of 2.30 s (15%), 100k-row xlsx, load 6 (bench/fastpaths.py)
    # RE2 (pyarrow's regular expressions: a linear-time automaton in C++, without the
    # GIL) proves most sheets ordinary in a quarter of the time `re` takes to read them.
    # Arrow reads binary values as Latin-1, so any byte is a character there.
    # One binary value over the sheet's own bytes, without a copy (and without pa.array,
    # which imports pandas to look at its argument).
    values = pa.Array.from_buffers(pa.binary(), 1, [
        None, pa.py_buffer(struct.pack("<ii", 0, len(xml))), pa.py_buffer(xml)])
    with ThreadPoolExecutor(max_workers=1) as pool:
        odd_cell = pool.submit(_found, values, _RE2_ODD_CELL)
        # Rows without an r attribute are placed one after another: count the tags too.
        row_tags = xml.count(b"<row")
        ordinary = not _found(values, _far_pattern(row_tags)) and not odd_cell.result()
    del values
    if ordinary:
        # Nothing reaches past the row tags or column Z: what `_every_reference` finds.
        return SheetScan(row_tags, 26, f"row {row_tags:,}" if row_tags > 1_000 else None,
                         {}, row_tags, 0)
    return _every_reference(xml, row_tags)


def _found(values: Any, pattern: str) -> bool:
    """Whether RE2 finds `pattern`; True if it cannot tell, so the sure way is taken."""
    import pyarrow as pa  # lazy: as in scan_range
    import pyarrow.compute as pc  # lazy: as pyarrow

    try:
        return bool(pc.match_substring_regex(values, pattern)[0].as_py())
    except pa.ArrowException:
        return True


def _every_reference(xml: bytes, row_tags: int) -> SheetScan:
    """`scan_range` the sure way, reading every reference that can widen the range."""
    prefixed_row_tags = 0
    maybe_unreferenced = False
    for m in _COLON_TAGS.finditer(xml):      # ":row" and ":c" tags, in one pass
        if m.group(1):
            prefixed_row_tags += 1
        else:
            maybe_unreferenced = True
    max_row = row_tags + prefixed_row_tags
    refs = _refs(max_row).findall(xml)
    if refs:
        max_row = max(max_row, max(map(int, (row for _, row in refs))))
    max_col, far_cell = 26, None   # single-letter columns cost nothing to assume
    for letters, row in refs:
        if letters:
            col = _col(letters) + 1
            if col > max_col:
                max_col, far_cell = col, (letters + row).decode()
    if (maybe_unreferenced or _MAYBE_UNREF.search(xml)) and _UNREF_CELL.search(xml):
        # Cells without a reference: a row reaches at most its last referenced column
        # plus the number of its unreferenced cells (rare; Excel always writes r).
        for span in _ROW_SPAN.finditer(xml):
            body = span.group()
            col = max((_col(m.group(1)) + 1 for m in _ANY_REF.finditer(body)),
                      default=0) + len(_UNREF_CELL.findall(body))
            if col > max_col:
                max_col = min(col, 16_384)
                far_cell = f"column {column_letter(max_col - 1)}"
    if far_cell is None and max_row > 1_000:
        far_cell = f"row {max_row:,}"
    return SheetScan(max_row, max_col, far_cell, {}, row_tags, prefixed_row_tags)


def scan_formulas(xml: bytes) -> dict[tuple[int, int], str]:
    """The formula cells that have no saved result, which calamine would silently read
    as blank: {(1-based row, 0-based column): the formula's text}."""
    formulas: dict[tuple[int, int], str] = {}
    if b"<f" not in xml and b":f" not in xml:
        return formulas
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
        formulas[(int(ref.group(2)), _col(ref.group(1)))] = _unescape(text)
    return formulas


def _unescape(text: str) -> str:
    from xml.sax.saxutils import unescape

    return unescape(text, {"&quot;": '"', "&apos;": "'"})
