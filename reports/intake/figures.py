"""The numbers on a workbook's sheets that hold no posts (a Notes or About sheet), each
with its cell and the words that say what it counts, for `reconcile` to name when a
published claim equals one of them ("12 closing" that is really "twelve stay open").

A number is a numeric cell, or a number written in a cell's text in figures
("132.5", "£5,242,253", "60%") or in words from zero to ninety-nine ("twelve",
"twenty-one").  What it counts: for a number in text, the clause that holds it (the
text between semicolons, colons, brackets, ", " and sentence ends); for a numeric
cell, the nearest text to its left on its row, or else above it in its column.

Only the first `HEAD_ROWS` rows of a sheet are read, at most `MAX_FIGURES` numbers a
sheet, and a sheet with a personal-data heading anywhere in them (Name, NI number, ...)
is not read at all: its numbers could be a person's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..model import fields as schema
from ..model.findings import cell_ref
from .contacts import scrub

MAX_FIGURES = 500        # numbers kept from one sheet
MAX_TEXT = 2_000         # characters of one cell read for numbers
MAX_SAYS = 120           # characters of the words kept for what a number counts

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)}
WORDS.update({w: 20 + 10 * i for i, w in enumerate(_TENS)})

_WORD_NUMBER = (r"\b(?:(?P<tens>" + "|".join(_TENS) + r")(?:[- ](?P<unit>"
                + "|".join(_UNITS[1:10]) + r"))?|(?P<word>" + "|".join(_UNITS) + r"))\b")
_FIGURE = r"(?<![\w.,/\-])£?(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?%?(?![\w/\-]|\.\d)"
NUMBER = re.compile(f"{_FIGURE}|{_WORD_NUMBER}", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[;:()\[\]\n]|,\s|\.(?:\s|$)")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class SheetFigure:
    """A number on a sheet that holds no posts."""

    sheet: str
    cell: str          # "A4"
    value: Decimal
    says: str          # the words that say what it counts ("twelve stay open")

    def to_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "cell": self.cell, "value": self.value,
                "says": self.says}


def sheet_figures(sheet: str, rows: list[list[Any]]) -> list[SheetFigure]:
    """The numbers of one sheet that holds no posts, given its first rows of cells (text,
    None for a blank, or a formula stand-in, which is skipped)."""
    # an e-mail address or phone number in a note is never quoted as what a number counts
    texts = [[scrub(c.strip())[0] if isinstance(c, str) else "" for c in r] for r in rows]
    if any(schema.is_personal(c) for r in texts for c in r if c and len(c) <= 60):
        return []
    out: list[SheetFigure] = []
    for i, r in enumerate(texts):
        for j, text in enumerate(r):
            if not text or _DATE_TIME.match(text):
                continue
            ref = cell_ref(j, i + 1)
            if _NUMERIC.match(text):
                out.append(SheetFigure(sheet, ref, Decimal(text), _label(texts, i, j)))
            else:
                out += [SheetFigure(sheet, ref, value, says)
                        for value, says in numbers_in(text)]
            if len(out) >= MAX_FIGURES:
                return out[:MAX_FIGURES]
    return out


def numbers_in(text: str) -> list[tuple[Decimal, str]]:
    """Each number written in `text`, in figures or words, with the clause that holds
    it: "twelve stay open (Heanor, ...)" -> [(12, "twelve stay open")]."""
    text = text[:MAX_TEXT]
    out = []
    for m in NUMBER.finditer(text):
        value = _value(m)
        if value is None:
            continue
        start = max((e.end() for e in _CLAUSE_END.finditer(text, 0, m.start())), default=0)
        end = _CLAUSE_END.search(text, m.end())
        clause = " ".join(text[start:end.start() if end else len(text)].split())
        if len(clause) > MAX_SAYS:
            clause = clause[:MAX_SAYS - 1].rstrip() + "…"
        out.append((value, clause))
    return out


def _value(m: re.Match[str]) -> Decimal | None:
    if m["digits"] is not None:
        try:
            return Decimal(m["digits"].replace(",", "") + (m["frac"] or ""))
        except InvalidOperation:      # pragma: no cover - the pattern admits only digits
            return None
    if m["tens"] is not None:
        return Decimal(WORDS[m["tens"].lower()] + (WORDS[m["unit"].lower()] if m["unit"] else 0))
    return Decimal(WORDS[m["word"].lower()])


def _label(texts: list[list[str]], i: int, j: int) -> str:
    """What a numeric cell counts: the nearest text to its left on its row, else the
    nearest above it in its column; "" when there is none."""
    def words(c: str) -> bool:
        return bool(c) and not _NUMERIC.match(c)

    left = next((c for c in reversed(texts[i][:j]) if words(c)), None)
    if left is None:
        left = next((r[j] for r in reversed(texts[:i]) if j < len(r) and words(r[j])), "")
    left = " ".join(left.split())
    return left if len(left) <= MAX_SAYS else left[:MAX_SAYS - 1].rstrip() + "…"
