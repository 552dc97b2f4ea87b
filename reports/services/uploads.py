"""The upload workflow, for every front end: hold a file, check it, ask how to read it
when it cannot be read as it stands (the mapping step), and store it.

A held upload is a token folder under ``STORE/portal-pending/`` (owner-only): the file
under a safe name and ``upload.json`` (who, which dataset, the as-of date, the note and
the reading choices made so far).  On a PostgreSQL store every file written there goes
into the database too (`reports.store.shared`), and the folder is only a cache of it: a
request on another server, or after the folder was deleted, finds the upload there
(`find`), and discarding, storing or expiring one removes it from both.  `check_and_store` reads it with those choices over
the dataset's profile and answers with one `UploadResult`:

    stored          a new version (`stored.version`)
    duplicate       the dataset's latest version already holds these bytes
    needs-mapping   the file cannot be read as it stands and every error is one the
                    mapping step answers (`step` says what to ask); still held
    invalid         errors in the data (`findings`); still held while a choice may help
    refused         a whole-file problem (`problem`); nothing held

`choose` applies the answers (`Choices`: the header row, what each column holds or
ignore it, status words, a default status, each row one post, a filter on a column) and
checks again.  The choices become the dataset's profile when the file is stored, as
`impact upload` saves its options.  `impact upload` calls `upload_file`, the same
check and store without holding the file, and with no mapping step: its answer is a
`Result`, the version stored or the file's report.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from .. import intake
from ..intake.rules import Report
from ..intake.tables import Layout
from ..model import codes
from ..model.errors import ImpactError, UsageProblem
from ..model.fields import (
    COMPOUND_WORDS,
    FIELD_BY_NAME,
    FIELDS,
    REQUIRED,
    STATUS_TARGETS,
    STATUS_WORDS,
    normalise,
)
from ..model.fixes import MAP, Fixes
from ..store import shared
from ..store.db import MAX_FILE_NAME, Store
from ..store.files import PRIVATE_FILE, private_dir, write_private
from ..store.paths import check_name, fit_name
from . import datasets, outputs
from .portal import FindingsView, findings_csv, findings_view
from .profiles import profile_of
from .result import Result
from .source import HowToRead

PENDING = "portal-pending"
PENDING_KEEP_S = 3600
META = "upload.json"
FINDINGS_CSV = "findings.csv"       # a held invalid upload's findings, every one
SUFFIXES = (".xlsx", ".xlsm", ".csv")
IGNORE = "ignore"                   # a column's choice: leave it unused
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

STORED, DUPLICATE, NEEDS_MAPPING, INVALID, REFUSED = (
    "stored", "duplicate", "needs-mapping", "invalid", "refused")

Check = Callable[[Path, HowToRead], Report]
Record = Callable[[str, str], None]          # (audit action, what happened)


def _check(path: Path, how: HowToRead) -> Report:
    return intake.check(path, **how.check_options())


def _no_record(action: str, what: str) -> None:
    return None


# -- a held upload ------------------------------------------------------------------


@dataclass
class Held:
    """An upload held while it is checked and its reading chosen."""

    folder: Path
    user: str
    dataset: str
    as_of: date
    note: str
    file: str                      # the held copy's name, in `folder`
    original: str                  # the name its uploader gave it
    how: HowToRead                 # the choices made so far (the profile fills the rest)
    shown: str = ""                # the header row the last step showed ("row:sheet")
    header_found: bool = True      # ... as read (True), or only offered (False)
    sheets: int = 1                # how many sheets the last step offered rows of
    store: Store | None = field(default=None, repr=False, compare=False)

    @property
    def token(self) -> str:
        return self.folder.name

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def named(self) -> str:
        return f"{self.original} for '{self.dataset}'"

    def save(self) -> None:
        meta = {"user": self.user, "dataset": self.dataset, "as_of": self.as_of.isoformat(),
                "note": self.note, "file": self.file, "original": self.original,
                "how": self.how.read_options, "shown": self.shown,
                "header_found": self.header_found, "sheets": self.sheets}
        write_private(self.folder / META, json.dumps(meta).encode("utf-8"))
        self.share(META)

    def share(self, name: str) -> None:
        """On PostgreSQL, put the held file `name` (just written) into the database too."""
        if self.store is not None and not self.store.embedded:
            shared.put(self.store, shared.HELD, self.token, name, self.folder / name)

    def drop(self, name: str) -> None:
        """Remove the held file `name`, from the database too."""
        (self.folder / name).unlink(missing_ok=True)
        if self.store is not None and not self.store.embedded:
            shared.remove(self.store, shared.HELD, self.token, name)

    def annotated(self) -> Path | None:
        found = [p for p in (self.folder / "annotated.xlsx", self.folder / "annotated.xlsm")
                 if p.is_file()]
        return found[0] if found else None

    def findings_file(self) -> Path | None:
        path = self.folder / FINDINGS_CSV
        return path if path.is_file() else None


EARLIEST = date(1990, 1, 1)     # as `impact upload --as-of`: no schedule is older
LATEST_DAYS = 366


def dataset_name(name: str) -> str:
    """The dataset name given, checked as the store checks it; `ImpactError` (worded
    for the person in front of the form) for a blank one or one the store refuses."""
    if not name.strip():
        raise ImpactError("Choose an existing dataset or give a new name.")
    try:
        return check_name(name)
    except ImpactError as e:
        raise ImpactError(f"{str(e)[:1].upper()}{str(e)[1:]}.") from None


def check_as_of(as_of: date, today: date | None = None) -> None:
    """`ImpactError` for an as-of date before 1990 or more than a year ahead."""
    today = today or date.today()
    if not EARLIEST <= as_of <= today + timedelta(days=LATEST_DAYS):
        raise ImpactError("The as-of date is before 1990 or more than a year ahead; check it.")


def pending_root(store: Store) -> Path:
    """The folder of held uploads; those older than an hour are removed (on PostgreSQL:
    from the database too, those none of whose files was written for an hour)."""
    root = private_dir(store.root / PENDING)
    if not store.embedded:
        shared.remove_idle(store, shared.HELD,
                           shared.now() - timedelta(seconds=PENDING_KEEP_S))
    cutoff = time.time() - PENDING_KEEP_S
    for old in root.iterdir():
        try:
            if old.is_dir() and not old.is_symlink() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return root


def allowed_name(name: str) -> str:
    """The file's name as given, cut to what the store keeps; `ImpactError` unless it is
    an xlsx, xlsm or csv file."""
    original = fit_name(Path(name or "upload").name, MAX_FILE_NAME, chars=True)
    if Path(original).suffix.lower() not in SUFFIXES:
        raise ImpactError(f"{original} is not an xlsx, xlsm or csv file.")
    return original


def hold(store: Store, body: IO[bytes], name: str, dataset: str, *, as_of: date, note: str,
         user: str) -> Held:
    """Keep an uploaded file (read from `body`) under a new token, owner-only whatever
    the umask.  `dataset` is checked (`ImpactError` for a name the store refuses), and
    `name` must be an xlsx, xlsm or csv file's."""
    dataset = check_name(dataset)
    original = allowed_name(name)
    saved = profile_of(store, dataset)
    suffix = Path(original).suffix.lower()
    safe = _UNSAFE.sub("_", original).strip("._") or "upload"
    if Path(safe).suffix.lower() != suffix:
        safe += suffix
    safe = fit_name(safe)
    folder = private_dir(pending_root(store) / secrets.token_urlsafe(24))
    fd = os.open(folder / safe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), PRIVATE_FILE)
        shutil.copyfileobj(body, out)
    # the dataset's profile, if any: the choices made start from it
    held = Held(folder, user, dataset, as_of, note, safe, original,
                saved or HowToRead(), store=store)
    held.share(safe)
    held.save()
    return held


