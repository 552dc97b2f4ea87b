"""Workbooks written with openpyxl: the summary, the blank input template, and the
annotated copy that marks every faulty cell.

Every function writes to an open binary file; the caller makes the write
atomic (`reports.store.files.atomic_output`).  Every string cell is stored as
text, never as a formula (`harden`).

Neither ever carries personal data: the annotated copy empties the columns
that the reader dropped, and the template has no such columns.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import IO, Any

from ..figures.totals import Summary
from ..intake.contacts import scrub
from ..intake.reader import csv_rows
from ..intake.rules import Report
from ..model import fields as schema
from ..model import measures
from ..model.errors import CorruptFile
from ..model.findings import ERROR, WARNING, Finding, column_letter
from ..model.formats import json_number, show_controls
from .data import FORMULA_TRIGGERS, summary_tables
from .fixes import in_words, with_words

TEMPLATE_ROWS = 5000
ERROR_FILL = "FFC7CE"     # Excel's own "bad" red
WARNING_FILL = "FFEB9C"   # and its "neutral" amber
HEADER_FILL = "DDEBF7"


def write_summary_xlsx(summary: Summary, out: IO[bytes]) -> None:
    """One sheet per table; strings are stored as text, never as formulas."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    try:
        for name, header, rows in summary_tables(summary):
            ws = wb.create_sheet(title=name[:31])
            head = []
            for h in header:
                c = WriteOnlyCell(ws, value=cell_text(h))
                c.font = bold
                head.append(c)
            ws.append(head)
            for row in rows:
                ws.append([_xlsx_cell(ws, WriteOnlyCell, k, v) for k, v in zip(header, row)])
        wb.save(out)
    except BaseException:
        _discard(wb)
        raise


def _discard(wb: Any) -> None:
    """Close a write-only workbook's row streams after an error.

    Each write-only sheet keeps a suspended generator that writes to a temporary file.
    Left to the garbage collector, it is finalised after that file is closed and
    Python prints "Exception ignored in: <generator ...>" and a traceback on stderr;
    closing the generators here, in order, ends them quietly and removes the files.
    """
    import contextlib

    for ws in getattr(wb, "_sheets", []):
        rows, writer = getattr(ws, "_rows", None), getattr(ws, "_writer", None)
        with contextlib.suppress(Exception):
            if rows is not None:
                rows.close()
        with contextlib.suppress(Exception):
            if writer is not None:
                writer.xf.close()
        with contextlib.suppress(Exception):
            if writer is not None:
                writer.cleanup()


def cell_text(value: Any) -> Any:
    """A value as a worksheet may hold it: in a string, each character XML forbids
    (a Word soft line break \\x0b, ESC) is written out visibly as `\\x0b`."""
    return show_controls(value, xml=True) if isinstance(value, str) else value


