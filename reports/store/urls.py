"""How the store speaks of its database: a URL fit to print and an error's first line.

Kept apart from `db` so that `lock` (which `db` imports) can use them too."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError


def shown_url(url: str) -> str:
    """`url` fit to print: its password, if it has one, as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the given database URL"


def db_message(e: SQLAlchemyError) -> str:
    orig = getattr(e, "orig", None)
    return str(orig or e).splitlines()[0]
