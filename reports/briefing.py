"""What a PDF briefing says, worked out without ReportLab.

`make_briefing` turns a validated `Report`, its `Summary` and a `Template` into a
`Briefing`: sections of sentences, tables and chart data.  Every figure in a
table is a *key* into one `Figures` store, so one figure shown in two places
(a team's deleted FTE in "By team" and in the team x grade matrix) is one value
that is either shown or hidden everywhere.  `reports.pdf` only lays it out.

Small-number suppression (`suppress`) is a pure function over those figures and
the linear relations between them ("baseline = deleted + retained + relocated",
"a column adds up to its total row"), so it is tested without a PDF.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from .brief_template import FIGURE_PLACEHOLDERS, Template, check_placeholders
from .findings import Finding
from .totals import STATUSES, Summary, fmt_money, fmt_number, natural
from .validate import Report

Number = Decimal | int
Key = tuple  # e.g. ("team", "Early Help", "deleted_fte"): one figure in the store

SECONDARY = "[c]"          # a figure hidden so that a total cannot reveal a small one
NOT_RECORDED = "not recorded (reproducible build)"
GENERATED_LABEL = "Generated"
TEXT_LIMIT = 200           # characters of a spreadsheet string printed in a briefing
CHART_TEAMS = 15           # the largest teams get a bar each, the rest share "Other"
CHART_GRADES = 40
MATRIX_TEAMS = 20          # rows of the team x grade matrix before "Other teams"
MATRIX_GRADES_PER_TABLE = 8
NEW_POST_ROWS = 200        # rows of the new-posts table before "Other new posts"

FTE_MEASURES = ("baseline_fte", "deleted_fte", "retained_fte", "relocated_fte", "created_fte",
                "future_fte")
FTE_HEADER = ["Baseline FTE", "Deleted", "Retained", "Relocated", "Created", "Future FTE",
              "% deleted"]


# --------------------------------------------------------------------------
# the building blocks


@dataclass(frozen=True)
class Pct:
    """A % deleted cell: deleted / baseline, hidden when either is."""

    deleted: Key
    baseline: Key


Cell = str | tuple | Pct | None   # text, a figure's key, a percentage, or blank


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    total: Sequence[Cell] | None = None
    text_cols: int = 1            # leading columns of text (they wrap); the rest are figures
    widths: list[float] | None = None   # relative widths of the columns
    zero: str = "0"               # how a zero figure prints ("–" in the sparse matrix)
    width_of: float = 1.0         # the share of the page's width the table takes
    caption: str = ""


@dataclass
class Text:
    """Plain text (the renderer escapes it).  With `values`, `text` is a wording line
    whose {placeholders} are filled when it is printed, after suppression."""

    text: str
    style: str = "body"           # body | lead | note | subheading | bullet | intro | intro_note
    values: dict[str, Any] | None = None

    def render(self, figures: Figures) -> str:
        if self.values is None:
            return self.text
        def text(v: Any) -> str:
            if isinstance(v, Pct):          # the wording writes the % sign itself
                return figures.text(v).removesuffix("%").replace("–", "n/a")
            return figures.text(v) if isinstance(v, tuple) else str(v)

        return self.text.format(**{k: text(v) for k, v in self.values.items()})


@dataclass
class Tile:
    value: Cell
    suffix: str
    label: str


@dataclass
class Tiles:
    tiles: list[Tile]


@dataclass
class Chart:
    title: str
    axis: str                     # the category axis title: "Team" or "Grade"
    categories: list[str] = field(default_factory=list)
    keys: list[dict[str, Key]] = field(default_factory=list)      # per category: status -> key
    other: tuple[str, list[dict[str, Key]]] | None = None        # "Other (n teams)" and theirs
    series: dict[str, list[Number | None]] = field(default_factory=dict)  # filled after suppression
    note: str = ""


Block = Text | Table | Tiles | Chart


@dataclass
class Section:
    id: str
    heading: str
    blocks: list[Block]


@dataclass
class Figures:
    """Every figure a briefing can show, the relations between them, and which are hidden."""

    values: dict[Key, Number] = field(default_factory=dict)
    equations: list[tuple[Key, ...]] = field(default_factory=list)
    shown: set[Key] = field(default_factory=set)
    hidden: dict[Key, str] = field(default_factory=dict)      # key -> marker

    def add(self, key: Key, value: Number) -> Key:
        self.values[key] = value
        return key

    def relate(self, total: Key, parts: Iterable[Key]) -> None:
        """Record that `total` = sum of `parts` (so a reader can work one out from the rest)."""
        self.equations.append((total, *parts))

    def is_hidden(self, key: Key) -> bool:
        return key in self.hidden

    def text(self, cell: Cell, zero: str = "0") -> str:
        if cell is None:
            return ""
        if isinstance(cell, str):
            return cell
        if isinstance(cell, Pct):
            if cell.deleted in self.hidden or cell.baseline in self.hidden:
                return SECONDARY
            pct = percent(self.values[cell.deleted], self.values[cell.baseline])
            return "–" if pct is None else f"{pct}%"
        if cell in self.hidden:
            return self.hidden[cell]
        value = self.values[cell]
        return zero if value == 0 else fmt_number(value)

    def number(self, key: Key) -> Number | None:
        """A figure for a chart: None when hidden."""
        return None if key in self.hidden else self.values[key]


@dataclass
class Briefing:
    title: str
    subtitle: str
    organisation: str
    marking: str
    author: str
    subject: str
    audience: str
    colours: dict[str, str]
    sections: list[Section]
    figures: Figures
    source_file: str
    generated: str | None         # None: not recorded (a reproducible build)


def percent(deleted: Number, baseline: Number) -> Decimal | None:
    if baseline == 0:
        return None
    return (Decimal(deleted) * 100 / Decimal(baseline)).quantize(Decimal("0.1"),
                                                                  rounding=ROUND_HALF_UP)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A spreadsheet string fit to print: no control characters, at most `limit` characters.

    This is not escaping: the renderer escapes markup where it needs to.
    """
    text = _CONTROL.sub(" ", str(value))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------
