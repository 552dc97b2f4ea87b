"""The public summary: exactly the figures a public briefing publishes, in the summary's shape.

`public_summary` takes the figures of a worked-out public briefing (their values and
which are hidden) and the file's full summary, and keeps for every figure of the
summary either its value (published in the briefing), the marker `[c]` (hidden
there), or None (not published at all).  So the JSON, CSV, xlsx and text of
`impact summary --audience public` publish nothing the public briefing does not,
and hide what it hides.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..figures.compare import Comparison
from ..figures.privacy import HEADLINE_FIGURES, MARKER, Key, hidden_changes
from ..figures.totals import Summary
from .blocks import Briefing, Figures
from .builder import Changes

# summary grouping -> (figure kind, the grouping's label columns)
_KINDS = {"by_team": "team", "by_grade": "grade", "by_destination": "dest",
          "by_location": "loc"}


def public_summary(briefing: Briefing) -> Summary:
    """The summary of a suppressing briefing (its small groups merged as it merged them)
    with every figure it does not show as None, and every figure it hides as "[c]"."""
    assert briefing.summary is not None
    summary, fig = briefing.summary, briefing.figures

    def cell(key: Key, value: Any) -> Any:
        if key not in fig.shown or key not in fig.values:
            return None
        return MARKER if key in fig.hidden else value

    def row(prefix: Key, values: dict[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in values.items():
            if k in skip:
                out[k] = v
            elif k == "pct_deleted":
                d, b = prefix + ("deleted_fte",), prefix + ("baseline_fte",)
                parts = (cell(d, 0), cell(b, 0))
                out[k] = None if None in parts else MARKER if MARKER in parts else v
            else:
                out[k] = cell(prefix + (k,), v)
        return out

    groups: dict[str, list[dict[str, Any]]] = {}
    for name, rows in summary.groups.items():
        if name == "by_team_grade":
            groups[name] = [{**{c: g[c] for c in ("team", "grade")},
                             **{k: (cell(("tg", g["team"], g["grade"]), v)
                                    if k == "deleted_fte" else None)
                                for k, v in g.items() if k not in ("team", "grade")}}
                            for g in rows]
            continue
        kind = _KINDS[name]
        col = {"team": "team", "grade": "grade", "dest": "destination",
               "loc": "location"}[kind]
        groups[name] = [row((kind, g[col]), g, (col,)) for g in rows]
    totals = row(("total",), summary.totals, ())
    recoded = briefing.recoding.to_dict() if briefing.recoding else {}
    return replace(summary, totals=totals, groups=groups, recoded=recoded)


def public_changes(comparison: Comparison, old_fig: Figures, new_fig: Figures,
                   threshold: int) -> dict[str, Any]:
    """What a public output may say about a comparison: each whole-file figure as both
    versions' public releases give it, and its change wherever both are published (a
    sensitive change has one side hidden by the publication ledger's audit); no post,
    team or grade is listed."""
    old_hidden = hidden_totals(old_fig)
    new_hidden = hidden_totals(new_fig)
    figures = [(t.key, t.old, t.new) for t in comparison.totals]
    hidden = hidden_changes(figures, threshold, old_hidden, new_hidden)
    totals = []
    for t in comparison.totals:
        if ("total", t.key) not in new_fig.shown and t.key != "pct_deleted":
            continue
        totals.append({"key": t.key,
                       "old": MARKER if t.key in old_hidden else t.old,
                       "new": MARKER if t.key in new_hidden else t.new,
                       "change": MARKER if t.key in hidden else t.change})
    stated = not hidden & set(HEADLINE_FIGURES)
    headline = comparison.headline if stated else (
        f"Since {comparison.old_label}: small changes are not shown, to protect the people "
        f"in the posts concerned")
    return {"headline": headline,
            "old": {"label": comparison.old_label, "source": comparison.old_source},
            "new": {"label": comparison.new_label, "source": comparison.new_source},
            "totals": totals,
            "notes": ["Only whole-file figures are compared; no post, team or grade is "
                      "listed. A figure is hidden where it, or its change, could identify "
                      f"someone (fewer than {threshold} posts)."]}


def changes_since(comparison: Comparison | None, earlier: Figures | None, note: str = "",
                  heading: str | None = None) -> Changes:
    """What a "What changed" section reports, given what the earlier version's own
    briefing (`earlier`, under the same suppressing template) published and hid."""
    if earlier is None:
        return Changes(comparison, note, heading)
    return Changes(comparison, note, heading, frozenset(hidden_totals(earlier)))


def hidden_totals(fig: Figures) -> set[str]:
    hidden = {k[1] for k in fig.hidden if len(k) == 2 and k[0] == "total"}
    if ("total", "deleted_fte") in fig.hidden or ("total", "baseline_fte") in fig.hidden:
        hidden.add("pct_deleted")
    return hidden
