"""The `impact` command: a thin click layer over the `reports` services.

Each command parses its options, calls one service function (`reports.services`),
and prints the result.  Whole-file problems (`ImpactError`) become one line on
stderr and exit code 1; wrong usage exits 2; `--debug` shows tracebacks.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import click

from cli_options import (DEBUG_ENV, VERSION, MonthParam, NonEmptyPath,  # isort: skip
                         _debugging, _emit, as_of_options, audience_option, brief_options,
                         brief_render_options, kept_option,
                         brief_written, check_text,
                         debug_option, format_option, handle_errors, input_options,
                         chosen_db, open_store, output_option, print_invalid, read_options,
                         leave, ledger_option, owner_only_in, show_audit_option,
                         store_option, tell_public)
import cli_costs
import cli_deliver
from cli_profile import profile as profile_group
from cli_store import datasets, history
from cli_store import store as store_group
from cli_union import register as register_union
from cli_users import serve, users
from reports.model.version import __version__
from reports.render import data, text
from reports.services import outputs, summaries
from reports.services.source import HowToRead, Source, check


@contextlib.contextmanager
def _status(line: str) -> Iterator[None]:
    """A transient status line on a terminal (a large file takes seconds); nothing otherwise."""
    if not _on_terminal():
        yield
        return
    click.echo(line, err=True, nl=False)
    try:
        yield
    finally:
        click.echo("\r\033[K", err=True, nl=False, color=True)   # erase the line


def _today() -> date:
    """Today's date (tests replace this function)."""
    return date.today()


def _on_terminal() -> bool:
    """Whether progress lines have someone to read them (tests replace this function)."""
    return sys.stderr.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="impact")
def cli() -> None:
    """Read, validate and total post-level redundancy schedules.

    \b
    Example:
      impact summary data/derbyshire_early_help.xlsx
    """


@cli.command()
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
    report = check(source, how, status=_status)
    print_invalid(report, fmt, err=False)
    if annotate is not None:
        outputs.save_annotated(report, annotate)
        click.echo(f"Annotated copy written to {annotate}", err=True)
    sys.exit(0 if report.valid else 1)


@cli.command()
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
    result = summaries.summarise_source(source, how, status=_status, audience=audience,
                                        ledger_file=ledger_file)
    if result.summary is None:
        print_invalid(result.report, "json" if fmt == "json" else "text")
        sys.exit(1)
    tell_public(result, show_audit)
    if fmt == "xlsx":
        assert output is not None
        outputs.save_summary_xlsx(result.summary, output)
        click.echo(f"Summary written to {output}", err=True)
        return
    render = {"text": text.summary_text, "json": data.summary_json, "csv": data.summary_csv}
    _emit(render[fmt](result.summary), output, "Summary")


@cli.command()
@input_options
@brief_options
@kept_option
@ledger_option
@show_audit_option
@brief_render_options
@handle_errors
def brief(source: Source, how: HowToRead, debug: bool, audience: str,
          template_file: Path | None, title: str | None, organisation: str | None,
          output: Path | None, reproducible: bool, compare_with: Path | None = None,
          since_version: int | None = None, kept: str | None = None,
          ledger_file: Path | None = None, show_audit: bool = False, **render: Any) -> None:
    """Write an impact briefing (PDF, tagged PDF, HTML or Word): headline figures,
    tables by team, grade and site, charts, data notes and method, for a
    union, management or the public.

    An invalid file gets no briefing: its errors are printed as `impact
    validate` prints them and the exit code is 1.  The briefing is written under a
    temporary name and renamed when complete.

    \b
    Examples:
      impact brief data/derbyshire_early_help.xlsx
      impact brief posts.xlsx --audience public -o public-briefing.pdf
      impact brief posts.xlsx --template my-union.toml --organisation "Derbyshire County Council"
      impact brief proposals-v2.xlsx --compare proposals-v1.xlsx
      impact brief --dataset derbyshire-early-help --since-version 1
      impact brief posts.xlsx --audience public --show-audit
      impact brief posts.xlsx --format html -o briefing.html
      impact brief posts.xlsx --format docx -o briefing.docx
      impact brief posts.xlsx --accessible -o briefing-tagged.pdf
    """
    from reports.services import briefs  # start-up: the documents layer, only for briefings

    given = click.get_current_context().get_parameter_source("audience")
    result = briefs.brief(source, how, audience=audience, template_file=template_file,
                        audience_given=given != click.core.ParameterSource.DEFAULT,
                        title=title, organisation=organisation, output=output,
                        reproducible=reproducible, compare_with=compare_with,
                        since_version=since_version, status=_status,
                        ledger_file=ledger_file, kept=kept, **render)
    if result.invalid is not None:
        print_invalid(result.invalid, "text")
        sys.exit(1)
    click.echo(brief_written(result), err=True)
    tell_public(result, show_audit)


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
    outputs.save_blank_template(output, force=force)
    click.echo(f"Template written to {output}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", required=True, metavar="NAME", callback=check_text,
              help="The dataset (restructure) this file is a version of; created on first "
                   "upload.")
