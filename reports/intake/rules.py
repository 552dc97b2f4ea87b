"""Validation rules: from a `Workbook` of raw cells to clean posts plus findings.

Every rule is a vectorised mask over a whole column; Python loops run only
over the rows a rule flags, to build their findings.  FTE becomes whole
millionths and money whole hundredths (int64) after a strict check of their
decimal places (6 and 2), so every sum made from them afterwards is exact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..model import codes
from ..model import fields as schema
from ..model.codes import Code
from ..model.findings import Findings, cell_ref, column_letter, echo
from ..model.fixes import DEFAULT_STATUS, MAP, STATUS_MAP, Fix, Fixes, either, one
from ..model.formats import FTE_SCALE, fte_value, hundredths, plain_decimal
from .extra import EXTRA, read_extra
from .workbook import (
    KIND_POST,
    KIND_SUBTOTAL,
    Column,
    FormulaNoValue,
    Table,
    Workbook,
    filled,
)

if TYPE_CHECKING:
    import pandas as pd

MAX_TEXT = 32_767          # Excel's own limit on a cell's text
MAX_NUMBER = 10 ** 10      # no FTE, post count or annual cost is this large


@dataclass(frozen=True)
class Expectations:
    """Control totals given on the command line (e.g. from a consultation paper)."""

    fte: Decimal | None = None
    deleted_fte: Decimal | None = None


# Where a status reading came from (`StatusReading.source`).
READ_BUILT_IN = "built-in"          # a word the tool reads on its own ("Deleted", "Remain")
READ_GIVEN = "status-map"           # a word named in the reading options (--status-map)
READ_DEFAULT = "default-status"     # a blank status, given the default (--default-status)


@dataclass(frozen=True)
class StatusReading:
    """How one status word of the file (or a blank, under --default-status) was read,
    and how many post rows, posts and FTE it decided: the briefing's method states each."""

    word: str                      # as written (its first spelling met); "" for blanks
    status: str
    vacant: bool | None            # the vacancy the word says too, or None
    source: str                    # READ_BUILT_IN, READ_GIVEN or READ_DEFAULT
    rows: int
    posts: int
    fte: Decimal

    @property
    def key(self) -> str:
        """The same word however it is spelt, from the same source: stable between versions."""
        return f"{self.source}:{schema.normalise(self.word)}"


@dataclass
class Report:
    """The outcome of reading and validating one file."""

    workbook: Workbook
    findings: Findings
    posts: pd.DataFrame
    has_vacant: bool
    has_cost: bool
    has_posts: bool = True          # False: no Posts column, so post counts are not given
    defaulted: int = 0              # rows given --default-status
    # The optional cost and equality columns (reports/intake/extra.py), one row per post
    # row, kept apart from `posts` so that no export of the posts can carry them.
    private: pd.DataFrame | None = None
    extra: frozenset[str] = frozenset()       # which of them some sheet has
    # The grouping columns as codes into their labels, for the totals' one grouped pass;
    # kept with the frame they describe, so a report whose posts are replaced has none.
    label_codes: tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]] | None = None
    # how each status word was read, with the rows and FTE it decided (see StatusReading)
    status_readings: tuple[StatusReading, ...] = ()
    # post rows whose vacancy the file states (a Vacant cell, or a status word such as
    # "Deleted - vacant"); the rest count as occupied
    vacancy_known: int = 0

    @property
    def valid(self) -> bool:
        return not self.findings.errors

    @property
    def columns(self) -> list[dict[str, str]]:
        """Which heading became which field, sheet by sheet, in column order."""
        out = []
        for t in self.workbook.tables:
            for fld, j in sorted(t.columns.items(), key=lambda kv: kv[1]):
                out.append({"sheet": t.sheet, "column": column_letter(j),
                            "header": t.headers[fld], "field": fld})
        return out

    @property
    def unused(self) -> list[dict[str, str]]:
        """The headings that were not used (personal-data columns are not listed)."""
        return [{"sheet": t.sheet, "column": column_letter(j), "header": h}
                for t in self.workbook.tables for j, h in t.unused]

    @property
    def source(self) -> dict[str, Any]:
        wb = self.workbook
        return {"file": wb.name, "sha256": wb.sha256, "format": wb.fmt,
                "sheets": wb.sheets_read, "rows": wb.rows_read,
                "skipped_sheets": [{"sheet": s, "reason": r} for s, r in wb.skipped],
                "columns": self.columns, "unused": self.unused}

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid,
                "source": self.source,
                "errors": [f.to_dict() for f in self.findings.errors],
                "warnings": [f.to_dict() for f in self.findings.warnings],
                "info": [f.to_dict() for f in self.findings.infos]}


POST_COLUMNS = ("sheet", "row", "post_id", "team", "title", "grade", "location",
                "destination", "status", "fte", "posts", "vacant", "cost",
                "establishment", "dismissal_date", "headcount", "site_type")


