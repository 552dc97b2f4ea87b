"""Method and source: the file, its sha256, what was read, and how each figure is defined."""

from __future__ import annotations

from ...figures.equality import characteristics_of
from ...figures.privacy import SECONDARY
from ...figures.trend import PUBLIC_TREND
from ...model.fields import FIELD_BY_NAME, normalise
from ..blocks import GENERATED_LABEL, Block, Cell, Table, Text, clean, without_commands
from ..builder import Builder
from ..reading import how_read
from . import section


@section("method", "Method and source")
def method(b: Builder) -> list[Block]:
    out: list[Block] = [_source_table(b)]
    read = how_read(b)
    if read:
        out += [Text("How the file was read", "subheading"), *read]
    out.append(Text("How each figure is defined", "subheading"))
    defs = [
        ("FTE (full-time equivalent) and posts are added up exactly from the post rows "
         "of the file; a row may stand for several identical posts."),
        "Baseline = deleted + retained + relocated: the establishment today.",
        "Future = retained + created: what the service keeps after the changes.",
        "% deleted = deleted FTE \u00f7 baseline FTE, to 1 decimal place.",
        ("Relocated posts move to another service (the destination); they are neither "
         "deleted nor kept by this service."),
    ]
    if not b.s.has_posts:
        defs.append("The file has no column giving the number of posts on each row, so FTE "
                    "is added up but counts of posts are not given; none is assumed.")
    tables = b.report.workbook.tables
    if b.report.workbook.options.one_post_per_row:
        defs.append("Each row of the file is counted as one post" + (
            "" if all("fte" in t.columns for t in tables) else
            ", of 1.0 FTE where the file gives no FTE") + ", as the person who ran this "
            "briefing said the file lists one post a row.")
    elif b.s.has_posts and any("posts" not in t.columns for t in tables):
        defs.append("The file has no column giving the number of posts on each row, so each "
                    "distinct post ID is counted as one post; rows sharing an ID with one "
                    "team, job title and grade are one post shared by several people.")
    if b.s.has_vacant:
        defs.append("Occupied posts deleted (people at risk) = deleted posts that are "
                    "occupied today (Vacant is N, or blank); deleted vacant posts make no "
                    "one redundant.")
        known = b.vacancy_known()
        if known:
            defs.append(known)
    else:
        defs.append("The file does not say which posts are vacant, so the number of people "
                    "at risk cannot be told from it.")
    if b.s.has_cost:
        defs.append("Deleted less new = annual cost of the deleted posts \u2212 annual cost "
                    "of the new posts. It is not a saving net of everything: part of it may "
                    "be the budget of vacant posts, which saves no one's job, and the cost "
                    "of relocated posts moves to another service rather than being saved.")
    if b.s.has_location:
        defs.append("A site loses all its posts when it has a baseline today and no "
                    "retained or new posts after the changes.")
    if b.t.suppresses:
        thr = b.threshold
        defs.append(f"Hidden figures are shown as \u201c{SECONDARY}\u201d. Every count of "
                    f"posts or FTE above 0 and under {thr} is hidden, with any cost that "
                    f"belongs to it; so is any other figure from which, with the totals and "
                    f"every other table here, a hidden one could be worked out to within "
                    f"{thr}. Each hidden figure was checked by linear programming against "
                    f"everything this briefing publishes.")
    if "equality" in b.t.sections and b.s.has_posts and not b.nothing_deleted:
        defs += [f"Equality impact: {line}" if i == 0 else line for i, line in
                 enumerate(b.t.equality_rule.sentences(characteristics_of(b.report)))]
    if b.t.suppresses and b.trend is not None and len(b.trend) > 1:
        defs.append(PUBLIC_TREND)
    defs.append("No name, employee number or other personal identifier is ever printed: "
                "columns holding them are dropped when the file is read.")
    out += [Text(d, "bullet") for d in defs]
    return out


def _source_table(b: Builder) -> Table:
    src = b.s.source
    rows: list[list[Cell]] = [
        ["File", clean(src["file"])],
        ["SHA-256", src["sha256"]],
        ["Format", str(src.get("format", ""))],
        ["Sheets read", ", ".join(clean(x, 60) for x in src["sheets"]) or "–"],
        ["Post rows read", f"{src['rows']:,}"],
    ]
    if src.get("skipped_sheets"):
        rows.append(["Sheets not read", "; ".join(
            f"{clean(x['sheet'], 60)} ({clean(without_commands(x['reason']).rstrip('.'), 100)})"
            for x in src["skipped_sheets"])])
    sheets: dict[str, list[str]] = {}
    for c in src.get("columns") or []:
        label = FIELD_BY_NAME[c["field"]].label
        said = label if normalise(c["header"]) == normalise(label) else \
            f"{label} (\u201c{clean(c['header'], 40)}\u201d)"
        sheets.setdefault(c["sheet"], []).append(said)
    for sheet, fields in sheets.items():
        name = "Columns used" + (f" in {clean(sheet, 40)}" if len(sheets) > 1 else "")
        rows.append([name, ", ".join(fields)])
    rows += [["Template", f"{b.t.name} ({b.t.audience or 'custom'})"],
             ["Small-number threshold",
              str(b.threshold) if b.t.suppresses
              else "none: every figure is shown"],
             [GENERATED_LABEL, b.date_text],
             ["Tool", f"impact {b.version}".strip()]]
    return Table(["Source", ""], rows, text_cols=2, widths=[1.3, 4.2])