# small-number suppression


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
    marker = f"<{threshold}"
    return {k: (marker if k in primary else SECONDARY) for k in sensitive if k in shown_set}


# --------------------------------------------------------------------------
# the briefing


def make_briefing(report: Report, summary: Summary, template: Template, *,
                  title: str | None = None, organisation: str | None = None,
                  generated: dt.date | str | None = None, version: str = "") -> Briefing:
    """Work out every section of a briefing.

    `generated` is printed as the date of the briefing: a date, or words such as
    "for March 2024"; None: no date is printed (a reproducible build).
    """
    if isinstance(generated, dt.date):
        generated = _date(generated)
    date_text = generated or NOT_RECORDED
    b = _Builder(report, summary, template, organisation, date_text, version)
    sections = [b.section(s) for s in template.sections]
    b.finish()
    src = summary.source
    org = b.organisation
    audience = template.audience or "union"
    return Briefing(
        title=clean(title if title is not None else template.title, 300),
        subtitle=clean(template.subtitle, 300),
        organisation=org,
        marking=clean(template.marking, 120),
        author=clean(template.author or org or "impact", 200),
        subject=clean(f"{audience.title()} impact briefing on {src['file']}", 300),
        audience=audience,
        colours=template.colours,
        sections=[s for s in sections if s.blocks],
        figures=b.fig,
        source_file=clean(src["file"]),
        generated=clean(generated, 120) if generated else None)


def _date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def sync_generated(b: Briefing) -> None:
    """Make the "Generated" row of the method section say what `b.generated` says
    (a caller may set `b.generated` after `make_briefing`)."""
    for section in b.sections:
        if section.id != "method":
            continue
        for block in section.blocks:
            if isinstance(block, Table):
                for row in block.rows:
                    if row and row[0] == GENERATED_LABEL and isinstance(row, list):
                        row[1] = b.generated or NOT_RECORDED


