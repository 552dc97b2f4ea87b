"""The audit log: who did what, when and from which address (logins and failures,
uploads, downloads, mapping changes, user changes), kept in the store.  The portal
shows it to admins a page at a time and exports it as CSV; `impact users` writes to it
too.

Repeated login failures and refusals are collapsed: a repeat of one (same who, action
and address) within COLLAPSE_WITHIN of that entry's first time adds one to the entry's
count and moves its last time, so a flood of wrong passwords from one address is one
row with a count and a time range, and cannot push other events out of sight."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..render.data import csv_text
from ..store.accounts import Accounts, AuditEntry

HEADER = ("when (UTC)", "who", "action", "what", "address", "count", "last (UTC)")
COLLAPSE_WITHIN = timedelta(minutes=15)
PER_PAGE = 100


def record(accounts: Accounts, who: str, action: str, what: str, address: str) -> None:
    accounts.log(who, action, what, address)


def record_repeated(accounts: Accounts, who: str, action: str, what: str, address: str, *,
                    now: datetime) -> None:
    """An event that may come in floods (a failed or refused login): collapsed into the
    entry of the same who, action and address begun within COLLAPSE_WITHIN."""
    accounts.log(who, action, what, address, now=now, collapse_since=now - COLLAPSE_WITHIN)


def entries(accounts: Accounts, limit: int | None = None) -> list[AuditEntry]:
    """The newest first."""
    return accounts.audit(limit)


@dataclass(frozen=True)
class AuditPage:
    """One page of the log, newest first: page `number` of `pages` (1 is the newest)."""

    items: list[AuditEntry]
    number: int
    pages: int
    total: int
    per_page: int = PER_PAGE

    @property
    def first(self) -> int:
        """The position of the page's first entry in the log (1: the newest)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)

    @property
    def newer(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def older(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def page(accounts: Accounts, number: int, per_page: int = PER_PAGE) -> AuditPage | None:
    """Page `number` (from 1) of the log, or None past the last (page 1 always exists)."""
    total = accounts.audit_size()
    pages = max(1, -(-total // per_page))
    if not 1 <= number <= pages:
        return None
    return AuditPage(accounts.audit(per_page, (number - 1) * per_page), number, pages, total,
                     per_page)


def _when(at: datetime) -> str:
    return at.isoformat(sep=" ") + "Z"


def audit_csv(items: list[AuditEntry]) -> str:
    """The entries as CSV, oldest first, each with its count and last time (the first
    when it happened once); a value a spreadsheet would run as a formula is neutralised
    and a control character escaped (`csv_text`: a user name or dataset is text someone
    typed)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for e in sorted(items, key=lambda e: e.id):
        writer.writerow([_when(e.at), *(csv_text(x) for x in
                                        (e.who, e.action, e.what, e.address)),
                         e.count, _when(e.until)])
    return buf.getvalue()
