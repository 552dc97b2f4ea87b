"""Scheduled monthly reports: every dataset's briefings, written unattended.

`run_monthly(store, out, month)` takes, for each dataset in the store, the
latest version (highest number) whose as-of date is on or before the
month's last day, and writes under ``OUT/YYYY-MM/<dataset-slug>/``:

- ``briefing-<audience>.pdf`` for each audience (default union and management),
  each with a "What changed since last month" section after its headline;
- ``summary.xlsx`` and ``summary.json``;
- ``changes.json``: the comparison with last month's version.

``OUT/YYYY-MM/manifest.json`` lists every dataset, the version used, the
files written with their sha256, and any failure.

The run is idempotent and survives being killed:

- every file is written under a temporary name, fsynced and renamed into
  place, so a file under its final name is always whole;
- the manifest is rewritten (the same way) after each dataset, so a re-run
  after a kill keeps the datasets already done and finishes the rest;
- a month is complete when its manifest says so and every file it lists is
  there with the listed sha256; re-running it rewrites nothing (`force`
  rebuilds);
- one dataset failing does not stop the others; it is named in the manifest.

Nothing here reads the clock, or the environment but for how many processes to
use ($IMPACT_MONTHLY_WORKERS): the month, "now" (only recorded in the manifest)
and the renderer are passed in, so
``--month 2024-04`` gives the same April report whenever it runs.  PDFs are
built reproducibly and the xlsx carries the month's end as its timestamps, so
a rebuild gives byte-identical files.

A dataset's briefing can use its own template: put it in
``STORE/templates/<dataset-slug>/<audience>.toml`` (a copy of one in
``templates/``, edited).  On a PostgreSQL store the database keeps it too
(`reports.store.shared`): it is read from there first, the folder's file is its cache,
and a file placed or edited in a folder is put into the database when it is next read.
"""

from __future__ import annotations

import calendar
import contextlib
import errno
import functools
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from ..documents.blocks import Briefing, Figures
from ..documents.briefing import make_briefing
from ..documents.builder import Changes
from ..documents.public import changes_since, public_changes, public_summary
from ..documents.template import (
    AUDIENCES,
    Template,
    load_builtin,
    load_template,
    loads_template,
    template_bytes,
    template_path,
)
from ..figures.compare import compare
from ..figures.releases import Prior
from ..figures.totals import Summary, summarise
from ..figures.trend import Trend, by_month
from ..intake.rules import Report
from ..model.errors import (
    CannotWrite,
    ImpactError,
    InvalidData,
    StoreError,
    UnknownDataset,
    UsageProblem,
)
from ..model.formats import fmt_date, json_number
from ..model.version import __version__
from ..render.data import comparison_json, summary_json
from ..render.tagged import render_tagged  # it loads WeasyPrint only when it writes
from ..store import faults, shared
from ..store.db import EMBEDDED, Store, Version
from ..store.files import PRIVATE_FILE, atomic_output, fsync_dir, private_dir, sha256_file
from ..store.ledger import Ledger
from ..store.paths import slugify
from .briefs import public_figures
from .builds import xlsx_bytes
from .checking import usable_cpus
from .publication import Publishing, released
from .source import load_report

DEFAULT_AUDIENCES = ("union", "management")
TEST_SLOW_ENV = "IMPACT_TEST_SLOW"   # test hook: seconds to wait before each rename
MANIFEST = "manifest.json"
LOCK = ".impact-monthly.lock"
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
TEMPLATES_DIR = "templates"
SECTION_HEADING = "What changed since last month"


def pause_for_tests() -> float:
    """Seconds to wait before each file is renamed into place: $IMPACT_TEST_SLOW, which
    exists only so that tests can kill a real run mid-write (never set it in production)."""
    try:
        return float(os.environ.get(TEST_SLOW_ENV, "") or 0)
    except ValueError:
        return 0.0


