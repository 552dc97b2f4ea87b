"""What changed between two versions of a post schedule.

`compare(old, new)` matches the posts of two validated reports and reports
posts added and removed; posts whose status, FTE, destination, number of
posts or vacancy changed; the change in every total, by team and by grade;
and a one-line headline.  Pure functions over the project's own types: no
store, no files.

Posts are matched by Post ID when every post in both versions has one.
Otherwise they are matched on team + title + grade + location (the n-th such
post in one version with the n-th in the other), and the comparison says so:
that match is weaker, because a post whose title or grade changed shows up
as one removed and one added.

FTE stays in whole millionths until it is shown, so every change is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..intake.rules import Report
from ..model import measures
from ..model.formats import fmt_number, fte_value, jsonable, natural
from .totals import Summary, summarise

MATCH_ID = "post_id"
MATCH_FIELDS = ("team", "title", "grade", "location")
MATCH_COMPOSITE = "+".join(MATCH_FIELDS)

# Per-post changes, in the order they are reported.
CHANGE_KINDS = ("status", "fte", "destination", "posts", "vacant")
CHANGE_TITLES = {"added": "Posts added", "removed": "Posts removed",
                 "status": "Status changed", "fte": "FTE changed",
                 "destination": "Destination changed", "posts": "Number of posts changed",
                 "vacant": "Vacancy changed"}

GROUP_KEYS = ("baseline_fte", "deleted_fte", "retained_fte", "relocated_fte", "created_fte",
              "future_fte", "baseline_posts", "deleted_posts", "at_risk_fte", "at_risk_posts")


@dataclass(frozen=True)
class Post:
    """One row of a schedule, as a comparison shows it.  `fte` is whole millionths."""

    sheet: str
    row: int
    post_id: str
    team: str
    title: str
    grade: str
    location: str
    status: str
    fte: int
    posts: int
    destination: str
    vacant: bool | None

    @property
    def fte_decimal(self) -> Decimal:
        return fte_value(self.fte)

    def describe(self) -> str:
        """'EH-0012 Family Support Worker (Family Support, Grade 6, Buxton)'."""
        where = ", ".join(x for x in (self.team, self.grade, self.location) if x)
        name = f"{self.post_id} {self.title}" if self.post_id else self.title
        return f"{name} ({where})"

    def to_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "row": self.row, "post_id": self.post_id,
                "team": self.team, "title": self.title, "grade": self.grade,
                "location": self.location, "status": self.status, "fte": self.fte_decimal,
                "posts": self.posts, "destination": self.destination, "vacant": self.vacant}


@dataclass(frozen=True)
class PostChange:
    """A post in both versions, with what changed about it."""

    old: Post
    new: Post
    changes: tuple[str, ...]

    @property
    def fte_change(self) -> Decimal:
        return fte_value(self.new.fte - self.old.fte)

    def to_dict(self) -> dict[str, Any]:
        return {"changes": list(self.changes), "old": self.old.to_dict(),
                "new": self.new.to_dict()}


@dataclass(frozen=True)
class Change:
    """One figure in both versions: a total, or a group's total."""

    key: str
    old: Any
    new: Any

    @property
    def change(self) -> Any:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "old": self.old, "new": self.new, "change": self.change}


@dataclass
class GroupChange:
    """A team's (or grade's) figures in both versions; a side is None where it is absent."""

    label: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    def changes(self, keys: Iterable[str]) -> list[Change]:
        out = []
        for k in keys:
            o = _figure(self.old, k)
            n = _figure(self.new, k)
            if o is None and n is None:
                continue
            out.append(Change(k, o, n))
        return out

    @property
    def changed(self) -> bool:
        return any(c.change != 0 for c in self.changes(GROUP_KEYS) if c.change is not None)


