"""What the web portal shows and serves, built from the other services: a dataset's page,
its downloads (briefings, summaries, comparisons, the monthly files), an invalid
upload's findings, and the published public briefings (the upload workflow itself is
`uploads`).  No HTTP here: the portal (web/)
checks the role, calls one of these and returns the result.

Downloads are found by a dataset's store slug, a version number and an output's name
from `builds.CATALOGUE`, never by a path taken from a URL; monthly files only as the
month's manifest lists them.  Each version's outputs are built once, in the background
(`builds`), so a download reads a finished file or is told that it is being prepared.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..documents.template import load_builtin
from ..figures import trend as tr
from ..figures.totals import Summary, summarise
from ..intake.rules import Report
from ..model.codes import all_codes
from ..model.errors import UnknownDataset
from ..model.findings import Finding
from ..render import data
from ..render.html import FONT_STACK, readable_colours, trend_chart
from ..store.accounts import Accounts
from ..store.db import Dataset, Store, Version
from ..store.jobs import Jobs
from . import builds, datasets
from .monthly import read_manifest
from .source import load_report

AUDIENCES = builds.AUDIENCES
PUBLIC_BRIEFING = "briefing-public.pdf"
SLUG_MAX = 120      # the store's slug column
_MONTH = re.compile(r"\d{4}-\d{2}")


def find_dataset(store: Store, slug: str) -> Dataset:
    """The dataset whose store slug is `slug`; `UnknownDataset` otherwise (also for
    anything that is not a slug, such as '../x').  A slug with letters outside ASCII
    arrives as the browser sent it, perhaps decomposed (NFD): it is compared in NFC."""
    slug = unicodedata.normalize("NFC", slug or "")
    if not is_slug(slug):
        raise UnknownDataset("no such dataset")
    found = store.dataset_by_slug(slug)
    if found is None:
        raise UnknownDataset("no such dataset")
    return found


def is_slug(text: str) -> bool:
    """Whether `text` can be a store slug (`reports.store.paths.slugify`): letters, marks
    and digits of any script ('équipe-sud', 'команда-δ', 'हिंदी'), joined by hyphens, at
    most 120 characters.  Nothing else (no '.', '/', '%' or space) is ever looked up."""
    return (0 < len(text) <= SLUG_MAX and not text.startswith("-")
            and all(c == "-" or unicodedata.category(c)[0] in "LMN" for c in text))


@dataclass
class DatasetView:
    dataset: Dataset
    versions: list[Version]          # newest first
    history: list[dict[str, Any]]    # newest first, with "changes" since the one before
    summary: Summary | None
    tables: list[tuple[str, list[str], list[list[Any]]]]
    monthly: list[MonthlyFile]
    published: bool
    outputs: dict[int, list[OutputState]] = field(default_factory=dict)   # by version
    trend: dict[str, Any] | None = None   # the trend across versions (more than one)


@dataclass(frozen=True)
class OutputState:
    """One output of a version as the dataset page lists it."""

    output: builds.Output
    state: str                  # "done", "queued", "running" or "failed"
    error: str | None = None


GROUP_TITLES = {"by_team": "By team", "by_grade": "By grade", "by_location": "By site"}
_COLUMNS = (("baseline_fte", "Baseline FTE"), ("deleted_fte", "Deleted FTE"),
            ("pct_deleted", "% deleted"), ("retained_fte", "Retained FTE"),
            ("relocated_fte", "Relocated FTE"), ("created_fte", "Created FTE"),
            ("future_fte", "Future FTE"), ("at_risk_fte", "At-risk FTE"))


def summary_tables(summary: Summary) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, header, rows) for the tables by team, grade and site."""
    out = []
    keys = [(k, label) for k, label in _COLUMNS if k in summary.totals]
    for group, title in GROUP_TITLES.items():
        rows = summary.groups.get(group)
        if not rows:
            continue
        key = group.removeprefix("by_")
        header = [{"location": "Site"}.get(key, key.capitalize())] + [lb for _, lb in keys]
        out.append((title, header, [[r.get(key)] + [r.get(k) for k, _ in keys] for r in rows]))
    return out


