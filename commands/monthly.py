"""`impact monthly`: every dataset's briefings for a month, for a scheduled job, and
with --send, e-mailed to each audience's list (`commands.delivery`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from commands import delivery, options
from commands.options import (
    MonthParam,
    NonEmptyPath,
    debug_option,
    debugging,
    handle_errors,
    open_store,
    owner_only_in,
    store_option,
)
from reports.render import text


@click.command()
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

    chosen, mail = audiences_from(audiences), delivery.mail_settings(send)
    progress = (None if quiet or not options.on_terminal()
                else lambda line: click.echo(line, err=True))
    with open_store(store_dir, create=create, writes=True) as store, \
            owner_only_in(store.root, out_dir):
        result = run_monthly(store, out_dir or store.root / "reports",
                             month or Month.before(options.today()), audiences=chosen,
                             force=force, progress=progress, pause=pause_for_tests(),
                             debug=debugging())
        sent = delivery.send_month(store, result, mail) if send else None
    for run in result.failures:
        click.echo(text.printable(f"Error: {result.month}: dataset '{run.dataset}' failed: "
                                  f"{run.message}"), err=True)
    if not quiet:
        click.echo(result.summary_line())
    sys.exit(0 if delivery.report(sent, quiet) and result.ok else 1)


COMMANDS = (monthly,)
