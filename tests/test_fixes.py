"""Issue 26: findings carry a structured fix, not command-line text.

A finding's message says what is wrong in plain words; its `fixes` say which reading
option puts it right.  Only the CLI words a fix as the options to type; the portal, the
findings CSV, the annotated workbook, a briefing and JSON never show command-line syntax.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import cli
import reports
from reports.documents.briefing import make_briefing
from reports.documents.template import load_builtin
from reports.intake.workbook import SkipReason
from reports.model.codes import all_codes
from reports.model.errors import BadEncoding, ImpactError, NoHeaderRow
from reports.model.findings import Finding, column_index
from reports.model.fixes import OPTIONS, Fix
from reports.render import data
from reports.render.fixes import as_options, in_words, with_words
from reports.render.html import render_html
from reports.render.xlsx import annotate_copy
from reports.services.portal import findings_view
from tests.conftest import invoke, make_csv, make_xlsx
from tests.portal_helpers import csrf, log_in, make_store
from web.app import create_app

# Command-line syntax: an option ("--map"), or the tool's name before one of its commands.
COMMANDS = sorted(cli.cli.commands)
CLI_SYNTAX = re.compile(r"(?<![\w-])--[a-z]|\bimpact (?:" + "|".join(COMMANDS) + r")\b")


def no_cli(text: str) -> bool:
    return CLI_SYNTAX.search(text or "") is None


def test_the_pattern_finds_command_line_syntax() -> None:
    """The check itself can fail: it finds each kind of command-line text."""
    assert not no_cli('name it with --map "X=team"')
    assert not no_cli("see impact monthly")
    assert not no_cli("give the right --encoding.")
    assert no_cli("Read the column 'X' as the team.") and no_cli("an impact briefing")


# -- the catalogue ------------------------------------------------------------------


@pytest.mark.parametrize("code", all_codes(), ids=lambda c: c.id)
def test_no_catalogue_text_names_an_option(code: Any) -> None:
    assert no_cli(code.title), code.title
    assert no_cli(code.fix), code.fix


# -- each option's wording, for the CLI and for everyone else --------------------------

# (fix, what the CLI prints, what the portal says): written out from the words
WORDINGS = [
    (Fix("map", "Current FTE", "fte"), '--map "Current FTE=fte"',
     "Read the column 'Current FTE' as the FTE."),
    (Fix("map", None, "status"), '--map "Your heading=status"',
     "Say which column holds the status."),
    (Fix("map", "Org", None), '--map "Org=FIELD"', "Say which field the column 'Org' holds."),
    (Fix("status_map", "Maybe", "deleted"), '--status-map "Maybe=deleted"',
     "Read the status 'Maybe' as deleted."),
    (Fix("status_map", "At risk", ("deleted", "retained")),
     '--status-map "At risk=deleted" or --status-map "At risk=retained"',
     "Read the status 'At risk' as deleted or retained."),
    (Fix("status_map", "Gone", "deleted-vacant"), '--status-map "Gone=deleted-vacant"',
     "Read the status 'Gone' as deleted (vacant)."),
    (Fix("status_map", "Maybe"), '--status-map "Maybe=STATUS"',
     "Say which status 'Maybe' means (deleted, retained, relocated or created)."),
    (Fix("default_status", None, "retained"), "--default-status retained",
     "Read every post without a status as retained."),
    (Fix("default_status"), "--default-status STATUS",
     "Give every post without a status one status, such as retained."),
    (Fix("where", "Month", "2017-SEP"), '--where "Month=2017-SEP"',
     "Read only the rows whose 'Month' is '2017-SEP'."),
    (Fix("where", "Month", ("2017-SEP", "2018-JUN")),
     '--where "Month=2017-SEP" or --where "Month=2018-JUN"',
     "Read only the rows whose 'Month' is '2017-SEP' or '2018-JUN'."),
    (Fix("sheet", None, "Posts 2024"), '--sheet "Posts 2024"', "Read the sheet 'Posts 2024'."),
    (Fix("sheet"), "--sheet NAME", "Choose which sheets to read."),
    (Fix("encoding", None, "cp1252"), "--encoding cp1252", "Read the file as Windows-1252 text."),
    (Fix("encoding"), "--encoding ENCODING", "Say which character encoding the file uses."),
]


def test_every_option_has_a_wording() -> None:
    assert {f.option for f, _, _ in WORDINGS} == set(OPTIONS)


@pytest.mark.parametrize("fix,options,words", WORDINGS,
                         ids=[f"{f.option}-{i}" for i, (f, _, _) in enumerate(WORDINGS)])
def test_each_option_is_worded_for_the_cli_and_for_the_portal(fix: Fix, options: str,
                                                               words: str) -> None:
    assert as_options(((fix,),)) == options
    assert in_words(((fix,),)) == words
    assert no_cli(words)


def test_settings_together_and_alternatives() -> None:
    together = ((Fix("map", "Organisation name", "team"), Fix("map", "Staff group", "grade")),)
    assert as_options(together) == '--map "Organisation name=team" --map "Staff group=grade"'
    assert in_words(together) == ("Read the column 'Organisation name' as the team and read "
                                  "the column 'Staff group' as the grade.")
    either = ((Fix("map", None, "status"),), (Fix("default_status", None, "retained"),))
    assert as_options(either) == '--map "Your heading=status" or --default-status retained'
    assert in_words(either) == ("Say which column holds the status; or read every post "
                                "without a status as retained.")
    assert as_options(()) == in_words(()) == ""


def test_a_heading_a_shell_would_read_is_quoted_safely() -> None:
    assert as_options(((Fix("map", 'Cost "£"', "annual_cost"),),)) == \
        "--map 'Cost \"£\"=annual_cost'"
    assert as_options(((Fix("map", "Pay $", "grade"),),)) == "--map 'Pay $=grade'"


def test_a_fix_names_only_a_reading_option() -> None:
    with pytest.raises(ValueError):
        Fix("force")
    with pytest.raises(ValueError):
        Fix("map", "X", ())


# -- the findings of bad inputs --------------------------------------------------------

BASE = ["Team", "Job title", "Grade", "FTE", "Status"]


def _bad_inputs(tmp: Path) -> list[tuple[str, Path, dict[str, Any], list[tuple[str, str]]]]:
    """(name, file, check options, [(code, the exact option the CLI must print)])."""
    return [
        ("no FTE column", make_csv(tmp, [["Team", "Job title", "Grade", "Status"],
                                         ["A", "W", "G1", "Deleted"]], name="nofte.csv"),
         {}, [("missing-column", '--map "Your heading=fte"')]),
        ("no Status column", make_csv(tmp, [["Team", "Job title", "Grade", "FTE"],
                                            ["A", "W", "G1", "1"]], name="nostatus.csv"),
         {}, [("missing-column", '--map "Your heading=status" or --default-status retained')]),
        ("status words", make_csv(tmp, [BASE, ["A", "W", "G1", "1", "Maybe"],
                                        ["A", "W", "G1", "1", "At risk"],
                                        ["A", "W", "G1", "1", "Deleteed"],
                                        ["A", "W", "G1", "1", ""]], name="words.csv"),
         {}, [("status-unknown", '--status-map "Maybe=STATUS"'),
              ("status-unknown", '--status-map "At risk=deleted" or '
                                 '--status-map "At risk=retained"'),
              ("status-unknown", '--status-map "Deleteed=deleted"'),
              ("required-blank", "--default-status STATUS")]),
        ("unknown and duplicate columns",
         make_csv(tmp, [BASE + ["Org", "WTE", "Destinaton"],
                        ["A", "W", "G1", "1", "Deleted", "x", "1", ""]], name="cols.csv"),
         {}, [("unknown-column", '--map "Org=FIELD"'),
              ("duplicate-column", '--map "WTE=fte"'),
              ("unknown-column", '--map "Destinaton=destination"')]),
        ("Windows-1252", make_csv(tmp, [BASE, ["Café", "W", "G1", "1", "Deleted"]],
                                  name="cp.csv", encoding="cp1252"),
         {}, [("encoding", "--encoding ENCODING")]),
        ("a sheet with a near-miss header",
         make_xlsx(tmp, sheets={"Posts": [BASE, ["A", "W", "G1", 1, "Deleted"]],
                                "Other": [["Job Titel", "Staus", "Teams"], ["W", "x", "A"]]},
                   name="sheets.xlsx"),
         {}, [("sheet-skipped",
               '--map "Job Titel=title" --map "Staus=status" --map "Teams=team"')]),
    ]


def test_bad_inputs_give_plain_messages_and_the_cli_the_exact_options(tmp_path: Path) -> None:
    for name, path, options, expected in _bad_inputs(tmp_path):
        report = reports.check(path, **options)
        with_fix = [f for f in report.findings if f.fixes]
        # the CLI's wording of each fix is the exact option to type
        assert sorted((f.code, as_options(f.fixes)) for f in with_fix) == sorted(expected), name
        said = invoke("validate", path)
        for _, option in expected:
            assert option in said.stderr + said.stdout, (name, option)
        for f in with_fix:      # while no message and no worded fix names an option
            assert no_cli(f.message), (name, f.message)
            assert no_cli(in_words(f.fixes)) and in_words(f.fixes), (name, f.fixes)
        # JSON carries the fix as data, and its messages name no option
        got = json.loads(invoke("validate", path, "--format", "json").stdout)
        items = got["errors"] + got["warnings"] + got["info"]
        assert all(no_cli(i["message"]) for i in items), name
        fixes = [i["fixes"] for i in items if i["fixes"]]
        assert fixes == [[[{"option": s.option, "subject": s.subject,
                            "value": list(s.value) if isinstance(s.value, tuple) else s.value}
                           for s in way] for way in f.fixes]
                         for f in report.findings.errors + report.findings.warnings
                         + report.findings.infos if f.fixes]
        for way in (w for f in fixes for w in f):
            assert all(set(s) == {"option", "subject", "value"} for s in way)


def test_json_of_a_status_word_carries_the_structured_fix(tmp_path: Path) -> None:
    path = make_csv(tmp_path, [BASE, ["A", "W", "G1", "1", "At risk"]])
    got = json.loads(invoke("validate", path, "--format", "json").stdout)
    assert got["errors"][0]["fixes"] == [[{"option": "status_map", "subject": "At risk",
                                           "value": ["deleted", "retained"]}]]


def test_files_that_cannot_be_read_say_so_in_words_and_the_cli_adds_options(
        tmp_path: Path) -> None:
    cp = make_csv(tmp_path, [BASE, ["Café", "W", "G1", "1", "Deleted"]], encoding="cp1252")
    with pytest.raises(BadEncoding) as e:
        reports.check(cp, encoding="utf-8")
    assert no_cli(str(e.value)) and e.value.fixes == ((Fix("encoding", None, ("cp1252",)),),)
    assert "--encoding cp1252" in invoke("validate", cp, "--encoding", "utf-8").stderr


# -- item 8: the no-header hint leads somewhere ------------------------------------------


def test_an_nhs_extract_is_told_every_mapping_its_header_row_needs(tmp_path: Path) -> None:
    path = make_csv(tmp_path, [["Organisation name", "Staff group", "FTE"],
                               ["Trust A", "Nursing", "1.5"], ["Trust B", "Medical", "2"]])
    with pytest.raises(NoHeaderRow) as e:
        reports.check(path)
    assert no_cli(str(e.value))
    assert e.value.fixes == ((Fix("map", "Organisation name", "team"),
                              Fix("map", "Staff group", "grade"), Fix("map", "FTE", "fte")),)
    result = invoke("validate", path)
    assert result.exit_code == 1
    assert ('--map "Organisation name=team" --map "Staff group=grade" --map "FTE=fte"'
            in result.stderr)
    # and the suggestion works: those maps find the header row
    mapped = reports.check(path, mapping=["Organisation name=team", "Staff group=grade",
                                          "FTE=fte"])
    assert [t.header_row for t in mapped.workbook.tables] == [1]


def test_a_near_miss_row_suggests_its_own_headings_only(tmp_path: Path) -> None:
    path = make_csv(tmp_path, [["Staff list"], ["Job grade", "Post holder", "Directorate",
                                                "Whole-time equiv"], ["G4", "x", "A", "1"]])
    with pytest.raises(NoHeaderRow) as e:
        reports.check(path)
    fixes = {(f.subject, f.value) for way in e.value.fixes for f in way}
    assert fixes == {("Job grade", "grade"), ("Directorate", "team"),
                     ("Whole-time equiv", "fte")}      # never the personal "Post holder"


# -- item 5: a file with no Status column may be a baseline ------------------------------


def test_no_status_column_offers_a_default_status_of_retained(tmp_path: Path) -> None:
    path = make_csv(tmp_path, [["Team", "Job title", "Grade", "FTE"], ["A", "W", "G1", "1"]])
    missing = [f for f in reports.check(path).findings.errors if f.code == "missing-column"]
    assert [f.fixes for f in missing] == [((Fix("map", None, "status"),),
                                           (Fix("default_status", None, "retained"),))]
    assert reports.check(path, default_status="retained").valid   # the fix works


# -- item 13: status-defaulted cites an A1 cell --------------------------------------------


def test_status_defaulted_cites_an_a1_cell(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, [["Notes", "", "Team", "Job title", "Grade", "FTE"],
                                ["", "", "A", "W", "G1", 1], ["", "", "B", "W", "G1", 1]])
    report = reports.check(path, default_status="retained")
    found = [f for f in report.findings if f.code == "status-defaulted"]
    # no Status column: the first cell read on the first defaulted row (Team, column C)
    assert [(f.sheet, f.cell) for f in found] == [("Posts", "C2")]
    assert re.fullmatch(r"[A-Z]+\d+", found[0].cell or "")
    assert "cell C2" in found[0].where


# -- every output but the CLI's ----------------------------------------------------------


def _mixed(tmp_path: Path) -> Path:
    """An xlsx with faults in several rows and columns, each with a fix."""
    return make_xlsx(tmp_path, [BASE + ["Org"],
                                ["A", "W", "G1", 1, "At risk", "x"],
                                ["A", "W", "G1", 1, "", "x"],
                                ["A", "W", "G1", 1, "Maybe", "x"]], name="mixed.xlsx")


def test_the_findings_csv_and_annotated_copy_word_fixes_without_options(tmp_path: Path) -> None:
    report = reports.check(_mixed(tmp_path))
    rows = list(csv.DictReader(io.StringIO(data.findings_csv(report.findings))))
    assert all(no_cli(r["message"]) and no_cli(r["fix"]) for r in rows)
    assert {r["fix"] for r in rows if r["cell"] == "E2"} == {
        "Read the status 'At risk' as deleted or retained."}
    out = io.BytesIO()
    annotate_copy(report, out)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    texts = [c.comment.text for ws in book.worksheets for row in ws.iter_rows()
             for c in row if c.comment]
    texts += [str(c.value) for row in book["impact findings"].iter_rows() for c in row
              if c.value is not None]
    assert texts and all(no_cli(t) for t in texts)
    assert any("Read the status 'At risk' as deleted or retained." in t for t in texts)


class _Text(HTMLParser):
    """The text a reader sees: no markup, no style sheet."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._style = tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, text: str) -> None:
        if not self._style:
            self.parts.append(text)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def test_a_briefing_of_a_file_with_notes_names_no_option(tmp_path: Path) -> None:
    rows = [["Café", f"W{i}", "G1", "1", "Deleted" if i % 2 else "Retained", "x"]
            for i in range(24)]
    path = make_csv(tmp_path, [BASE + ["Org"], *rows], encoding="cp1252")
    report = reports.check(path)
    assert {f.code for f in report.findings if f.fixes} == {"unknown-column", "encoding"}
    for audience in ("union", "management", "public"):
        b = make_briefing(report, reports.summarise(report), load_builtin(audience),
                          version="9.9.9")
        text = visible(render_html(b))
        assert "not a known heading" in text or audience == "public"
        assert no_cli(text), audience