def trend_view(versions: list[Version]) -> dict[str, Any] | None:
    """The dataset page's trend (issue 28): a row per version with each figure and its
    change since the version before, as the briefing's trend section prints them, and
    the briefing's chart of FTE by status per version; None for one version."""
    trend = tr.trend_of(versions)
    if len(trend) < 2:
        return None
    shown = [m for m in tr.MEASURES if trend.given(m)]
    rows = []
    for i, p in enumerate(trend.points):
        change = trend.change(i)
        rows.append({"label": p.label, "as_of": tr.as_of_text(p),
                     "changed": bool(trend.changed(i)),
                     "cells": [{"value": tr.fmt_value(m, p.values.get(m)),
                                "change": tr.fmt_change(m, change[m])
                                if change.get(m) else ""} for m in shown]})
    colours = load_builtin("union").colours
    return {"header": [tr.LABELS[m] for m in shown], "rows": rows,
            "chart": trend_chart(trend, colours), "colours": readable_colours(colours),
            "font_stack": FONT_STACK}


def dataset_view(store: Store, accounts: Accounts, slug: str, *, roles_monthly: set[str],
                 may: Any = lambda permission: True) -> DatasetView:
    """A dataset's page: its versions, each with the outputs `may` allow (a function of an
    output's permission) and how far each has got."""
    d = find_dataset(store, slug)
    versions = store.versions(d.name)
    history = datasets.history_dict(versions)
    report = load_report(store, d.latest)
    summary = summarise(report) if report.valid else None
    return DatasetView(d, list(reversed(versions)), list(reversed(history)), summary,
                       summary_tables(summary) if summary else [],
                       [f for f in monthly_files(store, d) if f.kind in roles_monthly],
                       d.name in accounts.published(), _output_states(store, versions, may),
                       trend_view(versions))


def _output_states(store: Store, versions: list[Version], may: Any
                   ) -> dict[int, list[OutputState]]:
    jobs = {(j.version, j.sha256, j.output): j for j in Jobs(store).of_dataset(
        versions[0].dataset)} if versions else {}
    out: dict[int, list[OutputState]] = {}
    earlier: Version | None = None
    for v in versions:
        folder = builds.folder_of(store.root, v)
        states = []
        for name in builds.outputs_of(v, earlier):
            o = builds.CATALOGUE[name]
            if not may(o.permission):
                continue
            job = jobs.get((v.number, v.sha256, name))
            # on PostgreSQL a done job's file is in the database, if not yet in this
            # server's folder (builds.fetch fills it)
            if (folder / name).is_file() or (
                    not store.embedded and job is not None and job.state == "done"):
                states.append(OutputState(o, "done"))
            elif job is not None and job.state == "failed":
                states.append(OutputState(o, "failed", job.error))
            else:
                states.append(OutputState(o, job.state if job and job.state != "done"
                                          else "queued"))
        out[v.number] = states
        earlier = v
    return out


# -- downloads ----------------------------------------------------------------


def find_version(store: Store, slug: str, number: int | None) -> Version:
    """Version `number` (None: the latest) of the dataset whose slug is `slug`;
    `UnknownDataset` if there is none.  One query: the portal asks on every download."""
    if number is None:
        return find_dataset(store, slug).latest
    slug = unicodedata.normalize("NFC", slug or "")
    found = store.version_by_slug(slug, number) if is_slug(slug) else None
    if found is None:
        raise UnknownDataset("no such version")
    return found


def download(store: Store, builder: builds.Builder | None, version: Version,
             output: str) -> builds.Fetched:
    """One output of a version: its finished file, "being prepared", or why it failed
    (`builds.fetch`).  `UnknownDataset` for an output that version does not have."""
    return builds.fetch(store, builder, version, output)


def download_name(version: Version, output: str) -> str:
    return f"{version.slug}-v{version.number}-{output}"


@dataclass(frozen=True)
class MonthlyFile:
    month: str
    path: str          # relative to the month's folder, as the manifest lists it
    kind: str          # union, management, public... or "full" (unsuppressed data)
    bytes: int


def _kind(slug: str, rel: str) -> str | None:
    parts = rel.split("/")
    if len(parts) < 2 or parts[0] != slug:
        return None
    if len(parts) == 2:
        m = re.fullmatch(r"briefing-([a-z0-9_-]+)\.pdf", parts[1])
        return m.group(1) if m else "full"
    return parts[1]                 # a suppressing audience's own folder


