"""Reading a schedule: `impact validate` (every problem, by sheet and cell), `impact
summary` (its exact totals) and `impact template` (a blank workbook to fill in)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commands import options
from commands.options import (
    audience_option,
    debug_option,
    emit,
    format_option,
    handle_errors,
    input_options,
    ledger_option,
    output_option,
    print_invalid,
    show_audit_option,
    tell_public,
    usable,
)
from reports.render import data, text
from reports.services import outputs, summaries
from reports.services.source import HowToRead, Source, check


@click.command()
@input_options
@format_option(type=click.Choice(["text", "json"]), help="Output format.")
@click.option("--annotate", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT.xlsx",
              help="Write a copy of the workbook with each faulty cell highlighted and "
                   "the message attached as a comment.")
@handle_errors
def validate(source: Source, how: HowToRead, debug: bool, fmt: str,
             annotate: Path | None) -> None:
    """Check a schedule and list every problem by sheet and cell.

    Exit code 0 when the file is valid (warnings allowed), 1 when it has errors
    or cannot be read, 2 for wrong usage.

    \b
    Examples:
      impact validate data/broken_example.xlsx
      impact validate posts.xlsx --format json --expect-fte 221.5
      impact validate posts.xlsx --annotate posts-checked.xlsx
    """
    report = check(source, how, status=options.status)
    print_invalid(report, fmt, err=False)
    if annotate is not None:
        outputs.save_annotated(report, annotate)
        click.echo(f"Annotated copy written to {annotate}", err=True)
    sys.exit(0 if report.valid else 1)


@click.command()
@input_options
@format_option(type=click.Choice(["text", "json", "csv", "xlsx"]),
               help="Output format (xlsx needs -o).")
@output_option
@audience_option
@ledger_option
@show_audit_option
@handle_errors
def summary(source: Source, how: HowToRead, debug: bool, fmt: str, output: Path | None,
            audience: str | None, ledger_file: Path | None, show_audit: bool) -> None:
    """Total a schedule exactly, for the whole file and by team, grade,
    team x grade, destination and location.

    An invalid file is not summarised: its errors are printed and the exit
    code is 1.

    \b
    Examples:
      impact summary data/derbyshire_early_help.xlsx
      impact summary posts.xlsx --format json
      impact summary posts.xlsx --format xlsx -o totals.xlsx
      impact summary posts.xlsx --audience public --format json --show-audit
    """
    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs -o FILE.xlsx")
    result = usable(summaries.summarise_source(source, how, status=options.status,
                                               audience=audience, ledger_file=ledger_file),
                    fmt)
    tell_public(result, show_audit)
    if fmt == "xlsx":
        assert output is not None
        outputs.save_summary_xlsx(result.summary, output)
        click.echo(f"Summary written to {output}", err=True)
        return
    render = {"text": text.summary_text, "json": data.summary_json, "csv": data.summary_csv}
    emit(render[fmt](result.summary), output, "Summary")


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("posts.xlsx"), show_default=True, help="Where to write the template.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@debug_option
@handle_errors
def template(output: Path, force: bool, debug: bool) -> None:
    """Write a blank input workbook with the canonical headings, drop-down
    lists for Status and Vacant, number checks on FTE and Posts, and a
    Guidance sheet.

    \b
    Example:
      impact template -o posts.xlsx
    """
    outputs.save_blank_template(output, force=force)
    click.echo(f"Template written to {output}")


COMMANDS = (validate, summary, template)
