"""Totals: exact FTE, post and cost figures for the whole file and each grouping.

FTE and money arrive as whole hundredths (int64) from validation; every sum
here is an integer sum, so it is exact, and figures leave as `Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
from natsort import natsort_keygen

from .errors import InvalidData
from .findings import Finding
from .validate import Report

STATUSES = ("deleted", "retained", "relocated", "created")
NOT_GIVEN = "(not given)"

# The measures summed for every group, as whole hundredths (fte, cost) or counts (posts).
_BASE = [f"{s}_fte" for s in STATUSES] + [f"{s}_posts" for s in STATUSES]
_VACANCY = ["at_risk_fte", "at_risk_posts", "vacant_deleted_fte", "vacant_deleted_posts"]
_COST = ["deleted_cost", "created_cost"]

GROUPINGS: dict[str, tuple[str, ...]] = {
    "by_team": ("team",),
    "by_grade": ("grade",),
    "by_team_grade": ("team", "grade"),
    "by_destination": ("destination",),
    "by_location": ("location",),
}

natural = natsort_keygen(key=lambda s: str(s).casefold())


@dataclass
class Summary:
    """Everything `impact summary` reports about one file."""

    source: dict[str, Any]
    totals: dict[str, Any]
    groups: dict[str, list[dict[str, Any]]]
    warnings: list[Finding]
    has_vacant: bool
    has_cost: bool
    has_location: bool
    info: list[Finding] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return headline(self.totals)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: numbers as int or float with at most 2 decimal places."""
        return {"source": self.source,
                "headline": self.headline,
                "totals": jsonable(self.totals),
                **{name: [jsonable(g) for g in rows] for name, rows in self.groups.items()},
                "warnings": [f.to_dict() for f in self.warnings]}


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """Decimals as JSON numbers: int when whole, else float (at most 2 places here)."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, Decimal):
            out[k] = int(v) if v == v.to_integral_value() else float(v)
        else:
            out[k] = v
    return out


def fmt_number(value: Any) -> str:
    """Figures for people: thousands separators, decimals only where needed (132.5, 33.69)."""
    if value is None:
        return "–"
    if isinstance(value, Decimal):
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


def headline(t: dict[str, Any]) -> str:
    pct = "n/a" if t["pct_deleted"] is None else f"{t['pct_deleted']}%"
    text = (f"{fmt_number(t['deleted_fte'])} of {fmt_number(t['baseline_fte'])} FTE ({pct}) "
            f"proposed for deletion")
    if "at_risk_fte" in t:
        text += (f"; {fmt_number(t['at_risk_fte'])} FTE in occupied posts at risk and "
                 f"{fmt_number(t['vacant_deleted_fte'])} FTE vacant")
    return text


def summarise(report: Report) -> Summary:
    """Total a validated report.  Raises `InvalidData` if the report has errors."""
    if not report.valid:
        raise InvalidData(report, f"{report.workbook.name} has "
                                  f"{len(report.findings.errors)} error(s); fix them first")
    posts = report.posts
    measures = _measures(posts, report.has_vacant, report.has_cost)
    keys = _BASE + (_VACANCY if report.has_vacant else []) + (_COST if report.has_cost else [])
    totals = _derive({k: int(measures[k].sum()) for k in keys}, report)
    has_location = bool(posts["location"].ne("").any())
    groups: dict[str, list[dict[str, Any]]] = {}
    for name, cols in GROUPINGS.items():
        frame = measures
        if name == "by_destination":
            frame = measures[posts["status"].to_numpy() == "relocated"]
        if name == "by_location" and not has_location:
            groups[name] = []
            continue
        groups[name] = _grouped(frame, cols, keys, report)
    return Summary(report.source, totals, groups, list(report.findings.warnings),
                   report.has_vacant, report.has_cost, has_location,
                   list(report.findings.infos))


def _measures(posts: pd.DataFrame, has_vacant: bool, has_cost: bool) -> pd.DataFrame:
    status = posts["status"].to_numpy()
    fte = posts["fte"].to_numpy(dtype=np.int64)
    count = posts["posts"].to_numpy(dtype=np.int64)
    cols: dict[str, Any] = {
        "team": posts["team"].to_numpy(), "grade": posts["grade"].to_numpy(),
        "destination": np.where(posts["destination"].eq("").to_numpy(), NOT_GIVEN,
                                posts["destination"].to_numpy()),
        "location": np.where(posts["location"].eq("").to_numpy(), NOT_GIVEN,
                             posts["location"].to_numpy()),
    }
    for s in STATUSES:
        is_s = status == s
        cols[f"{s}_fte"] = np.where(is_s, fte, 0)
        cols[f"{s}_posts"] = np.where(is_s, count, 0)
    if has_vacant:
        deleted = status == "deleted"
        # True / False / None (not stated, counted as occupied): bool() makes None False.
        vacant = posts["vacant"].to_numpy(dtype=object).astype(bool)
        cols["at_risk_fte"] = np.where(deleted & ~vacant, fte, 0)
        cols["at_risk_posts"] = np.where(deleted & ~vacant, count, 0)
        cols["vacant_deleted_fte"] = np.where(deleted & vacant, fte, 0)
        cols["vacant_deleted_posts"] = np.where(deleted & vacant, count, 0)
    if has_cost:
        cost = posts["cost"].to_numpy(dtype=np.int64)
        cols["deleted_cost"] = np.where(status == "deleted", cost, 0)
        cols["created_cost"] = np.where(status == "created", cost, 0)
    return pd.DataFrame(cols)


def _grouped(frame: pd.DataFrame, cols: tuple[str, ...], keys: list[str],
             report: Report) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    sums = frame.groupby(list(cols), sort=False, dropna=False)[keys].sum()
    out = []
    for idx, row in zip(sums.index, sums.to_numpy(dtype=np.int64)):
        labels = idx if isinstance(idx, tuple) else (idx,)
        item: dict[str, Any] = dict(zip(cols, (str(v) for v in labels)))
        item.update(_derive(dict(zip(keys, (int(v) for v in row))), report))
        out.append(item)
    out.sort(key=lambda r: tuple(natural(r[c]) for c in cols))
    return out


def _derive(raw: dict[str, int], report: Report) -> dict[str, Any]:
    """From summed hundredths and counts to the reported figures."""

    def h(n: int) -> Decimal:
        return Decimal(n).scaleb(-2)

    out: dict[str, Any] = {}
    for s in STATUSES:
        out[f"{s}_fte"] = h(raw[f"{s}_fte"])
    for s in STATUSES:
        out[f"{s}_posts"] = raw[f"{s}_posts"]
    base = raw["deleted_fte"] + raw["retained_fte"] + raw["relocated_fte"]
    out["baseline_fte"] = h(base)
    out["future_fte"] = h(raw["retained_fte"] + raw["created_fte"])
    out["baseline_posts"] = raw["deleted_posts"] + raw["retained_posts"] + raw["relocated_posts"]
    out["future_posts"] = raw["retained_posts"] + raw["created_posts"]
    out["pct_deleted"] = (None if base == 0 else
                          (Decimal(raw["deleted_fte"]) * 100 / Decimal(base))
                          .quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    if report.has_vacant:
        out["at_risk_fte"] = h(raw["at_risk_fte"])
        out["at_risk_posts"] = raw["at_risk_posts"]
        out["vacant_deleted_fte"] = h(raw["vacant_deleted_fte"])
        out["vacant_deleted_posts"] = raw["vacant_deleted_posts"]
    if report.has_cost:
        out["deleted_cost"] = h(raw["deleted_cost"])
        out["created_cost"] = h(raw["created_cost"])
        out["net_saving"] = h(raw["deleted_cost"] - raw["created_cost"])
    return out
