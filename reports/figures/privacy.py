"""Small-number suppression: the one module that decides which figures an output hides.

Every output that hides figures asks this module: the briefing's tables, tiles
and charts (`suppress`, over the linear relations between figures), and the
"What changed" section (`is_small`, `change_cells`, `change_hidden`).

The rules, in one place:

- **Primary.** A count of posts or an FTE figure above 0 and under the threshold
  is hidden and shown as "<N".  Money is not suppressed.
- **Secondary.** Where a relation (a total and its parts) would let a reader work
  out a hidden figure from the others, the smallest other figure that is shown
  and above 0 is hidden too, shown as "[c]".
- **Changes.** A change between two versions is hidden ("[c]") when either side
  of it is a small figure.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..model import measures
from ..model.formats import Number
from .compare import figure_text

Key = tuple  # e.g. ("team", "Early Help", "deleted_fte"): one figure in a document

SECONDARY = "[c]"          # a figure hidden so that a total cannot reveal a small one


def primary_marker(threshold: int) -> str:
    """How a small figure is shown: "<5"."""
    return f"<{threshold}"


def suppress(values: Mapping[Key, Number], equations: Iterable[Sequence[Key]], threshold: int,
             shown: Iterable[Key] | None = None) -> dict[Key, str]:
    """Which figures to hide, and with what marker.

    Primary: every figure above 0 and under `threshold` ("<5").  Secondary: for
    each relation (a total and its parts), if exactly one of its figures is
    unknown to a reader and that one is sensitive, the smallest other figure
    that is shown and above 0 is hidden too ("[c]"); repeated until nothing
    changes.  A figure that is not shown anywhere counts as unknown.
    Only figures in `shown` (default: all) are returned.
    """
    if threshold <= 0:
        return {}
    shown_set = set(values) if shown is None else set(shown)
    primary = {k for k, v in values.items() if 0 < v < threshold}
    sensitive = set(primary)
    eqs = [tuple(eq) for eq in equations]
    by_key: dict[Key, list[int]] = defaultdict(list)
    for i, eq in enumerate(eqs):
        for k in eq:
            by_key[k].append(i)
    queue = deque(range(len(eqs)))
    queued = set(queue)
    while queue:
        i = queue.popleft()
        queued.discard(i)
        eq = eqs[i]
        unknown = [k for k in eq if k in sensitive or k not in shown_set]
        if len(unknown) != 1 or unknown[0] not in sensitive:
            continue
        candidates = [k for k in eq if k not in sensitive and k in shown_set
                      and values.get(k, 0) != 0]
        if not candidates:
            continue
        pick = min(candidates, key=lambda k: values[k])
        sensitive.add(pick)
        for j in by_key[pick]:
            if j not in queued:
                queue.append(j)
                queued.add(j)
    marker = primary_marker(threshold)
    return {k: (marker if k in primary else SECONDARY) for k in sensitive if k in shown_set}


def is_small(key: str, value: Any, threshold: int) -> bool:
    """Whether a whole-file figure (or a change in one) must be hidden: a count or FTE
    above 0 and under the threshold, in size.  Money is never small."""
    return bool(threshold) and value is not None and not measures.is_money(key) and \
        0 < abs(value) < threshold


def change_cells(key: str, old: Any, new: Any, change: Any, threshold: int) -> list[str]:
    """Then, now and the change of one figure, with small figures hidden."""
    cells = [primary_marker(threshold) if is_small(key, v, threshold) else figure_text(key, v)
             for v in (old, new)]
    hidden = is_small(key, old, threshold) or is_small(key, new, threshold)
    cells.append(SECONDARY if hidden and change else
                 (figure_text(key, change, signed=True) if change else "no change"))
    return cells


# The figures whose change the one-line headline states.
HEADLINE_FIGURES = ("deleted_fte", "at_risk_posts", "deleted_posts")


def change_hidden(figures: Iterable[tuple[str, Any, Any]], threshold: int) -> bool:
    """Whether a comparison's headline must not be shown: one of the figures it states
    (key, old, new) is small, or is missing on one side."""
    return any(v is None or is_small(key, v, threshold) for key, old, new in figures
               if key in HEADLINE_FIGURES for v in (old, new))
