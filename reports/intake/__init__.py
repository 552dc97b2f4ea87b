"""Reading a schedule and checking it: from a file on disk to a validated `Report`.

`reader` turns a file into tables of raw cells (with `guards`, `xlsx`, `csvfile`,
`tables` and the types in `workbook`); `rules` applies every validation rule to them.
`check()` does both.  Only whole-file problems raise (`ImpactError`); every
problem in the data is a `Finding`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from decimal import Decimal

from ..model.fields import (
    parse_header_row,
    parse_mapping,
    parse_status,
    parse_status_map,
    parse_where,
)
from .reader import read
from .rules import Expectations, Report, validate
from .workbook import Limits, ReadOptions


def check(path: str | os.PathLike[str], *, sheets: Iterable[str] = (),
          mapping: Iterable[str] = (), encoding: str | None = None,
          expect_fte: Decimal | str | None = None,
          expect_deleted_fte: Decimal | str | None = None,
          limits: Limits | None = None, status_map: Iterable[str] = (),
          default_status: str | None = None, where: Iterable[str] = (),
          one_post_per_row: bool = False, header_row: int | None = None,
          meanwhile: Iterable[str] = ()) -> Report:
    """Read and validate one file.  Raises `ImpactError` only for whole-file problems
    (and `UsageProblem` for options that cannot be applied).  `meanwhile` names modules
    the caller needs next, imported while the sheets are read (`ReadOptions`)."""
    options = ReadOptions(sheets=tuple(sheets), mapping=parse_mapping(list(mapping)),
                          encoding=encoding, limits=limits or Limits(),
                          status_map=parse_status_map(tuple(status_map)),
                          default_status=parse_status(default_status),
                          where=parse_where(tuple(where)),
                          one_post_per_row=one_post_per_row,
                          header_row=parse_header_row(header_row),
                          meanwhile=tuple(meanwhile))
    workbook = read(path, options)
    expect = None
    if expect_fte is not None or expect_deleted_fte is not None:
        expect = Expectations(None if expect_fte is None else Decimal(str(expect_fte)),
                              None if expect_deleted_fte is None else
                              Decimal(str(expect_deleted_fte)))
    return validate(workbook, expect)


__all__ = ["Expectations", "Limits", "ReadOptions", "Report", "check", "read", "validate"]