@dataclass
class Comparison:
    """Everything `impact compare` reports."""

    old_label: str                 # "version 2 (12 March 2024)" or "old.xlsx"
    new_label: str
    old_source: dict[str, Any]
    new_source: dict[str, Any]
    match: str                     # MATCH_ID or MATCH_COMPOSITE
    match_note: str
    added: list[Post]
    removed: list[Post]
    changed: list[PostChange]
    totals: list[Change]
    by_team: list[GroupChange]
    by_grade: list[GroupChange]
    has_vacant: bool
    has_cost: bool
    headline: str = ""
    notes: list[str] = field(default_factory=list)

    def posts_with(self, kind: str) -> list[PostChange]:
        return [c for c in self.changed if kind in c.changes]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed) and \
            all(c.change in (0, None) for c in self.totals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "old": {"label": self.old_label, "source": self.old_source},
            "new": {"label": self.new_label, "source": self.new_source},
            "matched_on": self.match,
            "match_note": self.match_note,
            "counts": {"added": len(self.added), "removed": len(self.removed),
                       **{k: len(self.posts_with(k)) for k in CHANGE_KINDS}},
            "added": [p.to_dict() for p in self.added],
            "removed": [p.to_dict() for p in self.removed],
            "changed": [c.to_dict() for c in self.changed],
            "totals": [c.to_dict() for c in self.totals],
            "by_team": [_group_dict("team", g) for g in self.by_team],
            "by_grade": [_group_dict("grade", g) for g in self.by_grade],
            "notes": self.notes,
        }


# --------------------------------------------------------------------------
# comparing


def compare(old: Report, new: Report, *, old_label: str | None = None,
            new_label: str | None = None, old_summary: Summary | None = None,
            new_summary: Summary | None = None) -> Comparison:
    """Compare two valid reports.  Raises `InvalidData` (from `summarise`) if either is not."""
    old_summary = old_summary or summarise(old)
    new_summary = new_summary or summarise(new)
    old_posts, new_posts = posts_of(old), posts_of(new)
    match, note = _match_method(old_posts, new_posts)
    pairs, removed, added = _pair(old_posts, new_posts, match)
    changed = []
    for o, n in pairs:
        kinds = _differences(o, n)
        if kinds:
            changed.append(PostChange(o, n, kinds))
    has_vacant = old.has_vacant and new.has_vacant
    has_cost = old.has_cost and new.has_cost
    keys = [k for k in dict.fromkeys([*old_summary.totals, *new_summary.totals])]
    totals = [Change(k, old_summary.totals.get(k), new_summary.totals.get(k)) for k in keys]
    result = Comparison(
        old_label=old_label or old.workbook.name, new_label=new_label or new.workbook.name,
        old_source=old.source, new_source=new.source, match=match, match_note=note,
        added=added, removed=removed, changed=changed, totals=totals,
        by_team=_groups(old_summary, new_summary, "by_team", "team"),
        by_grade=_groups(old_summary, new_summary, "by_grade", "grade"),
        has_vacant=has_vacant, has_cost=has_cost)
    if old.has_vacant != new.has_vacant:
        result.notes.append("Only one version says which posts are vacant, so changes in "
                            "at-risk figures are not reported.")
    if old.has_cost != new.has_cost:
        result.notes.append("Only one version has annual costs, so cost changes are not "
                            "reported.")
    result.headline = headline(old_summary.totals, new_summary.totals, result.old_label)
    return result


