"""Recoding before suppression: small groups are merged, not hidden.

Statistical offices redesign a table before they suppress cells in it (tau-ARGUS's
global recoding): a group too small to publish is merged with others into one that
is not, and the merged group's figures are published whole.  A public output here
does the same, in this order, stopping at the first design whose suppression pattern
passes the audit (`documents.briefing.make_briefing` climbs the levels):

0. relocation destinations with fewer than the threshold of relocated posts are
   merged into "Other services"; teams, grades and sites with fewer than the
   threshold of posts in all are merged into "Other teams" / "Other grades" /
   "Other sites", smallest first, until the merged group itself reaches the
   threshold (taking the next smallest group if it must);
1. as 0, and besides every team, grade and site with a status of fewer than the
   threshold of posts (1 to 4 deleted, say) is merged too, smallest first.

(Merging relocated and created posts into "other changes" where they are small, the
issue's third step, is not built yet.)  Then the cells that remain small are suppressed.  Every merge is stated in the
briefing's method section and in the public summary's JSON (`recoded`).  A group
counts posts; a file with no Posts column counts FTE instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..intake.rules import Report

LEVELS = (0, 1)
COLUMNS = {"team": "Other teams", "grade": "Other grades", "location": "Other sites"}
DESTINATION = "Other services"
_NOUNS = {"team": "teams", "grade": "grades", "location": "sites",
          "destination": "relocation destinations"}


@dataclass(frozen=True)
class Recoding:
    """What was merged into what: column -> {merged label: [original labels]}."""

    merged: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    level: int = 0

    def __bool__(self) -> bool:
        return bool(self.merged)

    def to_dict(self) -> dict[str, Any]:
        return {col: {label: list(parts) for label, parts in m.items()}
                for col, m in self.merged.items()}

    def sentences(self) -> list[str]:
        """The merges in words, for the method section."""
        out = []
        for col, merged in self.merged.items():
            for label, parts in merged.items():
                shown = ", ".join(parts[:12]) + (f" and {len(parts) - 12:,} more"
                                                 if len(parts) > 12 else "")
                out.append(f"{len(parts):,} {_NOUNS[col]} are merged into \u201c{label}"
                           f"\u201d, as some are too small to show alone (smallest first): "
                           f"{shown}.")
        return out


def recode(report: Report, threshold: int, level: int) -> tuple[Report, Recoding]:
    """`report` with small groups merged as `level` says (see the module), and what was
    merged; the report itself, unchanged, when nothing needs merging."""
    posts = report.posts
    if not threshold or posts.empty:
        return report, Recoding(level=level)
    weight = (posts["posts"].to_numpy(dtype=np.int64) * 100 if report.has_posts
              else posts["fte"].to_numpy(dtype=np.int64) // 10_000)   # hundredths of FTE
    limit = threshold * 100
    status = posts["status"].to_numpy()
    changed: dict[str, np.ndarray] = {}
    merged: dict[str, dict[str, list[str]]] = {}
    relocated = status == "relocated"
    if relocated.any():
        dest = posts["destination"].to_numpy(dtype=object)
        sizes = _sizes(dest[relocated], weight[relocated])
        small = _to_merge(sizes, {k for k, v in sizes.items() if 0 < v < limit}, limit)
        if small:
            label = _free_label(DESTINATION, sizes)
            changed["destination"] = np.where(relocated & np.isin(dest, list(small)), label,
                                              dest)
            merged["destination"] = {label: _ordered(small, sizes)}
    for col, other in COLUMNS.items():
        values = posts[col].to_numpy(dtype=object)
        given = values != "" if col == "location" else np.ones(len(values), dtype=bool)
        sizes = _sizes(values[given], weight[given])
        small = {k for k, v in sizes.items() if v < limit}
        if level >= 1:
            for st in ("deleted", "retained", "relocated", "created"):
                part = given & (status == st)
                small |= {k for k, v in _sizes(values[part], weight[part]).items()
                          if 0 < v < limit}
        small = _to_merge(sizes, small, limit)
        if small and len(small) < len(sizes):     # never merge every group into one
            label = _free_label(other, sizes)
            changed[col] = np.where(given & np.isin(values, list(small)), label, values)
            merged[col] = {label: _ordered(small, sizes)}
    if not changed:
        return report, Recoding(level=level)
    new = posts.copy()
    for col, values in changed.items():
        new[col] = values
    return (replace(report, posts=new, label_codes=None),
            Recoding(merged, level))


def _sizes(labels: np.ndarray, weight: np.ndarray) -> dict[str, int]:
    out: dict[str, int] = {}
    for label, w in zip(labels, weight, strict=True):
        out[str(label)] = out.get(str(label), 0) + int(w)
    return out


def _to_merge(sizes: dict[str, int], small: set[str], limit: int) -> set[str]:
    """`small`, and then the next smallest groups until the merged group reaches the
    limit (when there are any left)."""
    if not small:
        return set()
    chosen = set(small)
    total = sum(sizes[k] for k in chosen)
    for k in _ordered(set(sizes) - chosen, sizes):
        if total >= limit:
            break
        chosen.add(k)
        total += sizes[k]
    return chosen


def _ordered(labels: Iterable[str], sizes: dict[str, int]) -> list[str]:
    """Smallest first, then by name."""
    return sorted(labels, key=lambda k: (sizes[k], k))


def _free_label(label: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    return label if label not in taken else f"{label} (merged)"
