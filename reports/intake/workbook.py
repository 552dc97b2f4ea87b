"""What `read()` takes and returns: its options and limits, and the `Workbook` of `Table`s.

A `Table` holds the raw cells of the known fields of one sheet, each field as a
`Column` (cleaned distinct values and a code per row), with the sheet row number
of every row.  Personal-data columns are never copied into a table.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..model.findings import Findings, cell_ref
from ..model.fixes import Fixes
from .figures import SheetFigure

MiB = 1024 * 1024


class SkipReason(str):
    """Why a sheet was not read, in plain words (a `str` wherever it is shown), with the
    settings that would let it be read (`fixes`: the mappings its likeliest header row
    needs), which the CLI shows as options and the portal in words."""

    fixes: Fixes = ()

    def __new__(cls, text: str, fixes: Fixes = ()) -> SkipReason:
        made = super().__new__(cls, text)
        made.fixes = fixes
        return made

    def __reduce__(self) -> Any:   # a copy keeps its fixes (a report crosses processes)
        return (SkipReason, (str(self), self.fixes))


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile or broken file from exhausting the machine."""

    max_file_bytes: int = 256 * MiB
    max_members: int = 2_000
    max_member_bytes: int = 512 * MiB       # one decompressed part
    max_total_bytes: int = 1024 * MiB       # all decompressed parts together
    max_ratio: float = 100.0                # compression ratio of one part
    ratio_floor_bytes: int = 1 * MiB        # parts smaller than this may compress better
    # rows x columns of a sheet's used range; room for Excel's 1,048,576 rows x 26 columns
    max_cells: int = 30_000_000
    header_search_rows: int = 30


@dataclass(frozen=True)
class ReadOptions:
    sheets: tuple[str, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)   # normalised header -> field
    encoding: str | None = None
    limits: Limits = Limits()
    # normalised status words -> (status, vacant or None), from --status-map
    status_map: dict[str, tuple[str, bool | None]] = field(default_factory=dict)
    default_status: tuple[str, bool | None] | None = None     # --default-status
    where: tuple[tuple[str, str, str], ...] = ()  # --where: (normalised heading, heading, value)
    one_post_per_row: bool = False  # --one-post-per-row: each row is 1 post (and 1.0 FTE)
    header_row: int | None = None     # --header-row: the header's sheet row (1-based), not sought
    # modules the caller needs once the file is read (a briefing's renderer), imported
    # while an xlsx's sheets are read on another thread: changes nothing that is read
    meanwhile: tuple[str, ...] = ()


class FormulaNoValue:
    """Stands in the grid for a formula cell whose result was never saved."""

    __slots__ = ("formula",)

    def __init__(self, formula: str) -> None:
        self.formula = formula

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"FormulaNoValue({self.formula!r})"

    def __str__(self) -> str:
        return f"={self.formula}" if self.formula else "(formula)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FormulaNoValue) and other.formula == self.formula

    def __hash__(self) -> int:
        return hash(("FormulaNoValue", self.formula))


KIND_POST, KIND_TOTAL, KIND_SUBTOTAL = "post", "total", "subtotal"


