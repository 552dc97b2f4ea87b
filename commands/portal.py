"""`impact users` (who may log in to the portal, and with which role) and `impact serve`
(the web portal on waitress)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from commands.options import (
    announce_store,
    chosen_db,
    debug_option,
    format_option,
    handle_errors,
    store_option,
)
from reports.render import data


def _accounts(store_dir: Path | None, *, create: bool = False) -> Any:
    """The portal's accounts in the store; only `users add` may create the store."""
    from reports.store.accounts import Accounts  # start-up: SQLAlchemy
    from reports.store.db import Store

    store = Store.open(store_dir, db=chosen_db(), create=create)
    announce_store(store)
    return Accounts(store)


def _who() -> str:
    from reports.services.datasets import os_user  # start-up: SQLAlchemy

    return f"{os_user()} (command line)"


def _password(password_stdin: bool, name: str) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    return str(click.prompt(f"Password for {name}", hide_input=True,
                            confirmation_prompt=True))


@click.group()
def users() -> None:
    """Add, list and remove the people who can log in to the web portal
    (impact serve), each with a role: hr, union or admin.

    \b
    Examples:
      impact users add alice --role hr
      impact users list
      impact users passwd alice
      impact users remove alice
    """


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["hr", "union", "admin"]),
              help="hr: upload and every briefing; union: union and public briefings; "
                   "admin: everything, plus users and the audit log.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input instead of "
                   "prompting.")
@store_option
@debug_option
@handle_errors
def add(name: str, role: str, password_stdin: bool, store_dir: Path | None,
        debug: bool) -> None:
    """Add a user.  The password (at least 12 characters, not a common password, a
    repetition or sequence, or the user name) is prompted for, or read with
    --password-stdin; only its argon2 hash is kept.

    \b
    Examples:
      impact users add alice --role hr
      impact users add bob --role union --password-stdin
    """
    from reports.services import users as service  # start-up: SQLAlchemy, argon2

    accounts = _accounts(store_dir, create=True)
    user = service.add_user(accounts, name, role, _password(password_stdin, name), by=_who())
    click.echo(f"Added {user.name} ({user.role}).")


@users.command("list")
@format_option(type=click.Choice(["text", "json"]), help="Output format.")
@store_option
@debug_option
@handle_errors
def list_(fmt: str, store_dir: Path | None, debug: bool) -> None:
    """List the users and their roles.

    \b
    Example:
      impact users list --format json
    """
    items = [{"name": u.name, "role": u.role,
              "created_at": u.created_at.isoformat() + "Z"} for u in _accounts(store_dir).users()]
    if fmt == "json":
        click.echo(data.to_json(items))
        return
    if not items:
        click.echo("No users yet; add one with impact users add NAME --role admin")
    for u in items:
        click.echo(f"{u['name']}\t{u['role']}\tadded {u['created_at']}")


@users.command()
@click.argument("name")
@store_option
@debug_option
@handle_errors
def remove(name: str, store_dir: Path | None, debug: bool) -> None:
    """Remove a user; their sessions end at once.

    \b
    Example:
      impact users remove alice
    """
    from reports.services import users as service  # start-up: SQLAlchemy, argon2

    service.remove_user(_accounts(store_dir), name, by=_who())
    click.echo(f"Removed {name}.")


@users.command()
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the new password from the first line of standard input.")
@store_option
@debug_option
@handle_errors
def passwd(name: str, password_stdin: bool, store_dir: Path | None, debug: bool) -> None:
    """Set a user's password (at least 12 characters, not a common password, a
    repetition or sequence, or the user name); their sessions end and the throttle on
    their failed logins is cleared.

    \b
    Example:
      impact users passwd alice
    """
    from reports.services import users as service  # start-up: SQLAlchemy, argon2

    service.change_password(_accounts(store_dir), name, _password(password_stdin, name),
                            by=_who())
    click.echo(f"Password changed for {name}.")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (keep the default behind a reverse proxy).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="The port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Request threads.")
