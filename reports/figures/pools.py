"""Selection pools and redeployment, from the validated posts.

A pool is the occupied posts sharing team, job title and grade (or the columns
given).  A pool that loses some of its posts but not all puts everyone in it at
risk until selection; one that loses all puts its people at risk outright.
Relocated posts move with their holders and are in no pool.

The posts available for redeployment are the created posts and the retained
vacant posts.  Each at-risk pool's candidates are those of the same grade, then
those one step either side in the grade order the file uses (natural order:
"Grade 9" before "Grade 10"; later in that order is "up").  Counts are people: the
People column where given, else the posts.

A step is labelled by what is known of it.  Two grades are known to be next to each
other only when their names are the same words ending in whole numbers that differ by
one ("Grade 8" and "grade 9", "SCP 21" and "SCP22"): that step is "one grade up" or
"one grade down".  Any other step ("Grade 9" to "Grade 7" when the file has no Grade 8,
"Band A" to "Band B", "Grade 9" to "Band 10") is only the next grade in the file's
order: "the next grade above (below) in this schedule".  The schedule lists only the
grades it holds, so a gap in the numbers is a grade that exists but is not in the file,
and letters or mixed names say nothing certain about what lies between them.

Each available post is listed once, with every at-risk pool it could serve (`serves`),
so one vacancy is never shown against several pools as if each could have it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..intake.rules import Report
from ..model.errors import PostsNotGiven
from ..model.formats import natural, natural_ranks
from .s188 import check_columns, or_not_given

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_POOL = ("team", "title", "grade")
SAME = "same grade"
ADJACENT = {1: "one grade up", -1: "one grade down"}
NEXT_IN_SCHEDULE = {1: "the next grade above in this schedule",
                    -1: "the next grade below in this schedule"}
SERVES_NAMED = 8       # pools a listing names per grade for one post; the rest are counted
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def _numbered(grade: str) -> tuple[str, int] | None:
    """A grade name as its words and its closing whole number ("Grade 9" -> ("grade", 9)),
    spaces and case aside; None when it does not end in a number."""
    m = _NUMBERED.match(" ".join(grade.split()).casefold())
    return (m[1].strip(), int(m[2])) if m else None


def adjacent(a: str, b: str) -> bool:
    """Whether grades `a` and `b` are known to be next to each other: the same words
    ending in whole numbers one apart.  A gap in the numbers is a grade this file does
    not hold; letters and mixed names do not say what lies between them."""
    x, y = _numbered(a), _numbered(b)
    return x is not None and y is not None and x[0] == y[0] and abs(x[1] - y[1]) == 1


def step_label(pool_grade: str, post_grade: str, step: int) -> str:
    """How a post of `post_grade` stands to a pool of `pool_grade`, `step` places along
    the file's grade order (-1, 0 or 1): by what is known of the step."""
    if step == 0:
        return SAME
    return (ADJACENT if adjacent(pool_grade, post_grade) else NEXT_IN_SCHEDULE)[step]


@dataclass
class Pool:
    key: dict[str, str]
    grade: str
    occupied: int
    deleted: int
    kept: int
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def affected(self) -> bool:
        return self.deleted > 0

    @property
    def kind(self) -> str:
        if not self.deleted:
            return "not affected"
        return "losing all" if not self.kept else "losing some: all at risk until selection"

    def to_dict(self) -> dict[str, Any]:
        return {**self.key, "grade": self.grade, "occupied": self.occupied,
                "deleted": self.deleted,
                "kept": self.kept, "at_risk": self.occupied if self.affected else 0,
                "kind": self.kind, "candidates": self.candidates}


