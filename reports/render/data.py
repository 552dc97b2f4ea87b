"""Output for programs: JSON and CSV.

Every string written to CSV passes through `csv_text`: a team called "=HYPERLINK(...)"
can never run as a formula in a spreadsheet (`neutralise`), and a control character
is written escaped (ESC as `\\x1b`), as the terminal output shows it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..figures.totals import GROUPINGS, Summary
from ..figures.trend import MEASURES, Trend
from ..model import measures
from ..model.formats import json_number, plain_decimal, show_controls
from .fixes import in_words

if TYPE_CHECKING:
    from ..figures.compare import Comparison, Post
    from ..model.findings import Finding

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00",
                    "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> Any:
    """Prefix a string that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_text(value: Any) -> Any:
    """A string for a CSV cell: control characters shown escaped (`show_controls`, the
    line feed kept), then neutralised; anything else unchanged."""
    return neutralise(show_controls(value)) if isinstance(value, str) else value


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_number(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# --------------------------------------------------------------------------
# findings

FINDINGS_CSV_FIELDS = ("severity", "code", "sheet", "cell", "column", "value", "message")


def findings_csv(findings: Iterable[Finding]) -> str:
    """Every finding, one a row, in the order given: what the portal offers to download
    when a file has too many problems to show on one page.  The last column says how to
    fix it, in words."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FINDINGS_CSV_FIELDS + ("fix",))
    for f in findings:
        writer.writerow([csv_value(getattr(f, k)) for k in FINDINGS_CSV_FIELDS]
                        + [csv_value(in_words(f.fixes))])
    return buf.getvalue()


# --------------------------------------------------------------------------
# summary


def summary_tables(summary: Summary) -> Iterable[tuple[str, list[str], list[list[Any]]]]:
    """(table name, header, rows) for every grouping, the totals first."""
    keys = list(summary.totals)
    yield "totals", ["scope"] + keys, [["all"] + [summary.totals[k] for k in keys]]
    for name, groups in summary.groups.items():
        cols = list(GROUPINGS[name])
        yield name, cols + keys, [[g[c] for c in cols] + [g[k] for k in keys] for g in groups]


def summary_csv(summary: Summary) -> str:
    """Every table, each with its own header row, separated by a blank line."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for i, (name, header, rows) in enumerate(summary_tables(summary)):
        if i:
            writer.writerow([])
        writer.writerow([f"# {name}"])
        writer.writerow(header)
        # without a Posts column, a count of posts is "not given", never a blank or a 0
        counts = [measures.unit_of(h) == measures.POSTS for h in header]
        for row in rows:
            writer.writerow(["not given" if v is None and c else csv_value(v)
                             for v, c in zip(row, counts)])
    return buf.getvalue()


def csv_value(value: Any, yes_no: tuple[str, str] | None = None) -> Any:
    """A cell for a CSV file: blank for None, a Decimal without exponent or trailing
    zeros, True/False as `yes_no` when given, and text made safe for a spreadsheet."""
    if value is None:
        return ""
    if yes_no is not None and isinstance(value, bool):
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, Decimal):
        return plain_decimal(value)
    return csv_text(value)


def summary_json(summary: Summary) -> str:
    return to_json(summary.to_dict())


# --------------------------------------------------------------------------
# comparison


def comparison_json(c: Comparison) -> str:
    return to_json(c.to_dict())


POST_CSV_FIELDS = ("post_id", "team", "title", "grade", "location", "status", "fte", "posts",
                   "destination", "vacant", "sheet", "row")


def comparison_csv(c: Comparison) -> str:
    """Tables under '# name' lines, as `impact summary --format csv` writes them:
    posts (one row per post that changed, was added or was removed), totals,
    by_team and by_grade (one row per group and figure)."""
    from ..figures.compare import group_keys  # start-up: a summary needs no comparison module

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["# headline"])
    w.writerow([csv_text(c.headline)])
    w.writerow([])
    w.writerow(["# posts"])
    w.writerow(["change", "matched_on"] + [f"old_{f}" for f in POST_CSV_FIELDS]
               + [f"new_{f}" for f in POST_CSV_FIELDS])
    empty = [""] * len(POST_CSV_FIELDS)

    def cells(p: Post | None) -> list[Any]:
        if p is None:
            return empty
        d = p.to_dict()
        return [_plain_post_value(d[f]) for f in POST_CSV_FIELDS]

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
        w.writerow([t.key, _plain_post_value(t.old), _plain_post_value(t.new), _plain_post_value(t.change)])
    for name, col, groups in (("by_team", "team", c.by_team), ("by_grade", "grade", c.by_grade)):
        w.writerow([])
        w.writerow([f"# {name}"])
        w.writerow([col, "key", "old", "new", "change"])
        for g in groups:
            for fig in g.changes(group_keys(c)):
                w.writerow([_plain_post_value(g.label), fig.key, _plain_post_value(fig.old), _plain_post_value(fig.new),
                            _plain_post_value(fig.change)])
    return buf.getvalue()


def public_comparison_csv(d: dict[str, Any]) -> str:
    """The whole-file changes a public output may state, as `# totals` (key, old, new,
    change), under the headline."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["# headline"])
    w.writerow([csv_text(d["headline"])])
    w.writerow([])
    w.writerow(["# totals"])
    w.writerow(["key", "old", "new", "change"])
    for t in d["totals"]:
        w.writerow([t["key"]] + [_plain_post_value(t[c]) for c in ("old", "new", "change")])
    return buf.getvalue()


def _plain_post_value(value: Any) -> Any:
    return csv_value(value, ("Y", "N"))


# --------------------------------------------------------------------------
# the trend across versions


def trend_csv(trend: Trend) -> str:
    """`impact history --format csv`: one row per version (or month), oldest first: its
    figures, then each one's change since the row before (blank for the first row, and
    for a figure a file does not give), then the measures that changed."""
    monthly = any(p.month for p in trend.points)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow((["month"] if monthly else []) + ["version", "as_of", "file", *MEASURES,
               *(f"{m}_change" for m in MEASURES), "changed"])
    for i, p in enumerate(trend.points):
        change = trend.change(i)
        w.writerow(([p.month] if monthly else []) +
                   [p.number, p.as_of.isoformat(), csv_text(p.file)] +
                   [csv_value(p.values.get(m)) for m in MEASURES] +
                   [csv_value(change.get(m)) for m in MEASURES] +
                   [" ".join(trend.changed(i))])
    return buf.getvalue()
