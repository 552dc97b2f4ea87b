"""What a command reads: a file on disk or a stored version, and how to read it.

A `Source` names either a file (`Source.of_file`) or a version of a dataset in a
store (`Source.stored`); `check(source, how)` reads and validates it either way,
so no front end needs to know which it was given.  A stored version is read
from its original with the options it was uploaded with, unless others are
given, and its report names the original file, not the stored copy.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import intake
from ..intake.rules import Report
from ..model.errors import UsageProblem

if TYPE_CHECKING:              # types only: SQLAlchemy loads when a store is opened
    from ..store.db import Store, Version

# A front end's way to show that a slow step is under way: called with a line of
# text, it returns a context manager around the step ("Reading and checking ...").
Status = Callable[[str], AbstractContextManager[None]]


def no_status(text: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class HowToRead:
    """The options that say how to read a file, and the control totals it must meet."""

    sheets: tuple[str, ...] = ()
    mapping: tuple[str, ...] = ()
    encoding: str | None = None
    expect_fte: Decimal | None = None
    expect_deleted_fte: Decimal | None = None
    status_map: tuple[str, ...] = ()
    default_status: str | None = None
    where: tuple[str, ...] = ()
    header_row: int | None = None          # the header's sheet row (None: sought)
    one_post_per_row: bool = False         # each row is one post (1 post, 1.0 FTE)

    @property
    def read_options(self) -> dict[str, Any]:
        """How to read the file: what an upload keeps with its version (its profile).
        The later options appear only when given, so that a version stored before them
        keeps the same options."""
        out: dict[str, Any] = {
            "sheets": list(self.sheets), "mapping": list(self.mapping),
            "encoding": self.encoding, "status_map": list(self.status_map),
            "default_status": self.default_status, "where": list(self.where)}
        if self.header_row is not None:
            out["header_row"] = self.header_row
        if self.one_post_per_row:
            out["one_post_per_row"] = True
        return out

    @property
    def given(self) -> bool:
        """Whether any option that says how to read was given."""
        return any(v for v in self.read_options.values())

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HowToRead:
        """Back from `read_options` (a stored version's, or a profile's)."""
        return cls(sheets=tuple(options.get("sheets") or ()),
                   mapping=tuple(options.get("mapping") or ()),
                   encoding=options.get("encoding") or None,
                   status_map=tuple(options.get("status_map") or ()),
                   default_status=options.get("default_status") or None,
                   where=tuple(options.get("where") or ()),
                   header_row=options.get("header_row") or None,
                   one_post_per_row=bool(options.get("one_post_per_row")))

    def over(self, base: HowToRead | None) -> HowToRead:
        """These options, with `base`'s (a profile's) wherever these give none."""
        if base is None:
            return self
        return HowToRead(sheets=self.sheets or base.sheets, mapping=self.mapping or base.mapping,
                         encoding=self.encoding or base.encoding,
                         expect_fte=self.expect_fte, expect_deleted_fte=self.expect_deleted_fte,
                         status_map=self.status_map or base.status_map,
                         default_status=self.default_status or base.default_status,
                         where=self.where or base.where,
                         header_row=self.header_row or base.header_row,
                         one_post_per_row=self.one_post_per_row or base.one_post_per_row)

    def check_options(self) -> dict[str, Any]:
        """Keyword arguments for `intake.check`."""
        return {"sheets": self.sheets, "mapping": self.mapping, "encoding": self.encoding,
                "expect_fte": self.expect_fte, "expect_deleted_fte": self.expect_deleted_fte,
                "status_map": self.status_map, "default_status": self.default_status,
                "where": self.where, "header_row": self.header_row,
                "one_post_per_row": self.one_post_per_row}


DEFAULT_READ = HowToRead()


@dataclass(frozen=True)
class Source:
    """A file on disk, or a version of a stored dataset (None: the latest) in the store
    `store` whose database is `db` (None: $IMPACT_DB, else the store's SQLite file)."""

    file: Path | None = None
    dataset: str | None = None
    version: int | None = None
    store: Path | None = None
    db: str | None = None

    @classmethod
    def of_file(cls, path: str | Path) -> Source:
        return cls(file=Path(path))

    @classmethod
    def stored(cls, dataset: str, version: int | None = None,
               store: Path | None = None, db: str | None = None) -> Source:
        return cls(dataset=dataset, version=version, store=store, db=db)

    @classmethod
    def given(cls, file: Path | None, dataset: str | None, version: int | None,
              store: Path | None, db: str | None = None) -> Source:
        """FILE, or --dataset NAME [--version N] [--store DIR] [--db URL]; `UsageProblem`
        for a mix."""
        if dataset is None:
            if file is None:
                raise UsageProblem("Missing argument 'FILE' (or give --dataset NAME to read "
                                   "a stored version).")
            for value, option in ((version, "--version"), (store, "--store"), (db, "--db")):
                if value is not None:
                    raise UsageProblem(f"{option} goes with --dataset NAME, not FILE")
            return cls.of_file(file)
        if file is not None:
            raise UsageProblem(f"give FILE or --dataset NAME, not both (got {file} and "
                               f"--dataset {dataset})")
        return cls.stored(dataset, version, store, db)

    @property
    def is_stored(self) -> bool:
        return self.dataset is not None


@dataclass
class Opened:
    """A source ready to read: its display name, and for a stored version its store."""

    source: Source
    name: Path                     # the file, or the stored version's original name
    store: Store | None = None
    version: Version | None = None

    def check(self, how: HowToRead = DEFAULT_READ, *, meanwhile: tuple[str, ...] = ()
              ) -> Report:
        """Read and check the file.  `meanwhile`: modules to import while it is read
        (what the caller needs next; `intake.check`)."""
        if self.store is not None and self.version is not None:
            return load_report(self.store, self.version, how, meanwhile=meanwhile)
        return intake.check(self.name, **how.check_options(), meanwhile=meanwhile)


@contextlib.contextmanager
def opened(source: Source) -> Iterator[Opened]:
    """Open `source`: for a stored version, the store, and the version's file checked
    against its sha256 (`StoreError` if it is missing or damaged)."""
    if source.file is not None:
        yield Opened(source, source.file)
        return
    assert source.dataset is not None
    from ..store.db import Store  # start-up: SQLAlchemy, only when a store is opened

    with Store.open(source.store, db=source.db) as store:
        version = store.version(source.dataset, source.version)
        store.path_of(version)
        yield Opened(source, Path(version.original_name), store, version)


def check(source: Source, how: HowToRead = DEFAULT_READ, *,
          status: Status = no_status) -> Report:
    """Read and validate a file or a stored version.  Raises `ImpactError` only for
    whole-file problems (and a store or version that cannot be used)."""
    with opened(source) as src, status(f"Reading and checking {src.name.name} ..."):
        return src.check(how)


def load_report(store: Store, version: Version, how: HowToRead = DEFAULT_READ, *,
                meanwhile: tuple[str, ...] = ()) -> Report:
    """Rebuild a version's report from its stored original.

    The options it was uploaded with apply unless others are given.  The report
    names the original file, not its stored copy.
    """
    how = how.over(HowToRead.from_options(version.read_options))
    path = store.path_of(version)
    with tempfile.TemporaryDirectory(prefix="impact-read-") as tmp:
        # read it under its original name, so that a CSV's "sheet" (named after the file)
        # and every message say what the user uploaded, not the stored sha256 name
        named = Path(tmp) / version.original_name
        try:
            named.symlink_to(path.resolve())
        except (OSError, ValueError):
            named = path
        report = intake.check(named, **how.check_options(), meanwhile=meanwhile)
    report.workbook.path = path
    report.workbook.name = version.original_name
    return report
