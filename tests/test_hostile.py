"""Whole-file problems, hostile workbooks, formula injection, personal data, and fuzz tests.

The fuzz tests are deterministic in an ordinary run; IMPACT_FUZZ_LONG=1 runs them long
and at random (see "fuzz" below), and every input that ever failed is kept in
tests/fuzz_regressions/ and run every time.

A whole-file problem gives exactly one "Error: ..." line on stderr, exit code 1 and no
traceback.  Files that could make the xlsx reader abort the process run in a child
process, so a regression fails a test instead of killing the test run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reports
from reports.intake import Limits, guards
from reports.model import errors
from reports.model.findings import column_index
from reports.render import data as render_data
from reports.render import text as render_text
from reports.services.outputs import save_annotated as annotate_copy
from reports.services.outputs import save_summary_xlsx
from tests.conftest import (
    HEADER,
    impact,
    invoke,
    located,
    make_csv,
    make_xlsx,
    post,
    read_part,
    replace_part,
)

SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture
def tiny_xlsx(tmp_path) -> Path:
    return make_xlsx(tmp_path, [HEADER, post("P1"), post("P2", fte=0.5)], name="tiny.xlsx")


def _with_sheet_xml(tmp_path: Path, name: str, edit: Callable[[bytes], bytes]) -> Path:
    base = make_xlsx(tmp_path, [HEADER, post("P1")], name="base.xlsx")
    return replace_part(base, tmp_path / name, SHEET, edit(read_part(base, SHEET)))


def _append_rows(xml: bytes, rows: bytes) -> bytes:
    assert b"</sheetData>" in xml
    return xml.replace(b"</sheetData>", rows + b"</sheetData>")


# --------------------------------------------------------------------------
# hostile and broken files, built in each test


def png_named_xlsx(tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return path


def random_bytes_named_xlsx(tmp_path):
    path = tmp_path / "noise.xlsx"
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(4096)))
    return path


def png_file(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    return path


def binary_named_csv(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_bytes(b"Team,Grade\x00\x00\x00" * 50)
    return path


def old_xls(tmp_path):
    path = tmp_path / "posts.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    return path


def ods(tmp_path):
    path = tmp_path / "posts.ods"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    return path


def ods_renamed_xlsx(tmp_path):
    path = ods(tmp_path)
    return path.rename(tmp_path / "posts.xlsx")


def truncated_xlsx(tmp_path):
    whole = make_xlsx(tmp_path, [HEADER] + [post(f"P{i}") for i in range(50)], name="w.xlsx")
    data = whole.read_bytes()
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def password_protected(tmp_path):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000
                     + "EncryptedPackage".encode("utf-16-le") + b"\0" * 1000)
    return path


def empty_file(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    return path


def empty_csv(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\r\n  \r\n")
    return path


def zip_not_workbook(tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    return path


def _central_entries(data: bytes) -> list[int]:
    """Offsets of the zip's central directory entries ("PK\\1\\2")."""
    offsets, at = [], data.find(b"PK\x01\x02")
    while at >= 0:
        offsets.append(at)
        at = data.find(b"PK\x01\x02", at + 46)
    assert offsets
    return offsets


def zip_version_corrupt(tmp_path):
    """'Version needed to extract' of 0xFFFF (6553.5): zipfile raises NotImplementedError."""
    data = bytearray(make_xlsx(tmp_path, [HEADER, post("P1")], name="base.xlsx").read_bytes())
    for at in _central_entries(bytes(data)):
        data[at + 6:at + 8] = b"\xff\xff"
    path = tmp_path / "version.xlsx"
    path.write_bytes(bytes(data))
    return path


def zip_name_not_utf8(tmp_path):
    """A member name flagged UTF-8 that is not: zipfile raises UnicodeDecodeError."""
    data = bytearray(make_xlsx(tmp_path, [HEADER, post("P1")], name="base.xlsx").read_bytes())
    at = _central_entries(bytes(data))[0]
    data[at + 8] |= 0x08                 # general purpose flag bit 11 (0x800): UTF-8 names
    data[at + 9] |= 0x08
    data[at + 46] = 0xFF                 # the name's first byte: never valid UTF-8
    path = tmp_path / "badname.xlsx"
    path.write_bytes(bytes(data))
    return path


def ods_mimetype_damaged(tmp_path):
    """An OpenDocument zip whose mimetype part has an unknown compression method (99)."""
    data = bytearray(ods(tmp_path).read_bytes())
    assert data.startswith(b"PK\x03\x04")            # mimetype is the first member
    data[8:10] = (99).to_bytes(2, "little")           # its local header...
    at = _central_entries(bytes(data))[0]
    data[at + 10:at + 12] = (99).to_bytes(2, "little")  # ... and its directory entry
    path = tmp_path / "mimetype.ods"
    path.write_bytes(bytes(data))
    return path


def zip_bomb(tmp_path):
    # 50 MiB of spaces inside the sheet part compresses about 1000:1.
    return _with_sheet_xml(tmp_path, "bomb.xlsx",
                           lambda xml: xml.replace(b"</sheetData>",
                                                   b"</sheetData>" + b" " * (50 << 20)))


