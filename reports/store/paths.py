"""Where a store lives, and how dataset names become folder names.

A dataset is known by its name; `slugify` makes the folder-safe label used for
its monthly reports and its own templates.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from ..model.errors import UsageProblem

STORE_ENV = "IMPACT_STORE"


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


def slugify(name: str) -> str:
    """A folder-safe name: 'Derbyshire Early Help 2024' -> 'derbyshire-early-help-2024'."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return text[:80].rstrip("-")


def check_name(name: str) -> str:
    """A dataset name, trimmed; raises `UsageProblem` for one that cannot be used."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise UsageProblem("the dataset name is blank; give one with --dataset NAME, "
                         "e.g. --dataset derbyshire-early-help")
    if len(cleaned) > MAX_NAME:
        raise UsageProblem(f"the dataset name is {len(cleaned)} characters long; use at most "
                         f"{MAX_NAME}")
    if not slugify(cleaned):
        raise UsageProblem(f"the dataset name '{cleaned}' has no letters or digits; use a name "
                         f"such as derbyshire-early-help")
    return cleaned
