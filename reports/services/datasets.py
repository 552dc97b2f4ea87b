"""Use cases over the store: upload a schedule as a new version, list the datasets,
and a dataset's history (`comparisons` compares two files or two stored versions)."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .. import intake
from ..figures.compare import headline as change_headline
from ..figures.totals import totals_of
from ..figures.trend import by_month, trend_of
from ..intake.rules import Report
from ..model.errors import ImpactError
from ..model.formats import jsonable
from ..render import data, text
from ..store import faults
from ..store.db import Dataset, Store, Version, same_as
from ..store.paths import check_name
from . import builds
from .profiles import profile_of, save_profile
from .source import DEFAULT_READ, HowToRead

SLOW_ENV = "IMPACT_TEST_SLOW"


def os_user() -> str:
    """The login name, for a version's uploader when none is given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):  # no login name (a container, some crons)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass
class UploadResult:
    """What `upload` did: `created` is False when the same bytes were already the latest
    version (nothing is stored and the dataset's profile is left as it was); `same_as`
    names the earlier version a new one repeats byte for byte."""

    report: Report
    version: Version | None = None
    created: bool = False
    repaired: bool = False     # the version's stored copy was missing or damaged, now restored
    profile_used: bool = False  # read with (some of) the dataset's saved profile
    same_as: int | None = None  # a new version with the bytes of this earlier one

    @property
    def valid(self) -> bool:
        return self.report.valid

    def to_dict(self) -> dict[str, Any]:
        assert self.version is not None
        return {"created": self.created, "repaired": self.repaired, "same_as": self.same_as,
                "version": self.version.to_dict()}

    @property
    def personal_columns(self) -> list[str]:
        """Headings of personal-data columns the stored original still holds (a new
        version only): no report reads them, but the copy keeps them."""
        if not self.created:
            return []
        return [str(f.column) for f in self.report.findings.items
                if f.code in ("personal-data", "sensitive-columns")]


def upload(store: Store, path: str | os.PathLike[str], dataset: str, *,
           as_of: date, by: str | None = None, note: str = "",
           how: HowToRead = DEFAULT_READ, now: datetime | None = None,
           checked: Report | None = None, original_name: str | None = None,
           over_profile: bool = True) -> UploadResult:
    """Validate `path` and, if it is valid, store it as the next version of `dataset`.

    An invalid file stores nothing: the result holds its report and no version.
    Whole-file problems raise `ImpactError` as `reports.check` does.  `checked`: the
    report of this very file read with `how` over the saved profile, when the caller
    has just made it (the portal, which shows it first), so it is not read twice.
    `original_name`: the file's name as its uploader gave it, when `path` is a copy under
    another name (the portal's held upload); else `path`'s own name.  `over_profile=False`:
    `how` is the whole reading (the portal's, begun from the profile, whose choices may
    clear one of its options), not options over the saved profile.
    """
    name = check_name(dataset)
    saved = profile_of(store, name)
    used = how.over(saved) if over_profile else how  # options given win; the profile fills the rest
    report = checked if checked is not None else intake.check(path, **used.check_options())
    if not report.valid:
        return UploadResult(report, profile_used=used != how)
    version, created = store.add(
        path, name, sha256=report.workbook.sha256, original_name=original_name or Path(path).name,
        as_of=as_of, uploaded_by=by or os_user(), note=note or "",
        sheets=report.workbook.sheets_read, rows=report.workbook.rows_read,
        totals=totals_of(report), read_options=used.read_options, now=now,
        pause=pause_for_tests())
    repaired = not created and store.repair_file(version, path)
    if created:
        faults.point("upload.committed")
        try:                         # the portal's outputs of it, built in the background
            builds.queue_version(store, version)
        except ImpactError:          # stored all the same; a download queues them again
            pass
    # a refused duplicate (the latest version's bytes) stores nothing, so its options
    # change nothing either
    if created and (used.given or (not over_profile and saved is not None and used != saved)):
        save_profile(store, name, used)      # the next upload to `name` reads the same way
    same = same_as(store.versions(name), version) if created else None
    return UploadResult(report, version, created, repaired, profile_used=used != how,
                        same_as=same)


def upload_text(file_name: str, result: UploadResult) -> str:
    """What `impact upload` says: the version made or found, and any copy put back."""
    assert result.version is not None
    said = text.upload_text(file_name, result.version, result.created, result.same_as)
    if result.repaired:
        said += (f"\nThe stored copy of version {result.version.number} was missing or "
                 f"damaged; it has been restored from {text.file_name(file_name)}.")
    if result.profile_used:
        said += (f"\nRead with the reading options saved for {result.version.dataset!r} "
                 f"(see impact profile show).")
    return said


def pause_for_tests() -> float:
    """IMPACT_TEST_SLOW=SECONDS: pause at each step of storing a file, so that a test can
    kill an upload in the middle (never set in production)."""
    try:
        return max(0.0, float(os.environ.get(SLOW_ENV, "0") or 0))
    except ValueError:
        return 0.0


def history_text(versions: list[Version], items: list[dict[str, Any]]) -> str:
    """`impact history` as text, with a line under each version whose stored file is missing."""
    lines = text.history_text(versions, items).split("\n")
    for v in versions:
        if v.file_missing:
            head = f"Version {v.number}, as of "
            at = next((i for i, line in enumerate(lines) if line.startswith(head)), None)
            if at is None:
                continue
            lines.insert(at + 1, f"  Stored file missing: upload {text.file_name(v.original_name)} again to "
                                 f"restore it (see impact store check)")
    return "\n".join(lines)


def datasets_dict(items: list[Dataset]) -> list[dict[str, Any]]:
    return [{"dataset": d.name, "slug": d.slug, "versions": d.versions,
             "latest": d.latest.to_dict()} for d in items]


def history_output(versions: list[Version], fmt: str = "text", monthly: bool = False) -> str:
    """`impact history`: every version (`monthly`: each month's, as `impact monthly`
    chooses it) as text, JSON or CSV.  The JSON and CSV carry the trend series the
    briefing's trend section shows (`reports.figures.trend`)."""
    if monthly:
        trend = by_month(versions)
        if fmt == "json":
            return data.to_json(trend.to_list()) + "\n"
        if fmt == "csv":
            return data.trend_csv(trend)
        return text.printable(text.trend_text(versions[0].dataset, trend))
    if fmt == "json":
        return data.to_json(history_dict(versions)) + "\n"
    if fmt == "csv":
        return data.trend_csv(trend_of(versions))
    return text.printable(history_text(versions, history_dict(versions)))


def history_dict(versions: list[Version]) -> list[dict[str, Any]]:
    """Every version, oldest first, each with the change in every total since the one before,
    whether its stored file is missing, and its row of the trend series ("trend": the
    briefing's trend figures, their change and which changed)."""
    out = []
    before: Version | None = None
    series = {row["version"]: row for row in trend_of(versions).to_list()}
    for v in versions:
        item = v.to_dict()
        item["file_missing"] = v.file_missing
        item["same_as"] = same_as(versions, v)
        if before is None:
            item["changes"] = None
        else:
            item["changes"] = {
                "since": before.number,
                "headline": change_headline(before.totals, v.totals, before.label),
                "totals": jsonable({k: v.totals[k] - before.totals[k] for k in v.totals
                                    if k in before.totals and v.totals[k] is not None
                                    and before.totals[k] is not None})}
        item["trend"] = {k: series[v.number][k] for k in ("figures", "change", "changed")}
        out.append(item)
        before = v
    return out