def find(store: Store, token: str | None, user: str) -> Held | None:
    """`user`'s held upload `token` (None if gone, another's, or not a token)."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    folder = store.root / PENDING / token
    try:
        if not store.embedded and not _from_database(store, token, folder):
            return None
        meta = json.loads((folder / META).read_text("utf-8"))
        if meta.get("user") != user:
            return None
        return Held(folder, meta["user"], meta["dataset"], date.fromisoformat(meta["as_of"]),
                    meta.get("note", ""), meta["file"], meta["original"],
                    HowToRead.from_options(meta.get("how") or {}), str(meta.get("shown", "")),
                    bool(meta.get("header_found", True)), int(meta.get("sheets", 1)),
                    store=store)
    except (OSError, ValueError, KeyError, TypeError):
        return None


_FETCH_TRIES = 3


def _from_database(store: Store, token: str, folder: Path) -> bool:
    """On PostgreSQL: make the cache folder of held upload `token` hold what the database
    holds of it (another server may have held it, or changed it since, and this folder
    may have been deleted); False, and no folder, if the database has no such upload
    (never held, or discarded, stored or expired, wherever that was done)."""
    for _ in range(_FETCH_TRIES):         # another server may write it meanwhile
        listed = shared.entries(store, shared.HELD, token)
        if META not in listed:
            shutil.rmtree(folder, ignore_errors=True)
            return False
        private_dir(private_dir(store.root / PENDING) / token)
        complete = True
        meta = listed[META]
        if not shared.cached(folder / META, meta):
            complete = shared.fetch(store, shared.HELD, token, meta, folder / META)
        try:
            kept = json.loads((folder / META).read_text("utf-8")).get("file")
        except (OSError, ValueError, AttributeError):
            kept = None
        for name, entry in listed.items():
            if name == META or not complete:
                continue
            path = folder / name
            # the held file itself is never rewritten under its name: its size will do
            if (path.is_file() and path.stat().st_size == entry.size if name == kept
                    else shared.cached(path, entry)):
                continue
            complete = shared.fetch(store, shared.HELD, token, entry, path)
        if complete:
            for extra in folder.iterdir():      # removed on another server since
                if extra.name not in listed and not extra.name.startswith("."):
                    extra.unlink(missing_ok=True)
            return True
    return False


def discard(held: Held) -> None:
    """Forget a held upload: its folder, and on PostgreSQL its files in the database."""
    shutil.rmtree(held.folder, ignore_errors=True)
    if held.store is not None and not held.store.embedded:
        shared.remove(held.store, shared.HELD, held.token)


# -- the mapping step ---------------------------------------------------------------


@dataclass(frozen=True)
class HeaderChoice:
    """A row that may be the header, as offered."""

    sheet: str
    row: int
    cells: tuple[str, ...]
    chosen: bool

    @property
    def value(self) -> str:
        return f"{self.row}:{self.sheet}"


@dataclass(frozen=True)
class ColumnChoice:
    """A column under the header row: what it holds now, and what it may be said to."""

    sheet: str
    letter: str
    heading: str
    read_as: str                  # its field now; IGNORE; or "" (unused)
    chosen: str                   # what the step pre-selects
    choices: tuple[str, ...]      # field names, the likeliest first


@dataclass(frozen=True)
class UnknownStatus:
    """A status word the reader did not recognise, and the statuses to offer for it."""

    word: str
    cells: tuple[str, ...]        # where it is, e.g. "Posts!E3" (the first few)
    choices: tuple[str, ...]      # statuses, the likeliest first


@dataclass
class MappingStep:
    """What the mapping step asks.  `headers`: the rows that may be the header (one is
    pre-selected); `unknown`: the columns no field was found for, `known` the others;
    `missing`: required fields no column holds; `statuses`: unknown status words; the
    rest: the current default status, one-post-per-row and filter, and the filters
    offered ("Heading=value" of the columns with a few values)."""

    headers: list[HeaderChoice] = field(default_factory=list)
    shown: str = ""                   # the pre-selected header row ("row:sheet")
    header_found: bool = True
    unknown: list[ColumnChoice] = field(default_factory=list)
    known: list[ColumnChoice] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    statuses: list[UnknownStatus] = field(default_factory=list)
    default_status: str = ""
    one_post_per_row: bool = False
    filters: list[tuple[str, str]] = field(default_factory=list)     # (heading, value)
    where: str = ""

    @property
    def needed(self) -> bool:
        """Whether the file cannot be read as it stands for a reason the step answers."""
        return not self.header_found or bool(self.missing) or bool(self.statuses)


def suggested_maps(fixes: Fixes) -> dict[str, str]:
    """The fields the fixes suggest for headings (normalised heading -> field), the
    likeliest of each; the first suggestion for a heading wins."""
    out: dict[str, str] = {}
    for way in fixes:
        for fix in way:
            if fix.option == MAP and fix.subject and fix.values:
                out.setdefault(normalise(fix.subject), fix.values[0])
    return out


def mapping_step(report: Report | None, layouts: tuple[Layout, ...] | list[Layout],
                 how: HowToRead, suggested: dict[str, str] | None = None) -> MappingStep:
    """The mapping step for a file read with `how` (`report`), or not read (None) with
    the `layouts` its reading found.  `suggested`: fields the reader suggests for some
    headings (`suggested_maps`), pre-selected; else each unused column's near miss."""
    suggested = dict(suggested or {})
    if report is not None:
        for f in report.findings:
            for heading, fld in suggested_maps(f.fixes).items():
                suggested.setdefault(heading, fld)
    found = report is not None or any(layout.header_row for layout in layouts)
    step = MappingStep(header_found=found, default_status=how.default_status or "",
                       one_post_per_row=how.one_post_per_row,
                       where=how.where[0] if how.where else "")
    if report is not None:
        layouts = report.workbook.layouts
    mapped = {normalise(m.rpartition("=")[0]): m.rpartition("=")[2].strip().lower()
              for m in how.mapping}
    # pre-selected: the first header row read, else the likeliest row of the first sheet
    shown = next(((lay.sheet, lay.header_row) for lay in layouts if lay.header_row), None)
    if shown is None:
        shown = next(((lay.sheet, lay.candidates[0].row) for lay in layouts
                      if lay.candidates), None)
    for layout in layouts:
        for cand in layout.candidates:
            step.headers.append(HeaderChoice(layout.sheet, cand.row, cand.cells,
                                             (layout.sheet, cand.row) == shown))
    step.shown = next((h.value for h in step.headers if h.chosen), "")
    if report is not None:
        missing = {f for t in report.workbook.tables for f in REQUIRED if f not in t.columns}
        if how.default_status:
            missing.discard("status")
        step.missing = [f for f in REQUIRED if f in missing]
    taken = set()
    for layout in layouts:
        taken |= {c.field for c in layout.columns if c.field}
    for layout in layouts:
        if layout.header_row is None:
            continue
        for c in layout.columns:
            if c.personal:
                continue
            hint = suggested.get(normalise(c.heading))
            hint = hint if hint in FIELD_BY_NAME or hint == IGNORE else None
            if c.field:
                step.known.append(ColumnChoice(layout.sheet, c.letter, c.heading, c.field,
                                               hint or c.field, _field_choices(c.heading, [])))
                continue
            was = IGNORE if c.ignored or mapped.get(normalise(c.heading)) in ("", "none",
                                                                              IGNORE) else ""
            # never pre-select a field another column holds already (or is pre-selected
            # for): two columns of one field is an error the user did not ask for
            hint = hint if hint == IGNORE or hint not in taken else None
            near = c.suggested if c.suggested and c.suggested not in taken else None
            chosen = hint or near or was or IGNORE
            taken.add(chosen)
            step.unknown.append(ColumnChoice(layout.sheet, c.letter, c.heading, was, chosen,
                                             _field_choices(c.heading, step.missing)))
            if 2 <= len(c.values):
                step.filters += [(c.heading, v) for v in c.values]
    if report is not None:
        step.statuses = _unknown_statuses(report)
    return step


