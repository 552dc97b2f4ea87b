"""Use cases for `impact costs` and `impact equality`: read a schedule and, when it is
valid, work out its cost and saving, or its equality impact.  An invalid file is not an
exception: the `Result` carries its report and no figures."""

from __future__ import annotations

import dataclasses

from ..figures.costs import CostOptions, Costs, check_options, costs
from ..figures.equality import PROTECT_ALL, Equality, EqualityRule, equality
from .result import Result
from .source import DEFAULT_READ, HowToRead, Source, Status, check, no_status


def costs_source(source: Source, options: CostOptions, how: HowToRead = DEFAULT_READ, *,
                 status: Status = no_status) -> Result[Costs]:
    """The cost and saving of a file or stored version (`UsageProblem` for bad options,
    before the file is read)."""
    check_options(options)
    report = check(source, how, status=status)
    return Result(report, costs(report, options) if report.valid else None)


def equality_rule(audience: str | None = None, kept: str | None = None) -> EqualityRule:
    """The equality rule of `audience`'s built-in template (None: an audience not known,
    every characteristic protected), with "kept" as given (None: the template's).
    `UsageProblem` for a definition of kept a public output does not allow."""
    if audience is None:
        rule = PROTECT_ALL
        return rule if kept is None else dataclasses.replace(rule, kept=kept)
    from ..documents.template import load_builtin, with_kept  # start-up: the templates, only here

    return with_kept(load_builtin(audience), kept).equality_rule


def equality_source(source: Source, how: HowToRead = DEFAULT_READ, *,
                    rule: EqualityRule = PROTECT_ALL,
                    status: Status = no_status) -> Result[Equality]:
    """The equality impact of a file or stored version, small counts hidden as `rule`
    says."""
    report = check(source, how, status=status)
    return Result(report, equality(report, rule) if report.valid else None)
