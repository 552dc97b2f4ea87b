"""Equality impact: who bears the cuts, characteristic by characteristic.

For each characteristic (part-time working, worked out from FTE, and any of the
optional columns sex, age band, ethnicity, disability, working pattern), per group:
occupied posts today, occupied posts deleted (at risk), occupied posts kept, the
retention rate (kept / today), its ratio to the best-retained group (the
four-fifths test flags a ratio under 0.8), and Fisher's exact test of the group
against everyone else, so that a flag on small numbers is read for what it is.

**Part-time from FTE.**  Each post is above 0 and at most 1 FTE, in hundredths.  A row
of `p` posts and `f` hundredths of FTE can hold `k` full-time posts only when the
other `p - k` posts can share `f - 100k` at 1 to 99 hundredths each, that is when
`f - 99p <= k <= (f - p) / 99`.  A row counts only when exactly one `k` is possible:
every single-post row (1 FTE is full-time, less is part-time); 2 posts at 2 FTE (both
full-time); 3 posts at 1.01 FTE (all part-time); 2 posts at 1.99 FTE (one of each).
Rows such as 45 posts at 33.69 FTE, which could be split many ways, are left out and
counted in a note.

**Privacy: who may read what** (issue 25; shared/DOMAIN.md, "Equality data and
consultation").  An `EqualityRule` says, per characteristic, whether its small counts
are protected:

- sex and working pattern (recorded, or part-time worked out from FTE) are personal
  data but not special category data, and employers share equality analyses with the
  recognised unions during consultation at an aggregate level.  So the union and
  management briefings (marked for consultation, with no per-person rows) show them in
  full, however small the counts;
- ethnicity, disability (and religion or belief, sexual orientation, were they read)
  are special category data (UK GDPR Article 9): their counts under the threshold
  (at least 2; `EQUALITY_THRESHOLD`, 5, unless a template says otherwise) go through
  `privacy.protect` in every audience;
- age band is protected unless a template shows it in full;
- a public output protects every characteristic at `EQUALITY_THRESHOLD` or more, and
  an output whose audience is not known (`impact equality` without `--audience`) too.

Rates, ratios and p-values of a group with a hidden count are hidden with it, and the
ratio is to the best-retained group whose counts are shown.

**Kept.**  `retained+relocated` (the default): an occupied post is kept unless it is
deleted, so a relocated post counts as kept (its holder keeps a job, in another
service) and every occupied post is in the comparison.  `retained`: only posts this
service keeps count as kept, and occupied relocated posts are left out of every table
(they are neither at risk nor kept here), so the test compares posts at risk with
posts retained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from ..intake.rules import Report
from ..model import fields as schema
from ..model import measures
from ..model.errors import InvalidData, PostsNotGiven, Unpublishable
from ..model.formats import natural, percent
from .privacy import MARKER, Links, protect

EQUALITY_THRESHOLD = 5     # the protected characteristics' threshold (NHS: 1-7 hidden)
LEAST_THRESHOLD = 2        # a template may lower it this far for a consultation audience
FOUR_FIFTHS = Fraction(4, 5)
SMALL_GROUP = 10           # occupied posts under this: too few for either test to mean much
NOT_RECORDED = "Not recorded"
PART_TIME = "part_time"
CHARACTERISTICS = {PART_TIME: "Full-time or part-time (from FTE)",
                   "sex": "Sex", "age_band": "Age band", "ethnicity": "Ethnicity",
                   "disability": "Disability", "working_pattern": "Working pattern (as recorded)"}
# UK GDPR Article 9 data: protected in every audience, whatever a template says.  Religion
# or belief and sexual orientation are not read from a file today; they are named so
# that a template cannot list them as shown in full.
SPECIAL_CATEGORY = ("ethnicity", "disability", "religion_or_belief", "sexual_orientation")
# What a consultation briefing (union, management) shows in full by default.
CONSULTATION_IN_FULL = (PART_TIME, "sex", "working_pattern")
RETAINED_AND_RELOCATED = "retained+relocated"
RETAINED = "retained"
KEPT = (RETAINED_AND_RELOCATED, RETAINED)      # the first is the default
KEPT_MEANING = {
    RETAINED_AND_RELOCATED: "Kept means retained or relocated: an occupied post is kept "
                            "unless it is deleted (a relocated post's holder keeps a job, "
                            "in another service).",
    RETAINED: "Kept means retained by this service: occupied posts relocated to another "
              "service are left out of every table, so posts at risk are compared with "
              "posts retained.",
}
COUNTS = ("eq_baseline_posts", "eq_at_risk_posts", "eq_retained_posts")


@dataclass(frozen=True)
class EqualityRule:
    """Which characteristics' small counts are hidden, at what threshold, and what "kept"
    means.  The default protects every characteristic: an output whose audience is not
    known."""

    threshold: int = EQUALITY_THRESHOLD
    in_full: frozenset[str] = frozenset()     # characteristics shown in full
    kept: str = RETAINED_AND_RELOCATED
    audience: str | None = None               # for the method's wording only

    def __post_init__(self) -> None:
        if self.kept not in KEPT:
            raise ValueError(f"kept must be one of {', '.join(KEPT)}, not {self.kept!r}")
        if self.in_full & set(SPECIAL_CATEGORY):
            raise ValueError("special category data cannot be shown in full")
        if self.threshold < LEAST_THRESHOLD:
            raise ValueError(f"the equality threshold is at least {LEAST_THRESHOLD}")
        if self.audience == "public" and (self.in_full or self.threshold < EQUALITY_THRESHOLD
                                          or self.kept != RETAINED_AND_RELOCATED):
            raise ValueError("a public output protects every characteristic, at "
                             f"{EQUALITY_THRESHOLD} or more, and keeps one definition of kept")

    def protects(self, key: str) -> bool:
        return key not in self.in_full

    def said(self, key: str) -> str:
        """The rule applied to one characteristic, in words."""
        if not self.protects(key):
            return "shown in full (not special category data; for consultation)"
        why = ("special category data" if key in SPECIAL_CATEGORY
               else "public output" if self.audience == "public"
               else "protected by this template" if self.audience
               else "audience not known")
        return f"counts under {self.threshold} hidden ({why})"

    def sentences(self, keys: list[str] | None = None) -> list[str]:
        """The rule per characteristic (those in `keys`, else all), and what kept means."""
        keys = keys if keys is not None else list(CHARACTERISTICS)
        full = [CHARACTERISTICS[k] for k in keys if not self.protects(k)]
        hidden = [CHARACTERISTICS[k] for k in keys if self.protects(k)]
        special = [CHARACTERISTICS[k] for k in keys if k in SPECIAL_CATEGORY]
        out = []
        if full:
            out.append(f"Shown in full, however small the counts: {', '.join(full)}. These "
                       f"are personal data but not special category data, and equality "
                       f"analyses are shared with those consulted at an aggregate level, "
                       f"with no per-person rows.")
        if hidden:
            out.append(f"Counts under {self.threshold}, and any figure that would reveal "
                       f"one, are hidden as {MARKER}: {', '.join(hidden)}."
                       + (f" {', '.join(special)}: special category data (UK GDPR Article "
                          f"9), protected in every audience." if special else ""))
        out.append(KEPT_MEANING[self.kept])
        return out


PROTECT_ALL = EqualityRule()     # an output whose audience is not known


def part_time_split(fte: np.ndarray, posts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full-time and part-time posts of each row (FTE in millionths), and whether the
    split is certain (see the module's docstring)."""
    fte = fte.astype(np.int64)
    posts = posts.astype(np.int64)
    # FTE arrives in millionths; a file given to 2 places has posts of whole hundredths
    # (the rule above), one given to 6 places posts of whole millionths.
    if bool((fte % 10_000 == 0).all()):
        fte, unit = fte // 10_000, 100
    else:
        unit = 1_000_000
    lo = np.maximum(0, fte - (unit - 1) * posts)
    hi = np.minimum(posts, np.floor_divide(fte - posts, unit - 1))
    certain = lo == hi
    return np.where(certain, lo, 0), certain


