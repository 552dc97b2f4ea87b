"""Totals: exact FTE, post and cost figures for the whole file and each grouping.

FTE and money arrive as whole hundredths (int64) from validation; every sum
here is an integer sum, so it is exact, and figures leave as `Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..intake.rules import Report
from ..model import measures
from ..model.errors import InvalidData
from ..model.findings import Finding
from ..model.formats import fmt_number, jsonable, natural
from ..model.measures import COST, VACANT

NOT_GIVEN = "(not given)"

GROUPINGS: dict[str, tuple[str, ...]] = {
    "by_team": ("team",),
    "by_grade": ("grade",),
    "by_team_grade": ("team", "grade"),
    "by_destination": ("destination",),
    "by_location": ("location",),
}


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
    has_posts: bool = True       # False: no Posts column, so every post count is None

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


def headline(t: dict[str, Any]) -> str:
    if t["deleted_fte"] == 0 and not isinstance(t["deleted_fte"], str):
        return (f"No posts are proposed for deletion: {fmt_number(t['baseline_fte'])} FTE in "
                f"the baseline")
    pct = t["pct_deleted"]
    pct = "n/a" if pct is None else pct if isinstance(pct, str) else f"{pct}%"
    text = (f"{fmt_number(t['deleted_fte'])} of {fmt_number(t['baseline_fte'])} FTE ({pct}) "
            f"proposed for deletion")
    if "at_risk_fte" in t:
        text += (f"; {fmt_number(t['at_risk_fte'])} FTE in occupied posts at risk and "
                 f"{fmt_number(t['vacant_deleted_fte'])} FTE vacant")
    return text


def has_columns(has_vacant: bool, has_cost: bool) -> tuple[str, ...]:
    """The optional columns a file has, as the measures registry names them."""
    return (VACANT,) * has_vacant + (COST,) * has_cost


def summarise(report: Report) -> Summary:
    """Total a validated report.  Raises `InvalidData` if the report has errors."""
    if not report.valid:
        raise InvalidData(report, f"{report.workbook.name} has "
                                  f"{len(report.findings.errors)} error(s); fix them first")
    posts = report.posts
    chosen = measures.available(has_columns(report.has_vacant, report.has_cost))
    summed = [m for m in chosen if m.rows is not None]
    keys = [m.key for m in summed]
    frame = _per_row(posts, summed)
    totals = _derive({k: int(frame[k].sum()) for k in keys}, chosen, report.has_posts)
    has_location = bool(posts["location"].ne("").any())
    groups: dict[str, list[dict[str, Any]]] = {}
    for name, cols in GROUPINGS.items():
        rows = frame
        if name == "by_destination":
            rows = frame[posts["status"].to_numpy() == "relocated"]
        if name == "by_location" and not has_location:
            groups[name] = []
            continue
        groups[name] = _grouped(rows, cols, keys, chosen, report.has_posts)
    return Summary(report.source, totals, groups, list(report.findings.warnings),
                   report.has_vacant, report.has_cost, has_location,
                   list(report.findings.infos), has_posts=report.has_posts)


def _per_row(posts: pd.DataFrame, summed: list[measures.Measure]) -> pd.DataFrame:
    """The grouping labels and every summed measure, one row per post row."""
    status = posts["status"].to_numpy()
    n = len(posts)
    # True / False / None (not stated, counted as occupied): bool() makes None False.
    vacant = posts["vacant"].to_numpy(dtype=object).astype(bool)
    needs_cost = any(m.needs == COST or (isinstance(m.needs, tuple) and COST in m.needs)
                     for m in summed)
    cost = (posts["cost"].to_numpy(dtype=np.int64) if needs_cost
            else np.zeros(n, dtype=np.int64))
    rows = measures.Rows(status=status, fte=posts["fte"].to_numpy(dtype=np.int64),
                         posts=posts["posts"].to_numpy(dtype=np.int64), vacant=vacant,
                         cost=cost)
    cols: dict[str, Any] = {
        "team": posts["team"].to_numpy(), "grade": posts["grade"].to_numpy(),
        "destination": np.where(posts["destination"].eq("").to_numpy(), NOT_GIVEN,
                                posts["destination"].to_numpy()),
        "location": np.where(posts["location"].eq("").to_numpy(), NOT_GIVEN,
                             posts["location"].to_numpy()),
    }
    for m in summed:
        assert m.rows is not None
        cols[m.key] = np.asarray(m.rows(rows), dtype=np.int64)
    return pd.DataFrame(cols)


def _grouped(frame: pd.DataFrame, cols: tuple[str, ...], keys: list[str],
             chosen: list[measures.Measure], has_posts: bool = True) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    sums = frame.groupby(list(cols), sort=False, dropna=False)[keys].sum()
    out = []
    for idx, row in zip(sums.index, sums.to_numpy(dtype=np.int64)):
        labels = idx if isinstance(idx, tuple) else (idx,)
        item: dict[str, Any] = dict(zip(cols, (str(v) for v in labels)))
        item.update(_derive(dict(zip(keys, (int(v) for v in row))), chosen, has_posts))
        out.append(item)
    out.sort(key=lambda r: tuple(natural(r[c]) for c in cols))
    return out


def _derive(raw: dict[str, int], chosen: list[measures.Measure],
            has_posts: bool = True) -> dict[str, Any]:
    """From summed millionths, hundredths and counts to the reported figures, in the
    registry's order.  Without a Posts column every count of posts is None (not given):
    one row is not one post, and no count is invented."""
    out: dict[str, Any] = {}
    for m in chosen:
        if m.unit == measures.POSTS and not has_posts:
            out[m.key] = None
            continue
        out[m.key] = m.value(raw[m.key] if m.rows is not None else m.derive(raw))  # type: ignore[misc]
    return out
