"""The `impact` command: a thin click layer over the `reports` library.

Each command parses its options, calls one library function, and prints the
result.  Whole-file problems (`ImpactError`) become one line on stderr and
exit code 1; wrong usage exits 2; `--debug` shows tracebacks.
"""

from __future__ import annotations

import functools
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

import click

import reports
from reports import export
from reports.errors import ImpactError, InvalidData, UsageProblem

DEBUG_ENV = "IMPACT_DEBUG"


class DecimalType(click.ParamType):
    """A figure such as 221.5, parsed exactly."""

    name = "number"

    def convert(self, value: Any, param: Any, ctx: Any) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            number = Decimal(str(value).replace(",", ""))
        except InvalidOperation:
            self.fail(f"{value!r} is not a number (e.g. 221.5)", param, ctx)
        if not number.is_finite():
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def _debugging(ctx: click.Context | None = None) -> bool:
    ctx = ctx or click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("debug"):
            return True
        ctx = ctx.parent
    return bool(os.environ.get(DEBUG_ENV))


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's fatal errors into one line and exit code 1 (2 for usage)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UsageProblem as e:
            if _debugging():
                raise
            raise click.UsageError(str(e)) from None
        except ImpactError as e:
            if _debugging():
                raise
            click.echo(f"Error: {e}", err=True)
            sys.exit(1)

    return wrapper


def debug_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--debug", is_flag=True,
                        help="Show the full traceback of any error (or set IMPACT_DEBUG=1).")(func)


def input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """FILE and the options that say how to read it."""
    decorators = [
        click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
        click.option("--sheet", "sheets", multiple=True, metavar="NAME",
                     help="Read only this sheet (repeatable). Default: every sheet with a "
                          "header row."),
        click.option("--map", "mapping", multiple=True, metavar='"HEADER=FIELD"',
                     help="Treat a column heading as a field, e.g. --map \"Current FTE=fte\" "
                          "(repeatable). Fields: " + ", ".join(reports.schema.FIELD_BY_NAME)),
        click.option("--encoding", metavar="NAME",
                     help="Encoding of a CSV file (default: UTF-8, else Windows-1252)."),
        click.option("--expect-fte", type=DecimalType(), metavar="FTE",
                     help="Control total: the baseline FTE the file must add up to."),
        click.option("--expect-deleted-fte", type=DecimalType(), metavar="FTE",
                     help="Control total: the deleted FTE the file must add up to."),
        debug_option,
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _check(file: Path, sheets: tuple[str, ...], mapping: tuple[str, ...], encoding: str | None,
           expect_fte: Decimal | None, expect_deleted_fte: Decimal | None) -> reports.Report:
    return reports.check(file, sheets=sheets, mapping=mapping, encoding=encoding,
                         expect_fte=expect_fte, expect_deleted_fte=expect_deleted_fte)


def print_invalid(report: reports.Report, fmt: str, err: bool = True) -> None:
    """Print a report's findings exactly as `impact validate` does."""
    if fmt == "json":
        click.echo(export.to_json(report.to_dict()), err=err)
    else:
        click.echo(export.findings_text(report), err=err, nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(reports.__version__, prog_name="impact")
def cli() -> None:
    """Read, validate and total post-level redundancy schedules.

    \b
    Example:
      impact summary data/derbyshire_early_help.xlsx
    """


@cli.command()
@input_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--annotate", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT.xlsx",
              help="Write a copy of the workbook with each faulty cell highlighted and "
                   "the message attached as a comment.")
@handle_errors
def validate(file: Path, sheets: tuple[str, ...], mapping: tuple[str, ...], encoding: str | None,
             expect_fte: Decimal | None, expect_deleted_fte: Decimal | None, debug: bool,
             fmt: str, annotate: Path | None) -> None:
    """Check a schedule and list every problem by sheet and cell.

    Exit code 0 when the file is valid (warnings allowed), 1 when it has errors
    or cannot be read, 2 for wrong usage.

    \b
    Examples:
      impact validate data/broken_example.xlsx
      impact validate posts.xlsx --format json --expect-fte 221.5
      impact validate posts.xlsx --annotate posts-checked.xlsx
    """
    report = _check(file, sheets, mapping, encoding, expect_fte, expect_deleted_fte)
    print_invalid(report, fmt, err=False)
    if annotate is not None:
        from reports.workbooks import annotate_copy

        annotate_copy(report, annotate)
        click.echo(f"Annotated copy written to {annotate}", err=True)
    sys.exit(0 if report.valid else 1)


@cli.command()
@input_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "xlsx"]),
              default="text", show_default=True, help="Output format (xlsx needs -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@handle_errors
def summary(file: Path, sheets: tuple[str, ...], mapping: tuple[str, ...], encoding: str | None,
            expect_fte: Decimal | None, expect_deleted_fte: Decimal | None, debug: bool,
            fmt: str, output: Path | None) -> None:
    """Total a schedule exactly, for the whole file and by team, grade,
    team x grade, destination and location.

    An invalid file is not summarised: its errors are printed and the exit
    code is 1.

    \b
    Examples:
      impact summary data/derbyshire_early_help.xlsx
      impact summary posts.xlsx --format json
      impact summary posts.xlsx --format xlsx -o totals.xlsx
    """
    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs -o FILE.xlsx")
    report = _check(file, sheets, mapping, encoding, expect_fte, expect_deleted_fte)
    if not report.valid:
        print_invalid(report, "json" if fmt == "json" else "text")
        sys.exit(1)
    result = reports.summarise(report)
    if fmt == "xlsx":
        assert output is not None
        export.write_summary_xlsx(result, output)
        click.echo(f"Summary written to {output}", err=True)
        return
    text = {"text": export.summary_text, "json": export.summary_json,
            "csv": export.summary_csv}[fmt](result)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        from reports.files import atomic_output

        with atomic_output(output, "w") as fh:
            fh.write(text)
        click.echo(f"Summary written to {output}", err=True)


@cli.command()
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
    from reports.workbooks import write_template

    if output.exists() and not force:
        raise click.UsageError(f"{output} already exists; use --force to overwrite it")
    write_template(output)
    click.echo(f"Template written to {output}")


def main() -> None:
    """Console-script entry point.

    Our own errors are handled in each command.  Anything else is a bug in this
    tool; the user still gets one line, not a traceback, unless --debug is given.
    """
    try:
        cli(prog_name="impact")
    except Exception as e:  # the last resort: a bug must not print a traceback
        if "--debug" in sys.argv[1:] or os.environ.get(DEBUG_ENV):
            raise
        click.echo(f"Error: internal error ({type(e).__name__}: {e}). This is a bug in impact; "
                   f"please report it. Run again with --debug to see the traceback.", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
