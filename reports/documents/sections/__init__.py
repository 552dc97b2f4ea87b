"""Briefing sections: each is a small unit, registered here by its id.

A section is a function from the `Builder` (the briefing's figures, the summary,
the template, and any comparison) to a list of blocks.  A template lists the
ids it wants, in order; `known()` gives every id, so an unknown one is refused
with a message that names them.

    @section("relocations", "Relocations")
    def relocations(b: Builder) -> list[Block]: ...

Every module in this package is imported when the package is (`discover()`), so a
new section is one new module here and nothing else.  They are imported in the order
of their names; nothing depends on that order: the order of the sections in a
briefing is the template's, a template that lists none takes the built-in union
template's (`reports.documents.template.SECTIONS`), and `known()` is sorted.

"What changed" (`changes`) is placed after the headline when a comparison is given,
unless the template lists it somewhere itself; so is "trend" (the trend across a stored
dataset's versions), when a trend is given.

A section registered with `idle="…"` has nothing to say when no post is deleted (a
pure baseline): it is then that one line, not a page of zeros.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
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
    idle: str = ""                 # its one line when no post is deleted ("": built as usual)


_SECTIONS: dict[str, Spec] = {}


def section(sid: str, heading: str, *, idle: str = "") -> Callable[[Build], Build]:
    """Register the decorated function as the section `sid`."""

    def register(build: Build) -> Build:
        if sid in _SECTIONS:
            raise ValueError(f"section {sid!r} is registered twice")
        _SECTIONS[sid] = Spec(sid, heading, build, idle)
        return build

    return register


def unregister(sid: str) -> None:
    """Remove a section (tests that add a made-up one take it away again)."""
    _SECTIONS.pop(sid, None)


def get(sid: str) -> Spec:
    return _SECTIONS[sid]


def known() -> tuple[str, ...]:
    """Every section id, in alphabetical order."""
    return tuple(sorted(_SECTIONS))


def headings() -> dict[str, str]:
    return {sid: _SECTIONS[sid].heading for sid in known()}


def discover() -> list[str]:
    """Import each module of this package (every folder on its `__path__`) that is not
    imported yet, in the order of their names, so that each registers its sections;
    the names of the modules imported."""
    found = sorted({m.name for m in pkgutil.iter_modules(__path__)
                    if not m.name.startswith("_")})
    fresh = [name for name in found if f"{__name__}.{name}" not in sys.modules]
    for name in fresh:
        importlib.import_module(f"{__name__}.{name}")
    return fresh


discover()

__all__ = ["Spec", "discover", "get", "headings", "known", "section", "unregister"]