def _xlsx_cell(ws: Any, cell_class: Any, key: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        value = json_number(value)
    cell = harden(cell_class(ws, value=cell_text(value)))
    if measures.unit_of(key) in (measures.FTE, measures.MONEY):
        cell.number_format = "#,##0.00"
    return cell


def harden(cell: Any) -> Any:
    """Store a string cell as text, never as a formula (openpyxl makes '=...' a formula)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
    return cell


def write_template(out: IO[bytes]) -> None:
    """A blank input workbook with canonical headings, drop-downs and a Guidance sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "Posts"
    fields = tuple(f for f in schema.FIELDS if f.in_template)
    ws.append([f.label for f in fields])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    widths = {"post_id": 12, "team": 28, "title": 32, "grade": 12, "fte": 8, "posts": 8,
              "status": 12, "destination": 26, "location": 22, "vacant": 9, "annual_cost": 14}
    col = {f.name: _letter(i) for i, f in enumerate(fields)}
    for f in fields:
        ws.column_dimensions[col[f.name]].width = widths.get(f.name, 14)

    last = TEMPLATE_ROWS + 1

    def rng(name: str) -> str:
        return f"{col[name]}2:{col[name]}{last}"

    status = DataValidation(type="list", formula1='"Deleted,Retained,Relocated,Created"',
                            allow_blank=True, showErrorMessage=True,
                            errorTitle="Status", error="Choose Deleted, Retained, Relocated or "
                                                       "Created.")
    vacant = DataValidation(type="list", formula1='"Y,N"', allow_blank=True,
                            showErrorMessage=True, errorTitle="Vacant",
                            error="Y if the post is vacant, N if someone holds it.")
    fte = DataValidation(type="decimal", operator="between", formula1="0.01", formula2="100000",
                         allow_blank=True, showErrorMessage=True, errorTitle="FTE",
                         error="FTE must be a number above 0 with at most 2 decimal places.")
    posts = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="1",
                           allow_blank=True, showErrorMessage=True, errorTitle="Posts",
                           error="Posts must be a whole number of at least 1.")
    cost = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                          allow_blank=True, showErrorMessage=True, errorTitle="Annual cost",
                          error="Annual cost must be a number of pounds, 0 or more.")
    for dv, name in ((status, "status"), (vacant, "vacant"), (fte, "fte"), (posts, "posts"),
                     (cost, "annual_cost")):
        dv.add(rng(name))
        ws.add_data_validation(dv)
    for name, fmt in (("fte", "0.00"), ("annual_cost", "#,##0.00"), ("dismissal_date", "yyyy-mm-dd")):
        for row in ws.iter_rows(min_row=2, max_row=200, min_col=_index(fields, name) + 1,
                                max_col=_index(fields, name) + 1):
            for cell in row:
                cell.number_format = fmt

    guide = wb.create_sheet("Guidance")
    guide.append(["Column", "Required", "Headings that are recognised", "What to enter"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
    for f in fields:
        guide.append([f.label, "yes" if f.required else ("when relocated"
                      if f.name == "destination" else "no"), ", ".join(f.aliases), f.guidance])
    guide.append([])
    notes = [
        ("Status words", "; ".join(f"{s.title()}: {', '.join(w)}"
                                   for s, w in schema.STATUS_WORDS.items())),
        ("Grouped rows", "One row may stand for several identical posts: put the number in "
                         "Posts and their combined FTE in FTE (e.g. 45 posts, 33.69 FTE)."),
        ("Totals rows", "A row with no Status that reads 'Total', 'Grand total' or 'Sub-total' "
                        "is checked against the posts above it, not counted as a post."),
        ("Personal data", "Do not add names, employee or payroll numbers, NI numbers or dates "
                          "of birth. Such columns are dropped and reported."),
        ("Other sheets", "Posts may be split over several sheets; each needs its own header "
                         "row. Sheets without one (like this) are skipped."),
    ]
    for title, text in notes:
        guide.append([title, "", "", text])
    for letter, width in zip("ABCD", (18, 14, 48, 90)):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(out)


def _letter(i: int) -> str:
    return column_letter(i)


def _index(fields: tuple[schema.Field, ...], name: str) -> int:
    return next(i for i, f in enumerate(fields) if f.name == name)


def annotate_copy(report: Report, out: IO[bytes], *, keep_vba: bool = False) -> None:
    """Write a copy of the input with every faulty cell filled and commented.

    Personal-data columns are emptied in the copy (their headings stay, with a
    comment), so the copy is safe to pass around.  A CSV input becomes an xlsx.
    """
    from openpyxl import Workbook, load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    wb_in = report.workbook
    if wb_in.fmt == "csv":
        book = Workbook()
        ws = book.active
        ws.title = cell_text(wb_in.name)[:31]
        for row in csv_rows(wb_in.path, wb_in.encoding or "utf-8", wb_in.delimiter or ","):
            ws.append([cell_text(v) for v in row])
        _harden_all(ws)
        sheet_for = {wb_in.name: ws}
    else:
        try:
            book = load_workbook(wb_in.path, keep_vba=keep_vba)
        except Exception as e:  # openpyxl raises many types for damaged files
            raise CorruptFile(f"{wb_in.name}: cannot make an annotated copy ({e})") from None
        sheet_for = {ws.title: ws for ws in book.worksheets}

    for ws in sheet_for.values():
        _scrub_sheet(ws)
    fills = {ERROR: PatternFill("solid", fgColor=ERROR_FILL),
             WARNING: PatternFill("solid", fgColor=WARNING_FILL)}
    notes: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in report.findings.errors + report.findings.warnings:
        if f.sheet is None or f.sheet not in sheet_for or not f.cell:
            continue
        cell = f.cell
        if ":" in cell:                      # a whole header row: mark its first cell
            cell = f"A{cell.split(':', 1)[0]}"
        notes[(f.sheet, cell)].append(f)
    for (sheet, ref), items in notes.items():
        ws = sheet_for[sheet]
        target = ws[ref]
        worst = ERROR if any(f.severity == ERROR for f in items) else WARNING
        target.fill = fills[worst]
        text = "\n".join(f"{f.severity.upper()} {f.code}: {with_words(f.message, f.fixes)}"
                         for f in items)
        target.comment = Comment(cell_text(text[:30000]), "impact", width=360, height=140)
    _empty_personal_columns(report, sheet_for)
    if "impact findings" not in book.sheetnames:
        _findings_sheet(book, report)
    book.save(out)


def _scrub_sheet(ws: Any) -> None:
    """Each e-mail address, phone number and NI number written in a cell's text, in its
    link or in its comment, replaced by `contacts.REMOVED` (a link to one is dropped)."""
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                text, found = scrub(cell.value)
                if found:
                    formula = cell.data_type == "f"
                    cell.value = text
                    if not formula:          # text stays text, never becomes a formula
                        harden(cell)
            link = cell.hyperlink
            if link is not None and scrub(f"{link.target or ''} {link.display or ''}")[1]:
                cell.hyperlink = None
            if cell.comment is not None and scrub(cell.comment.text)[1]:
                cell.comment.text = scrub(cell.comment.text)[0]


def _empty_personal_columns(report: Report, sheet_for: dict[str, Any]) -> None:
    for f in report.findings.items:
        if f.code not in ("personal-data", "sensitive-columns") or f.sheet not in sheet_for \
                or not f.cell:
            continue
        ws = sheet_for[f.sheet]
        head = ws[f.cell]
        for row in ws.iter_rows(min_row=head.row + 1, min_col=head.column, max_col=head.column):
            for cell in row:
                cell.value = None
                cell.hyperlink = None
                cell.comment = None


def _findings_sheet(book: Any, report: Report) -> None:
    from openpyxl.styles import Font

    ws = book.create_sheet("impact findings", 0)
    ws.append(["Severity", "Code", "Sheet", "Cell", "Column", "Value", "Message",
               "How to fix it"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for f in report.findings.errors + report.findings.warnings:
        ws.append([cell_text(v) for v in (f.severity, f.code, f.sheet, f.cell, f.column,
                                          f.value, f.message, in_words(f.fixes))])
    _harden_all(ws)
    for letter, width in zip("ABCDEFGH", (9, 24, 18, 8, 18, 18, 100, 60)):
        ws.column_dimensions[letter].width = width


def _harden_all(ws: Any) -> None:
    for row in ws.iter_rows():
        for cell in row:
            harden(cell)