# -- the portal ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def portal_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fixes") / "store"
    make_store(root)
    return root


def _client(store: Path) -> Any:
    client = create_app(store).test_client()
    assert log_in(client, "hr").status_code == 302
    return client


def _upload(client: Any, path: Path, dataset: str) -> Any:
    token = csrf(client.get("/upload").get_data(as_text=True))
    return client.post("/upload", data={
        "csrf_token": token, "as_of": "2024-04-01", "note": "", "new_dataset": dataset,
        "file": (io.BytesIO(path.read_bytes()), path.name)}, content_type="multipart/form-data")


def test_the_portal_words_fixes_and_lists_findings_by_sheet_and_cell(portal_store: Path,
                                                                     tmp_path: Path) -> None:
    rows = [BASE + ["Org"]]
    rows += [["A", f"W{i}", "G1", "half" if i % 3 == 0 else 1, "Maybe" if i % 2 else "Deleted",
              "x"] for i in range(12)]
    path = make_xlsx(tmp_path, rows, name="many.xlsx")
    r = _upload(_client(portal_store), path, "Fixes")
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    text = visible(page)
    assert no_cli(text), CLI_SYNTAX.search(text)
    assert "Say which status 'Maybe' means" in text
    # the findings table, row by row, left to right (A1 order), so HR can work down it
    table = page.split('<table class="findings">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<th scope="row">([A-Z]+\d+)</th>', table)
    expected = sorted(cells, key=lambda c: (int(re.sub(r"\D", "", c)),
                                            column_index(re.sub(r"\d", "", c))))
    assert cells == expected and len(cells) >= 10
    assert {"D2", "E3"} <= set(cells)


