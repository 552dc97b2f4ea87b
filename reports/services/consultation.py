"""Use cases for the consultation table: the s.188 pack, selection pools and
redeployment, and a check of the employer's published figures (`reconcile`).

Each reads and validates one schedule and returns a `Result`; an invalid file is not an
exception: the result carries its report and no figures.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..figures.pools import DEFAULT_POOL, Pools, pools
from ..figures.reconcile import (
    TOTALS_ROWS,
    Claim,
    Reconciliation,
    claim_key,
    parse_value,
    reconcile,
)
from ..figures.s188 import S188Pack, s188_pack
from ..model.errors import UsageProblem
from .result import Result
from .source import DEFAULT_READ, HowToRead, Source, Status, check, no_status


def s188(source: Source, how: HowToRead = DEFAULT_READ, *, establishment: str | None = None,
         description: tuple[str, ...] = ("title", "grade"),
         first_dismissal: dt.date | None = None, today: dt.date | None = None,
         status: Status = no_status) -> Result[S188Pack]:
    """The s.188 pack of a file or a stored version."""
    report = check(source, how, status=status)
    if not report.valid:
        return Result(report)
    return Result(report, s188_pack(report, establishment=establishment,
                                    description=description,
                                    first_dismissal=first_dismissal, today=today))


def selection_pools(source: Source, how: HowToRead = DEFAULT_READ, *,
                    pool_by: tuple[str, ...] = DEFAULT_POOL,
                    status: Status = no_status) -> Result[Pools]:
    """Selection pools and redeployment candidates."""
    report = check(source, how, status=status)
    if not report.valid:
        return Result(report)
    return Result(report, pools(report, pool_by))


def parse_claims(pairs: Iterable[str] = (), claims_file: Path | None = None) -> list[Claim]:
    """Claims from MEASURE=VALUE pairs and a TOML file; `UsageProblem` for a bad one.

    The TOML file has one entry per claim, either `deleted_fte = 132.5` or a table
    with `value` and `published` (where the figure was published)::

        [deleted_fte]
        value = 132.5
        published = "Cabinet report, 12 March 2024, para 4.2"
    """
    claims: list[Claim] = []
    if claims_file is not None:
        try:
            doc = tomllib.loads(claims_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise UsageProblem(f"--claims {claims_file}: cannot read it as TOML ({e})") from None
        for name, entry in doc.items():
            value, published = entry, ""
            if isinstance(entry, dict):
                unknown = set(entry) - {"value", "published"}
                if "value" not in entry or unknown:
                    raise UsageProblem(f"--claims {claims_file}: [{name}] needs 'value' (and "
                                       f"optionally 'published'), nothing else")
                value, published = entry["value"], str(entry.get("published", ""))
            claims.append(_claim(name, value, published, f"--claims {claims_file}"))
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise UsageProblem(f"--claim {pair!r} is not MEASURE=VALUE, e.g. "
                               f"--claim deleted_fte=132.5")
        claims.append(_claim(name.strip(), value, "", "--claim"))
    if not claims:
        raise UsageProblem("give at least one --claim MEASURE=VALUE or --claims FILE.toml")
    return claims


def _claim(name: str, value: Any, published: str, where: str) -> Claim:
    try:
        key = claim_key(name)
        number = parse_value(value)
    except ValueError as e:
        raise UsageProblem(f"{where}: {e}") from None
    return Claim(key, number, published)


def check_claims(source: Source, claims: list[Claim], how: HowToRead = DEFAULT_READ, *,
                 status: Status = no_status) -> Result[Reconciliation]:
    """Each claim against the schedule.  A file whose only errors are
    Total / Sub-total rows that disagree with their rows is still checked: such a row
    may be where a claimed figure came from."""
    report = check(source, how, status=status)
    if any(f.code not in TOTALS_ROWS for f in report.findings.errors):
        return Result(report)
    return Result(report, reconcile(report, claims))
