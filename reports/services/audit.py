"""The audit log: who did what, when and from which address (logins and failures,
uploads, downloads, mapping changes, user changes), kept in the store.  The portal
shows it to admins and exports it as CSV; `impact users` writes to it too."""

from __future__ import annotations

import csv
import io

from ..render.data import csv_text
from ..store.accounts import Accounts, AuditEntry

HEADER = ("when (UTC)", "who", "action", "what", "address")


def record(accounts: Accounts, who: str, action: str, what: str, address: str) -> None:
    accounts.log(who, action, what, address)


def entries(accounts: Accounts, limit: int | None = None) -> list[AuditEntry]:
    """The newest first."""
    return accounts.audit(limit)


def audit_csv(items: list[AuditEntry]) -> str:
    """The entries as CSV, oldest first; a value a spreadsheet would run as a formula is
    neutralised and a control character escaped (`csv_text`: a user name or dataset is
    text someone typed)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for e in sorted(items, key=lambda e: e.id):
        writer.writerow([e.at.isoformat(sep=" ") + "Z", *(csv_text(x) for x in
                                                          (e.who, e.action, e.what, e.address))])
    return buf.getvalue()