@dataclass
class Column:
    """One field's cells: a code per row into the distinct, cleaned values.

    Every cell arrives as text (a number as its shortest exact decimal, a blank as "").
    The distinct values are an Arrow string array, so the rules that can run in Arrow
    (blank, length, number) never make a Python object per value, and the rest run once
    per distinct value and spread to the rows by the codes: a million-row status column
    costs a handful of regex calls, not a million.  A formula cell without a saved result
    gets a code of its own past the end of `dictionary`, for its `FormulaNoValue`.
    """

    codes: np.ndarray              # int32, one per row
    dictionary: pa.Array           # string: the cleaned values, none null; distinct, but
    #                                for a column with a code per cell (as_dictionary)
    extras: tuple[FormulaNoValue, ...] = ()

    @classmethod
    def of_text(cls, values: pa.Array, typed: bool = False,
                formulas: dict[int, FormulaNoValue] | None = None) -> Column:
        """From text cells (null for a blank).  `typed`: the text was written from typed
        workbook cells, so a boolean reads "true" and a date "2026-04-06 00:00:00"; they
        become "TRUE" and "2026-04-06" as a spreadsheet shows them.  `formulas`: row
        position -> stand-in, for formula cells without a saved result."""
        encoded = as_dictionary(values)
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        if not codes.flags.writeable:
            codes = codes.copy()
        raw = encoded.dictionary
        if encoded.indices.null_count:      # a null cell: a blank, code for ""
            codes[codes < 0] = len(raw)
            raw = pa.concat_arrays([raw, pa.array([""], pa.string())])
        cleaned = pc.utf8_trim_whitespace(raw.fill_null(""))
        if typed:
            cleaned = _typed_text(cleaned)
        if raw.null_count or not cleaned.equals(raw):
            # cleaning can merge values (" A" and "A"): encode the cleaned values again
            again = pc.dictionary_encode(cleaned)
            codes = again.indices.to_numpy(zero_copy_only=False)[codes]
            cleaned = again.dictionary
        extras: list[FormulaNoValue] = []
        if formulas:
            for k, (i, stand_in) in enumerate(sorted(formulas.items())):
                codes[i] = len(cleaned) + k
                extras.append(stand_in)
        return cls(codes, cleaned, tuple(extras))

    def with_blanks(self, words: frozenset[str]) -> Column:
        """This column with every value in `words` (compared case-folded) read as a blank:
        "N/A" in a Vacant column says no more than an empty cell."""
        na = pc.is_in(pc.utf8_lower(self.dictionary), value_set=pa.array(sorted(words)))
        if not pc.any(na).as_py():
            return self
        return Column(self.codes, pc.if_else(na, "", self.dictionary), self.extras)

    @functools.cached_property
    def uniques(self) -> np.ndarray:
        """The distinct values as Python objects (text, and any formula stand-ins)."""
        out = np.empty(len(self.dictionary) + len(self.extras), dtype=object)
        out[:len(self.dictionary)] = self.dictionary.to_pylist()
        out[len(self.dictionary):] = self.extras
        return out

    def __getitem__(self, i: int) -> Any:
        k = int(self.codes[i])
        n = len(self.dictionary)
        return self.extras[k - n] if k >= n else self.dictionary[k].as_py()

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, idx: np.ndarray) -> Column:
        if len(idx) == len(self.codes):     # every row (idx is ascending and distinct)
            return self
        return Column(self.codes[idx], self.dictionary, self.extras)

    def used_values(self) -> pa.Array:
        """The values of `dictionary` some row holds (a sliced grid column's dictionary
        still holds its heading and the cells above it)."""
        used = np.unique(self.codes)
        return self.dictionary.take(pa.array(used[used < len(self.dictionary)]))

    def replaced(self, values: pa.Array) -> Column:
        """The same cells with `values` (as long as `dictionary`) in its place; values
        that have become equal are merged."""
        again = pc.dictionary_encode(values)
        remap = again.indices.to_numpy(zero_copy_only=False)
        codes = self.codes.copy()
        inside = codes < len(self.dictionary)
        codes[inside] = remap[codes[inside]]
        codes[~inside] += len(again.dictionary) - len(self.dictionary)
        return Column(codes, again.dictionary, self.extras)

    def map(self, func: Any, dtype: Any = object) -> np.ndarray:
        """func applied to each distinct value, spread to every row."""
        out = np.array([func(v) for v in self.uniques], dtype=dtype)
        return out[self.codes] if len(out) else np.zeros(len(self.codes), dtype=dtype)

    def per_text(self, values: pa.Array | np.ndarray, extra: Any) -> np.ndarray:
        """An Arrow result over `dictionary` (with `extra` for each formula stand-in),
        spread to every row."""
        arr = values.to_numpy(zero_copy_only=False) if isinstance(values, pa.Array) else values
        if self.extras:
            arr = np.concatenate([arr, np.full(len(self.extras), extra, dtype=arr.dtype)])
        return arr[self.codes] if len(arr) else np.zeros(len(self.codes), dtype=arr.dtype)

    def blank(self) -> np.ndarray:
        """Which rows are blank (cleaning has made every blank cell "")."""
        return self.per_text(pc.equal(self.dictionary, "").fill_null(False), False)

    def formula(self) -> np.ndarray:
        """Which rows are formula cells without a saved result."""
        return self.codes >= len(self.dictionary)

    def text_values(self) -> np.ndarray:
        """The distinct values as text (a formula stand-in as ""), by code."""
        values = self.uniques.copy()
        values[len(self.dictionary):] = ""
        return values

    def text(self) -> np.ndarray:
        """Each row's value as text (a formula stand-in as ""), as an object array."""
        values = self.text_values()
        return values[self.codes] if len(values) else filled(len(self.codes), "")

    def text_arrow(self) -> pa.Array:
        """Each row's value as text (a formula stand-in as ""), as an Arrow array: for a
        column of IDs, a million rows without a Python object each."""
        values = self.dictionary
        if self.extras:
            values = pa.concat_arrays([values, pa.array([""] * len(self.extras), pa.string())])
        return values.take(pa.array(self.codes))

    def spread(self, per_unique: np.ndarray) -> np.ndarray:
        """An array computed over `uniques`, spread to every row."""
        return per_unique[self.codes]


