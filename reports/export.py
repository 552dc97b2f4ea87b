"""Output for people and programs: text, JSON, CSV and xlsx.

Every string written to CSV or xlsx passes through `neutralise`, so a team
called "=HYPERLINK(...)" can never run as a formula in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from tabulate import tabulate

from .files import atomic_output
from .findings import Finding
from .totals import GROUPINGS, Summary, fmt_money, fmt_number
from .validate import Report

# Excel, LibreOffice and Google Sheets treat a cell starting with one of these as a
# formula (OWASP "CSV injection"); the full-width forms act the same in some locales.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00",
                    "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> Any:
    """Prefix a string that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def quoted(names: Iterable[str]) -> str:
    """Sheet names as a person writes them: 'Early Help', 'Children's Centres'."""
    return ", ".join(f"'{n}'" for n in names)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# --------------------------------------------------------------------------
# validation findings


def findings_text(report: Report, *, limit_per_code: int = 50) -> str:
    """The findings, grouped by sheet, for a terminal.  Long runs of one code are cut."""
    out: list[str] = []
    wb = report.workbook
    errors, warnings = report.findings.errors, report.findings.warnings
    verdict = "VALID" if report.valid else "INVALID"
    out.append(f"{wb.name}: {verdict}, {len(errors)} error(s), {len(warnings)} warning(s); "
               f"{wb.rows_read:,} post row(s) read from "
               f"{quoted(wb.sheets_read)}")
    by_sheet: dict[str | None, list[Finding]] = defaultdict(list)
    for f in errors + warnings:
        by_sheet[f.sheet].append(f)
    for sheet, items in by_sheet.items():
        items.sort(key=_reading_order)
        out.append("")
        out.append(f"Sheet '{sheet}'" if sheet is not None else "Whole file")
        shown: dict[str, int] = defaultdict(int)
        hidden: dict[str, int] = defaultdict(int)
        for f in items:
            shown[f.code] += 1
            if shown[f.code] > limit_per_code:
                hidden[f.code] += 1
                continue
            cell = f"{f.cell:>7}" if f.cell else " " * 7
            out.append(f"  {cell}  {f.severity:<7}  {f.code}: {f.message}")
        for code, n in hidden.items():
            out.append(f"           … and {n:,} more {code} (see --format json for all)")
    notes = report.findings.infos
    if notes:
        out.append("")
        out.append("Notes")
        for f in notes:
            out.append(f"  {f.message}")
    return "\n".join(out) + "\n"


_CELL = re.compile(r"^([A-Z]*)(\d+)")


def _reading_order(f: Finding) -> tuple[int, int, int]:
    """Row by row, left to right: the order a person fixes a sheet in."""
    m = _CELL.match(f.cell or "")
    if not m:
        return (0, 0, 0)
    letters, row = m.groups()
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return (1, int(row), col)


# --------------------------------------------------------------------------
# summary


_LABELS = {"team": "Team", "grade": "Grade", "destination": "Destination",
           "location": "Location"}
_TITLES = {"by_team": "By team", "by_grade": "By grade", "by_team_grade": "Team x grade",
           "by_destination": "Relocations by destination", "by_location": "By location"}


def _text_columns(summary: Summary) -> list[tuple[str, str]]:
    cols = [("baseline_fte", "Baseline FTE"), ("deleted_fte", "Deleted"),
            ("retained_fte", "Retained"), ("relocated_fte", "Relocated"),
            ("created_fte", "Created"), ("future_fte", "Future FTE"),
            ("pct_deleted", "% deleted")]
    if summary.has_vacant:
        cols += [("at_risk_fte", "At risk"), ("vacant_deleted_fte", "Vacant del.")]
    if summary.has_cost:
        cols += [("net_saving", "Net saving")]
    return cols


def _cell(key: str, value: Any) -> str:
    if key.endswith("_cost") or key == "net_saving":
        return fmt_money(value)
    if key == "pct_deleted":
        return "–" if value is None else f"{value}%"
    return fmt_number(value)