def posts_of(report: Report) -> list[Post]:
    frame = report.posts
    cols = {c: frame[c].tolist() for c in frame.columns}
    out = []
    for i in range(len(frame)):
        vacant = cols["vacant"][i]
        out.append(Post(sheet=str(cols["sheet"][i]), row=int(cols["row"][i]),
                        post_id=str(cols["post_id"][i]).strip(), team=str(cols["team"][i]),
                        title=str(cols["title"][i]), grade=str(cols["grade"][i]),
                        location=str(cols["location"][i]), status=str(cols["status"][i]),
                        fte=int(cols["fte"][i]), posts=int(cols["posts"][i]),
                        destination=str(cols["destination"][i]).strip(),
                        vacant=vacant if isinstance(vacant, bool) else None))
    return out


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _match_method(old: Sequence[Post], new: Sequence[Post]) -> tuple[str, str]:
    missing = [(label, sum(1 for p in posts if not p.post_id))
               for label, posts in (("the old version", old), ("the new version", new))]
    if all(n == 0 for _, n in missing):
        return MATCH_ID, "Posts are matched by Post ID."
    why = "; ".join(f"{n:,} post row(s) in {label} have no Post ID"
                    for label, n in missing if n) if any(n < len(p) for (_, n), p in
                                                         zip(missing, (old, new))) else \
        "the schedules have no Post ID column"
    return MATCH_COMPOSITE, (
        f"Posts are matched on team + title + grade + location, because {why}. This match is "
        f"weaker than a Post ID: a post whose team, title, grade or location changed shows as "
        f"one post removed and one added, and identical posts are paired in the order they "
        f"appear. Give every post an ID for an exact comparison.")


def _key(post: Post, match: str) -> tuple[str, ...]:
    if match == MATCH_ID:
        return (_norm(post.post_id),)
    return tuple(_norm(getattr(post, f)) for f in MATCH_FIELDS)


def _pair(old: Sequence[Post], new: Sequence[Post],
          match: str) -> tuple[list[tuple[Post, Post]], list[Post], list[Post]]:
    pending: dict[tuple[str, ...], list[Post]] = defaultdict(list)
    for p in old:
        pending[_key(p, match)].append(p)
    for queue in pending.values():
        queue.reverse()                # pop() takes them in file order
    pairs, added = [], []
    for p in new:
        waiting = pending.get(_key(p, match))
        if waiting:
            pairs.append((waiting.pop(), p))
        else:
            added.append(p)
    matched = {id(o) for o, _ in pairs}
    removed = [p for p in old if id(p) not in matched]
    return pairs, removed, added


def _destination(post: Post) -> str:
    return post.destination if post.status == "relocated" else ""


def _differences(old: Post, new: Post) -> tuple[str, ...]:
    kinds = []
    if old.status != new.status:
        kinds.append("status")
    if old.fte != new.fte:
        kinds.append("fte")
    if _norm(_destination(old)) != _norm(_destination(new)):
        kinds.append("destination")
    if old.posts != new.posts:
        kinds.append("posts")
    if old.vacant is not None and new.vacant is not None and old.vacant != new.vacant:
        kinds.append("vacant")
    return tuple(kinds)


def _figure(row: dict[str, Any] | None, key: str) -> Any:
    if row is None:
        return 0 if key.endswith("_posts") else Decimal(0) if key in GROUP_KEYS else None
    return row.get(key)


def _groups(old: Summary, new: Summary, name: str, col: str) -> list[GroupChange]:
    olds = {g[col]: g for g in old.groups.get(name, [])}
    news = {g[col]: g for g in new.groups.get(name, [])}
    labels = sorted(set(olds) | set(news), key=natural)
    return [GroupChange(label, olds.get(label), news.get(label)) for label in labels]


# --------------------------------------------------------------------------
# the headline


def headline(old_totals: dict[str, Any], new_totals: dict[str, Any], since: str) -> str:
    """'Since version 2 (12 March 2024): deleted FTE up 4.5 to 132.5; 3 more posts at risk'."""
    return f"Since {since}: {change_phrase(old_totals, new_totals)}"