def test_findings_view_orders_by_sheet_then_row_then_column(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path, sheets={
        "First": [BASE, ["A", "W", "G1", "x", "Maybe"], ["", "W", "G1", 1, "Deleted"]],
        "Second": [BASE, ["A", "", "G1", "y", "Deleted"]]}, name="two.xlsx")
    report = reports.check(path)
    shown = [(f.sheet, f.cell) for f in findings_view(report).shown]
    # the report lists findings check by check (blank teams before bad FTEs); the view
    # lists them by sheet, then row by row, left to right
    assert shown == [("First", "D2"), ("First", "E2"), ("First", "A3"), ("Second", "B2"),
                     ("Second", "D2")]


def test_the_dataset_page_names_no_command(portal_store: Path) -> None:
    client = _client(portal_store)
    for page in ("/datasets",):
        html = client.get(page).get_data(as_text=True)
        for link in sorted(set(re.findall(r'href="(/datasets/[^"/]+)"', html))):
            text = visible(client.get(link).get_data(as_text=True))
            assert no_cli(text), (link, CLI_SYNTAX.search(text))


def test_the_template_sources_name_no_command() -> None:
    folder = Path(__file__).resolve().parents[1] / "templates" / "portal"
    for html in folder.glob("*.html"):
        assert no_cli(visible(html.read_text("utf-8"))), html.name