def summary_text(summary: Summary) -> str:
    t = summary.totals
    src = summary.source
    out = [summary.headline + ".",
           f"Source: {src['file']} (sha256 {src['sha256'][:12]}…), "
           f"{src['rows']:,} post row(s) from {quoted(src['sheets'])}."]
    out += [f"Skipped sheet '{s['sheet']}': {s['reason']}." for s in src["skipped_sheets"]]
    out.append("")
    key_rows = [("Baseline (deleted + retained + relocated)", "baseline_fte", "baseline_posts"),
                ("Deleted", "deleted_fte", "deleted_posts"),
                ("Retained", "retained_fte", "retained_posts"),
                ("Relocated", "relocated_fte", "relocated_posts"),
                ("Created", "created_fte", "created_posts"),
                ("Future (retained + created)", "future_fte", "future_posts")]
    if summary.has_vacant:
        key_rows += [("Deleted and occupied (at risk)", "at_risk_fte", "at_risk_posts"),
                     ("Deleted and vacant", "vacant_deleted_fte", "vacant_deleted_posts")]
    rows = [[label, fmt_number(t[f]), fmt_number(t[p])] for label, f, p in key_rows]
    out.append(tabulate(rows, headers=["Totals", "FTE", "Posts"], tablefmt="simple",
                        colalign=("left", "right", "right"), disable_numparse=True))
    if summary.has_cost:
        out.append("")
        out.append(f"Cost of deleted posts {fmt_money(t['deleted_cost'])} a year; of created "
                   f"posts {fmt_money(t['created_cost'])}; net saving "
                   f"{fmt_money(t['net_saving'])}.")
    cols = _text_columns(summary)
    for name, groups in summary.groups.items():
        if not groups:
            continue
        keys = GROUPINGS[name]
        out += ["", _TITLES[name]]
        body = [[g[k] for k in keys] + [_cell(c, g[c]) for c, _ in cols] for g in groups]
        # Relocations are a part of the file, so their table totals its own rows.
        total = t if name != "by_destination" else {c: _sum_key(groups, c) for c, _ in cols}
        body.append(["Total"] + [""] * (len(keys) - 1) + [_cell(c, total[c]) for c, _ in cols])
        out.append(tabulate(body, headers=[_LABELS[k] for k in keys] + [h for _, h in cols],
                            tablefmt="simple", disable_numparse=True,
                            colalign=("left",) * len(keys) + ("right",) * len(cols)))
    if summary.warnings:
        out += ["", f"Warnings ({len(summary.warnings)}):"]
        out += [f"  {w.where}: {w.message}" for w in summary.warnings[:50]]
        if len(summary.warnings) > 50:
            out.append(f"  … and {len(summary.warnings) - 50:,} more (see --format json)")
    return "\n".join(out) + "\n"


def _sum_key(groups: list[dict[str, Any]], key: str) -> Any:
    if key == "pct_deleted":
        return None
    return sum((g[key] for g in groups), Decimal(0))


def summary_tables(summary: Summary) -> Iterable[tuple[str, list[str], list[list[Any]]]]:
    """(table name, header, rows) for every grouping, the totals first."""
    keys = list(summary.totals)
    yield "totals", ["scope"] + keys, [["all"] + [summary.totals[k] for k in keys]]
    for name, groups in summary.groups.items():
        cols = list(GROUPINGS[name])
        yield name, cols + keys, [[g[c] for c in cols] + [g[k] for k in keys] for g in groups]


def summary_csv(summary: Summary) -> str:
    """Every table, each with its own header row, separated by a blank line."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i, (name, header, rows) in enumerate(summary_tables(summary)):
        if i:
            writer.writerow([])
        writer.writerow([f"# {name}"])
        writer.writerow(header)
        for row in rows:
            writer.writerow([_plain(v) for v in row])
    return buf.getvalue()


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return neutralise(value)


def write_summary_xlsx(summary: Summary, path: str | os.PathLike[str]) -> None:
    """One sheet per table; strings are stored as text, never as formulas."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, header, rows in summary_tables(summary):
        ws = wb.create_sheet(title=name[:31])
        head = []
        for h in header:
            c = WriteOnlyCell(ws, value=h)
            c.font = bold
            head.append(c)
        ws.append(head)
        for row in rows:
            ws.append([_xlsx_cell(ws, WriteOnlyCell, k, v) for k, v in zip(header, row)])
    with atomic_output(path) as fh:
        wb.save(fh)


def _xlsx_cell(ws: Any, cell_class: Any, key: str, value: Any) -> Any:
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    cell = harden(cell_class(ws, value=value))
    if key.endswith(("_fte", "_cost")) or key == "net_saving":
        cell.number_format = "#,##0.00"
    return cell


def harden(cell: Any) -> Any:
    """Store a string cell as text, never as a formula (openpyxl makes '=...' a formula)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
    return cell


def summary_json(summary: Summary) -> str:
    return to_json(summary.to_dict())


