"""Validation findings are data: a list of `Finding` records, never exceptions.

Each finding is made from a `Code` of the catalogue in `codes`; the record keeps
the code's id and severity as plain strings, as the output shows them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .codes import ERROR, INFO, WARNING, Code, is_code
from .fixes import Fixes

MAX_ECHO = 80  # characters of an offending value repeated in a message
_A1 = re.compile(r"^([A-Za-z]*)(\d+)")


def echo(value: Any) -> str:
    """A cell value as it should be quoted back to the user: short and on one line."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    text = " ".join(text.split()) if ("\n" in text or "\r" in text or "\t" in text) else text
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 1] + "…"


def column_letter(index: int) -> str:
    """0-based column index to spreadsheet letters: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str | bytes) -> int:
    """Spreadsheet letters (either case) to a 0-based column index: A -> 0, AA -> 26."""
    text = letters.decode("ascii") if isinstance(letters, bytes) else letters
    n = 0
    for ch in text.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def cell_ref(col: int, row: int) -> str:
    """0-based column and 1-based row to A1 notation."""
    return f"{column_letter(col)}{row}"


@dataclass(frozen=True)
class Finding:
    """One problem or note about the input, located by sheet and cell."""

    code: str
    severity: str
    sheet: str | None
    cell: str | None
    column: str | None
    value: str | None
    message: str                # what is wrong, in plain words (no command-line option)
    fixes: Fixes = ()           # how to put it right (`reports.model.fixes`), if a setting can

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def position(self) -> tuple[int, int]:
        """(row, column) of the cell, for reading order (row by row, left to right): a
        whole row ("2:2") comes before its cells, a finding with no cell before all."""
        m = _A1.match(self.cell or "")
        if not m:
            return (0, -1)
        letters, row = m.groups()
        return (int(row), column_index(letters) if letters else -1)

    @property
    def where(self) -> str:
        parts = []
        if self.sheet is not None:
            parts.append(f"Sheet '{self.sheet}'")
        if self.cell:
            parts.append(f"cell {self.cell}")
        return " ".join(parts)


@dataclass
class Findings:
    """An ordered collection of findings with convenient views."""

    items: list[Finding] = field(default_factory=list)

    def add(self, code: Code, message: str, *, sheet: str | None = None,
            cell: str | None = None, column: str | None = None, value: Any = None,
            fixes: Fixes = ()) -> None:
        """A finding of `code` (a record of the catalogue in `codes`, never a string),
        with the settings that would put it right, if any (`reports.model.fixes`)."""
        if not is_code(code):
            raise ValueError(f"{code!r} is not a finding code of reports.model.codes")
        self.items.append(Finding(code.id, code.severity, sheet, cell, column,
                                  None if value is None else echo(value), message, fixes))

    def extend(self, more: Iterable[Finding]) -> None:
        self.items.extend(more)

    def of(self, severity: str) -> list[Finding]:
        return [f for f in self.items if f.severity == severity]

    @property
    def errors(self) -> list[Finding]:
        return self.of(ERROR)

    @property
    def warnings(self) -> list[Finding]:
        return self.of(WARNING)

    @property
    def infos(self) -> list[Finding]:
        return self.of(INFO)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