def test_an_unreadable_upload_is_told_in_words(portal_store: Path, tmp_path: Path) -> None:
    path = make_csv(tmp_path, [["Organisation name", "Staff group", "FTE"],
                               ["Trust A", "Nursing", "1.5"]], name="nhs.csv")
    r = _upload(_client(portal_store), path, "NHS")
    # the mapping step (issue 26): the header row and its columns asked as choices, the
    # suggested mappings (item 8: team, grade and FTE) chosen already
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    text = visible(html)
    assert "no row of headings it knows" in text and "Row 1: Organisation name" in text
    chosen = dict(re.findall(r'Field held by the column “([^”]+)”</label>\s*<select[^>]*>'
                             r'(?:(?!</select>).)*?<option value="(\w+)" selected', html, re.S))
    assert chosen == {"Organisation name": "team", "Staff group": "grade", "FTE": "fte"}
    assert no_cli(text), CLI_SYNTAX.search(text)


def test_an_impact_error_carries_its_fixes_through_a_copy() -> None:
    import pickle  # a report or error crosses processes in the portal's checker

    e = NoHeaderRow("x", fixes=((Fix("map", "A", "team"),),))
    copy = pickle.loads(pickle.dumps(e))
    assert isinstance(copy, ImpactError) and copy.fixes == e.fixes and str(copy) == "x"
    reason = SkipReason("no header row", ((Fix("map", "Staus", "status"),),))
    again = pickle.loads(pickle.dumps(reason))
    assert again == "no header row" and again.fixes == reason.fixes
    f = Finding("status-unknown", "error", "S", "E2", "Status", "Maybe", "m",
                ((Fix("status_map", "Maybe"),),))
    assert with_words(f.message, f.fixes) == ("m. Say which status 'Maybe' means (deleted, "
                                              "retained, relocated or created).")