_ENTITIES = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
             b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
             b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')


def _with_doctype(xml: bytes, old: bytes, new: bytes) -> bytes:
    if xml.startswith(b"<?xml"):
        head, rest = xml.split(b"?>", 1)
        return head + b"?>" + _ENTITIES + rest.replace(old, new, 1)
    return _ENTITIES + xml.replace(old, new, 1)


def entity_bomb_in_sheet(tmp_path):
    return _with_sheet_xml(tmp_path, "lol_sheet.xlsx",
                           lambda xml: _with_doctype(xml, b"<t>Team</t>", b"<t>&lol3;</t>"))


def entity_bomb_in_workbook(tmp_path):
    base = make_xlsx(tmp_path, [HEADER, post("P1")], name="base.xlsx")
    xml = _with_doctype(read_part(base, "xl/workbook.xml"), b'name="Posts"', b'name="&lol3;"')
    return replace_part(base, tmp_path / "lol_workbook.xlsx", "xl/workbook.xml", xml)


def empty_sheet(tmp_path):
    path = tmp_path / "blank.xlsx"
    openpyxl.Workbook().save(path)
    return path


def header_but_no_rows(tmp_path):
    return make_xlsx(tmp_path, [HEADER], name="header_only.xlsx")


def header_but_no_rows_csv(tmp_path):
    return make_csv(tmp_path, [HEADER], name="header_only.csv")


def no_header_row(tmp_path):
    return make_xlsx(tmp_path, [["Some notes"], ["about the proposals"]], name="notes.xlsx")


def missing_file(tmp_path):
    return tmp_path / "nowhere.xlsx"


WHOLE_FILE_PROBLEMS = [
    (png_named_xlsx, errors.CorruptFile),
    (random_bytes_named_xlsx, errors.CorruptFile),
    (png_file, errors.NotASpreadsheet),
    (binary_named_csv, errors.NotASpreadsheet),
    (old_xls, errors.UnsupportedFormat),
    (ods, errors.UnsupportedFormat),
    (ods_renamed_xlsx, errors.UnsupportedFormat),
    (truncated_xlsx, errors.CorruptFile),
    (password_protected, errors.PasswordProtected),
    (empty_file, errors.EmptyFile),
    (empty_csv, errors.EmptyFile),
    (zip_not_workbook, errors.NotASpreadsheet),
    (zip_version_corrupt, errors.CorruptFile),
    (zip_name_not_utf8, errors.CorruptFile),
    (ods_mimetype_damaged, errors.CorruptFile),
    (zip_bomb, errors.TooLarge),
    (entity_bomb_in_sheet, errors.CorruptFile),
    (entity_bomb_in_workbook, errors.CorruptFile),
    (empty_sheet, errors.EmptyFile),
    (header_but_no_rows, errors.EmptyFile),
    (header_but_no_rows_csv, errors.EmptyFile),
    (no_header_row, errors.NoHeaderRow),
    (missing_file, errors.NotASpreadsheet),
]
IDS = [build.__name__ for build, _ in WHOLE_FILE_PROBLEMS]


@pytest.mark.parametrize("build,error", WHOLE_FILE_PROBLEMS, ids=IDS)
def test_whole_file_problem_raises_its_error(tmp_path, build, error):
    path = build(tmp_path)
    with pytest.raises(error) as caught:
        reports.check(path)
    message = str(caught.value)
    assert "\n" not in message
    assert path.name in message


