"""Every service that reads a file answers with one type, `Result`: the value worked out
from the file, or, when the file cannot be used, no value and the report whose findings
say why (the same findings `reports.check` finds in that file)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import reports
from reports.figures.costs import CostOptions
from reports.services import briefs, comparisons, consultation, costs, summaries, uploads
from reports.services.result import Result
from reports.services.source import HowToRead, Source
from reports.store.db import Store
from tests.conftest import sample

BAD, GOOD = sample("broken_example.xlsx"), sample("derbyshire_early_help.xlsx")
DAY = date(2024, 3, 1)
CLAIMS = consultation.parse_claims(["deleted_fte=132.5"])


def _brief(path: Path, tmp: Path) -> Any:
    return briefs.brief(Source.of_file(path), output=tmp / "b.html", fmt="html",
                        reproducible=True)


def _upload(path: Path, tmp: Path) -> Any:
    with Store.open(tmp / "store", create=True) as store:
        return uploads.upload_file(store, path, "x", as_of=DAY, by="t", note="",
                                   how=HowToRead())


def _stored(tmp: Path) -> list[int]:
    """The versions of dataset "x" in `_upload`'s store (none without a store)."""
    if not (tmp / "store").exists():
        return []
    with Store.open(tmp / "store") as store:
        return [v.number for v in store.versions("x")] if "x" in store.names() else []


# each service, called on one file (the other side of a comparison is GOOD)
SERVICES = {
    "summarise_source": lambda p, tmp: summaries.summarise_source(Source.of_file(p)),
    "brief": _brief,
    "compare_sources, older": lambda p, tmp: comparisons.compare_sources(p, GOOD),
    "compare_sources, newer": lambda p, tmp: comparisons.compare_sources(GOOD, p),
    "costs_source": lambda p, tmp: costs.costs_source(
        Source.of_file(p), CostOptions(dismissal_date=DAY, today=DAY)),
    "equality_source": lambda p, tmp: costs.equality_source(Source.of_file(p)),
    "s188": lambda p, tmp: consultation.s188(Source.of_file(p), today=DAY),
    "selection_pools": lambda p, tmp: consultation.selection_pools(Source.of_file(p)),
    "check_claims": lambda p, tmp: consultation.check_claims(Source.of_file(p), CLAIMS),
    "upload_file": _upload,
}


def _findings(report: Any) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.sheet, f.cell) for f in report.findings]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_an_invalid_file_gives_no_value_and_its_report(name: str, tmp_path: Path) -> None:
    result = SERVICES[name](BAD, tmp_path)
    assert type(result) is Result
    assert not result.ok and result.value is None
    expected = reports.check(BAD)
    assert not expected.valid
    assert _findings(result.report) == _findings(expected)
    assert not (tmp_path / "b.html").exists()             # no briefing written
    assert _stored(tmp_path) == []                        # nothing stored


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_valid_file_gives_its_value(name: str, tmp_path: Path) -> None:
    result = SERVICES[name](GOOD, tmp_path)
    assert type(result) is Result
    assert result.ok and result.value is not None
    assert result.report.valid
    assert _findings(result.report) == _findings(reports.check(GOOD))
    if name == "brief":
        assert result.value.path == tmp_path / "b.html" and result.value.path.exists()
    if name == "upload_file":
        assert _stored(tmp_path) == [1] and result.value.version.number == 1


def test_reconcile_uses_a_file_whose_only_errors_are_totals_rows(tmp_path: Path) -> None:
    """`ok` is whether there is a value, not whether the report is valid."""
    from tests.conftest import make_xlsx
    from tests.test_consultation import RECON

    path = make_xlsx(tmp_path, RECON + [["Total", None, None, 9] + [None] * 7])
    report = reports.check(path)
    assert [f.code for f in report.findings.errors] == ["total-mismatch"]
    result = consultation.check_claims(Source.of_file(path), CLAIMS)
    assert result.ok and not result.report.valid
    # the other services refuse it
    assert not consultation.s188(Source.of_file(path), today=DAY).ok
