"""Disclosure control: the one module that decides which figures a public output hides.

Every output that hides figures asks this module: the briefing's tables, tiles,
charts and money figures, the public summary and comparison files, and the
"What changed" section.

**The promise.** With a threshold of N (the template's `small_number_threshold`,
default 5), no hidden value can be narrowed to a range narrower than N, in the
figure's own unit (posts, FTE or pounds), from everything that is published
together, including every earlier release of the dataset (`releases.union`).

**How.** Every hidden value is shown as one marker, `[c]`, whether it is small
or hidden to protect another.

1. *Primary*: every figure of more than 0 and fewer than N posts is hidden (a count,
   or the FTE of such a group; FTE stands in without posts: `Links.is_small`).
2. *Money follows the counts*: a cost that belongs to a hidden count is hidden.
3. *Audit*: for each hidden value, the smallest and largest value it could
   take is worked out by linear programming (HiGHS, through `highspy`), given
   every published figure, the relations between them (a total is the sum of
   its parts; baseline = deleted + retained + relocated; two groups holding the
   same posts have the same figures), and what a reader knows besides: values
   are not negative, a hidden value is not zero (zeros are never hidden), FTE is
   at most the number of posts, and posts and hundredths of an FTE are whole.
4. *Repair*: while some hidden value's range is narrower than N, a linear
   program finds the cheapest set of published figures around it (small ones
   first, the headline totals last) whose change would let it move by N, and
   hides them; then the audit runs again.
5. *Refuse*: if no safe pattern exists short of hiding most of the figures,
   `Unpublishable` is raised: the output is not written.

The audit of one hidden value first solves a small linear program over its
neighbourhood, with every other hidden value fixed at its true value.  That
can only make the range narrower than the full problem's (it adds
constraints), so a value that passes there is safe; one that fails is tried
on a larger neighbourhood, and at last on the whole connected problem.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..model import measures
from ..model.errors import Unpublishable
from ..model.formats import MARKER, Number
from .compare import figure_text

Key = tuple  # e.g. ("team", "Early Help", "deleted_fte"): one figure in a document

SECONDARY = MARKER         # the name older code and tests use
MAX_HIDDEN_SHARE = 0.85    # refuse when more than this share of the non-zero figures is hidden
NEIGHBOURHOODS = (30, 150)  # variables in the first and second audit of one value
WIDE_NEIGHBOURHOOD = 600   # variables in the audit of a value the repair cannot help
PATTERN_CELLS = 250        # figures around a value that the repair may move
MIP_NODES = 2_000          # the most branch-and-bound nodes one whole-number search of one
                           # range may take: a count, not a time, so that the audit (and what
                           # a public output hides) never depends on how busy the machine is
LONG_RELATION = 12         # members of a long relation that a neighbourhood takes
DEAR = 30.0                # how much dearer a headline figure (a team's deleted FTE) is to hide


def scale(unit: str | None, fine: bool = False) -> int:
    """Whole units per figure unit: money as hundredths; FTE as hundredths, or as
    millionths when `fine` (a file that gives FTE to more than 2 places)."""
    if unit == measures.POSTS:
        return 1
    return 1_000_000 if fine and unit == measures.FTE else 100


def units_of(value: Number, unit: str | None, fine: bool = False) -> int:
    """A figure as whole units (hundredths of an FTE or a pound; posts as they are)."""
    return int(Decimal(value) * scale(unit, fine))


@dataclass
class Links:
    """What a reader can use: every figure that could be shown, and how they relate.

    `equations` are (total, part, part, ...): total = the sum of the parts.
    `signed` are general relations, each a list of (key, coefficient) adding to 0
    (net saving = deleted cost - created cost).  `at_most` pairs (FTE, posts): the
    FTE is at most the posts.  `follows` maps a money figure to the counts it
    belongs to: it is hidden whenever one of them is.  `keep` are figures hidden
    only as a last resort (the headline totals).
    """

    values: Mapping[Key, Number]
    units: Mapping[Key, str]
    shown: set[Key]
    equations: Sequence[Sequence[Key]] = ()
    signed: Sequence[Sequence[tuple[Key, int]]] = ()
    at_most: Sequence[tuple[Key, Key]] = ()
    follows: Mapping[Key, Sequence[Key]] = field(default_factory=dict)
    keep: set[Key] = field(default_factory=set)
    dear: set[Key] = field(default_factory=set)   # the story: hidden only when cheaper ones fail
    sensitive: set[Key] = field(default_factory=set)   # to hide as if small (a small change)
    people: Mapping[Key, int] = field(default_factory=dict)  # posts a figure describes
    fixed: set[Key] = field(default_factory=set)    # published before: never hidden now
    prior: set[Key] = field(default_factory=set)    # earlier releases' figures (see releases)
    max_hidden_share: float = MAX_HIDDEN_SHARE      # 1.0: the last design, publish what is safe

    def is_small(self, key: Key, threshold: int) -> bool:
        """Whether a figure is sensitive by itself: it describes more than 0 and fewer
        than `threshold` posts (a count, or the FTE of such a group).  Without a count
        of posts (a file with no Posts column), its FTE stands in.  Money is never small
        by itself: it follows its counts.  A zero is never hidden."""
        value = self.values.get(key)
        if value is None or value == 0 or \
                self.units.get(key) not in (measures.FTE, measures.POSTS):
            return False
        posts = self.people.get(key)
        return 0 < (posts if posts is not None else value) < threshold

    @functools.cached_property
    def fine(self) -> bool:
        """Whether some FTE figure has more than 2 decimal places: then FTE is audited in
        millionths, so that every relation between the figures holds exactly."""
        return any(self.units.get(k) == measures.FTE and (Decimal(v) * 100) % 1 != 0
                   for k, v in self.values.items())

    def relations(self) -> list[list[tuple[Key, int]]]:
        """Every equation as (key, coefficient) pairs adding to 0, over known keys."""
        out = [[(eq[0], -1)] + [(k, 1) for k in eq[1:]] for eq in self.equations]
        out += [list(eq) for eq in self.signed]
        return [eq for eq in out if all(k in self.values for k, _ in eq)]


@dataclass
class Protection:
    """The figures hidden, and the range a reader could narrow each one to."""

    hidden: dict[Key, str]
    ranges: dict[Key, tuple[Decimal, Decimal | None]]   # in the figure's unit; None: no limit
    threshold: int
    primary: int = 0

    def summary(self) -> str:
        """'7 values hidden; every hidden value has a range of at least 5'."""
        n = len(self.hidden)
        if not self.threshold:
            return "No value is hidden: this output does not suppress small numbers."
        if not n:
            return (f"No value is hidden: no published figure is under {self.threshold} or "
                    f"could reveal one.")
        return (f"{n:,} value{'s' if n != 1 else ''} hidden ({self.primary:,} under "
                f"{self.threshold}, {n - self.primary:,} to protect them); every hidden value "
                f"has a range of at least {self.threshold} given everything published.")


def protect(links: Links, threshold: int) -> Protection:
    """Choose the figures to hide so that the audit passes.  Raises `Unpublishable`."""
    if threshold <= 0:
        return Protection({}, {}, threshold)
    values, units = links.values, links.units
    shown = {k for k in links.shown if values.get(k) is not None}
    primary = {k for k in shown - links.prior - links.fixed if links.is_small(k, threshold)} \
        | (links.sensitive & shown)
    hidden = set(primary)
    problem = _Problem(links, threshold)
    passed: dict[Key, tuple[int, int | None]] = {}
    nonzero = sum(1 for k in shown - links.prior if values[k] != 0)
    while True:
        hidden |= _following(links, hidden, shown)
        problem.set_hidden(hidden)
        failing = []
        for k in sorted(hidden - set(passed), key=repr):
            lo, hi = problem.range_of(k)
            if hi is None or hi - lo >= problem.needed(k):
                passed[k] = (lo, hi)
            else:
                failing.append(k)
        if not failing:
            break
        for k in failing:
            if problem.hidden != hidden:   # an earlier pick this round may have made room
                problem.set_hidden(hidden)
                lo, hi = problem.range_of(k)
                if hi is None or hi - lo >= problem.needed(k):
                    continue
            picks = problem.pattern(k, shown)
            if not picks:              # nothing left to hide near it: ask a wider problem,
                lo, hi = problem.range_of(k, wide=True)       # then the whole one
                if hi is not None and hi - lo < problem.needed(k):
                    lo, hi = problem.range_of(k, exact=True)
                if hi is None or hi - lo >= problem.needed(k):
                    passed[k] = (lo, hi)
                    continue
                # it cannot move down by the share asked (a published FTE holds a
                # count of posts up): ask as much below as the figures allow, the rest
                # above
                picks = problem.pattern(k, shown, either_side=True)
            if not picks:
                raise Unpublishable(
                    f"no safe pattern of hidden figures exists: {_name(k)} could be worked "
                    f"out to within {threshold} from the other figures, whatever else is "
                    f"hidden; the output is not written")
            hidden = hidden | picks
        _too_many(hidden - links.prior, nonzero, links.max_hidden_share)
    _too_many(hidden - links.prior, nonzero, links.max_hidden_share)
    ranges = {k: (Decimal(lo) / scale(units.get(k), links.fine),
                  None if hi is None else Decimal(hi) / scale(units.get(k), links.fine))
              for k, (lo, hi) in passed.items() if k in hidden}
    return Protection({k: MARKER for k in hidden}, ranges, threshold, len(primary))


def _too_many(hidden: set[Key], nonzero: int, share: float) -> None:
    if len(hidden) > share * max(nonzero, 1):
        raise Unpublishable(
            f"keeping every figure safe would hide {len(hidden):,} of {nonzero:,} "
            f"figures; the output is not written. Publish a version with fewer "
            f"breakdowns (a template without the by-team or new-posts tables)")


def audit(links: Links, hidden: Iterable[Key], threshold: int
          ) -> dict[Key, tuple[Decimal, Decimal | None]]:
    """The exact range of each hidden figure, over the whole problem (no shortcuts)."""
    problem = _Problem(links, threshold)
    hidden = set(hidden)
    problem.set_hidden(hidden)
    out = {}
    for k in sorted(hidden, key=repr):
        lo, hi = problem.range_of(k, exact=True)
        s = scale(links.units.get(k), links.fine)
        out[k] = (Decimal(lo) / s, None if hi is None else Decimal(hi) / s)
    return out


def _following(links: Links, hidden: set[Key], shown: set[Key]) -> set[Key]:
    """Money figures that belong to a hidden count."""
    return {m for m, counts in links.follows.items()
            if m in shown and m not in links.fixed and links.values.get(m, 0) != 0
            and any(c in hidden for c in counts)}


def _name(key: Key) -> str:
    if key and key[0] == "@":           # an earlier release's figure (figures.releases)
        return " / ".join(str(p) for p in key[2:]) + " (as published before)"
    return " / ".join(str(p) for p in key)


class _Problem:
    """The linear system a reader can set up, in whole units.

    Every relation holds for the true values, so the constant side of a relation,
    once its published figures are moved across, is the sum of its unknown terms at
    their true values: no relation needs more than its unknown terms to be read.
    """

    def __init__(self, links: Links, threshold: int) -> None:
        self.links = links
        self.threshold = threshold
        self.units = links.units
        self.fine = links.fine
        self.value = {k: units_of(v, links.units.get(k), self.fine)
                      for k, v in links.values.items()}
        self.eqs = links.relations()
        self.eq_keys = [[k for k, _ in eq] for eq in self.eqs]
        self.by_size = [sorted(keys, key=lambda k: (self.value[k] == 0, self.value[k], repr(k)))
                        if len(keys) > LONG_RELATION else keys for keys in self.eq_keys]
        self.pairs = [(f, p) for f, p in links.at_most
                      if f in self.value and p in self.value]
        self.terms: dict[Key, list[tuple[int, int]]] = defaultdict(list)
        for i, eq in enumerate(self.eqs):
            for k, c in eq:
                self.terms[k].append((i, c))
        for k in self.terms:           # small relations first: a value's own row first
            self.terms[k].sort(key=lambda t: len(self.eqs[t[0]]))
        self.pair_of: dict[Key, list[int]] = defaultdict(list)
        for i, (f, p) in enumerate(self.pairs):
            self.pair_of[f].append(i)
            self.pair_of[p].append(i)
        self.unshown = set(self.value) - links.shown
        self._room: dict[int, list[Key]] = {}
        self.set_hidden(set())

    def set_hidden(self, hidden: set[Key]) -> None:
        """The hidden figures the next questions are about."""
        self.hidden = set(hidden)
        self.unknown = self.hidden | self.unshown
        self._members: dict[int, list[Key]] = {}

    def members(self, i: int) -> list[Key]:
        """The unknown terms of relation `i`."""
        got = self._members.get(i)
        if got is None:
            got = [k for k in self.by_size[i] if k in self.unknown]
            self._members[i] = got
        return got

    def needed(self, key: Key) -> int:
        return self.threshold * scale(self.units.get(key), self.fine)

    def _neighbourhood(self, key: Key, extra: Key | None, cap: int | None,
                       once: bool = True) -> list[Key]:
        """The unknown figures nearest `key` (see `_area`), at most `cap` of them."""
        extra_eqs = {i for i, _ in self.terms.get(extra, ())} if extra is not None else set()

        def members(i: int) -> list[Key]:
            got = self.members(i)
            return got + [extra] if i in extra_eqs else got   # type: ignore[list-item]

        def pair_members(i: int) -> list[Key]:
            return [kk for kk in self.pairs[i] if kk in self.unknown or kk == extra]

        return self._nearest(key, cap, members, pair_members, once=once)

    def range_of(self, key: Key, extra: Key | None = None, exact: bool = False,
                 wide: bool = False) -> tuple[int, int | None]:
        """The smallest and largest whole-unit value `key` can take, with the figures of
        `set_hidden` (and `extra`) unknown.  Unless `exact`, only neighbourhoods are
        solved: a range found there is never wider than the true one."""
        caps: Sequence[int | None] = ((None,) if exact else (WIDE_NEIGHBOURHOOD,) if wide
                                      else NEIGHBOURHOODS)
        result: tuple[int, int | None] = (self.value[key], self.value[key])
        for cap in caps:
            variables = self._neighbourhood(key, extra, cap, once=not (exact or wide))
            result = self._solve(key, variables, extra, whole=exact)
            lo, hi = result
            if hi is None or hi - lo >= self.needed(key):
                return result
            if cap is not None and len(variables) < cap:
                return result          # the neighbourhood was already the whole problem
        return result

    def _solve(self, key: Key, variables: list[Key], extra: Key | None,
               whole: bool = False) -> tuple[int, int | None]:
        """The range of `key` by linear programming over `variables`; with `whole`, every
        figure is a whole number of its units (posts, hundredths of an FTE or a pound), as
        it is in truth, by mixed-integer programming.  A search cut short by its time limit
        answers with the best figures it found, which lie inside the true range, so the
        answer never claims more room than there is."""
        import highspy  # the LP solver: loaded only when an output suppresses figures
        import numpy as np

        index = {k: i for i, k in enumerate(variables)}
        rows: dict[int, tuple[list[int], list[float], float]] = {}
        for k, col in index.items():
            for i, c in self.terms.get(k, ()):
                cols, coefs, rhs = rows.setdefault(i, ([], [], 0.0))
                cols.append(col)
                coefs.append(float(c))
                rows[i] = (cols, coefs, rhs + c * self.value[k])
        n = len(variables)
        lower = np.array([1.0 if (k in self.hidden or k == extra) else 0.0
                          for k in variables])
        upper = np.full(n, np.inf)
        extra_rows: list[Row] = []
        for i in sorted({i for k in variables for i in self.pair_of.get(k, ())}):
            f, p = self.pairs[i]
            per = float(scale(self.units.get(f), self.fine))  # FTE units per post
            if f in index and p in index:
                extra_rows.append(([index[f], index[p]], [1.0, -per], -np.inf, 0.0))
            elif f in index:
                upper[index[f]] = min(upper[index[f]], per * self.value[p])
            else:
                lower[index[p]] = max(lower[index[p]], math.ceil(self.value[f] / per))
        inf = highspy.kHighsInf
        h = _solver()
        h.addVars(n, lower, np.minimum(upper, inf))
        _add_rows(h, [(cols, coefs, rhs, rhs) for cols, coefs, rhs in rows.values()]
                  + extra_rows)
        h.changeColCost(index[key], 1.0)
        if whole:
            h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                    np.full(n, highspy.HighsVarType.kInteger))
            h.setOptionValue("mip_max_nodes", MIP_NODES)
        model = highspy.HighsModelStatus
        cut_short = (model.kSolutionLimit, model.kIterationLimit, model.kTimeLimit)
        out: list[float | None] = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            h.changeObjectiveSense(sense)
            h.run()
            status = h.getModelStatus()
            info = h.getInfo()
            if status == model.kOptimal:
                out.append(info.objective_function_value)
            elif status in (model.kUnbounded, model.kUnboundedOrInfeasible):
                out.append(None)       # the truth is feasible, so this is unbounded
            elif status in cut_short and info.primal_solution_status == 2:
                out.append(info.objective_function_value)   # a figure it can take
            else:                      # infeasible or unknown: trust nothing but the truth
                v = self.value[key]
                return v, v
        lo_f, hi_f = out
        lo = math.ceil((lo_f if lo_f is not None else 0) - 1e-6)
        return lo, None if hi_f is None else math.floor(hi_f + 1e-6)

    # ---- what to hide next

    def pattern(self, key: Key, shown: set[Key], either_side: bool = False
                ) -> set[Key] | None:
        """`_pattern` over a small area around `key`, then over a wider one."""
        found = self._pattern(key, shown, self._area(key, PATTERN_CELLS), either_side)
        if found is None:
            found = self._pattern(key, shown, self._area(key, 3 * PATTERN_CELLS, once=False),
                                  either_side)
        return found

    def _pattern(self, key: Key, shown: set[Key], cells: list[Key],
                 either_side: bool = False) -> set[Key] | None:
        """Published figures to hide so that `key` can move by the threshold.

        A linear program looks for the cheapest change to the figures around `key`
        that keeps every relation true and moves `key` up by u and down by d
        (u + d = the threshold, d no further than its floor): figures already hidden
        move for free, published ones at a cost that grows with their size (the
        headline totals dearest), zeros and figures further away not at all.  Every
        published figure that moves is returned: hidden, they give `key` its room.
        (The heuristic of Fischetti and Salazar for cell suppression.)  With
        `either_side`, for a `key` that cannot move down that far (a published FTE
        holds a count of posts up, FTE being at most the posts; a sum of hidden parts
        cannot go below one unit each), d is as far down as it could go were every
        figure around it hidden, and u the rest: the audit needs room of the
        threshold, on either side or both.
        """
        need = self.needed(key)
        v = self.value[key]
        down = min(max(v - 1, 0), need)
        movable = [k for k in cells if k in self.unknown or
                   (k in shown and self.value[k] != 0 and k not in self.links.fixed)]
        if either_side:      # as far down as it can go were all of them hidden, the rest up
            saved = self.hidden
            self.set_hidden(saved | {k for k in movable if k not in self.unknown})
            lo, hi = self.range_of(key, wide=True)
            self.set_hidden(saved)
            down = min(max(v - lo, 0), need)
            if hi is not None and need - down > hi - v:
                return None
        index = {k: i for i, k in enumerate(movable)}
        n = len(movable)
        cost = []
        for k in movable:
            if k in self.unknown:
                cost.append(0.0)
            else:
                size = self.value[k] / scale(self.units.get(k), self.fine)
                cost.append((1.0 + math.log1p(size)) * (1000.0 if k in self.links.keep else
                                                         DEAR if k in self.links.dear else 1.0))
        floor = [1.0 if (k in self.hidden or k not in self.unknown) else 0.0 for k in movable]
        terms: dict[int, dict[int, float]] = {}
        for k, col in index.items():
            for i, c in self.terms.get(k, ()):
                terms.setdefault(i, {})[col] = float(c)
        # every relation holds for the changes (y+ - y-), and FTE stays within its posts
        lp_rows: list[Row] = []
        for by_col in terms.values():
            cols = [c for col in by_col for c in (col, n + col)]
            coefs = [v for coef in by_col.values() for v in (coef, -coef)]
            lp_rows.append((cols, coefs, 0.0, 0.0))
        for i in sorted({i for k in movable for i in self.pair_of.get(k, ())}):
            f, p = self.pairs[i]
            per = float(scale(self.units.get(f), self.fine))
            cols, coefs = [], []
            for k, coef in ((f, 1.0), (p, -per)):
                if k in index:
                    cols += [index[k], n + index[k]]
                    coefs += [coef, -coef]
            lp_rows.append((cols, coefs, -math.inf, per * self.value[p] - self.value[f]))
        return self._moves(key, index, cost, floor, lp_rows, need - down, down)

    def _moves(self, key: Key, index: dict[Key, int], cost: list[float], floor: list[float],
               lp_rows: list[Row], up: int, down: int) -> set[Key] | None:
        """The published figures that move when `key` moves up by `up` and, separately,
        down by `down`, at least cost (`_pattern`); None when it cannot move so."""
        import highspy  # the LP solver: loaded only when an output suppresses figures
        import numpy as np

        n = len(index)
        picked: set[Key] = set()
        for direction, amount in ((1, up), (-1, down)):
            if amount <= 0:
                continue
            h = _solver()
            lower = np.zeros(2 * n)
            upper = np.full(2 * n, highspy.kHighsInf)
            for k, col in index.items():      # y- is at most the room above the floor
                upper[n + col] = max(self.value[k] - floor[col], 0.0)
            x = index[key]
            if direction > 0:
                lower[x] = upper[x] = float(amount)
                upper[n + x] = 0.0
            else:
                lower[n + x] = upper[n + x] = float(amount)
                upper[x] = 0.0
            h.addVars(2 * n, lower, upper)
            h.changeColsCost(2 * n, np.arange(2 * n, dtype=np.int32),
                             np.array(cost + cost, dtype=float))
            _add_rows(h, lp_rows)
            h.changeObjectiveSense(highspy.ObjSense.kMinimize)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            y = h.getSolution().col_value
            for k, col in index.items():
                if k not in self.unknown and y[col] + y[n + col] > 1e-6:
                    picked.add(k)
        return picked

    def _area(self, key: Key, cap: int, once: bool = True) -> list[Key]:
        """Figures near `key`, hidden or published, at most `cap` of them, nearest first:
        a step along a short relation (a row) costs 1, along a long one (a column of
        hundreds) 3, so that the rows of the figures a column reaches come in too.  A
        long relation offers its largest figures here (the ones with room to move),
        where an audit's neighbourhood takes its smallest."""
        return self._nearest(key, cap, self._by_room, lambda i: list(self.pairs[i]), once)

    def _by_room(self, i: int) -> list[Key]:
        keys = self.by_size[i]
        if len(keys) <= LONG_RELATION:
            return keys
        got = self._room.get(i)
        if got is None:
            got = sorted(keys, key=lambda k: (self.value[k] == 0, -self.value[k], repr(k)))
            self._room[i] = got
        return got

    def _nearest(self, key: Key, cap: int | None, members: Any, pair_members: Any,
                 once: bool = True) -> list[Key]:
        import heapq

        dist = {key: 0}
        order = [key]
        heap: list[tuple[int, int, Key]] = []
        counter = 0
        current = key
        d0 = 0
        long_used: set[int] = set()     # a long relation offers its few members once
        while True:
            for i, _ in self.terms.get(current, ()):
                long = len(self.eqs[i]) > LONG_RELATION
                if long and once:
                    if i in long_used:
                        continue
                    long_used.add(i)
                got = members(i)
                step = 3 if long else 1
                for kk in self._some(got, dist, i):
                    if kk not in dist:
                        counter += 1
                        heapq.heappush(heap, (d0 + step, counter, kk))
            for i in self.pair_of.get(current, ()):
                for kk in pair_members(i):
                    if kk not in dist:
                        counter += 1
                        heapq.heappush(heap, (d0 + 1, counter, kk))
            while heap and heap[0][2] in dist:
                heapq.heappop(heap)
            if not heap or (cap is not None and len(order) >= cap):
                return order
            d0, _, current = heapq.heappop(heap)
            dist[current] = d0
            order.append(current)

    def _some(self, members: list[Key], have: Any, i: int = -1) -> list[Key]:
        """A long relation (a column of 500 teams) contributes only a few members to a
        neighbourhood: hidden ones first, then the smallest (`members` of a long relation
        come smallest first), so that the neighbourhood also reaches their rows."""
        if len(members) <= LONG_RELATION:
            return members
        out: list[Key] = []
        for k in members:
            if k in self.unknown and k not in have:
                out.append(k)
                if len(out) >= LONG_RELATION:
                    return out
        for k in members:
            if k not in self.unknown and k not in have:
                out.append(k)
                if len(out) >= LONG_RELATION:
                    break
        return out


