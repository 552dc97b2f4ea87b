"""`impact brief`: an impact briefing on one schedule (PDF, tagged PDF, HTML or Word),
for a union, management or the public, and the options only it takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands import options
from commands.options import (
    VERSION,
    handle_errors,
    input_options,
    kept_option,
    ledger_option,
    option_group,
    show_audit_option,
    tell_public,
    usable,
)
from reports.services.source import HowToRead, Source

brief_options = option_group(
    click.option("--audience", type=click.Choice(options.AUDIENCES),
                 default="union", show_default=True,
                 help="Who the briefing is for; picks the built-in template. The public one "
                      "suppresses small numbers."),
    click.option("--template", "template_file", type=click.Path(dir_okay=False, path_type=Path),
                 metavar="PATH", help="Use this template instead: a copy of one in templates/, "
                                      "edited."),
    click.option("--title", help="The briefing's title (default: the template's)."),
    click.option("--organisation", help="The organisation named on the briefing."),
    click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                 metavar="OUT", help="Where to write the briefing. Default: FILE-AUDIENCE.pdf "
                                     "(.html) in the current directory."),
    click.option("--reproducible", is_flag=True,
                 help="Byte-identical PDF for the same input: no timestamps; the date printed "
                      "comes from SOURCE_DATE_EPOCH, else none is."),
    click.option("--compare", "compare_with", type=click.Path(dir_okay=False, path_type=Path),
                 metavar="OLD", help="Add a \"What changed\" section after the headline: the "
                                     "changes since this earlier file."),
    click.option("--since-version", type=VERSION, metavar="N",
                 help="With --dataset: add a \"What changed\" section: the changes since "
                      "version N."))


brief_render_options = option_group(
    click.option("--format", "fmt", type=click.Choice(["pdf", "html", "docx"]),
                 default="pdf", show_default=True,
                 help="pdf; html: one accessible, self-contained web page (headings, "
                      "tables with headers, each chart with its figures as a table); or "
                      "docx: a Word document to edit, with a marked place for your own "
                      "commentary."),
    click.option("--accessible/--no-accessible", default=None,
                 help="A tagged PDF (PDF/UA: structure, reading order, table headers, "
                      "alt text), made from the HTML briefing; slower. Default: the "
                      "template's `renderer` (tagged for public, ReportLab otherwise)."))


def brief_written(result: Any) -> str:
    """The line `impact brief` prints when it has written a briefing."""
    if result.kind in ("HTML", "Word"):
        return f"Briefing written to {result.path} ({result.kind})"
    pages = f"{result.pages} page{'s' if result.pages != 1 else ''}"
    kind = "" if result.kind == "PDF" else f"{result.kind}, "
    return f"Briefing written to {result.path} ({kind}{pages})"


@click.command()
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
    result = usable(briefs.brief(source, how, audience=audience, template_file=template_file,
                                 audience_given=given != click.core.ParameterSource.DEFAULT,
                                 title=title, organisation=organisation, output=output,
                                 reproducible=reproducible, compare_with=compare_with,
                                 since_version=since_version, status=options.status,
                                 ledger_file=ledger_file, kept=kept, **render))
    click.echo(brief_written(result), err=True)
    tell_public(result, show_audit)


COMMANDS = (brief,)
