"""Output for people at a terminal: findings, summaries, comparisons and store listings.

Text that came from a spreadsheet or a user is printed as it is, except that every
control character in it is shown escaped (ESC as `\\x1b`, see `printable`): a cell
cannot move the cursor, recolour or retitle a terminal.  Figures are formatted by
their measure's unit (see `reports.model.measures`).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..figures.totals import GROUPINGS, Summary
from ..figures.trend import LABELS, MEASURES, Trend, fmt_change, fmt_value
from ..intake.rules import Report
from ..model import measures
from ..model.findings import Finding, column_letter
from ..model.formats import MARKER, fmt_date, fmt_money, fmt_number, show_controls
from .fixes import with_options

if TYPE_CHECKING:
    from ..figures.compare import Comparison


def file_name(name: str) -> str:
    """An uploaded file's name on one line: a line feed in it shown as `\\n`, like any other
    control character, so that it cannot split or forge a line of output."""
    return show_controls(name).replace("\n", "\\n")


def printable(text: str) -> str:
    """`text` with every control character but the line feed shown escaped (`\\x1b`)."""
    return show_controls(text)


def _printed(func: Callable[..., str]) -> Callable[..., str]:
    """Every text this module returns passes through `printable`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        return printable(func(*args, **kwargs))

    return wrapper


def _table(rows: Iterable[Sequence[Any]], **options: Any) -> str:
    """tabulate, with cells escaped first so that the columns still line up."""
    from tabulate import tabulate  # lazy: it imports importlib.metadata; JSON needs no table

    return tabulate([[printable(c) if isinstance(c, str) else c for c in row] for row in rows],
                    **options)


@_printed
def quoted(names: Iterable[str]) -> str:
    """Sheet names as a person writes them: 'Early Help', 'Children's Centres'."""
    return ", ".join(f"'{n}'" for n in names)


# --------------------------------------------------------------------------
# validation findings


@_printed
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
            out.append(f"  {cell}  {f.severity:<7}  {f.code}: {with_options(f.message, f.fixes)}")
        for code, n in hidden.items():
            out.append(f"           … and {n:,} more {code} (see --format json for all)")
    out += column_report(report)
    notes = report.findings.infos
    if notes:
        out.append("")
        out.append("Notes")
        for f in notes:
            out.append(f"  {with_options(f.message, f.fixes)}")
    return "\n".join(out) + "\n"


def column_report(report: Report) -> list[str]:
    """Which heading became which field on each sheet, and the headings not used."""
    out: list[str] = []
    for t in report.workbook.tables:
        out.append("")
        out.append(f"Columns read on '{t.sheet}' (header row {t.header_row})")
        for fld, j in sorted(t.columns.items(), key=lambda kv: kv[1]):
            out.append(f"  {column_letter(j):>3}  {t.headers[fld]!r} as {fld}")
        if t.unused:
            out.append("  Not used: " + ", ".join(f"{column_letter(j)} {h!r}"
                                                  for j, h in t.unused))
    return out


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


# The columns of a table by team, grade or site (those the file can report).
_TEXT_COLUMNS = ("baseline_fte", "deleted_fte", "retained_fte", "relocated_fte", "created_fte",
                 "future_fte", "pct_deleted", "at_risk_fte", "vacant_deleted_fte", "net_saving")
# The rows of the totals table: an FTE measure beside its posts.
_TOTAL_ROWS = ("baseline_fte", "deleted_fte", "retained_fte", "relocated_fte", "created_fte",
               "future_fte", "at_risk_fte", "vacant_deleted_fte")


def _text_columns(summary: Summary) -> list[tuple[str, str]]:
    return [(k, measures.get(k).label_for("short")) for k in _TEXT_COLUMNS
            if k in summary.totals]


@_printed
def summary_text(summary: Summary) -> str:
    t = summary.totals
    src = summary.source
    out = [summary.headline + ".",
           f"Source: {src['file']} (sha256 {src['sha256'][:12]}…), "
           f"{src['rows']:,} post row(s) from {quoted(src['sheets'])}."]
    out += [f"Skipped sheet '{s['sheet']}': {s['reason']}." for s in src["skipped_sheets"]]
    out.append("")
    rows = [[measures.get(f).label_for("row"), fmt_number(t[f]),
             measures.text(measures.posts_for(f), t[measures.posts_for(f)])]
            for f in _TOTAL_ROWS if f in t]
    out.append(_table(rows, headers=["Totals", "FTE", "Posts"], tablefmt="simple",
                        colalign=("left", "right", "right"), disable_numparse=True))
    if summary.has_cost:
        out.append("")
        money = {k: measures.text(k, t[k]) for k in ("deleted_cost", "created_cost", "net_saving")}
        out.append(f"Cost of deleted posts {money['deleted_cost']} a year; of created "
                   f"posts {money['created_cost']}; deleted less new {money['net_saving']}.")
    cols = _text_columns(summary)
    for name, groups in summary.groups.items():
        if not groups:
            continue
        keys = GROUPINGS[name]
        out += ["", _TITLES[name]]
        body = [[g[k] for k in keys] + [measures.text(c, g[c]) for c, _ in cols] for g in groups]
        # Relocations are a part of the file, so their table totals its own rows.
        total = t if name != "by_destination" else {c: _sum_key(groups, c) for c, _ in cols}
        body.append(["Total"] + [""] * (len(keys) - 1) + [measures.text(c, total[c]) for c, _ in cols])
        out.append(_table(body, headers=[_LABELS[k] for k in keys] + [h for _, h in cols],
                            tablefmt="simple", disable_numparse=True,
                            colalign=("left",) * len(keys) + ("right",) * len(cols)))
    if summary.warnings:
        out += ["", f"Warnings ({len(summary.warnings)}):"]
        out += [f"  {w.where}: {with_options(w.message, w.fixes)}" for w in summary.warnings[:50]]
        if len(summary.warnings) > 50:
            out.append(f"  … and {len(summary.warnings) - 50:,} more (see --format json)")
    return "\n".join(out) + "\n"


