"""`impact costs` and `impact equality`: the cost of the proposals against their saving,
and who bears them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from commands import options
from commands.options import (
    DateParam,
    DecimalType,
    emit,
    format_option,
    handle_errors,
    input_options,
    kept_option,
    output_option,
    usable,
)
from reports.render import data

if TYPE_CHECKING:
    from reports.services.source import HowToRead, Source


@click.command()
@input_options
@click.option("--saving-target", type=DecimalType(), metavar="AMOUNT",
              help="The saving the proposals must make a year, in pounds: the output says "
                   "how far over or under it they are.")
@click.option("--actual-pay", is_flag=True,
              help="Count redundancy pay at actual weekly pay, not the statutory cap "
                   "(a council's discretion, SI 2006/2914).")
@click.option("--multiplier", type=DecimalType(), metavar="N", default=Decimal(1),
              help="Multiply the statutory weeks by N, at most 104 weeks in all "
                   "(SI 2006/2914). Default: 1.")
@click.option("--dismissal-date", type=DateParam(), metavar="YYYY-MM-DD",
              help="When the dismissals take effect, for rows with no date of their own "
                   "(a row's Dismissal date, else its Effective date, wins): the weekly pay "
                   "cap is the one in force on each row's date. Default: today.")
@format_option(type=click.Choice(["text", "json", "csv"]), help="Output format.")
@output_option
@handle_errors
def costs(source: Source, how: HowToRead, debug: bool, saving_target: Decimal | None,
          actual_pay: bool, multiplier: Decimal, dismissal_date: date | None, fmt: str,
          output: Path | None) -> None:
    """The annual saving split three ways (occupied, vacant, relocated), the
    saving this financial year, redundancy pay, pension strain and payback.

    Redundancy pay is an estimate per person when the file has Age, Years of
    service and Weekly pay columns, else an upper bound, labelled as one (and
    payback worked out from it says "at most"). Each person is paid at the
    weekly cap in force on their own dismissal date; every cap that applied is
    listed. No one's age or pay is ever shown: only totals.

    \b
    Examples:
      impact costs data/derbyshire_early_help.xlsx --saving-target 3900000
      impact costs posts.xlsx --dismissal-date 2026-06-30 --multiplier 1.5 --format json
    """
    from reports.figures.costs import CostOptions  # start-up: only `impact costs` uses them
    from reports.render import costs as render  # start-up: as above
    from reports.services import costs as service  # start-up: as above

    today = options.today()
    chosen = CostOptions(dismissal_date=dismissal_date or today, today=today,
                         saving_target=saving_target, actual_pay=actual_pay,
                         multiplier=multiplier, dismissal_date_given=dismissal_date is not None)
    found = usable(service.costs_source(source, chosen, how), fmt)
    out = {"text": render.costs_text, "csv": render.costs_csv,
           "json": lambda c: data.to_json(c.to_dict())}[fmt](found)
    emit(out, output, "Costs")


@click.command()
@input_options
@click.option("--audience", type=click.Choice(options.AUDIENCES),
              default=None, metavar="NAME",
              help="union, management or public: apply this audience's briefing rule (union "
                   "and management show sex and working pattern in full; public hides small "
                   "counts of every characteristic). Default: every characteristic's small "
                   "counts hidden.")
@kept_option
@format_option(type=click.Choice(["text", "json", "csv"]), help="Output format.")
@output_option
@handle_errors
def equality(source: Source, how: HowToRead, debug: bool, audience: str | None,
             kept: str | None, fmt: str, output: Path | None) -> None:
    """Who bears the cuts: for part-time working (from FTE) and any Sex, Age
    band, Ethnicity, Disability or Working pattern column, each group's
    retention rate, its ratio to the best-retained group (flagged under 0.8,
    the four-fifths test) and Fisher's exact test p-value.

    Counts under 5, and any figure that would reveal one, are hidden as [c];
    with --audience union or management, sex and working pattern are shown in
    full. Ethnicity and disability (special category data) are protected
    whatever the audience.

    \b
    Examples:
      impact equality data/derbyshire_early_help.xlsx
      impact equality posts.xlsx --audience union --kept retained
      impact equality posts.xlsx --format csv -o equality.csv
    """
    from reports.render import costs as render  # start-up: only `impact costs` and `equality`
    from reports.services import costs as service  # start-up: as above

    found = usable(service.equality_source(source, how,
                                           rule=service.equality_rule(audience, kept)), fmt)
    out = {"text": render.equality_text, "csv": render.equality_csv,
           "json": lambda e: data.to_json(e.to_dict())}[fmt](found)
    emit(out, output, "Equality impact")


COMMANDS = (costs, equality)
