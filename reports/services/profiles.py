"""Profiles: how to read a dataset's files, written once and remembered.

A profile is a small TOML file holding any of the reading options::

    sheets = ["Posts"]
    map = ["Generic Job Title=title", "Number of Posts in FTE=fte"]
    status_map = ["At risk=deleted", "Slotted in=retained"]
    default_status = "retained"
    where = ["Snapshot=March 2024"]
    encoding = "cp1252"
    header_row = 4
    one_post_per_row = true

`impact --profile FILE.toml` reads one; `impact upload` keeps the options a
version was read with as its dataset's profile (``STORE/profiles/<slug>.toml``),
so that the next upload to that dataset needs none of them.  `impact profile
show NAME` prints it and `impact profile set NAME FILE.toml` replaces it.  On a
PostgreSQL store the profile is kept in the database too (`reports.store.shared`) and
read from there first, the folder's file only its cache: a profile saved through one
server is the one every other server and command reads.
Every value is checked as the command-line options are, so a profile cannot
map a personal-data heading or name an unknown status.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.errors import UnknownDataset, UsageProblem
from ..model.fields import (
    parse_header_row,
    parse_mapping,
    parse_status,
    parse_status_map,
    parse_where,
)
from ..store.files import PRIVATE_FILE, atomic_output, private_dir
from ..store.paths import check_name
from .source import HowToRead

if TYPE_CHECKING:              # types only: SQLAlchemy loads when a store is opened
    from ..store.db import Store

PROFILES_DIR = "profiles"
PROFILE_NAME = "profile.toml"       # its name in the database, under the dataset's slug
# TOML key -> HowToRead field; lists of strings, or one string
_LISTS = {"sheets": "sheets", "map": "mapping", "status_map": "status_map", "where": "where"}
_TEXTS = {"default_status": "default_status", "encoding": "encoding"}
_INTS = {"header_row": "header_row"}
_BOOLS = {"one_post_per_row": "one_post_per_row"}
_KEYS = [*_LISTS, *_TEXTS, *_INTS, *_BOOLS]
MAX_PROFILE_BYTES = 256 * 1024


def parse(text: str, origin: str = "the profile") -> HowToRead:
    """A profile's TOML text as reading options; `UsageProblem` for anything wrong."""
    import tomllib  # lazy: only a command given a profile reads TOML

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageProblem(f"{origin} is not valid TOML: {e}") from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise UsageProblem(f"{origin}: unknown key(s) {', '.join(unknown)}; a profile may "
                           f"hold {', '.join(_KEYS)}")
    values: dict[str, Any] = {}
    for key, name in _LISTS.items():
        items = data.get(key, [])
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise UsageProblem(f"{origin}: {key} must be a list of strings")
        values[name] = tuple(items)
    for key, name in _TEXTS.items():
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise UsageProblem(f"{origin}: {key} must be a string")
        values[name] = value or None
    for key, name in _INTS.items():
        number = data.get(key)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
            raise UsageProblem(f"{origin}: {key} must be a whole number")
        values[name] = number
    for key, name in _BOOLS.items():
        flag = data.get(key, False)
        if not isinstance(flag, bool):
            raise UsageProblem(f"{origin}: {key} must be true or false")
        values[name] = flag
    how = HowToRead(**values)
    validate(how)
    return how


def validate(how: HowToRead) -> None:
    """Check the options as the command line does (personal headings, unknown statuses)."""
    parse_mapping(how.mapping)
    parse_status_map(how.status_map)
    parse_status(how.default_status)
    parse_where(how.where)
    parse_header_row(how.header_row)


def load(path: str | Path) -> HowToRead:
    """Read `--profile FILE.toml`."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_PROFILE_BYTES:
            raise UsageProblem(f"--profile {p}: over {MAX_PROFILE_BYTES // 1024} KiB; a profile "
                               f"is a few lines of TOML")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageProblem(f"--profile {p}: cannot be read ({e})") from None
    return parse(text, f"--profile {p}")


def to_toml(how: HowToRead) -> str:
    """A profile as TOML, keys in a fixed order, empty ones left out."""
    data: dict[str, Any] = {}
    for key, name in _LISTS.items():
        if getattr(how, name):
            data[key] = list(getattr(how, name))
    for key, name in {**_TEXTS, **_INTS, **_BOOLS}.items():
        if getattr(how, name):
            data[key] = getattr(how, name)
    import tomli_w  # lazy: only saving a profile writes TOML

    return tomli_w.dumps(data)


def _path(store: Store, dataset: str) -> Path:
    return store.root / PROFILES_DIR / f"{store.slug(dataset)}.toml"


def profile_of(store: Store, dataset: str) -> HowToRead | None:
    """The dataset's saved profile, or None (a new dataset, or one never given options)."""
    try:
        path = _path(store, check_name(dataset))
    except UnknownDataset:
        return None
    if not store.embedded:       # the database's, the folder its cache
        from ..store import shared  # start-up: SQLAlchemy loads when a store is opened

        found = shared.cache(store, shared.PROFILE, path.stem, PROFILE_NAME, path)
        if found is None:
            return None
    elif not path.is_file():
        return None
    return parse(path.read_text(encoding="utf-8"), f"the saved profile of {dataset!r}")


def save_profile(store: Store, dataset: str, how: HowToRead) -> Path:
    """Replace the dataset's profile (written atomically)."""
    validate(how)
    path = _path(store, check_name(dataset))
    private_dir(path.parent)
    with atomic_output(path, "w", perms=PRIVATE_FILE) as fh:
        fh.write(to_toml(how))
    if not store.embedded:       # for every server: the database's copy is the profile
        from ..store import shared  # start-up: SQLAlchemy loads when a store is opened

        shared.keep(store, shared.PROFILE, path.stem, PROFILE_NAME, path)
    return path
