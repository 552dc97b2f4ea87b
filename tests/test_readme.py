"""The README's two set-up commands are the ones CI and newcomers run, and it names every
command.  The command reference itself (each command's --help) is docs/commands.md, checked
with the rest of the docs site in tests/test_docs.py."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _shell_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, re.S)]


def test_readme_opens_with_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = _shell_blocks(quick)
    assert len(blocks) == 2
    run, test = blocks
    assert run.startswith("python3 -m venv .venv") and "impact " in run and "data/" in run
    assert test.startswith("python3 -m venv .venv") and "pytest" in test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    test_command = _shell_blocks(readme.split("## Quick start", 1)[1])[1]
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_readme_documents_every_command() -> None:
    import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in cli.cli.commands:
        assert f"impact {name}" in readme, f"README lacks `impact {name}`"


def test_readme_is_short() -> None:
    """Everything beyond what the tool is, the set-up and a short tour is in docs/."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
