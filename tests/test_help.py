"""Every command's --help ends in examples, and every example is a command line that parses."""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

import cli

COMMANDS = sorted(cli.cli.commands)


def _help(name: str) -> str:
    result = CliRunner().invoke(cli.cli, [name, "--help"], prog_name="impact",
                                terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def _examples(help_text: str) -> list[str]:
    """The command lines under the help's "Example:" or "Examples:" line, continuations joined."""
    lines = help_text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:")]
    if not starts:
        return []
    examples: list[str] = []
    pending = ""
    for line in lines[starts[0] + 1:]:
        if not line.strip():
            break
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        examples.append(pending)
        pending = ""
    return examples


def test_every_command_is_checked() -> None:
    assert len(COMMANDS) >= 9 and "monthly" in COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_an_example_of_the_command(name: str) -> None:
    examples = _examples(_help(name))
    assert examples, f"`impact {name} --help` has no Example(s): section"
    assert all(e.startswith(f"impact {name}") for e in examples), examples


@pytest.mark.parametrize("name", COMMANDS)
def test_help_examples_parse(name: str) -> None:
    """An example naming an option the command no longer has (or a bad value) fails here."""
    command = cli.cli.commands[name]
    for example in _examples(_help(name)):
        words = shlex.split(example)
        assert words[:2] == ["impact", name]
        try:
            command.make_context(name, words[2:])
        except click.UsageError as e:  # BadParameter and NoSuchOption are UsageErrors
            pytest.fail(f"`{example}`: {e.format_message()}")