def _unknown_statuses(report: Report) -> list[UnknownStatus]:
    words: dict[str, tuple[str, list[str]]] = {}
    for f in report.findings:
        if f.code != codes.STATUS_UNKNOWN.id or not f.value:
            continue
        key = normalise(f.value)
        word, cells = words.setdefault(key, (f.value, []))
        if len(cells) < 3:
            cells.append(f"{f.sheet}!{f.cell}")
    return [UnknownStatus(w, tuple(cells), _status_choices(w)) for w, cells in words.values()]


def only_mapping_errors(report: Report) -> bool:
    """Whether every error is one the mapping step can answer (a missing column, an
    unknown status word), so that it is asked before the findings are shown."""
    answerable = {codes.MISSING_COLUMN.id, codes.STATUS_UNKNOWN.id}
    return all(f.code in answerable for f in report.findings.errors)


def _field_choices(heading: str, missing: list[str]) -> tuple[str, ...]:
    """Every field, the missing ones first, then the closest to the heading by name."""
    key = normalise(heading)

    def score(fld: Any) -> float:
        return max(difflib.SequenceMatcher(None, key, normalise(a)).ratio()
                   for a in fld.aliases + (fld.name, fld.label))

    ranked = sorted(FIELDS, key=lambda f: (f.name not in missing, -score(f)))
    return tuple(f.name for f in ranked)