@dataclass
class Group:
    label: str
    baseline: int
    at_risk: int

    @property
    def kept(self) -> int:
        return self.baseline - self.at_risk


@dataclass
class Characteristic:
    key: str
    label: str
    groups: list[Group]
    rows: list[dict[str, Any]] = field(default_factory=list)    # figures or MARKER
    total: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    hidden: set[tuple[str, str]] = field(default_factory=set)   # (group, "b"/"a"/"r")
    reference: str | None = None     # the best-retained group whose counts are shown
    rule: str = ""                   # the privacy rule applied, in words
    left_out: int = 0                # occupied posts in no group (part-time: not certain)


@dataclass
class Equality:
    source: dict[str, Any]
    rule: EqualityRule
    characteristics: list[Characteristic]
    notes: list[str]

    @property
    def threshold(self) -> int:
        return self.rule.threshold

    @property
    def kept(self) -> str:
        return self.rule.kept

    def method(self) -> list[str]:
        """Which rule applied, characteristic by characteristic, and what kept means."""
        return self.rule.sentences([c.key for c in self.characteristics])

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "threshold": self.threshold,
                "kept": self.kept, "kept_means": KEPT_MEANING[self.kept],
                "characteristics": [{"characteristic": c.key, "label": c.label,
                                     "rule": c.rule,
                                     "groups": [_json_row(r) for r in c.rows],
                                     "total": _json_row(c.total),
                                     "flagged": c.flagged, "notes": c.notes}
                                    for c in self.characteristics],
                "notes": self.notes}


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, Decimal):
            out[k] = float(v)
        else:
            out[k] = v
    return out