Row = tuple[list[int], list[float], float, float]   # columns, coefficients, lower, upper


def _add_rows(h: Any, rows: Sequence[Row]) -> None:
    """Add linear rows (lower <= sum of coefficient x column <= upper) to a HiGHS model."""
    import highspy  # the LP solver: loaded only when an output suppresses figures
    import numpy as np

    rows = [r for r in rows if r[0]]
    if not rows:
        return
    starts = np.cumsum([0] + [len(cols) for cols, _, _, _ in rows[:-1]], dtype=np.int32)
    index = np.array([c for cols, _, _, _ in rows for c in cols], dtype=np.int32)
    values = np.array([v for _, coefs, _, _ in rows for v in coefs], dtype=float)
    inf = highspy.kHighsInf
    lower = np.array([max(lo, -inf) for _, _, lo, _ in rows], dtype=float)
    upper = np.array([min(hi, inf) for _, _, _, hi in rows], dtype=float)
    h.addRows(len(rows), lower, upper, len(index), starts, index, values)


_BANNER = threading.Lock()
_banner_shown = False


def _solver() -> Any:
    """A new HiGHS instance for one problem, never shared: HiGHS objects are not
    thread-safe, and the portal audits in several request threads at once (one shared
    instance crashed the server).  Making one costs about 0.05 ms, against 0.001 ms to
    empty a kept one; a solve takes milliseconds, so a fresh instance per problem costs
    nothing measurable and needs no lock.

    HiGHS prints a banner to standard output when the process's first instance is made,
    before any option can turn it off, so that one is made under a lock with standard
    output pointed at /dev/null (a JSON summary on standard output must stay clean)."""
    import highspy  # the LP solver: loaded only when an output suppresses figures

    global _banner_shown
    if not _banner_shown:
        with _BANNER:
            if not _banner_shown:
                sys.stdout.flush()
                saved = os.dup(1)
                try:
                    with open(os.devnull, "wb") as null:
                        os.dup2(null.fileno(), 1)
                        first = highspy.Highs()
                        first.setOptionValue("output_flag", False)
                finally:
                    os.dup2(saved, 1)
                    os.close(saved)
                _banner_shown = True
                return first
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