def _status_choices(word: str) -> tuple[str, ...]:
    """Every status a word can be mapped to, the closest to the word first (by the
    status words the reader knows for each)."""
    key = normalise(word)
    known: dict[str, list[str]] = {t: [t] for t in STATUS_TARGETS}
    for status, words in STATUS_WORDS.items():
        known[status] += list(words)
    for compound, (_, vacant) in COMPOUND_WORDS.items():
        known["deleted-vacant" if vacant else "deleted-occupied"].append(compound)

    def score(target: str) -> float:
        return max(difflib.SequenceMatcher(None, key, normalise(a)).ratio()
                   for a in known[target])

    return tuple(sorted(STATUS_TARGETS, key=lambda t: -score(t)))


def mapping_from(choices: dict[str, str], earlier: tuple[str, ...] = ()) -> tuple[str, ...]:
    """"Heading=field" (or "Words=status") strings for the choices made; "" leaves one
    as it was.  Earlier choices for other headings or words are kept."""
    chosen = {h: f for h, f in choices.items() if f}
    kept = [m for m in earlier if normalise(m.rpartition("=")[0])
            not in {normalise(h) for h in chosen}]
    return tuple(kept + [f"{h}={f}" for h, f in chosen.items()])


# -- the answers --------------------------------------------------------------------


