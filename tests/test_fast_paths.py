"""The fast readers (issue 15) against the general ones they stand in front of.

An xlsx is read through fastexcel (calamine into Arrow) and a UTF-8 CSV through pyarrow's
parser; anything they cannot place or parse goes the general way (python-calamine, or
pandas' C parser and the csv module).  Both ways must give the same tables, findings and
figures, cell for cell, so each file here is read both ways and compared.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

import reports
from reports.intake import csvfile, guards, xlsx
from reports.render.data import summary_json
from tests.conftest import HEADER, make_csv, make_xlsx, post

ROOT = Path(__file__).resolve().parents[1]


def _outcome(path: Path, **options) -> dict:
    """Everything a read gives that a user sees: tables, findings, figures."""
    report = reports.check(path, **options)
    wb = report.workbook
    out = {"tables": [(t.sheet, t.header_row, t.columns, t.rows.tolist(), t.kinds.tolist(),
                       {f: [c[i] for i in range(len(c))] for f, c in t.data.items()})
                      for t in wb.tables],
           "skipped": wb.skipped, "report": report.to_dict()}
    if report.valid:
        out["summary"] = json.loads(summary_json(reports.summarise(report)))
    return out


def _both_ways(path: Path, monkeypatch, which: str, **options) -> tuple[dict, dict]:
    """(the fast read, the general read) of `path`; fails if the fast path was not taken."""
    taken = []
    fast = xlsx._fast_grids if which == "xlsx" else csvfile._read_arrow

    def spy(*args, **kwargs):
        result = fast(*args, **kwargs)
        taken.append(result is not None)
        return result

    with monkeypatch.context() as m:
        m.setattr(xlsx if which == "xlsx" else csvfile,
                  "_fast_grids" if which == "xlsx" else "_read_arrow", spy)
        quick = _outcome(path, **options)
    assert taken and all(taken), "the fast reader was not used"
    with monkeypatch.context() as m:
        m.setattr(xlsx if which == "xlsx" else csvfile,
                  "_fast_grids" if which == "xlsx" else "_read_arrow", lambda *a, **k: None)
        general = _outcome(path, **options)
    return quick, general


def _offset_workbook(tmp_path: Path) -> Path:
    """A table that starts at C4 under a title, with blank rows, a totals row, a formula
    without a saved result, booleans, dates and numbers of every kind."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Schedule"
    ws["C2"] = "Proposed changes"
    header = HEADER + ["Vacant", "Annual cost", "Dismissal date"]
    for j, h in enumerate(header):
        ws.cell(4, 3 + j, h)
    rows = [
        post("P1", " Youth ", "Worker", "Grade 4", 0.5, 1, "Deleted") + [True, 1000.5,
                                                                      dt.date(2026, 4, 6)],
        post(7, "Youth", "Lead", 9, 1.0, 1, "Retained") + [False, "£2,000", None],
        [None] * len(header),
        post("P3", "Early Help", "Worker", "Grade 4", 33.69, 45, "Deleted") + ["N", 3, None],
        post("P4", "Early Help", "Worker", "Grade 4", 0.333333, 1, "Relocated", "Libraries")
        + ["Y", 1e-7, dt.datetime(2026, 5, 1, 9, 30)],
        post("P5", "Early Help", "Worker", "Grade 4", 1, 1, "Deleted") + ["Y", 0,
                                                                       dt.time(9, 30)],
    ]
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                ws.cell(5 + i, 3 + j, v)
    ws.cell(5 + len(rows), 3, "Total")
    ws.cell(5 + len(rows), 3 + HEADER.index("FTE"), 36.52)
    ws.cell(5 + len(rows), 3 + HEADER.index("Posts"), "=SUM(H5:H10)")  # no saved result
    other = wb.create_sheet("Other")
    for row in [HEADER, post("Q1", team="Libraries", fte=0.81)]:
        other.append(row)
    wb.create_sheet("Empty")
    path = tmp_path / "offset.xlsx"
    wb.save(path)
    return path


def test_a_workbook_placed_from_its_first_cell_reads_as_python_calamine_reads_it(
        tmp_path, monkeypatch):
    quick, general = _both_ways(_offset_workbook(tmp_path), monkeypatch, "xlsx")
    assert quick == general
    # and the cells are where the sheet has them: header on row 4, Team in column D
    sheet, header_row, columns, rows, *_ = quick["tables"][0]
    assert (sheet, header_row, columns["team"], rows[0]) == ("Schedule", 4, 3, 5)
    assert any(f["code"] == "formula-no-value" and f["cell"] == "H11"
               for f in quick["report"]["errors"])


