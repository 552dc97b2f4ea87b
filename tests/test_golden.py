"""Every sample's outputs are byte for byte what the code wrote before the rewrite.

The golden copies in tests/golden/ were written by `python -m tests.golden
--write` on the code before issue 7's restructuring; see tests/golden.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .golden import GOLDEN, produce


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return dict(produce(tmp_path_factory.mktemp("golden")))


@pytest.mark.slow
def test_every_golden_file_is_produced(produced: dict[str, str]) -> None:
    kept = sorted(p.name for p in GOLDEN.iterdir())
    assert kept == sorted(produced)
    assert len(kept) >= 45


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.iterdir()))
def test_output_matches_golden_copy(name: str, produced: dict[str, str]) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert produced[name] == expected, f"{name} differs from tests/golden/{name}"


def test_golden_copies_hold_real_figures() -> None:
    """A guard against golden files that captured an error instead of the output."""
    summary = (GOLDEN / "derbyshire_early_help.xlsx.summary.text").read_text("utf-8")
    assert summary.startswith("exit 0\n")
    assert "132.5 of 221.5 FTE (59.8%)" in summary
    union = (GOLDEN / "derbyshire_early_help.xlsx.brief-union.txt").read_text("utf-8")
    assert union.startswith("exit 0\n") and "--- page 3 ---" in union
    broken = (GOLDEN / "broken_example.xlsx.validate.text").read_text("utf-8")
    assert broken.startswith("exit 1\n") and "fte-negative" in broken


def test_golden_folder_exists() -> None:
    assert Path(GOLDEN).is_dir()