@dataclass
class Pools:
    pool_by: tuple[str, ...]
    affected_pools: list[Pool]              # the pools losing posts
    available: list[dict[str, Any]]         # redeployment posts, by team, title, grade
    grade_order: list[str]
    upper_bound: bool                       # no Vacant column: every post counted occupied
    # The pools losing nothing: how many, and a function that makes them.  Only the
    # CSV and JSON list them; the briefing counts them (on the 100,000-row file 32,761
    # of 59,605 pools, about 0.1 s to make).
    unaffected: int = 0
    make_unaffected: Callable[[], list[Pool]] = field(default=list, repr=False,
                                                      compare=False)

    @functools.cached_property
    def pools(self) -> list[Pool]:
        """Every pool: the affected first, then the rest."""
        return self.affected_pools + self.make_unaffected()

    @property
    def people_in_affected_pools(self) -> int:
        return sum(p.occupied for p in self.affected_pools)

    @property
    def occupied_posts_deleted(self) -> int:
        return sum(p.deleted for p in self.affected_pools)

    @property
    def redeployment_posts_available(self) -> int:
        return sum(a["posts"] for a in self.available)

    def totals(self) -> dict[str, int]:
        return {"pools": len(self.affected_pools) + self.unaffected,
                "affected_pools": len(self.affected_pools),
                "pools_losing_some": sum(1 for p in self.affected_pools if p.kept),
                "pools_losing_all": sum(1 for p in self.affected_pools if not p.kept),
                "people_in_affected_pools": self.people_in_affected_pools,
                "occupied_posts_deleted": self.occupied_posts_deleted,
                "redeployment_posts_available": self.redeployment_posts_available,
                "matched_posts_available": self.matched_posts()}

    def matched_posts(self) -> int:
        """Available posts within one grade step of at least one at-risk pool."""
        index = {g: i for i, g in enumerate(self.grade_order)}
        wanted = {index[p.grade] + d for p in self.affected_pools for d in (-1, 0, 1)}
        return sum(a["posts"] for a in self.available if index[a["grade"]] in wanted)

    @functools.cached_property
    def _at_risk_by_grade(self) -> dict[str, list[Pool]]:
        out: dict[str, list[Pool]] = {}
        for p in self.affected_pools:
            out.setdefault(p.grade, []).append(p)
        return out

    def serves(self, post: dict[str, Any]) -> list[tuple[str, str, list[Pool]]]:
        """The at-risk pools an available post could serve, by their grade: (the pools'
        grade, how the post stands to it, the pools), its own grade first, then the grade
        above and below in the file's order."""
        here = _position(self.grade_order)[post["grade"]]
        by_grade = self._at_risk_by_grade
        out = []
        for step in (0, -1, 1):         # the pools' grade: the same, below, above
            i = here + step
            if 0 <= i < len(self.grade_order) and self.grade_order[i] in by_grade:
                grade = self.grade_order[i]
                out.append((grade, step_label(grade, post["grade"], -step), by_grade[grade]))
        return out

    def to_dict(self) -> dict[str, Any]:
        redeployment = [{**a, "serves": [{"grade": g, "match": m, "pools": len(ps)}
                                         for g, m, ps in self.serves(a)]}
                        for a in self.available]
        return {"pool_by": list(self.pool_by), "upper_bound": self.upper_bound,
                "totals": self.totals(), "grade_order": self.grade_order,
                "pools": [p.to_dict() for p in self.pools],
                "redeployment": redeployment}


