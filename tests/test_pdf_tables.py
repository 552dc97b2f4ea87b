"""The ReportLab briefing's long tables: drawn with less work, to the same bytes.

A table longer than a page is split page by page, and ReportLab wraps every remaining
cell again at each split; `pdf._Cell` answers a repeated wrap from its last one.  The
proof that this changes nothing: the same briefing rendered with the plain
`Paragraph.wrap` is byte for byte the same (a reproducible build)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from reportlab.platypus import Paragraph

import reports
from reports.documents.briefing import make_briefing
from reports.documents.template import load_builtin
from reports.render import pdf

from . import conftest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def long_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 rows from the bench generator: 200 teams, so tables of many pages."""
    bench = conftest.load_script(ROOT / "bench" / "bench.py", "bench_for_pdf_tables")
    path = tmp_path_factory.mktemp("long") / "posts-3000.xlsx"
    bench.write_xlsx(bench.generate_posts(3000), path)
    return path


def _render(path: Path) -> tuple[bytes, int]:
    report = reports.check(path)
    assert report.valid
    briefing = make_briefing(report, reports.summarise(report), load_builtin("union"))
    out = io.BytesIO()
    calls = 0
    wrap = Paragraph.wrap

    def counted(self: Paragraph, w: float, h: float) -> tuple[float, float]:
        nonlocal calls
        calls += 1
        return wrap(self, w, h)

    Paragraph.wrap = counted            # type: ignore[method-assign]
    try:
        pdf.render(briefing, out, reproducible=True)
    finally:
        Paragraph.wrap = wrap           # type: ignore[method-assign]
    return out.getvalue(), calls


@pytest.mark.slow
def test_long_tables_are_the_same_bytes_with_fewer_wraps(long_xlsx: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fast, fast_wraps = _render(long_xlsx)
    with monkeypatch.context() as m:
        m.delattr(pdf._Cell, "wrap")    # the plain Paragraph.wrap, every time
        plain, plain_wraps = _render(long_xlsx)
    assert fast == plain
    assert fast.count(b"/Type /Page") > 10                  # tables split over pages
    assert fast_wraps * 3 <= plain_wraps * 2, (fast_wraps, plain_wraps)


def test_a_cell_wrapped_at_another_width_is_wrapped_again() -> None:
    from reportlab.lib.styles import ParagraphStyle

    cell = pdf._Cell("many words " * 20, ParagraphStyle("c", fontSize=8, leading=9.6))
    narrow = cell.wrap(60, 1000)
    wide = cell.wrap(300, 1000)
    assert wide[1] < narrow[1]
    assert cell.wrap(60, 1000) == narrow and cell.height == narrow[1]


def test_reportlab_uses_its_c_accelerator() -> None:
    """rl_accel (a dependency) gives ReportLab its C string widths and number
    formatting: the pure-Python fallbacks were a quarter of the drawing's time."""
    from reportlab.lib import rl_accel

    for name in ("fp_str", "instanceStringWidthTTF", "escapePDF", "asciiBase85Encode"):
        assert type(getattr(rl_accel, name)).__name__ == "builtin_function_or_method", name
