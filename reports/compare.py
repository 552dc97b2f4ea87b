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

FTE stays in whole hundredths until it is shown, so every change is exact.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tabulate import tabulate

from .export import neutralise, to_json
from .totals import Summary, fmt_money, fmt_number, jsonable, natural, summarise
from .validate import Report

MATCH_ID = "post_id"
MATCH_FIELDS = ("team", "title", "grade", "location")
MATCH_COMPOSITE = "+".join(MATCH_FIELDS)

# Per-post changes, in the order they are reported.
CHANGE_KINDS = ("status", "fte", "destination", "posts", "vacant")
CHANGE_TITLES = {"added": "Posts added", "removed": "Posts removed",
                 "status": "Status changed", "fte": "FTE changed",
                 "destination": "Destination changed", "posts": "Number of posts changed",
                 "vacant": "Vacancy changed"}

# The totals a text comparison shows, with their labels (all of them go to JSON and CSV).
TOTAL_LABELS = {
    "baseline_fte": "Baseline FTE", "deleted_fte": "Deleted FTE",
    "retained_fte": "Retained FTE", "relocated_fte": "Relocated FTE",
    "created_fte": "Created FTE", "future_fte": "Future FTE",
    "pct_deleted": "% of baseline deleted",
    "baseline_posts": "Baseline posts", "deleted_posts": "Deleted posts",
    "retained_posts": "Retained posts", "relocated_posts": "Relocated posts",
    "created_posts": "Created posts", "future_posts": "Future posts",
    "at_risk_fte": "At risk FTE (deleted, occupied)", "at_risk_posts": "At risk posts",
    "vacant_deleted_fte": "Vacant deleted FTE", "vacant_deleted_posts": "Vacant deleted posts",
    "deleted_cost": "Annual cost of deleted posts", "created_cost": "Annual cost of new posts",
    "net_saving": "Net saving a year",
}
GROUP_KEYS = ("baseline_fte", "deleted_fte", "retained_fte", "relocated_fte", "created_fte",
              "future_fte", "baseline_posts", "deleted_posts", "at_risk_fte", "at_risk_posts")


@dataclass(frozen=True)
class Post:
    """One row of a schedule, as a comparison shows it.  `fte` is whole hundredths."""

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
        return Decimal(self.fte).scaleb(-2)

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
        return Decimal(self.new.fte - self.old.fte).scaleb(-2)

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


def _amount(value: Any) -> str:
    return fmt_number(value)


def headline(old_totals: dict[str, Any], new_totals: dict[str, Any], since: str) -> str:
    """'Since version 2 (12 March 2024): deleted FTE up 4.5 to 132.5; 3 more posts at risk'."""
    return f"Since {since}: {change_phrase(old_totals, new_totals)}"


def change_phrase(old: dict[str, Any], new: dict[str, Any]) -> str:
    """'deleted FTE up 4.5 to 132.5; 3 more posts at risk' from two sets of totals."""
    o, n = old["deleted_fte"], new["deleted_fte"]
    diff = n - o
    if diff > 0:
        fte = f"deleted FTE up {_amount(diff)} to {_amount(n)}"
    elif diff < 0:
        fte = f"deleted FTE down {_amount(-diff)} to {_amount(n)}"
    else:
        fte = f"deleted FTE unchanged at {_amount(n)}"
    if "at_risk_posts" in old and "at_risk_posts" in new:
        key, what = "at_risk_posts", "at risk"
    else:
        key, what = "deleted_posts", "proposed for deletion"
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
# output


def _fmt(key: str, value: Any, signed: bool = False) -> str:
    if value is None:
        return "–"
    sign = "+" if signed and value > 0 else ""
    if key.endswith("_cost") or key == "net_saving":
        return sign + fmt_money(value)
    if key == "pct_deleted":
        return f"{sign}{value}" + (" pts" if signed else "%")
    return sign + fmt_number(value)


def _fte(hundredths: int) -> str:
    return fmt_number(Decimal(hundredths).scaleb(-2))


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