def fisher_p(a: int, b: int, c: int, d: int) -> Decimal:
    """Two-sided Fisher's exact test of the 2x2 table [[a, b], [c, d]], to 4 significant
    figures."""
    return Decimal(f"{fisher_two_sided(a, b, c, d):.4g}")


# scipy.stats.fisher_exact's two-sided test, without importing scipy.stats (0.5 s, a
# fifth of a briefing's time): the table's hypergeometric probability is p(x) for
# x = a, with the margins fixed; the p-value is the sum of the probabilities of the
# tables as extreme as it (every x beyond a, on its side of the mode) and of those on
# the mode's other side no more probable than it, p(x) <= p(a) * (1 + FISHER_RTOL): a
# relative tolerance, so that floating-point noise never parts two equal probabilities.
FISHER_RTOL = 1e-7
FISHER_EXACT_UP_TO = 1000      # tables of at most this many posts: in integers, exactly


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """The two-sided p-value of Fisher's exact test of [[a, b], [c, d]], as scipy defines
    it (1.0 when a row or a column is empty)."""
    n1, n2, n = a + b, c + d, a + c
    if min(a, b, c, d) < 0:
        raise ValueError("a table of counts has no negative cells")
    if 0 in (n1, n2, n, b + d):
        return 1.0
    lo, hi = max(0, n - n2), min(n, n1)
    mode = (n + 1) * (n1 + 1) // (n1 + n2 + 2)
    weights = _weights_exact if n1 + n2 <= FISHER_EXACT_UP_TO else _weights_float
    w = weights(n1, n2, n, lo, hi, mode)
    obs, top = w[a - lo], w[mode - lo]
    if top - obs <= top * FISHER_RTOL:         # as probable as the mode: every table counts
        return 1.0
    if a < mode:
        side, other = w[:a - lo + 1], w[mode - lo + 1:]
    else:
        side, other = w[a - lo:], w[:mode - lo]
    if isinstance(obs, int):                   # exact: compare and sum in integers
        scale = round(1 / FISHER_RTOL)
        tail = sum(side) + sum(v for v in other if v * scale <= obs * (scale + 1))
        return min(1.0, float(Fraction(tail, sum(w))))
    limit = obs * (1 + FISHER_RTOL)
    tail_f = math.fsum(side) + math.fsum(v for v in other if v <= limit)
    # (below 1e-307, the doubles' subnormal range, scipy's own sums are noise)
    return min(1.0, tail_f / math.fsum(w))


def _weights_exact(n1: int, n2: int, n: int, lo: int, hi: int, mode: int) -> list[Any]:
    """C(n1, x) * C(n2, n - x) for each x from lo to hi: the probabilities times C(N, n)."""
    return [math.comb(n1, x) * math.comb(n2, n - x) for x in range(lo, hi + 1)]


def _weights_float(n1: int, n2: int, n: int, lo: int, hi: int, mode: int) -> list[Any]:
    """The probabilities of x = lo..hi relative to the mode's (1.0), by the ratio of each
    to the next, walking out from the mode; 0.0 where they are below a double's range
    (the hypergeometric is log-concave: once a term is 0.0, so is every one beyond it)."""
    w = [0.0] * (hi - lo + 1)
    w[mode - lo] = v = 1.0
    for x in range(mode, hi):                  # p(x + 1) / p(x)
        v *= (n1 - x) * (n - x) / ((x + 1) * (n2 - n + x + 1))
        if v == 0.0:
            break
        w[x + 1 - lo] = v
    v = 1.0
    for x in range(mode, lo, -1):              # p(x - 1) / p(x)
        v *= x * (n2 - n + x) / ((n1 - x + 1) * (n - x + 1))
        if v == 0.0:
            break
        w[x - 1 - lo] = v
    return w