def validate(wb: Workbook, expect: Expectations | None = None) -> Report:
    """Apply every rule to every table of `wb`."""
    import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
    findings = Findings()
    findings.extend(wb.findings)
    # posts are counted from a Posts column, or from the Post IDs (each distinct ID is one
    # post), or one a row when the user says so (--one-post-per-row)
    has_posts = wb.options.one_post_per_row or all(
        "posts" in t.columns or "post_id" in t.columns for t in wb.tables)
    state = _RunState()
    with_extra = any(f in t.columns for t in wb.tables for f in EXTRA)
    checks = [_TableCheck(t, findings, wb.options, has_posts, state, with_extra)
              for t in wb.tables]
    duplicates = _duplicate_ids([_id_keys(c.t, c.is_post) for c in checks])
    pa.default_memory_pool().release_unused()
    frames = []
    for check in checks:
        frames.append(check.run())
        pa.default_memory_pool().release_unused()  # the rules' Arrow temporaries: see read_csv
    posts = (frames[0] if len(frames) == 1 else          # one sheet: not copied again
             pd.concat(frames, ignore_index=True) if frames else _empty_posts())
    # vacancy is reported when every sheet has a Vacant column, or when no sheet has one
    # but status words ("Deleted - vacant") state it for some rows (the rest: occupied)
    vacancy_known = int(posts["vacant"].notna().sum()) if len(posts) else 0
    columns = [("vacant" in t.columns) for t in wb.tables]
    has_vacant = all(columns) or (not any(columns) and vacancy_known > 0)
    has_cost = all("annual_cost" in t.columns for t in wb.tables)
    _run_notes(wb, findings, state, has_posts)
    _partial_column(wb, findings, "vacant", codes.VACANT_PARTIAL, has_vacant,
                    "vacancy is not reported: at-risk figures need a Vacant column on every sheet")
    _partial_column(wb, findings, "annual_cost", codes.ANNUAL_COST_PARTIAL, has_cost,
                    "costs are not reported: they need an Annual cost column on every sheet")
    _report_duplicates(wb, posts, findings, duplicates, has_posts)
    if expect is not None:
        _expectations(posts, expect, findings)
    private = (posts[list(EXTRA)].reset_index(drop=True)
               if all(c in posts.columns for c in EXTRA) else None)
    posts = posts.drop(columns=[c for c in EXTRA if c in posts.columns])
    extra = frozenset(f for t in wb.tables for f in EXTRA if f in t.columns)
    labels = _label_codes(checks) if checks else None
    pa.default_memory_pool().release_unused()
    return Report(wb, findings, posts, has_vacant, has_cost, has_posts, state.defaulted,
                  private, extra, None if labels is None else (posts, labels),
                  status_readings=state.status_readings(), vacancy_known=vacancy_known)


LABELS = ("team", "grade", "location", "destination")


