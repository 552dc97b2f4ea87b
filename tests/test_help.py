"""Every command's --help ends in examples, and every example is a command line that parses."""

from __future__ import annotations

import shlex

import click
import pytest
from click.testing import CliRunner

import cli

COMMANDS = sorted(cli.cli.commands)
# a group's commands too: "store check", "store backup", ...
SUBCOMMANDS = sorted(f"{name} {sub}" for name, group in cli.cli.commands.items()
                     if isinstance(group, click.Group) for sub in group.commands)


def _command(name: str) -> click.Command:
    command: click.Command = cli.cli
    for part in name.split():
        assert isinstance(command, click.Group)
        command = command.commands[part]
    return command


def _help(name: str) -> str:
    result = CliRunner().invoke(cli.cli, [*name.split(), "--help"], prog_name="impact",
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


@pytest.mark.parametrize("name", COMMANDS + SUBCOMMANDS)
def test_help_has_an_example_of_the_command(name: str) -> None:
    examples = _examples(_help(name))
    assert examples, f"`impact {name} --help` has no Example(s): section"
    assert all(e.startswith(f"impact {name}") for e in examples), examples


@pytest.mark.parametrize("name", COMMANDS + SUBCOMMANDS)
def test_help_examples_parse(name: str) -> None:
    """An example naming an option the command no longer has (or a bad value) fails here."""
    for example in _examples(_help(name)):
        words = shlex.split(example)
        command, depth = _command(name), 1 + len(name.split())
        assert words[:depth] == ["impact", *name.split()]
        if isinstance(command, click.Group):      # the example's own command parses it
            command, depth = command.commands[words[depth]], depth + 1
        try:
            command.make_context(name, words[depth:])
        except click.UsageError as e:  # BadParameter and NoSuchOption are UsageErrors
            pytest.fail(f"`{example}`: {e.format_message()}")
