"""The working state of one briefing while its sections are built.

A `Builder` holds the validated report, its summary, the template, any
comparison, and the one `Figures` store with the relations between figures
("baseline = deleted + retained + relocated", "a column adds up to its total
row").  Sections add figures and blocks through it; `finish()` then asks the
privacy module which figures to hide and fills the charts with what may be
shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..figures import releases
from ..figures.compare import Comparison
from ..figures.privacy import MARKER, Key, Links, Protection, protect
from ..figures.releases import Prior
from ..figures.totals import NOT_GIVEN, Summary
from ..figures.trend import Trend
from ..intake.rules import Report
from ..model import measures
from ..model.formats import Number
from ..model.measures import BASELINE_STATUSES, STATUSES
from .blocks import Cell, Chart, Figures, Pct, Table, Text, clean
from .wording import CONTEXT_PLACEHOLDERS, check_placeholders

if TYPE_CHECKING:                      # a type only: the template imports the sections
    from .template import Template

FTE_MEASURES = ("baseline_fte", "deleted_fte", "retained_fte", "relocated_fte", "created_fte",
                "future_fte")


@dataclass
class Changes:
    """What a "What changed" section reports: a comparison (None: nothing to compare
    with, and `note` says why), under `heading` (default: the template's)."""

    comparison: Comparison | None
    note: str = ""
    heading: str | None = None
    old_hidden: frozenset[str] = frozenset()   # totals the earlier version's output hid


class Builder:
    def __init__(self, report: Report, summary: Summary, template: Template,
                 organisation: str | None, date_text: str, version: str,
                 changes: Changes | None = None, prior: Prior | None = None,
                 trend: Trend | None = None) -> None:
        self.report = report
        self.date_text = date_text
        self.version = version
        self.s = summary
        self.t = template
        self.changes = changes
        self.prior = prior
        self.trend = trend            # the dataset's versions, for the trend section
        self.last_design = False      # set for recoding's last level (figures.recode)
        self.organisation = clean(organisation if organisation is not None
                                  else template.organisation, 200)
        self.fig = Figures()
        self.protection: Protection | None = None
        self.charts: list[Chart] = []
        self._load()

    @property
    def threshold(self) -> int:
        return self.t.small_number_threshold

    @property
    def nothing_deleted(self) -> bool:
        """No post is proposed for deletion: the file is a baseline (and any new posts)."""
        return not self.s.totals["deleted_fte"]

    # ---- the figures and the relations between them

    def _load(self) -> None:
        f, s = self.fig, self.s
        t = s.totals
        for k, v in t.items():
            if measures.unit_of(k) in (measures.FTE, measures.POSTS, measures.MONEY) and \
                    v is not None:
                f.add(("total", k), v)
                f.keep.add(("total", k))
        for k in t:
            if k.endswith("_fte") and t.get(measures.posts_for(k)) is not None:
                f.at_most(("total", k), ("total", measures.posts_for(k)))
        self._declared_relations()
        self.rows_relations(("total",))
        self.team_rows = s.groups["by_team"]
        self.grade_rows = s.groups["by_grade"]
        for kind, rows, col in (("team", self.team_rows, "team"),
                                ("grade", self.grade_rows, "grade")):
            for g in rows:
                for m in FTE_MEASURES:
                    f.add((kind, g[col], m), g[m], posts=g.get(measures.posts_for(m)))
                if kind == "team":     # each team's loss and share cut: the story
                    f.dear.update({("team", g[col], "deleted_fte"),
                                   ("team", g[col], "baseline_fte")})
                self.rows_relations((kind, g[col]))
            for m in FTE_MEASURES:
                f.relate(("total", m), [(kind, g[col], m) for g in rows])
        # team x grade: deleted FTE
        self.tg: dict[tuple[str, str], Number] = {}
        for g in s.groups["by_team_grade"]:
            f.add(("tg", g["team"], g["grade"]), g["deleted_fte"], posts=g.get("deleted_posts"))
            self.tg[(g["team"], g["grade"])] = g["deleted_fte"]
        by_team: dict[str, list[Key]] = defaultdict(list)
        by_grade: dict[str, list[Key]] = defaultdict(list)
        for team, grade in self.tg:
            by_team[team].append(("tg", team, grade))
            by_grade[grade].append(("tg", team, grade))
        for team, keys in by_team.items():
            f.relate(("team", team, "deleted_fte"), keys)
        for grade, keys in by_grade.items():
            f.relate(("grade", grade, "deleted_fte"), keys)
        # relocations
        dests = s.groups["by_destination"]
        for g in dests:
            for m in ("relocated_fte", "relocated_posts"):
                f.add(("dest", g["destination"], m), g[m])
        for m in ("relocated_fte", "relocated_posts"):
            f.relate(("total", m), [("dest", g["destination"], m) for g in dests])
        for g in dests:
            f.at_most(("dest", g["destination"], "relocated_fte"),
                      ("dest", g["destination"], "relocated_posts"))

    def _declared_relations(self) -> None:
        """Each measure's relations as its registration declares them
        (`reports.model.measures`: a money figure's counts, and the sums it is part of),
        for the figures this file gives."""
        f = self.fig
        for m in measures.all_measures():
            if ("total", m.key) not in f.values:
                continue
            if m.counts:
                f.belongs(("total", m.key), [("total", k) for k in m.counts])
            if m.sum_of and all(("total", k) in f.values for k in m.sum_of):
                f.relate(("total", m.key), [("total", k) for k in m.sum_of])
            if m.signed and all(("total", k) in f.values for k, _ in m.signed):
                f.relate_signed([(("total", m.key), -1),
                                 *((("total", k), c) for k, c in m.signed)])

    def rows_relations(self, prefix: Key) -> None:
        """baseline = deleted + retained + relocated and future = retained + created, for
        one row of figures (FTE; posts too for the whole file)."""
        f = self.fig
        units = ("fte", "posts") if prefix == ("total",) else ("fte",)
        for u in units:
            f.relate(prefix + (f"baseline_{u}",), [prefix + (f"{s}_{u}",)
                                                   for s in BASELINE_STATUSES])
            f.relate(prefix + (f"future_{u}",), [prefix + (f"retained_{u}",),
                                                 prefix + (f"created_{u}",)])

    def finish(self) -> None:
        """Decide which figures to hide (the privacy module audits every figure shown,
        together), then fill the charts with what may be shown."""
        f = self.fig
        if self.threshold:            # only the audit reads these relations
            self._same_posts()
        links = f.links()
        links.sensitive = links.sensitive | f.forced     # the equality tables' own audit
        if self.last_design:          # every group merged: publish whatever is safe
            links.max_hidden_share = 1.0
        self.protection = self._protect(links)
        f.hidden = dict(self.protection.hidden)
        f.hidden.update({k: MARKER for k in f.forced})
        for chart in self.charts:
            chart.series = {s: [f.number(k[s]) for k in chart.keys] for s in STATUSES}

    def _protect(self, links: Links) -> Protection:
        """The pattern of hidden figures: this version's own, if it was released before
        with the same figures; else chosen over the union of everything released
        before (`figures.releases`); else this output's alone."""
        prior, threshold = self.prior, self.threshold
        if prior is not None and threshold:
            own = prior.own
            if own is not None and releases.same_figures(own.links, links):
                hidden = {k: MARKER for k in own.hidden if k in links.values}
                return Protection(hidden, dict(own.ranges), threshold, own.primary)
            earlier = prior.releases + ((own,) if own is not None else ())
            if earlier:
                both = releases.union(links, earlier, threshold)
                return releases.own_protection(both, protect(both, threshold), links,
                                               threshold)
        return protect(links, threshold)

    def _same_posts(self) -> None:
        """Groups of two kinds that hold exactly the same posts (a team that is all of one
        site) have the same figures, and a reader who sees one row can read the other."""
        f = self.fig
        posts = self.report.posts
        if posts.empty:
            return
        kinds = {"team": "team", "grade": "grade", "loc": "location"}
        owners: dict[bytes, list[tuple[str, str]]] = defaultdict(list)
        for kind, col in kinds.items():
            values = posts[col].where(posts[col].ne(""), NOT_GIVEN) if col == "location" \
                else posts[col]
            for label, rows in values.groupby(values, sort=False).indices.items():
                owners[rows.tobytes()].append((kind, str(label)))
        for groups in owners.values():
            if len({kind for kind, _ in groups}) < 2:
                continue
            first = groups[0]
            for other in groups[1:]:
                if other[0] == first[0]:
                    continue
                for m in FTE_MEASURES:
                    a, b = (first[0], first[1], m), (other[0], other[1], m)
                    if a in f.values and b in f.values:
                        f.relate(a, [b])

    def show(self, cells: Iterable[Cell]) -> None:
        for c in cells:
            if isinstance(c, Pct):
                self.fig.shown.update((c.deleted, c.baseline))
            elif isinstance(c, tuple):
                self.fig.shown.add(c)

    def table(self, table: Table) -> Table:
        for row in table.rows:
            self.show(row)
        if table.total:
            self.show(table.total)
        return table

    def fte_table(self, kind: str, rows: list[dict[str, Any]], col: str, label: str,
                  total_prefix: Key = ("total",)) -> Table:
        """A table of FTE by status and % deleted, one row per group, and a total row."""
        body: list[list[Cell]] = []
        for g in rows:
            p = (kind, g[col])
            body.append([clean(g[col])] + [p + (m,) for m in FTE_MEASURES] +
                        [Pct(p + ("deleted_fte",), p + ("baseline_fte",))])
        total: list[Cell] = (["Total"] + [total_prefix + (m,) for m in FTE_MEASURES] +
                             [Pct(total_prefix + ("deleted_fte",),
                                  total_prefix + ("baseline_fte",))])
        header = [measures.get(m).label_for("short") for m in FTE_MEASURES + ("pct_deleted",)]
        return self.table(Table([label] + header, body, total, widths=[2.5] + [1] * 7))

    # ---- wording

    def sentence(self, key: str, style: str = "body") -> Text:
        """A wording line of the template, its placeholders bound to figures."""
        text = self.t.wording[key]
        names = check_placeholders(text, f"wording.{key}")
        values: dict[str, Any] = {}
        t = self.s.totals
        for name in names:
            if not measures.known(name):
                continue
            if name == "pct_deleted":
                pct = Pct(("total", "deleted_fte"), ("total", "baseline_fte"))
                self.show([pct])
                values[name] = pct
            elif ("total", name) in self.fig.values:
                self.show([("total", name)])
                values[name] = ("total", name)
            else:
                values[name] = str(t[name]) if t.get(name) is not None else "not known"
        ctx = self.context()
        for name in names:
            if name not in values:
                values[name] = ctx[name]
        return Text(text, style, values)

    def vacancy_known(self) -> str | None:
        """For how many post rows the file states the vacancy, when it does for some but
        not all of them (a briefing that hides small numbers says only "some")."""
        r = self.report
        rows = len(r.posts)
        if not self.s.has_vacant or r.vacancy_known >= rows:
            return None
        column = all("vacant" in t.columns for t in r.workbook.tables)
        source = ("the Vacant column" if column else
                  "status words such as \u201cDeleted - vacant\u201d")
        said = (f"for some of the {rows:,} post rows" if self.t.suppresses else
                f"for {r.vacancy_known:,} of the {rows:,} post rows")
        return (f"The file says whether the post is vacant {said} (from {source}); the "
                f"others are counted as occupied, so the number of people at risk is an "
                f"upper bound.")

    def context(self) -> dict[str, str]:
        """The facts a wording line may name besides figures."""
        locs = self.s.groups["by_location"]
        closing = [g for g in locs if is_closing(g)]
        ctx = {"organisation": self.organisation,
               "file": clean(self.s.source["file"]),
               "teams": f"{len(self.team_rows):,}",
               "grades": f"{len(self.grade_rows):,}",
               "sites_closing": f"{len(closing):,}",
               "sites_kept": f"{len(locs) - len(closing):,}",
               "threshold": str(self.threshold),
               "audience": self.t.audience or "union",
               "defaulted": f"{self.report.defaulted:,}",
               "default_status": _status_words(self.report.workbook.options.default_status)}
        assert tuple(ctx) == CONTEXT_PLACEHOLDERS
        return ctx


def _status_words(given: tuple[str, bool | None] | None) -> str:
    """--default-status in words: "retained", "deleted (vacant)"."""
    if given is None:
        return "not given"
    status, vacant = given
    return status + ("" if vacant is None else " (vacant)" if vacant else " (occupied)")


def is_closing(g: dict[str, Any]) -> bool:
    """A site that loses all its posts: a baseline today and nothing after the changes."""
    return g["baseline_fte"] > 0 and g["future_fte"] == 0