def comparison_text(c: Comparison, *, limit: int = 200) -> str:
    """For a terminal."""
    out = [c.headline + ".", "", _side("Old", c.old_label, c.old_source),
           _side("New", c.new_label, c.new_source), c.match_note]
    out += c.notes
    counts = [f"{len(c.posts_with(k)):,} {CHANGE_TITLES[k].lower()}" for k in CHANGE_KINDS
              if c.posts_with(k)]
    counts += [f"{len(c.added):,} added"] if c.added else []
    counts += [f"{len(c.removed):,} removed"] if c.removed else []
    out += ["", "Posts: " + (", ".join(counts) if counts else "no post changed") + "."]
    for title, count, lines in post_lines(c, limit):
        out += ["", f"{title} ({count:,})"]
        out += [f"  {line}" for line in lines]
    by_key = {t.key: t for t in c.totals}
    rows = [[label, _fmt(k, by_key[k].old), _fmt(k, by_key[k].new),
             _fmt(k, by_key[k].change, signed=True) if by_key[k].change else ""]
            for k, label in TOTAL_LABELS.items() if k in by_key]
    out += ["", tabulate(rows, headers=["Totals", "Old", "New", "Change"], tablefmt="simple",
                         colalign=("left", "right", "right", "right"), disable_numparse=True)]
    for title, col, groups in (("By team", "Team", c.by_team), ("By grade", "Grade", c.by_grade)):
        changed = [g for g in groups if g.changed]
        out += ["", f"{title}: " + (f"{len(changed):,} of {len(groups):,} changed"
                                    if changed else "no change")]
        if not changed:
            continue
        keys = [k for k in ("baseline_fte", "deleted_fte", "at_risk_fte", "future_fte")
                if k != "at_risk_fte" or c.has_vacant]
        body = []
        for g in changed:
            row = [g.label]
            for ch in g.changes(keys):
                row.append(f"{_fmt(ch.key, ch.old)} → {_fmt(ch.key, ch.new)}"
                           + (f" ({_fmt(ch.key, ch.change, signed=True)})" if ch.change else ""))
            body.append(row)
        out.append(tabulate(body, headers=[col] + [TOTAL_LABELS[k] for k in keys],
                            tablefmt="simple", disable_numparse=True))
    return "\n".join(out) + "\n"


def _side(which: str, label: str, source: dict[str, Any]) -> str:
    name = source["file"] if label == source["file"] else f"{label}: {source['file']}"
    return f"{which}: {name} (sha256 {source['sha256'][:12]}…)"


def comparison_json(c: Comparison) -> str:
    return to_json(c.to_dict())


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return neutralise(value)


POST_CSV_FIELDS = ("post_id", "team", "title", "grade", "location", "status", "fte", "posts",
                   "destination", "vacant", "sheet", "row")