def ratio_text(value: Decimal) -> str:
    return f"{value:.2f}"


COLUMNS = ("eq_baseline_posts", "eq_at_risk_posts", "eq_retained_posts", "retention_rate",
            "retention_ratio", "below_four_fifths", "fisher_p")


def cell_text(key: str, value: Any) -> str:
    """An equality figure for people: [c] as it is, ratios to 2 places, p to 4 figures."""
    if value is None:
        return "–"
    if value == MARKER:
        return MARKER
    if key == "below_four_fifths":
        return "FLAG" if value else ""
    if key == "retention_ratio":
        return ratio_text(value)
    if key == "fisher_p":
        return "<0.0001" if value < Decimal("0.0001") else f"{value:f}"
    return measures.text(key, value)


def equality_header() -> list[str]:
    return ["Group", "Occupied", "At risk", "Kept", "Retention", "Ratio to best",
            "Under 0.8", "Fisher p"]


def characteristics_of(report: Report) -> list[str]:
    """The characteristics `equality` compares for this report: part-time working, and each
    optional column the file has."""
    return [PART_TIME] + [f for f in schema.EQUALITY_FIELDS
                          if f in report.extra and report.private is not None]


def equality(report: Report, rule: EqualityRule = PROTECT_ALL) -> Equality:
    """The equality impact of a valid report, small counts hidden as `rule` says (by
    default, of every characteristic at `EQUALITY_THRESHOLD`).  Raises `InvalidData` if
    the report has errors."""
    if not report.valid:
        raise InvalidData(report, f"{report.workbook.name} has "
                                  f"{len(report.findings.errors)} error(s); fix them first")
    if not report.has_posts:
        raise PostsNotGiven(f"{report.workbook.name} has no Posts column, so the posts on each "
                            f"row are not known and no group can be counted; add a Posts "
                            f"column")
    posts = report.posts
    status = posts["status"].to_numpy()
    vacant = posts["vacant"].to_numpy(dtype=object).astype(bool)
    count = posts["posts"].to_numpy(dtype=np.int64)
    fte = posts["fte"].to_numpy(dtype=np.int64)
    occupied = np.isin(status, measures.BASELINE_STATUSES) & ~vacant
    deleted = status == "deleted"
    notes = []
    if rule.kept == RETAINED:
        relocated = occupied & (status == "relocated")
        occupied = occupied & ~relocated
        moved = int(count[relocated].sum())
        notes.append(f"Kept means retained: {moved:,} occupied post"
                     f"{'s' if moved != 1 else ''} relocated to another service "
                     f"{'are' if moved != 1 else 'is'} left out of every table.")
    if not report.has_vacant:
        notes.append("The file does not say which posts are vacant, so every post is "
                     "counted as occupied.")
    out = []
    # part-time, from FTE
    full, certain = part_time_split(fte, count)
    use = occupied & certain
    groups = [Group("Full-time", int(full[use].sum()), int(full[use & deleted].sum())),
              Group("Part-time", int((count - full)[use].sum()),
                    int((count - full)[use & deleted].sum()))]
    pt = _characteristic(PART_TIME, groups, rule)
    left_out = pt.left_out = int(count[occupied & ~certain].sum())
    if left_out:
        pt.notes.append(f"{left_out:,} occupied posts on grouped rows are left out: their FTE "
                        f"could be split between full-time and part-time posts in more than "
                        f"one way.")
    out.append(pt)
    private = report.private
    for fld in characteristics_of(report)[1:]:
        assert private is not None           # characteristics_of: a file with the column
        values = private[fld].to_numpy(dtype=object)
        labels = np.where(values == "", NOT_RECORDED, values)
        groups = []
        for label in sorted(set(labels[occupied].tolist()), key=natural):
            mine = occupied & (labels == label)
            groups.append(Group(str(label), int(count[mine].sum()),
                                int(count[mine & deleted].sum())))
        out.append(_characteristic(fld, groups, rule))
    if len(out) == 1:
        notes.append("No Sex, Age band, Ethnicity, Disability or Working pattern column: "
                     "only full-time and part-time working, worked out from FTE, can be "
                     "compared. Most part-time workers are women, so a part-time flag is "
                     "also a sex-discrimination warning.")
    return Equality(report.source, rule, out, notes)