def filled(n: int, value: Any) -> np.ndarray:
    """An object array of `n` references to one `value` (np.full would turn a str into
    an array of text first and make a new str object for every element)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def as_dictionary(values: pa.Array | pa.ChunkedArray, dense: bool = False,
                  ) -> pa.DictionaryArray:
    """Text cells as one dictionary array (string values), from plain or dictionary-encoded
    text in one chunk or many.  `dense`: every cell gets its own code (the dictionary is
    the cells themselves), for a column of values that are nearly all different, where
    hashing them would cost time for nothing; a `Column` never needs its values distinct."""
    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_dictionary(values.type):
            values = values.unify_dictionaries()
        values = (values.combine_chunks() if values.num_chunks
                  else pa.array([], values.type))
    if not pa.types.is_dictionary(values.type):
        if values.type != pa.string():
            values = values.cast(pa.string())
        if dense:
            return pa.DictionaryArray.from_arrays(
                pa.array(np.arange(len(values), dtype=np.int32)), values)
        values = pc.dictionary_encode(values)
    if values.dictionary.type != pa.string():
        values = pa.DictionaryArray.from_arrays(values.indices,
                                                values.dictionary.cast(pa.string()))
    return values


_DATE_TIME = r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$"


def _typed_text(values: pa.Array) -> pa.Array:
    """Booleans and dates as fastexcel writes them, as a spreadsheet shows them."""
    out = pc.if_else(pc.equal(values, "true"), "TRUE",
                     pc.if_else(pc.equal(values, "false"), "FALSE", values))
    # a time of day is a date-time on Excel's day 0, which shows as the time alone
    out = pc.replace_substring_regex(out, r"^1899-12-31 (\d{2}:\d{2}:\d{2})$", r"\1")
    out = pc.replace_substring_regex(out, r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", r"\1")
    return pc.replace_substring_regex(out, _DATE_TIME, r"\1T\2")


def cell_text(value: Any) -> str | None:
    """A typed cell value (python-calamine's) as fastexcel writes it: None for blank,
    1.0 as "1", True as "true", a date as "2026-04-06 00:00:00"."""
    cls = value.__class__
    if cls is str:
        return value if value != "" else None
    if value is None:
        return None
    if cls is bool:
        return "true" if value else "false"
    if cls is float:
        if value != value:
            return None
        if value.is_integer() and abs(value) < 2.0 ** 63:
            return str(int(value))
        return format(Decimal(repr(value)), "f")      # 1e-07 as 0.0000001, as fastexcel
    if cls is int:
        return str(value)
    if cls is dt.datetime:
        return value.isoformat(" ")
    if cls is dt.date:
        return f"{value.isoformat()} 00:00:00"
    if cls is FormulaNoValue:
        return None
    return str(value)


@dataclass
class Table:
    """The posts (and control-total rows) of one sheet, as raw values."""

    sheet: str
    header_row: int                  # 1-based
    columns: dict[str, int]          # field -> 0-based column index
    headers: dict[str, str]          # field -> header text as written
    rows: np.ndarray                 # 1-based sheet row of each data row
    kinds: np.ndarray                # KIND_* of each data row
    data: dict[str, Column]          # the cells of each mapped field, one per data row
    unused: list[tuple[int, str]] = field(default_factory=list)  # (column, heading) not used
    where_dropped: int = 0           # rows left out by --where
    # e-mail addresses, phone numbers and NI numbers blanked in the text of the cells below
    # the header: (cells changed, the first of them in A1), or None
    in_text: tuple[int, str] | None = None
    # each --where column's heading and the distinct values it holds (in the rows read)
    where_values: dict[str, list[str]] = field(default_factory=dict)

    def cell(self, fld: str, row: int) -> str:
        return cell_ref(self.columns[fld], row)

    @property
    def n_posts(self) -> int:
        return int((self.kinds == KIND_POST).sum())


@dataclass
class Workbook:
    """What was read from one file."""

    path: Path
    name: str
    sha256: str
    fmt: str
    tables: list[Table]
    skipped: list[tuple[str, str]]
    findings: Findings
    encoding: str | None = None
    delimiter: str | None = None
    options: ReadOptions = field(default_factory=ReadOptions)
    # the numbers on the sheets read that hold no posts (see `intake.figures`)
    figures: list[SheetFigure] = field(default_factory=list)
    # each sheet's header row, the rows that may be one, and its columns (`tables.Layout`)
    layouts: list[Any] = field(default_factory=list)

    @property
    def sheets_read(self) -> list[str]:
        return [t.sheet for t in self.tables]

    @property
    def rows_read(self) -> int:
        return sum(t.n_posts for t in self.tables)