@click.option("--check-workers", type=click.IntRange(0, 64), default=None,
              help="Processes that check uploads, so simultaneous uploads use every core "
                   "(default: one per core; 0: in the request threads).")
@click.option("--build-workers", type=click.IntRange(0, 64), default=1, show_default=True,
              help="Background builders of each stored version's briefings and exports, "
                   "each in its own process (0: a download builds its file itself).")
@click.option("--build-priority", type=click.Choice(["idle", "low", "normal"]), default="idle",
              show_default=True, envvar="IMPACT_BUILD_PRIORITY",
              help="How the builders share the CPU: idle (only what nothing else wants, "
                   "so pages stay quick; on a machine kept busy by other work they may "
                   "wait for it), low (a small share however busy), normal (as the "
                   "server). Also $IMPACT_BUILD_PRIORITY.")
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes accepting on the one port, so that requests use every "
                   "core; this process starts another in place of one that ends.")
@click.option("--max-upload-mb", default=20, show_default=True, type=click.IntRange(1, 1024),
              help="Refuse uploads larger than this, before reading them.")
@click.option("--behind-proxy", is_flag=True,
              help="Trust one reverse proxy's X-Forwarded-For/-Proto headers and mark the "
                   "session cookie Secure (for HTTPS through nginx).")
@store_option
@debug_option
@handle_errors
def serve(host: str, port: int, threads: int, check_workers: int | None, build_workers: int,
          build_priority: str, processes: int, max_upload_mb: int, behind_proxy: bool, store_dir: Path | None,
          debug: bool) -> None:
    """Run the web portal on waitress: HR upload schedules, union reps download
    briefings, each role sees only what it may.  Add users first with impact
    users add.  The secret key comes from IMPACT_SECRET_KEY, else a file made
    once in the store (mode 0600).

    \b
    Examples:
      impact serve
      impact serve --port 8080 --store /srv/impact
      impact serve --behind-proxy --threads 16
      impact serve --check-workers 4
      impact serve --processes 2
    """
    from reports.services.checking import usable_cpus  # start-up: only this command serves
    from web.app import create_app  # start-up: Flask, only this command serves
    from web.server import serve as serve_portal  # start-up: waitress, only this command
    from web.server import serve_processes

    workers = usable_cpus() if check_workers is None else check_workers

    def make_app(slot: int) -> Any:
        """One server process's application; the first process runs the builders."""
        app: Any = create_app(store_dir, db=chosen_db(),
                              config={"SESSION_COOKIE_SECURE": behind_proxy,
                                      "MAX_CONTENT_LENGTH": max_upload_mb * 1024 * 1024},
                              check_workers=workers, build_workers=build_workers,
                              build_priority=build_priority)
        if behind_proxy:
            from werkzeug.middleware.proxy_fix import ProxyFix  # start-up: --behind-proxy only

            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
        app.extensions["impact"].checker.start()
        if slot == 0:
            app.extensions["impact"].builder.start()
        return app

    def close_app(app: Any) -> None:
        app.extensions["impact"].builder.close()
        app.extensions["impact"].checker.close()

    app = make_app(0) if processes == 1 else create_app(store_dir, db=chosen_db())
    announce_store(app.extensions["impact"].store)
    root = app.extensions["impact"].store.root
    click.echo(f"impact portal on http://{host}:{port}/ (store {root}; "
               f"{f'{processes} server processes; ' if processes > 1 else ''}uploads checked "
               f"{f'by {workers} worker process(es)' if workers else 'in the request threads'})",
               err=True)
    if processes > 1:
        app.extensions["impact"].store.close()    # each server process opens its own
        sys.exit(serve_processes(make_app, close_app, host=host, port=port,
                                 threads=threads, processes=processes))
    try:
        serve_portal(app, host=host, port=port, threads=threads)
    finally:
        close_app(app)


COMMANDS = (serve, users)