class BadChoice(ValueError):
    """An answer that is none of those offered (a forged form)."""


@dataclass(frozen=True)
class Choices:
    """The mapping step's answers, as a front end collected them.

    `header`: a `HeaderChoice.value` ("row:sheet"), "" for no change; `shown`: the
    header row whose columns were shown (their answers apply only if it is still the
    header); `columns`: heading -> field, IGNORE, or "" (as read); `read_as`: heading ->
    what it was read as when shown (unchanged answers are not saved); `statuses`: word
    -> status or ""; `default_status`: a status or "" (none); `one_post_per_row`: None
    when not asked; `where`: "Heading=value", "" for every row, None when not asked."""

    header: str = ""
    shown: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    read_as: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    default_status: str | None = None
    one_post_per_row: bool | None = None
    where: str | None = None

    def validate(self) -> None:
        """`BadChoice` for a field, status or row that is none of those offered."""
        for value in self.columns.values():
            if value and value != IGNORE and value not in FIELD_BY_NAME:
                raise BadChoice(f"unknown field {value!r}")
        for value in [*self.statuses.values(), self.default_status or ""]:
            if value and value not in STATUS_TARGETS:
                raise BadChoice(f"unknown status {value!r}")
        if self.header and not re.fullmatch(r"[1-9]\d{0,6}:.*", self.header, re.S):
            raise BadChoice(f"not a header row {self.header!r}")
        if self.where and "=" not in self.where:
            raise BadChoice(f"not a filter {self.where!r}")


