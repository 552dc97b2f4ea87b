"""Equality impact: each group's retention rate, its ratio to the best-retained group
(flagged under 0.8) and Fisher's exact test, for part-time working and any protected
characteristic the file records.

Which tables are suppressed is the template's equality rule (`Template.equality_rule`,
see `figures.equality`): a union or management briefing shows sex and working pattern
in full and protects special category data; a public one protects every
characteristic, at the template's threshold or `EQUALITY_THRESHOLD`, whichever is
higher.  `figures.equality` audits each protected table on its own (its totals taken
as known to every reader), and the counts it hides are forced hidden in the briefing's
one `Figures` store.  Every count also joins the briefing's own audit, with the relation of each
table's at-risk column to the whole file's, so that for a public briefing neither
can reveal what the other hides.  Rates, ratios and p-values are hidden with any
count they are worked out from.
"""

from __future__ import annotations

from ...figures.equality import KEPT_MEANING, PART_TIME, RETAINED, cell_text, equality_header
from ...figures.equality import equality as equality_figures
from ...figures.privacy import Key
from ..blocks import Block, Cell, Derived, Table, Text, clean
from ..builder import Builder
from . import section


@section("equality", "Equality impact",
         idle="No posts are deleted, so every group keeps all its posts: there is no "
              "difference between groups to compare.")
def equality(b: Builder) -> list[Block]:
    if not b.s.has_posts:
        return [Text("The file does not give the number of posts on each row, so the posts "
                     "kept and lost by each group cannot be counted.", "body")]
    e = equality_figures(b.report, b.t.equality_rule)
    fig, s = b.fig, b.s
    protected = [c.label for c in e.characteristics if e.rule.protects(c.key)]
    hidden = (f" Counts under {e.threshold}, and any figure that would reveal one, are shown "
              f"as [c] for: {', '.join(protected)}." if protected else "")
    shown = [c.label for c in e.characteristics if not e.rule.protects(c.key)]
    full = (f" Shown in full, however small: {', '.join(shown)}." if shown else "")
    out: list[Block] = [Text(
        f"Retention is the share of occupied posts kept. A group whose retention is under "
        f"four-fifths (0.8) of the best-retained group's is flagged; Fisher's exact test gives "
        f"the chance of a split at least this uneven if deletions fell at random (under 0.05: "
        f"unlikely to be chance).{hidden}{full} {KEPT_MEANING[e.kept]}", "intro_note")]
    at_risk = ("total", "at_risk_posts") if s.has_vacant else ("total", "deleted_posts")
    for c in e.characteristics:
        if len(c.groups) < 2:
            out.append(Text(f"{c.label}: every occupied post is in one group "
                            f"({clean(c.groups[0].label) if c.groups else 'none'}), so there "
                            f"is nothing to compare.", "body"))
            continue
        keys: dict[str, tuple[Key, Key, Key]] = {}
        for g in c.groups:
            trio = tuple(fig.add(("eq", c.key, g.label, short), value, "posts")
                         for short, value in (("b", g.baseline), ("a", g.at_risk),
                                              ("r", g.kept)))
            keys[g.label] = trio        # type: ignore[assignment]
            fig.forced.update(k for k in trio if (k[2], k[3]) in c.hidden)
            fig.relate(trio[0], [trio[1], trio[2]])
        # Fisher's p of a group rests on its own counts and the table's totals: the whole
        # file's at-risk posts when every occupied post is in a group (else figures no
        # output shows)
        totals: tuple[Key, ...] = ()
        if c.key != PART_TIME or not c.left_out:     # every occupied post is in a group
            fig.relate(at_risk, [trio[1] for trio in keys.values()])
            if not s.has_vacant:
                # kept = retained: the occupied relocated posts are left out of the table
                moved = ([("total", "relocated_posts")]
                         if e.kept == RETAINED and ("total", "relocated_posts") in fig.values
                         else [])
                fig.relate(("total", "baseline_posts"),
                           [trio[0] for trio in keys.values()] + moved)
                totals = (("total", "baseline_posts"),) + tuple(moved)
            totals += (at_risk,)
        ref = keys.get(c.reference) if c.reference is not None else None
        body: list[list[Cell]] = []
        for r in c.rows:
            trio = keys[r["group"]]
            against = trio + (ref or ())
            body.append([clean(r["group"]), *trio,
                         Derived(cell_text("retention_rate", r["retention_rate"]), trio),
                         Derived(cell_text("retention_ratio", r["retention_ratio"]), against),
                         Derived(cell_text("below_four_fifths", r["below_four_fifths"]),
                                 against),
                         Derived(cell_text("fisher_p", r["fisher_p"]), trio + totals)])
        out.append(Text(c.label, "subheading"))
        out.append(b.table(Table(equality_header(), body, None,
                                 widths=[2.2, 1, 1, 1, 1, 1.1, 0.9, 1])))
        for note in c.notes:
            out.append(Text(note, "note"))
    for note in e.notes:
        out.append(Text(note, "note"))
    return out
