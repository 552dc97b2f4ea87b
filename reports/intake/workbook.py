"""What `read()` takes and returns: its options and limits, and the `Workbook` of `Table`s.

A `Table` holds the raw cells of the known fields of one sheet, each field as a
`Column` (cleaned distinct values and a code per row), with the sheet row number
of every row.  Personal-data columns are never copied into a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..model.findings import Findings, cell_ref

MiB = 1024 * 1024


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


class FormulaNoValue:
    """Stands in the grid for a formula cell whose result was never saved."""

    __slots__ = ("formula",)

    def __init__(self, formula: str) -> None:
        self.formula = formula

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"FormulaNoValue({self.formula!r})"

    def __str__(self) -> str:
        return f"={self.formula}" if self.formula else "(formula)"


KIND_POST, KIND_TOTAL, KIND_SUBTOTAL = "post", "total", "subtotal"


@dataclass
class Column:
    """One field's cells: a code per row into an array of distinct, cleaned values.

    Rules run once per distinct value and spread to the rows by the codes, so a
    million-row status column costs a handful of regex calls, not a million.
    """

    codes: np.ndarray      # intp, one per row
    uniques: np.ndarray    # object: distinct cleaned values

    @classmethod
    def of(cls, values: np.ndarray) -> Column:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        codes, uniques = _split_booleans(values, codes, uniques)
        cleaned = np.array([_clean(v) for v in uniques], dtype=object)
        # Cleaning can merge values (" A" and "A"); it changed something only where it
        # returned a new object (str.strip returns the same one when there is nothing to do).
        if any(c is not u for c, u in zip(cleaned, uniques)):
            recodes, cleaned = pd.factorize(cleaned, use_na_sentinel=False)
            codes = recodes[codes]
        return cls(np.asarray(codes, dtype=np.intp), np.asarray(cleaned, dtype=object))

    def __getitem__(self, i: int) -> Any:
        return self.uniques[self.codes[i]]

    def take(self, idx: np.ndarray) -> Column:
        return Column(self.codes[idx], self.uniques)

    def map(self, func: Any, dtype: Any = object) -> np.ndarray:
        """func applied to each distinct value, spread to every row."""
        out = np.array([func(v) for v in self.uniques], dtype=dtype)
        return out[self.codes] if len(out) else np.zeros(len(self.codes), dtype=dtype)

    def blank(self) -> np.ndarray:
        """Which rows are blank (cleaning has made every blank cell "")."""
        return self.map(lambda v: v == "", bool)

    def spread(self, per_unique: np.ndarray) -> np.ndarray:
        """An array computed over `uniques`, spread to every row."""
        return per_unique[self.codes]


def _split_booleans(values: np.ndarray, codes: np.ndarray, uniques: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """factorize() hashes True as 1 and False as 0, so a TRUE cell among 1s would pass as
    the number 1.  Give the booleans their own codes (they clean to "TRUE"/"FALSE")."""
    extra: list[Any] = []
    for k, u in enumerate(uniques):
        if u.__class__ not in (bool, int, float) or not (u == 0 or u == 1):
            continue
        idx = np.flatnonzero(codes == k)
        is_bool = np.fromiter((v.__class__ is bool for v in values[idx]), bool, len(idx))
        if is_bool.all() or not is_bool.any():
            continue
        odd = idx[is_bool] if u.__class__ is not bool else idx[~is_bool]
        codes = codes.copy() if not extra else codes
        codes[odd] = len(uniques) + len(extra)
        extra.append(values[odd[0]])
    if extra:
        uniques = np.concatenate([np.asarray(uniques, dtype=object),
                                  np.array(extra, dtype=object)])
    return codes, uniques


def _clean(value: Any) -> Any:
    """Strip text; blanks become ""; booleans, dates and the like become text."""
    cls = value.__class__
    if cls is str:
        return value.strip()
    if value is None:
        return ""
    if cls is float:
        return "" if value != value else value      # NaN is a blank
    if cls is int or cls is FormulaNoValue:
        return value
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if hasattr(value, "isoformat"):
        return value.isoformat()
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

    @property
    def sheets_read(self) -> list[str]:
        return [t.sheet for t in self.tables]

    @property
    def rows_read(self) -> int:
        return sum(t.n_posts for t in self.tables)
