"""Use cases that brief on one schedule (`summaries` summarises it).

Each returns data; a front end prints or serves it.  An invalid file is not an
exception: the `Result` carries its report and no output is made.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..documents.blocks import Briefing, Figures
from ..documents.briefing import make_briefing
from ..documents.builder import FTE_MEASURES, Changes
from ..documents.public import changes_since, public_summary
from ..documents.template import Template, load_builtin, load_template, with_kept
from ..figures.compare import compare
from ..figures.loss import Loss, information_loss
from ..figures.privacy import Protection
from ..figures.totals import Summary, summarise
from ..figures.trend import Trend, trend_of
from ..intake.rules import Report
from ..model.errors import UsageProblem
from ..model.version import __version__

# these load their own libraries (WeasyPrint, Jinja2, python-docx) only when they write
from ..render.docx import render_docx
from ..render.html import render_html
from ..render.tagged import render_tagged
from ..store.files import atomic_output
from .outputs import refuse_input
from .publication import Publishing, publishing, released
from .result import Result
from .source import (
    DEFAULT_READ,
    HowToRead,
    Opened,
    Source,
    Status,
    load_report,
    no_status,
    opened,
)


def published(report: Report, summary: Summary, template: Template,
              pub: Publishing | None = None) -> tuple[Summary, Protection, Loss]:
    """The summary as a suppressing template's briefing publishes it, its audit, and the
    information its suppression costs; released through `pub`'s ledger."""
    briefing = released(pub, template, lambda prior: make_briefing(
        report, summary, template, version=__version__, prior=prior))
    assert briefing.protection is not None
    return public_summary(briefing), briefing.protection, loss_of(briefing)


_KIND = {"team": "team", "grade": "grade", "location": "loc", "destination": "dest"}


def loss_of(briefing: Briefing) -> Loss:
    """The information loss of a briefing's figures (issue 23): each figure of a group
    merged by recoding counts as merged into the merged group's."""
    f = briefing.figures
    recoded: dict[tuple, tuple] = {}
    for col, merged in (briefing.recoding.merged if briefing.recoding else {}).items():
        kind = _KIND[col]
        measures = (("relocated_fte", "relocated_posts") if col == "destination"
                    else FTE_MEASURES)
        for label, parts in merged.items():
            for part in parts:
                for m in measures:
                    recoded[(kind, part, m)] = (kind, label, m)
    return information_loss(f.values, f.shown, f.hidden, recoded)


def choose_template(audience: str, template_file: Path | None,
                    audience_given: bool) -> tuple[Template, str]:
    """The template for a briefing, and the audience it is for.

    A template file that names its audience wins over the default audience; an
    audience given explicitly that disagrees with it is a `UsageProblem`.
    """
    if template_file is None:
        return load_builtin(audience), audience
    template = load_template(template_file)
    if template.audience and audience_given and template.audience != audience:
        raise UsageProblem(f"{template_file} is a {template.audience} template but "
                           f"--audience {audience} was given; drop one of them")
    return template, template.audience or audience


@dataclass
class Briefed:
    """What `brief` wrote: the briefing's `path`, and its `pages` for a PDF."""

    path: Path
    pages: int = 0
    protection: Protection | None = None
    kind: str = "PDF"              # "PDF", "tagged PDF", "HTML" or "Word"
    loss: Loss | None = None       # with `protection`: what the suppression costs
    unchecked: bool = False        # public, of a file with no ledger: see publication


def default_date(reproducible: bool) -> dt.date | None:
    """The date a briefing prints: today, or for a reproducible build the date in
    SOURCE_DATE_EPOCH (else none)."""
    if not reproducible:
        return dt.date.today()
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return None


def brief(source: Source, how: HowToRead = DEFAULT_READ, *, audience: str = "union",
          template_file: Path | None = None, audience_given: bool = False,
          title: str | None = None, organisation: str | None = None,
          output: Path | None = None, reproducible: bool = False,
          compare_with: Path | None = None, since_version: int | None = None,
          status: Status = no_status, fmt: str = "pdf",
          accessible: bool | None = None, ledger_file: Path | None = None,
          release_as: str | None = None, kept: str | None = None) -> Result[Briefed]:
    """Write a briefing on a file or a stored version: a PDF, or (`fmt` "html") one
    accessible HTML page, or (`fmt` "docx") a Word document to edit.

    A PDF is tagged (PDF/UA, `reports.render.tagged`) when `accessible` is True, or
    when it is None and the template says `renderer = "tagged"`; else ReportLab makes
    it.  `output` defaults to FILE-AUDIENCE.pdf (.html, .docx) in the current folder; it may
    not be the input.  `compare_with` (an earlier file) or `since_version` (an earlier
    version of the same dataset) adds a "What changed" section after the headline.  An
    invalid file, or an invalid earlier one, gets no briefing: the result holds that
    file's report.
    """
    template, audience = choose_template(audience, template_file, audience_given)
    template = with_kept(template, kept)
    render = renderer_for(template, fmt, accessible)
    with opened(source) as src:
        suffix = SUFFIXES.get(fmt, ".pdf")
        out = output if output is not None else Path(f"{src.name.stem}-{audience}{suffix}")
        refuse_input(out, src.name, compare_with)
        with status(f"Reading and checking {src.name.name} ..."):
            report = src.check(how, meanwhile=RENDERER_MODULES.get(render, ()))
        if not report.valid:
            return Result(report)
        summary = summarise(report)
        with (publishing(src, release_as or f"impact brief ({out.name})", ledger_file)
              if template.suppresses else contextlib.nullcontext()) as pub:
            changes = _changes(src, report, how, compare_with, since_version, template, pub)
            if isinstance(changes, Report):
                return Result(changes)
            briefing = released(pub, template, lambda prior: make_briefing(
                report, summary, template, title=title, organisation=organisation,
                generated=default_date(reproducible), version=__version__, changes=changes,
                prior=prior, trend=trend_for(src)))
        with atomic_output(out, "wb") as fh:
            pages = render(briefing, fh, reproducible=reproducible, version=__version__)
    suppresses = template.suppresses
    return Result(report, Briefed(
        out, pages, protection=briefing.protection if suppresses else None,
        kind=KINDS[render], loss=loss_of(briefing) if suppresses else None,
        unchecked=pub is not None and not pub.known))


