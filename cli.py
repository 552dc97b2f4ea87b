"""The `impact` command: the click group, with every topic's commands (`commands/`).

Each command parses its options, calls one service function (`reports.services`),
and prints the result.  Whole-file problems (`ImpactError`) become one line on
stderr and exit code 1; wrong usage exits 2; `--debug` shows tracebacks.
"""

from __future__ import annotations

import os
import sys

import click

from commands import (
    briefings,
    consultation,
    costs,
    datasets,
    delivery,
    monthly,
    portal,
    reading,
    store,
)
from commands.options import DEBUG_ENV, leave
from reports.model.version import __version__
from reports.store import faults

TOPICS = (reading, briefings, datasets, store, consultation, costs, monthly, delivery, portal)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="impact")
def cli() -> None:
    """Read, validate and total post-level redundancy schedules.

    \b
    Example:
      impact summary data/derbyshire_early_help.xlsx
    """


for _topic in TOPICS:
    for _command in _topic.COMMANDS:
        cli.add_command(_command)


def main() -> None:
    """Console-script entry point.  Our own errors are handled in each command; anything
    else is a bug, shown in one line, not a traceback, unless --debug is given."""
    if faults.problem():       # a test hook set wrongly: say so, do nothing else
        click.echo(f"Error: {faults.problem()}", err=True)
        leave(2)
    try:
        cli(prog_name="impact")
    except SystemExit as e:     # how click ends every command: ended without teardown
        leave(e.code)
    except Exception as e:  # the last resort: a bug must not print a traceback
        if "--debug" in sys.argv[1:] or os.environ.get(DEBUG_ENV):
            raise
        click.echo(f"Error: internal error ({type(e).__name__}: {e}). This is a bug in impact; "
                   f"please report it. Run again with --debug to see the traceback.", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