@pytest.mark.parametrize("name", ["derbyshire_early_help.xlsx", "coop_working.xlsx",
                                  "broken_example.xlsx"])
def test_the_samples_read_the_same_both_ways(name, monkeypatch):
    quick, general = _both_ways(ROOT / "data" / name, monkeypatch, "xlsx")
    assert quick == general


def test_the_real_files_read_the_same_both_ways(monkeypatch):
    files = sorted((ROOT / "data" / "real").glob("*.*"))
    files = [f for f in files if f.suffix in (".xlsx", ".csv")]
    assert files
    for path in files:
        try:
            quick, general = _both_ways(path, monkeypatch, path.suffix[1:])
        except reports.ImpactError:
            continue          # a file that is refused is refused the same way (tested elsewhere)
        assert quick == general, path.name


def _value_rows(xml: bytes):
    return xlsx._value_rows(xml, guards.scan_range(xml))


def test_rows_out_of_order_are_left_to_python_calamine(tmp_path):
    path = make_xlsx(tmp_path, [HEADER, post("P1"), post("P2")])
    xml = (b'<worksheet><sheetData><row r="2"><c r="A2"><v>1</v></c></row>'
           b'<row r="1"><c r="A1"><v>2</v></c></row></sheetData></worksheet>')
    assert _value_rows(xml) is None
    assert _value_rows(b'<sheetData><row><c><v>1</v></c></row></sheetData>') is None
    assert _value_rows(b'<x:sheetData><x:row r="1"/></x:sheetData>') is None
    # first and last rows that hold a value; a styled empty row and an empty <v> do not
    xml = (b'<sheetData><row r="1"><c r="A1" s="1"/></row><row r="3"><c r="B3" t="s">'
           b'<v>0</v></c></row><row r="7"><c r="A7" t="inlineStr"><is><t>x</t></is></c>'
           b'</row><row r="9"><c r="A9"><v></v></c></row></sheetData>')
    assert _value_rows(xml) == (3, 7)
    assert path.exists()


def _csv_rows():
    return [HEADER + ["Annual cost"],
            post("P1", "Café – North", "Worker", "Grade 4", "0.5", 1, "Deleted") + ["1,000.50"],
            post("P2", " Youth", "Lead, Senior", "Grade 9", "1", 2, "Retained") + [""],
            post("P3", "Youth", 'Says "hi"', "Grade 9", "١", 1, "Deleted") + ["£3"],
            post("P3", "Youth", "Line\nbreak", "Grade 9", "0.25", 1, "Relocated", "Libs")
            + ["x"],
            ["Total", None, None, None, "2.75", 5, None, None, None]]


@pytest.mark.parametrize("options", [{}, {"where": ["Team=Youth"]}])
def test_a_csv_reads_the_same_through_pyarrow(tmp_path, monkeypatch, options):
    path = make_csv(tmp_path, _csv_rows())
    quick, general = _both_ways(path, monkeypatch, "csv", **options)
    assert quick == general
    assert quick["report"]["source"]["rows"] == (4 if not options else 3)


def test_a_csv_with_a_bom_or_semicolons_reads_the_same(tmp_path, monkeypatch):
    path = make_csv(tmp_path, _csv_rows(), bom=True, delimiter=";")
    quick, general = _both_ways(path, monkeypatch, "csv")
    assert quick == general


def test_a_blank_line_is_a_blank_row_both_ways(tmp_path, monkeypatch):
    blank = tmp_path / "blank.csv"
    blank.write_text(",".join(HEADER) + "\n\n" + ",".join(map(str, post("P1"))) + "\n")
    quick, general = _both_ways(blank, monkeypatch, "csv")
    assert quick == general
    assert quick["tables"][0][3] == [3]          # the post is on row 3, below the blank line


def test_csvs_pyarrow_cannot_take_go_the_general_way(tmp_path):
    # ragged rows (a short title line), Windows-1252 past the sample
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Title\n" + "\n".join(",".join(map(str, r)) for r in
                                             [HEADER, post("P1"), post("P2")]) + "\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(HEADER).encode() + b"\n" + b"x" * 300_000 + b"\n"
                      + ",".join(map(str, post("P1", team="Caf\xe9"))).encode("cp1252")
                      + b"\n")
    for path in (ragged, latin):
        assert csvfile._read_arrow(path.read_bytes(), reports.ReadOptions()) is None, path
    report = reports.check(latin)
    assert report.workbook.encoding == "cp1252"
    assert any(f.code == "encoding" for f in report.findings.infos + report.findings.warnings)
