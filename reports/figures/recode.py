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
   threshold (taking the next smallest group if it must); when there are many, into
   several ("Other teams 1", "Other teams 2", ...), each reaching the threshold;
1. as 0, and besides every team, grade and site with a status of fewer than the
   threshold of posts (1 to 4 deleted, say) is merged too, smallest first;
2. every grouping into one ("All teams", ...): only the whole file's figures are
   left to publish.  A file of fewer than `MIN_POSTS` posts in all that still has
   no safe pattern is refused, saying why and what can be published instead.

Merging relocated and created posts into "other changes" where they are small is not
done: every table that shows them also shows baseline, deleted, retained and future,
and relocated = baseline - deleted - retained, created = future - retained, so a merged
column would hide nothing; merging the groups themselves is what protects them.  At
each level the cells that remain small are suppressed; the first level
whose pattern passes the audit is published.  Every merge is stated in the
briefing's method section and in the public summary's JSON (`recoded`).  A group
counts posts; a file with no Posts column counts FTE instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..intake.rules import Report

LEVELS = (0, 1, 2)
COLUMNS = {"team": "Other teams", "grade": "Other grades", "location": "Other sites"}
DESTINATION = "Other services"
ALL = {"team": "All teams", "grade": "All grades", "location": "All sites",
       "destination": "All services"}
MIN_POSTS = 10                       # only a file smaller than this may be refused
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
    columns = [("destination", DESTINATION, relocated)] + [
        (col, other, posts[col].to_numpy(dtype=object) != "" if col == "location"
         else np.ones(len(posts), dtype=bool)) for col, other in COLUMNS.items()]
    for col, other, given in columns:
        if not given.any():
            continue
        values = posts[col].to_numpy(dtype=object)
        sizes = _sizes(values[given], weight[given])
        if level >= 2:                   # the last design: one group, the whole file's
            small = set(sizes) if len(sizes) > 1 else set()
        else:
            small = {k for k, v in sizes.items() if v < limit}
            if level >= 1 and col != "destination":
                for st in ("deleted", "retained", "relocated", "created"):
                    part = given & (status == st)
                    small |= {k for k, v in _sizes(values[part], weight[part]).items()
                              if 0 < v < limit}
        bins = _bins(sizes, small, limit, one=level >= 2)
        if not bins:
            continue
        labels = _labels(other if level < 2 else ALL[col], len(bins), sizes)
        new = values.copy()
        merged[col] = {}
        for label, members in zip(labels, bins, strict=True):
            new[given & np.isin(values, members)] = label
            merged[col][label] = members
        changed[col] = new
    if not changed:
        return report, Recoding(level=level)
    new_posts = posts.copy()
    for col, values in changed.items():
        new_posts[col] = values
    return (replace(report, posts=new_posts, label_codes=None),
            Recoding(merged, level))


def _sizes(labels: np.ndarray, weight: np.ndarray) -> dict[str, int]:
    out: dict[str, int] = {}
    for label, w in zip(labels, weight, strict=True):
        out[str(label)] = out.get(str(label), 0) + int(w)
    return out


def _bins(sizes: dict[str, int], small: set[str], limit: int, one: bool = False
          ) -> list[list[str]]:
    """The small groups, smallest first, in bins of two groups or more that each reach
    the limit (the last bin joins the one before if it cannot; if all of them together
    cannot, the next smallest other groups join it).  `one`: a single bin of them all."""
    if not small:
        return []
    order = _ordered(small, sizes)
    if one:
        return [order]
    bins: list[list[str]] = [[]]
    total = 0
    for k in order:
        if total >= limit and len(bins[-1]) >= 2:     # a bin is two groups at least
            bins.append([])
            total = 0
        bins[-1].append(k)
        total += sizes[k]
    if total < limit or len(bins[-1]) < 2:
        if len(bins) > 1:
            last = bins.pop()
            bins[-1] += last
        else:
            for k in _ordered(set(sizes) - small, sizes):
                if total >= limit:
                    break
                bins[0].append(k)
                total += sizes[k]
    if len(bins) == 1 and len(bins[0]) < 2:    # one group "merged" alone is no merge:
        rest = _ordered(set(sizes) - small, sizes)   # it joins the next smallest
        if not rest:
            return []
        bins[0].append(rest[0])
    return bins


def _ordered(labels: Iterable[str], sizes: dict[str, int]) -> list[str]:
    """Smallest first, then by name."""
    return sorted(labels, key=lambda k: (sizes[k], k))


def _labels(label: str, n: int, taken: Iterable[str]) -> list[str]:
    names = [label] if n == 1 else [f"{label} {i}" for i in range(1, n + 1)]
    return [_free_label(x, taken) for x in names]


def _free_label(label: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    return label if label not in taken else f"{label} (merged)"
