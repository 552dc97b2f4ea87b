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
PORTAL_SECRET_FILE = "portal-secret-key"    # STORE/portal-secret-key: the portal's key (SQLite)
PORTAL_SECRET_META = "portal_secret_key"    # its key in a PostgreSQL store's meta table


MAX_NAME = 200
# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they
# make a name display in an order other than the one it is stored in ('Trojan Source'),
# so that two datasets could look alike, or one look like another.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


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


FILE_NAME_BYTES = 255   # the longest file name most file systems take, in UTF-8 bytes


def fit_name(name: str, limit: int = FILE_NAME_BYTES, *, chars: bool = False) -> str:
    """`name` shortened to at most `limit` UTF-8 bytes (`chars`: characters) for storage,
    its extension kept: the end of its stem is cut, and '…' marks the cut.  A name that
    fits is returned unchanged."""
    def size(text: str) -> int:
        return len(text) if chars else len(text.encode("utf-8"))

    if size(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or size(ext) > 16:      # no extension worth keeping
        stem, ext = name, ""
    tail = "…" + ("." + ext if ext else "")
    while stem and size(stem + tail) > limit:
        stem = stem[:-1]
    return stem + tail


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
    bidi = sorted({f"U+{ord(c):04X}" for c in cleaned if c in BIDI_CONTROLS})
    if bidi:
        raise UsageProblem(f"the dataset name holds a bidirectional control character "
                           f"({', '.join(bidi)}), which makes a name show in another order "
                           f"than it is written; type the name without it")
    if not slugify(cleaned):
        raise UsageProblem(f"the dataset name '{cleaned}' has no letters or digits; use a name "
                         f"such as derbyshire-early-help")
    return cleaned
