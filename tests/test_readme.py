"""The README's two set-up commands are the ones CI and newcomers run, and its command
reference is each command's --help, as docs/gen_commands.py (cog) generates it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

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


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_commands",
                                                  ROOT / "docs" / "gen_commands.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_has_a_generated_help_block_for_every_command() -> None:
    import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = readme.split("<!-- COMMANDS -->", 1)[1].split("<!-- /COMMANDS -->", 1)[0]
    block = re.compile(r'<!-- \[\[\[cog import gen_commands; gen_commands\.help\("(\w+)"\) ]]] -->')
    blocks = block.findall(commands)
    assert sorted(blocks) == sorted(cli.cli.commands), (
        "each command needs one cog block in the README's Commands section")


def test_readme_command_reference_is_not_stale() -> None:
    """`cog --check` over the README: fails when a --help text changed and the README did not."""
    gen = _generator()
    status = gen.run_cog("--check")
    assert status == 0, (
        f"README.md's command reference differs from the commands' --help (cog exited {status}); "
        f"regenerate it with `.venv/bin/python docs/gen_commands.py`:\n{gen.stale_diff()}")


def test_readme_has_a_generated_help_block_for_every_command_of_a_group() -> None:
    """`impact store check` and the like: one cog block each, as gen_commands.help("store check")."""
    import click

    import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = readme.split("<!-- COMMANDS -->", 1)[1].split("<!-- /COMMANDS -->", 1)[0]
    block = re.compile(r'<!-- \[\[\[cog import gen_commands; gen_commands\.help\("(\w+ \w+)"\) ]]] -->')
    wanted = sorted(f"{name} {sub}" for name, group in cli.cli.commands.items()
                    if isinstance(group, click.Group) for sub in group.commands)
    assert wanted and sorted(block.findall(commands)) == wanted