@pytest.mark.parametrize("command", ["validate", "summary"])
@pytest.mark.parametrize("build,error", WHOLE_FILE_PROBLEMS, ids=IDS)
def test_whole_file_problem_in_the_cli(tmp_path, build, error, command):
    path = build(tmp_path)
    result = invoke(command, path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("build", [old_xls, zip_bomb, truncated_xlsx, entity_bomb_in_sheet,
                                   zip_version_corrupt, zip_name_not_utf8],
                         ids=lambda b: b.__name__)
def test_whole_file_problem_in_a_real_process(tmp_path, build):
    result = impact("validate", build(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr


def test_a_corrupt_zip_version_is_an_ordinary_cannot_read_error(tmp_path):
    path = zip_version_corrupt(tmp_path)
    with zipfile.ZipFile(tmp_path / "base.xlsx") as zf:        # the file it was made from
        assert "xl/workbook.xml" in zf.namelist()
    with pytest.raises(NotImplementedError):                   # what zipfile itself does
        zipfile.ZipFile(path)
    result = impact("validate", path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: version.xlsx: the file is damaged")
    assert len(result.stderr.splitlines()) == 1


def test_messages_say_what_to_do(tmp_path):
    assert "save it as .xlsx" in str(pytest.raises(errors.UnsupportedFormat, reports.check,
                                                   old_xls(tmp_path)).value)
    assert "zip bomb" in str(pytest.raises(errors.TooLarge, reports.check,
                                           zip_bomb(tmp_path)).value)
    assert "password" in str(pytest.raises(errors.PasswordProtected, reports.check,
                                           password_protected(tmp_path)).value)
    assert "entity" in str(pytest.raises(errors.CorruptFile, reports.check,
                                         entity_bomb_in_workbook(tmp_path)).value)


# --------------------------------------------------------------------------
# far-away cells: python-calamine would abort the whole process on these, so each runs
# in a child `impact` with a memory cap.


FAR_CELL = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'


def test_stray_cell_at_xfd1048576_is_refused_cleanly(tmp_path):
    path = _with_sheet_xml(tmp_path, "stray.xlsx", lambda xml: _append_rows(xml, FAR_CELL))
    result = impact("validate", path)
    assert result.returncode == 1, result.stderr[-500:]
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.splitlines()) == 1
    assert "XFD1048576" in result.stderr


def _unreferenced_cells(n: int) -> bytes:
    return b'<c t="inlineStr"><is><t>x</t></is></c>' * n


@pytest.mark.parametrize("rows", [
    # a lower-case reference
    b'<row r="900000"><c r="xfd900000" t="inlineStr"><is><t>x</t></is></c></row>',
    # spaces around "=" (legal XML)
    b'<row r="900000"><c r = "XFD900000" t="inlineStr"><is><t>x</t></is></c></row>',
    # single quotes and a namespace prefix
    (b"<x:row r='900000'><x:c r='XFD900000' t='inlineStr'><x:is><x:t>x</x:t></x:is></x:c>"
     b"</x:row>"),
    # a row with no r attribute, holding a far cell
    b'<row><c r="XFD900000" t="inlineStr"><is><t>x</t></is></c></row>',
    # 16,384 cells with no r attribute run out to column XFD
    b'<row r="40000">' + _unreferenced_cells(16_384) + b"</row>",
    # the same in a row with no r attribute, then a far row
    (b"<row>" + _unreferenced_cells(16_384) + b'</row><row r="500000"><c r="A500000">'
     b"<v>1</v></c></row>"),
    # a one-letter reference far below the row it is written in (calamine places the cell
    # by its reference: it tried to allocate 35 GB, and aborted)
    b'<row r="40"><c r="A99999999" t="inlineStr"><is><t>x</t></is></c></row>',
    b'<row r="40"><c r="b99999999" t="inlineStr"><is><t>x</t></is></c></row>',
    # four and ten letters: columns past XFD that calamine still reads (475,254 columns
    # ran for minutes; ten letters aborted)
    b'<row r="2000"><c r="ZZZZ2000" t="inlineStr"><is><t>x</t></is></c></row>',
    b'<row r="40"><c r="ABCDEFGHIJ40" t="inlineStr"><is><t>x</t></is></c></row>',
], ids=["lower-case", "spaces", "prefixed", "row-without-r", "cells-without-r",
        "row-and-cells-without-r", "one-letter-far-row", "lower-case-one-letter",
        "four-letters", "ten-letters"])
def test_other_spellings_of_a_far_cell_are_refused(tmp_path, rows):
    path = _with_sheet_xml(tmp_path, "far.xlsx", lambda xml: _append_rows(xml, rows))
    result = impact("validate", path)
    assert result.returncode == 1, result.stderr[-500:]
    assert result.stderr.startswith("Error: ")
    assert f"over the {Limits().max_cells:,} limit" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# A reference as calamine reads it: letters (any number, either case), then the row.
_EVERY_REF = re.compile(rb"r\s*=\s*[\"']([A-Za-z]*)(\d+)[\"']")


@settings(max_examples=300, derandomize=True, deadline=None)
@given(rows=st.lists(st.tuples(
    st.integers(1, 2_000_000),
    st.lists(st.tuples(st.text("ABCXYZabz", min_size=1, max_size=5),
                       st.integers(1, 10**10), st.sampled_from(["", " "]),
                       st.sampled_from(['"', "'"])), max_size=4)), max_size=30))
def test_the_range_scan_finds_the_furthest_reference(rows):
    """The guard's used range reaches every cell where calamine would put it: checked
    against every reference that one plain pattern finds (slow, but simple), on rows of
    cells whose references have one to five letters and rows up to 10**10."""
    xml = b"<sheetData>" + b"".join(
        f'<row r="{r}">'.encode()
        + b"".join(f"<c r{sp}={sp}{q}{letters}{row}{q}><v>1</v></c>".encode()
                   for letters, row, sp, q in cells) + b"</row>"
        for r, cells in rows) + b"</sheetData>"
    refs = _EVERY_REF.findall(xml)
    furthest_row = max([len(rows)] + [int(row) for _, row in refs])
    furthest_col = max([26] + [column_index(letters) + 1 for letters, _ in refs if letters])
    scan = guards.scan_range(xml)
    assert (scan.max_row, scan.max_col) == (furthest_row, furthest_col)


# Sheets built from ordinary rows and cells (either quote, odd whitespace, small rows),
# with at most one of the things that make `scan_range` read every reference: a second
# letter, a far row, a cell without r or with r not first, a namespace prefix, odd
# whitespace, a byte that is not UTF-8.  About half of them are ordinary.
_SPACE = st.sampled_from([" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", " \x0b"])
_ORDINARY_HEAD = st.builds(lambda ws, col, row, q: f"<c{ws}r={q}{col}{row}{q}",
                           _SPACE, st.sampled_from("ABJZaz"), st.integers(1, 9),
                           st.sampled_from("\"'"))
_ODD_HEAD = st.one_of(
    st.builds(lambda ws1, ws2, col, row: f"<c r{ws1}={ws2}'{col}{row}'",
              _SPACE, _SPACE, st.sampled_from(["A", "AA", "zz", "AB", "C"]),
              st.integers(1, 200)),
    st.sampled_from(["<c", "<c s=\"1\" r=\"A1\"", "<c rx=\"1\"", "<c\x0bx=\"1\"",
                     "<x:c r=\"B2\"", "<c\xff=\"1\"", "<c r\x0b=\"A1\""]))
_CELL_END = st.sampled_from(["><v>1</v></c>", "/>", " t=\"s\"><v>0</v></c>"])


def _row(tag: str, heads: list[str], ends: list[str]) -> str:
    return tag + "".join(h + e for h, e in zip(heads, ends)) + "</row>"


_ORDINARY_ROW = st.builds(_row, st.sampled_from(["<row>", "<row r=\"3\">", "<row r='9'>",
                                                 "<row spans=\"1:2\">"]),
                          st.lists(_ORDINARY_HEAD, max_size=4), st.lists(_CELL_END, min_size=4))
_ODD_ROW = st.one_of(
    # after a cell in column Z, so that a cell without r would widen the range
    st.builds(_row, st.just("<row>"),
              st.lists(_ODD_HEAD, min_size=1, max_size=2).map(lambda h: ['<c r="Z1"', *h]),
              st.lists(_CELL_END, min_size=3)),
    st.sampled_from(["<x:row></x:row>", "<row r=\"70\"></row>", "<row r='7000'/>"]))


@settings(max_examples=500, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_ORDINARY_ROW, min_size=9, max_size=30),
       odd=st.one_of(st.none(), st.tuples(st.integers(0, 30), _ODD_ROW)))
def test_the_quick_range_scan_agrees_with_reading_every_reference(rows, odd):
    """`scan_range` takes RE2's word that a sheet is ordinary; whenever it does, its
    answer is what reading every reference (`_every_reference`) gives."""
    if odd is not None:
        rows.insert(*odd)
    xml = ("<sheetData>" + "".join(rows) + "</sheetData>").encode("latin-1")
    scan = guards.scan_range(xml)
    assert scan == guards._every_reference(xml, xml.count(b"<row"))


def test_an_ordinary_sheet_is_proved_so_without_reading_every_reference(monkeypatch):
    """The quick way is taken for an ordinary sheet (so the test above compares both
    ways), and each thing that an ordinary sheet lacks sends the scan the sure way."""
    calls = []
    sure_way = guards._every_reference
    monkeypatch.setattr(guards, "_every_reference",
                        lambda xml, n: calls.append(n) or sure_way(xml, n))
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="J{r}" t="s"><v>0</v></c>'
                   f"</row>" for r in range(1, 1_201))
    ordinary = f"<sheetData>{rows}</sheetData>".encode()
    scan = guards.scan_range(ordinary)
    assert calls == []
    assert (scan.max_row, scan.max_col, scan.far_cell) == (1_200, 26, "row 1,200")
    odd = {
        "two letters": b'<row r="3"><c r="AA3"><v>1</v></c></row>',
        "a far one-letter row": b'<row r="4"><c r="B1300"><v>1</v></c></row>',
        "a far row number": b'<row r="1202"></row>',
        "a cell without r": b'<row r="5"><c t="s"><v>1</v></c></row>',
        "a cell without attributes": b'<row r="5"><c><v>1</v></c></row>',
        "an attribute before r": b'<row r="5"><c s="1" r="A5"><v>1</v></c></row>',
        "a prefixed row": b'<x:row r="6"></x:row>',
        "a prefixed cell": b'<row r="7"><x:c r="A7"><v>1</v></x:c></row>',
        "a byte that is not UTF-8": b'<row r="9"><c \xff="1"><v>1</v></c></row>',
        "a vertical tab before an attribute": b'<row r="9"><c\x0bs="1"><v>1</v></c></row>',
        "a form feed before an attribute": b'<row r="9"><c\x0cs="1"><v>1</v></c></row>',
    }
    still_ordinary = {
        "two spaces before r": b'<row r="8"><c  r="A8"><v>1</v></c></row>',
        "spaces around =": b'<row r="8"><c\tr = "a8"><v>1</v></c></row>',
        "an attribute after r": b'<row r="8"><c r="Z8" s="3"/></row>',
        "a form feed before =": b'<row r="8"><c r\x0c="B8"><v>1</v></c></row>',
    }
    for what, extra in [*odd.items(), *still_ordinary.items()]:
        calls.clear()
        xml = ordinary.replace(b"</sheetData>", extra + b"</sheetData>")
        assert guards.scan_range(xml) == sure_way(xml, xml.count(b"<row")), what
        assert calls == ([] if what in still_ordinary else [xml.count(b"<row")]), what


def test_a_sheet_that_re2_cannot_read_is_scanned_the_sure_way(monkeypatch):
    """If pyarrow's RE2 fails (it refuses a pattern, or runs out of memory), or the sheet
    is too long for one Arrow value, it is not taken as ordinary: every reference is
    read, as before."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def refuse(*args, **kwargs):
        raise pa.ArrowInvalid("RE2 out of memory")

    calls = []
    sure_way = guards._every_reference
    monkeypatch.setattr(guards, "_every_reference",
                        lambda xml, n: calls.append(n) or sure_way(xml, n))
    xml = b'<sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="B2"/></row>'
    assert guards.scan_range(xml) == sure_way(xml, 2) and calls == []    # ordinary
    with monkeypatch.context() as patch:
        patch.setattr(pc, "match_substring_regex", refuse)
        assert guards.scan_range(xml) == sure_way(xml, 2)
        assert calls == [2]              # an ordinary sheet, but RE2 could not say so
    # a sheet too long for one Arrow binary value (2 GiB) is read the sure way too
    monkeypatch.setattr(guards, "_MAX_BINARY", len(xml) - 1)
    assert guards.scan_range(xml) == sure_way(xml, 2)
    assert calls == [2, 2]


@pytest.mark.parametrize("n", [0, 1, 9, 10, 99, 100, 101, 909, 5001, 99_999, 100_001])
def test_the_row_pattern_matches_exactly_the_numbers_over_a_bound(n):
    """`greater_than(n)`, which picks the one-letter references worth reading, matches
    a row number if and only if it is over n (compared as integers, for every number up
    to well past n, with and without leading zeros)."""
    pattern = re.compile(guards.greater_than(n))
    for m in [*range(0, 2 * n + 1_100), 10 * n + 7, 10**12]:
        assert bool(pattern.fullmatch(str(m).encode())) == (m > n), m
        if pattern.fullmatch(b"0" + str(m).encode()) is None:
            assert m <= n, m          # a leading zero may match more, never less


def test_cells_without_references_in_a_normal_sheet_are_read(tmp_path):
    def strip_refs(xml: bytes) -> bytes:
        import re

        return re.sub(rb'<c r="[A-Z]+\d+"', b"<c", xml)

    path = _with_sheet_xml(tmp_path, "norefs.xlsx", strip_refs)
    assert b'<c r="' not in read_part(path, SHEET)
    report = reports.check(path)
    assert report.valid
    assert list(report.posts["post_id"]) == ["P1"]


def test_a_small_cell_limit_refuses_a_normal_sheet(tiny_xlsx):
    with pytest.raises(errors.AbsurdRange):
        reports.check(tiny_xlsx, limits=Limits(max_cells=10))


def _declaring(src: Path, dst: Path, part: str, *, crc: int | None = None,
               compressed: int | None = None, size: int | None = None,
               local_name: bytes | None = None) -> Path:
    """A copy of the zip `src` whose local and central headers declare other values for
    one member (its CRC, compressed size, size), or whose local header names another."""
    import struct

    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as zf:
        info = zf.getinfo(part)
    entries = [m.start() for m in re.finditer(rb"PK\x01\x02", bytes(data))]
    central = next(at for at in entries
                   if data[at + 46:at + 46 + len(part)] == part.encode())
    for offset, at in ((14, info.header_offset), (16, central)):
        for k, value in enumerate((crc, compressed, size)):
            if value is not None:
                struct.pack_into("<I", data, at + offset + 4 * k, value)
    if local_name is not None:
        assert len(local_name) == len(part)
        data[info.header_offset + 30:info.header_offset + 30 + len(part)] = local_name
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("lie", ["size under", "size over", "crc", "local name"])
def test_a_part_whose_headers_lie_is_refused(tmp_path, tiny_xlsx, lie):
    """The guards inflate each part themselves (ISA-L when it is plain deflate, else
    zipfile), so a part whose stream is not what its headers declare is refused before
    calamine reads it, by zipfile's own checks."""
    with zipfile.ZipFile(tiny_xlsx) as zf:
        info = zf.getinfo(SHEET)
    change = {"size under": {"size": info.file_size - 7},
              "size over": {"size": info.file_size + 7},
              "crc": {"crc": info.CRC ^ 1},
              "local name": {"local_name": SHEET.replace("sheet1", "sheetX").encode()}}[lie]
    path = _declaring(tiny_xlsx, tmp_path / "lies.xlsx", SHEET, **change)
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        assert guards._inflate_quickly(fh, zf.getinfo(SHEET)) is None
    with pytest.raises(errors.CorruptFile, match="sheet1.xml|damaged"):
        reports.check(path)


def test_every_plain_part_is_inflated_quickly_and_as_zipfile_reads_it(tmp_path, tiny_xlsx):
    """ISA-L gives each deflated part byte for byte as zipfile does (so the quick way is
    the one taken); a stored part, which it does not take, is read by zipfile."""
    for path in [tiny_xlsx, *sorted(Path("data").glob("*.xlsx"))]:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
            for info in zf.infolist():
                if info.compress_type == zipfile.ZIP_DEFLATED:
                    assert guards._inflate_quickly(fh, info) == zf.read(info), (path, info)
    stored = replace_part(tiny_xlsx, tmp_path / "stored.xlsx", SHEET,
                          read_part(tiny_xlsx, SHEET), compression=zipfile.ZIP_STORED)
    with zipfile.ZipFile(stored) as zf, open(stored, "rb") as fh:
        assert guards._inflate_quickly(fh, zf.getinfo(SHEET)) is None
    assert list(reports.check(stored).posts["post_id"]) == ["P1", "P2"]
    # A compressed size past the end of the file: zipfile reads the stream to its end
    # and checks the CRC, so the part is read as it is.  Nearly 4 GiB is never read into
    # one buffer (under the 4 GiB address space of `_limit_memory` that was a
    # MemoryError).
    with zipfile.ZipFile(tiny_xlsx) as zf:
        info = zf.getinfo(SHEET)
    for extra in (10**6, 0xFFFFFFF0 - info.compress_size):
        over = _declaring(tiny_xlsx, tmp_path / "over.xlsx", SHEET,
                          compressed=info.compress_size + extra)
        with zipfile.ZipFile(over) as zf, open(over, "rb") as fh:
            assert guards._inflate_quickly(fh, zf.getinfo(SHEET)) is None
        result = impact("validate", over)
        assert result.returncode == 0, result.stderr[-500:]


def test_file_size_limit(tiny_xlsx):
    with pytest.raises(errors.TooLarge):
        reports.check(tiny_xlsx, limits=Limits(max_file_bytes=100))


def test_decompressed_size_limits(tiny_xlsx):
    with pytest.raises(errors.TooLarge):
        reports.check(tiny_xlsx, limits=Limits(max_member_bytes=1000))
    with pytest.raises(errors.TooLarge):
        reports.check(tiny_xlsx, limits=Limits(max_total_bytes=5000))
    with pytest.raises(errors.TooLarge):
        reports.check(tiny_xlsx, limits=Limits(max_members=3))


# --------------------------------------------------------------------------
# --debug


def test_debug_shows_a_traceback(tmp_path):
    path = old_xls(tmp_path)
    result = impact("validate", path, "--debug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "UnsupportedFormat" in result.stderr


def test_debug_from_the_environment(tmp_path):
    result = impact("summary", old_xls(tmp_path), env={"IMPACT_DEBUG": "1"})
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_debug_in_process_lets_the_error_through(tmp_path):
    result = invoke("validate", old_xls(tmp_path), "--debug", catch_exceptions=True)
    assert isinstance(result.exception, errors.UnsupportedFormat)


# --------------------------------------------------------------------------
# formula injection in what we write


INJECTIONS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\t=1+1", "=1+1"]


@pytest.fixture
def injected_summary(tmp_path):
    rows = [HEADER] + [post(f"P{i}", team=team, grade=team, status="Relocated",
                            destination=team) for i, team in enumerate(INJECTIONS)]
    return reports.summarise(reports.check(make_csv(tmp_path, rows, name="injected.csv")))


def test_teams_are_read_as_written(injected_summary):
    assert [g["team"] for g in injected_summary.groups["by_team"]] != []
    assert {g["team"] for g in injected_summary.groups["by_team"]} == {
        t.strip() for t in INJECTIONS}


def test_csv_export_neutralises_formulas(injected_summary):
    rows = list(csv.reader(io.StringIO(render_data.summary_csv(injected_summary))))
    cells = [c for row in rows for c in row if c]
    for team in INJECTIONS:
        assert team.strip() not in cells
        assert "'" + team.strip() in cells
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        if cell.startswith("-"):               # only negative numbers may start with "-"
            float(cell)


def test_xlsx_export_stores_text_not_formulas(injected_summary, tmp_path):
    out = tmp_path / "totals.xlsx"
    save_summary_xlsx(injected_summary, out)
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name), name
    wb = openpyxl.load_workbook(out)
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    seen.add(cell.value)
    assert {t.strip() for t in INJECTIONS} <= seen


def test_neutralise():
    for text in ("=1", "+1", "-1", "@x", "\tx", "\rx", "＝1"):
        assert render_data.neutralise(text) == "'" + text
    for value in ("Team", "1", 1, None, ""):
        assert render_data.neutralise(value) == value


def test_annotated_copy_of_a_csv_stores_text_not_formulas(tmp_path):
    path = make_csv(tmp_path, [HEADER, post("P1", team='=HYPERLINK("http://x","y")', fte=-1)])
    out = tmp_path / "checked.xlsx"
    annotate_copy(reports.check(path), out)
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in zf.read(name), name


# --------------------------------------------------------------------------
# personal data never leaves the file


PERSONAL = {"Employee name": "Łukasz Nowak", "Surname": "Featherstonehaugh",
            "NI number": "QQ123456C", "Date of birth": "1971-02-03", "Payroll No": "PAY-98765"}


@pytest.fixture
def personal_workbook(tmp_path):
    header = ["Employee name", "Surname"] + HEADER + ["NI number", "Date of birth",
                                                      "Payroll No"]
    person = list(PERSONAL.values())
    return make_xlsx(tmp_path, [
        header,
        person[:2] + post("P1", team="Family Support") + person[2:],
        person[:2] + post("P2", team="Youth", fte=-1) + person[2:],     # an error, for annotate
    ], name="personal.xlsx")


def _assert_no_personal_data(text: str, where: str) -> None:
    for value in PERSONAL.values():
        assert value not in text, f"{value!r} found in {where}"


def test_personal_columns_are_warned_about(personal_workbook):
    report = reports.check(personal_workbook)
    assert [(f.code, f.cell, f.column) for f in report.findings.warnings] == [
        ("personal-data", "A1", "Employee name"), ("personal-data", "B1", "Surname"),
        ("personal-data", "K1", "NI number"), ("personal-data", "L1", "Date of birth"),
        ("personal-data", "M1", "Payroll No")]
    assert located(report.findings.errors) == [("fte-negative", "G3")]


def test_personal_data_is_absent_from_every_output(personal_workbook, tmp_path):
    report = reports.check(personal_workbook)
    _assert_no_personal_data(report.posts.to_csv(), "Report.posts")
    _assert_no_personal_data(json.dumps(report.to_dict(), ensure_ascii=False), "findings")
    _assert_no_personal_data(render_text.findings_text(report), "findings text")

    person = list(PERSONAL.values())
    valid_posts = make_xlsx(tmp_path, [["Employee name", "Surname"] + HEADER
                                       + ["NI number", "Date of birth", "Payroll No"],
                                       person[:2] + post("P1") + person[2:]], name="ok.xlsx")
    summary = reports.summarise(reports.check(valid_posts))
    assert len(summary.warnings) == len(PERSONAL)
    _assert_no_personal_data(render_data.summary_json(summary), "summary json")
    _assert_no_personal_data(render_data.summary_csv(summary), "summary csv")
    _assert_no_personal_data(render_text.summary_text(summary), "summary text")
    out = tmp_path / "totals.xlsx"
    save_summary_xlsx(summary, out)
    _assert_no_personal_data(_every_cell(out), "summary xlsx")


def _every_cell(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    parts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    parts.append(str(cell.value))
                if cell.comment is not None:
                    parts.append(cell.comment.text)
    return "\n".join(parts)


def test_personal_data_is_absent_from_the_annotated_copy(personal_workbook, tmp_path):
    out = tmp_path / "checked.xlsx"
    annotate_copy(reports.check(personal_workbook), out)
    text = _every_cell(out)
    _assert_no_personal_data(text, "annotated copy")
    assert "Employee name" in text                 # the headings stay
    with zipfile.ZipFile(out) as zf:               # nor hidden in any part, e.g. shared strings
        for name in zf.namelist():
            body = zf.read(name).decode("utf-8", "replace")
            _assert_no_personal_data(body, f"annotated copy part {name}")


def test_personal_data_is_absent_from_the_annotated_copy_of_a_csv(tmp_path):
    header = ["Employee name"] + HEADER + ["Payroll No"]
    path = make_csv(tmp_path, [header, ["Łukasz Nowak"] + post("P1", fte=-1) + ["PAY-98765"]])
    out = tmp_path / "checked.xlsx"
    annotate_copy(reports.check(path), out)
    text = _every_cell(out)
    assert "Łukasz Nowak" not in text and "PAY-98765" not in text


def test_a_total_label_in_a_personal_column_is_not_echoed(tmp_path):
    header = ["Employee name"] + HEADER
    path = make_xlsx(tmp_path, [header, ["Total Smith"] + post("P1", status=None)])
    report = reports.check(path)
    assert located(report.findings.errors) == [("required-blank", "H2")]
    _assert_no_personal_data(json.dumps(report.to_dict()), "findings")
    assert "Total Smith" not in json.dumps(report.to_dict())


# --------------------------------------------------------------------------
# fuzz: whatever the bytes, check() returns a report or raises an ImpactError
#
# An ordinary run is deterministic: hypothesis draws the same inputs every time
# (derandomize=True), so CI never passes or fails by luck.  A long random run looks
# for new cases, and is run by hand:
#
#     IMPACT_FUZZ_LONG=1 .venv/bin/python -m pytest -q tests/test_hostile.py -k fuzz
#
# (IMPACT_FUZZ_LONG=N draws N inputs per test; 1 means 5,000.)  An input that fails is
# saved under $TMPDIR/impact-fuzz-failures/ and its path is printed; put it in
# tests/fuzz_regressions/, where test_fuzz_regression runs every file on every run.


FUZZ_LONG = os.environ.get("IMPACT_FUZZ_LONG", "").strip()
REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"
FAILURES = Path(tempfile.gettempdir()) / "impact-fuzz-failures"


def _long_examples() -> int:
    if FUZZ_LONG in ("", "0"):
        return 0
    return 5_000 if FUZZ_LONG == "1" else int(FUZZ_LONG)


_FUZZ = settings(max_examples=_long_examples() or 60, derandomize=not _long_examples(),
                 deadline=None, database=None, print_blob=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@pytest.fixture(scope="module")
def seed_xlsx(tmp_path_factory) -> bytes:
    tmp = tmp_path_factory.mktemp("seed")
    return make_xlsx(tmp, [HEADER, post("P1", fte=0.5), post("P2", status="Relocated",
                                                             destination="Learning")],
                     name="seed.xlsx").read_bytes()


def _exercise(path: Path) -> None:
    """check() the file and render what it gives as validate and summary would; any
    exception but an ImpactError is a bug."""
    try:
        report = reports.check(path)
    except errors.ImpactError as e:
        assert "\n" not in str(e), "an ImpactError's message is one line"
        return
    render_text.findings_text(report)
    render_data.to_json(report.to_dict())
    if report.valid:
        summary = reports.summarise(report)
        render_text.summary_text(summary)
        render_data.summary_json(summary)
        render_data.summary_csv(summary)


def _check_bytes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            _exercise(path)
        except Exception as e:
            FAILURES.mkdir(exist_ok=True)
            kept = FAILURES / f"{hashlib.sha256(data).hexdigest()[:16]}{suffix or '.bin'}"
            kept.write_bytes(data)
            e.add_note(f"the input is saved as {kept}; copy it to {REGRESSIONS}/")
            raise


@_FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".xlsx", ".csv", ".xls", ""]))
def test_fuzz_random_bytes(data, suffix):
    _check_bytes(data, suffix)