@as_of_options
@click.option("--by", metavar="NAME", callback=check_text,
              help="Who is uploading it. Default: your login name.")
@click.option("--note", metavar="TEXT", default="", callback=check_text,
              help="A note kept with the version.")
@read_options
@format_option(type=click.Choice(["text", "json"]), help="Output format.")
@store_option
@debug_option
@handle_errors
def upload(file: Path, dataset: str, as_of: date | None, by: str | None, note: str,
           how: HowToRead, fmt: str, store_dir: Path | None, debug: bool) -> None:
    """Validate a schedule and store it as the next version of a dataset.

    An invalid file stores nothing: its errors are printed exactly as
    `impact validate` prints them (on stderr) and the exit code is 1.  The same bytes as
    the latest version make no new version (an earlier version's do, naming it).  The
    options used to read FILE (--sheet, --map, --status-map, --default-status,
    --where, --header-row, --one-post-per-row, --encoding) are kept as the dataset's
    profile, and the next upload to it uses them unless others are given (see `impact
    profile`); an upload that stores nothing leaves the profile as it was.

    \b
    Examples:
      impact upload data/derbyshire_early_help.xlsx --dataset derbyshire-early-help
      impact upload proposals-v2.xlsx --dataset derbyshire-early-help --as-of 2024-03-12 \\
          --by "HR Business Partner" --note "After the first consultation meeting"
      impact upload posts.xlsx --dataset early-help --store /srv/impact
    """
    from reports.services import datasets as stored  # start-up: SQLAlchemy
    from reports.services import uploads  # lazy: SQLAlchemy

    with open_store(store_dir, create=True) as store:
        outcome = uploads.upload_file(store, file, dataset, as_of=as_of or _today(), by=by,
                                      note=note, how=how)
    result = outcome.stored
    if result is None or result.version is None:       # invalid, or needs a mapping
        print_invalid(outcome.report, fmt)
        sys.exit(1)
    v = result.version
    if fmt == "json":
        click.echo(data.to_json(result.to_dict()))
        return
    click.echo(text.printable(stored.upload_text(file.name, result)))
    if result.personal_columns:
        click.echo(text.personal_data_note(result.personal_columns), err=True)
    if result.report.findings.warnings:
        click.echo(f"{len(result.report.findings.warnings)} warning(s): see impact validate "
                   f"--dataset \"{v.dataset}\" --version {v.number}", err=True)


@cli.command()
@click.argument("old", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", metavar="NAME", callback=check_text,
              help="Compare two stored versions of this dataset.")
@click.option("--from", "from_version", type=VERSION, metavar="N",
              help="With --dataset: the older version. Default: the one before --to.")
@click.option("--to", "to_version", type=VERSION, metavar="M",
              help="With --dataset: the newer version. Default: the latest.")
