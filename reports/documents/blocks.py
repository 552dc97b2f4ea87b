"""The blocks a document is made of, with no ReportLab: text, tables, key-figure tiles and
charts, grouped in sections, plus the one store of figures they point into.

Every figure in a table is a *key* into one `Figures` store, so one figure shown in
two places (a team's deleted FTE in "By team" and in the team x grade matrix) is one
value that is either shown or hidden everywhere.  The renderers (`reports.render`)
only lay blocks out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..figures.privacy import SECONDARY, Key
from ..model.formats import Number, fmt_number, percent

NOT_RECORDED = "not recorded (reproducible build)"
GENERATED_LABEL = "Generated"
TEXT_LIMIT = 200           # characters of a spreadsheet string printed in a briefing


@dataclass(frozen=True)
class Pct:
    """A % deleted cell: deleted / baseline, hidden when either is."""

    deleted: Key
    baseline: Key


Cell = str | tuple | Pct | None   # text, a figure's key, a percentage, or blank


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    total: Sequence[Cell] | None = None
    text_cols: int = 1            # leading columns of text (they wrap); the rest are figures
    widths: list[float] | None = None   # relative widths of the columns
    zero: str = "0"               # how a zero figure prints ("–" in the sparse matrix)
    width_of: float = 1.0         # the share of the page's width the table takes


@dataclass
class Text:
    """Plain text (the renderer escapes it).  With `values`, `text` is a wording line
    whose {placeholders} are filled when it is printed, after suppression."""

    text: str
    style: str = "body"           # body | lead | note | subheading | bullet | intro | intro_note
    values: dict[str, Any] | None = None

    def render(self, figures: Figures) -> str:
        if self.values is None:
            return self.text
        def text(v: Any) -> str:
            if isinstance(v, Pct):          # the wording writes the % sign itself
                return figures.text(v).removesuffix("%").replace("–", "n/a")
            return figures.text(v) if isinstance(v, tuple) else str(v)

        return self.text.format(**{k: text(v) for k, v in self.values.items()})


@dataclass
class Tile:
    value: Cell
    suffix: str
    label: str


@dataclass
class Tiles:
    tiles: list[Tile]


@dataclass
class Chart:
    title: str
    axis: str                     # the category axis title: "Team" or "Grade"
    categories: list[str] = field(default_factory=list)
    keys: list[dict[str, Key]] = field(default_factory=list)      # per category: status -> key
    other: tuple[str, list[dict[str, Key]]] | None = None        # "Other (n teams)" and theirs
    series: dict[str, list[Number | None]] = field(default_factory=dict)  # filled after suppression
    note: str = ""


Block = Text | Table | Tiles | Chart


@dataclass
class Section:
    id: str
    heading: str
    blocks: list[Block]


@dataclass
class Figures:
    """Every figure a briefing can show, the relations between them, and which are hidden."""

    values: dict[Key, Number] = field(default_factory=dict)
    equations: list[tuple[Key, ...]] = field(default_factory=list)
    shown: set[Key] = field(default_factory=set)
    hidden: dict[Key, str] = field(default_factory=dict)      # key -> marker

    def add(self, key: Key, value: Number) -> Key:
        self.values[key] = value
        return key

    def relate(self, total: Key, parts: Iterable[Key]) -> None:
        """Record that `total` = sum of `parts` (so a reader can work one out from the rest)."""
        self.equations.append((total, *parts))

    def is_hidden(self, key: Key) -> bool:
        return key in self.hidden

    def text(self, cell: Cell, zero: str = "0") -> str:
        if cell is None:
            return ""
        if isinstance(cell, str):
            return cell
        if isinstance(cell, Pct):
            if cell.deleted in self.hidden or cell.baseline in self.hidden:
                return SECONDARY
            pct = percent(self.values[cell.deleted], self.values[cell.baseline])
            return "–" if pct is None else f"{pct}%"
        if cell in self.hidden:
            return self.hidden[cell]
        value = self.values[cell]
        return zero if value == 0 else fmt_number(value)

    def number(self, key: Key) -> Number | None:
        """A figure for a chart: None when hidden."""
        return None if key in self.hidden else self.values[key]


@dataclass
class Briefing:
    title: str
    subtitle: str
    organisation: str
    marking: str
    author: str
    subject: str
    audience: str
    colours: dict[str, str]
    sections: list[Section]
    figures: Figures
    source_file: str
    generated: str | None         # None: not recorded (a reproducible build)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A spreadsheet string fit to print: no control characters, at most `limit` characters.

    This is not escaping: the renderer escapes markup where it needs to.
    """
    text = _CONTROL.sub(" ", str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
