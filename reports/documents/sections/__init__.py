"""Briefing sections: each is a small unit, registered here by its id.

A section is a function from the `Builder` (the briefing's figures, the summary,
the template, and any comparison) to a list of blocks.  A template lists the
ids it wants, in order; `known()` gives every id, so an unknown one is refused
with a message that names them.

    @section("relocations", "Relocations")
    def relocations(b: Builder) -> list[Block]: ...

A section registered with `default=False` ("What changed") is not in a template
that lists no sections; it is placed after the headline when a comparison is
given, unless the template lists it somewhere itself; so is "trend" (the trend across a
stored dataset's versions), when a trend is given.

A section registered with `idle="…"` has nothing to say when no post is deleted (a
pure baseline): it is then that one line, not a page of zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:                      # types only: the builder imports no section
    from ..blocks import Block
    from ..builder import Builder

Build = Callable[["Builder"], "list[Block]"]


@dataclass(frozen=True)
class Spec:
    id: str
    heading: str                   # the default heading; a template can change it
    build: Build
    default: bool = True           # in a template that lists no sections
    idle: str = ""                 # its one line when no post is deleted ("": built as usual)


_SECTIONS: dict[str, Spec] = {}


def section(sid: str, heading: str, *, default: bool = True,
            idle: str = "") -> Callable[[Build], Build]:
    """Register the decorated function as the section `sid`."""

    def register(build: Build) -> Build:
        if sid in _SECTIONS:
            raise ValueError(f"section {sid!r} is registered twice")
        _SECTIONS[sid] = Spec(sid, heading, build, default, idle)
        return build

    return register


def get(sid: str) -> Spec:
    return _SECTIONS[sid]


def known() -> tuple[str, ...]:
    """Every section id, in the order the union template uses them."""
    return tuple(_SECTIONS)


def defaults() -> tuple[str, ...]:
    """The sections of a template that lists none."""
    return tuple(s.id for s in _SECTIONS.values() if s.default)


def headings() -> dict[str, str]:
    return {s.id: s.heading for s in _SECTIONS.values()}


# Registration order is the order of `known()`: the union template's order.
# isort: off
from . import headline  # noqa: E402
from . import by_team  # noqa: E402
from . import by_grade  # noqa: E402
from . import at_risk  # noqa: E402
from . import team_grade  # noqa: E402
from . import relocations  # noqa: E402
from . import new_posts  # noqa: E402
from . import locations  # noqa: E402
from . import s188  # noqa: E402
from . import pools  # noqa: E402
from . import costs  # noqa: E402
from . import equality  # noqa: E402
from . import charts  # noqa: E402
from . import data_notes  # noqa: E402
from . import method  # noqa: E402
from . import changes  # noqa: E402
from . import trend  # noqa: E402
# isort: on

__all__ = ["Spec", "at_risk", "by_grade", "by_team", "changes", "charts", "costs", "data_notes",
           "defaults", "equality", "get",
           "headings", "headline", "known", "locations", "method", "new_posts",
           "pools", "relocations", "s188", "section", "team_grade", "trend"]