def _sum_key(groups: list[dict[str, Any]], key: str) -> Any:
    if key == "pct_deleted":
        return None
    values = [g[key] for g in groups]
    if any(v is None for v in values):
        return None                    # not published (a public summary)
    if any(isinstance(v, str) for v in values):
        return MARKER                  # a hidden part: the total would reveal it
    return sum(values, Decimal(0))


# --------------------------------------------------------------------------
# comparison


@_printed
def comparison_text(c: Comparison, *, limit: int = 200) -> str:
    """For a terminal."""
    # start-up: a summary needs no comparison module
    from ..figures.compare import CHANGE_KINDS, CHANGE_TITLES, figure_text, post_lines

    out = [c.headline + ".", "", _side("Old", c.old_label, c.old_source),
           _side("New", c.new_label, c.new_source), c.match_note]
    out += c.notes
    counts = [f"{len(c.posts_with(k)):,} {CHANGE_TITLES[k].lower()}" for k in CHANGE_KINDS
              if c.posts_with(k)]
    counts += [f"{len(c.added):,} added"] if c.added else []
    counts += [f"{len(c.removed):,} removed"] if c.removed else []
    out += ["", "Posts: " + (", ".join(counts) if counts else "no post changed") + "."]
    for title, count, lines in post_lines(c, limit):
        out += ["", f"{title} ({count:,})"]
        out += [f"  {line}" for line in lines]
    by_key = {t.key: t for t in c.totals}
    rows = [[measures.get(k).label, figure_text(k, by_key[k].old),
             figure_text(k, by_key[k].new),
             figure_text(k, by_key[k].change, signed=True) if by_key[k].change else ""]
            for k in measures.people_order() if k in by_key]
    out += ["", _table(rows, headers=["Totals", "Old", "New", "Change"], tablefmt="simple",
                         colalign=("left", "right", "right", "right"), disable_numparse=True)]
    for title, col, groups in (("By team", "Team", c.by_team), ("By grade", "Grade", c.by_grade)):
        changed = [g for g in groups if g.changed]
        out += ["", f"{title}: " + (f"{len(changed):,} of {len(groups):,} changed"
                                    if changed else "no change")]
        if not changed:
            continue
        keys = [k for k in ("baseline_fte", "deleted_fte", "at_risk_fte", "future_fte")
                if k != "at_risk_fte" or c.has_vacant]
        body = []
        for g in changed:
            row = [g.label]
            for ch in g.changes(keys):
                row.append(f"{figure_text(ch.key, ch.old)} → {figure_text(ch.key, ch.new)}"
                           + (f" ({figure_text(ch.key, ch.change, signed=True)})"
                              if ch.change else ""))
            body.append(row)
        out.append(_table(body, headers=[col] + [measures.get(k).label for k in keys],
                            tablefmt="simple", disable_numparse=True))
    return "\n".join(out) + "\n"


@_printed
def public_comparison_text(d: dict[str, Any]) -> str:
    """What a public output may say of a comparison (`documents.public.public_changes`)."""
    from ..figures.compare import figure_text  # start-up: a summary needs no comparison module

    out = [d["headline"] + ".", "", _side("Old", d["old"]["label"], d["old"]["source"]),
           _side("New", d["new"]["label"], d["new"]["source"]), *d["notes"], ""]
    rows = [[measures.get(t["key"]).label, figure_text(t["key"], t["old"]),
             figure_text(t["key"], t["new"]),
             figure_text(t["key"], t["change"], signed=True) if t["change"] else ""]
            for t in d["totals"]]
    out.append(_table(rows, headers=["Totals", "Old", "New", "Change"], tablefmt="simple",
                        colalign=("left", "right", "right", "right"), disable_numparse=True))
    return "\n".join(out) + "\n"


def _side(which: str, label: str, source: dict[str, Any]) -> str:
    name = source["file"] if label == source["file"] else f"{label}: {source['file']}"
    return f"{which}: {name} (sha256 {source['sha256'][:12]}…)"