# --------------------------------------------------------------------------
# "What changed": which changes a public output may state


def change_cells(key: str, old: Any, new: Any, change: Any, *, old_hidden: bool = False,
                 new_hidden: bool = False, change_hidden: bool = False) -> list[str]:
    """Then, now and the change of one figure, each hidden as its output hides it."""
    return [MARKER if old_hidden else figure_text(key, old),
            MARKER if new_hidden else figure_text(key, new),
            MARKER if change_hidden else
            (figure_text(key, change, signed=True) if change else "no change")]


# The figures whose change the one-line headline states.
HEADLINE_FIGURES = ("deleted_fte", "at_risk_posts", "deleted_posts")


def hidden_changes(figures: Iterable[tuple[str, Any, Any]], threshold: int,
                   old_hidden: Iterable[str] = (), new_hidden: Iterable[str] = ()
                   ) -> set[str]:
    """The figures (key, old, new) whose change a public output may not state: those
    hidden on either side, or missing on one.  A change whose old and new values are
    both published is plain subtraction, so it is always stated: a change that would
    identify someone is kept out by hiding one side of it (`figures.releases`, which
    audits every public output with everything released before)."""
    if not threshold:
        return set()
    old_h, new_h = set(old_hidden), set(new_hidden)
    return {key for key, old, new in figures
            if key in old_h or key in new_h or old is None or new is None}