def _characteristic(key: str, groups: list[Group], rule: EqualityRule) -> Characteristic:
    c = Characteristic(key, CHARACTERISTICS[key], [g for g in groups if g.baseline > 0],
                       rule=rule.said(key))
    hidden = c.hidden = (_hide(key, c.groups, rule.threshold, c) if rule.protects(key)
                         else set())
    total_b = sum(g.baseline for g in c.groups)
    total_a = sum(g.at_risk for g in c.groups)
    shown_rate = {g.label: _rate(g) for g in c.groups
                  if not hidden & {(g.label, "b"), (g.label, "a"), (g.label, "r")}}
    best = max(shown_rate.values(), default=None)
    c.reference = next((label for label, r in shown_rate.items() if r == best), None)
    for g in c.groups:
        row: dict[str, Any] = {"group": g.label}
        for name, short, value in (("eq_baseline_posts", "b", g.baseline),
                                   ("eq_at_risk_posts", "a", g.at_risk),
                                   ("eq_retained_posts", "r", g.kept)):
            row[name] = MARKER if (g.label, short) in hidden else value
        if g.label not in shown_rate:
            row.update({"retention_rate": MARKER, "retention_ratio": MARKER,
                        "below_four_fifths": MARKER, "fisher_p": MARKER})
            c.rows.append(row)
            continue
        rate = shown_rate[g.label]
        row["retention_rate"] = percent(g.kept, g.baseline)
        if best:
            ratio = rate / best
            row["retention_ratio"] = Decimal(ratio.numerator) / Decimal(ratio.denominator)
            row["retention_ratio"] = row["retention_ratio"].quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
            row["below_four_fifths"] = ratio < FOUR_FIFTHS
        else:
            row["retention_ratio"] = None
            row["below_four_fifths"] = False
        others_a, others_k = total_a - g.at_risk, (total_b - total_a) - g.kept
        row["fisher_p"] = (fisher_p(g.at_risk, g.kept, others_a, others_k)
                           if len(c.groups) > 1 else None)
        if row["below_four_fifths"]:
            c.flagged.append(g.label)
        if g.baseline < SMALL_GROUP:
            c.notes.append(f"{g.label}: too few posts for the ratio or the test to mean much.")
        c.rows.append(row)
    c.total = {"group": "Total", "eq_baseline_posts": total_b, "eq_at_risk_posts": total_a,
               "eq_retained_posts": total_b - total_a,
               "retention_rate": percent(total_b - total_a, total_b)}
    for name, short in (("eq_baseline_posts", "b"), ("eq_at_risk_posts", "a"),
                        ("eq_retained_posts", "r")):
        if ("\0total", short) in hidden:
            c.total[name] = c.total["retention_rate"] = MARKER
    if best is not None and len(shown_rate) < len(c.groups):
        c.notes.append("Groups with a hidden count have no rate or ratio shown; the ratio is "
                       "to the best-retained group whose counts are shown.")
    if total_a == 0:
        c.notes.append("No occupied post is deleted, so there is nothing to compare.")
    for label in c.flagged:
        row = next(r for r in c.rows if r["group"] == label)
        p = row["fisher_p"]
        chance = (" The difference could well be chance (Fisher's p is 0.05 or more)."
                  if p is not None and p >= Decimal("0.05") else "")
        c.notes.append(f"{label}: retention is under four-fifths of the best-retained "
                       f"group's (ratio {ratio_text(row['retention_ratio'])}).{chance}")
    return c


def _rate(g: Group) -> Fraction:
    return Fraction(g.kept, g.baseline)


def _hide(key: str, groups: list[Group], threshold: int, c: Characteristic) -> set:
    """The (group, b/a/r) counts to hide, from the privacy module's audit."""
    values: dict[tuple, int] = {}
    equations: list[tuple] = []
    for g in groups:
        values[(g.label, "b")], values[(g.label, "a")], values[(g.label, "r")] = \
            g.baseline, g.at_risk, g.kept
        equations.append(((g.label, "b"), (g.label, "a"), (g.label, "r")))
    totals = {s: ("\0total", s) for s in "bar"}
    for s, k in totals.items():
        values[k] = sum(values[(g.label, s)] for g in groups)
        equations.append((k, *[(g.label, s) for g in groups]))
    equations.append((totals["b"], totals["a"], totals["r"]))
    units = {k: measures.POSTS for k in values}
    links = Links(values=values, units=units, shown=set(values), equations=equations,
                  keep=set(totals.values()))
    try:
        hidden = set(protect(links, threshold).hidden)
    except Unpublishable:
        c.notes.append("Every group is hidden: no safe pattern of hidden counts exists.")
        return {k for k in values if k[0] != "\0total"}
    return hidden
