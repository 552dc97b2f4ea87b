"""impact: read, validate and total post-level redundancy schedules.

The flow runs one way: read (`reports.reader`) -> validate (`reports.validate`)
-> total (`reports.totals`) -> render (`reports.export`, `reports.pdf`).
Over time: `reports.store` keeps every upload as a version (the only module
that touches the database), `reports.compare` says what changed between two
versions, and `reports.monthly` writes every dataset's reports for a month.

    >>> from reports import check, summarise
    >>> report = check("data/derbyshire_early_help.xlsx")
    >>> summarise(report).headline
    '132.5 of 221.5 FTE (59.8%) proposed for deletion; ...'
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from decimal import Decimal
from importlib import resources
from pathlib import Path

from .errors import ImpactError, InvalidData
from .reader import Limits, ReadOptions, read
from .schema import parse_mapping
from .totals import Summary, summarise
from .validate import Expectations, Report, validate

__version__ = "0.1.0"


def check(path: str | os.PathLike[str], *, sheets: Iterable[str] = (),
          mapping: Iterable[str] = (), encoding: str | None = None,
          expect_fte: Decimal | str | None = None,
          expect_deleted_fte: Decimal | str | None = None,
          limits: Limits | None = None) -> Report:
    """Read and validate one file.  Raises `ImpactError` only for whole-file problems."""
    options = ReadOptions(sheets=tuple(sheets), mapping=parse_mapping(list(mapping)),
                          encoding=encoding, limits=limits or Limits())
    workbook = read(path, options)
    expect = None
    if expect_fte is not None or expect_deleted_fte is not None:
        expect = Expectations(None if expect_fte is None else Decimal(str(expect_fte)),
                              None if expect_deleted_fte is None else
                              Decimal(str(expect_deleted_fte)))
    return validate(workbook, expect)


def sample_path(name: str) -> Path:
    """A sample spreadsheet shipped with the package (data/ in the repository)."""
    return Path(str(resources.files("reports.data").joinpath(name)))


def template_path(name: str) -> Path:
    """A briefing template shipped with the package (templates/ in the repository)."""
    return Path(str(resources.files("reports.templates").joinpath(name)))


__all__ = ["check", "summarise", "read", "validate", "Report", "Summary", "ImpactError",
           "InvalidData", "ReadOptions", "Limits", "Expectations", "sample_path",
           "template_path", "__version__"]