@_FUZZ
@given(text=st.text(max_size=400), encoding=st.sampled_from(["utf-8", "cp1252", "utf-16"]))
def test_fuzz_random_csv_text(text, encoding):
    _check_bytes(text.encode(encoding, "replace"), ".csv")


@_FUZZ
@given(edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)),
                      min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(min_value=0)))
def test_fuzz_mutated_xlsx_bytes(seed_xlsx, edits, cut):
    data = bytearray(seed_xlsx)
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    _check_bytes(bytes(data), ".xlsx")


@_FUZZ
@given(edits=st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(
    list(b'<>/="\' &;rcvtxA19-.')) | st.integers(0, 255)), min_size=1, max_size=6))
def test_fuzz_mutated_sheet_xml(seed_xlsx, edits):
    """Mutate the sheet XML itself and re-zip it, so the zip's checks pass and the
    mutation reaches the XML readers."""
    with zipfile.ZipFile(io.BytesIO(seed_xlsx)) as zf:
        parts = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    xml = bytearray(parts[SHEET])
    for position, value in edits:
        xml[position % len(xml)] = value
    parts[SHEET] = bytes(xml)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    _check_bytes(buf.getvalue(), ".xlsx")


def test_fuzz_seed_is_a_valid_file(seed_xlsx, tmp_path):
    path = tmp_path / "seed.xlsx"
    path.write_bytes(seed_xlsx)
    assert reports.check(path).valid
    _check_bytes(seed_xlsx, ".xlsx")