@read_options
@format_option(type=click.Choice(["text", "json", "csv"]), help="Output format.")
@output_option
@audience_option
@ledger_option
@store_option
@debug_option
@handle_errors
def compare(old: Path | None, new: Path | None, dataset: str | None, from_version: int | None,
            to_version: int | None, how: HowToRead, fmt: str, output: Path | None,
            audience: str | None, ledger_file: Path | None,
            store_dir: Path | None, debug: bool) -> None:
    """Say what changed between two versions of a schedule: posts added and
    removed, posts whose status, FTE or destination changed, and the change
    in every total, by team and by grade, under a one-line headline.

    Posts are matched by Post ID when both versions have one for every post;
    otherwise on team + title + grade + location, which is weaker, and the
    output says so.

    \b
    Examples:
      impact compare proposals-v1.xlsx proposals-v2.xlsx
      impact compare --dataset derbyshire-early-help --from 1 --to 2
      impact compare --dataset derbyshire-early-help --format csv -o changes.csv
      impact compare proposals-v1.xlsx proposals-v2.xlsx --audience public
    """
    from reports.services.comparisons import compare_sources  # start-up: only `compare`

    outputs.refuse_input(output, old, new)
    result = compare_sources(old, new, dataset=dataset, from_version=from_version,
                             to_version=to_version, store_dir=store_dir, db=chosen_db(),
                             how=how, audience=audience, ledger_file=ledger_file)
    tell_public(result, False)
    if result.comparison is None:
        assert result.invalid is not None
        print_invalid(result.invalid, "json" if fmt == "json" else "text")
        sys.exit(1)
    if result.public is not None:
        pub = {"text": text.public_comparison_text, "json": data.to_json,
               "csv": data.public_comparison_csv}
        _emit(pub[fmt](result.public), output, "Comparison", newline=True)
        return
    render = {"text": text.comparison_text, "json": data.comparison_json,
              "csv": data.comparison_csv}
    _emit(render[fmt](result.comparison), output, "Comparison", newline=True)


@cli.command()
@click.option("--month", type=MonthParam(), metavar="YYYY-MM",
              help="The month to report. Default: the previous calendar month.")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              metavar="DIR", help="Where the month's folder goes. Default: STORE/reports.")
@click.option("--audience", "audiences", multiple=True, metavar="NAME|FILE.toml",
              help="A briefing for this audience: union, management, public, or a template "
                   "file (repeatable). Default: union and management.")
@click.option("--force", is_flag=True, help="Rebuild the month even if it is complete.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--create", is_flag=True, help="Make the store if there is none (else: exit 1).")
@click.option("--send", is_flag=True, help="Then e-mail each audience's briefings to its list "
              "(impact deliver), through the server $IMPACT_SMTP_HOST names.")
@store_option
@debug_option
@handle_errors
def monthly(month: Any, out_dir: Path | None, audiences: tuple[str, ...], force: bool,
            quiet: bool, create: bool, send: bool, store_dir: Path | None, debug: bool) -> None:
    """Write every dataset's briefings for a month, for a scheduled job.

    For each dataset, the latest version dated on or before the month's last
    day gives OUT/YYYY-MM/<dataset>/: a PDF briefing per audience with a
    "What changed since last month" section, the summary as xlsx and json,
    and changes.json.  OUT/YYYY-MM/manifest.json lists every file with its
    sha256 and any failure.  A complete month is not rewritten (--force
    rebuilds it); a run that was killed is finished by the next one.  One
    dataset failing does not stop the others, but the exit code is then 1.
    Progress lines go to stderr on a terminal only.

    \b
    Examples:
      impact monthly --out /srv/impact/reports --quiet
      impact monthly --month 2024-04 --out reports
      impact monthly --month 2024-04 --audience public --audience union --force
      impact monthly --out /srv/impact/reports --quiet --send
    """
    # start-up: SQLAlchemy, only the commands with a store need it
    from reports.services.monthly import Month, audiences_from, pause_for_tests, run_monthly

    chosen, mail = audiences_from(audiences), cli_deliver.mail_settings(send)
    progress = None if quiet or not _on_terminal() else lambda line: click.echo(line, err=True)
    with open_store(store_dir, create=create, writes=True) as store, \
            owner_only_in(store.root, out_dir):
        result = run_monthly(store, out_dir or store.root / "reports",
                             month or Month.before(_today()), audiences=chosen, force=force,
                             progress=progress, pause=pause_for_tests(), debug=_debugging())
        sent = cli_deliver.send_month(store, result, mail) if send else None
    for run in result.failures:
        click.echo(text.printable(f"Error: {result.month}: dataset '{run.dataset}' failed: "
                                  f"{run.message}"), err=True)
    if not quiet:
        click.echo(result.summary_line())
    sys.exit(0 if cli_deliver.report(sent, quiet) and result.ok else 1)
for _group in (datasets, history, store_group, profile_group, cli_costs.costs,
               cli_costs.equality, users, serve, cli_deliver.deliver):
    cli.add_command(_group)
register_union(cli)


def main() -> None:
    """Console-script entry point.  Our own errors are handled in each command; anything
    else is a bug, shown in one line, not a traceback, unless --debug is given."""
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
