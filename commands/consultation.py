"""`impact s188`, `impact pools` and `impact reconcile`: what a union needs at the
consultation table.  Each parses its options, calls one service, prints the result."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from commands.options import DateParam, format_option, handle_errors, input_options, usable
from reports.render import data

if TYPE_CHECKING:
    from reports.services.source import HowToRead, Source


def _columns(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(c.strip().lower() for c in value.split(",") if c.strip())


@click.command()
@input_options
@click.option("--first-dismissal", type=DateParam(), metavar="YYYY-MM-DD",
              help="The proposed date of the first dismissals, for posts with no Dismissal "
                   "date.")
@click.option("--establishment", metavar="COLUMN",
              help="What an establishment is: establishment (the column), location, team, "
                   "or employer. Default: the Establishment column if the file has one, "
                   "else the whole employer.")
@click.option("--description", metavar="COLS",
              help="The columns that describe employees for s.188(4), comma-separated. "
                   "Default: title,grade.")
@format_option(type=click.Choice(["text", "json", "csv"]), help="Output format.")
@handle_errors
def s188(source: Source, how: HowToRead, debug: bool, first_dismissal: date | None,
         establishment: str | None, description: str | None, fmt: str) -> None:
    """The s.188 pack: proposed dismissals per establishment in any 90 days, the
    minimum consultation period (30 or 45 days), the latest dates to start
    consultation and send form HR1, the s.188(4) descriptions table, and the
    questions the schedule cannot answer.

    Proposed dismissals are people in occupied deleted posts; without a Vacant
    column they are an upper bound.  The whole-employer count is always shown.

    \b
    Examples:
      impact s188 data/derbyshire_early_help.xlsx
      impact s188 posts.xlsx --establishment team --first-dismissal 2026-06-01
      impact s188 posts.xlsx --format json
    """
    from reports.render import consultation as show  # start-up: only the union's commands use it
    from reports.services import consultation  # start-up: as above

    pack = usable(consultation.s188(source, how, establishment=establishment,
                                    description=_columns(description) or ("title", "grade"),
                                    first_dismissal=first_dismissal), fmt)
    render = {"text": show.s188_text, "csv": show.s188_csv,
              "json": lambda p: data.to_json(p.to_dict())}
    body = render[fmt](pack)
    click.echo(body, nl=not body.endswith("\n"))


@click.command()
@input_options
@click.option("--pool-by", metavar="COLUMNS",
              help="The columns that make a selection pool, with the grade, comma-separated. "
                   "Default: team,title,grade.")
@format_option(type=click.Choice(["text", "json", "csv"]), help="Output format.")
@handle_errors
def pools(source: Source, how: HowToRead, debug: bool, pool_by: str | None, fmt: str) -> None:
    """Selection pools (occupied posts sharing team, job title and grade) and the
    posts available for redeployment (new posts and retained vacancies), matched
    to each at-risk pool by grade: the same grade, then one step either side.

    \b
    Examples:
      impact pools data/derbyshire_early_help.xlsx
      impact pools posts.xlsx --pool-by title,grade --format json
    """
    from reports.render import consultation as show  # start-up: only the union's commands use it
    from reports.services import consultation  # start-up: as above

    cols = _columns(pool_by) or ("team", "title", "grade")
    found = usable(consultation.selection_pools(source, how, pool_by=cols), fmt)
    render = {"text": show.pools_text, "csv": show.pools_csv,
              "json": lambda p: data.to_json(p.to_dict())}
    body = render[fmt](found)
    click.echo(body, nl=not body.endswith("\n"))


@click.command()
@input_options
@click.option("--claim", "claims", multiple=True, metavar="MEASURE=VALUE",
              help="A published figure to check, e.g. --claim deleted_fte=132.5 "
                   "(repeatable).")
@click.option("--claims", "claims_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE.toml", help="Claims from a TOML file: deleted_fte = 132.5, or a "
                                        "[deleted_fte] table with value and published.")
@format_option(type=click.Choice(["text", "json"]), help="Output format.")
@handle_errors
def reconcile(source: Source, how: HowToRead, debug: bool, claims: tuple[str, ...],
              claims_file: Path | None, fmt: str) -> None:
    """Check the employer's published figures against its schedule, and explain
    each difference the posts explain (vacant counted as at risk, relocated
    counted as deleted, posts for FTE, a wrong totals row, one team's figure,
    rounding).

    Exit code 0 when every claim matches, 1 when any differs (or the file has
    errors), 2 for wrong usage.

    \b
    Examples:
      impact reconcile data/derbyshire_early_help.xlsx --claim deleted_fte=132.5
      impact reconcile posts.xlsx --claim at_risk_posts=148 --claim closing_sites=10
      impact reconcile posts.xlsx --claims cabinet-report.toml --format json
    """
    from reports.render import consultation as show  # start-up: only the union's commands use it
    from reports.services import consultation  # start-up: as above

    parsed = consultation.parse_claims(claims, claims_file)
    result = usable(consultation.check_claims(source, parsed, how), fmt)
    body = data.to_json(result.to_dict()) if fmt == "json" else show.reconcile_text(result)
    click.echo(body, nl=not body.endswith("\n"))
    sys.exit(0 if result.all_match else 1)


COMMANDS = (s188, pools, reconcile)
