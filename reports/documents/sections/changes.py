"""What changed since an earlier version: the headline of the change, the change in the
main totals, and (unless small numbers are suppressed) every post that changed.

This section appears when a briefing is given a comparison (`Changes`); it goes
right after the headline unless the template lists "changes" itself.  In a
briefing that suppresses small numbers, the privacy module decides what of the
change may be shown, and no post is listed.
"""

from __future__ import annotations

from ...figures.compare import MATCH_ID, post_lines
from ...figures.privacy import HEADLINE_FIGURES, change_cells, hidden_changes
from ...model import measures
from ..blocks import Block, Table, Text, clean
from ..builder import Builder
from . import section

# The totals the section compares.
FIGURES = ("baseline_fte", "deleted_fte", "deleted_posts", "at_risk_fte", "at_risk_posts",
           "vacant_deleted_fte", "future_fte", "net_saving")
POST_LIMIT = 40            # post lines per kind of change before "… and n more"


@section("changes", "What changed")
def changes(b: Builder) -> list[Block]:
    spec = b.changes
    c = spec.comparison if spec is not None else None
    note = spec.note if spec is not None else ""
    threshold = b.threshold
    blocks: list[Block] = []
    if c is None:
        blocks.append(Text(clean(note or "There is no earlier version to compare with.", 400)))
        return blocks
    if note:
        blocks.append(Text(clean(note, 400), "note"))
    by_key = {t.key: t for t in c.totals}
    old_hidden = set(spec.old_hidden) if spec is not None else set()
    new_hidden = {k[1] for k in b.fig.hidden if len(k) == 2 and k[0] == "total"}
    hidden = hidden_changes(((t.key, t.old, t.new) for t in c.totals if t.key in FIGURES),
                            threshold, old_hidden, new_hidden)
    if hidden & set(HEADLINE_FIGURES):
        blocks.append(Text(clean(f"Since {c.old_label}: small changes are not shown here, to "
                                 f"protect the people in the posts concerned; a figure is "
                                 f"hidden where it, or its change, could identify someone "
                                 f"(fewer than {threshold} posts).", 400), "lead"))
    else:
        blocks.append(Text(clean(c.headline + ".", 400), "lead"))
    rows = []
    for key in FIGURES:
        t = by_key.get(key)
        if t is None or t.old is None or t.new is None:
            continue
        rows.append([measures.get(key).label] + change_cells(
            key, t.old, t.new, t.change, old_hidden=key in old_hidden,
            new_hidden=key in new_hidden, change_hidden=key in hidden))
    blocks.append(Table(["Figure", clean(f"Then: {c.old_label}", 80), "Now", "Change"], rows,
                        widths=[2.6, 1.6, 1, 1]))
    if threshold:
        blocks.append(Text("Individual posts are not listed in this briefing, to protect the "
                           "people in them.", "note"))
        return blocks
    if c.match != MATCH_ID:
        blocks.append(Text(clean(c.match_note, 600), "note"))
    sections = post_lines(c, POST_LIMIT)
    if not sections:
        blocks.append(Text("No post changed: no status, FTE, destination, number of posts or "
                           "vacancy is different, and no post was added or removed."))
    for title, count, lines in sections:
        blocks.append(Text(f"{title} ({count:,})", "subheading"))
        blocks += [Text(clean(line, 300), "bullet") for line in lines]
    return blocks
