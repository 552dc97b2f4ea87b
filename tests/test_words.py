"""Words and figures that cannot mislead (issue 8): money split three ways, "at risk"
named for what it counts, and per-team figures a rep needs.  The expected amounts are
those the issue states for the Derbyshire sample, not worked out by the code."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from .conftest import HEADER, invoke, make_xlsx, post, sample


def text_of(pdf: Path) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())


def test_the_saving_is_split_and_relocated_cost_is_moved(tmp_path: Path) -> None:
    out = tmp_path / "union.pdf"
    assert invoke("brief", sample("derbyshire_early_help.xlsx"), "-o", out).exit_code == 0
    text = text_of(out)
    assert "£864,301.50 for vacant ones" in text
    assert "Relocated posts cost £235,056.50 a year: that cost moves to another service" in text
    assert "less the new posts (£0), that is £5,242,253 a year" in text
    assert "net saving" not in text.lower()
    assert "Occupied posts deleted (people at risk)" in text


def test_without_a_vacant_column_the_people_at_risk_are_not_claimed(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [HEADER] + [post(f"P{i}", status="Deleted" if i < 6 else
                                                "Retained") for i in range(12)])
    out = tmp_path / "union.pdf"
    assert invoke("brief", path, "-o", out).exit_code == 0
    text = text_of(out)
    assert "the number of people at risk cannot be told from it" in text
    assert "6 posts are deleted, occupied or not" in text


def test_union_briefing_gives_occupied_vacant_and_cost_per_site(tmp_path: Path) -> None:
    out = tmp_path / "union.pdf"
    assert invoke("brief", sample("derbyshire_early_help.xlsx"), "-o", out).exit_code == 0
    text = text_of(out)
    section = text[text.index("Occupied posts, vacancies and cost"):]
    assert "Per team" in section and "Per grade" in section and "Per site" in section
    # Holme Hall: 14 posts deleted, all occupied (data/make_samples.py)
    assert "Holme Hall (Chesterfield) 14 14 0" in section
