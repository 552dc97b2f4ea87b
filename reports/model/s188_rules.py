"""The law on collective redundancy consultation, as one dated table.

Each row is the law for dismissals on or after its date; a change in the law is
one new row.  `rules_for(day)` gives the row in force for a dismissal on `day`.
The figures and their sources:

- threshold, large, short_days, long_days: TULRCA 1992 s.188(1) and (1A).  An
  employer proposing to dismiss as redundant 20 or more employees at one
  establishment within a period of 90 days or less must consult "in good time",
  and in any event at least 30 days before the first dismissal takes effect, or
  45 days where 100 or more are proposed (s.188(1A)(a)/(b); 45 days since
  6 April 2013, Trade Union and Labour Relations (Consolidation) Act 1992
  (Amendment) Order 2013, SI 2013/763, which replaced 90 days).
- window_days: the "period of 90 days or less" of s.188(1).
- HR1: s.193(1)/(2) require notice to the Secretary of State (form HR1) within
  the same periods, 30 days (20-99) or 45 days (100 or more) before the first
  dismissal; so `hr1_days` is the consultation period here.
- award_max_days: the protective award for failing to consult, at most 90 days'
  pay per employee (s.189(4)); 180 days for dismissals on or after 6 April 2026
  (Employment Rights Act 2025, amending s.189(4)).
- The Employment Rights Act 2025 also adds an employer-wide threshold beside the
  per-establishment one; its number and start date are for regulations, so no
  row sets one yet and every s.188 pack shows the whole-employer count beside
  each establishment's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class S188Rules:
    """The law for dismissals on or after `since`."""

    since: date
    threshold: int          # dismissals at one establishment that trigger s.188
    large: int              # from this many, the longer period applies
    short_days: int         # minimum consultation for threshold..large-1
    long_days: int          # minimum consultation for large or more
    window_days: int        # the period the dismissals are counted over
    award_max_days: int     # protective award: at most this many days' pay per employee
    source: str

    def band(self, dismissals: int) -> str:
        if dismissals < self.threshold:
            return f"under {self.threshold}"
        if dismissals < self.large:
            return f"{self.threshold}-{self.large - 1}"
        return f"{self.large} or more"

    def consultation_days(self, dismissals: int) -> int | None:
        """The minimum consultation period (None: under the threshold, none is set)."""
        if dismissals < self.threshold:
            return None
        return self.short_days if dismissals < self.large else self.long_days

    hr1_days = consultation_days       # s.193: HR1 notice within the same periods


# One row per change in the law, oldest first.
RULES: tuple[S188Rules, ...] = (
    # TULRCA 1992 s.188(1A) as amended by SI 2013/763 (45 days from 6 April 2013);
    # s.193 HR1; s.189(4) protective award of at most 90 days' pay.
    S188Rules(date(2013, 4, 6), 20, 100, 30, 45, 90, 90,
              "TULRCA 1992 s.188(1A), s.189(4), s.193; SI 2013/763"),
    # Employment Rights Act 2025: protective award of at most 180 days' pay for
    # dismissals from 6 April 2026 (amending TULRCA s.189(4)).
    S188Rules(date(2026, 4, 6), 20, 100, 30, 45, 90, 180,
              "TULRCA 1992 s.188(1A), s.189(4) as amended by the Employment Rights Act "
              "2025, s.193"),
)


def rules_for(day: date) -> S188Rules:
    """The rules in force for a dismissal on `day` (the earliest row for an older day)."""
    current = RULES[0]
    for row in RULES:
        if row.since <= day:
            current = row
    return current
