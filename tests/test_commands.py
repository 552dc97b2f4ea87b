"""The command line is cut by topic: cli.py holds the group, each module of commands/
one topic's commands; and every command that reads a file says why it cannot use it
exactly as `impact validate` does, with exit code 1."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import click
import pytest

import cli
import commands
from commands import options
from tests.conftest import invoke, sample

ROOT = Path(__file__).resolve().parents[1]
SHARED = {"__init__", "options"}          # modules of commands/ that hold no command


def _defined_commands(module: object) -> set[int]:
    """The click commands (groups, subcommands) a module defines itself, by identity."""
    return {id(value) for value in vars(module).values()
            if isinstance(value, click.Command) and value.callback is not None
            and value.callback.__module__ == module.__name__}


def test_every_module_of_the_package_is_a_topic_the_group_uses() -> None:
    on_disk = {p.stem for p in (ROOT / "commands").glob("*.py")} - SHARED
    assert on_disk == {t.__name__.rpartition(".")[2] for t in cli.TOPICS}
    assert all(t.__name__.startswith("commands.") for t in cli.TOPICS)


def test_every_command_lives_in_the_module_of_its_topic() -> None:
    listed = [(topic, command) for topic in cli.TOPICS for command in topic.COMMANDS]
    names = [command.name for _, command in listed]
    assert len(names) == len(set(names)), "a command listed by two topics"
    assert sorted(names) == sorted(cli.cli.commands)          # every one registered, once
    for topic, command in listed:
        assert cli.cli.commands[command.name] is command
        assert command.callback is not None
        assert command.callback.__module__ == topic.__name__, command.name
        # a group's subcommands are written beside it
        for sub in getattr(command, "commands", {}).values():
            assert sub.callback.__module__ == topic.__name__, f"{command.name} {sub.name}"
    for topic in cli.TOPICS:     # and no module defines a command it does not list
        listed_here = list(topic.COMMANDS)
        listed_here += [s for c in topic.COMMANDS for s in getattr(c, "commands", {}).values()]
        assert _defined_commands(topic) == {id(c) for c in listed_here}, topic.__name__


def test_each_topic_s_docstring_names_its_commands() -> None:
    for topic in cli.TOPICS:
        doc = " ".join((topic.__doc__ or "").split())
        for command in topic.COMMANDS:
            assert f"`impact {command.name}`" in doc, (topic.__name__, command.name)
    assert all(t.__name__.rpartition(".")[2] in (commands.__doc__ or "") for t in cli.TOPICS)


def test_the_shared_module_and_cli_py_define_no_command() -> None:
    assert _defined_commands(options) == set()
    tree = ast.parse((ROOT / "cli.py").read_text(encoding="utf-8"))
    decorated = [d for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                 for d in node.decorator_list]
    # the group itself, and nothing decorated as a command
    assert [ast.unparse(d).split("(")[0] for d in decorated] == ["click.group",
                                                                  "click.version_option"]


# -- a file that cannot be used: its findings, as `impact validate` prints them --------

BAD, GOOD = "broken_example.xlsx", "derbyshire_early_help.xlsx"

# (command, arguments before the file, arguments after it); {tmp} is a scratch folder
READERS = [
    ("summary", [], []),
    ("costs", [], []),
    ("equality", [], []),
    ("s188", [], []),
    ("pools", [], []),
    ("reconcile", [], ["--claim", "deleted_fte=1"]),
    ("compare", [], [GOOD]),              # the older file is the invalid one
    ("compare", [GOOD], []),              # the newer one
    ("brief", [], ["-o", "{tmp}/b.pdf"]),
    ("upload", [], ["--dataset", "x", "--store", "{tmp}/store", "--as-of", "2024-01-01"]),
]
JSON = {"summary", "costs", "equality", "s188", "pools", "reconcile", "compare", "upload"}


def _args(before: list[str], after: list[str], tmp: Path) -> list[str]:
    def one(a: str) -> str:
        return str(sample(a)) if a.endswith(".xlsx") else a.replace("{tmp}", str(tmp))
    return [*map(one, before), str(sample(BAD)), *map(one, after)]


@pytest.mark.parametrize("command, before, after", READERS,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(READERS)])
def test_an_invalid_file_prints_its_findings_and_exits_1(command, before, after, tmp_path):
    validated = invoke("validate", sample(BAD))
    assert validated.exit_code == 1 and "error(s)" in validated.stdout
    result = invoke(command, *_args(before, after, tmp_path))
    assert result.exit_code == 1
    assert result.stdout == ""
    said = result.stderr
    if command == "upload":            # first: the store it made for the upload
        first, _, said = said.partition("\n")
        assert first.startswith("Created a new store at ")
    assert said == validated.stdout
    assert not (tmp_path / "b.pdf").exists()


@pytest.mark.parametrize("command, before, after",
                         [r for r in READERS if r[0] in JSON],
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(READERS) if c in JSON])
def test_an_invalid_file_s_findings_as_json_on_stdout(command, before, after, tmp_path):
    validated = json.loads(invoke("validate", sample(BAD), "--format", "json").stdout)
    assert validated["valid"] is False
    result = invoke(command, *_args(before, after, tmp_path), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == validated


def test_the_commands_audiences_are_the_templates() -> None:
    """commands/options.py writes the audiences out (no documents layer at start-up):
    they must be the briefing templates' own, in order."""
    from commands.options import AUDIENCES
    from reports.documents.template import AUDIENCES as TEMPLATES

    assert tuple(AUDIENCES) == tuple(TEMPLATES)
