"""Summarise one schedule: read, validate and total it (`impact summary`).

Apart from `briefs` so that a summary imports no part of the documents layer
(templates, sections, the briefing) unless an audience's briefing decides what
it publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..figures.totals import Summary, summarise
from .result import Result
from .source import DEFAULT_READ, HowToRead, Source, Status, no_status, opened

if TYPE_CHECKING:
    from ..figures.loss import Loss
    from ..figures.privacy import Protection


@dataclass
class Summarised:
    """A valid file's totals (for a public audience, only what the public briefing
    publishes, and the audit of what it hides)."""

    summary: Summary
    protection: Protection | None = None
    loss: Loss | None = None       # with `protection`: what the suppression costs
    unchecked: bool = False        # public, of a file with no ledger: see publication


def summarise_source(source: Source, how: HowToRead = DEFAULT_READ, *,
                     status: Status = no_status, audience: str | None = None,
                     template_file: Path | None = None, ledger_file: Path | None = None,
                     release_as: str = "impact summary") -> Result[Summarised]:
    """Read, validate and (when valid) total a file or a stored version.

    With an `audience` (or a template) whose briefing suppresses small numbers, the
    summary holds exactly the figures of that briefing: hidden ones as "[c]", ones it
    does not publish as None; its figures are audited with everything the dataset's
    publication ledger holds, and recorded there as released by `release_as`
    (`services.publication`).  Raises `Unpublishable` when no safe pattern exists.
    """
    with opened(source) as src:
        with status(f"Reading and checking {src.name.name} ..."):
            report = src.check(how)
        if not report.valid:
            return Result(report)
        summary = summarise(report)
        if audience is None and template_file is None:
            return Result(report, Summarised(summary))
        from . import publication  # start-up: templates and the documents layer
        from .briefs import choose_template, published

        template, _ = choose_template(audience or "union", template_file,
                                      audience is not None)
        if not template.suppresses:
            return Result(report, Summarised(summary))
        with publication.publishing(src, release_as, ledger_file) as pub:
            public, protection, loss = published(report, summary, template, pub)
        return Result(report, Summarised(public, protection, loss, unchecked=not pub.known))
