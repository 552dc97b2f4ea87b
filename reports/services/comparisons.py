"""Compare two versions of a schedule: two files, or two stored versions (`impact compare`).

Apart from `datasets` so that comparing two files imports neither the store
(SQLAlchemy) nor, unless an audience is given, the documents layer.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import intake
from ..figures.compare import Comparison, compare
from ..figures.totals import summarise
from ..model.errors import UsageProblem
from .result import Result
from .source import DEFAULT_READ, HowToRead, Opened, Source, load_report


@dataclass
class Compared:
    """A comparison of two valid versions.  For a suppressing audience, `public` is all
    that may be said of it (whole-file figures only)."""

    comparison: Comparison
    public: dict[str, Any] | None = None
    unchecked: bool = False        # public, of files with no ledger: see publication


def compare_sources(old: Path | None, new: Path | None, *, dataset: str | None = None,
                    from_version: int | None = None, to_version: int | None = None,
                    store_dir: Path | None = None, how: HowToRead = DEFAULT_READ,
                    audience: str | None = None, db: str | None = None,
                    ledger_file: Path | None = None,
                    release_as: str = "impact compare") -> Result[Compared]:
    """Compare two files, or two versions of a stored dataset (default: the latest and
    the one before it).  For a suppressing audience, both versions' figures are
    released through the dataset's publication ledger (the store's; for files,
    `ledger_file`, else one for this run alone), the earlier first.  The result's report
    is the newer version's, or, when either is invalid, the invalid one's (the older
    first)."""
    options = how.check_options()
    options.pop("expect_fte"), options.pop("expect_deleted_fte")
    with contextlib.ExitStack() as stack:
        if dataset is None:
            if old is None or new is None:
                raise UsageProblem("give two files, OLD and NEW, or --dataset NAME "
                                   "[--from N] [--to M]")
            if from_version is not None or to_version is not None or store_dir is not None \
                    or db is not None:
                raise UsageProblem("--from, --to, --store and --db go with --dataset NAME")
            sides = [(intake.check(path, **options), path.name) for path in (old, new)]
            newest = Opened(Source.of_file(new), new)
        else:
            if old is not None:
                raise UsageProblem("give two files or --dataset NAME, not both")
            from ..store.db import Store  # start-up: SQLAlchemy, only for --dataset

            store = stack.enter_context(Store.open(store_dir, db=db))
            pair = store.version_pair(dataset, from_version, to_version)
            sides = [(load_report(store, v, how), v.label) for v in pair]
            newest = Opened(Source.stored(dataset), Path(pair[1].original_name), store,
                            pair[1])
        for report, _ in sides:
            if not report.valid:
                return Result(report)
        comparison = compare(sides[0][0], sides[1][0], old_label=sides[0][1],
                             new_label=sides[1][1])
        if not audience:
            return Result(sides[1][0], Compared(comparison))
        from ..documents import public  # start-up: the documents layer, only for an audience
        from ..documents.briefing import make_briefing  # lazy: as above
        from ..documents.template import load_builtin  # start-up: as above
        from . import publication  # lazy: as above
        from .briefs import public_figures  # start-up: as above

        template = load_builtin(audience)
        if not template.suppresses:
            return Result(sides[1][0], Compared(comparison))
        (old_report, _), (new_report, _) = sides
        pub = stack.enter_context(publication.publishing(newest, release_as, ledger_file))
        old_pub = (pub.of(pair[0].sha256, pair[0].label) if dataset is not None
                   else pub.of_file(old))           # type: ignore[arg-type]
        old_fig = public_figures(old_report, template, old_pub)
        changes = public.changes_since(comparison, old_fig)
        new_fig = publication.released(pub, template, lambda prior: make_briefing(
            new_report, summarise(new_report), template, changes=changes,
            prior=prior)).figures
        return Result(new_report, Compared(comparison, public=public.public_changes(
            comparison, old_fig, new_fig, template.small_number_threshold),
            unchecked=not pub.known))