class _Builder:
    def __init__(self, report: Report, summary: Summary, template: Template,
                 organisation: str | None, date_text: str, version: str) -> None:
        self.report = report
        self.date_text = date_text
        self.version = version
        self.s = summary
        self.t = template
        self.organisation = clean(organisation if organisation is not None
                                  else template.organisation, 200)
        self.fig = Figures()
        self.charts: list[Chart] = []
        self._load()

    # ---- the figures and the relations between them

    def _load(self) -> None:
        f, s = self.fig, self.s
        t = s.totals
        for k, v in t.items():
            if k in FIGURE_PLACEHOLDERS and k != "pct_deleted" and v is not None and \
                    not k.endswith("_cost") and k != "net_saving":
                f.add(("total", k), v)
        self._rows_relations(("total",))
        if s.has_vacant:
            for unit in ("fte", "posts"):
                f.relate(("total", f"deleted_{unit}"),
                         [("total", f"at_risk_{unit}"), ("total", f"vacant_deleted_{unit}")])
        self.team_rows = s.groups["by_team"]
        self.grade_rows = s.groups["by_grade"]
        for kind, rows, col in (("team", self.team_rows, "team"),
                                ("grade", self.grade_rows, "grade")):
            for g in rows:
                for m in FTE_MEASURES:
                    f.add((kind, g[col], m), g[m])
                self._rows_relations((kind, g[col]))
            for m in FTE_MEASURES:
                f.relate(("total", m), [(kind, g[col], m) for g in rows])
        # team x grade: deleted FTE
        self.tg: dict[tuple[str, str], Number] = {}
        for g in s.groups["by_team_grade"]:
            f.add(("tg", g["team"], g["grade"]), g["deleted_fte"])
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

    def _rows_relations(self, prefix: Key) -> None:
        f = self.fig
        units = ("fte", "posts") if prefix == ("total",) else ("fte",)
        for u in units:
            f.relate(prefix + (f"baseline_{u}",), [prefix + (f"{s}_{u}",)
                                                   for s in ("deleted", "retained", "relocated")])
            f.relate(prefix + (f"future_{u}",), [prefix + (f"retained_{u}",),
                                                 prefix + (f"created_{u}",)])

    def finish(self) -> None:
        """Suppress small numbers, then fill the charts with what may be shown."""
        f = self.fig
        f.hidden = suppress(f.values, f.equations, self.t.small_number_threshold, f.shown)
        for chart in self.charts:
            statuses = list(STATUSES)
            chart.series = {s: [f.number(k[s]) for k in chart.keys] for s in statuses}
            if chart.other is not None:
                label, folded = chart.other
                chart.categories.append(label)
                for s in statuses:
                    any_hidden = any(f.is_hidden(k[s]) for k in chart.keys) or any(
                        k[s] in f.hidden or self._sensitive(k[s]) for k in folded)
                    # the average per folded team or grade, so the bar is on the same scale
                    total = sum((Decimal(f.values[k[s]]) for k in folded), Decimal(0))
                    value = None if any_hidden else (total / len(folded)).quantize(
                        Decimal("0.01"))
                    chart.series[s].append(value)

    def _sensitive(self, key: Key) -> bool:
        thr = self.t.small_number_threshold
        return thr > 0 and 0 < self.fig.values[key] < thr

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

    # ---- wording

    def sentence(self, key: str, style: str = "body") -> Text:
        text = self.t.wording[key]
        names = check_placeholders(text, f"wording.{key}")
        values: dict[str, Any] = {}
        t = self.s.totals
        for name in names:
            if name in FIGURE_PLACEHOLDERS:
                if name == "pct_deleted":
                    pct = Pct(("total", "deleted_fte"), ("total", "baseline_fte"))
                    self.show([pct])
                    values[name] = pct
                elif name.endswith("_cost") or name == "net_saving":
                    values[name] = fmt_money(t[name]) if name in t else "not known"
                elif ("total", name) in self.fig.values:
                    self.show([("total", name)])
                    values[name] = ("total", name)
                else:
                    values[name] = "not known"
        ctx = self._context()
        for name in names:
            if name not in values:
                values[name] = ctx[name]
        return Text(text, style, values)

    def _context(self) -> dict[str, str]:
        locs = self.s.groups["by_location"]
        closing = [g for g in locs if _closing(g)]
        return {"organisation": self.organisation,
                "file": clean(self.s.source["file"]),
                "teams": f"{len(self.team_rows):,}",
                "grades": f"{len(self.grade_rows):,}",
                "sites_closing": f"{len(closing):,}",
                "sites_kept": f"{len(locs) - len(closing):,}",
                "threshold": str(self.t.small_number_threshold),
                "audience": self.t.audience or "union"}

    # ---- the sections

    def section(self, sid: str) -> Section:
        blocks: list[Block] = getattr(self, f"_{sid}")()
        return Section(sid, clean(self.t.headings[sid], 120), blocks)

    def _headline(self) -> list[Block]:
        s = self.s
        out: list[Block] = [self.sentence("headline", "lead")]
        if s.has_vacant:
            out.append(self.sentence("vacancy"))
        if s.has_cost:
            out.append(self.sentence("cost"))
        tot = ("total",)
        tiles = [Tile(tot + ("deleted_fte",), " FTE", "proposed for deletion"),
                 Tile(Pct(tot + ("deleted_fte",), tot + ("baseline_fte",)), "",
                      "of today's FTE")]
        if s.has_vacant:
            tiles.append(Tile(tot + ("at_risk_fte",), " FTE", "in occupied posts: at risk"))
        if s.has_cost:
            tiles.append(Tile(fmt_money(s.totals["net_saving"]), "", "net saving a year"))
        else:
            tiles.append(Tile(tot + ("future_fte",), " FTE", "left after the changes"))
        self.show(t.value for t in tiles)
        out.append(Tiles(tiles))
        rows: list[list[Cell]] = [
            ["Baseline today (deleted + retained + relocated)", tot + ("baseline_fte",),
             tot + ("baseline_posts",)],
            ["Deleted", tot + ("deleted_fte",), tot + ("deleted_posts",)],
            ["Retained", tot + ("retained_fte",), tot + ("retained_posts",)],
            ["Relocated to another service", tot + ("relocated_fte",), tot + ("relocated_posts",)],
            ["Created (new posts)", tot + ("created_fte",), tot + ("created_posts",)],
            ["Future (retained + created)", tot + ("future_fte",), tot + ("future_posts",)],
            ["% of baseline FTE deleted", Pct(tot + ("deleted_fte",), tot + ("baseline_fte",)),
             ""],
        ]
        if s.has_vacant:
            rows += [["Deleted and occupied: at risk", tot + ("at_risk_fte",),
                      tot + ("at_risk_posts",)],
                     ["Deleted and vacant", tot + ("vacant_deleted_fte",),
                      tot + ("vacant_deleted_posts",)]]
        if s.has_cost:
            rows += [["Annual cost of deleted posts", fmt_money(s.totals["deleted_cost"]), ""],
                     ["Annual cost of new posts", fmt_money(s.totals["created_cost"]), ""],
                     ["Net saving a year", fmt_money(s.totals["net_saving"]), ""]]
        out.append(self.table(Table(["Key figures", "FTE", "Posts"], rows,
                                    widths=[3.2, 1, 1])))
        if self.t.suppresses:
            out.append(self.sentence("suppression", "note"))
        return out

    def _fte_table(self, kind: str, rows: list[dict[str, Any]], col: str, label: str,
                   total_prefix: Key = ("total",)) -> Table:
        body: list[list[Cell]] = []
        for g in rows:
            p = (kind, g[col])
            body.append([clean(g[col])] + [p + (m,) for m in FTE_MEASURES] +
                        [Pct(p + ("deleted_fte",), p + ("baseline_fte",))])
        total: list[Cell] = (["Total"] + [total_prefix + (m,) for m in FTE_MEASURES] +
                             [Pct(total_prefix + ("deleted_fte",),
                                  total_prefix + ("baseline_fte",))])
        return self.table(Table([label] + FTE_HEADER, body, total,
                                widths=[2.5] + [1] * 7))

    def _by_team(self) -> list[Block]:
        return [self._fte_table("team", self.team_rows, "team", "Team")]

    def _by_grade(self) -> list[Block]:
        return [self._fte_table("grade", self.grade_rows, "grade", "Grade")]

    def _team_grade(self) -> list[Block]:
        f = self.fig
        grades = [g["grade"] for g in self.grade_rows if g["deleted_fte"] != 0]
        teams = [g for g in self.team_rows if g["deleted_fte"] != 0]
        if not teams:
            return [Text("No posts are deleted.", "body")]
        out: list[Block] = []
        folded: list[dict[str, Any]] = []
        if len(teams) > MATRIX_TEAMS:
            top = sorted(teams, key=lambda g: (-g["deleted_fte"], natural(g["team"])))
            shown_teams, folded = top[:MATRIX_TEAMS - 1], top[MATRIX_TEAMS - 1:]
            out.append(Text(f"The {len(shown_teams)} teams losing the most FTE, largest first; "
                            f"the other {len(folded):,} teams are added up in the last row. "
                            f"Every team is in the table \u201c{self.t.headings['by_team']}\u201d.",
                            "intro_note"))
        else:
            shown_teams = teams
        if len(grades) > MATRIX_GRADES_PER_TABLE:
            out.append(Text(f"{len(grades)} grades have deletions, so the matrix is split "
                            f"into tables of at most {MATRIX_GRADES_PER_TABLE} grades.",
                            "intro_note"))
        other_label = f"Other teams ({len(folded):,})"
        if folded:
            for grade in grades:
                keys = [("tg", g["team"], grade) for g in folded if (g["team"], grade) in self.tg]
                f.add(("mx_other", grade), sum((f.values[k] for k in keys), Decimal(0)))
                f.relate(("mx_other", grade), keys)
            f.add(("mx_other", "*"), sum((g["deleted_fte"] for g in folded), Decimal(0)))
            f.relate(("mx_other", "*"), [("mx_other", gr) for gr in grades])
            f.relate(("mx_other", "*"), [("team", g["team"], "deleted_fte") for g in folded])
        n_tables = -(-len(grades) // MATRIX_GRADES_PER_TABLE)
        per_table = -(-len(grades) // n_tables)      # balanced: 10 grades make 5 + 5
        chunks = [grades[i:i + per_table] for i in range(0, len(grades), per_table)]
        # every table has the same column widths, so the figures line up page to page
        def widths_of(k: int) -> list[float]:
            return [2.2] + [1.0] * k

        full = per_table + 1
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            header = ["Team"] + [clean(g) for g in chunk] + (["All grades"] if last else [])
            body: list[list[Cell]] = []
            for g in shown_teams:
                team = g["team"]
                row: list[Cell] = [clean(team)]
                for grade in chunk:
                    key = ("tg", team, grade)
                    row.append(key if key in f.values else "–")
                if last:
                    row.append(("team", team, "deleted_fte"))
                body.append(row)
            if folded:
                other: list[Cell] = [other_label]
                other += [("mx_other", gr) for gr in chunk]
                if last:
                    other.append(("mx_other", "*"))
                body.append(other)
            total: list[Cell] = ["All teams"]
            total += [("grade", gr, "deleted_fte") for gr in chunk]
            if last:
                total.append(("total", "deleted_fte"))
            ncols = len(chunk) + (1 if last else 0)
            out.append(self.table(Table(header, body, total, widths=widths_of(ncols),
                                        zero="–", width_of=(2.2 + ncols) / (2.2 + full))))
        return out

    def _relocations(self) -> list[Block]:
        dests = self.s.groups["by_destination"]
        if not dests:
            return [Text("No posts are relocated to another service.", "body")]
        body: list[list[Cell]] = [[clean(g["destination"]), ("dest", g["destination"],
                                                           "relocated_fte"),
                                   ("dest", g["destination"], "relocated_posts")] for g in dests]
        total: list[Cell] = ["Total", ("total", "relocated_fte"), ("total", "relocated_posts")]
        return [self.table(Table(["Destination service", "FTE", "Posts"], body, total,
                                 widths=[4, 1, 1]))]

    def _new_posts(self) -> list[Block]:
        f = self.fig
        posts = self.report.posts
        created = posts[posts["status"].to_numpy() == "created"]
        if created.empty:
            return [Text("The proposals create no new posts.", "body")]
        sums = created.groupby(["team", "title", "grade"], sort=False)[["fte", "posts"]].sum()
        groups = []
        for (team, title, grade), (fte, count) in zip(sums.index,
                                                      sums.to_numpy(dtype=np.int64)):
            key = ("new", str(team), str(title), str(grade))
            f.add(key + ("fte",), Decimal(int(fte)).scaleb(-2))
            f.add(key + ("posts",), int(count))
            groups.append(key)
        for unit, measure in (("fte", "created_fte"), ("posts", "created_posts")):
            f.relate(("total", measure), [k + (unit,) for k in groups])
        per_team: dict[str, list[Key]] = defaultdict(list)
        per_grade: dict[str, list[Key]] = defaultdict(list)
        for k in groups:
            per_team[k[1]].append(k + ("fte",))
            per_grade[k[3]].append(k + ("fte",))
        for team, keys in per_team.items():
            f.relate(("team", team, "created_fte"), keys)
        for grade, keys in per_grade.items():
            f.relate(("grade", grade, "created_fte"), keys)
        out: list[Block] = []
        shown, folded = groups, []
        if len(groups) > NEW_POST_ROWS:
            order = sorted(range(len(groups)), key=lambda i: (-f.values[groups[i] + ("fte",)], i))
            keep = set(order[:NEW_POST_ROWS - 1])
            shown = [k for i, k in enumerate(groups) if i in keep]
            folded = [k for i, k in enumerate(groups) if i not in keep]
            out.append(Text(f"The {len(shown)} largest of {len(groups):,} groups of new posts; "
                            f"the rest are added up in the last row.", "intro_note"))
        # natural order (sorting only the rows shown: natural keys are slow)
        shown = sorted(shown, key=lambda k: (natural(k[1]), natural(k[2]), natural(k[3])))
        body: list[list[Cell]] = [[clean(k[1]), clean(k[2]), clean(k[3]), k + ("fte",),
                                   k + ("posts",)] for k in shown]
        if folded:
            for unit in ("fte", "posts"):
                f.add(("new_other", unit), sum((f.values[k + (unit,)] for k in folded),
                                               Decimal(0) if unit == "fte" else 0))
                f.relate(("new_other", unit), [k + (unit,) for k in folded])
            body.append([f"Other new posts ({len(folded):,} groups)", "", "",
                         ("new_other", "fte"), ("new_other", "posts")])
        total: list[Cell] = ["Total", "", "", ("total", "created_fte"), ("total", "created_posts")]
        out.append(self.table(Table(["Team", "Job title", "Grade", "FTE", "Posts"], body, total,
                                    text_cols=3, widths=[2.2, 2.6, 1.4, 0.9, 0.8])))
        return out

    def _locations(self) -> list[Block]:
        s, f = self.s, self.fig
        if not s.has_location:
            return [Text("The file gives no location for its posts.", "body")]
        locs = s.groups["by_location"]
        closing = [g for g in locs if _closing(g)]
        kept = [g for g in locs if not _closing(g)]
        for g in locs:
            for m in FTE_MEASURES:
                f.add(("loc", g["location"], m), g[m])
        out: list[Block] = [self.sentence("locations", "intro")]
        cmeasures = ("baseline_fte", "deleted_fte", "relocated_fte")
        if closing:
            for g in closing:
                f.relate(("loc", g["location"], "baseline_fte"),
                         [("loc", g["location"], "deleted_fte"),
                          ("loc", g["location"], "relocated_fte")])
            for m in cmeasures:
                f.add(("loc_closing", m), sum((g[m] for g in closing), Decimal(0)))
                f.relate(("loc_closing", m), [("loc", g["location"], m) for g in closing])
            f.relate(("loc_closing", "baseline_fte"), [("loc_closing", "deleted_fte"),
                                                      ("loc_closing", "relocated_fte")])
            body: list[list[Cell]] = [[clean(g["location"])] +
                                      [("loc", g["location"], m) for m in cmeasures]
                                      for g in closing]
            total: list[Cell] = ["Total"] + [("loc_closing", m) for m in cmeasures]
            out.append(Text(f"Sites losing all their posts ({len(closing):,})", "subheading"))
            out.append(self.table(Table(["Site", "Baseline FTE", "Deleted", "Relocated"], body,
                                        total, widths=[3.2, 1, 1, 1])))
        if kept:
            for g in kept:
                self._rows_relations(("loc", g["location"]))
            for m in FTE_MEASURES:
                f.add(("loc_kept", m), sum((g[m] for g in kept), Decimal(0)))
                f.relate(("loc_kept", m), [("loc", g["location"], m) for g in kept])
            self._rows_relations(("loc_kept",))
            out.append(Text(f"Sites keeping posts ({len(kept):,})", "subheading"))
            out.append(self._fte_table("loc", kept, "location", "Site",
                                       total_prefix=("loc_kept",)))
        for m in FTE_MEASURES:
            parts = [("loc_kept", m)] if kept else []
            if closing and m in cmeasures:
                parts.append(("loc_closing", m))
            f.relate(("total", m), parts)
        return out

    def _charts(self) -> list[Block]:
        out: list[Block] = []
        teams = self.team_rows
        if teams:
            out.append(self._chart("FTE by status, per team", "Team", "team", teams, "team",
                                   CHART_TEAMS, by_size=True))
        if self.grade_rows:
            out.append(self._chart("FTE by status, per grade", "Grade", "grade",
                                   self.grade_rows, "grade", CHART_GRADES, by_size=False))
        return out

    def _chart(self, title: str, axis: str, kind: str, rows: list[dict[str, Any]], col: str,
               limit: int, by_size: bool) -> Chart:
        def size(g: dict[str, Any]) -> Any:
            return g["baseline_fte"] + g["created_fte"]

        chosen, folded = rows, []
        if len(rows) > limit:
            order = sorted(rows, key=lambda g: (-size(g), natural(g[col])))
            keep = order[:limit - 1]
            folded = order[limit - 1:]
            if by_size:
                chosen = keep
            else:
                names = {g[col] for g in keep}
                chosen = [g for g in rows if g[col] in names]
        keys = [{s: (kind, g[col], f"{s}_fte") for s in STATUSES} for g in chosen]
        self.show(k for d in keys for k in d.values())
        chart = Chart(title, axis, [clean(g[col], 40) for g in chosen], keys)
        plural = "teams" if kind == "team" else "grades"
        if folded:
            chart.other = (f"Other {len(folded):,} {plural}: average",
                           [{s: (kind, g[col], f"{s}_fte") for s in STATUSES} for g in folded])
            chart.note = (f"The {len(chosen)} largest {plural} by baseline and new FTE"
                          f"{', largest first' if by_size else ''}. The last bar is the "
                          f"average of the other {len(folded):,} {plural}, so that it is on "
                          f"the same scale; the tables give each one.")
        if self.t.suppresses:
            chart.note = (chart.note + " " if chart.note else "") + \
                "Figures hidden to protect individuals are left out of the bars."
        self.charts.append(chart)
        return chart

    def _data_notes(self) -> list[Block]:
        return [Text(line, "bullet") for line in data_notes(self.s.warnings, self.s.info)]

    def _method(self) -> list[Block]:
        out: list[Block] = [self._source_table()]
        out.append(Text("How each figure is defined", "subheading"))
        defs = [
            ("FTE (full-time equivalent) and posts are added up exactly from the post rows "
             "of the file; a row may stand for several identical posts."),
            "Baseline = deleted + retained + relocated: the establishment today.",
            "Future = retained + created: what the service keeps after the changes.",
            "% deleted = deleted FTE \u00f7 baseline FTE, to 1 decimal place.",
            ("Relocated posts move to another service (the destination); they are neither "
             "deleted nor kept by this service."),
        ]
        if self.s.has_vacant:
            defs.append("At risk = deleted posts that are occupied today (Vacant is N, or "
                        "blank); deleted vacant posts make no one redundant.")
        if self.s.has_cost:
            defs.append("Net saving = annual cost of the deleted posts \u2212 annual cost of "
                        "the new posts.")
        if self.s.has_location:
            defs.append("A site loses all its posts when it has a baseline today and no "
                        "retained or new posts after the changes.")
        if self.t.suppresses:
            thr = self.t.small_number_threshold
            defs.append(f"Counts of posts or FTE above 0 and under {thr} are shown as "
                        f"\u201c<{thr}\u201d. Where a row or column total would reveal such a "
                        f"figure, the next smallest figure is hidden too, shown as "
                        f"\u201c{SECONDARY}\u201d.")
        defs.append("No name, employee number or other personal identifier is ever printed: "
                    "columns holding them are dropped when the file is read.")
        out += [Text(d, "bullet") for d in defs]
        return out

    def _source_table(self) -> Table:
        src = self.s.source
        rows: list[list[Cell]] = [
            ["File", clean(src["file"])],
            ["SHA-256", src["sha256"]],
            ["Format", str(src.get("format", ""))],
            ["Sheets read", ", ".join(clean(x, 60) for x in src["sheets"]) or "–"],
            ["Post rows read", f"{src['rows']:,}"],
        ]
        if src.get("skipped_sheets"):
            rows.append(["Sheets not read", "; ".join(
                f"{clean(x['sheet'], 60)} ({clean(x['reason'], 100)})"
                for x in src["skipped_sheets"])])
        rows += [["Template", f"{self.t.name} ({self.t.audience or 'custom'})"],
                 ["Small-number threshold",
                  str(self.t.small_number_threshold) if self.t.suppresses
                  else "none: every figure is shown"],
                 [GENERATED_LABEL, self.date_text],
                 ["Tool", f"impact {self.version}".strip()]]
        return Table(["Source", ""], rows, text_cols=2, widths=[1.3, 4.2])


def _closing(g: dict[str, Any]) -> bool:
    return g["baseline_fte"] > 0 and g["future_fte"] == 0


# Plain words for each warning and note code, used in the data notes.
_NOTE_WORDS = {
    "vacant-blank": "Vacant was blank, so the post was counted as occupied (at risk)",
    "cost-blank": "the annual cost was blank, so it was counted as £0",
    "cost-rounded": "the annual cost had fractions of a penny, which were rounded",
    "destination-unexpected": "a destination was given for a post that is not relocated; "
                              "it was ignored",
}


def data_notes(warnings: Sequence[Finding], infos: Sequence[Finding]) -> list[str]:
    """Plain sentences about what was excluded or assumed, grouped by finding code."""
    out: list[str] = []
    personal = [f for f in warnings if f.code == "personal-data"]
    if personal:
        names = ", ".join(f"\u201c{clean(f.column or '?', 60)}\u201d" for f in personal)
        n = len(personal)
        out.append(f"{n} personal-data column{'s were' if n != 1 else ' was'} dropped when the "
                   f"file was read ({names}); nothing from "
                   f"{'them' if n != 1 else 'it'} appears in this briefing.")
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for f in warnings:
        if f.code != "personal-data":
            by_code[f.code].append(f)
    for code, items in by_code.items():
        if code in _NOTE_WORDS:
            cells = [f"{clean(x.sheet or '', 40)}!{x.cell}" for x in items if x.cell]
            where = ""
            if cells:
                where = f" ({', '.join(cells[:5])}{f' and {len(cells) - 5:,} more' if len(cells) > 5 else ''})"
            n = len(items)
            out.append(f"{n:,} row{'s' if n != 1 else ''}: {_NOTE_WORDS[code]}{where}.")
        else:
            for x in items[:5]:
                out.append(clean(x.message, 400))
            if len(items) > 5:
                out.append(f"\u2026 and {len(items) - 5:,} more like this ({code}).")
    for x in infos:
        out.append(clean(x.message, 400))
    if not out:
        out.append("The file passed every check with no warnings; nothing was excluded.")
    return out
