"""A briefing, worked out without ReportLab: its sections, in the template's order.

`make_briefing` builds each section the template lists (see
`reports.documents.sections`) over one `Builder`, then suppresses small numbers
once for the whole document, so a figure hidden in one table is hidden in every
other.  A renderer (`reports.render.pdf`) only lays the result out.
"""

from __future__ import annotations

import datetime as dt

from ..figures.recode import LEVELS, MIN_POSTS, Recoding, recode
from ..figures.releases import NOT_CHECKED, Prior
from ..figures.totals import Summary, summarise
from ..figures.trend import Trend
from ..intake.rules import Report
from ..model.errors import TemplateError, Unpublishable
from ..model.formats import fmt_date
from . import sections as registry
from .blocks import NOT_RECORDED, Briefing, Section, Text, clean
from .builder import Builder, Changes
from .template import Template

CHANGES = "changes"
TREND = "trend"


def make_briefing(report: Report, summary: Summary, template: Template, *,
                  title: str | None = None, organisation: str | None = None,
                  generated: dt.date | str | None = None, version: str = "",
                  changes: Changes | None = None, prior: Prior | None = None,
                  trend: Trend | None = None) -> Briefing:
    """Work out every section of a briefing.

    `generated` is printed as the date of the briefing: a date, or words such as
    "for March 2024"; None: no date is printed (a reproducible build).  With
    `changes`, a "What changed" section goes right after the headline (or where the
    template lists "changes").  With a `trend` of more than one version, a trend
    section goes after the headline and "What changed" (or where the template lists
    "trend"); a briefing that suppresses small numbers leaves it out.
    """
    if isinstance(generated, dt.date):
        generated = fmt_date(generated)
    args = (template, title, organisation, generated, version, changes, prior, trend)
    if not template.suppresses:
        return _make(report, summary, Recoding(), *args)
    for level in LEVELS:          # redesign before suppressing: see figures.recode
        recoded, recoding = recode(report, template.small_number_threshold, level)
        try:
            return _make(recoded, summarise(recoded) if recoding else summary, recoding,
                         *args, last=level == LEVELS[-1] and _posts(report) >= MIN_POSTS)
        except Unpublishable as e:
            if level == LEVELS[-1]:
                raise _refusal(report, e) from None
    raise AssertionError("unreachable")


def _posts(report: Report) -> int:
    return int(report.posts["posts"].sum()) if report.has_posts else len(report.posts)


def _refusal(report: Report, e: Unpublishable) -> Unpublishable:
    """Why a public output of this file cannot be made, and what can be instead."""
    posts = _posts(report)
    if posts < MIN_POSTS:
        return Unpublishable(
            f"the file holds {posts} post{'s' if posts != 1 else ''} in all, fewer than "
            f"{MIN_POSTS}: no public figures can be published without identifying the "
            f"people in them, even with every team, grade and site merged ({e}). Share "
            f"the union or management briefing with those entitled to it instead")
    return e


def _make(report: Report, summary: Summary, recoding: Recoding, template: Template,
          title: str | None, organisation: str | None, generated: str | None,
          version: str, changes: Changes | None, prior: Prior | None,
          trend: Trend | None, *, last: bool = False) -> Briefing:
    date_text = generated or NOT_RECORDED
    b = Builder(report, summary, template, organisation, date_text, version, changes, prior,
                trend)
    b.last_design = last
    ids = [s for s in template.sections if s not in (CHANGES, TREND)]
    built = [_section(b, sid) for sid in ids]
    trend_section = _section(b, TREND) if trend is not None else None
    b.finish()
    shown = [s for s in built if s.blocks]
    if trend_section is not None and trend_section.blocks:
        shown.insert(_place(template, shown, TREND), trend_section)
    if changes is not None:           # built last: it states what the others' figures allow
        shown.insert(_place(template, shown, CHANGES), _section(b, CHANGES))
    if b.protection is not None and template.suppresses:
        for sec in shown:
            if sec.id == "method":
                sec.blocks.extend(Text(line, "bullet") for line in recoding.sentences())
                if prior is not None and not prior.known:
                    sec.blocks.append(Text(NOT_CHECKED, "bullet"))
                sec.blocks.append(Text(b.protection.summary(), "bullet"))
    src = summary.source
    org = b.organisation
    audience = template.audience or "union"
    subtitle = template.subtitle
    if title is None:
        title = template.title
        if b.nothing_deleted:        # a pure baseline: no title speaks of cuts
            title = template.baseline_title or title
            subtitle = template.baseline_subtitle or subtitle
    return Briefing(
        title=clean(title, 300),
        subtitle=clean(subtitle, 300),
        organisation=org,
        marking=clean(template.marking, 120),
        author=clean(template.author or org or "impact", 200),
        subject=clean(f"{audience.title()} impact briefing on {src['file']}", 300),
        audience=audience,
        colours=template.colours,
        sections=shown,
        figures=b.fig,
        source_file=clean(src["file"]),
        generated=clean(generated, 120) if generated else None,
        protection=b.protection,
        summary=summary,
        recoding=recoding)


def _place(template: Template, shown: list[Section], sid: str) -> int:
    """Where a section built apart goes: where the template lists it, else right after
    the headline."""
    if sid in template.sections:
        before = template.sections[:template.sections.index(sid)]
        return sum(1 for s in shown if s.id in before)
    return next((i + 1 for i, s in enumerate(shown) if s.id == "headline"), 0)


def _section(b: Builder, sid: str) -> Section:
    try:
        spec = registry.get(sid)
    except KeyError:
        raise TemplateError(f"template {b.t.name}: unknown section '{sid}'; known sections: "
                            f"{', '.join(registry.known())}") from None
    heading = b.t.headings.get(sid, spec.heading)
    if sid == CHANGES and b.changes is not None and b.changes.heading:
        heading = b.changes.heading
    if spec.idle and b.nothing_deleted:
        return Section(sid, clean(heading, 120), [Text(spec.idle, "body")])
    return Section(sid, clean(heading, 120), spec.build(b))


__all__ = ["Changes", "make_briefing"]
