"""Where a store lives, and how dataset names become folder names.

A dataset is known by its exact name (NFC-normalised and trimmed: `check_name`);
`slugify` makes the folder-safe label used for its monthly reports and its own
templates, which the store makes unique with a short hash (`slug_with_hash`).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from ..model.errors import UsageProblem

STORE_ENV = "IMPACT_STORE"
DB_ENV = "IMPACT_DB"


MAX_NAME = 200


def default_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's data directory (XDG): $XDG_DATA_HOME/impact, else ~/.local/share/impact."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "impact"


def resolve_dir(given: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None) -> Path:
    """--store DIR, else $IMPACT_STORE, else the XDG data directory."""
    env = os.environ if environ is None else environ
    if given:
        return Path(given).expanduser()
    if env.get(STORE_ENV):
        return Path(env[STORE_ENV]).expanduser()
    return default_dir(env)


def resolve_db(given: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """--db URL, else $IMPACT_DB; None for the store's own SQLite file (STORE/impact.db)."""
    env = os.environ if environ is None else environ
    return given or env.get(DB_ENV) or None


SLUG_BYTES = 100   # a folder name stays far below the 255-byte limit, suffix included


def normalise_name(name: str) -> str:
    """A dataset's identity: its name in Unicode NFC, trimmed.  Nothing else is folded, so
    'Team Δ' and 'Team Ω', or 'Early Help' and 'early-help', are different datasets."""
    return unicodedata.normalize("NFC", str(name)).strip()


def slugify(name: str) -> str:
    """A folder-safe label: 'Derbyshire Early Help 2024' -> 'derbyshire-early-help-2024',
    'Команда Δ' -> 'команда-δ'.  Letters, marks and digits of any script are kept; anything
    else becomes '-'.  Only a label: two names may share one (the store then adds a hash)."""
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else "-" for c in text)
    slug = re.sub(r"-+", "-", kept).strip("-")
    while len(slug.encode("utf-8")) > SLUG_BYTES:
        slug = slug[:-1]
    return slug.rstrip("-")


def slug_with_hash(name: str, length: int = 8) -> str:
    """The slug with a short hash of the whole name: the label when the plain slug is taken."""
    digest = hashlib.sha256(normalise_name(name).encode("utf-8")).hexdigest()[:length]
    return f"{slugify(name)}-{digest}"


def check_name(name: str) -> str:
    """A dataset name, NFC-normalised and trimmed (its identity); raises `UsageProblem` for
    one that cannot be used."""
    cleaned = normalise_name(name)
    if not cleaned:
        raise UsageProblem("the dataset name is blank; give one with --dataset NAME, "
                         "e.g. --dataset derbyshire-early-help")
    if len(cleaned) > MAX_NAME:
        raise UsageProblem(f"the dataset name is {len(cleaned)} characters long; use at most "
                         f"{MAX_NAME}")
    if any(unicodedata.category(c) == "Cc" for c in cleaned):
        raise UsageProblem("the dataset name holds a control character (a tab or line "
                           "break); use a name on one line")
    if not slugify(cleaned):
        raise UsageProblem(f"the dataset name '{cleaned}' has no letters or digits; use a name "
                         f"such as derbyshire-early-help")
    return cleaned
