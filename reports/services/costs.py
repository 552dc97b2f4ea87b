"""Use cases for `impact costs` and `impact equality`: read a schedule and, when it is
valid, work out its cost and saving, or its equality impact.  An invalid file is not an
exception: the result carries its report and no figures."""

from __future__ import annotations

from dataclasses import dataclass

from ..figures.costs import CostOptions, Costs, check_options, costs
from ..figures.equality import EQUALITY_THRESHOLD, Equality, equality
from ..intake.rules import Report
from .source import DEFAULT_READ, HowToRead, Source, Status, check, no_status


@dataclass
class CostsResult:
    report: Report
    costs: Costs | None


@dataclass
class EqualityResult:
    report: Report
    equality: Equality | None


def costs_source(source: Source, options: CostOptions, how: HowToRead = DEFAULT_READ, *,
                 status: Status = no_status) -> CostsResult:
    """The cost and saving of a file or stored version (`UsageProblem` for bad options,
    before the file is read)."""
    check_options(options)
    report = check(source, how, status=status)
    return CostsResult(report, costs(report, options) if report.valid else None)


def equality_source(source: Source, how: HowToRead = DEFAULT_READ, *,
                    threshold: int = EQUALITY_THRESHOLD,
                    status: Status = no_status) -> EqualityResult:
    """The equality impact of a file or stored version, small counts hidden."""
    report = check(source, how, status=status)
    return EqualityResult(report, equality(report, threshold) if report.valid else None)