def pools(report: Report, pool_by: tuple[str, ...] = DEFAULT_POOL) -> Pools:
    """The selection pools and redeployment candidates of a valid report."""
    import pandas as pd  # lazy: pandas loads while fastexcel reads (xlsx.read_xlsx)
    if not report.has_posts:
        raise PostsNotGiven(f"{report.workbook.name} has no Posts column, so the number of "
                            f"posts on each row is not known and pools cannot be counted; "
                            f"add a Posts column")
    posts = report.posts
    check_columns(posts, pool_by, "--pool-by")
    pool_by = tuple(c for c in dict.fromkeys(pool_by) if c != "grade")   # grade: always
    status = posts["status"].to_numpy()
    vacant = posts["vacant"].to_numpy(dtype=object)
    is_vacant = np.array([v is True for v in vacant], dtype=bool)
    people = posts["headcount"].to_numpy(dtype=np.int64)
    grades = posts["grade"].astype(str)
    order = sorted(grades.unique().tolist(), key=natural)
    labels = pd.DataFrame({c: or_not_given(posts[c].astype(str)) for c in pool_by})
    in_pool = np.isin(status, ("deleted", "retained")) & ~is_vacant
    frame = labels.assign(
        _grade=grades.to_numpy(),
        occupied=np.where(in_pool, people, 0),
        deleted=np.where(in_pool & (status == "deleted"), people, 0),
        kept=np.where(in_pool & (status == "retained"), people, 0))[in_pool]
    available = _available(posts, status, is_vacant)
    per_grade: dict[str, int] = {}
    for a in available:
        per_grade[a["grade"]] = per_grade.get(a["grade"], 0) + a["posts"]
    if not frame.empty:
        # one row per pool, in order of first appearance, its names as columns
        sums = frame.groupby([*pool_by, "_grade"], sort=False)[["occupied", "deleted",
                                                                "kept"]].sum().reset_index()
        columns = [*pool_by, "_grade"]
        codes = [pd.factorize(sums[c].to_numpy(dtype=object)) for c in columns]
        counts = sums[["occupied", "deleted", "kept"]].to_numpy(dtype=np.int64)
        # affected pools first, then the natural order of each name, the grade last; the
        # sort is stable, so pools that sort alike stay in order of first appearance
        ranks = [natural_ranks(uniques)[c] for c, uniques in codes]
        at = np.lexsort([*reversed(ranks), counts[:, 1] <= 0])
        split = int((counts[:, 1] > 0).sum())
        candidates = {}               # one list per grade, which its at-risk pools share

        def made(rows: np.ndarray) -> list[Pool]:
            names = [np.asarray(uniques, dtype=object)[c][rows].tolist()
                     for c, uniques in codes]
            out = []
            for *key, grade, (occupied, deleted, kept) in zip(*names,
                                                              counts[rows].tolist()):
                pool = Pool(dict(zip(pool_by, key)), grade, occupied, deleted, kept)
                if deleted > 0:
                    if grade not in candidates:
                        candidates[grade] = _candidates(grade, per_grade, order)
                    pool.candidates = candidates[grade]
                out.append(pool)
            return out

        return Pools(tuple(pool_by), made(at[:split]), available, order,
                     not report.has_vacant, len(at) - split, lambda: made(at[split:]))
    return Pools(tuple(pool_by), [], available, order, not report.has_vacant)


def _available(posts: pd.DataFrame, status: np.ndarray, is_vacant: np.ndarray
               ) -> list[dict[str, Any]]:
    mask = (status == "created") | ((status == "retained") & is_vacant)
    rows = posts[mask].assign(kind=np.where(status[mask] == "created", "new post",
                                            "retained vacancy"))
    if rows.empty:
        return []
    sums = rows.groupby(["team", "title", "grade", "kind"], sort=False)["posts"].sum()
    out = [{"team": str(t), "title": str(ti), "grade": str(g), "kind": str(k),
            "posts": int(n)} for (t, ti, g, k), n in sums.items()]
    nat = functools.lru_cache(maxsize=None)(natural)     # one key per distinct name
    out.sort(key=lambda a: (nat(a["grade"]), nat(a["team"]), nat(a["title"])))
    return out


@functools.lru_cache(maxsize=8)
def _position_of(order: tuple[str, ...]) -> Mapping[str, int]:
    # read-only: the cache hands the same object to every thread that asks
    return MappingProxyType({g: i for i, g in enumerate(order)})


def _position(order: list[str]) -> Mapping[str, int]:
    """Each grade's place in the file's grade order (one dict, not a search per pool)."""
    return _position_of(tuple(order))


def _candidates(grade: str, per_grade: dict[str, int], order: list[str]
                ) -> list[dict[str, Any]]:
    """The available posts of the same grade, then of one step either side: one entry per
    grade with any (the posts themselves are in `Pools.available`, by grade)."""
    here = _position(order)[grade]
    out = []
    for step in (0, 1, -1):
        i = here + step
        if 0 <= i < len(order) and per_grade.get(order[i]):
            out.append({"grade": order[i], "match": step_label(grade, order[i], step),
                        "posts": per_grade[order[i]]})
    return out
