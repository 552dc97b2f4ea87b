"""The dated rules of UK redundancy pay, in one place: caps, rates, limits.

Every figure here is law with a start date; each has its source beside it.  When a
new cap is announced (each April), add one line to `WEEKLY_PAY_CAPS`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

# The cap on a week's pay for statutory redundancy pay, by the date it took effect.
# Employment Rights Act 1996 s.227, uprated each April by an Employment Rights
# (Increase of Limits) Order; the cap in force on the dismissal date applies.
WEEKLY_PAY_CAPS: tuple[tuple[date, Decimal], ...] = (
    (date(2023, 4, 6), Decimal("643")),   # Employment Rights (Increase of Limits) Order 2023
    (date(2024, 4, 6), Decimal("700")),   # Employment Rights (Increase of Limits) Order 2024
    (date(2025, 4, 6), Decimal("719")),   # Employment Rights (Increase of Limits) Order 2025
    (date(2026, 4, 6), Decimal("751")),   # the 2026 Order (GOV.UK): maximum payment
                                          # 20 years x 1.5 weeks x £751 = £22,530
)

# Weeks of pay per complete year of service, by the age the person was at the start
# of that year (ERA 1996 s.162(2)): under 22, 22 to 40, 41 and over.
RATE_UNDER_22 = Decimal("0.5")
RATE_22_TO_40 = Decimal("1")
RATE_41_AND_OVER = Decimal("1.5")

MAX_YEARS = 20             # ERA 1996 s.162(3): at most 20 years count (the most recent)
MIN_YEARS = 2              # ERA 1996 s.155: no payment under 2 years' continuous service
UPPER_BOUND_WEEKS = 30     # 20 years x 1.5 weeks: the most any one person can get

# The Local Government (Early Termination of Employment) (Discretionary Compensation)
# (England and Wales) Regulations 2006, SI 2006/2914: reg. 5 lets a council use actual
# weekly pay instead of the cap; reg. 6 lets it pay a lump sum of at most 104 weeks' pay.
DISCRETION_MAX_WEEKS = Decimal("104")

# LGPS: members aged 55 or over with 2 years' membership who are made redundant take
# their pension at once, unreduced (LGPS Regulations 2013, reg. 30(7)).
STRAIN_MIN_AGE = 55
STRAIN_MIN_MEMBERSHIP = 2


class NoCap(ValueError):
    """The date is before the first weekly pay cap in the table."""


def weekly_cap(on: date) -> Decimal:
    """The weekly pay cap in force on `on`.  Raises `NoCap` before the table starts."""
    found = None
    for start, cap in WEEKLY_PAY_CAPS:
        if start <= on:
            found = cap
    if found is None:
        first = WEEKLY_PAY_CAPS[0][0]
        raise NoCap(f"no weekly pay cap is known before {first:%-d %B %Y}")
    return found


def cap_start(on: date) -> date:
    """The day the weekly cap in force on `on` took effect.  Raises `NoCap` before the
    table starts."""
    weekly_cap(on)
    return max(start for start, _ in WEEKLY_PAY_CAPS if start <= on)


def rate_for_age(age_at_start: int) -> Decimal:
    """Weeks of pay for a complete year of service that began at this age."""
    if age_at_start < 22:
        return RATE_UNDER_22
    if age_at_start <= 40:
        return RATE_22_TO_40
    return RATE_41_AND_OVER


def statutory_weeks(age: int, years: int) -> Decimal:
    """Weeks of statutory redundancy pay for a person of `age` (whole years, at the
    dismissal date) with `years` complete years of service, counted as the GOV.UK
    calculator counts: back from the dismissal date, at most 20 years, each at the rate
    for the age at its start (year k back started at age - k).  0 under 2 years."""
    if years < MIN_YEARS:
        return Decimal(0)
    return sum((rate_for_age(age - k) for k in range(1, min(years, MAX_YEARS) + 1)),
               Decimal(0))