# --------------------------------------------------------------------------
# months


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """'2024-04' -> Month(2024, 4).  Raises ValueError."""
        m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"'{text}' is not a month; give it as YYYY-MM, e.g. 2024-04")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def before(cls, today: date) -> Month:
        """The calendar month before the one `today` is in (a job on 1 May reports April)."""
        return cls(today.year, today.month).previous()

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def label(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


# --------------------------------------------------------------------------
# audiences


@dataclass(frozen=True)
class Audience:
    """An audience name and where its template comes from (a built-in name or a path)."""

    name: str
    path: Path | None = None       # None: the built-in template

    def template_for(self, store: Store, slug: str) -> tuple[Template, str]:
        """The template for one dataset, and the sha256 of its text (for the manifest)."""
        override = _override(store, slug, self.name)
        if override is not None:
            path = override
        elif self.path is not None:
            path = self.path
        else:
            path = template_path(f"{self.name}.toml")
        raw = template_bytes(path)     # a regular file under 1 MiB, read once
        return loads_template(raw, path.name), hashlib.sha256(raw).hexdigest()


def _override(store: Store, slug: str, audience: str) -> Path | None:
    """The file of the dataset's own template for `audience`, if it has one (on
    PostgreSQL the database's, first: the folder's file is its cache)."""
    path = store.root / TEMPLATES_DIR / slug / f"{audience}.toml"
    if not store.embedded:
        return shared.cache(store, shared.TEMPLATE, slug, path.name, path)
    return path if path.is_file() else None


def _own_template(store: Store, dataset: str, audience: str) -> tuple[str, Path]:
    """A dataset's own template file for one built-in audience: (its key, its path)."""
    if audience not in AUDIENCES:
        raise UsageProblem(f"audience {audience!r}: a dataset's own template is for one of "
                           f"{', '.join(AUDIENCES)}")
    if dataset not in store.names():
        raise UnknownDataset(f"no dataset named {dataset!r} in the store")
    slug = store.slug(dataset)
    return slug, store.root / TEMPLATES_DIR / slug / f"{audience}.toml"


def own_template(store: Store, dataset: str, audience: str) -> bytes | None:
    """The text of the dataset's own template for `audience`, or None (the built-in one
    is used)."""
    slug, _ = _own_template(store, dataset, audience)
    found = _override(store, slug, audience)
    return template_bytes(found) if found is not None else None


def set_own_template(store: Store, dataset: str, audience: str, source: Path) -> Path:
    """Make the template file `source` the dataset's own for `audience` (checked first, as
    `--audience FILE` checks it; on PostgreSQL kept in the database for every server)."""
    slug, path = _own_template(store, dataset, audience)
    raw = template_bytes(source)
    loads_template(raw, source.name)       # TemplateError: it cannot be used
    private_dir(path.parent.parent)
    private_dir(path.parent)
    with atomic_output(path, "wb", perms=PRIVATE_FILE) as fh:
        fh.write(raw)
    if not store.embedded:
        shared.keep(store, shared.TEMPLATE, slug, path.name, path)
    return path


def remove_own_template(store: Store, dataset: str, audience: str) -> bool:
    """Go back to the built-in template for `audience`: whether the dataset had its own
    (on PostgreSQL, removed from the database and from this folder)."""
    slug, path = _own_template(store, dataset, audience)
    had = path.is_file()
    if not store.embedded:
        entry = shared.entries(store, shared.TEMPLATE, slug).get(path.name)
        had = had or (entry is not None and entry.size != shared.REMOVED)
        shared.withdraw(store, shared.TEMPLATE, slug, path.name)   # from every folder too
    path.unlink(missing_ok=True)
    return had


def audiences_from(values: Sequence[str]) -> list[Audience]:
    """`--audience` values: built-in names (union, management, public) or template files.

    Raises `UsageProblem` for an unknown name or a missing file, and
    `TemplateError` for a template that cannot be used.
    """
    out: list[Audience] = []
    for value in values or DEFAULT_AUDIENCES:
        if value in AUDIENCES:
            load_builtin(value)
            audience = Audience(value)
        elif value.endswith(".toml"):
            path = Path(value)
            if not path.is_file():
                raise UsageProblem(f"--audience {value}: no such template file")
            template = load_template(path)
            audience = Audience(template.audience or slugify(path.stem) or "custom", path)
        else:
            raise UsageProblem(f"--audience {value}: give one of {', '.join(AUDIENCES)}, or a "
                               f"template file ending .toml")
        if audience.name in {a.name for a in out}:
            raise UsageProblem(f"--audience {value}: the audience '{audience.name}' is given "
                               f"twice")
        out.append(audience)
    return out


# --------------------------------------------------------------------------
# results


@dataclass
class DatasetRun:
    """What happened to one dataset: written, up to date, skipped or failed."""

    dataset: str
    status: str                    # "written" | "up to date" | "skipped" | "failed"
    entry: dict[str, Any]
    message: str = ""


@dataclass
class MonthlyResult:
    month: Month
    folder: Path
    runs: list[DatasetRun] = field(default_factory=list)
    already_complete: bool = False

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    @property
    def failures(self) -> list[DatasetRun]:
        return [r for r in self.runs if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def count(self, status: str) -> int:
        return sum(1 for r in self.runs if r.status == status)

    @property
    def files_written(self) -> int:
        return sum(len(r.entry.get("files", ())) for r in self.runs if r.status == "written")

    def summary_line(self) -> str:
        if self.already_complete:
            return (f"{self.month} is already complete in {self.folder} "
                    f"({self.count('up to date') + self.count('skipped')} dataset(s)); nothing "
                    f"rewritten. Use --force to rebuild it.")
        parts = [f"{self.count('written')} dataset(s) written ({self.files_written} files)"]
        for status in ("up to date", "skipped", "failed"):
            if self.count(status):
                parts.append(f"{self.count(status)} {status}")
        return f"{self.month}: {', '.join(parts)}; manifest {self.manifest}"


# A renderer writes one PDF briefing to `out`.  The default builds it with
# reports.render.pdf; tests pass their own.  For a suppressing template it is given the
# briefing already made (`briefing=`), whose audited figures the public files share.
Renderer = Callable[..., None]


def _with_prior(report: Report, summary: Summary, template: Template, changes: Changes,
                month: Month, version: Version, trend: Trend | None,
                prior: Prior | None) -> Briefing:
    return monthly_briefing(report, summary, template, changes=changes, month=month,
                            version=version, prior=prior, trend=trend)


def monthly_briefing(report: Report, summary: Summary, template: Template, *,
                     changes: Changes, month: Month, version: Version,
                     prior: Prior | None = None, trend: Trend | None = None) -> Briefing:
    """The template's briefing plus the "What changed" section (and, with `trend`, the
    trend across months), dated by the month it reports (no timestamps)."""
    return make_briefing(report, summary, template, version=__version__,
                         generated=f"for {month.label} from {version.label}",
                         changes=changes, prior=prior, trend=trend)


def render_pdf(report: Report, summary: Summary, template: Template, out: IO[bytes], *,
               changes: Changes, month: Month, version: Version,
               briefing: Briefing | None = None) -> None:
    """The default renderer: `monthly_briefing` (or the one already made, `briefing`),
    built reproducibly; tagged (PDF/UA) when the template says `renderer = "tagged"`,
    else by ReportLab."""
    briefing = briefing or monthly_briefing(report, summary, template, changes=changes,
                                            month=month, version=version)
    if template.renderer == "tagged":
        render_tagged(briefing, out, reproducible=True, version=__version__)
    else:
        from ..render.pdf import render  # start-up: ReportLab, only when a PDF is made

        render(briefing, out, reproducible=True, version=__version__)


WORKERS_ENV = "IMPACT_MONTHLY_WORKERS"


def workers_available() -> int:
    """How many processes build datasets at once: $IMPACT_MONTHLY_WORKERS (1: no pool),
    else the CPUs this process may use."""
    given = os.environ.get(WORKERS_ENV, "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    return usable_cpus()


# --------------------------------------------------------------------------
# the run


def run_monthly(store: Store, out: str | os.PathLike[str], month: Month, *,
                audiences: Sequence[Audience] | None = None, force: bool = False,
                progress: Callable[[str], None] | None = None,
                render: Renderer | None = None, now: datetime | None = None,
                pause: float = 0.0, debug: bool = False,
                workers: int | None = None) -> MonthlyResult:
    """Write `month`'s reports for every dataset in `store` under `out`/YYYY-MM.

    `progress` gets one line per dataset.  `pause` sleeps that many seconds
    before each file is renamed into place (a test hook, for killing a run
    mid-way).  `debug` lets an unexpected error in a dataset propagate instead
    of being recorded as that dataset's failure.

    Datasets are built by a pool of `workers` processes (default: one per CPU),
    since a tagged briefing takes seconds; the manifest is still written in the
    datasets' order, after each one.  With a `render` of the caller's, a `pause`, or
    one dataset to build, they are built in this process, one after another.
    """
    audiences = list(audiences) if audiences is not None else audiences_from(DEFAULT_AUDIENCES)
    pooled = render is None and not pause
    render = render or render_pdf
    folder = Path(out) / str(month)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"cannot create the output folder {folder}: {e.strerror or e}") \
            from None
    _refuse_links(folder, folder)
    claim_output(store, Path(out))
    result = MonthlyResult(month, folder)
    say = progress or (lambda line: None)
    with _locked(folder):
        _remove_partials(folder)
        previous = read_manifest(Path(out) / str(month.previous()))
        old = read_manifest(folder)
        old_entries = {e.get("slug"): e for e in (old or {}).get("datasets", [])}
        plans = [_plan(store, name, month, audiences, previous) for name in store.names()]
        if not force and old is not None and _complete(old, plans, folder, audiences):
            result.already_complete = True
            for plan in plans:
                status = "skipped" if plan.get("status") == "skipped" else "up to date"
                result.runs.append(DatasetRun(plan["dataset"], status,
                                              old_entries.get(plan["slug"], plan)))
            return result
        done: list[dict[str, Any]] = []
        to_build = [p for p in plans if "error" not in p and p["status"] != "skipped" and
                    (force or not _reusable(old_entries.get(p["slug"]), p, folder))
                    ] if pooled else []
        n_workers = min(workers or workers_available(), len(to_build)) if pooled else 1
        with _pool(n_workers) as pool:
            # a worker opens the same database: the store's own SQLite file, or the URL
            url = EMBEDDED if store.embedded else store.url
            builds = {p["slug"]: pool.submit(_build_apart, store.root, url, folder,
                                             month, p, audiences, debug)
                      for p in to_build} if pool is not None else {}
            for i, plan in enumerate(plans, 1):
                run = _one(store, folder, month, plan, audiences, render, pause, debug,
                           f"[{i}/{len(plans)}] {plan['dataset']}", force, old_entries,
                           builds.get(plan["slug"]), say)
                result.runs.append(run)
                done.append(run.entry)
                pending = [e for slug, e in old_entries.items()
                           if slug not in {d.get("slug") for d in done}]
                with contextlib.suppress(CannotWrite):   # the final write below reports it
                    _write_manifest(folder, month, audiences, done + pending, complete=False,
                                    now=now)
        try:
            _write_manifest(folder, month, audiences, done, complete=result.ok, now=now)
        except CannotWrite as e:      # a full disk: say which datasets were not written
            raise MonthNotWritten(e, result) from None
    return result


class MonthNotWritten(CannotWrite):
    """The month's manifest cannot be written (a full disk, say): the month is not
    complete, and the message names every dataset that failed before it."""

    def __init__(self, error: CannotWrite, result: MonthlyResult) -> None:
        ImpactError.__init__(self, str(error) + _failed_names(result))
        self.path, self.errno = error.path, error.errno
        self.result = result


def _failed_names(result: MonthlyResult) -> str:
    failed = [r.dataset for r in result.failures]
    written = result.count("written")
    if not failed:
        return f"; the month is not complete ({written} dataset(s) were written)"
    names = ", ".join(f"'{n}'" for n in failed[:20]) + (
        f" and {len(failed) - 20:,} more" if len(failed) > 20 else "")
    return (f"; the month is not complete: {len(failed):,} dataset(s) failed ({names}), "
            f"{written} written")


def _one(store: Store, folder: Path, month: Month, plan: dict[str, Any],
         audiences: Sequence[Audience], render: Renderer, pause: float, debug: bool,
         head: str, force: bool, old_entries: dict[Any, dict[str, Any]],
         built: Future[DatasetRun] | None, say: Callable[[str], None]) -> DatasetRun:
    """One dataset's run: failed or skipped at planning, up to date, or built (here, or
    by the pool: `built`)."""
    name = plan["dataset"]
    if "error" in plan:
        run = DatasetRun(name, "failed", plan, plan["error"])
        say(f"{head}: FAILED: {plan['error']}")
    elif plan["status"] == "skipped":
        run = DatasetRun(name, "skipped", plan, plan["note"])
        say(f"{head}: skipped: {plan['note']}")
    elif built is None and not force and \
            _reusable(old_entries.get(plan["slug"]), plan, folder):
        run = DatasetRun(name, "up to date", old_entries[plan["slug"]])
        say(f"{head}: up to date (version {plan['version']})")
    else:
        say(f"{head}: version {plan['version']} (as of "
            f"{fmt_date(date.fromisoformat(plan['as_of']))}) …")
        if built is None:
            run = _build(store, folder, month, plan, audiences, render, pause, debug)
        else:
            run = _pooled_result(built, plan, debug)
        say(f"{head}: {run.status}" + (f": {run.message}" if run.message else
                                       f", {len(run.entry['files'])} files"))
    return run


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of `workers` processes (forked where the system can), or None for one."""
    if workers < 2:
        yield None
        return
    import multiprocessing  # only a run with several datasets to build uses a pool

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield pool


def _build_apart(root: Path, url: str, folder: Path, month: Month, plan: dict[str, Any],
                 audiences: Sequence[Audience], debug: bool) -> DatasetRun:
    """`_build` in a pool's process, over its own connection to the store."""
    with Store(root, url=url, create=False) as store:
        return _build(store, folder, month, plan, audiences, render_pdf, 0.0, debug)


def _pooled_result(built: Future[DatasetRun], plan: dict[str, Any], debug: bool) -> DatasetRun:
    """A pooled build's run; a failure to run it at all is that dataset's failure."""
    entry = {k: plan[k] for k in ("dataset", "slug", *_PLAN_KEYS)}
    try:
        return built.result()
    except ImpactError as e:
        return DatasetRun(plan["dataset"], "failed", {**entry, "status": "failed",
                                                      "error": str(e)}, str(e))
    except Exception as e:  # one dataset's bug (or a dead worker) must not stop the others
        if debug:
            raise
        message = f"internal error ({type(e).__name__}: {e}); this is a bug in impact"
        return DatasetRun(plan["dataset"], "failed", {**entry, "status": "failed",
                                                      "error": message}, message)


def _plan(store: Store, name: str, month: Month, audiences: Sequence[Audience],
          previous: dict[str, Any] | None) -> dict[str, Any]:
    """What this month's report of one dataset is made from."""
    slug = store.slug(name)        # unique among datasets (names that share a label get a hash)
    plan: dict[str, Any] = {"dataset": name, "slug": slug}
    try:
        version = store.version_as_of(name, month.last_day)
        if version is None:
            return {**plan, "status": "skipped",
                    "note": f"no version has an as-of date on or before "
                            f"{fmt_date(month.last_day)}"}
        prev = _previous_version(store, name, slug, month, previous)
    except ImpactError as e:
        return {**plan, "status": "failed", "error": str(e)}
    return {**plan, "status": "ok", "audiences": _audience_ids(audiences),
            "version": version.number, "version_id": version.id,
            "as_of": version.as_of.isoformat(), "source_sha256": version.sha256,
            "source_file": version.original_name, "previous": prev}


def _previous_version(store: Store, name: str, slug: str, month: Month,
                      previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """The version last month's run used: from its manifest, found in the store by its
    row id and sha256, never by its number alone (after a restore a new upload may
    reuse a number); else by the same rule as this month's."""
    prev_month = month.previous()
    for entry in (previous or {}).get("datasets", []):
        if entry.get("slug") == slug and entry.get("status") == "ok":
            try:
                held = store.versions(name)
            except UnknownDataset:
                break
            same = [v for v in held if v.sha256 == entry.get("source_sha256") and
                    entry.get("version_id", v.id) == v.id]
            if not same:
                break
            v = same[-1]
            return {"month": str(prev_month), "version": v.number, "version_id": v.id,
                    "sha256": v.sha256, "from": "manifest"}
    version = store.version_as_of(name, prev_month.last_day)
    if version is None:
        return None
    return {"month": str(prev_month), "version": version.number, "version_id": version.id,
            "sha256": version.sha256, "from": "store"}


STORE_ID_FILE = ".impact-store-id"


def claim_output(store: Store, out: Path) -> None:
    """Record in the output folder the id of the store whose reports it holds, and refuse
    another store's: two stores writing one folder would overwrite each other's months."""
    path = out / STORE_ID_FILE
    try:
        found = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        found = ""
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read {path}: {e}") from None
    if found and found != store.id:
        raise StoreError(f"the output folder {out} holds the monthly reports of another "
                         f"store (id {found}; this one is {store.id}); give each store its "
                         f"own --out folder")
    if not found:
        with atomic_output(path, "w") as fh:
            fh.write(store.id + "\n")


_PLAN_KEYS = ("status", "audiences", "version", "version_id", "as_of", "source_sha256",
              "source_file", "previous")
# What makes a dataset's output the right one.  A template edited, or last month re-run,
# after a month is complete does not make it incomplete: --force rebuilds it.
_IDENTITY = ("status", "audiences", "version", "source_sha256")


def _audience_ids(audiences: Sequence[Audience]) -> list[str]:
    """'union', or 'union=branch.toml' for a template given on the command line."""
    return [a.name if a.path is None else f"{a.name}={a.path.resolve()}" for a in audiences]


def _reusable(entry: dict[str, Any] | None, plan: dict[str, Any], folder: Path) -> bool:
    if entry is None or entry.get("status") != "ok" or plan.get("status") != "ok":
        return False
    if any(entry.get(k) != plan.get(k) for k in _IDENTITY):
        return False
    return verify_files(folder, entry.get("files", []))


def _complete(manifest: dict[str, Any], plans: list[dict[str, Any]], folder: Path,
              audiences: Sequence[Audience]) -> bool:
    if not manifest.get("complete") or manifest.get("audiences") != _audience_ids(audiences):
        return False
    entries = {e.get("slug"): e for e in manifest.get("datasets", [])}
    if set(entries) != {p["slug"] for p in plans}:
        return False
    for plan in plans:
        entry = entries[plan["slug"]]
        if plan.get("status") == "skipped":
            if entry.get("status") != "skipped":
                return False
        elif not _reusable(entry, plan, folder):
            return False
    return True


def verify_files(folder: Path, files: Sequence[dict[str, Any]]) -> bool:
    """Whether every listed file exists under `folder` with the listed sha256."""
    try:
        for f in files:
            if sha256_file(folder / f["path"]) != f["sha256"]:
                return False
    except (OSError, KeyError, TypeError):
        return False
    return True


def _build(store: Store, folder: Path, month: Month, plan: dict[str, Any],
           audiences: Sequence[Audience], render: Renderer, pause: float,
           debug: bool) -> DatasetRun:
    name, slug = plan["dataset"], plan["slug"]
    entry = {k: plan[k] for k in ("dataset", "slug", *_PLAN_KEYS)}
    try:
        version = store.version(name, plan["version"])
        report, summary = _derive(store, version)
        prev = plan["previous"]
        comparison = None
        old_report: Report | None = None
        old_version: Version | None = None
        if prev is None:
            note = (f"This is the first monthly report of '{name}': no version was dated on or "
                    f"before {fmt_date(month.previous().last_day)}, so there is nothing to "
                    f"compare with.")
        elif prev.get("version_id") == version.id and prev.get("sha256") == version.sha256:
            note = (f"No new version since last month: {version.label} was used for "
                    f"{Month.parse(prev['month']).label} too.")
        else:
            old_version = store.version(name, prev["version"])
            old_report, old_summary = _derive(store, old_version)
            comparison = compare(old_report, report, old_label=old_version.label,
                                 new_label=version.label, old_summary=old_summary,
                                 new_summary=summary)
            note = ""
        entry["headline"] = summary.headline
        entry["changes"] = comparison.headline if comparison else note
        target = folder / slug
        files: list[dict[str, Any]] = []
        entry["templates"] = {}
        full = False                   # whether any audience sees every figure
        for audience in audiences:
            template, entry["templates"][audience.name] = audience.template_for(store, slug)
            if not template.suppresses:
                full = True
                changes = Changes(comparison, note, SECTION_HEADING)
                # with a trend across months, made here (a renderer is given no store)
                trend = by_month(store.versions(name), month.last_day)
                made: Briefing | None = monthly_briefing(
                    report, summary, template, changes=changes, month=month,
                    version=version, trend=trend) if len(trend) > 1 else None
                out = target / f"briefing-{audience.name}.pdf"
            else:
                # both versions' figures go through the dataset's publication ledger
                pub = Publishing(Ledger.of_store(store), name, version.sha256, version.label,
                                 f"monthly {month} {audience.name}")
                old_fig = (public_figures(old_report, template, pub.of(
                    old_version.sha256, old_version.label))
                           if old_report is not None and old_version is not None else None)
                changes = changes_since(comparison, old_fig, note, SECTION_HEADING)
                # one briefing (and one disclosure audit) for the PDF and the files beside
                # it; its trend gives only what the ledger released for earlier months
                trend = by_month(store.versions(name), month.last_day)
                made = released(pub, template, functools.partial(
                    _with_prior, report, summary, template, changes, month, version,
                    trend if len(trend) > 1 else None))
                files += _public_files(folder, target / audience.name, month, name, version,
                                       prev, summary, template, changes, old_fig, made,
                                       pause)
                out = target / audience.name / "briefing.pdf"
            buf = io.BytesIO()
            render(report, summary, template, buf, changes=changes, month=month,
                   version=version, briefing=made)
            files.append(_write(folder, out, buf.getvalue(), pause))
        if full:
            files.append(_write(folder, target / "summary.xlsx",
                                xlsx_bytes(summary, version.as_of), pause))
            files.append(_write(folder, target / "summary.json",
                                summary_json(summary).encode("utf-8") + b"\n", pause))
            record = {"month": str(month), "dataset": name, "version": version.number,
                      "previous": prev, "headline": entry["changes"],
                      "comparison": json.loads(comparison_json(comparison)) if comparison
                      else None}
            files.append(_write(folder, target / "changes.json", _json_bytes(record), pause))
    except ImpactError as e:
        return DatasetRun(name, "failed", {**entry, "status": "failed", "error": str(e)},
                          str(e))
    except Exception as e:  # one dataset's bug must not stop the others
        if debug:
            raise
        message = f"internal error ({type(e).__name__}: {e}); this is a bug in impact"
        return DatasetRun(name, "failed", {**entry, "status": "failed", "error": message},
                          message)
    entry["files"] = files
    return DatasetRun(name, "written", entry)


def _public_files(folder: Path, target: Path, month: Month, name: str, version: Version,
                  prev: dict[str, Any] | None, summary: Summary, template: Template,
                  changes: Changes, old_fig: Figures | None, briefing: Briefing,
                  pause: float) -> list[dict[str, Any]]:
    """A suppressing audience's own folder: only what its briefing publishes, and what
    changed in whole-file figures as far as both versions' briefings allow; no post."""
    public = public_summary(briefing)
    files = [_write(folder, target / "summary.xlsx", xlsx_bytes(public, version.as_of),
                    pause),
             _write(folder, target / "summary.json",
                    summary_json(public).encode("utf-8") + b"\n", pause)]
    said = None
    if changes.comparison is not None and old_fig is not None:
        said = public_changes(changes.comparison, old_fig, briefing.figures,
                              template.small_number_threshold)
    record = {"month": str(month), "dataset": name, "version": version.number,
              "previous": prev, "comparison": said}
    files.append(_write(folder, target / "changes.json", _json_bytes(record), pause))
    return files


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n"
            ).encode("utf-8")


def _json_default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):   # whole numbers as int, else float: as every export
        return json_number(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _derive(store: Store, version: Version) -> tuple[Report, Summary]:
    report = load_report(store, version)
    if not report.valid:
        raise InvalidData(report, f"version {version.number} of '{version.dataset}' no longer "
                                  f"passes validation ({len(report.findings.errors)} error(s)); "
                                  f"see: impact validate --dataset \"{version.dataset}\" "
                                  f"--version {version.number}")
    return report, summarise(report)


# --------------------------------------------------------------------------
# files


def _write(folder: Path, path: Path, data: bytes, pause: float) -> dict[str, Any]:
    """Write `data` to `path` atomically; its manifest record.  A symbolic link on the
    way (the month's folder, a dataset's folder, the file itself) is refused, never
    followed: the run writes inside its output folder and nowhere else."""
    _refuse_links(folder, path)
    with atomic_output(path) as fh:
        fh.write(data)
        faults.point("monthly.part-written")
        if pause:
            time.sleep(pause)
    return {"path": path.relative_to(folder).as_posix(),
            "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """A month's manifest, or None if there is none (or it cannot be read)."""
    try:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_manifest(folder: Path, month: Month, audiences: Sequence[Audience],
                    entries: list[dict[str, Any]], *, complete: bool,
                    now: datetime | None) -> None:
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    manifest = {
        "month": str(month),
        "period_end": month.last_day.isoformat(),
        "complete": complete,
        "generated_at": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "impact_version": __version__,
        "audiences": _audience_ids(audiences),
        "datasets": entries,
        "failures": [{"dataset": e["dataset"], "error": e["error"]}
                     for e in entries if e.get("status") == "failed"],
    }
    _refuse_links(folder, folder / MANIFEST)
    with atomic_output(folder / MANIFEST, "w") as fh:
        fh.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _refuse_links(folder: Path, path: Path) -> None:
    """`CannotWrite` if `path`, or a folder between it and `folder` (inclusive), is a
    symbolic link."""
    here = path
    while True:
        if here.is_symlink():
            raise CannotWrite(path, OSError(errno.ELOOP, f"{here} is a symbolic link, which "
                                                         f"impact monthly does not follow"))
        if here == folder or here.parent == here:
            return
        here = here.parent


def _remove_partials(folder: Path) -> None:
    """Temporary files left by a run that was killed (a whole file is never one of them).

    The walk never follows a symbolic link, and a link named like a temporary file is
    left alone: a link in the output folder cannot make the run delete anything
    outside it."""
    if folder.is_symlink():
        return
    for root, _dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            part = Path(root) / name
            if name.startswith(".") and name.endswith(".part") and not part.is_symlink():
                with contextlib.suppress(OSError):
                    part.unlink()
    fsync_dir(folder)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One run per month folder at a time."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    try:
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | O_NOFOLLOW, 0o644)
    except OSError as e:
        raise CannotWrite(folder / LOCK, e) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StoreError(f"another 'impact monthly' is writing {folder} now; wait for it "
                             f"to finish") from None
        yield
    finally:
        os.close(fd)