def change_phrase(old: dict[str, Any], new: dict[str, Any]) -> str:
    """'deleted FTE up 4.5 to 132.5; 3 more posts at risk' from two sets of totals."""
    o, n = old["deleted_fte"], new["deleted_fte"]
    diff = n - o
    if diff > 0:
        fte = f"deleted FTE up {fmt_number(diff)} to {fmt_number(n)}"
    elif diff < 0:
        fte = f"deleted FTE down {fmt_number(-diff)} to {fmt_number(n)}"
    else:
        fte = f"deleted FTE unchanged at {fmt_number(n)}"
    if "at_risk_posts" in old and "at_risk_posts" in new:
        key, what = "at_risk_posts", "at risk"
    else:
        key, what = "deleted_posts", "proposed for deletion"
    if new.get(key) is None or old.get(key) is None:
        return f"{fte}; posts not given"          # a file with no Posts column
    d = new[key] - old[key]
    noun = "post" if abs(d) == 1 else "posts"
    if d > 0:
        posts = f"{d:,} more {noun} {what}"
    elif d < 0:
        posts = f"{-d:,} fewer {noun} {what}"
    else:
        posts = f"no change in posts {what} ({new[key]:,})"
    return f"{fte}; {posts}"


# --------------------------------------------------------------------------
# post changes in words


def figure_text(key: str, value: Any, signed: bool = False) -> str:
    """A figure or, `signed`, a change in it (+3, -£19,507.50, +1.4 pts)."""
    if value is None:
        return "–"
    if isinstance(value, str):         # a marker: hidden
        return value
    sign = "+" if signed and value > 0 else ""
    if measures.unit_of(key) == measures.PERCENT:
        return f"{sign}{value}" + (" pts" if signed else "%")
    return sign + measures.text(key, value)


def _fte(n: int) -> str:
    return fmt_number(fte_value(n))


def _post_line(c: PostChange) -> str:
    bits = []
    for kind in c.changes:
        if kind == "status":
            bits.append(f"{c.old.status} → {c.new.status}")
        elif kind == "fte":
            bits.append(f"FTE {_fte(c.old.fte)} → {_fte(c.new.fte)}")
        elif kind == "destination":
            bits.append(f"destination {_destination(c.old) or '(none)'} → "
                        f"{_destination(c.new) or '(none)'}")
        elif kind == "posts":
            bits.append(f"posts {c.old.posts} → {c.new.posts}")
        elif kind == "vacant":
            bits.append("now vacant" if c.new.vacant else "now occupied")
    return f"{c.new.describe()}: {'; '.join(bits)}"


def _plain_post(p: Post) -> str:
    extra = f", {p.posts} posts" if p.posts != 1 else ""
    return f"{p.describe()}: {p.status}, FTE {_fte(p.fte)}{extra}"


def post_lines(comparison: Comparison,
               limit: int | None = None) -> list[tuple[str, int, list[str]]]:
    """(section title, number of posts, lines) for each kind of post change that has any.

    A post with several changes is listed once, under its first kind (status first).
    """
    sections: list[tuple[str, list[str]]] = []
    seen: set[int] = set()
    for kind in CHANGE_KINDS:
        items = [c for c in comparison.posts_with(kind) if id(c) not in seen]
        seen.update(id(c) for c in items)
        if items:
            sections.append((CHANGE_TITLES[kind], [_post_line(c) for c in items]))
    if comparison.added:
        sections.append((CHANGE_TITLES["added"], [_plain_post(p) for p in comparison.added]))
    if comparison.removed:
        sections.append((CHANGE_TITLES["removed"],
                         [_plain_post(p) for p in comparison.removed]))
    return [(t, len(lines), lines if limit is None or len(lines) <= limit else
             lines[:limit] + [f"… and {len(lines) - limit:,} more"]) for t, lines in sections]


def group_keys(c: Comparison) -> list[str]:
    """The group figures a comparison's CSV lists: at-risk ones only when both have them."""
    return [k for k in GROUP_KEYS if c.has_vacant or not k.startswith("at_risk")]


def _group_dict(col: str, g: GroupChange) -> dict[str, Any]:
    return {col: g.label,
            "old": None if g.old is None else jsonable({k: v for k, v in g.old.items()
                                                        if k != col}),
            "new": None if g.new is None else jsonable({k: v for k, v in g.new.items()
                                                        if k != col}),
            "change": {ch.key: ch.change for ch in g.changes(GROUP_KEYS)
                       if ch.change is not None}}


# --------------------------------------------------------------------------
# the "What changed" section of a PDF briefing


