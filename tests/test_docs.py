"""The docs site (docs/, mkdocs.yml) builds in strict mode; every relative link and #anchor
of README.md and the pages leads somewhere; the command reference is each command's --help;
and no page names an internal issue number, which means nothing to a reader."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import click
import markdown
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
COMMANDS_PAGE = DOCS / "commands.md"


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


# --------------------------------------------------------------------------
# the site


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    """mkdocs.yml's validation settings make a missing page, a link to a missing file or
    #anchor, and a page left out of the navigation warnings, and --strict makes them fail."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    for page in DOCS.glob("*.md"):
        built = tmp_path / "site" / ("index.html" if page.stem == "index"
                                     else f"{page.stem}/index.html")
        assert built.is_file(), f"{page.name} was not built"
    # no script, stylesheet or picture from elsewhere: the site works offline
    for html in (tmp_path / "site").rglob("*.html"):
        fetched = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]*)"',
                             html.read_text(encoding="utf-8"))
        assert fetched == [], f"{html.name} loads {fetched}"


def test_every_page_is_in_the_navigation() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*([\w-]+\.md)\s*$", nav, re.M))
    assert listed == {p.name for p in DOCS.glob("*.md")}


# --------------------------------------------------------------------------
# links and anchors, checked without the network


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        for name in ("href", "src"):
            if tag in ("a", "img") and found.get(name) is not None:
                self.targets.append(str(found[name]))


def _parse(page: Path) -> _Links:
    """The page as MkDocs renders it (Python-Markdown with the toc extension, which gives
    each heading the id MkDocs gives it), so links in code are not links."""
    html = markdown.markdown(page.read_text(encoding="utf-8"),
                             extensions=["toc", "tables", "fenced_code", "sane_lists"])
    parsed = _Links()
    parsed.feed(html)
    return parsed


def broken_links(page: Path) -> list[str]:
    """Every link of `page` that leads nowhere: a missing file, a missing #anchor in a
    Markdown file, or an external address that is not even well formed."""
    problems = []
    for target in _parse(page).targets:
        parts = urllib.parse.urlsplit(target)
        if parts.scheme in ("http", "https"):
            if not parts.netloc or " " in target:
                problems.append(f"{target}: not a well-formed address")
            continue
        if parts.scheme == "mailto":
            if "@" not in parts.path:
                problems.append(f"{target}: not an e-mail address")
            continue
        if parts.scheme or target.startswith("/"):
            problems.append(f"{target}: links must be relative")
            continue
        path = (page.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else page
        if not path.exists():
            problems.append(f"{target}: no such file")
        elif parts.fragment:
            if path.suffix != ".md":
                problems.append(f"{target}: an #anchor into a file that is not Markdown")
            elif parts.fragment not in _parse(path).ids:
                problems.append(f"{target}: {path.name} has no heading #{parts.fragment}")
    return problems


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_every_relative_link_and_anchor_leads_somewhere(page: Path) -> None:
    assert broken_links(page) == []


def test_the_link_check_finds_a_missing_file_anchor_and_bad_address(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A heading, with: punctuation\n",
                                       encoding="utf-8")
    (tmp_path / "picture.png").write_bytes(b"")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## Here\n\n"
        "[fine](other.md#a-heading-with-punctuation) [fine](#here) ![fine](picture.png)\n"
        "[fine](https://www.mkdocs.org/) `[not a link](missing.md)`\n\n"
        "```\n[not a link either](missing.md)\n```\n\n"
        "[gone](missing.md) [no anchor](other.md#nowhere) [no anchor here](#there) "
        "[bad](https:///no-host) [absolute](/etc/passwd)\n", encoding="utf-8")
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nowhere: other.md has no heading #nowhere",
        "#there: page.md has no heading #there",
        "https:///no-host: not a well-formed address",
        "/etc/passwd: links must be relative",
    ]


def test_no_line_of_prose_starts_with_a_hash() -> None:
    """Python-Markdown reads "#anchor" at the start of a line as a heading, wrapped prose
    or not (it needs no space after the hashes)."""
    for page in _pages():
        fenced = False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```"):
                fenced = not fenced
            assert fenced or not re.match(r"#+[^#\s]", line), f"{page.name}:{number}: {line}"


# --------------------------------------------------------------------------
# no internal issue numbers

ISSUE = re.compile(r"\b(?:issues?|pr|pull request)[\s_-]*#?\d+|(?<![\w&/#])#\d{1,4}\b", re.I)


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_no_page_names_an_internal_issue_number(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    found = [m.group(0) for m in ISSUE.finditer(text)]
    assert found == [], f"{page.name} names issue numbers, which mean nothing to a reader"


def test_the_issue_pattern_catches_the_usual_spellings() -> None:
    for text in ("issue 25", "Issue 22", "issues 23, 24", "(issue #9)", "see #12", "issue-15"):
        assert ISSUE.search(text), text
    for text in ("s.188(4)", "colour #1f77b4", "Grade 10", "100,000 rows", "&#8212;"):
        assert not ISSUE.search(text), text


# --------------------------------------------------------------------------
# the command reference is --help


def _every_command() -> list[str]:
    """`impact` itself (""), each command and each command of a group ("store check")."""
    import cli

    names = [""]

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            names.append(f"{prefix}{name}")
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")
    walk(cli.cli, "")
    return names


def _help(name: str) -> str:
    """`impact NAME --help` on a terminal 100 columns wide (click's max_content_width here),
    trailing spaces trimmed as Markdown keeps them."""
    import cli

    result = CliRunner().invoke(cli.cli, [*name.split(), "--help"], prog_name="impact",
                                terminal_width=100, color=False)
    assert result.exit_code == 0, result.output
    return "\n".join(line.rstrip() for line in result.output.rstrip("\n").splitlines())


def _reference() -> dict[str, str]:
    """The page's help blocks by command: each cog block's ```text block."""
    page = COMMANDS_PAGE.read_text(encoding="utf-8")
    block = re.compile(r'<!-- \[\[\[cog import gen_commands; gen_commands\.help\((?:"([\w -]+)")?\) '
                       r']]] -->\n```text\n(.*?)\n```\n<!-- \[\[\[end]]] -->', re.S)
    found: dict[str, str] = {}
    for name, body in block.findall(page):
        assert name not in found, f"two blocks for `impact {name}`"
        found[name] = body
    return found


def test_the_command_reference_has_one_help_block_per_command_and_subcommand() -> None:
    commands = _every_command()
    assert {"", "brief", "store", "store check", "users passwd"} <= set(commands)
    assert sorted(_reference()) == sorted(commands)


@pytest.mark.parametrize("name", _every_command(), ids=lambda n: n or "impact")
def test_the_command_reference_is_each_commands_help(name: str) -> None:
    assert _reference()[name] == _help(name), (
        f"docs/commands.md differs from `impact {name} --help`; regenerate it with "
        f"`.venv/bin/python docs/gen_commands.py`")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_commands", DOCS / "gen_commands.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generator_leaves_the_command_reference_as_it_is() -> None:
    """`cog --check` over docs/commands.md: what the generator would write is what is there."""
    gen = _generator()
    status = gen.run_cog("--check")
    assert status == 0, (
        f"docs/commands.md's command reference is stale (cog exited {status}); regenerate it "
        f"with `.venv/bin/python docs/gen_commands.py`:\n{gen.stale_diff()}")