def _label_codes(checks: list[_TableCheck]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each grouping column of the posts as (a code per post row, the labels): the columns'
    own codes, renumbered across sheets, so no million-row text column is hashed again."""
    import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
    out = {}
    for fld in LABELS:
        parts, labels = [], []
        offset = 0
        for check in checks:
            col = check.t.data.get(fld)
            keep = _Keep(check.is_post)
            if col is None:
                codes, values = np.zeros(keep.n, dtype=np.int32), np.array([""], dtype=object)
            else:
                codes, values = keep(col.codes), col.text_values()
            parts.append(codes + offset)
            labels.append(values)
            offset += len(values)
        merged, uniques = pd.factorize(np.concatenate(labels))
        out[fld] = (merged.astype(np.int32)[np.concatenate(parts)],
                    np.asarray(uniques, dtype=object))
    return out


@dataclass
class _RunState:
    """What the tables of one run share: one list of status words, one count per note."""

    words_listed: bool = False
    defaulted: int = 0
    first_defaulted: tuple[str, str] | None = None     # (sheet, cell)
    relocated_without_destination: int = 0
    first_relocated: tuple[str, str] | None = None
    # StatusReading.key -> [word, status, vacant, source, rows, posts, FTE millionths]
    readings: dict[str, list[Any]] | None = None

    def count(self, word: str, status: str, vacant: bool | None, source: str, rows: int,
              posts: int, fte: int) -> None:
        """Add the rows one status word (or the default) decided on one sheet."""
        if self.readings is None:
            self.readings = {}
        key = f"{source}:{schema.normalise(word)}"
        entry = self.readings.setdefault(key, [word, status, vacant, source, 0, 0, 0])
        entry[4] += rows
        entry[5] += posts
        entry[6] += fte

    def status_readings(self) -> tuple[StatusReading, ...]:
        """Every reading, by status (deleted first), then the most FTE first."""
        out = [StatusReading(w, st, v, src, rows, posts, fte_value(fte))
               for w, st, v, src, rows, posts, fte in (self.readings or {}).values()]
        order = {s: i for i, s in enumerate(schema.STATUSES)}
        return tuple(sorted(out, key=lambda r: (order.get(r.status, len(order)), -r.fte,
                                                r.source, r.word)))


def _run_notes(wb: Workbook, findings: Findings, state: _RunState, has_posts: bool) -> None:
    """The findings that are said once per run, whatever the number of rows or sheets."""
    options = wb.options
    if state.defaulted and options.default_status is not None:
        status, vacant = options.default_status
        word = status + ("" if vacant is None else " (vacant)" if vacant else " (occupied)")
        sheet, cell = state.first_defaulted or (None, None)
        findings.add(codes.STATUS_DEFAULTED,
                     f"{state.defaulted:,} row(s) have no status and are counted as {word} "
                     f"(the default status given)", sheet=sheet, cell=cell)
    if state.relocated_without_destination:
        sheet, cell = state.first_relocated or (None, None)
        findings.add(codes.DESTINATION_NOT_GIVEN,
                     f"{state.relocated_without_destination:,} relocated row(s) but no "
                     f"Destination column: their destination is 'not given'. Add a column "
                     f"headed 'Destination' to say where each post moves", sheet=sheet,
                     cell=cell)
    if not has_posts and wb.tables:
        findings.add(codes.POSTS_NOT_GIVEN,
                     "The file has no Posts column and no Post ID column, so each row's "
                     "number of posts is not known: FTE is totalled, post counts are not "
                     "given, and no row is checked against one post per 1.0 FTE. If each "
                     "row is one post, say so and each row counts as one")
    dropped = sum(t.where_dropped for t in wb.tables)
    if options.where:
        kept = wb.rows_read
        rule = " and ".join(f"{h} = {v!r}" for _, h, v in options.where)
        findings.add(codes.ROWS_SELECTED,
                     f"Only rows where {rule} were read: {kept:,} kept, {dropped:,} left out "
                     f"(totals rows are not checked)")


class _Keep:
    """The post rows of per-row arrays (every row, uncopied, when there is no totals row)."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = None if mask.all() else mask
        self.n = int(mask.sum())

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return values if self.mask is None else values[self.mask]


def _frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The posts of one table.  Text stays as object arrays of the values already made:
    pandas 3 would otherwise copy every text column into a new string array, which for a
    million rows takes longer than reading the file."""
    import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
    return pd.DataFrame({k: pd.Series(v, dtype=object, copy=False)
                         if isinstance(v, np.ndarray) and v.dtype == object else v
                         for k, v in columns.items()}, copy=False)


def _empty_posts() -> pd.DataFrame:
    import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
    return pd.DataFrame({c: pd.Series(dtype=object) for c in POST_COLUMNS})


def _partial_column(wb: Workbook, findings: Findings, fld: str, code: Code, everywhere: bool,
                    consequence: str) -> None:
    having = [t.sheet for t in wb.tables if fld in t.columns]
    if having and not everywhere:
        missing = [t.sheet for t in wb.tables if fld not in t.columns]
        findings.add(code,
                     f"Sheets {', '.join(repr(s) for s in missing)} have no "
                     f"{schema.FIELD_BY_NAME[fld].label} column, so {consequence}.",
                     sheet=missing[0])


# --------------------------------------------------------------------------
# parsing helpers: each works on a Column's distinct values, then spreads to rows


# what pandas.to_numeric reads, less inf and nan (ASCII digits: RE2's \\d is any digit)
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _numbers(values: pa.Array, money: bool = False) -> np.ndarray:
    """float64 for every text value that is a plain number, else NaN (Arrow kernels, so a
    column of a million distinct amounts makes no Python object).  `money` allows £, commas
    and spaces, as in "£31,234.50"."""
    out = np.full(len(values), np.nan)
    given = pc.not_equal(values, "").fill_null(False)
    try:    # the usual column: every value that is not blank is a number
        out[given.to_numpy(zero_copy_only=False)] = pc.cast(
            pc.filter(values, given), pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        if money:
            values = pc.replace_substring_regex(values, r"[£,\s]", "")
        number = pc.match_substring_regex(values, _NUMBER).fill_null(False)
        if pc.any(number).as_py():
            parsed = pc.cast(pc.filter(values, number), pa.float64())
            out[number.to_numpy(zero_copy_only=False)] = parsed.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        out[~np.isfinite(out)] = np.nan      # inf and nan, which the cast reads, are not numbers
        out[np.abs(out) >= MAX_NUMBER] = np.nan
    return out


def _to_number(col: Column, money: bool = False) -> np.ndarray:
    return col.per_text(_numbers(col.dictionary, money), np.nan)


def _scaled(col: Column, per: int, money: bool = False, limit: float = MAX_NUMBER,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's number (NaN if none, or at least `limit`), its whole 1/`per`s and whether
    it had no finer decimals: worked out once per distinct value, then spread."""
    x = _numbers(col.dictionary, money)
    x[np.abs(np.nan_to_num(x)) >= limit] = np.nan
    units, exact = _hundredths(x, per)
    return (col.per_text(x, np.nan), col.per_text(units, 0), col.per_text(exact, False))


def _hundredths(x: np.ndarray, per: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Whole hundredths (or whole 1/`per`) of `x` (0 where NaN), and whether `x` had no
    finer decimals.

    A float read from a workbook is the nearest double to what was typed (33.69 is
    3368.9999999999995 hundredths), so "no finer decimals" allows a few parts in 10^10
    of float noise (a double carries about 16 digits), far below the last place.
    """
    scaled = np.nan_to_num(x, nan=0.0) * float(per)
    magnitude = np.abs(scaled)                 # (in place from here: a million amounts)
    rounded = np.floor(magnitude + 0.5)
    rounded *= np.sign(scaled)
    np.maximum(magnitude, 1.0, out=magnitude)
    magnitude *= 1e-10
    magnitude += 1e-9
    scaled -= rounded
    exact = np.abs(scaled, out=scaled) <= magnitude
    return rounded.astype(np.int64), exact


MAX_FTE = 10 ** 7          # FTE on one row: millionths of this still sum exactly in int64


def one_text(v: Any) -> str:
    """A cell value as text: 7.0 -> '7'; text unchanged."""
    cls = v.__class__
    if cls is str:
        return v
    if cls is float and v.is_integer():
        return str(int(v))
    if cls is FormulaNoValue:
        return ""
    return str(v)


def fmt_hundredths(n: int) -> str:
    """Whole hundredths as the shortest exact decimal: 13250 -> '132.5'."""
    return plain_decimal(hundredths(n))


def fmt_fte(n: int) -> str:
    """Whole millionths of an FTE as the shortest exact decimal: 132500000 -> '132.5'."""
    return plain_decimal(fte_value(n))


# --------------------------------------------------------------------------
# the rules


STATUS_HELP = "; ".join(f"{s.title()}: {', '.join(w)}" for s, w in schema.STATUS_WORDS.items())


def _constant(text: str, value: Any) -> str:
    """A message that does not depend on the offending value."""
    return text


def _status_of(v: Any, status_map: dict[str, tuple[str, bool | None]]) -> tuple[str, Any]:
    """(status, vacant implied or None) of a status cell: --status-map first, then the
    built-in words, then the words that say the vacancy too; ('', None) if unknown."""
    key = schema.normalise(one_text(v))
    if key in status_map:
        return status_map[key]
    if key in schema.STATUS_BY_KEY:
        return schema.STATUS_BY_KEY[key], None
    return schema.COMPOUND_BY_KEY.get(key, ("", None))


def _vacant_of(v: Any) -> Any:
    return schema.VACANT_WORDS.get(schema.normalise(one_text(v))) if v != "" else None


class _TableCheck:
    def __init__(self, table: Table, findings: Findings, options: Any = None,
                 has_posts: bool = True, state: _RunState | None = None,
                 with_extra: bool = True) -> None:
        self.t = table
        self.n = len(table.rows)
        self.findings = findings
        self.status_map = getattr(options, "status_map", None) or {}
        self.default = getattr(options, "default_status", None)
        self.one_per_row = bool(getattr(options, "one_post_per_row", False))
        self.has_posts = has_posts
        self.state = state or _RunState()
        self.is_post = (table.kinds == KIND_POST)
        self.formula: dict[str, np.ndarray] = {f: c.formula() for f, c in table.data.items()}
        self.with_extra = with_extra    # some sheet has a cost or equality column

    # each flagged row of `mask` becomes one finding
    def flag(self, fld: str, mask: np.ndarray, code: Code,
             message: Callable[[Any], str],
             fixes: Fixes | Callable[[Any], Fixes] = ()) -> None:
        t = self.t
        col = t.data[fld]
        for i in np.flatnonzero(mask).tolist():
            raw = col[i]
            value = None if fld in schema.SENSITIVE_FIELDS else raw   # never echoed
            text = message(raw if code is codes.VALUE_TOO_LONG else value)   # only its length
            self.findings.add(code, text, sheet=t.sheet,
                              cell=t.cell(fld, int(t.rows[i])), column=t.headers[fld],
                              value=value, fixes=fixes(value) if callable(fixes) else fixes)

    def blank(self, fld: str) -> np.ndarray:
        return self.t.data[fld].blank()

    def text(self, fld: str) -> np.ndarray:
        if fld not in self.t.data:
            return filled(self.n, "")
        return self.t.data[fld].text()

    def run(self) -> pd.DataFrame:
        t = self.t
        for fld in schema.REQUIRED:
            if fld == "status" and self.default is not None:
                continue
            if fld == "fte" and self.one_per_row:     # 1.0 FTE a row stands in
                continue
            if fld not in t.columns:
                spec = schema.FIELD_BY_NAME[fld]
                text = (f"No {spec.label} column: the header row (row {t.header_row}) needs "
                        f"one headed {' / '.join(repr(a) for a in spec.aliases)}")
                fixes = one(Fix(MAP, None, fld))
                if fld == "status":
                    # a file that proposes nothing (an organogram) is a baseline: every
                    # post is kept
                    text += "; a file that proposes no change (such as an organogram) has none"
                    fixes = either(Fix(MAP, None, fld), Fix(DEFAULT_STATUS, None, "retained"))
                self.findings.add(codes.MISSING_COLUMN, text, sheet=t.sheet,
                                  cell=f"{t.header_row}:{t.header_row}", column=None,
                                  fixes=fixes)
        for fld, mask in self.formula.items():
            self.flag(fld, mask, codes.FORMULA_NO_VALUE, lambda v: (
                f"Formula {echo(v)} has no saved result (the file was saved by a program that "
                f"never calculated it); open the file in Excel or LibreOffice, let it "
                f"recalculate, and save it again"))
        for fld, col in t.data.items():
            long = col.per_text(pc.greater(pc.utf8_length(col.dictionary), MAX_TEXT)
                                .fill_null(False), False)
            self.flag(fld, long, codes.VALUE_TOO_LONG, lambda v: (
                f"The cell holds {len(v):,} characters, over the {MAX_TEXT:,} a spreadsheet "
                f"cell can hold; shorten it"))
        for fld in ("team", "title", "grade"):
            if fld in t.columns:
                label = schema.FIELD_BY_NAME[fld].label
                text = (f"{label} is blank; every post needs a {label.lower()}. If this row "
                        f"is a note or a heading, move it out of the table")
                self.flag(fld, self.blank(fld) & self.is_post, codes.REQUIRED_BLANK,
                          functools.partial(_constant, text))

        status, implied = self._status()
        posts = self._posts()
        fte = self._fte(posts)
        self._count_readings(status, posts[0], fte[0])
        destination = self.text("destination")
        self._destination(status, destination)
        vacant = self._vacant(implied)
        cost = self._cost()
        # the cost and equality columns, when some sheet has one (else no private frame)
        extra = (read_extra(t, self.findings, self.is_post) if self.with_extra else {})
        self._control_totals(fte, posts, cost)
        s188 = self._s188(posts[0])

        rows = _Keep(self.is_post)
        return _frame({
            "sheet": filled(rows.n, t.sheet),
            "row": rows(t.rows),
            "post_id": self._ids(rows),
            "team": rows(self.text("team")),
            "title": rows(self.text("title")),
            "grade": rows(self.text("grade")),
            "location": rows(self.text("location")),
            "destination": rows(destination),
            "status": rows(status),
            "fte": rows(fte[0]),
            "posts": rows(posts[0]),
            "vacant": rows(vacant),
            "cost": rows(cost[0]),
            **{k: rows(v) for k, v in s188.items()},
            **{fld: rows(values) for fld, values in extra.items()},
        })

    def _ids(self, rows: _Keep) -> Any:
        """The Post IDs of the post rows, as pandas' Arrow-backed text (as pandas 3 makes
        any text column): an ID column is nearly all different values, so object arrays
        would hold a Python str per row."""
        import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
        if "post_id" not in self.t.data:
            return rows(filled(self.n, ""))
        ids = self.t.data["post_id"].text_arrow()
        if rows.mask is not None:
            ids = ids.filter(pa.array(rows.mask))
        return pd.array(ids, dtype="str")

    # -- status
    def _status(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's status, and the vacancy its status word implies (or None)."""
        self._defaulted = np.zeros(self.n, dtype=bool)
        self._read: list[tuple[str, Any]] = []
        implied = np.full(self.n, None, dtype=object)
        if "status" not in self.t.columns:
            status = filled(self.n, "")
            blank = self.is_post.copy()
        else:
            col = self.t.data["status"]
            read = [_status_of(v, self.status_map) for v in col.uniques]   # once a value
            self._read = read
            status = col.spread(np.array([r[0] for r in read] or [""], dtype=object))
            implied = col.spread(np.array([r[1] for r in read] or [None], dtype=object))
            blank = self.blank("status") & self.is_post
        if self.default is not None:
            fill = blank & self.is_post
            if fill.any():
                self._defaulted = fill
                status = np.where(fill, self.default[0], status)
                implied = np.where(fill, self.default[1], implied)
                self.state.defaulted += int(fill.sum())
                self.state.first_defaulted = self.state.first_defaulted or self._first(fill)
            return status, implied
        if "status" not in self.t.columns:
            return status, implied
        self.flag("status", blank, codes.REQUIRED_BLANK, lambda v: (
            f"Status is blank; say what the proposal does to the post ({STATUS_HELP})"),
            fixes=one(Fix(DEFAULT_STATUS)))
        unknown = (status == "") & ~blank & self.is_post & ~self.formula["status"]
        self.flag("status", unknown, codes.STATUS_UNKNOWN, self._unknown_status,
                  fixes=self._unknown_status_fix)
        return status, implied

    def _count_readings(self, status: np.ndarray, posts: np.ndarray, fte: np.ndarray) -> None:
        """How many post rows, posts and FTE (whole millionths: exact) each status word
        decided, and the default status; added up per distinct word, not per row."""
        state = self.state
        fill = self._defaulted
        if fill.any() and self.default is not None:
            default, vacant = self.default
            state.count("", default, vacant, READ_DEFAULT, int(fill.sum()),
                        int(posts[fill].sum()), int(fte[fill].sum()))
        if not self._read:
            return
        col = self.t.data["status"]
        live = self.is_post & ~fill & (status != "")
        codes_ = col.codes[live]
        n = len(self._read)
        rows = np.bincount(codes_, minlength=n)
        post_sums = np.zeros(n, dtype=np.int64)
        fte_sums = np.zeros(n, dtype=np.int64)
        np.add.at(post_sums, codes_, posts[live].astype(np.int64))
        np.add.at(fte_sums, codes_, fte[live].astype(np.int64))
        for i in np.flatnonzero(rows).tolist():
            word = one_text(col.uniques[i])
            read_as, vacant = self._read[i]
            source = READ_GIVEN if schema.normalise(word) in self.status_map else READ_BUILT_IN
            state.count(word, read_as, vacant, source, int(rows[i]), int(post_sums[i]),
                        int(fte_sums[i]))

    def _first(self, mask: np.ndarray) -> tuple[str, str]:
        """(sheet, cell) of the first row `mask` holds: its Status cell, or the whole row
        when the sheet has no Status column (a note said once per run points there)."""
        row = int(self.t.rows[int(np.flatnonzero(mask)[0])])
        if "status" in self.t.columns:
            return self.t.sheet, self.t.cell("status", row)
        # no Status column: the row's first cell that was read
        return self.t.sheet, cell_ref(min(self.t.columns.values(), default=0), row)

    def _unknown_status(self, v: Any) -> str:
        """The message for a status word that is not known: the accepted words once per
        run, and for a word such as 'At risk' that could mean more than one thing, why."""
        word = echo(v)
        if schema.normalise(one_text(v)) in schema.AMBIGUOUS_KEYS:
            text = f"Status '{word}' does not say whether the post is deleted or kept"
        else:
            text = f"Status '{word}' is not a known proposal"
        if not self.state.words_listed:
            self.state.words_listed = True
            text += (f". A status word can be read as {', '.join(schema.STATUS_TARGETS)}. "
                     f"The words read without a map are: {STATUS_HELP}")
        return text

    def _unknown_status_fix(self, v: Any) -> Fixes:
        """Read the word as a status: deleted or retained for a word such as 'At risk',
        the status of a close known word ('Deleteed'), else the user's choice."""
        key = schema.normalise(one_text(v))
        word = one_text(v) or ""
        if key in schema.AMBIGUOUS_KEYS:
            return one(Fix(STATUS_MAP, word, ("deleted", "retained")))
        close = schema.close_status(word)
        return one(Fix(STATUS_MAP, word, close))

    # -- posts: (count, ok)
    def _posts(self) -> tuple[np.ndarray, np.ndarray]:
        if "posts" not in self.t.columns or self.one_per_row:
            # one per row: as the user said (--one-post-per-row), or one per Post ID (job
            # shares are merged by _report_duplicates), so checked and reported; else not
            # given: it stands in, and no figure reports it (has_posts)
            return (np.ones(self.n, dtype=np.int64),
                    np.full(self.n, self.has_posts, dtype=bool))
        blank = self.blank("posts")
        x = _to_number(self.t.data["posts"])
        safe = np.nan_to_num(x)
        whole = ~np.isnan(x) & (np.floor(safe) == safe) & (x >= 1)
        bad = ~blank & ~whole & ~self.formula["posts"] & self.is_post
        self.flag("posts", bad, codes.POSTS_INVALID, lambda v: (
            f"Posts '{echo(v)}' is not a whole number of at least 1; give how many identical "
            f"posts the row stands for (leave it blank for 1)"))
        count = np.where(whole, safe, 1).astype(np.int64)
        return count, (blank | whole)

    # -- fte: (hundredths, ok)
    def _fte(self, posts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if "fte" not in self.t.columns:
            if self.one_per_row:          # each row is one full-time post
                return np.full(self.n, FTE_SCALE, dtype=np.int64), np.ones(self.n, dtype=bool)
            return np.zeros(self.n, dtype=np.int64), np.zeros(self.n, dtype=bool)
        live = self.is_post & ~self.formula["fte"]
        blank = self.blank("fte")
        x, units, exact = _scaled(self.t.data["fte"], FTE_SCALE, limit=MAX_FTE)
        self.flag("fte", blank & live, codes.REQUIRED_BLANK, lambda v: (
            "FTE is blank; give the full-time equivalent of the row, e.g. 1 or 0.5"))
        nan = np.isnan(x) & ~blank & live
        self.flag("fte", nan, codes.FTE_NOT_NUMBER, lambda v: (
            f"FTE '{echo(v)}' is not a number; give the full-time equivalent as a number such "
            f"as 1, 0.5 or 33.69 (with a full stop as the decimal point)"))
        num = ~np.isnan(x) & live
        self.flag("fte", num & (x == 0), codes.FTE_ZERO, lambda v: (
            "FTE is 0; a post must be above 0 FTE. Delete the row if the post does not exist"))
        self.flag("fte", num & (x < 0), codes.FTE_NEGATIVE, lambda v: (
            f"FTE '{echo(v)}' is negative; FTE must be above 0 and at most the number of posts "
            f"on the row"))
        self.flag("fte", num & (x > 0) & ~exact, codes.FTE_TOO_PRECISE, lambda v: (
            f"FTE '{echo(v)}' has more than 6 decimal places; round it to 6 (e.g. 0.533333), "
            f"so that totals are exact"))
        count, count_ok = posts
        over = num & (x > 0) & exact & count_ok & (units > count * FTE_SCALE)
        self.flag("fte", over, codes.FTE_EXCEEDS_POSTS, lambda v: (
            f"FTE '{echo(v)}' is more than the row's posts allow (each post is at most 1.0 "
            f"FTE); correct the FTE or the number of posts"))
        ok = ~np.isnan(x) & (x > 0) & exact
        return np.where(ok, units, 0), ok

    # -- destination
    def _destination(self, status: np.ndarray, dest: np.ndarray) -> None:
        relocated = (status == "relocated") & self.is_post
        if "destination" not in self.t.columns:
            if relocated.any():      # one warning for the run (_run_notes)
                self.state.relocated_without_destination += int(relocated.sum())
                self.state.first_relocated = self.state.first_relocated or \
                    self._first(relocated)
            return
        blank = dest == ""
        self.flag("destination", relocated & blank & ~self.formula["destination"],
                  codes.DESTINATION_MISSING, lambda v: (
                      "The post is relocated but its Destination is blank; name the service it "
                      "moves to"))
        self.flag("destination", ~relocated & ~blank & self.is_post & (status != ""),
                  codes.DESTINATION_UNEXPECTED, lambda v: (
                      f"Destination '{echo(v)}' is given but the post is not relocated; it is "
                      f"ignored. Clear it, or set the status to Relocated"))

    # -- vacant: object array of True/False/None
    def _vacant(self, implied: np.ndarray) -> np.ndarray:
        """True / False / None per row, from the Vacant column and the status words that
        say the vacancy too ("Deleted - vacant"); the two must agree."""
        said = np.array([v is not None for v in implied], dtype=bool)
        if "vacant" not in self.t.columns:
            return implied.copy()
        col = self.t.data["vacant"]
        vacant = col.map(_vacant_of)
        blank = self.blank("vacant") & self.is_post
        unknown = col.map(lambda v: _vacant_of(v) is None, bool)
        bad = unknown & ~blank & self.is_post & ~self.formula["vacant"]
        self.flag("vacant", bad, codes.VACANT_INVALID, lambda v: (
            f"Vacant '{echo(v)}' is not Y or N; use Y (vacant) or N (someone holds the post)"))
        self.flag("vacant", blank & ~said, codes.VACANT_BLANK, lambda v: (
            "Vacant is blank; the post is counted as occupied (at risk). Fill in Y or N"))
        conflict = said & ~blank & ~unknown & self.is_post & np.array(
            [a is not None and b is not None and a != b for a, b in zip(implied, vacant)],
            dtype=bool)
        self.flag("vacant", conflict, codes.STATUS_VACANT_CONFLICT, lambda v: (
            f"Vacant '{echo(v)}' disagrees with the row's status, which says whether the post "
            f"is vacant; make them agree"))
        return np.where(blank & said, implied, vacant)

    # -- cost: (pence, ok)
    def _cost(self) -> tuple[np.ndarray, np.ndarray]:
        if "annual_cost" not in self.t.columns:
            return np.zeros(self.n, dtype=np.int64), np.zeros(self.n, dtype=bool)
        live = self.is_post & ~self.formula["annual_cost"]
        blank = self.blank("annual_cost")
        x, pence, exact = _scaled(self.t.data["annual_cost"], 100, money=True)
        self.flag("annual_cost", np.isnan(x) & ~blank & live, codes.COST_NOT_NUMBER,
                  lambda v: (f"Annual cost '{echo(v)}' is not an amount of money; give a "
                             f"number of pounds such as 31234.50 or £31,234.50"))
        self.flag("annual_cost", ~np.isnan(x) & (x < 0) & live, codes.COST_NEGATIVE,
                  lambda v: (f"Annual cost '{echo(v)}' is negative; give the cost of the row "
                             f"as a positive amount"))
        self.flag("annual_cost", blank & live, codes.COST_BLANK, lambda v: (
            "Annual cost is blank; the row counts as £0 in the cost figures. Fill it in"))
        self.flag("annual_cost", ~np.isnan(x) & (x >= 0) & ~exact & live, codes.COST_ROUNDED,
                  lambda v: (f"Annual cost '{echo(v)}' has fractions of a penny; it "
                             f"is rounded to the nearest penny"))
        ok = ~np.isnan(x) & (x >= 0)
        return np.where(ok, pence, 0), ok

    # -- s.188 and sites: establishment, dismissal date, people, site type (issue 13)
    def _s188(self, posts: np.ndarray) -> dict[str, np.ndarray]:
        when = np.full(self.n, None, dtype=object)
        if "dismissal_date" in self.t.columns:
            col = self.t.data["dismissal_date"]
            when = col.map(_date_of)
            bad = col.map(lambda v: v != "" and _date_of(v) is None, bool)
            self.flag("dismissal_date", bad & self.is_post & ~self.formula["dismissal_date"],
                      codes.DISMISSAL_DATE_INVALID, lambda v: (
                          f"Dismissal date '{echo(v)}' is not a date; give it as a date "
                          f"cell, or as YYYY-MM-DD or DD/MM/YYYY (day first)"))
        people = posts.copy()
        if "headcount" in self.t.columns:
            x = _to_number(self.t.data["headcount"])
            safe = np.nan_to_num(x)
            whole = ~np.isnan(x) & (np.floor(safe) == safe) & (x >= 0)
            bad = ~self.blank("headcount") & ~whole & ~self.formula["headcount"] & self.is_post
            self.flag("headcount", bad, codes.HEADCOUNT_INVALID, lambda v: (
                f"People '{echo(v)}' is not a whole number of at least 0; give how many "
                f"people hold the row's posts (leave it blank for the number of posts)"))
            people = np.where(whole, safe, posts).astype(np.int64)
        return {"establishment": self.text("establishment"), "dismissal_date": when,
                "headcount": people, "site_type": self.text("site_type")}

    # -- totals rows in the sheet
    def _control_totals(self, fte: tuple[np.ndarray, np.ndarray],
                        posts: tuple[np.ndarray, np.ndarray],
                        cost: tuple[np.ndarray, np.ndarray]) -> None:
        t = self.t
        total_rows = np.flatnonzero(~self.is_post)
        if not len(total_rows):
            return
        cum_posts = np.cumsum(self.is_post.astype(np.int64))
        measures = (("fte", "FTE", fte, FTE_SCALE, fmt_fte),
                    ("posts", "posts", (posts[0] * 100, posts[1]), 100, fmt_hundredths),
                    ("annual_cost", "annual cost", cost, 100, fmt_hundredths))
        for fld, label, (values, ok), per, show in measures:
            if fld not in t.columns:
                continue
            cum = np.cumsum(np.where(self.is_post, values, 0))
            cum_bad = np.cumsum(self.is_post & ~ok)
            given = _to_number(t.data[fld], money=(fld == "annual_cost"))
            given_h, _ = _hundredths(given, per)
            seg_start = -1
            for i in total_rows.tolist():
                kind = t.kinds[i]
                start = seg_start if kind == KIND_SUBTOTAL else -1
                expected = int(cum[i] - (cum[start] if start >= 0 else 0))
                n_posts = int(cum_posts[i] - (cum_posts[start] if start >= 0 else 0))
                n_bad = int(cum_bad[i] - (cum_bad[start] if start >= 0 else 0))
                seg_start = i
                value = t.data[fld][i]
                if value == "" or value.__class__ is FormulaNoValue:
                    continue
                where = ("since the previous sub-total" if kind == KIND_SUBTOTAL and start >= 0
                         else "above it")
                name = "Sub-total" if kind == KIND_SUBTOTAL else "Total"
                code = codes.SUBTOTAL_MISMATCH if kind == KIND_SUBTOTAL else codes.TOTAL_MISMATCH
                cell = t.cell(fld, int(t.rows[i]))
                if np.isnan(given[i]):
                    self.findings.add(code,
                                      f"{name} row's {label} '{echo(value)}' is not a number; "
                                      f"give the total as a number or clear the cell",
                                      sheet=t.sheet, cell=cell, column=t.headers[fld],
                                      value=value)
                elif int(given_h[i]) != expected:
                    self.findings.add(
                        code,
                        f"{name} row says {label} {show(int(given_h[i]))} but the "
                        f"{n_posts} row(s) {where} add up to {show(expected)}"
                        + (f" (not counting {n_bad} row(s) whose {label} has an error)"
                           if n_bad else "")
                        + "; correct the total or the rows it totals",
                        sheet=t.sheet, cell=cell, column=t.headers[fld], value=value)


_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_WORDY = ("%d %B %Y", "%d %b %Y", "%d-%b-%Y", "%d %B, %Y")


def _date_of(v: Any) -> dt.date | None:
    """A cell as a date: a date cell (read as ISO text), YYYY-MM-DD, DD/MM/YYYY (day first,
    as UK schedules write it) or "6 April 2026"; None for anything else."""
    if v.__class__ is not str or not v:
        return None
    text = v.strip()
    if text[:1].isdigit() and len(text) >= 10 and text[4:5] == "-":
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(text).date()    # a date cell, or YYYY-MM-DD
        return None
    m = _DAY_FIRST.match(text)
    if m:
        with contextlib.suppress(ValueError):
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        return None
    for pattern in _WORDY:
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(text, pattern).date()
    return None


def _id_keys(t: Table, keep: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """A table's Post ID values as duplicates are found (case-folded; "" for none), and
    for each post row the index of its own."""
    if "post_id" not in t.data:
        return pa.array([""], pa.string()), np.zeros(int(keep.sum()), dtype=np.int32)
    col = t.data["post_id"]
    folded = pc.utf8_lower(col.dictionary)
    if not pc.all(pc.string_is_ascii(col.dictionary)).as_py():     # ß and the like
        folded = pa.array([v.casefold() for v in col.dictionary.to_pylist()], pa.string())
    keys = pa.concat_arrays([folded, pa.array([""] * len(col.extras), pa.string())])
    return keys, _Keep(keep)(col.codes)


def _duplicate_ids(keys: list[tuple[pa.Array, np.ndarray]]) -> list[tuple[int, int]]:
    """(post row, the earlier post row with the same ID) for each Post ID used before, in
    the same sheet or another; post rows are numbered across the sheets, in order.  Run
    before the posts frame is built, so that its sort's tens of megabytes for a million
    IDs are given back before the frame takes its own."""
    if not keys:
        return []
    # Each post row's folded ID, sorted (stably, so equal IDs keep row order): a run of
    # equal IDs is one ID used more than once.  Sorting a million IDs is several times
    # quicker than hashing them here.
    ids = pa.concat_arrays([k.take(pa.array(rows)) for k, rows in keys])
    order = pc.array_sort_indices(ids).to_numpy(zero_copy_only=False)
    ranked = ids.take(pa.array(order))
    if len(ranked) < 2:
        return []
    same = pc.equal(ranked.slice(1), ranked.slice(0, len(ranked) - 1)).to_numpy(
        zero_copy_only=False)
    if not same.any():
        return []
    starts = np.r_[True, ~same]
    run_first = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    named = pc.not_equal(ranked, "").to_numpy(zero_copy_only=False)
    later = np.flatnonzero(~starts & named)
    return sorted(zip(order[later].tolist(), run_first[later].tolist()))


def _report_duplicates(wb: Workbook, posts: pd.DataFrame, findings: Findings,
                       pairs: list[tuple[int, int]], has_posts: bool = False) -> None:
    """A finding for each Post ID used before.  Where the posts are counted from the IDs
    (no Posts column), rows sharing an ID with one team, title and grade and at most 1.0
    FTE between them are a job share: one post (the later rows count 0), one warning."""
    tables = {t.sheet: t for t in wb.tables}
    runs: dict[int, list[int]] = {}
    for i, j in pairs:
        runs.setdefault(j, [j]).append(i)
    shared = [rows for rows in runs.values()
              if has_posts and _job_share(wb, tables, posts, rows)]
    if shared:
        count = posts["posts"].to_numpy(dtype=np.int64).copy()
        for rows in shared:
            count[rows[1:]] = 0
            _report_job_share(tables, posts, findings, rows)
        posts["posts"] = count
    merged = {i for rows in shared for i in rows}
    for i, j in pairs:
        if i in merged:
            continue
        sheet, row = posts["sheet"].iat[i], int(posts["row"].iat[i])
        table = tables[sheet]
        here = f"'{sheet}'!{table.cell('post_id', row)}"
        other = tables[posts["sheet"].iat[j]]
        there = f"'{posts['sheet'].iat[j]}'!{other.cell('post_id', int(posts['row'].iat[j]))}"
        findings.add(codes.DUPLICATE_POST_ID,
                     f"Post ID '{echo(posts['post_id'].iat[i])}' at {here} is also used at "
                     f"{there}; each post needs its own ID. If the file's IDs do not name "
                     f"one post each, ignore the ID column",
                     sheet=sheet, cell=table.cell("post_id", row),
                     column=table.headers["post_id"], value=posts["post_id"].iat[i],
                     fixes=one(Fix(MAP, table.headers["post_id"], "ignore")))


def _job_share(wb: Workbook, tables: dict[str, Table], posts: pd.DataFrame,
               rows: list[int]) -> bool:
    """Whether post rows `rows` (sharing an ID) are one post held by several people: posts
    counted a row each on their sheets, one team, title and grade, and FTE above 0 adding
    to at most 1.0."""
    if not all(wb.options.one_post_per_row or "posts" not in tables[posts["sheet"].iat[i]]
               .columns for i in rows):
        return False
    for fld in ("team", "title", "grade"):
        if len({str(posts[fld].iat[i]).casefold() for i in rows}) != 1:
            return False
    fte = [int(posts["fte"].iat[i]) for i in rows]
    return all(f > 0 for f in fte) and sum(fte) <= FTE_SCALE


def _report_job_share(tables: dict[str, Table], posts: pd.DataFrame, findings: Findings,
                      rows: list[int]) -> None:
    first = rows[0]
    sheet = posts["sheet"].iat[first]
    table = tables[sheet]
    cells = [f"'{posts['sheet'].iat[i]}'!"
             f"{tables[posts['sheet'].iat[i]].cell('post_id', int(posts['row'].iat[i]))}"
             for i in rows]
    value = posts["post_id"].iat[first]
    total = fmt_fte(sum(int(posts["fte"].iat[i]) for i in rows))
    findings.add(codes.JOB_SHARE,
                 f"Post ID '{echo(value)}' is on {len(rows)} rows ({', '.join(cells)}) with the "
                 f"same team, job title and grade and {total} FTE between them: read as one "
                 f"post shared by {len(rows)} people (a job share). If they are different "
                 f"posts, give each its own ID",
                 sheet=sheet, cell=table.cell("post_id", int(posts["row"].iat[first])),
                 column=table.headers["post_id"], value=value)


def _expectations(posts: pd.DataFrame, expect: Expectations, findings: Findings) -> None:
    if posts.empty:
        return
    status = posts["status"]
    fte = posts["fte"].astype(np.int64)
    baseline = int(fte[status.isin(("deleted", "retained", "relocated"))].sum())
    deleted = int(fte[status == "deleted"].sum())
    checks = [(codes.EXPECT_FTE_MISMATCH, "The expected baseline FTE,", "baseline FTE (deleted "
               "+ retained + relocated)", expect.fte, baseline),
              (codes.EXPECT_DELETED_FTE_MISMATCH, "The expected deleted FTE,", "deleted FTE",
               expect.deleted_fte, deleted)]
    for code, option, what, given, actual in checks:
        if given is None:
            continue
        if Decimal(given) * FTE_SCALE != actual:
            findings.add(code,
                         f"{option} {given}, disagrees with the file: its {what} adds up to "
                         f"{fmt_fte(actual)} (a difference of "
                         f"{plain_decimal(fte_value(actual) - Decimal(given))}); check the "
                         f"schedule against the published figure",
                         value=str(given))

