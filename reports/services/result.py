"""What every service that reads a file returns: the value worked out from it, or, when
the file cannot be used, nothing but its report, whose findings say why.

An invalid file is not an exception (whole-file problems are: `ImpactError`); a front
end asks `ok`, and shows either the value or the report's findings, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from ..intake.rules import Report

T = TypeVar("T")


@dataclass
class Result(Generic[T]):
    """A file's `report`, and `value` (None when the file cannot be used).

    `report` is the report the value was worked out from; when `value` is None, the
    report that made it unusable (for two files, the invalid one's).  `ok` is not
    always `report.valid`: `impact reconcile` uses a file whose only errors are totals
    rows."""

    report: Report
    value: T | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None
