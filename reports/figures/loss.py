"""Information loss: what a public output gives up to keep its promise (issue 23).

Worked out from an output's figures alone (every figure's value, the ones it shows, the
ones it hides, and any groups merged before suppression), so that any output with
figures keyed as a briefing's are (`("team", name, "deleted_fte")`, `("loc", site,
"deleted_fte")`, `("total", "deleted_fte")`) can be measured the same way:

- figures **published** (shown as a number), **hidden** (shown as `[c]`) and **merged**
  (recoded into a wider group before suppression: none until recoding lands);
- the **deleted FTE visible by team** and **by site**: the sum of the teams' (sites')
  published deleted FTE, as a share of the whole file's deleted FTE.  A merged group's
  row ("other teams") is not a team's, so it is counted apart, as `merged_fte`.

Sums are exact (`Decimal`); a share is a `Decimal` quotient to 28 significant digits.

The share needs the whole file's deleted FTE.  When the output hides that total, the
share and the total would give it away, so `as_json(public=True)` (the form for an
output anyone may download) leaves both out and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Key = tuple   # a figure, e.g. ("team", "Early Help", "deleted_fte")

TOTAL_DELETED: Key = ("total", "deleted_fte")
KINDS = {"team": "by team", "loc": "by site"}


@dataclass(frozen=True)
class Visible:
    """The deleted FTE of one kind of group (teams or sites) an output lets a reader see."""

    kind: str              # "team" or "loc"
    groups: int            # groups with a deleted FTE figure (merged ones not counted)
    shown: int             # ... whose deleted FTE is published as a number
    hidden: int            # ... whose deleted FTE is hidden
    visible_fte: Decimal   # the sum of the published ones
    merged_fte: Decimal    # the deleted FTE of merged rows ("other teams"), if published
    total_fte: Decimal     # the whole file's deleted FTE

    @property
    def share(self) -> Decimal | None:
        """visible_fte / total_fte; None when nothing is deleted."""
        if self.total_fte == 0:
            return None
        return self.visible_fte / self.total_fte


@dataclass(frozen=True)
class Loss:
    published: int
    hidden: int
    merged: int
    total_hidden: bool     # the output hides the whole file's deleted FTE
    by: dict[str, Visible]  # "team", "loc" -> what is visible

    def text(self) -> str:
        """One line for `--show-audit`."""
        parts = [f"{self.published:,} figures published, {self.hidden:,} hidden, "
                 f"{self.merged:,} merged"]
        for kind, v in self.by.items():
            if not v.groups:
                continue
            share = v.share
            pct = "n/a" if share is None else f"{_pct(share)}%"
            parts.append(f"deleted FTE visible {KINDS[kind]} {pct} "
                         f"({_fte(v.visible_fte)} of {_fte(v.total_fte)} FTE; "
                         f"{v.shown:,} of {v.groups:,} "
                         f"{'teams' if kind == 'team' else 'sites'} shown)")
        return "; ".join(parts) + "."

    def as_json(self, public: bool = False) -> dict[str, Any]:
        """The loss as JSON-ready values (numbers as strings: exact).  With `public`, a
        share (and the total) is left out when the output hides the total it needs."""
        withhold = public and self.total_hidden
        out: dict[str, Any] = {"figures_published": self.published,
                               "figures_hidden": self.hidden,
                               "figures_merged": self.merged}
        for kind, v in self.by.items():
            share = v.share
            out["deleted_fte_" + KINDS[kind].replace(" ", "_")] = {
                "groups": v.groups, "shown": v.shown, "hidden": v.hidden,
                "visible_fte": str(v.visible_fte),
                "merged_fte": str(v.merged_fte),
                "total_fte": None if withhold else str(v.total_fte),
                "share": None if withhold or share is None else str(share),
            }
        if withhold:
            out["note"] = ("the whole file's deleted FTE is hidden, so its share is not "
                           "given: it would reveal the total")
        return out


def information_loss(values: Mapping[Key, Any], shown: set[Key] | frozenset[Key],
                     hidden: Mapping[Key, Any] | set[Key],
                     recoded: Mapping[Key, Key] | None = None) -> Loss:
    """The information an output's suppression (and recoding) costs.

    `values`: every figure the output could show; `shown`: the ones it shows; `hidden`:
    the ones of those it hides (`[c]`).  `recoded` maps each figure of the original
    table that was merged into a wider group to the merged group's figure (e.g.
    `("team", "Small team", "deleted_fte") -> ("team", "other teams", "deleted_fte")`).
    """
    recoded = recoded or {}
    merged_into = set(recoded.values())
    hidden_keys = set(hidden)
    present = {k for k in shown if k in values}
    published = present - hidden_keys
    total = Decimal(values.get(TOTAL_DELETED, 0) or 0)
    by = {}
    for kind in KINDS:
        rows = [k for k in values if len(k) == 3 and k[0] == kind and k[2] == "deleted_fte"]
        own = [k for k in rows if k not in merged_into]
        shown_rows = [k for k in own if k in published]
        by[kind] = Visible(
            kind=kind, groups=len(own), shown=len(shown_rows),
            hidden=sum(1 for k in own if k in present and k in hidden_keys),
            visible_fte=sum((Decimal(values[k]) for k in shown_rows), Decimal(0)),
            merged_fte=sum((Decimal(values[k]) for k in rows
                            if k in merged_into and k in published), Decimal(0)),
            total_fte=total)
    return Loss(published=len(published), hidden=len(present & hidden_keys),
                merged=len(recoded), total_hidden=TOTAL_DELETED in hidden_keys, by=by)


def _pct(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'))}"


def _fte(value: Decimal) -> str:
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
