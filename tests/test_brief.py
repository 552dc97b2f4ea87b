"""`impact brief`: PDF impact briefings.

Each test reads the text back out of the PDF, page by page, with pypdf, and
asserts what a reader would see; no test compares bytes except the one for
reproducible builds.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

import reports
from reports.documents.briefing import make_briefing
from reports.documents.template import (
    AUDIENCES,
    DEFAULT_HEADINGS,
    SECTIONS,
    load_builtin,
    parse_template,
    template_path,
)
from reports.figures.privacy import MARKER, Links, protect
from reports.model.errors import TemplateError, Unpublishable
from reports.model.measures import POSTS
from reports.render.pdf import render

from .conftest import impact, invoke, make_xlsx, sample

DAY = dt.date(2025, 3, 14)

RICH_HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status", "Destination",
               "Location", "Vacant", "Annual cost", "Employee name", "Payroll number"]
PERSONAL = ["Łukasz Nowak", "Anna Kowalska", "Zoë Marchetti", "PAY-771204", "PAY-771205",
            "PAY-771206", "PAY-771207", "PAY-771208", "Bartholomew Quigley"]
LONG_TEAM = ("Children's Centres and Family Hubs – High Peak and North Dales Locality "
             "Partnership, Early Intervention and Outreach Service")
LONG_WORD = "Supercalifragilisticexpialidocious" * 4


def rich_rows() -> list[list[object]]:
    """Hostile names, unicode, personal columns, vacancy, cost and locations.

    Baseline 40.62 FTE: deleted 22.5 (12 + 3.5 + 1 + 6), retained 13.5 (10 + 2.5 + 1),
    relocated 4.62; created 3 (2 + 1).  Cost: deleted £610,000, created £85,000.
    """
    return [
        RICH_HEADER,
        ["P1", "R&D <North>", "Analyst", "Grade 4", 1, 1, "Deleted", None, "Ñuñoa Centre",
         "N", 30000, PERSONAL[0], PERSONAL[3]],
        ["P2", "R&D <North>", "Senior Analyst", "Grade 10", 2.5, 3, "Retained", None,
         "Ñuñoa Centre", "N", 80000, PERSONAL[1], PERSONAL[4]],
        ["P3", '<img src="/etc/passwd"/>', "Officer", "Grade 9", 12, 12, "Deleted", None,
         "Zoë House", "Y", 360000, PERSONAL[2], PERSONAL[5]],
        ["P4", LONG_TEAM, "Play and Learn Practitioner", "Band 3", 4.62, 5, "Relocated",
         "Homes and Communities", "Zoë House", "N", 100000, PERSONAL[8], PERSONAL[6]],
        ["P5", LONG_TEAM, "Łódź Road family worker", "Band 11", 2, 2, "Created", None,
         "Łódź Road Centre", None, 60000, None, PERSONAL[7]],
        ["P6", LONG_TEAM, LONG_WORD, "Band 3", 10, 10, "Retained", None, "Zoë House", "N",
         300000, None, None],
        ["P7", "<b>Unclosed & bold", "Clerk", "Grade 4", 3.5, 4, "Deleted", None,
         "Closing Hall", "N", 70000, None, None],
        ["P8", "<b>Unclosed & bold", "Clerk", "Grade 4", 1, 1, "Retained", None, "Zoë House",
         "N", 20000, None, None],
        ["P9", "Early Help", "Family worker", "Grade 10", 6, 6, "Deleted", None, "Closing Hall",
         "Y", 150000, None, None],
        ["P10", "Early Help", LONG_WORD, "Grade 10", 1, 1, "Created", None, "Zoë House", None,
         25000, None, None],
    ]


@pytest.fixture
def rich_xlsx(tmp_path: Path) -> Path:
    return make_xlsx(tmp_path, rich_rows(), name="rich.xlsx")


def pdf_pages(data: bytes | Path) -> list[str]:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return [p.extract_text() for p in PdfReader(io.BytesIO(raw)).pages]


def build(path: Path, audience: str = "union", **kw: object) -> bytes:
    report = reports.check(path)
    assert report.valid, [f.message for f in report.findings.errors]
    out = io.BytesIO()
    kw.setdefault("generated", DAY)
    reproducible = bool(kw.pop("reproducible", False))
    briefing = make_briefing(report, reports.summarise(report), load_builtin(audience),
                             **kw)  # type: ignore[arg-type]
    render(briefing, out, reproducible=reproducible)
    return out.getvalue()


def squash(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------
# templates


@pytest.mark.parametrize("audience", AUDIENCES)
def test_builtin_templates_load(audience: str) -> None:
    t = load_builtin(audience)
    assert t.audience == audience
    assert set(t.sections) <= set(SECTIONS)
    assert t.suppresses == (audience == "public")


def test_union_template_has_every_section_in_order() -> None:
    assert load_builtin("union").sections == SECTIONS


@pytest.mark.parametrize("data, names", [
    ({"sections": ["headline", "by_teams"]}, ["by_teams", "sections"]),
    ({"wording": {"headline": "{deleted_ftee} of {baseline_fte}"}},
     ["{deleted_ftee}", "wording.headline"]),
    ({"colors": {"primary": "#000000"}}, ["colors"]),
    ({"colours": {"primry": "#000000"}}, ["colours.primry"]),
    ({"wording": {"headlines": "x"}}, ["wording.headlines"]),
    ({"privacy": {"small_number_threshold": "five"}}, ["privacy.small_number_threshold"]),
    ({"wording": {"headline": "{deleted_fte:.1f}"}}, ["{deleted_fte}", "wording.headline"]),
    ({"wording": {"headline": "{deleted_fte"}}, ["wording.headline"]),
    ({"audience": "press"}, ["audience"]),
])
def test_bad_template_is_refused_naming_the_key(data: dict, names: list[str]) -> None:
    with pytest.raises(TemplateError) as e:
        parse_template(data, "mine.toml")
    for name in names:
        assert name in str(e.value)


def test_a_partial_template_takes_the_defaults() -> None:
    t = parse_template({"title": "Ours", "sections": ["headline", "method"]}, "mine.toml")
    assert t.title == "Ours" and t.sections == ("headline", "method")
    assert t.headings == DEFAULT_HEADINGS and t.small_number_threshold == 0


def test_cli_bad_template_exits_1_and_names_the_key(rich_xlsx: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((template_path("union.toml")).read_text(encoding="utf-8")
                   .replace('"charts",', '"chartz",'), encoding="utf-8")
    out = tmp_path / "out.pdf"
    result = invoke("brief", rich_xlsx, "--template", bad, "-o", out)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: template bad.toml: unknown section 'chartz'")
    assert not out.exists()

    bad.write_text('[wording]\nheadline = "{deleted} FTE"\n', encoding="utf-8")
    result = invoke("brief", rich_xlsx, "--template", bad, "-o", out)
    assert result.exit_code == 1
    assert "unknown placeholder {deleted} in key 'wording.headline'" in result.stderr
    assert not out.exists()


def test_an_edited_copy_of_a_template_is_used(rich_xlsx: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    text = template_path("union.toml").read_text(encoding="utf-8")
    start = text.index("sections = [")
    end = text.index("]", start) + 1
    edited = text[:start] + 'sections = ["headline", "method"]' + text[end:]
    mine.write_text(edited.replace('title = "Impact briefing: the proposed job cuts"',
                                   'title = "Branch briefing"'), encoding="utf-8")
    out = tmp_path / "mine.pdf"
    result = invoke("brief", rich_xlsx, "--template", mine, "-o", out)
    assert result.exit_code == 0, result.stderr
    text = "\n".join(pdf_pages(out))
    assert "Branch briefing" in text
    assert "Method and source" in text and "By team" not in text


def test_template_audience_and_audience_option_must_agree(rich_xlsx: Path,
                                                          tmp_path: Path) -> None:
    result = invoke("brief", rich_xlsx, "--template", template_path("union.toml"),
                    "--audience", "public", "-o", tmp_path / "x.pdf")
    assert result.exit_code == 2
    assert not (tmp_path / "x.pdf").exists()


# --------------------------------------------------------------------------
# small-number suppression, without a PDF (counts of posts; see test_privacy.py too)


def suppress(values: dict, equations: list, threshold: int,
             shown: set | None = None) -> dict:
    links = Links(values=values, units=dict.fromkeys(values, POSTS),
                  shown=set(values) if shown is None else set(shown), equations=equations)
    return protect(links, threshold).hidden


def test_suppress_hides_small_cells_and_a_second_cell_per_total() -> None:
    values = {"a": 3, "b": 10, "c": 20, "t": 33}
    hidden = suppress(values, [("t", "a", "b", "c")], 5)
    assert hidden == {"a": MARKER, "b": MARKER}   # a + b = 13: a is anywhere in 1..12


def test_suppress_leaves_zeros_and_large_cells_alone() -> None:
    values = {"a": 0, "b": 10, "t": 10}
    assert suppress(values, [("t", "a", "b")], 5) == {}


def test_suppress_threshold_zero_shows_everything() -> None:
    assert suppress({"a": 1, "t": 1}, [("t", "a")], 0) == {}


def test_suppress_counts_an_unshown_cell_as_unknown() -> None:
    values = {"a": 3, "b": 10, "t": 13}
    # b is not printed anywhere, so t - b cannot be worked out: nothing more to hide
    assert suppress(values, [("t", "a", "b")], 5, shown={"a", "t"}) == {"a": MARKER}


def test_suppress_spreads_until_stable() -> None:
    # a 2 x 2 table with row and column totals; one small cell forces a rectangle
    v = {("r1", "c1"): 2, ("r1", "c2"): 10, ("r2", "c1"): 8, ("r2", "c2"): 9,
         ("r1",): 12, ("r2",): 17, ("c1",): 10, ("c2",): 19, ("all",): 29}
    eqs = [(("r1",), ("r1", "c1"), ("r1", "c2")), (("r2",), ("r2", "c1"), ("r2", "c2")),
           (("c1",), ("r1", "c1"), ("r2", "c1")), (("c2",), ("r1", "c2"), ("r2", "c2")),
           (("all",), ("r1",), ("r2",)), (("all",), ("c1",), ("c2",))]
    hidden = suppress(v, eqs, 5)
    assert hidden[("r1", "c1")] == MARKER
    for eq in eqs:
        assert sum(k in hidden for k in eq) != 1, eq


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=2, max_size=5), min_size=2, max_size=6)
       .filter(lambda g: len({len(r) for r in g}) == 1))
def test_suppress_never_leaves_one_hidden_cell_in_a_relation(grid: list[list[int]]) -> None:
    values: dict = {}
    eqs = []
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            values[("cell", i, j)] = v
        values[("row", i)] = sum(row)
        eqs.append((("row", i), *[("cell", i, j) for j in range(len(row))]))
    for j in range(len(grid[0])):
        values[("col", j)] = sum(r[j] for r in grid)
        eqs.append((("col", j), *[("cell", i, j) for i in range(len(grid))]))
    values[("all",)] = sum(map(sum, grid))
    eqs.append((("all",), *[("row", i) for i in range(len(grid))]))
    eqs.append((("all",), *[("col", j) for j in range(len(grid[0]))]))
    try:
        hidden = suppress(values, eqs, 5)
    except Unpublishable:
        return                           # refusing is allowed; publishing unsafely is not
    for k, v in values.items():
        if 0 < v < 5:
            assert hidden.get(k) == MARKER
        if v == 0:
            assert k not in hidden
    for eq in eqs:
        assert sum(k in hidden for k in eq) != 1, eq


# --------------------------------------------------------------------------
# the PDF: content


def test_union_briefing_of_the_rich_file(rich_xlsx: Path) -> None:
    pages = pdf_pages(build(rich_xlsx))
    text = "\n".join(pages)
    flat = squash(text)
    assert "22.5 of 40.62 FTE (55.4%) are proposed for deletion" in flat
    for heading in (DEFAULT_HEADINGS[s] for s in SECTIONS):
        assert heading in text.splitlines(), heading
    # spreadsheet text prints as written: escaped, never interpreted
    assert "R&D <North>" in text
    assert '<img src="/etc/passwd"/>' in text
    assert "<b>Unclosed & bold" in text
    # unicode in the embedded font
    for name in ("Ñuñoa Centre", "Zoë House", "Łódź Road Centre"):
        assert name in text
    # at risk / vacant, cost, locations, relocations, new posts, data notes
    assert "4.5 FTE (5 posts) of the deleted posts are occupied" in flat
    assert "18 FTE (18 posts) are vacant" in flat
    assert "less the new posts (£85,000), that is £525,000 a year" in flat
    # a long title wraps inside its cell: every piece of it is there, on several lines
    new_posts = text[text.index("New posts\n"):text.index("Locations\n")]
    assert "".join(new_posts.split()).count(LONG_WORD) == 1
    assert LONG_WORD not in new_posts
    assert "Closing Hall" in text and "Homes and Communities" in text
    assert "Łódź Road family worker" in text
    assert "2 personal-data columns were dropped" in flat


def test_no_personal_identifier_reaches_the_pdf(rich_xlsx: Path) -> None:
    for audience in AUDIENCES:
        try:
            raw = build(rich_xlsx, audience)
        except Unpublishable as e:      # ten rows: the public briefing is refused, safely
            assert audience == "public"
            assert not any(ident in str(e) for ident in PERSONAL)
            continue
        text = "\n".join(pdf_pages(raw))
        for ident in PERSONAL:
            assert ident not in text, (audience, ident)
            assert ident.encode() not in raw


def test_grades_sort_in_natural_order(rich_xlsx: Path) -> None:
    text = "\n".join(pdf_pages(build(rich_xlsx)))
    section = text[text.index("By grade\n"):]
    order = [section.index(g) for g in ("Band 3", "Band 11", "Grade 4", "Grade 9", "Grade 10")]
    assert order == sorted(order)


def test_public_briefing_suppresses_small_numbers(rich_xlsx: Path) -> None:
    text = "\n".join(pdf_pages(build(sample("derbyshire_early_help.xlsx"), "public")))
    assert MARKER in text and "<5" not in text      # one marker, whatever the reason
    assert "a figure marked “[c]” is hidden" in squash(text)
    # the union briefing shows the same figures in full, but for the equality impact,
    # which is suppressed in every audience (it describes protected characteristics)
    union = "\n".join(pdf_pages(build(rich_xlsx, "union")))
    start, end = union.index("Equality impact\nRetention is"), union.index("\nCharts\n")
    assert MARKER not in union[:start] + union[end:]


def test_public_headline_hides_a_small_total_and_what_reveals_it(tmp_path: Path) -> None:
    """1 FTE deleted beside 10 retained: the deleted total is hidden, and so is the
    baseline (11 - 10 would give it away), and the percentage."""
    path = make_xlsx(tmp_path, [
        ["Team", "Job title", "Grade", "FTE", "Posts", "Status"],
        ["Early Help", "Worker", "Grade 6", 1, 1, "Deleted"],
        ["Early Help", "Worker", "Grade 6", 10, 10, "Retained"],
    ])
    text = squash("\n".join(pdf_pages(build(path, "public"))))
    assert "would cut [c] of [c] full-time-equivalent jobs ([c]%)" in text
    figures = re.sub(r"\d+ values hidden \(", "", text)    # the audit's own count
    assert "9.1%" not in figures and " 11 " not in figures


def test_headers_footers_and_page_numbers(rich_xlsx: Path) -> None:
    pages = pdf_pages(build(rich_xlsx))
    assert len(pages) >= 2
    for n, page in enumerate(pages, 1):
        assert f"Page {n} of {len(pages)}" in page
        assert page.count("OFFICIAL-SENSITIVE: for consultation") >= 2   # header and footer


def test_metadata_and_outline(rich_xlsx: Path) -> None:
    reader = PdfReader(io.BytesIO(build(rich_xlsx, organisation="Derbyshire County Council")))
    meta = reader.metadata
    assert meta.title == "Impact briefing: the proposed job cuts"
    assert meta.author == "Derbyshire County Council"
    assert meta.subject == "Union impact briefing on rich.xlsx"
    assert [o.title for o in reader.outline] == [DEFAULT_HEADINGS[s] for s in SECTIONS]


def test_each_bookmark_opens_the_page_its_section_starts_on(rich_xlsx: Path) -> None:
    """The story is laid out once, the page numbers drawn when the pages are saved: a
    bookmark must still point at the page its heading is on, not at the first page."""
    raw = build(rich_xlsx)
    reader = PdfReader(io.BytesIO(raw))
    pages = pdf_pages(raw)
    targets = [(o.title, reader.get_destination_page_number(o)) for o in reader.outline]
    assert len({page for _, page in targets}) > 1          # the sections span pages
    for title, page in targets:
        starts = [n for n, text in enumerate(pages) if title in text]
        assert starts and page == starts[0], (title, page, starts)


def test_title_and_organisation_options(rich_xlsx: Path) -> None:
    raw = build(rich_xlsx, title="Cuts to <Early Help>", organisation="Zoë's & Co")
    assert PdfReader(io.BytesIO(raw)).metadata.title == "Cuts to <Early Help>"
    first = pdf_pages(raw)[0]
    assert "Cuts to <Early Help>" in first and "Zoë's & Co" in first


def test_font_is_embedded_dejavu(rich_xlsx: Path) -> None:
    reader = PdfReader(io.BytesIO(build(rich_xlsx)))
    embedded = set()
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            if font.get("/Subtype") == "/TrueType":
                assert "/FontFile2" in font["/FontDescriptor"].get_object()
                embedded.add(str(font["/BaseFont"]).split("+")[-1])
    # (ReportLab's chart renderer also lists Helvetica when it resets its state, but
    # draws no glyph with it: every string it is given names DejaVu Sans.)
    assert embedded == {"DejaVuSans", "DejaVuSans-Bold"}


def test_reproducible_builds_are_byte_identical(rich_xlsx: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a = build(rich_xlsx, reproducible=True, generated=None)
    b = build(rich_xlsx, reproducible=True, generated=None)
    assert a == b
    assert "Generated not recorded (reproducible build)" in squash(" ".join(pdf_pages(a)))


def test_cli_reproducible_twice_gives_the_same_bytes(rich_xlsx: Path, tmp_path: Path) -> None:
    outs = [tmp_path / "one.pdf", tmp_path / "two.pdf"]
    for out in outs:
        result = invoke("brief", rich_xlsx, "--reproducible", "-o", out)
        assert result.exit_code == 0, result.stderr
    assert outs[0].read_bytes() == outs[1].read_bytes()


@pytest.mark.slow
def test_reproducible_across_processes(rich_xlsx: Path, tmp_path: Path) -> None:
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"run{seed}.pdf"
        done = impact("brief", rich_xlsx, "--reproducible", "-o", out,
                      env={"PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1735689600"})
        assert done.returncode == 0, done.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert "Generated 1 January 2025" in squash(" ".join(pdf_pages(outs[0])))


def test_briefing_without_vacancy_cost_or_location(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [
        ["Team", "Job title", "Grade", "FTE", "Status"],
        ["Early Help", "Worker", "Grade 6", 1, "Deleted"],
        ["Early Help", "Worker", "Grade 6", 1, "Retained"],
        ["Early Help", "Worker", "Grade 6", 1, "Retained"],
    ])
    text = squash("\n".join(pdf_pages(build(path))))
    assert "1 of 3 FTE (33.3%) are proposed for deletion" in text
    assert "at risk of redundancy" not in text and "net saving" not in text
    assert "The file gives no location for its posts." in text
    assert "No posts are relocated to another service." in text


# --------------------------------------------------------------------------
# the command


def test_cli_writes_the_default_file_name(rich_xlsx: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("brief", rich_xlsx, "--audience", "management")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "rich-management.pdf").exists()
    assert result.stderr.startswith("Briefing written to rich-management.pdf (")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_invalid_input_writes_no_pdf(invalid_xlsx: Path, tmp_path: Path) -> None:
    out = tmp_path / "never.pdf"
    result = invoke("brief", invalid_xlsx, "-o", out)
    assert result.exit_code == 1
    assert result.stderr == invoke("validate", invalid_xlsx).stdout
    assert not out.exists()
    assert list(tmp_path.glob("*.part")) == [] and list(tmp_path.glob(".never.pdf*")) == []


def test_cli_refuses_to_overwrite_the_input(rich_xlsx: Path) -> None:
    before = rich_xlsx.read_bytes()
    result = invoke("brief", rich_xlsx, "-o", rich_xlsx)
    assert result.exit_code == 2
    assert rich_xlsx.read_bytes() == before


def test_brief_help_has_examples() -> None:
    result = invoke("brief", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output and "impact brief " in result.output


# --------------------------------------------------------------------------
# the samples


def test_derbyshire_union_briefing() -> None:
    pages = pdf_pages(build(sample("derbyshire_early_help.xlsx")))
    first = squash(pages[0])
    assert "132.5 of 221.5" in first and "59.8%" in first
    text = "\n".join(pages)
    for heading in (DEFAULT_HEADINGS[s] for s in SECTIONS):
        assert heading in text.splitlines(), heading
    assert "Sites losing all their posts (10)" in text


@pytest.mark.parametrize("audience", AUDIENCES)
def test_derbyshire_briefing_each_audience(audience: str) -> None:
    pages = pdf_pages(build(sample("derbyshire_early_help.xlsx"), audience))
    assert "132.5 of 221.5" in squash(pages[0])
    text = "\n".join(pages)
    # only public hides anything: the equality impact's one table (part-time working, not
    # special category data) is shown in full to those consulted (issue 25)
    start, end = text.index("Equality impact\nRetention is"), text.index("\nMethod and source")
    assert (MARKER in text[:start] + text[end:]) == (audience == "public")
    assert (MARKER in text[start:end]) == (audience == "public")


def test_coop_briefing() -> None:
    text = "\n".join(pdf_pages(build(sample("coop_working.xlsx"))))
    assert "Relocations" in text and "Homes and Communities" in text
    assert "33.69" in text


def test_broken_sample_gets_no_briefing(tmp_path: Path) -> None:
    out = tmp_path / "broken.pdf"
    result = invoke("brief", sample("broken_example.xlsx"), "-o", out)
    assert result.exit_code == 1
    assert not out.exists()


# --------------------------------------------------------------------------
# a wide file stays readable


def test_wide_file_folds_charts_and_matrix(tmp_path: Path) -> None:
    import random

    rnd = random.Random(7)
    rows: list[list[object]] = [["Team", "Job title", "Grade", "FTE", "Status"]]
    for n in range(500):
        for _ in range(3):
            rows.append([f"Team {n:03d}", "Worker", f"Grade {rnd.randint(1, 40)}",
                         rnd.choice([1, 0.5, 0.8]), rnd.choice(["Deleted", "Retained"])])
    for g in range(1, 41):       # every grade present at least once
        rows.append(["Team 000", "Worker", f"Grade {g}", 1, "Deleted"])
    path = make_xlsx(tmp_path, rows, name="wide.xlsx")
    pages = pdf_pages(build(path))
    text = "\n".join(pages)
    assert "Other 486 teams:" in text and "FTE deleted" in text   # top 14 + their total
    assert "Other teams (" in text                      # the matrix: top 19 + other
    assert "Grade 40" in text
    assert all(f"of {len(pages)}" in p for p in pages)
    # the 500-team table runs over several pages, each with its header row repeated
    first = next(i for i, p in enumerate(pages) if "By team\n" in p)
    last = next(i for i, p in enumerate(pages) if "By grade\n" in p)
    assert last - first >= 3
    for page in pages[first:last + 1]:
        assert "% deleted" in page and "Baseline" in page


_MEANWHILE = """
import sys
from pathlib import Path
from reports.services import briefs
from reports.services.source import Opened, Source

seen = {}
check = Opened.check


def spy(self, *args, **kwargs):
    before = "reportlab" in sys.modules
    report = check(self, *args, **kwargs)
    seen["read"] = (before, "reportlab" in sys.modules)
    return report


Opened.check = spy
briefs.brief(Source.of_file(sys.argv[1]), output=Path(sys.argv[2]), fmt=sys.argv[3])
print(seen["read"])
"""


@pytest.mark.parametrize(("fmt", "imported"), [("pdf", True), ("html", False)])
def test_a_pdf_briefing_imports_reportlab_while_the_file_is_read(
        rich_xlsx: Path, tmp_path: Path, fmt: str, imported: bool) -> None:
    """ReportLab is imported during the read (beside fastexcel), not after it; a
    briefing that is not drawn by ReportLab does not import it at all then."""
    import subprocess
    import sys

    out = tmp_path / f"b.{fmt}"
    done = subprocess.run([sys.executable, "-c", _MEANWHILE, str(rich_xlsx), str(out), fmt],
                          capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.strip() == f"(False, {imported})"
    assert out.stat().st_size > 0
