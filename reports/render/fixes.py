"""A finding's fix (`reports.model.fixes`) worded for the one who reads it.

`in_words` is for everyone who is not at a command line: the portal, the findings CSV,
the annotated workbook ("Read the status 'Maybe' as deleted").  `as_options` is for
the CLI alone, the options a user types (`--status-map "Maybe=deleted"`); nothing but
the CLI's own output calls it.
"""

from __future__ import annotations

import re
import shlex

from ..model.fields import FIELD_BY_NAME
from ..model.findings import echo
from ..model.fixes import (
    DEFAULT_STATUS,
    ENCODING,
    MAP,
    SHEET,
    STATUS_MAP,
    WHERE,
    Fix,
    Fixes,
)

# The encodings a fix suggests, as a person names them.
_ENCODING_NAMES = {"cp1252": "Windows-1252", "utf-8": "UTF-8", "utf-8-sig": "UTF-8",
                   "latin-1": "Latin-1", "iso-8859-1": "Latin-1", "utf-16": "UTF-16"}


# -- in plain words ---------------------------------------------------------------


def in_words(fixes: Fixes) -> str:
    """The fix as a sentence: its alternatives joined by "or", each one's settings by
    "and" ("" when there is none)."""
    ways = [_and([_setting_words(s) for s in way]) for way in fixes if way]
    if not ways:
        return ""
    text = "; or ".join(ways)
    return text[0].upper() + text[1:] + "."


def with_words(message: str, fixes: Fixes) -> str:
    """A finding's message followed by its fix in words, for anyone but the CLI."""
    words = in_words(fixes)
    if not words:
        return message
    return f"{message.rstrip('.')}. {words}"


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _q(text: str | None) -> str:
    return f"'{echo(text)}'"


IGNORE = "ignore"        # a mapping that leaves the column unused (--map "Heading=ignore")


def _field(name: str) -> str:
    fld = FIELD_BY_NAME.get(name)
    label = fld.label if fld else name
    return f"the {label if label.isupper() else label.lower()}"


def _status(target: str) -> str:
    """A --status-map target in words: 'deleted-vacant' -> 'deleted (vacant)'."""
    base, _, vacancy = target.partition("-")
    return f"{base} ({vacancy})" if vacancy else base


def _setting_words(fix: Fix) -> str:
    values = fix.values
    if fix.option == MAP:
        if fix.subject is None:
            return (f"say which column holds {_or([_field(v) for v in values])}"
                    if values else "say which column holds each field")
        if not values:
            return f"say which field the column {_q(fix.subject)} holds"
        if values == (IGNORE,):
            return f"ignore the column {_q(fix.subject)}"
        return f"read the column {_q(fix.subject)} as {_or([_field(v) for v in values])}"
    if fix.option == STATUS_MAP:
        if not values:
            return (f"say which status {_q(fix.subject)} means (deleted, retained, "
                    f"relocated or created)")
        return f"read the status {_q(fix.subject)} as {_or([_status(v) for v in values])}"
    if fix.option == DEFAULT_STATUS:
        if not values:
            return "give every post without a status one status, such as retained"
        return f"read every post without a status as {_or([_status(v) for v in values])}"
    if fix.option == WHERE:
        if not values:
            return f"read only the rows of one value of the column {_q(fix.subject)}"
        return (f"read only the rows whose {_q(fix.subject)} is "
                f"{_or([_q(v) for v in values])}")
    if fix.option == SHEET:
        if not values:
            return "choose which sheets to read"
        return f"read the sheet {_or([_q(v) for v in values])}"
    if fix.option == ENCODING:
        if not values:
            return "say which character encoding the file uses"
        return f"read the file as {_or([_ENCODING_NAMES.get(v, v) for v in values])} text"
    raise ValueError(f"no words for the option {fix.option!r}")


# -- as the CLI's options -------------------------------------------------------------

_FLAGS = {MAP: "--map", STATUS_MAP: "--status-map", DEFAULT_STATUS: "--default-status",
          WHERE: "--where", SHEET: "--sheet", ENCODING: "--encoding"}
# What the CLI shows for a part only the user can give.
_PLACEHOLDER = {MAP: ("Your heading", "FIELD"), STATUS_MAP: ("WORDS", "STATUS"),
                WHERE: ("Heading", "VALUE"), DEFAULT_STATUS: ("", "STATUS"),
                SHEET: ("", "NAME"), ENCODING: ("", "ENCODING")}
_PLAIN = re.compile(r"[\w.-]+")


def as_options(fixes: Fixes) -> str:
    """The fix as the CLI's options: each alternative's settings on one line of options,
    the alternatives joined by "or" ("" when there is none).  For the CLI only."""
    ways: list[str] = []
    for way in fixes:
        if not way:
            continue
        # a setting with alternative values makes one way per value
        expanded: list[list[str]] = [[]]
        for setting in way:
            choices = _setting_options(setting)
            expanded = [done + [c] for done in expanded for c in choices]
        ways += [" ".join(e) for e in expanded]
    return " or ".join(ways)


def _setting_options(fix: Fix) -> list[str]:
    """Each way of typing the setting: one per suggested value."""
    flag = _FLAGS[fix.option]
    subject_placeholder, value_placeholder = _PLACEHOLDER[fix.option]
    values = fix.values or (value_placeholder,)
    if fix.option in (MAP, STATUS_MAP, WHERE):
        subject = fix.subject if fix.subject is not None else subject_placeholder
        return [f"{flag} {_quoted(f'{subject}={v}')}" for v in values]
    return [f"{flag} {_quoted(v) if not _PLAIN.fullmatch(v) else v}" for v in values]


def _quoted(text: str) -> str:
    """An option's value as it is typed in a shell: in double quotes, unless it holds a
    character a shell reads inside them."""
    if any(c in text for c in '"$`\\!'):
        return shlex.quote(text)
    return f'"{text}"'


def with_options(message: str, fixes: Fixes) -> str:
    """A finding's message followed by its fix as the CLI's options, for the CLI."""
    options = as_options(fixes)
    if not options:
        return message
    return f"{message.rstrip('.')}; try {options}"