def apply(held: Held, choices: Choices) -> HowToRead:
    """The reading `held` asks for once `choices` are made.  A header row is set only
    when it is not the one read (a row chosen, or the row offered when none was found);
    the columns' answers apply only while the row they were shown under is the header."""
    choices.validate()
    how = held.how
    if choices.header and (choices.header != (choices.shown or held.shown)
                           or not held.header_found):
        text, _, sheet = choices.header.partition(":")
        how = replace(how, header_row=int(text),
                      sheets=(sheet,) if held.sheets > 1 else how.sheets)
    shown = choices.shown or held.shown       # a form that does not say: the last shown
    if choices.header in ("", shown) and shown == held.shown:
        changed = {h: v for h, v in choices.columns.items() if v != choices.read_as.get(h, "")}
        how = replace(how, mapping=mapping_from(changed, how.mapping))
    how = replace(how, status_map=mapping_from(choices.statuses, how.status_map))
    if choices.default_status is not None:
        how = replace(how, default_status=choices.default_status or None)
    if choices.one_post_per_row is not None:
        how = replace(how, one_post_per_row=choices.one_post_per_row)
    if choices.where is not None:
        how = replace(how, where=(choices.where,) if choices.where else ())
    return how


# -- checking and storing -----------------------------------------------------------


@dataclass
class UploadResult:
    """What became of an upload (see the module's docstring for `outcome`)."""

    outcome: str
    held: Held | None = None
    report: Report | None = None
    stored: datasets.UploadResult | None = None
    step: MappingStep | None = None
    findings: FindingsView | None = None
    problem: str | None = None
    annotated: bool = False

    @property
    def version(self) -> Any:
        return self.stored.version if self.stored is not None else None


def choose(store: Store, held: Held, choices: Choices, *, by: str, check: Check = _check,
           record: Record = _no_record) -> UploadResult:
    """Apply the mapping step's answers to a held upload and check it again.
    `BadChoice` for an answer that was never offered."""
    held.how = apply(held, choices)
    held.save()
    how = held.how
    record("mapping", f"reading {held.original} for '{held.dataset}': columns "
                      f"{'; '.join(how.mapping) or '(none)'}; status words "
                      f"{'; '.join(how.status_map) or '(none)'}"
                      + (f"; header row {how.header_row}" if how.header_row else "")
                      + (f"; default status {how.default_status}" if how.default_status
                         else "")
                      + ("; each row one post" if how.one_post_per_row else "")
                      + (f"; only rows where {how.where[0]}" if how.where else ""))
    return check_and_store(store, held, by=by, check=check, record=record)


_KEPT_NONE = re.compile(r"--where kept 0 of ([\d,]+) rows(.*)", re.S)


def _in_words(e: ImpactError) -> str:
    """Why a header row was read but no row kept, for the portal: a filter that keeps no
    row ("--where kept 0 of 54 rows; Month holds ...") is said without the option."""
    m = _KEPT_NONE.fullmatch(str(e)) if isinstance(e, UsageProblem) else None
    if m is None:
        return str(e)
    return (f"The filter on rows keeps none of this file's {m.group(1)} rows{m.group(2)}. "
            f"Choose another value, or read every row.")