def test_no_golden_briefing_names_an_option() -> None:
    """Every briefing the golden tests pin (each sample, audience and comparison, as the
    tool writes them today: tests/test_golden.py keeps them current) names no option."""
    golden = Path(__file__).resolve().parent / "golden"
    briefs = sorted(golden.glob("*brief*.txt"))
    assert len(briefs) >= 10
    for path in briefs:
        # the pages of the briefing, not what the CLI said on stderr around it
        text = path.read_text("utf-8").split("--- page 1 ---", 1)[1]
        assert no_cli(text), (path.name, CLI_SYNTAX.search(text))


def test_the_users_page_names_no_command(portal_store: Path) -> None:
    """An admin adding a user who exists already is told so in words (the message once
    told them to run `impact users passwd`)."""
    client = create_app(portal_store).test_client()
    assert log_in(client, "admin").status_code == 302
    token = csrf(client.get("/users").get_data(as_text=True))
    r = client.post("/users", data={"csrf_token": token, "name": "hr", "role": "hr",
                                    "password": "a much longer passphrase 7"})
    assert r.status_code == 400
    text = visible(r.get_data(as_text=True))
    assert "already a user named 'hr'" in text
    assert no_cli(text), CLI_SYNTAX.search(text)


def test_an_organogram_read_with_options_is_briefed_without_naming_them() -> None:
    """A default status and a filter are disclosed in words, never as the options."""
    organogram = Path(__file__).resolve().parents[1] / "data" / "real" / \
        "organogram_ahrc_2013-09.csv"
    report = reports.check(organogram, default_status="retained", where=["Unit=Resources"])
    assert {"status-defaulted", "rows-selected"} <= {f.code for f in report.findings}
    for audience in ("union", "management"):
        text = visible(render_html(make_briefing(report, reports.summarise(report),
                                                 load_builtin(audience), version="9.9.9")))
        assert "counted as retained" in text
        assert no_cli(text), (audience, CLI_SYNTAX.search(text))