Render = Callable[..., int]


def renderer_for(template: Template, fmt: str = "pdf", accessible: bool | None = None
                 ) -> Render:
    """The renderer for a briefing: HTML for `fmt` "html", Word for "docx"; for a PDF,
    the tagged one
    when `accessible` (None: when the template says `renderer = "tagged"`), else
    ReportLab.  Each renderer's module is imported here, when it is needed."""
    if fmt == "html":
        if accessible:
            raise UsageProblem("--accessible makes a tagged PDF; the HTML briefing is "
                               "accessible as it is: drop one of --accessible and --format html")
        return _html
    if fmt == "docx":
        if accessible:
            raise UsageProblem("--accessible makes a tagged PDF; the Word briefing has its "
                               "headings, alt text and table headers as it is: drop one of "
                               "--accessible and --format docx")
        return _docx
    if fmt != "pdf":
        raise UsageProblem(f"unknown briefing format '{fmt}'; give pdf, html or docx")
    tagged = template.renderer == "tagged" if accessible is None else accessible
    return _tagged if tagged else _reportlab


def _reportlab(briefing: Briefing, fh: IO[bytes], **kw: Any) -> int:
    from ..render.pdf import render  # start-up: ReportLab, only when a PDF is made

    return render(briefing, fh, **kw)


def _tagged(briefing: Briefing, fh: IO[bytes], **kw: Any) -> int:
    return render_tagged(briefing, fh, **kw)


def _html(briefing: Briefing, fh: IO[bytes], *, version: str = "", **_: Any) -> int:
    fh.write(render_html(briefing, version=version).encode("utf-8"))
    return 1


def _docx(briefing: Briefing, fh: IO[bytes], *, version: str = "", **_: Any) -> int:
    return render_docx(briefing, fh, version=version)


# What a renderer imports when it first runs, imported instead while an xlsx is read
# (`intake.check`'s `meanwhile`): ReportLab, about 0.1 s the briefing no longer waits for.
RENDERER_MODULES: dict[Render, tuple[str, ...]] = {_reportlab: ("reports.render.pdf",)}

KINDS: dict[Render, str] = {_reportlab: "PDF", _tagged: "tagged PDF", _html: "HTML",
                            _docx: "Word"}
SUFFIXES = {"pdf": ".pdf", "html": ".html", "docx": ".docx"}


def trend_for(src: Opened) -> Trend | None:
    """A stored version's trend: every version of its dataset up to it, when there is
    more than one.  A briefing that suppresses small numbers shows only what the
    publication ledger released for the earlier versions (`reports.documents.sections.
    trend`)."""
    if src.store is None or src.version is None:
        return None
    versions = src.store.versions(src.version.dataset)
    trend = trend_of(versions, upto=src.version.number)
    return trend if len(trend) > 1 else None


def public_figures(report: Report, template: Template, pub: Publishing) -> Figures:
    """The figures (and which are hidden) that `report`'s public briefing releases,
    through `pub`'s ledger: an earlier version's, for a comparison."""
    return released(pub, template, lambda prior: make_briefing(
        report, summarise(report), template, version=__version__, prior=prior)).figures


def _changes(src: Opened, report: Report, how: HowToRead, compare_with: Path | None,
             since_version: int | None, template: Template, pub: Publishing | None
             ) -> Changes | Report | None:
    """The "What changed" section's comparison, or the earlier version's invalid report."""
    if compare_with is None and since_version is None:
        return None
    if compare_with is not None and since_version is not None:
        raise UsageProblem("give --compare OLD or --since-version N, not both")
    if since_version is not None:
        if src.store is None or src.version is None:
            raise UsageProblem("--since-version N goes with --dataset NAME; for a file, use "
                               "--compare OLD")
        older = src.store.version(src.version.dataset, since_version)
        old_report, label = load_report(src.store, older), older.label
        old_pub = pub.of(older.sha256, label) if pub is not None else None
    else:
        assert compare_with is not None
        old_report = Opened(Source.of_file(compare_with), compare_with).check(
            HowToRead(how.sheets, how.mapping, how.encoding))
        label = compare_with.name
        old_pub = pub.of_file(compare_with) if pub is not None else None
    if not old_report.valid:
        return old_report
    comparison = compare(old_report, report, old_label=label)
    if old_pub is None:
        return Changes(comparison)
    return changes_since(comparison, public_figures(old_report, template, old_pub))
