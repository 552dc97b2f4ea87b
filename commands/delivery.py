"""`impact deliver`: who receives each dataset's monthly briefings by e-mail, and what was
sent; and the `--send` step of `impact monthly`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commands.options import (
    AUDIENCES,
    MonthParam,
    check_text,
    debug_option,
    format_option,
    handle_errors,
    open_store,
    store_option,
)
from reports.render import data, text


def _who() -> str:
    from reports.services.datasets import os_user  # start-up: SQLAlchemy

    return f"{os_user()} (command line)"


def _row(*fields: Any) -> None:
    """One line of tab-separated fields, each with its control characters shown escaped."""
    click.echo("\t".join(text.printable(str(f)) for f in fields))


def _accounts(store: Any) -> Any:
    from reports.store.accounts import Accounts  # start-up: SQLAlchemy

    return Accounts(store)


@click.group()
def deliver() -> None:
    """Who receives each dataset's monthly briefings by e-mail (impact monthly
    --send), and what was sent.  Management recipients get the management
    briefing; union recipients the union and public briefings; public
    recipients the public briefing only.

    \b
    Examples:
      impact deliver add derbyshire-early-help --audience union --to branch@example.org
      impact deliver list
      impact deliver remove derbyshire-early-help --audience union --to branch@example.org
      impact deliver sent --month 2024-04
    """


audience_choice = click.option("--audience", required=True, type=click.Choice(AUDIENCES),
                               help="The list: union, management or public.")


@deliver.command()
@click.argument("name", callback=check_text)
@audience_choice
@click.option("--to", "addresses", required=True, multiple=True, metavar="ADDRESS",
              help="An e-mail address (repeatable).")
@store_option
@debug_option
@handle_errors
def add(name: str, audience: str, addresses: tuple[str, ...], store_dir: Path | None,
        debug: bool) -> None:
    """Put addresses on dataset NAME's list for an audience (an audit entry records it).

    \b
    Example:
      impact deliver add derbyshire-early-help --audience union --to branch@example.org
    """
    from reports.services import delivery  # start-up: SQLAlchemy

    with open_store(store_dir) as store:
        accounts = _accounts(store)
        for to in addresses:
            entry, address = delivery.add_recipient(store, accounts, name, audience, to,
                                                    by=_who(), where="command line")
            said = "Added" if entry is not None else "Already there:"
            click.echo(text.printable(f"{said} {address} on the {audience} list of '{name}'."))


@deliver.command()
@click.argument("name", callback=check_text)
@audience_choice
@click.option("--to", "addresses", required=True, multiple=True, metavar="ADDRESS",
              help="An e-mail address (repeatable).")
@store_option
@debug_option
@handle_errors
def remove(name: str, audience: str, addresses: tuple[str, ...], store_dir: Path | None,
           debug: bool) -> None:
    """Take addresses off dataset NAME's list for an audience; exit 1 if one was not on it.

    \b
    Example:
      impact deliver remove derbyshire-early-help --audience union --to branch@example.org
    """
    from reports.services import delivery  # start-up: SQLAlchemy

    missing = 0
    with open_store(store_dir) as store:
        accounts = _accounts(store)
        for to in addresses:
            if delivery.remove_recipient(store, accounts, name, audience, to, by=_who(),
                                         where="command line"):
                click.echo(text.printable(f"Removed {to} from the {audience} list of "
                                          f"'{name}'."))
            else:
                missing += 1
                click.echo(text.printable(f"Error: {to} is not on the {audience} list of "
                                          f"'{name}'; see impact deliver list"), err=True)
    if missing:
        raise SystemExit(1)


@deliver.command("list")
@click.argument("name", required=False, callback=check_text)
@format_option(type=click.Choice(["text", "json"]), help="Output format.")
@store_option
@debug_option
@handle_errors
def list_(name: str | None, fmt: str, store_dir: Path | None, debug: bool) -> None:
    """List the delivery lists (of dataset NAME): dataset, audience, address.

    \b
    Examples:
      impact deliver list
      impact deliver list derbyshire-early-help --format json
    """
    from reports.services import delivery  # start-up: SQLAlchemy

    with open_store(store_dir) as store:
        items = [{"dataset": e.dataset, "audience": e.audience, "to": e.address,
                  "receives": list(delivery.receives(e.audience)), "added_by": e.added_by,
                  "added_at": e.added_at.isoformat() + "Z"}
                 for e in delivery.recipients(store, name)]
    if fmt == "json":
        click.echo(data.to_json(items))
        return
    if not items:
        click.echo("No one is on a delivery list; add one with impact deliver add NAME "
                   "--audience union --to ADDRESS", err=True)
    for i in items:
        _row(i["dataset"], i["audience"], i["to"])


@deliver.command()
@click.option("--month", type=MonthParam(), metavar="YYYY-MM", help="Only this month's messages.")
@format_option(type=click.Choice(["text", "json"]), help="Output format.")
@store_option
@debug_option
@handle_errors
def sent(month: Any, fmt: str, store_dir: Path | None, debug: bool) -> None:
    """The messages impact monthly --send recorded, newest first: month, dataset,
    audience, address, state (sent, retry, failed, queued), tries, when, and the mail
    server's answer.

    \b
    Examples:
      impact deliver sent
      impact deliver sent --month 2024-04 --format json
    """
    from reports.services import delivery  # start-up: SQLAlchemy

    with open_store(store_dir) as store:
        items = [s.to_dict() for s in delivery.sends(store, month and str(month))]
    if fmt == "json":
        click.echo(data.to_json(items))
        return
    for i in items:
        when = i["sent_at"] or i["tried_at"] or i["created_at"]
        _row(i["month"], i["dataset"], i["audience"], i["to"], i["state"], i["attempts"], when,
             i["answer"] or "")


# -- impact monthly --send -----------------------------------------------------------


def mail_settings(send: bool) -> Any:
    """The SMTP settings from the environment when --send is given (checked before the
    month is built), else None."""
    from reports.services.delivery import SmtpSettings  # start-up: only monthly --send

    return SmtpSettings.from_env() if send else None


def send_month(store: Any, result: Any, settings: Any) -> Any:
    """E-mail the month's briefings to their lists: what was done (see `report`)."""
    from reports.services.delivery import send_month as send  # start-up: SQLAlchemy, smtplib

    return send(store, str(result.month), result.folder, [r.entry for r in result.runs],
                settings)


def report(done: Any, quiet: bool) -> bool:
    """Print what a send did (nothing for None: no --send); False if a message was refused
    for good or the server refused the settings (exit 1)."""
    if done is None:
        return True
    for line in done.errors:
        click.echo(text.printable(f"Error: {line}"), err=True)
    for line in done.notes:
        click.echo(text.printable(f"Warning: {line}"), err=True)
    if not quiet:
        click.echo(done.summary_line())
    return bool(done.ok)


COMMANDS = (deliver,)
