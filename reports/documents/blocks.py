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
from decimal import Decimal
from typing import Any

from ..figures.privacy import MARKER, Key, Links, Protection
from ..figures.recode import Recoding
from ..figures.totals import Summary
from ..model import measures
from ..model.formats import Number, fmt_money, fmt_number, percent

NOT_RECORDED = "not recorded (reproducible build)"
GENERATED_LABEL = "Generated"
TEXT_LIMIT = 200           # characters of a spreadsheet string printed in a briefing


@dataclass(frozen=True)
class Pct:
    """A % deleted cell: deleted / baseline, hidden when either is."""

    deleted: Key
    baseline: Key


@dataclass(frozen=True)
class Derived:
    """Text worked out from figures (a rate, a ratio, a p-value): hidden when any is."""

    text: str
    keys: tuple[Key, ...]


Cell = str | tuple | Pct | Derived | None   # text, a figure's key, a percentage, or blank


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    total: Sequence[Cell] | None = None
    text_cols: int = 1            # leading columns of text (they wrap); the rest are figures
    widths: list[float] | None = None   # relative widths of the columns
    zero: str = "0"               # how a zero figure prints ("–" in the sparse matrix)
    width_of: float = 1.0         # the share of the page's width the table takes
    caption: str = ""             # its own caption; "": the section's heading (HTML, tagged)


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
    series: dict[str, list[Number | None]] = field(default_factory=dict)  # None: hidden
    note: str = ""


Block = Text | Table | Tiles | Chart


@dataclass
class Section:
    id: str
    heading: str
    blocks: list[Block]


@dataclass
class Figures:
    """Every figure a briefing can show, the relations between them, and which are hidden.

    A key's unit (FTE, posts, money) is its last part's measure ("deleted_fte"), or
    "fte" / "posts", or given to `add`.  Besides "a total is the sum of its parts"
    (`relate`), the store records what else a reader knows: money = other money
    (`relate_signed`), FTE at most posts (`at_most`), and which counts a money figure
    belongs to (`follows`), so that the privacy module can audit them together.
    """

    values: dict[Key, Number] = field(default_factory=dict)
    equations: list[tuple[Key, ...]] = field(default_factory=list)
    shown: set[Key] = field(default_factory=set)
    hidden: dict[Key, str] = field(default_factory=dict)      # key -> marker
    units: dict[Key, str] = field(default_factory=dict)
    signed: list[list[tuple[Key, int]]] = field(default_factory=list)
    pairs: list[tuple[Key, Key]] = field(default_factory=list)
    follows: dict[Key, list[Key]] = field(default_factory=dict)
    keep: set[Key] = field(default_factory=set)
    dear: set[Key] = field(default_factory=set)     # hidden only when cheaper ones fail
    forced: set[Key] = field(default_factory=set)   # hidden by a section's own audit
    people: dict[Key, int] = field(default_factory=dict)   # posts a figure describes

    def add(self, key: Key, value: Number, unit: str | None = None,
            posts: int | None = None) -> Key:
        """A figure; `posts`: how many posts it describes (an FTE figure's group), when
        the file gives posts.  A figure the file does not give (a count of posts with no
        Posts column) is not added: it is shown as not given, and relates to nothing."""
        if value is None:
            return key
        self.values[key] = value
        self.units[key] = unit or unit_of_key(key)
        if posts is not None:
            self.people[key] = int(posts)
        return key

    def headcounts(self) -> dict[Key, int]:
        """How many posts each figure describes, where that is known: a count of posts
        is its own; an FTE figure's is given to `add`, or is its paired count's
        (`at_most`), or the sum of its parts' (a total whose parts are all known)."""
        out = {k: int(v) for k, v in self.values.items()
               if self.units.get(k) == measures.POSTS and v is not None}
        out.update(self.people)
        for fte, posts in self.pairs:
            if fte not in out and posts in out:
                out[fte] = out[posts]
        changed = True
        while changed:
            changed = False
            for total, *parts in self.equations:
                if total not in out and total in self.values and parts \
                        and all(p in out for p in parts):
                    out[total] = sum(out[p] for p in parts)
                    changed = True
        return out

    def relate(self, total: Key, parts: Iterable[Key]) -> None:
        """Record that `total` = sum of `parts` (so a reader can work one out from the rest)."""
        self.equations.append((total, *parts))

    def relate_signed(self, terms: Iterable[tuple[Key, int]]) -> None:
        """Record that the terms (key, coefficient) add up to 0."""
        self.signed.append(list(terms))

    def at_most(self, fte: Key, posts: Key) -> None:
        """Record that the FTE figure is at most the posts figure (1 FTE per post at most)."""
        if fte in self.values and posts in self.values:
            self.pairs.append((fte, posts))

    def belongs(self, money: Key, counts: Iterable[Key]) -> None:
        """Record the counts a money figure belongs to: it is hidden with any of them."""
        self.follows.setdefault(money, []).extend(counts)

    def links(self) -> Links:
        return Links(values=self.values, units=self.units, shown=self.shown,
                     equations=self.equations, signed=self.signed, at_most=self.pairs,
                     follows=self.follows, keep=self.keep, dear=self.dear,
                     people=self.headcounts())

    def is_hidden(self, key: Key) -> bool:
        return key in self.hidden

    def text(self, cell: Cell, zero: str = "0") -> str:
        if cell is None:
            return ""
        if isinstance(cell, str):
            return cell
        if isinstance(cell, Derived):
            return MARKER if any(k in self.hidden for k in cell.keys) else cell.text
        if isinstance(cell, Pct):
            if cell.deleted in self.hidden or cell.baseline in self.hidden:
                return MARKER
            pct = percent(self.values[cell.deleted], self.values[cell.baseline])
            return "–" if pct is None else f"{pct}%"
        if cell in self.hidden:
            return self.hidden[cell]
        if cell not in self.values and unit_of_key(cell) == measures.POSTS:
            return "not given"       # no Posts column: a count of posts is never invented
        value = self.values[cell]
        if self.units.get(cell) == measures.MONEY:
            return fmt_money(Decimal(value))
        return zero if value == 0 else fmt_number(value)

    def number(self, key: Key) -> Number | None:
        """A figure for a chart: None when hidden."""
        return None if key in self.hidden else self.values[key]


_CLAUSE = re.compile(r"(?<=[;.])\s+")


def without_commands(message: str) -> str:
    """A finding's message for a reader of a briefing: every clause that gives command-line
    advice (`--map "X=FIELD"`, `--status-map`) is left out; a briefing names no option."""
    kept = [c for c in _CLAUSE.split(message) if "--" not in c]
    text = " ".join(kept).strip()
    if not text:
        return ""
    text = re.sub(r"\s*\((?:[^()]*--[^()]*)\)", "", text)   # "(--map ...)" asides
    return text if text.endswith((".", "!", "?")) else text.rstrip(";,") + "."


def unit_of_key(key: Key) -> str:
    """A figure's unit from its key's last part: a measure, "fte" or "posts"."""
    last = key[-1] if key else ""
    if last == "posts":
        return measures.POSTS
    return measures.unit_of(str(last)) or measures.FTE


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
    protection: Protection | None = None   # what was hidden, and the audit
    summary: Summary | None = None         # the figures' summary (small groups merged)
    recoding: Recoding | None = None       # which small groups were merged


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A spreadsheet string fit to print: no control characters, at most `limit` characters.

    This is not escaping: the renderer escapes markup where it needs to.
    """
    text = _CONTROL.sub(" ", str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
