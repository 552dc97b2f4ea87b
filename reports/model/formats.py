"""One copy of each small rule for turning figures into numbers and words.

Hundredths to `Decimal`, percentage rounding, figures and money for people,
dates in words, JSON numbers and natural ordering: every module that needs
one of these imports it from here.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from natsort import natsort_keygen

Number = Decimal | int

natural = natsort_keygen(key=lambda s: str(s).casefold())
"""Sort key for names as people order them: "Grade 4" before "Grade 10"."""


def natural_ranks(labels: Any) -> np.ndarray:
    """Each label's place in natural order ("Grade 4" before "Grade 10"), as int64; labels
    that sort alike share a place.  For distinct labels: one natural key each, where
    sorting every group by its labels' keys would make one per group."""
    keys = [natural(str(u)) for u in labels]
    ranks = np.zeros(len(keys), dtype=np.int64)
    order = sorted(range(len(keys)), key=keys.__getitem__)
    for before, i in zip(order, order[1:]):
        ranks[i] = ranks[before] + (keys[i] != keys[before])
    return ranks


def hundredths(n: int) -> Decimal:
    """Whole hundredths (how FTE and money are held) to an exact Decimal: 3369 -> 33.69."""
    return Decimal(int(n)).scaleb(-2)


FTE_SCALE = 10 ** 6
"""FTE is held as whole millionths: 6 decimal places, totalled exactly, shown to 2."""

MARKER = "[c]"
"""Every hidden value in a public output, whatever the reason (`figures.privacy`)."""


def fte_value(n: int) -> Decimal:
    """Whole millionths of an FTE to an exact Decimal: 2 places when that is exact
    (33690000 -> 33.69), else 6 (533333 -> 0.533333)."""
    n = int(n)
    if n % 10_000 == 0:
        return hundredths(n // 10_000)
    return Decimal(n).scaleb(-6)


def percent(part: Number, whole: Number) -> Decimal | None:
    """part / whole as a percentage to 1 decimal place, half up; None when whole is 0."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"),
                                                           rounding=ROUND_HALF_UP)


def fmt_number(value: Any) -> str:
    """Figures for people: thousands separators, decimals only where needed (132.5, 33.69)."""
    if value is None:
        return "–"
    if isinstance(value, Decimal):
        if value.as_tuple().exponent < -2:     # type: ignore[operator]
            value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)   # shown to 2
        sign = "-" if value < 0 else ""
        whole, _, frac = format(abs(value), "f").partition(".")
        frac = frac.rstrip("0")
        return f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def fmt_money(value: Decimal | None) -> str:
    """£ with thousands separators; pence only when there are any."""
    if value is None:
        return "–"
    sign, v = ("-" if value < 0 else ""), abs(value)
    return f"{sign}£{v:,.0f}" if v == v.to_integral_value() else f"{sign}£{v:,.2f}"


def fmt_date(day: date) -> str:
    """12 March 2024."""
    return f"{day.day} {day:%B %Y}"


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: int when whole, else float (at most 2 places here)."""
    return int(value) if value == value.to_integral_value() else float(value)


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """Decimals as JSON numbers: int when whole, else float (at most 2 places here)."""
    return {k: json_number(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def plain_decimal(value: Decimal) -> str:
    """A Decimal for CSV: no exponent, no trailing zeros (33.69, 83, 0.5)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# Control characters: every C0 character but the line feed, DEL, and the C1 range.
# A terminal obeys them (ESC starts an escape sequence) and XML forbids most of them.
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# Those XML 1.0 (so openpyxl) refuses: C0 but tab, line feed and carriage return.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _escaped(m: re.Match[str]) -> str:
    return f"\\x{ord(m.group()):02x}"


def show_controls(text: str, *, xml: bool = False) -> str:
    """`text` with each control character made visible: ESC as the four characters `\\x1b`.

    `xml=True` escapes only the characters an XML file cannot hold (tab, line feed and
    carriage return stay); otherwise every control character but the line feed is
    escaped, so that text from a spreadsheet cannot drive a terminal.
    """
    return (_XML_ILLEGAL if xml else _CONTROLS).sub(_escaped, text)
