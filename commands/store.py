"""`impact store`: check a store, back it up while it is in use, restore a backup, move
it to PostgreSQL.  (What
the store holds is `commands.datasets`.)"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from commands.options import (
    NonEmptyPath,
    chosen_db,
    debug_option,
    format_option,
    handle_errors,
    store_option,
)
from reports.render import data
from reports.store.paths import resolve_dir


@click.group()
def store() -> None:
    """Check, back up, restore the store (the uploaded versions and their files),
    or move it to PostgreSQL.

    \b
    Examples:
      impact store check
      impact store backup /backups/impact-2024-04-30
      impact store restore /backups/impact-2024-04-30 --store /srv/impact
      impact store migrate --to postgresql+psycopg://impact@db/impact --store /srv/impact
    """


@store.command()
@format_option(type=click.Choice(["text", "json"]), help="Output format.")
@store_option
@debug_option
@handle_errors
def check(fmt: str, store_dir: Path | None, debug: bool) -> None:
    """Check the store: the database file's integrity (SQLite), its schema
    version and tables, every row, every stored file against its sha256, and
    each version's saved totals against its file's, worked out again.

    Prints one line per problem, naming the dataset and version, and exits 1
    if there is any; exits 0 when the store is healthy.  Files that no version
    names (left by an interrupted upload) are noted, not counted as problems.
    Temporary folders left by killed backups and restores are removed, and
    noted.

    \b
    Examples:
      impact store check
      impact store check --store /srv/impact --format json
    """
    from reports.services.upkeep import check_store  # start-up: SQLAlchemy

    result = check_store(resolve_dir(store_dir), chosen_db())
    click.echo(data.to_json(result.to_dict()) if fmt == "json" else result.text(),
               nl=fmt == "json")
    sys.exit(0 if result.healthy else 1)


@store.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@store_option
@debug_option
@handle_errors
def backup(dest: Path, store_dir: Path | None, debug: bool) -> None:
    """Copy the store to DEST, a new folder, consistently: the database (an
    SQLite file, through SQLite's online backup API; a store on PostgreSQL
    (--db) has its tables copied into one, from one snapshot), then every file
    it names, with a manifest of their sha256s.

    A backup holds the store alone: it waits for running uploads and monthly
    runs to finish, and new ones wait for it.  The copy is made under a
    temporary name beside DEST and renamed when complete.  Exit code 1 if a
    stored file was missing or damaged (the backup is still made, and says
    which).

    \b
    Examples:
      impact store backup /backups/impact-2024-04-30
      impact store backup backup-copy --store /srv/impact
    """
    from reports.services.upkeep import backup_store  # start-up: SQLAlchemy
    from reports.store.db import Store  # start-up: SQLAlchemy

    with Store.open(store_dir, db=chosen_db(), create=False, lock=None) as opened:
        result = backup_store(opened, dest)      # holds the store's lock exclusively
    for problem in result.problems:
        click.echo(f"Error: {problem}", err=True)
    click.echo(f"Backup written to {result.dest}: {result.versions} version(s), "
               f"{result.files} file(s)")
    sys.exit(1 if result.problems else 0)


@store.command()
@click.argument("src", required=False, type=click.Path(file_okay=False, path_type=Path))
@store_option
@click.option("--force", is_flag=True,
              help="Replace a store that is not empty (a copy of it is kept beside it).")
@click.option("--resume", is_flag=True,
              help="Finish an interrupted restore, or roll it back (no SRC).")
@debug_option
@handle_errors
def restore(src: Path | None, store_dir: Path | None, force: bool, resume: bool,
            debug: bool) -> None:
    """Restore the backup SRC (made by `impact store backup`) as the store.

    The store must be new or empty unless --force is given.  The backup is
    copied into a temporary folder inside the store, every file is checked
    against its sha256 and the result checked as `impact store check` does;
    then its files are added and its database renamed into place (on
    PostgreSQL, --db: its tables replaced in one transaction): at every
    moment the store is the old one or the new one, whole.  A restore waits
    for running commands to finish (and they for it).  One that was killed is
    named by the next command, which changes nothing; --resume finishes it,
    or rolls it back if it had not yet replaced the database.  A store that is
    a symbolic link is restored into the link's target.

    \b
    Examples:
      impact store restore /backups/impact-2024-04-30
      impact store restore /backups/impact-2024-04-30 --store /srv/impact --force
      impact store restore --resume --store /srv/impact
    """
    from reports.services.upkeep import restore_store, resume_restore  # start-up: SQLAlchemy

    if resume == (src is not None):
        raise click.UsageError("give either SRC or --resume")
    if resume:
        result = resume_restore(resolve_dir(store_dir), chosen_db())
        c = result.check
        click.echo(f"The interrupted restore of {result.target} was {result.resumed}: "
                   f"{c.datasets} dataset(s), {c.versions} version(s); impact store check: "
                   f"{'healthy' if c.healthy else f'{len(c.problems)} problem(s)'}")
        sys.exit(0 if c.healthy else 1)
    assert src is not None
    result = restore_store(src, resolve_dir(store_dir), force=force, db=chosen_db())
    c = result.check
    click.echo(f"Restored {src} to {result.target}: {c.datasets} dataset(s), "
               f"{c.versions} version(s); impact store check: healthy")
    if result.replaced is not None:
        click.echo(f"A copy of the store it replaced is kept at {result.replaced}; delete it "
                   f"when you no longer need it.", err=True)


@store.command()
@click.option("--to", "to", required=True, metavar="URL",
              help="The new, empty PostgreSQL database, e.g. "
                   "postgresql+psycopg://impact@db.example.org:5432/impact.")
@click.option("--store", "store_dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              metavar="DIR",
              help="The SQLite store to move (its own impact.db, whatever $IMPACT_DB says). "
                   "Default: $IMPACT_STORE, else $XDG_DATA_HOME/impact.")
@debug_option
@handle_errors
def migrate(to: str, store_dir: Path | None, debug: bool) -> None:
    """Move the store (SQLite, in its folder) into the empty PostgreSQL
    database URL: every table, every stored original, and the portal's
    secret key (so that signed-in users stay signed in).

    The store is only read, and left as it was; it is held alone while it is
    copied (uploads wait).  Everything is written in one transaction: a
    migration that fails or is killed leaves the database as it was.  The copy is
    then checked as `impact store check` does, every original read back from
    the database and every version's totals worked out again; a copy that
    fails is emptied again.  A database that already holds a store is
    refused.  Afterwards give --db URL to every command (or set $IMPACT_DB).

    \b
    Examples:
      impact store migrate --to postgresql+psycopg://impact@db.example.org/impact
      impact store migrate --to postgresql://impact@localhost/impact --store /srv/impact
    """
    from reports.services.migrate import migrate_store  # start-up: SQLAlchemy

    root = resolve_dir(store_dir)
    result = migrate_store(root, to, lambda line: click.echo(f"migrate: {line}", err=True))
    click.echo(f"Moved the store at {root} into {result.url}: {result.datasets} dataset(s), "
               f"{result.versions} version(s), {result.originals} original(s)"
               f"{', the portal secret key' if result.secret_key else ''}; impact store "
               f"check: healthy.  The folder {root} is unchanged.")
    click.echo(f"From now on give --db {result.url} to every impact command "
               f"(or set $IMPACT_DB).")


COMMANDS = (store,)
