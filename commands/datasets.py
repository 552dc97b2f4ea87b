"""A dataset's versions in the store: `impact upload` (store the next one), `impact
datasets` and `impact history` (what the store holds), `impact compare` (what changed
between two versions, stored or not), `impact profile` (how a dataset's files are
read) and `impact dataset-template` (the template its monthly briefings use)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from commands import options
from commands.options import (
    VERSION,
    as_of_options,
    audience_option,
    check_text,
    chosen_db,
    debug_option,
    emit,
    format_option,
    handle_errors,
    ledger_option,
    open_store,
    output_option,
    read_options,
    store_option,
    tell_public,
    usable,
)
from reports.model.errors import UnknownDataset
from reports.render import data, text
from reports.services import outputs, profiles
from reports.services.source import HowToRead


@click.command()
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
    from reports.services import uploads  # start-up: SQLAlchemy

    with open_store(store_dir, create=True) as store:
        uploaded = uploads.upload_file(store, file, dataset, as_of=as_of or options.today(),
                                       by=by, note=note, how=how)
    result = usable(uploaded, fmt)
    v = result.version
    assert v is not None            # a stored (or found) version
    if fmt == "json":
        click.echo(data.to_json(result.to_dict()))
        return
    click.echo(text.printable(stored.upload_text(file.name, result)))
    if result.personal_columns:
        click.echo(text.personal_data_note(result.personal_columns), err=True)
    if result.report.findings.warnings:
        click.echo(f"{len(result.report.findings.warnings)} warning(s): see impact validate "
                   f"--dataset \"{v.dataset}\" --version {v.number}", err=True)


@click.command()
@format_option(type=click.Choice(["text", "json"]), help="Output format.")
@store_option
@debug_option
@handle_errors
def datasets(fmt: str, store_dir: Path | None, debug: bool) -> None:
    """List every dataset in the store with its latest version, that
    version's as-of date and its headline figure.

    \b
    Examples:
      impact datasets
      impact datasets --store /srv/impact --format json
    """
    from reports.services.datasets import datasets_dict  # start-up: SQLAlchemy

    with open_store(store_dir) as store:
        items = store.datasets()
        body = (data.to_json(datasets_dict(items)) + "\n" if fmt == "json"
                else text.datasets_text(store.root, items))
    click.echo(body, nl=False)


@click.command()
@click.argument("name", callback=check_text)
@format_option(type=click.Choice(["text", "json", "csv"]), help="Output format.")
@click.option("--by-month", is_flag=True, help="One row per month, with the version "
              "impact monthly uses for it (the latest dated on or before the month's end).")
@store_option
@debug_option
@handle_errors
def history(name: str, fmt: str, by_month: bool, store_dir: Path | None,
            debug: bool) -> None:
    """List every version of a dataset (newest first) with its totals and
    what changed from the version before.  JSON and CSV carry the trend the
    briefing shows: baseline, deleted, at risk, vacancies deleted, relocated,
    created and the saving, each version's change and which figures changed.

    \b
    Examples:
      impact history derbyshire-early-help
      impact history derbyshire-early-help --format csv
      impact history derbyshire-early-help --by-month --format json
    """
    from reports.services.datasets import history_output  # start-up: SQLAlchemy

    with open_store(store_dir) as store:
        versions = store.versions(name)
    click.echo(history_output(versions, fmt, by_month), nl=False)


@click.command()
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
    compared = compare_sources(old, new, dataset=dataset, from_version=from_version,
                               to_version=to_version, store_dir=store_dir, db=chosen_db(),
                               how=how, audience=audience, ledger_file=ledger_file)
    result = usable(compared, fmt)
    tell_public(result, False)
    if result.public is not None:
        pub = {"text": text.public_comparison_text, "json": data.to_json,
               "csv": data.public_comparison_csv}
        emit(pub[fmt](result.public), output, "Comparison", newline=True)
        return
    render = {"text": text.comparison_text, "json": data.comparison_json,
              "csv": data.comparison_csv}
    emit(render[fmt](result.comparison), output, "Comparison", newline=True)


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


@click.group(name="dataset-template")
def dataset_template() -> None:
    """Show, set or remove a dataset's own template for one audience (union, management or
    public): the monthly run writes that audience's briefings of the dataset with it
    instead of the built-in one.

    \b
    Examples:
      impact dataset-template set derbyshire-early-help union our-union.toml
      impact dataset-template show derbyshire-early-help union
      impact dataset-template remove derbyshire-early-help union
    """


_AUDIENCE = click.argument("audience", type=click.Choice(options.AUDIENCES))


@dataset_template.command(name="show")
@click.argument("name", callback=check_text)
@_AUDIENCE
@store_option
@debug_option
@handle_errors
def template_show(name: str, audience: str, store_dir: Path | None, debug: bool) -> None:
    """Print dataset NAME's own template for AUDIENCE (nothing if it uses the built-in one).

    \b
    Example:
      impact dataset-template show derbyshire-early-help union
    """
    from reports.services import monthly  # start-up: the monthly run's briefings load only here

    with open_store(store_dir) as store:
        raw = monthly.own_template(store, name, audience)
    if raw is None:
        click.echo(f"Dataset {name!r} uses the built-in {audience} template.", err=True)
        return
    click.echo(text.printable(raw.decode("utf-8")), nl=False)


@dataset_template.command(name="set")
@click.argument("name", callback=check_text)
@_AUDIENCE
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@store_option
@debug_option
@handle_errors
def template_set(name: str, audience: str, file: Path, store_dir: Path | None,
                 debug: bool) -> None:
    """Make the template FILE dataset NAME's own for AUDIENCE (checked first: a template
    that cannot be used is refused, and nothing changes).

    \b
    Example:
      impact dataset-template set derbyshire-early-help union our-union.toml
    """
    from reports.services import monthly  # start-up: the monthly run's briefings load only here

    with open_store(store_dir) as store:
        monthly.set_own_template(store, name, audience, file)
    click.echo(f"Dataset {name!r} now uses {file} for its {audience} briefings.", err=True)


@dataset_template.command(name="remove")
@click.argument("name", callback=check_text)
@_AUDIENCE
@store_option
@debug_option
@handle_errors
def template_remove(name: str, audience: str, store_dir: Path | None, debug: bool) -> None:
    """Go back to the built-in AUDIENCE template for dataset NAME.

    \b
    Example:
      impact dataset-template remove derbyshire-early-help union
    """
    from reports.services import monthly  # start-up: the monthly run's briefings load only here

    with open_store(store_dir) as store:
        had = monthly.remove_own_template(store, name, audience)
    click.echo(f"Dataset {name!r} {'now' if had else 'already'} uses the built-in "
               f"{audience} template.", err=True)


COMMANDS = (upload, datasets, history, compare, profile, dataset_template)
