"""The finding-code catalogue (reports/model/codes.py), the docs' table of codes
(docs/reading.md), and the code base agree: every code a finding can carry is in the
catalogue, with one severity, and the docs list exactly the catalogue's codes with those
severities."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from reports.model import codes
from reports.model.codes import CODES, ERROR, SEVERITIES, Code, all_codes
from reports.model.findings import Findings

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "reports").rglob("*.py"), *(ROOT / "commands").glob("*.py"),
                  ROOT / "cli.py"])
CATALOGUE = ROOT / "reports" / "model" / "codes.py"


# --------------------------------------------------------------------------
# the catalogue itself


def test_the_catalogue_has_every_code_once():
    ids = [c.id for c in all_codes()]
    assert len(ids) == len(set(ids)) == len(CODES) == 44
    for c in all_codes():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", c.id), c.id
        assert c.severity in SEVERITIES, c
        assert c.title and c.fix, c
        assert CODES[c.id] is c


def test_each_catalogue_record_has_its_own_module_name():
    named = {name: value for name, value in vars(codes).items() if isinstance(value, Code)}
    assert sorted(v.id for v in named.values()) == sorted(CODES)
    for name, value in named.items():
        assert name == value.id.upper().replace("-", "_"), name


def test_a_code_is_defined_once():
    with pytest.raises(ValueError, match="defined twice"):
        codes._code("fte-negative", ERROR, "again", "again")
    assert CODES["fte-negative"] is codes.FTE_NEGATIVE


# --------------------------------------------------------------------------
# findings are made from catalogue codes only


def test_a_finding_carries_the_code_id_and_severity_as_plain_strings():
    findings = Findings()
    findings.add(codes.VACANT_BLANK, "Vacant is blank", sheet="Posts", cell="H2", value=None)
    (f,) = findings
    assert (f.code, f.severity) == ("vacant-blank", "warning")
    assert type(f.code) is str and type(f.severity) is str
    assert json.loads(json.dumps(f.to_dict()))["code"] == "vacant-blank"


@pytest.mark.parametrize("bogus", [
    "fte-negative",                                             # a bare string, even a real id
    "fte-negatve",
    Code("fte-negative", ERROR, "FTE is negative", "a copy"),  # a look-alike, not the record
    Code("made-up", ERROR, "Made up", "Nothing"),
    None,
])
def test_findings_refuse_anything_but_a_catalogue_code(bogus):
    findings = Findings()
    with pytest.raises(ValueError, match="not a finding code"):
        findings.add(bogus, "message")
    assert len(findings) == 0


# --------------------------------------------------------------------------
# the source: codes are named, never spelt out or built


def _trees() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"), str(p))) for p in SOURCES]


def _imports_codes(tree: ast.AST) -> bool:
    """Whether a module imports the catalogue as `codes` (`from ..model import codes`)."""
    return any(isinstance(n, ast.ImportFrom) and (n.module or "").endswith("model")
               and any(a.name == "codes" and a.asname is None for a in n.names)
               for n in ast.walk(tree))


def _codes_attributes(tree: ast.AST) -> list[ast.Attribute]:
    """Every `codes.NAME` in a module that imports the catalogue."""
    if not _imports_codes(tree):
        return []
    return [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "codes"]


def test_every_codes_name_in_the_source_is_a_catalogue_code():
    assert sum(bool(_codes_attributes(tree)) for _, tree in _trees()) >= 4
    for path, tree in _trees():
        for node in _codes_attributes(tree):
            value = getattr(codes, node.attr, None)
            assert isinstance(value, Code), f"{path}:{node.lineno}: codes.{node.attr}"


def test_every_catalogue_code_is_emitted_somewhere():
    """A catalogue entry that no module uses is a code the tool cannot emit."""
    used = {node.attr for path, tree in _trees() if path != CATALOGUE
            for node in _codes_attributes(tree)}
    unused = [c.id for c in all_codes() if c.id.upper().replace("-", "_") not in used]
    assert unused == []


def test_no_code_record_is_made_outside_the_catalogue():
    for path, tree in _trees():
        if path == CATALOGUE:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert name not in ("Code", "_code"), f"{path}:{node.lineno}"


def _is_code_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "code"


def test_code_strings_compared_in_the_source_are_catalogue_codes():
    """Renderers may still test `f.code == "personal-data"`: such a string must be a real code."""
    compared = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            if not any(_is_code_attribute(s) for s in sides):
                continue
            for side in sides:
                for const in ast.walk(side):
                    if isinstance(const, ast.Constant) and isinstance(const.value, str):
                        compared.append((f"{path.relative_to(ROOT)}:{node.lineno}", const.value))
    assert compared, "expected the renderers' personal-data tests"
    assert [(where, s) for where, s in compared if s not in CODES] == []


# --------------------------------------------------------------------------
# the docs' table (docs/reading.md, "Validation findings")


def _docs_table() -> dict[str, str]:
    page = (ROOT / "docs" / "reading.md").read_text(encoding="utf-8")
    section = page.split("\n## Validation findings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "no table of codes under ## Validation findings"
    table: dict[str, str] = {}
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        for code in re.findall(r"`([^`]+)`", cells[0]):
            assert code not in table, f"{code} is listed twice in docs/reading.md"
            table[code] = cells[1]
    return table


def test_the_docs_list_every_catalogue_code_with_its_severity():
    table = _docs_table()
    missing = [c.id for c in all_codes() if c.id not in table]
    assert missing == [], "codes missing from the table in docs/reading.md"
    wrong = [(c.id, table[c.id], c.severity) for c in all_codes() if table[c.id] != c.severity]
    assert wrong == [], "docs severity differs from the catalogue (code, docs, catalogue)"


def test_every_code_in_the_docs_is_in_the_catalogue():
    assert [code for code in _docs_table() if code not in CODES] == []