def comparison_csv(c: Comparison) -> str:
    """Tables under '# name' lines, as `impact summary --format csv` writes them:
    posts (one row per post that changed, was added or was removed), totals,
    by_team and by_grade (one row per group and figure)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["# headline"])
    w.writerow([neutralise(c.headline)])
    w.writerow([])
    w.writerow(["# posts"])
    w.writerow(["change", "matched_on"] + [f"old_{f}" for f in POST_CSV_FIELDS]
               + [f"new_{f}" for f in POST_CSV_FIELDS])
    empty = [""] * len(POST_CSV_FIELDS)

    def cells(p: Post | None) -> list[Any]:
        if p is None:
            return empty
        d = p.to_dict()
        return [_plain(d[f]) for f in POST_CSV_FIELDS]

    for ch in c.changed:
        w.writerow([";".join(ch.changes), c.match] + cells(ch.old) + cells(ch.new))
    for p in c.added:
        w.writerow(["added", c.match] + empty + cells(p))
    for p in c.removed:
        w.writerow(["removed", c.match] + cells(p) + empty)
    w.writerow([])
    w.writerow(["# totals"])
    w.writerow(["key", "old", "new", "change"])
    for t in c.totals:
        w.writerow([t.key, _plain(t.old), _plain(t.new), _plain(t.change)])
    for name, col, groups in (("by_team", "team", c.by_team), ("by_grade", "grade", c.by_grade)):
        w.writerow([])
        w.writerow([f"# {name}"])
        w.writerow([col, "key", "old", "new", "change"])
        for g in groups:
            for fig in g.changes(_group_keys(c)):
                w.writerow([_plain(g.label), fig.key, _plain(fig.old), _plain(fig.new),
                            _plain(fig.change)])
    return buf.getvalue()


def _group_keys(c: Comparison) -> list[str]:
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


BRIEF_TOTALS = ("baseline_fte", "deleted_fte", "deleted_posts", "at_risk_fte", "at_risk_posts",
                "vacant_deleted_fte", "future_fte", "net_saving")


def briefing_section(c: Comparison | None, *, heading: str = "What changed",
                     note: str = "", threshold: int = 0, limit: int = 40) -> Any:
    """A `reports.briefing.Section` for a PDF briefing, placed after its headline.

    `c` None: the section says `note` (e.g. "no earlier version").  With a
    small-number `threshold` (a public briefing), figures under it are shown
    as "<N", a change that would reveal one as "[c]", and no post is listed.
    """
    from .briefing import SECONDARY, Section, Table, Text, clean

    blocks: list[Any] = []
    if c is None:
        blocks.append(Text(clean(note or "There is no earlier version to compare with.", 400)))
        return Section("changes", heading, blocks)
    if note:
        blocks.append(Text(clean(note, 400), "note"))

    def small(key: str, value: Any) -> bool:
        return bool(threshold) and value is not None and not key.endswith(
            ("_cost", "net_saving")) and 0 < abs(value) < threshold

    by_key = {t.key: t for t in c.totals}
    if threshold:
        old, new = ({k: (None if small(k, getattr(t, side)) else getattr(t, side))
                     for k, t in by_key.items()} for side in ("old", "new"))
        if any(v is None for k, v in (*old.items(), *new.items())
               if k in ("deleted_fte", "at_risk_posts", "deleted_posts")):
            blocks.append(Text(clean(f"Since {c.old_label}: the change is not stated here, "
                                     f"because it involves fewer than {threshold} posts or "
                                     f"FTE.", 400), "lead"))
        else:
            blocks.append(Text(clean(c.headline + ".", 400), "lead"))
    else:
        blocks.append(Text(clean(c.headline + ".", 400), "lead"))
    rows = []
    for key in BRIEF_TOTALS:
        t = by_key.get(key)
        if t is None or t.old is None or t.new is None:
            continue
        cells = []
        for v in (t.old, t.new):
            cells.append(f"<{threshold}" if small(key, v) else _fmt(key, v))
        hidden = small(key, t.old) or small(key, t.new)
        cells.append(SECONDARY if hidden and t.change else
                     (_fmt(key, t.change, signed=True) if t.change else "no change"))
        rows.append([TOTAL_LABELS[key]] + cells)
    blocks.append(Table(["Figure", clean(f"Then: {c.old_label}", 80), "Now", "Change"], rows,
                        widths=[2.6, 1.6, 1, 1]))
    if threshold:
        blocks.append(Text("Individual posts are not listed in this briefing, to protect the "
                           "people in them.", "note"))
        return Section("changes", heading, blocks)
    if c.match != MATCH_ID:
        blocks.append(Text(clean(c.match_note, 600), "note"))
    sections = post_lines(c, limit)
    if not sections:
        blocks.append(Text("No post changed: no status, FTE, destination, number of posts or "
                           "vacancy is different, and no post was added or removed."))
    for title, count, lines in sections:
        blocks.append(Text(f"{title} ({count:,})", "subheading"))
        blocks += [Text(clean(line, 300), "bullet") for line in lines]
    return Section("changes", heading, blocks)