# --------------------------------------------------------------------------
# store listings: `impact datasets` and `impact history`


@_printed
def datasets_text(root: Path, items: Sequence[Any]) -> str:
    """`impact datasets`: each dataset (a `reports.store.db.Dataset`) on a line."""
    if not items:
        return (f"No datasets in the store at {root}. Add one with: "
                f"impact upload FILE --dataset NAME\n")
    rows = [[d.name, d.latest.number, d.latest.as_of.isoformat(), d.latest.headline]
            for d in items]
    return _table(rows, headers=["Dataset", "Latest", "As of", "Headline"],
                    tablefmt="simple", disable_numparse=True) + "\n"


@_printed
def history_text(versions: Sequence[Any], items: Sequence[dict[str, Any]]) -> str:
    """Newest first: when, who, which file, the totals, and what changed since the one
    before.  `versions` are `reports.store.db.Version`s, oldest first; `items` their
    `history_dict` entries (which hold the change headlines)."""
    n = fmt_number
    first = versions[0]
    out = [f"{first.dataset}: {len(versions)} version(s)"]
    for v, item in zip(reversed(versions), reversed(items)):
        t = v.totals
        out.append("")
        out.append(f"Version {v.number}, as of {fmt_date(v.as_of)}: {file_name(v.original_name)} "
                   f"(sha256 {v.sha256[:12]}…), uploaded {v.uploaded_at:%Y-%m-%d %H:%M} UTC "
                   f"by {v.uploaded_by}; {v.rows:,} post row(s) from "
                   f"{', '.join(repr(s) for s in v.sheets)}")
        if item.get("same_as"):
            out.append(f"  The same file as version {item['same_as']}.")
        if v.note:
            out.append(f"  Note: {v.note}")
        figures = (f"  Totals: baseline {n(t['baseline_fte'])} FTE ({n(t['baseline_posts'])} "
                   f"posts); deleted {n(t['deleted_fte'])} FTE ({n(t['deleted_posts'])} posts"
                   + ("" if t.get("pct_deleted") is None else f", {t['pct_deleted']}%") + ")")
        if "at_risk_fte" in t:
            figures += (f"; at risk {n(t['at_risk_fte'])} FTE ({n(t['at_risk_posts'])} posts); "
                        f"vacant {n(t['vacant_deleted_fte'])} FTE")
        figures += (f"; retained {n(t['retained_fte'])}, relocated {n(t['relocated_fte'])}, "
                    f"created {n(t['created_fte'])} FTE; future {n(t['future_fte'])} FTE")
        if "net_saving" in t:
            figures += f"; deleted less new {fmt_money(t['net_saving'])} a year"
        out.append(figures)
        changes = item["changes"]
        out.append(f"  {changes['headline']}" if changes else "  First version.")
    return "\n".join(out) + "\n"


@_printed
def upload_text(file_name_given: str, version: Any, created: bool,
                same_as: int | None = None) -> str:
    """What `impact upload` says about the version it made or found."""
    file_name_shown = file_name(file_name_given)
    if created:
        again = (f" It is the same file as version {same_as} (the same bytes), stored "
                 f"again as the latest version." if same_as else "")
        return (f"Stored {file_name_shown} as version {version.number} of '{version.dataset}' "
                f"(as of {version.as_of.isoformat()}): {version.headline}.{again}")
    return (f"{file_name_shown} is already stored as version {version.number} of "
            f"'{version.dataset}' (uploaded {version.uploaded_at:%Y-%m-%d %H:%M} UTC); "
            f"no new version was made.")


@_printed
def personal_data_note(columns: Sequence[str]) -> str:
    """The note `impact upload` prints when the stored copy keeps personal-data columns."""
    names = ", ".join(f"'{c}'" for c in columns)
    return (f"Note: column(s) {names} hold personal data. No report shows them per post, but "
            f"the stored copy of the file still contains them, as uploaded; remove those "
            f"columns and upload the file again to keep them out of the store.")


def trend_text(name: str, trend: Trend) -> str:
    """`impact history NAME --by-month`: each month's version (as `impact monthly`
    chooses it) and what changed since the month before."""
    out = [f"{name}: {len(trend)} month(s), each with the version impact monthly uses"]
    for i, p in enumerate(trend.points):
        out.append("")
        out.append(f"{p.month}: version {p.number}, as of {fmt_date(p.as_of)} "
                   f"({file_name(p.file)})")
        out.append("  " + "; ".join(f"{LABELS[m]} {fmt_value(m, p.values.get(m))}"
                                    for m in MEASURES if p.values.get(m) is not None))
        changed = trend.changed(i)
        if i == 0:
            out.append("  First month.")
        elif not changed:
            out.append("  No change since the month before.")
        else:
            out.append("  Changed: " + "; ".join(f"{LABELS[m]} {fmt_change(m, d)}"
                                                 for m, d in changed.items()))
    return "\n".join(out) + "\n"