def test_ordinary_fuzz_runs_are_deterministic():
    if _long_examples():
        pytest.skip("IMPACT_FUZZ_LONG is set: a long random run")
    assert _FUZZ.derandomize and _FUZZ.database is None


def test_a_failing_fuzz_input_is_saved(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "FAILURES", tmp_path / "failures")

    def boom(path: Path) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(sys.modules[__name__], "_exercise", boom)
    with pytest.raises(KeyError) as caught:
        _check_bytes(b"PK\x03\x04 broken", ".xlsx")
    (kept,) = (tmp_path / "failures").iterdir()
    assert kept.suffix == ".xlsx" and kept.read_bytes() == b"PK\x03\x04 broken"
    assert str(kept) in "\n".join(caught.value.__notes__)


# --------------------------------------------------------------------------
# every input that ever failed, kept in tests/fuzz_regressions/


def _regression_files() -> list[Path]:
    return sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.name != "README.md")


def test_the_regression_folder_has_cases():
    assert len(_regression_files()) >= 3


@pytest.mark.parametrize("path", _regression_files(), ids=lambda p: p.name)
def test_fuzz_regression(path):
    # A child `impact` first, so that an input that aborts the process fails this test
    # instead of ending the test run.
    child = impact("validate", path, "--format", "json")
    assert child.returncode in (0, 1), child.stderr[-500:]
    assert "internal error" not in child.stderr and "Traceback" not in child.stderr
    if child.stderr.startswith("Error: "):
        assert child.stdout == "" and len(child.stderr.splitlines()) == 1
    _exercise(path)
    result = invoke("summary", path, "--format", "json")    # raises on anything unexpected
    assert result.exit_code in (0, 1), result.output
