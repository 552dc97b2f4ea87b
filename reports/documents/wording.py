"""The wording lines of a briefing: their {placeholders} and their default text.

A placeholder is a figure from the measures registry (`{deleted_fte}`) or a fact
about the file and the briefing (`{organisation}`, `{sites_closing}`).
"""

from __future__ import annotations

import string
from typing import Any

from ..model import measures
from ..model.errors import TemplateError

CONTEXT_PLACEHOLDERS = ("organisation", "file", "teams", "grades", "sites_closing",
                        "sites_kept", "threshold", "audience", "defaulted", "default_status")

def placeholders() -> tuple[str, ...]:
    """Every placeholder a wording line may use (measures registered later included)."""
    return tuple(measures.placeholder_order()) + CONTEXT_PLACEHOLDERS


DEFAULT_WORDING = {
    "headline": "{deleted_fte} of {baseline_fte} FTE ({pct_deleted}%) are proposed for "
                "deletion: {deleted_posts} of {baseline_posts} posts.",
    "vacancy": "{at_risk_fte} FTE ({at_risk_posts} posts) of the deleted posts are occupied, "
               "so the people in them are at risk of redundancy; {vacant_deleted_fte} FTE "
               "({vacant_deleted_posts} posts) are vacant.",
    "cost": "The deleted posts cost {deleted_cost} a year; less the new posts "
            "({created_cost}), that is {net_saving} a year.",
    "cost_split": "Of the deleted posts' cost, {at_risk_cost} is for occupied posts and "
                  "{vacant_deleted_cost} for vacant ones, whose budget saves no one's job.",
    "cost_moved": "Relocated posts cost {relocated_cost} a year: that cost moves to another "
                  "service with them, it is not saved.",
    "no_vacancy": "The file does not say which posts are vacant, so the number of people at "
                  "risk cannot be told from it: {deleted_posts} posts are deleted, occupied "
                  "or not.",
    "nothing_deleted": "No posts are proposed for deletion: {baseline_fte} FTE in the "
                       "baseline.",
    "headline_fte": "{deleted_fte} of {baseline_fte} FTE ({pct_deleted}%) are proposed for "
                    "deletion.",
    "no_posts": "The file gives FTE but not the number of posts on each row, so counts of "
                "posts are not given in this briefing.",
    "vacancy_fte": "{at_risk_fte} FTE of the deleted posts are occupied, so the people in them "
                   "are at risk of redundancy; {vacant_deleted_fte} FTE are vacant.",
    "no_vacancy_fte": "The file does not say which posts are vacant, so the number of people "
                      "at risk cannot be told from it.",
    "defaulted": "The file does not give a proposal for every post: {defaulted} rows without "
                 "one are counted as {default_status}.",
    "locations": "Sites losing all their posts: {sites_closing}. Sites keeping some posts: "
                 "{sites_kept}.",
    "suppression": "To protect individuals, a figure marked \u201c[c]\u201d is hidden: "
                   "every figure of fewer than {threshold} posts (a count, or the FTE or cost of "
                   "such a group), and any figure from which "
                   "one could be worked out to within {threshold}.",
}

def check_placeholders(text: str, key: str, fail: Any = None) -> list[str]:
    """The placeholders in `text`; refuses unknown ones and format specs, naming `key`."""
    fail = fail or (lambda m: TemplateError(m))
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as e:
        raise fail(f"key '{key}' has a stray brace ({e}); write {{{{ or }}}} for a "
                   f"literal brace") from None
    names = []
    known = placeholders()
    for _, fld, spec, conversion in parts:
        if fld is None:
            continue
        if fld not in known:
            raise fail(f"unknown placeholder {{{fld}}} in key '{key}'; known placeholders: "
                       f"{', '.join(known)}")
        if spec or conversion:
            raise fail(f"placeholder {{{fld}}} in key '{key}' has a format; write just "
                       f"{{{fld}}}")
        names.append(fld)
    return names
