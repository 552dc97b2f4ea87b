"""Everything published before: a new public output is audited together with it.

Each public output of a version releases figures: the ones it shows as numbers, and the
ones it hides.  A reader who keeps every output can set them side by side, so a new
output's pattern of hidden figures is chosen over the union of all releases of its
dataset (`union`), as one linear program:

- every earlier release's figures are there (their keys prefixed by the release), with
  their own relations; the ones it published are known and can never be hidden again
  (`Links.fixed`), the ones it hid stay hidden and are audited again (`sensitive`);
- a figure of the new output with the same value as in an earlier release is taken as
  unchanged (a reader may assume it): it is one variable in both; if the earlier release
  published it, the new output publishes it too (it stays published), and if it hid it,
  the new output hides it too (the room that protected it is kept, so an unchanged
  part of the schedule keeps its pattern from version to version);
- a figure an earlier release published whose value changed by a *sensitive change*
  is hidden in the new output and audited, so that the change cannot be narrowed below
  the threshold.  Money is the sensitive kind: a cost, at any level, that moves with
  the count of its posts moving by fewer than the threshold (or not at all) is hidden,
  since a total cost that moves by one post's cost is that person's pay.  Counts and
  FTE may move by any amount: the whole file's is the news, and a group's count of
  posts identifies no one unless the group is small, and a small group's figures are
  hidden in every release and audited together (with the unchanged ones taken as
  unchanged).  A group's change that equals the whole file's (one post moved) could
  not be hidden anyway while the whole file's change is published.

The pattern of a version, once released, is kept (`Prior.own`): every later output of
the same version hides the same figures, so that two outputs of one version never
disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..model import measures
from .privacy import Key, Links, Protection

PREFIX = "@"          # an earlier release's figure: ("@", n, *key)
NOT_CHECKED = ("This public output was made from a file that is not stored, so what was "
               "published before from other versions of it is not known and it was not "
               "checked against them (keep a ledger file of what is published, or upload "
               "the file to the store).")


@dataclass(frozen=True)
class Release:
    """One version's public figures as released: every figure its output could show, the
    relations between them, which it showed, and which of those it hid (with the
    ranges the audit found)."""

    version: str                  # the version's identity (its sha256)
    label: str                    # "version 3", for people
    links: Links
    hidden: frozenset[Key]
    ranges: Mapping[Key, tuple[Decimal, Decimal | None]] = field(default_factory=dict)
    template: str = ""
    primary: int = 0              # hidden for themselves (the rest protect them)

    @property
    def published(self) -> dict[Key, Any]:
        """The figures it showed as numbers."""
        return {k: self.links.values[k] for k in self.links.shown
                if k in self.links.values and k not in self.hidden}


@dataclass(frozen=True)
class Prior:
    """What a new public output is audited with: the earlier releases of its dataset
    (other versions), and this version's own release if it has one (its pattern is
    kept).  `known` is False for a file outside any store or ledger: nothing is known
    of what was released before, and the output says so."""

    releases: tuple[Release, ...] = ()
    own: Release | None = None
    known: bool = True


def release_of(links: Links, hidden: Iterable[Key], protection: Protection, version: str,
               label: str, template: str = "") -> Release:
    """What an output released: its figures, the ones it hid (`hidden`: the audit's and
    any a section hid by its own audit) and its audit."""
    return Release(version, label, links, frozenset(hidden), dict(protection.ranges),
                   template, protection.primary)


def same_figures(a: Links, b: Links) -> bool:
    """Whether two outputs have the same figures with the same values (a release's
    pattern may be kept only for the figures it was chosen for)."""
    return a.shown == b.shown and all(a.values.get(k) == b.values.get(k) for k in a.shown)


def union(links: Links, releases: Sequence[Release], threshold: int) -> Links:
    """`links` (the new output's figures) with every earlier release's, as one problem
    (see the module).  A figure whose value is the same as in the new output (or in a
    later release) is the same variable, not a copy tied to it by old = new: the same
    problem, with as many variables as there are values that changed."""
    values: dict[Key, Any] = dict(links.values)
    units: dict[Key, str] = dict(links.units)
    shown = set(links.shown)
    seen: set[tuple[Any, ...]] = set()
    equations: list[tuple[Key, ...]] = []
    signed: list[list[tuple[Key, int]]] = []

    def relate(eq: Sequence[Key]) -> None:
        t = tuple(eq)
        if t not in seen:
            seen.add(t)
            equations.append(t)

    def relate_signed(eq: Sequence[tuple[Key, int]]) -> None:
        t = ("signed", *eq)
        if t not in seen:
            seen.add(t)
            signed.append(list(eq))

    for eq in links.equations:
        relate(eq)
    for seq in links.signed:
        relate_signed(seq)
    at_most = set(links.at_most)
    follows = {k: list(v) for k, v in links.follows.items()}
    people = dict(links.people)
    sensitive, fixed, prior = set(links.sensitive), set(links.fixed), set(links.prior)
    latest: dict[Key, tuple[Key, Any]] = {}       # a figure -> its variable, its value
    for n, r in reversed(list(enumerate(releases))):    # newest first: aliases go forward
        old = r.links
        var: dict[Key, Key] = {}
        for k, v in old.values.items():
            if k in links.values and links.values[k] == v:
                var[k] = k                        # unchanged since: the new figure itself
            elif k in latest and latest[k][1] == v:
                var[k] = latest[k][0]             # unchanged until a later release
            else:
                var[k] = (PREFIX, n, *k)
                values[var[k]] = v
                units[var[k]] = old.units.get(k, measures.FTE)
                prior.add(var[k])
                if k in old.people:
                    people[var[k]] = old.people[k]
            latest[k] = (var[k], v)
        shown |= {var[k] for k in old.shown if k in old.values}
        for eq in old.equations:
            relate([var[k] for k in eq])
        for seq in old.signed:
            relate_signed([(var[k], c) for k, c in seq])
        at_most |= {(var[f], var[q]) for f, q in old.at_most}
        sensitive |= {var[k] for k in r.hidden if k in old.values}  # stays hidden, audited
        published = r.published
        fixed |= {var[k] for k in published}                      # stays published
        for k in links.shown:
            if k in published and k in links.values and var[k] != k \
                    and sensitive_change(k, links, old, threshold):
                sensitive.add(k)
    sensitive -= fixed                # published before with this value: known already
    return Links(values=values, units=units, shown=shown, equations=equations,
                 signed=signed, at_most=sorted(at_most, key=repr), follows=follows,
                 keep=set(links.keep), dear=set(links.dear), sensitive=sensitive,
                 people=people, fixed=fixed, prior=prior,
                 max_hidden_share=links.max_hidden_share)


def sensitive_change(key: Key, new: Links, old: Links, threshold: int) -> bool:
    """Whether the change in `key` between two releases may not be published (see the
    module): a money figure whose posts moved by fewer than `threshold` (by its counts,
    or, with no count known, always).  Called only for a changed value."""
    if new.units.get(key) != measures.MONEY:
        return False
    counts = [c for c in new.follows.get(key, ()) if new.units.get(c) == measures.POSTS]
    known = [m for m in (_posts_moved(c, new, old) for c in counts) if m is not None]
    return not known or max(known) < threshold


def _posts_moved(key: Key, new: Links, old: Links) -> int | None:
    a, b = _posts(key, new), _posts(key, old)
    return None if a is None or b is None else abs(a - b)


def _posts(key: Key, links: Links) -> int | None:
    """How many posts a figure describes, where known."""
    n = links.people.get(key)
    if n is None and links.units.get(key) == measures.POSTS and \
            links.values.get(key) is not None:
        return int(links.values[key])
    return n


def own_protection(union_links: Links, protection: Protection, links: Links,
                   threshold: int) -> Protection:
    """A union's protection, for the new output's own figures only."""
    hidden = {k: m for k, m in protection.hidden.items() if k not in union_links.prior}
    ranges = {k: r for k, r in protection.ranges.items() if k in hidden}
    primary = sum(1 for k in hidden if links.is_small(k, threshold)
                  or k in union_links.sensitive)
    return Protection(hidden, ranges, threshold, primary)


# -- stored form --------------------------------------------------------------


def to_json(release: Release) -> str:
    """A release as JSON (the publication ledger keeps it): keys as lists, values as
    exact strings."""
    links = release.links

    def key(k: Key) -> list[Any]:
        return list(k)

    return json.dumps({
        "version": release.version, "label": release.label, "template": release.template,
        "primary": release.primary,
        "values": [[key(k), _text(v), links.units.get(k)] for k, v in links.values.items()],
        "shown": [key(k) for k in links.shown if k in links.values],
        "hidden": [key(k) for k in release.hidden],
        "ranges": [[key(k), str(lo), None if hi is None else str(hi)]
                   for k, (lo, hi) in release.ranges.items()],
        "equations": [[key(k) for k in eq] for eq in links.equations],
        "signed": [[[key(k), c] for k, c in eq] for eq in links.signed],
        "at_most": [[key(f), key(p)] for f, p in links.at_most],
        "follows": [[key(m), [key(c) for c in cs]] for m, cs in links.follows.items()],
        "people": [[key(k), n] for k, n in links.people.items()],
    }, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str) -> Release:
    d = json.loads(text)

    def key(k: Iterable[Any]) -> Key:
        return tuple(k)

    values: dict[Key, Any] = {}
    units: dict[Key, str] = {}
    for k, v, unit in d["values"]:
        values[key(k)] = None if v is None else (int(v) if unit == measures.POSTS
                                                 else Decimal(v))
        units[key(k)] = unit
    links = Links(values=values, units=units, shown={key(k) for k in d["shown"]},
                  equations=[tuple(key(k) for k in eq) for eq in d["equations"]],
                  signed=[[(key(k), int(c)) for k, c in eq] for eq in d["signed"]],
                  at_most=[(key(f), key(p)) for f, p in d["at_most"]],
                  follows={key(m): [key(c) for c in cs] for m, cs in d["follows"]},
                  people={key(k): int(n) for k, n in d["people"]})
    ranges = {key(k): (Decimal(lo), None if hi is None else Decimal(hi))
              for k, lo, hi in d["ranges"]}
    return Release(d["version"], d["label"], links, frozenset(key(k) for k in d["hidden"]),
                   ranges, d.get("template", ""), int(d.get("primary", 0)))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
