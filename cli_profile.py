"""`impact profile`: show or replace the saved way of reading a dataset's files."""

from __future__ import annotations

from pathlib import Path

import click

from cli_options import check_text, debug_option, handle_errors, open_store, store_option
from reports.model.errors import UnknownDataset
from reports.render import text
from reports.services import profiles


@click.group()
def profile() -> None:
    """Show or replace a dataset's profile: the reading options (--sheet, --map,
    --status-map, --default-status, --where, --header-row, --one-post-per-row,
    --encoding) that `impact upload` saved, and uses again for the next upload to that
    dataset.

    \b
    Examples:
      impact profile show organogram
      impact profile set organogram organogram.toml
    """


@profile.command()
@click.argument("name", callback=check_text)
@store_option
@debug_option
@handle_errors
def show(name: str, store_dir: Path | None, debug: bool) -> None:
    """Print dataset NAME's profile as TOML (nothing if it has none).

    \b
    Example:
      impact profile show derbyshire-early-help
    """
    with open_store(store_dir) as store:
        if name not in store.names():
            raise UnknownDataset(f"no dataset named {name!r} in the store")
        how = profiles.profile_of(store, name)
    if how is None:
        click.echo(f"Dataset {name!r} has no profile: its files are read with the defaults.",
                   err=True)
        return
    click.echo(text.printable(profiles.to_toml(how)), nl=False)


@profile.command(name="set")
@click.argument("name", callback=check_text)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@store_option
@debug_option
@handle_errors
def set_(name: str, file: Path, store_dir: Path | None, debug: bool) -> None:
    """Replace dataset NAME's profile with the TOML file FILE (checked first: a
    profile that maps personal data or names an unknown status is refused).

    \b
    Example:
      impact profile set organogram organogram.toml
    """
    how = profiles.load(file)
    with open_store(store_dir) as store:
        if name not in store.names():
            raise UnknownDataset(f"no dataset named {name!r} in the store")
        profiles.save_profile(store, name, how)
    click.echo(f"Profile of {name!r} replaced from {file}.", err=True)