def check_and_store(store: Store, held: Held, *, by: str, check: Check = _check,
                    record: Record = _no_record) -> UploadResult:
    """Check a held upload with its choices over the dataset's profile, and store it if
    it is valid.  It stays held while the mapping step may still help.  `held.how` is
    the whole reading: it began as the dataset's profile when the file was held, and a
    choice may clear one of the profile's options (a filter, a default status)."""
    how = held.how
    path = held.path
    try:
        report = check(path, how)
    except ImpactError as e:
        if e.layouts and any(layout.candidates for layout in e.layouts):
            step = mapping_step(None, e.layouts, how)
            found = step.header_found        # a header, but no rows under it (a filter)
            preview = None if found else _preview(held, how, step, check,
                                                  suggested_maps(e.fixes))
            if preview is not None:
                step = preview
            held.shown, held.header_found = step.shown, found
            held.sheets = len({h.sheet for h in step.headers})
            held.save()
            record("upload-needs-mapping", f"{held.named}: {e}")
            # why, when a header row was read: "no header row" is what the step asks
            return UploadResult(NEEDS_MAPPING, held, step=step,
                                problem=_in_words(e) if found else None)
        discard(held)
        record("upload-refused", f"{held.named}: {e}")
        return UploadResult(REFUSED, problem=str(e))
    if not report.valid:
        # the mapping step only for a file that cannot be stored as it is: its choices
        # rank every field against every column (difflib), half an upload's time
        step = mapping_step(report, (), how)
        held.shown, held.header_found = step.shown, True
        held.sheets = len({h.sheet for h in step.headers})
        held.save()
        if step.needed and only_mapping_errors(report):
            record("upload-needs-mapping", f"{held.named}: {len(step.unknown)} unknown "
                                           f"heading(s), {len(step.statuses)} unknown word(s)")
            return UploadResult(NEEDS_MAPPING, held, report, step=step)
        annotated = False
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            copy = f"annotated{path.suffix.lower()}"
            try:
                outputs.save_annotated(report, held.folder / copy, perms=PRIVATE_FILE)
                annotated = True
            except (ImpactError, OSError):
                annotated = False
            if annotated:
                held.share(copy)
        if not step.needed:          # kept only while the mapping may still be changed
            held.drop(path.name)
        # every finding, for download: a page shows the counts and the first few
        write_private(held.folder / FINDINGS_CSV, findings_csv(report))
        held.share(FINDINGS_CSV)
        record("upload-invalid", f"{held.named}: {len(report.findings.errors)} error(s); "
                                 f"nothing stored")
        return UploadResult(INVALID, held, report, step=step, findings=findings_view(report),
                            annotated=annotated)
    try:
        stored = datasets.upload(store, path, held.dataset, as_of=held.as_of, by=by,
                                 note=held.note, how=how, checked=report,
                                 original_name=held.original, over_profile=False)
    except ImpactError as e:
        discard(held)
        record("upload-refused", f"{held.named}: {e}")
        return UploadResult(REFUSED, report=report, problem=str(e))
    discard(held)
    v = stored.version
    assert v is not None
    record("upload", f"{held.named}: version {v.number}"
                     + ("" if stored.created else " (the same file as before)"))
    return UploadResult(STORED if stored.created else DUPLICATE, report=report, stored=stored,
                        findings=findings_view(report) if report.findings.warnings else None)


def _preview(held: Held, how: HowToRead, step: MappingStep, check: Check,
             suggested: dict[str, str]) -> MappingStep | None:
    """When no header row was found: the step as it would be with the likeliest row as
    the header, so that the same page asks what its columns hold."""
    chosen = next((h for h in step.headers if h.chosen), None)
    if chosen is None:
        return None
    several = len({h.sheet for h in step.headers}) > 1
    trial = replace(how, header_row=chosen.row, sheets=(chosen.sheet,) if several else how.sheets)
    try:
        report = check(held.path, trial)
    except ImpactError:
        return None
    preview = mapping_step(report, (), trial, suggested)
    preview.headers = step.headers
    preview.header_found = False
    return preview


def upload_file(store: Store, path: Path, dataset: str, *, as_of: date, by: str | None,
                note: str, how: HowToRead) -> Result[datasets.UploadResult]:
    """`impact upload`: check a file on disk with `how` over the profile and store it if
    it is valid, without holding it: the version stored (or found: `created` False), or
    the report of a file that stores nothing (a whole-file problem raises
    `ImpactError`)."""
    stored = datasets.upload(store, path, dataset, as_of=as_of, by=by, note=note, how=how)
    return Result(stored.report, stored if stored.version is not None else None)


def version_changes(store: Store, result: UploadResult) -> dict[str, Any] | None:
    """What changed since the version before the one stored (None for a first one)."""
    v = result.version
    if v is None:
        return None
    items = datasets.history_dict(store.versions(v.dataset))
    return next((i["changes"] for i in items if i["version"] == v.number), None)
