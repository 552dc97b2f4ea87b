"""The optional cost and equality columns: effective date, age, service, pay, pension
membership, strain cost, and the protected characteristics.

All but the effective date are about the person in the post.  They are parsed here
into plain values for the totals of `figures.costs` and `figures.equality` only:
a finding about one of their cells names the sheet and cell and says what the cell
must hold, but never repeats the value, and each such column gets one
`sensitive-columns` note at its heading (the annotated copy empties those columns).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from ..model import codes
from ..model import fields as schema
from ..model.codes import Code
from ..model.findings import Findings, column_letter, echo
from .workbook import FormulaNoValue, Table, filled

EXTRA = tuple(f.name for f in schema.EXTRA_FIELDS)
MIN_AGE, MAX_AGE = 16, 100        # the GOV.UK calculator's bounds
MAX_MONEY = Decimal(10) ** 9

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?$")


def parse_date(value: Any) -> date | None:
    """A cell as a date: a date, an ISO date (2026-07-01) or day/month/year (01/07/2026)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value.__class__ is not str:
        return None
    text = value.strip()
    try:
        m = _ISO.match(text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        m = _DMY.match(text)
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def _decimal(value: Any, money: bool = False) -> Decimal | None:
    cls = value.__class__
    if cls is bool or cls is FormulaNoValue:
        return None
    if cls is int or cls is float:
        if value != value or value in (float("inf"), float("-inf")):
            return None
        d = Decimal(str(value))
    elif cls is str:
        text = re.sub(r"[£,\s]", "", value) if money else value.strip()
        try:
            d = Decimal(text)
        except InvalidOperation:
            return None
        if not d.is_finite():
            return None
    else:
        return None
    return d if abs(d) < MAX_MONEY else None


def parse_age(value: Any) -> int | None:
    d = _decimal(value)
    if d is None or d != d.to_integral_value() or not MIN_AGE <= d <= MAX_AGE:
        return None
    return int(d)


def parse_years(value: Any) -> Decimal | None:
    d = _decimal(value)
    return d if d is not None and 0 <= d <= MAX_AGE else None


def parse_money(value: Any) -> Decimal | None:
    d = _decimal(value, money=True)
    return d.quantize(Decimal("0.01")) if d is not None and d >= 0 else None


def parse_membership(value: Any) -> bool | Decimal | None:
    """Y/N, or years of membership."""
    word = schema.VACANT_WORDS.get(schema.normalise(value)) if value.__class__ is str else None
    if word is not None and schema.normalise(value) not in ("0", "1"):
        return word
    return parse_years(value)


def parse_text(value: Any) -> str:
    return " ".join(str(value).split()) if value.__class__ is not FormulaNoValue else ""


_PARSERS = {"effective_date": parse_date, "age": parse_age, "years_of_service": parse_years,
            "weekly_pay": parse_money, "pension_member": parse_membership,
            "strain_cost": parse_money}
_MUST_HOLD = {
    "effective_date": "a date such as 2026-07-01 or 01/07/2026",
    "age": f"a whole number of years from {MIN_AGE} to {MAX_AGE}",
    "years_of_service": "a number of years, 0 or more",
    "weekly_pay": "an amount of pounds, 0 or more",
    "pension_member": "Y or N, or a number of years of membership",
    "strain_cost": "an amount of pounds, 0 or more",
}


def read_extra(t: Table, findings: Findings, is_post: np.ndarray) -> dict[str, np.ndarray]:
    """Every optional cost and equality field of one table, parsed: None (or "" for the
    characteristics) where the column is absent, the cell blank or unreadable."""
    n = len(t.rows)
    out: dict[str, np.ndarray] = {}
    for fld in EXTRA:
        if fld not in t.data:
            out[fld] = filled(n, "" if fld in schema.EQUALITY_FIELDS else None)
            continue
        col = t.data[fld]
        if fld in schema.SENSITIVE_FIELDS:
            j = t.columns[fld]
            findings.add(codes.SENSITIVE_COLUMNS,
                         f"Column {column_letter(j)} '{echo(t.headers[fld])}' holds "
                         f"{schema.FIELD_BY_NAME[fld].label.lower()}, about the person in each "
                         f"post: it is read only into totals and no output shows it per post "
                         f"(the annotated copy empties it).",
                         sheet=t.sheet, cell=t.cell(fld, t.header_row), column=t.headers[fld])
        if fld in schema.EQUALITY_FIELDS:
            out[fld] = col.map(parse_text)
            continue
        parsed = col.map(_PARSERS[fld])
        bad = col.map(lambda v: v != "", bool) & np.array([p is None for p in parsed], bool)
        bad &= is_post
        code: Code = (codes.EFFECTIVE_DATE_INVALID if fld == "effective_date"
                      else codes.SENSITIVE_VALUE_INVALID)
        label = schema.FIELD_BY_NAME[fld].label
        for i in np.flatnonzero(bad).tolist():
            shown = None if fld in schema.SENSITIVE_FIELDS else col[i]
            what = (f"'{echo(shown)}' " if shown is not None else "in this cell ")
            findings.add(code,
                         f"{label} {what}cannot be read; it must be {_MUST_HOLD[fld]}. "
                         + ("The row's saving counts from the start of the financial year."
                            if fld == "effective_date" else
                            "The value is not repeated here (personal data); the row is "
                            "left out of the totals that need it."),
                         sheet=t.sheet, cell=t.cell(fld, int(t.rows[i])),
                         column=t.headers[fld], value=shown)
        out[fld] = parsed
    # service longer than the person can have worked (from 15): unreadable together
    if "age" in t.data and "years_of_service" in t.data:
        age, years = out["age"], out["years_of_service"]
        for i in range(n):
            if age[i] is not None and years[i] is not None and years[i] > age[i] - 15 \
                    and is_post[i]:
                findings.add(codes.SENSITIVE_VALUE_INVALID,
                             "Years of service in this cell is more than the age in the same "
                             "row allows (service from age 15 at the earliest). The values are "
                             "not repeated here (personal data); the row is left out of the "
                             "redundancy pay estimate.",
                             sheet=t.sheet, cell=t.cell("years_of_service", int(t.rows[i])),
                             column=t.headers["years_of_service"])
                years[i] = None
    return out
