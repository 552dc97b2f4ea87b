"""From a grid of cells to a `Table`: the header search, the column mapping and totals rows.

Both readers (xlsx and CSV) produce a `Grid`; `table_from_grid` finds its header
row, maps the headings to fields (dropping personal-data columns, with a
finding), and marks the control-total rows.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..model import codes
from ..model import fields as schema
from ..model.errors import UsageProblem
from ..model.findings import Findings, cell_ref, column_letter, echo
from ..model.fixes import MAP, WHERE, Fix, one
from . import contacts
from .workbook import (
    KIND_POST,
    KIND_SUBTOTAL,
    KIND_TOTAL,
    Column,
    FormulaNoValue,
    ReadOptions,
    SkipReason,
    Table,
    as_dictionary,
    cell_text,
    filled,
)


@dataclass
class Grid:
    """A sheet's cells from A1 as columns of text, null for a blank cell.

    Both readers write every cell as text: pyarrow's CSV reader as it stands, fastexcel
    a number as its shortest exact decimal.  `typed` says the text came from typed
    workbook cells; `formulas` holds the stand-ins for formula cells without a saved
    result, by (0-based row, column).
    """

    columns: list[pa.DictionaryArray]
    nrows: int
    typed: bool = False
    formulas: dict[tuple[int, int], FormulaNoValue] = field(default_factory=dict)
    dense: frozenset[int] = frozenset()      # columns with a code per cell (as_dictionary)

    def __post_init__(self) -> None:
        self.columns = [c if isinstance(c, pa.DictionaryArray) else as_dictionary(c)
                        for c in self.columns]

    @classmethod
    def from_rows(cls, rows: list[list[Any]], typed: bool = False) -> Grid:
        """From rows of Python values (python-calamine's, or the csv module's)."""
        if not rows:
            return cls([], 0, typed)
        width = max(len(r) for r in rows)
        cols: list[list[str | None]] = [[] for _ in range(width)]
        for r in rows:
            for j in range(width):
                cols[j].append(cell_text(r[j]) if j < len(r) else None)
        return cls([pa.array(c, pa.string()) for c in cols], len(rows), typed)

    @classmethod
    def from_arrow(cls, table: pa.Table, typed: bool = False,
                   dense: set[int] | frozenset[int] = frozenset()) -> Grid:
        """`dense`: columns whose values are mostly all different, given a code each
        rather than hashed into a dictionary (see `as_dictionary`)."""
        return cls([as_dictionary(c, dense=j in dense) for j, c in enumerate(table.columns)],
                   table.num_rows, typed, dense=frozenset(dense))

    @classmethod
    def placed(cls, batch: pa.RecordBatch | pa.Table, row0: int, col0: int) -> Grid:
        """fastexcel's table of text, which starts at its first cell with a value (`row0`
        rows and `col0` columns in), put back in place from A1 (blank cells before it)."""
        n = batch.num_rows + row0
        kind = pa.dictionary(pa.int32(), pa.string())
        cols = [pa.nulls(n, kind) for _ in range(col0)]
        for c in batch.columns:
            d = as_dictionary(c)
            if row0:
                d = pa.DictionaryArray.from_arrays(
                    pa.concat_arrays([pa.nulls(row0, pa.int32()), d.indices]), d.dictionary)
            cols.append(d)
        return cls(cols, n, typed=True)

    @functools.cached_property
    def head(self) -> list[list[Any]]:
        """The first rows as Python values (text or None, or a formula stand-in), for the
        header search."""
        n = min(self.nrows, HEAD_ROWS)
        cols = [c.slice(0, n).to_pylist() for c in self.columns]
        rows = [list(r) for r in zip(*cols)] if cols else [[] for _ in range(n)]
        for (i, j), stand_in in self.formulas.items():
            if i < n:
                rows[i][j] = stand_in
        return rows

    def row(self, i: int) -> list[Any]:
        if i < len(self.head):
            return self.head[i]
        return [self.formulas.get((i, j)) or c[i].as_py() for j, c in enumerate(self.columns)]

    def column(self, j: int, start: int, take: np.ndarray | None = None) -> Column:
        """Column `j` from row `start` (0-based), or only its rows `take` (from `start`)."""
        formulas = {i - start: f for (i, c), f in self.formulas.items()
                    if c == j and i >= start}
        if take is not None:
            where = {int(i): k for k, i in enumerate(take.tolist())}
            formulas = {where[i]: f for i, f in formulas.items() if i in where}
        # A column with a code per cell is served from its values themselves, only the
        # rows wanted (neither the heading, which would make a column of amounts look like
        # text, nor a million values for the few rows `take` asks for).
        dense = j in self.dense
        values = (self.columns[j].dictionary if dense else self.columns[j]).slice(start)
        if take is not None:
            values = values.take(pa.array(take, pa.int64()))
        if dense:
            values = as_dictionary(values, dense=True)
        return Column.of_text(values, self.typed, formulas)

    def is_empty(self) -> bool:
        """No cell holds anything (a cell of spaces is not empty)."""
        for c in self.columns:
            filled = pc.not_equal(c.dictionary, "").fill_null(False).to_numpy(
                zero_copy_only=False)
            used = c.indices.drop_null().to_numpy(zero_copy_only=False)
            if filled[used].any():
                return False
        return not self.formulas


HEAD_ROWS = 200     # enough for any header search (Limits.header_search_rows)


def header_score(row: Sequence[Any], mapping: dict[str, str]) -> int:
    """How many distinct fields the cells of `row` name."""
    fields = set()
    for cell in row:
        if isinstance(cell, str) and cell.strip():
            fld = schema.field_for_header(cell, mapping)
            if fld:
                fields.add(fld)
    return len(fields)


def _find_header(grid: Grid, options: ReadOptions) -> int | None:
    best, best_score = None, 2
    for i in range(min(grid.nrows, options.limits.header_search_rows)):
        score = header_score(grid.row(i), options.mapping)
        if score > best_score:
            best, best_score = i, score
    return best


def near_miss(heading: str) -> str | None:
    """The field a heading that is not an alias most likely means, or None.

    difflib's ratio against every alias (a typo, a plural), then an alias inside a longer
    heading ("Number of Posts in FTE"): suggestions only, never applied without --map.
    """
    key = schema.normalise(heading)
    if not key or key in schema.ALIASES:
        return None
    close = difflib.get_close_matches(key, list(schema.ALIASES), n=1, cutoff=0.8)
    if close:
        return schema.ALIASES[close[0]]
    inside = [a for a in schema.ALIASES if len(a) >= 4 and a in key]
    return schema.ALIASES[max(inside, key=len)] if inside else None


def _reading_of(row: Sequence[Any], mapping: dict[str, str]) -> list[tuple[int, str, str, bool]]:
    """How a candidate header row could be read: (column, heading, field, suggested) for
    each heading that is read as a field (a required one, for its place in the mapping
    the suggestion gives) and each that likely means one: a near miss ("Job Titel"), or
    words that suggest a required field the row lacks ("Organisation name", "Staff
    group" in an NHS extract)."""
    known: dict[str, int] = {}
    for j, c in enumerate(row):
        fld = schema.field_for_header(c, mapping) if isinstance(c, str) else None
        if fld and fld not in known:
            known[fld] = j
    out = [(j, str(row[j]).strip(), fld, False) for fld, j in known.items()
           if fld in schema.REQUIRED]
    taken = set(known)
    for j, c in enumerate(row):
        if not (isinstance(c, str) and len(c) <= 60 and len(c.split()) <= 8):  # a heading
            continue
        if schema.is_personal(c):
            continue
        read_as = schema.field_for_header(c, mapping)
        if read_as in schema.REQUIRED:
            continue
        for fld in ((near_miss(c) if read_as is None else None), schema.hinted_field(c)):
            if fld and fld not in taken and (read_as is None or fld in schema.REQUIRED):
                taken.add(fld)
                out.append((j, c.strip(), fld, True))
                break
    return sorted(out)


def _likeliest(grid: Grid, options: ReadOptions) -> SkipReason:
    """'; the likeliest is row ...', naming the headings it likely holds, with the
    mappings that would read it (every required field the row holds, as `fixes`)."""
    best, best_score, best_reading = None, 0, []
    for i in range(min(grid.nrows, options.limits.header_search_rows)):
        row = grid.row(i)
        reading = _reading_of(row, options.mapping)
        known = header_score(row, options.mapping)
        score = known + sum(1 for *_, suggested in reading if suggested)
        if score > best_score and score >= 2:
            best, best_score, best_reading = i, score, reading
    if best is None:
        return SkipReason("")
    text = f"; the likeliest is row {best + 1}"
    guesses = [(h, f) for _, h, f, suggested in best_reading if suggested]
    if not guesses:
        return SkipReason(text)
    text += ", whose headings may be " + ", ".join(
        f"'{echo(h)}' ({schema.FIELD_BY_NAME[f].label.lower() if f != 'fte' else 'FTE'})"
        for h, f in guesses[:6])
    return SkipReason(text, one(*(Fix(MAP, h, f) for _, h, f, _ in best_reading)))


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- the layout: what a front end asks about when a file cannot be read as it stands ----

CANDIDATES = 5          # header rows offered
FEW_VALUES = 24         # a column with at most this many distinct values lists them
_NUMBER_LIKE = re.compile(r"[\d\s.,:/%£$€+-]+")


@dataclass(frozen=True)
class HeaderCandidate:
    """A row that may be the header: its heading-like cells, and how many of them name a
    field (`known`) or nearly do (`near`, see `near_miss`)."""

    row: int                      # 1-based sheet row
    cells: tuple[str, ...]
    known: int
    near: int


@dataclass(frozen=True)
class ColumnLayout:
    """One column under the header row: what it was read as, and its values if few."""

    letter: str
    heading: str
    field: str | None             # None: unused (unknown, ignored or personal data)
    suggested: str | None         # a near miss's field, for an unused column
    personal: bool
    ignored: bool                 # --map "Heading=ignore"
    values: tuple[str, ...]       # an unused column's distinct values, if at most FEW_VALUES


@dataclass
class Layout:
    """A sheet as read: its header row (None: none found), the rows that may be it (the
    likeliest first) and the columns under it."""

    sheet: str
    header_row: int | None
    candidates: list[HeaderCandidate] = field(default_factory=list)
    columns: list[ColumnLayout] = field(default_factory=list)


def _heading_like(cell: Any) -> bool:
    if not isinstance(cell, str):
        return False
    text = cell.strip()
    return (bool(text) and len(text) <= 60 and len(text.split()) <= 8
            and not _NUMBER_LIKE.fullmatch(text))


def header_candidates(grid: Grid, options: ReadOptions, most: int = CANDIDATES, *,
                      near: bool = True) -> list[HeaderCandidate]:
    """The rows most like a header, likeliest first: the most cells naming a field or
    nearly naming one, then the most heading-like cells (short text, not numbers) less
    the cells holding numbers, then the earliest.  A row needs two heading-like cells.
    `near=False` leaves near misses uncounted (difflib on every cell: only worth it
    when no header row was found)."""
    scored = []
    for i in range(min(grid.nrows, options.limits.header_search_rows)):
        row = grid.row(i)
        cells = [str(c).strip() for c in row if _heading_like(c)]
        if len(cells) < 2:
            continue
        known = header_score(row, options.mapping)
        close = sum(1 for c in cells if schema.field_for_header(c, options.mapping) is None
                    and not schema.is_personal(c) and near_miss(c)) if near else 0
        numbers = sum(1 for c in row if not _is_blank(c) and not _heading_like(c))
        scored.append(((-(known + close), -(len(cells) - numbers), i),
                       HeaderCandidate(i + 1, tuple(cells), known, close)))
    scored.sort(key=lambda s: s[0])
    return [c for _, c in scored[:most]]


def _few_values(grid: Grid, j: int, start: int) -> tuple[str, ...]:
    """Column `j`'s distinct values from row `start`, if at most FEW_VALUES."""
    if j in grid.dense or start >= grid.nrows:
        return ()
    col = grid.columns[j].slice(start)
    used = pc.unique(col.indices.drop_null())
    if len(used) > FEW_VALUES:
        return ()
    values = {str(v).strip() for v in col.dictionary.take(used).to_pylist() if v is not None}
    return tuple(sorted(v for v in values if v))


def table_from_grid(sheet: str, grid: Grid, options: ReadOptions,
                    findings: Findings, skipped: list[tuple[str, str]],
                    layouts: list[Layout] | None = None) -> Table | None:
    """The table under the grid's header row; None (and a reason in `skipped`) when the
    sheet is empty or has no header row.  The sheet's `Layout` is added to `layouts`."""
    if grid.is_empty():
        skipped.append((sheet, "it is empty"))
        return None
    if options.header_row is not None:       # --header-row: the row given, not sought
        h: int | None = options.header_row - 1
    else:
        h = _find_header(grid, options)
    layout = Layout(sheet, None, header_candidates(grid, options, near=h is None
                                                   or options.header_row is not None))
    if layouts is not None:
        layouts.append(layout)
    if h is not None and options.header_row is not None and (
            h >= grid.nrows or all(_is_blank(c) for c in grid.row(h))):
        skipped.append((sheet, f"its row {options.header_row}, given as the header row, "
                               f"is blank"))
        return None
    if h is None:
        likeliest = _likeliest(grid, options)
        skipped.append((sheet, SkipReason(f"no header row in its first "
                                          f"{options.limits.header_search_rows} rows"
                                          f"{likeliest}", likeliest.fixes)))
        return None
    header = grid.row(h)
    header_row = h + 1
    layout.header_row = header_row
    if not any(c.row == header_row for c in layout.candidates):
        known = header_score(header, options.mapping)
        layout.candidates.insert(0, HeaderCandidate(
            header_row, tuple(str(c).strip() for c in header if _heading_like(c)), known, 0))
    start = h + 1
    cells: dict[int, Column] = {}

    def column(j: int) -> Column:
        if j not in cells:
            cells[j] = grid.column(j, start)
        return cells[j]

    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    personal: set[int] = set()
    unused: list[tuple[int, str]] = []
    ignored: set[int] = set()
    for j, cell in enumerate(header):
        if _is_blank(cell) or isinstance(cell, FormulaNoValue):
            continue
        text = str(cell).strip()
        key = schema.normalise(text)
        if key in options.mapping and options.mapping[key] == schema.IGNORE:
            ignored.add(j)               # --map "Heading=ignore": unused, and no finding;
            if schema.is_personal(text) or contacts.personal_kind(  # personal data stays
                    column(j).used_values()):                       # out of its layout
                personal.add(j)
            continue
        explicit = options.mapping.get(key)
        by_heading = schema.is_personal(text)
        fld = explicit or (None if by_heading else schema.field_for_header(text))
        ref = cell_ref(j, header_row)
        held = None if by_heading else contacts.personal_kind(column(j).used_values())
        what = contacts.PLURAL[held] if held else ""
        if held and explicit:
            raise UsageProblem(
                f"Column {column_letter(j)} '{echo(text)}' of sheet '{sheet}' holds personal "
                f"data (its values are mostly {what}), so it cannot be read as the "
                f"{schema.FIELD_BY_NAME[explicit].label} field or any other; take that "
                f"column out of the mapping.")
        if fld is None and by_heading:
            personal.add(j)
            findings.add(codes.PERSONAL_DATA,
                         f"Column {column_letter(j)} '{echo(text)}' holds personal data; it was "
                         f"dropped when the file was read and appears in no output. Remove it "
                         f"from copies of the file you share.",
                         sheet=sheet, cell=ref, column=text)
        elif held:
            personal.add(j)
            findings.add(codes.PERSONAL_DATA,
                         f"Column {column_letter(j)} '{echo(text)}' holds personal data (its "
                         f"values are mostly {what}), whatever its heading; it was dropped "
                         f"when the file was read and appears in no output. Remove it from "
                         f"copies of the file you share.",
                         sheet=sheet, cell=ref, column=text)
        elif fld is None:
            unused.append((j, text))
            findings.add(codes.UNKNOWN_COLUMN,
                         f"Column {column_letter(j)} '{echo(text)}' is not a known heading and "
                         f"was ignored.",
                         sheet=sheet, cell=ref, column=text,
                         fixes=one(Fix(MAP, text, near_miss(text))))
        elif fld in columns:
            first = columns[fld]
            if explicit and schema.normalise(headers[fld]) not in options.mapping:
                columns[fld], headers[fld] = j, text   # an explicit --map beats an alias
                continue
            findings.add(codes.DUPLICATE_COLUMN,
                         f"Columns {column_letter(first)} '{echo(headers[fld])}' and "
                         f"{column_letter(j)} '{echo(text)}' both look like the "
                         f"{schema.FIELD_BY_NAME[fld].label} field; rename one of them",
                         sheet=sheet, cell=ref, column=text, value=text,
                         fixes=one(Fix(MAP, text, fld)))
        else:
            columns[fld], headers[fld] = j, text

    n = grid.nrows - start
    scrubbed, in_text = _scrub_text(grid, start, personal, column)
    data = {fld: scrubbed[j] if j in scrubbed else column(j) for fld, j in columns.items()}
    for fld in schema.NA_BLANK_FIELDS & data.keys():    # "N/A" where a blank is allowed
        data[fld] = data[fld].with_blanks(schema.NA_WORDS)
    nonblank = np.zeros(n, dtype=bool)
    for col in data.values():
        nonblank |= ~col.blank()
    if not data:      # a header row given, none of whose headings is known yet: every row
        for j, _ in unused:                               # with a value is one to read
            nonblank |= ~grid.column(j, start).blank()
    by_column = {j: fld for fld, j in columns.items()}
    for j, cell in enumerate(header):
        if _is_blank(cell) or isinstance(cell, FormulaNoValue):
            continue
        text = str(cell).strip()
        secret = j in personal
        layout.columns.append(ColumnLayout(
            column_letter(j), text, by_column.get(j),
            None if j in by_column or secret else near_miss(text), secret, j in ignored,
            # no values of a column read, or of one holding contact details in its text
            () if secret or j in by_column or j in scrubbed else _few_values(grid, j, start)))

    # Control-total rows: no status, and some text cell (in any column) reads "Total"...
    kinds = filled(n, KIND_POST)
    if "status" in data:
        status = data["status"]
        candidates = np.flatnonzero(status.blank())
        # ... or the status cell itself reads "Total".
        in_status = status.map(_label_kind)
        kinds = np.where(in_status != "", in_status, kinds)
    else:
        candidates = np.arange(n)
    if len(candidates):
        found = filled(len(candidates), "")
        for j in range(len(grid.columns)):
            if j in personal:
                continue
            label = grid.column(j, start, candidates).map(_label_kind)
            found = np.where(found == "", label, found)
        hit = found != ""
        if "title" in data and "grade" in data:
            # A row with a job title and a grade is a post (with a blank status), even when
            # a cell such as its title reads "Total Rewards Officer"; never drop it silently.
            a_post = ~data["title"].blank() & ~data["grade"].blank()
            hit &= ~a_post[candidates]
        kinds[candidates[hit]] = found[hit]
        nonblank[candidates[hit]] = True
    dropped = 0
    where_values: dict[str, list[str]] = {}
    if options.where:
        dropped_keys = {schema.normalise(header[j]) for j in personal}
        for key, heading, _ in options.where:
            if key in dropped_keys:
                raise UsageProblem(f"Column '{echo(heading)}' of sheet '{sheet}' holds personal "
                                   f"data, so rows cannot be chosen by what it holds.")
        chosen, where_values = _where(sheet, header, grid, start, n, options.where)
        # a totals row totals the rows of the whole sheet, not the rows kept
        chosen &= kinds == KIND_POST
        dropped = int((nonblank & (kinds == KIND_POST) & ~chosen).sum())
        nonblank &= chosen
    keep = np.flatnonzero(nonblank)
    rows = keep.astype(np.int64) + start + 1
    if "team" in data:
        where_keys = {key for key, _, _ in options.where}
        _stacked(sheet, grid, start, header_row, keep[kinds[keep] == KIND_POST], data["team"],
                 [(j, h) for j, h in unused if schema.normalise(h) not in where_keys],
                 findings)
    return Table(sheet, header_row, columns, headers, rows, kinds[keep],
                 {fld: col.take(keep) for fld, col in data.items()}, unused, dropped,
                 in_text, where_values)


def _scrub_text(grid: Grid, start: int, personal: set[int], column: Any,
                ) -> tuple[dict[int, Column], tuple[int, str] | None]:
    """Each column below the header (but the personal ones) with the e-mail addresses,
    phone numbers and NI numbers in its text replaced (`contacts.scrub`): the columns
    changed, by index, and how many cells were changed with the first of them (A1), or
    None when there are none."""
    out: dict[int, Column] = {}
    count, first = 0, None
    for j in range(len(grid.columns)):
        if j in personal:
            continue
        col = column(j)
        values, changed = contacts.scrub_values(col.dictionary)
        if not len(changed):
            continue
        hit = np.isin(col.codes, changed)
        count += int(hit.sum())
        at = (int(np.argmax(hit)), j)
        first = at if first is None or at < first else first
        out[j] = col.replaced(values)
    if first is None:
        return out, None
    return out, (count, cell_ref(first[1], start + first[0] + 1))


# what a period looks like: a date, a month ("March 2024", "Mar-24", "2017-SEP", "2024-03"),
# a quarter, a financial year or a year
_MONTH = (r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?"
          r"|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)\.?")
PERIOD = re.compile("|".join((
    r"^\d{4}-\d{2}-\d{2}([t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$",
    r"^\d{1,2}[/.-]\d{1,2}[/.-](\d{2}|\d{4})$",
    rf"^(\d{{4}}[\s/-]*)?{_MONTH}([\s/,-]*(\d{{2}}|\d{{4}}))?$",
    r"^\d{4}[/-]\d{1,2}$", r"^\d{1,2}[/-]\d{4}$",
    r"^(q[1-4][\s/-]*(\d{2}|\d{4})|\d{4}[\s/-]*q[1-4])$",
    r"^(fy\s*)?\d{4}[/-]\d{2}(\d{2})?$", r"^(19|20)\d{2}$")), re.IGNORECASE)
MAX_PERIODS = 24          # more distinct values than this is not a few stacked snapshots
SAME_TEAMS = 0.5          # each period holds at least this share of all the periods' teams


def _stacked(sheet: str, grid: Grid, start: int, header_row: int, posts: np.ndarray,
             team: Column, unused: list[tuple[int, str]], findings: Findings) -> None:
    """A warning for an unused column holding 2 to 24 periods (months, dates, "2017-SEP"),
    each with much the same teams: snapshots stacked one after another, which every
    total would count once for each period."""
    teams = team.take(posts).codes
    for j, heading in unused:
        # a column of all-different values, or of more values than the header search
        # and 24 periods could hold, is no list of periods: skip it before reading it
        if j in grid.dense or len(grid.columns[j].dictionary) > MAX_PERIODS + start + 1:
            continue
        col = grid.column(j, start, posts)
        present, first = np.unique(col.codes, return_index=True)
        order = present[np.argsort(first)]                      # in row order
        values = col.text_values()
        periods = [int(c) for c in order if values[c] != ""]
        if not 2 <= len(periods) <= MAX_PERIODS or not all(
                PERIOD.match(str(values[c])) for c in periods):
            continue
        sets = [set(np.unique(teams[col.codes == c]).tolist()) for c in periods]
        every = set().union(*sets)
        if not all(len(s) >= SAME_TEAMS * len(every) for s in sets):
            continue
        shown = ", ".join(echo(values[c]) for c in periods[:12]) + (
            f" and {len(periods) - 12} more" if len(periods) > 12 else "")
        findings.add(codes.STACKED_SNAPSHOTS,
                     f"Column {column_letter(j)} '{echo(heading)}' holds {len(periods)} "
                     f"periods ({shown}), each with much the same teams: the file looks like "
                     f"{len(periods)} snapshots stacked one after another, so every total "
                     f"counts each post once for each period. Keep only the rows of one "
                     f"period by filtering on '{echo(heading)}', unless they are meant to be "
                     f"added up",
                     sheet=sheet, cell=cell_ref(j, header_row), column=heading,
                     fixes=one(Fix(WHERE, heading, tuple(str(values[c]) for c in periods))))


def _cell_text(value: Any) -> str:
    """A cell as --where compares it: 2024.0 as '2024', text stripped and case-folded."""
    if value is None:
        return ""
    if value.__class__ is float and value.is_integer():
        return str(int(value))
    return str(value).strip().casefold()


def _where(sheet: str, header: list[Any], grid: Grid, start: int, n: int,
           where: tuple[tuple[str, str, str], ...]) -> tuple[np.ndarray, dict[str, list[str]]]:
    """The data rows for which every --where "Heading=value" holds, and the distinct values
    each of those columns holds (to say what it does hold when no row is kept)."""
    keys = {schema.normalise(c): j for j, c in enumerate(header)
            if isinstance(c, str) and schema.normalise(c)}
    chosen = np.ones(n, dtype=bool)
    values: dict[str, list[str]] = {}
    for key, heading, value in where:
        if key not in keys:
            # said in words: a filter saved in a dataset's profile meets the portal too
            raise UsageProblem(f"the filter \"{heading}={value}\" (read only the rows whose "
                               f"'{heading}' is '{value}'): sheet '{sheet}' has no heading "
                               f"'{heading}'")
        want = value.casefold()
        col = grid.column(keys[key], start)
        chosen &= col.map(lambda v, w=want: _cell_text(v) == w, bool)
        present, first = np.unique(col.codes, return_index=True)     # in row order
        texts = col.text_values()[present[np.argsort(first)]]
        values[str(header[keys[key]]).strip()] = [v for v in dict.fromkeys(texts) if v]
    return chosen, values


def _label_kind(value: Any) -> str:
    """'total' or 'subtotal' when a cell reads like a control-total label, else ''."""
    if value.__class__ is not str or not schema.TOTAL_LABEL.match(value):
        return ""
    return KIND_SUBTOTAL if schema.normalise(value).startswith("sub") else KIND_TOTAL