def monthly_files(store: Store, d: Dataset) -> list[MonthlyFile]:
    """The monthly job's files for one dataset, newest month first, as the manifests list
    them (STORE/reports/YYYY-MM/manifest.json)."""
    root = store.root / "reports"
    out: list[MonthlyFile] = []
    try:
        months = sorted((p.name for p in root.iterdir() if _MONTH.fullmatch(p.name)),
                        reverse=True)
    except OSError:
        return []
    for month in months:
        manifest = read_manifest(root / month) or {}
        for entry in manifest.get("datasets", []):
            if not isinstance(entry, dict) or entry.get("slug") != d.slug:
                continue
            for f in entry.get("files", []) or []:
                rel = str(f.get("path", ""))
                kind = _kind(d.slug, rel)
                if kind is not None:
                    out.append(MonthlyFile(month, rel, kind, int(f.get("bytes") or 0)))
    return out


def monthly_path(store: Store, slug: str, month: str, rel: str) -> tuple[Path, str]:
    """The file `rel` of `month` for dataset `slug` and its kind, only when the month's
    manifest lists it and it lies inside the month's folder."""
    d = find_dataset(store, slug)
    for f in monthly_files(store, d):
        if f.month == month and f.path == rel:
            folder = (store.root / "reports" / month).resolve()
            path = (folder / rel).resolve()
            if folder in path.parents and path.is_file():
                return path, f.kind
    raise UnknownDataset("no such monthly file")


# -- the published public briefing ------------------------------------------------


def publish(store: Store, accounts: Accounts, builder: builds.Builder | None, slug: str, *,
            by: str, address: str) -> builds.Fetched:
    """Publish the dataset's public briefing at its no-login address, once it is built and
    passes the public audit.  The answer says which: published (`path`), not yet built
    (`preparing`), or refused (`failed`, with why); only the first publishes."""
    d = find_dataset(store, slug)
    got = download(store, builder, d.latest, PUBLIC_BRIEFING)
    if got.path is not None:
        accounts.publish(d.name, by)
        accounts.log(by, "publish", f"published the public briefing of '{d.name}'", address)
    return got


def unpublish(store: Store, accounts: Accounts, slug: str, *, by: str, address: str) -> None:
    d = find_dataset(store, slug)
    accounts.unpublish(d.name)
    accounts.log(by, "unpublish", f"withdrew the public briefing of '{d.name}'", address)


def published_briefing(store: Store, accounts: Accounts, builder: builds.Builder | None,
                       slug: str) -> builds.Fetched | None:
    """The published public briefing of `slug` (of its latest version), or None: not
    published, unknown, or its latest version's public briefing fails the audit."""
    try:
        d = find_dataset(store, slug)
    except UnknownDataset:
        return None
    if d.name not in accounts.published():
        return None
    got = download(store, builder, d.latest, PUBLIC_BRIEFING)
    return None if got.failed is not None else got


# -- an invalid upload's findings ---------------------------------------------------

FINDINGS_SHOWN = 200      # a page lists this many; the CSV and the annotated copy, all


@dataclass
class FindingsView:
    """What the page of an invalid upload shows: how many findings of each kind, and the
    first few (errors first), in the order of the sheets and cells, so that HR can work
    down the sheet; the rest are in the findings CSV and the annotated copy."""

    total: int
    errors: int
    kinds: list[tuple[str, str, str, int]]   # (code, severity, title, count), most first
    shown: list[Any]                          # the first `FINDINGS_SHOWN`, by sheet and cell


def in_sheet_order(report: Report, items: list[Finding]) -> list[Finding]:
    """`items` by sheet (whole-file findings first, then the sheets in the file's order),
    then by cell: row by row, left to right."""
    sheets = {t.sheet: i for i, t in enumerate(report.workbook.tables)}
    return sorted(items, key=lambda f: (f.sheet is not None,
                                        sheets.get(f.sheet, len(sheets)) if f.sheet else 0,
                                        f.sheet or "", f.position))


def findings_view(report: Report, first: int = FINDINGS_SHOWN) -> FindingsView:
    ordered = report.findings.errors + report.findings.warnings
    counts: dict[str, int] = {}
    for f in ordered:
        counts[f.code] = counts.get(f.code, 0) + 1
    severity = {f.code: f.severity for f in ordered}
    titles = {c.id: c.title for c in all_codes()}
    kinds = [(code, severity[code], titles.get(code, code), n) for code, n in counts.items()]
    kinds.sort(key=lambda k: (k[1] != "error", -k[3], k[0]))
    return FindingsView(len(ordered), len(report.findings.errors), kinds,
                        in_sheet_order(report, ordered[:first]))


def findings_csv(report: Report) -> bytes:
    """Every error and warning of an invalid upload, as CSV."""
    return data.findings_csv(report.findings.errors + report.findings.warnings).encode("utf-8")
