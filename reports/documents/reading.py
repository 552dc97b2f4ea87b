"""How the file was read: the choices that decided the figures, for the method section.

Each entry of `READINGS` is a function of the `Builder` that returns the blocks it has to
say (none when the choice was not made): a line of text, or a table.  The method section
prints them in this order under "How the file was read".  A new reading option adds one
function here:

    @reading
    def ignored_columns(b: Builder) -> list[Block]:
        return [Text("…", "bullet")] if … else []

A figure stated here (the FTE a status word decided) goes through the briefing's one
`Figures` store; a public briefing states none that it does not publish elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

from ..intake.rules import READ_BUILT_IN, READ_DEFAULT, READ_GIVEN, StatusReading
from ..model import measures
from ..model.fields import FIELD_BY_NAME, STATUSES, normalise
from .blocks import Block, Cell, Table, Text, clean
from .builder import Builder

Reading = Callable[[Builder], "list[Block]"]
READINGS: list[Reading] = []

NONE_GIVEN = "(none given)"      # rows with a blank status, or no Status column
NOT_SPLIT = "in the total"      # a public briefing's cell for one of several words
_BECAUSE = {READ_BUILT_IN: "a word the tool reads on its own",
            READ_GIVEN: "the reading options given",
            READ_DEFAULT: "the default given for rows without a status"}


def reading(func: Reading) -> Reading:
    """Add `func` to the lines of "How the file was read", after those already there."""
    READINGS.append(func)
    return func


def how_read(b: Builder) -> list[Block]:
    """Every reading's blocks, in order."""
    out: list[Block] = []
    for func in READINGS:
        out += func(b)
    return out


def read_as(r: StatusReading) -> str:
    """"deleted", "deleted (vacant)"."""
    return r.status + ("" if r.vacant is None else " (vacant)" if r.vacant else " (occupied)")


@reading
def status_words(b: Builder) -> list[Block]:
    """Each status word of the file (and a blank under the default status): what it was
    read as, why, and the post rows and FTE it decided.

    A public briefing (one that hides small numbers) publishes no figure the rest of it
    does not: a status read from one word gets that status's FTE total (the same figure,
    hidden wherever it is hidden), and a status read from several words is not split."""
    readings = b.report.status_readings
    if not readings:
        return []
    f = b.fig
    public = b.t.suppresses
    words = {s: sum(1 for r in readings if r.status == s) for s in STATUSES}
    rows: list[list[Cell]] = []
    split = False
    for r in readings:
        word = NONE_GIVEN if r.source == READ_DEFAULT else f"\u201c{clean(r.word, 60)}\u201d"
        row: list[Cell] = [word, read_as(r), _BECAUSE[r.source]]
        if not public:
            key = ("read", r.key)
            row += [f.add(key + ("rows",), r.rows, unit=measures.POSTS),
                    f.add(key + ("fte",), r.fte, unit=measures.FTE)]
        elif words.get(r.status) == 1 and ("total", f"{r.status}_fte") in f.values:
            row.append(("total", f"{r.status}_fte"))
        else:
            row.append(NOT_SPLIT)
            split = True
        rows.append(row)
    header = ["Status in the file", "Read as", "Because"] + (["FTE"] if public else
                                                             ["Rows", "FTE"])
    widths = [1.6, 1.2, 2.0] + ([0.8] if public else [0.7, 0.7])
    out: list[Block] = [
        Text("Each status in the file was read as follows; every figure in this briefing "
             "rests on these readings.", "body"),
        b.table(Table(header, rows, text_cols=3, widths=widths,
                      caption="How each status in the file was read"))]
    if split:
        out.append(Text(f"\u201c{NOT_SPLIT}\u201d: a public briefing does not split the FTE "
                        f"of a status read from more than one word between its words, to "
                        f"protect individuals; each status's total is in the key figures.",
                        "note"))
    return out


@reading
def columns_named(b: Builder) -> list[Block]:
    """The columns the reading options named (--map), as their headings are written."""
    named = b.report.workbook.options.mapping
    if not named:
        return []
    said: list[str] = []
    for c in b.report.columns:
        if normalise(c["header"]) in named:
            text = (f"\u201c{clean(c['header'], 40)}\u201d as "
                    f"{FIELD_BY_NAME[c['field']].label}")
            if text not in said:
                said.append(text)
    if not said:
        return []
    return [Text(f"Columns named in the reading options given: {'; '.join(said)}.",
                 "bullet")]


@reading
def filters(b: Builder) -> list[Block]:
    """Each filter on a column (--where), with the rows it kept of the rows read."""
    wb = b.report.workbook
    where = wb.options.where
    if not where:
        return []
    kept = wb.rows_read
    read = kept + sum(t.where_dropped for t in wb.tables)
    rule = " and ".join(f"{clean(h, 40)} is \u201c{clean(v, 40)}\u201d" for _, h, v in where)
    return [Text(f"Only the rows where {rule} were read: {kept:,} of {read:,} rows kept.",
                 "bullet")]
