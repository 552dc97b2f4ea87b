"""Briefing templates: declarative TOML files that say what a PDF briefing shows.

One template per audience ships in `templates/` (`union.toml`, `management.toml`,
`public.toml`).  A user can copy one, edit it and pass it with `--template`.
Every key is checked: an unknown key, section or placeholder is refused with a
`TemplateError` that names it, so a typo never silently drops a section.
Keys a copy leaves out take the defaults below.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..figures.equality import (
    CHARACTERISTICS,
    CONSULTATION_IN_FULL,
    EQUALITY_THRESHOLD,
    KEPT,
    LEAST_THRESHOLD,
    RETAINED_AND_RELOCATED,
    SPECIAL_CATEGORY,
    EqualityRule,
)
from ..model.errors import TemplateError, UsageProblem
from . import sections as registry
from .wording import DEFAULT_WORDING, check_placeholders

AUDIENCES = ("union", "management", "public")


DEFAULT_COLOURS = {
    "primary": "#1F3A5F",          # header band, headings, table headers
    "accent": "#E8EEF5",           # key-figure panel, table stripes
    "text": "#1A1A1A",
    "muted": "#5A5A5A",            # footers, notes
    "deleted": "#C0392B",
    "retained": "#2E86AB",
    "relocated": "#E89F3C",
    "created": "#3BA55C",
}

_TOP_KEYS = ("audience", "title", "subtitle", "baseline_title", "baseline_subtitle",
             "organisation", "author", "marking", "sections", "privacy", "equality", "colours",
             "wording", "headings", "renderer")
# How a PDF briefing is made: ReportLab (fast, untagged) or the tagged PDF/UA renderer
# (reports.render.tagged: the HTML briefing through WeasyPrint).
RENDERERS = ("reportlab", "tagged")
_PRIVACY_KEYS = ("small_number_threshold",)
_EQUALITY_KEYS = ("shown_in_full", "threshold", "kept")
# Audiences consulted (marked for consultation, no per-person rows): by default they
# read sex and working pattern in full (figures.equality).
CONSULTED = ("union", "management")
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


def template_path(name: str) -> Path:
    """A briefing template shipped with the package (templates/ in the repository)."""
    return Path(str(resources.files("reports.templates").joinpath(name)))


def builtin_path(audience: str) -> Path:
    """The template shipped for `audience`."""
    if audience not in AUDIENCES:
        raise TemplateError(f"unknown audience '{audience}'; choose one of {', '.join(AUDIENCES)}")
    return template_path(f"{audience}.toml")


def _union_sections() -> tuple[str, ...]:
    """The sections of the built-in union template, in its order."""
    with builtin_path("union").open("rb") as fh:
        return tuple(tomllib.load(fh)["sections"])


# The sections of a template that lists none: the union template's, in its order (the
# order of sections always comes from a template, never from the registry); their
# default headings come from the sections registry (`reports.documents.sections`).
SECTIONS = _union_sections()
DEFAULT_HEADINGS = registry.headings()


@dataclass(frozen=True)
class Template:
    """A parsed, checked briefing template."""

    name: str                      # where it came from, for messages: "union.toml"
    audience: str | None = None
    title: str = "Impact briefing"
    subtitle: str = ""
    # the title and subtitle of a briefing of a file in which no post is deleted (a pure
    # baseline); "": the title and subtitle above
    baseline_title: str = ""
    baseline_subtitle: str = ""
    organisation: str = ""
    author: str = ""
    marking: str = "OFFICIAL"
    sections: tuple[str, ...] = SECTIONS
    small_number_threshold: int = 0       # 0: every figure is shown
    colours: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COLOURS))
    wording: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_WORDING))
    headings: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HEADINGS))
    renderer: str = "reportlab"           # "tagged": an accessible PDF/UA briefing
    equality: EqualityRule = EqualityRule()   # every characteristic protected

    @property
    def suppresses(self) -> bool:
        return self.small_number_threshold > 0

    @property
    def equality_rule(self) -> EqualityRule:
        """The equality tables' rule: the template's, at the briefing's threshold when
        that is higher."""
        return dataclasses.replace(
            self.equality, audience=self.audience,
            threshold=max(self.equality.threshold, self.small_number_threshold))


MAX_TEMPLATE_BYTES = 1 << 20     # 1 MiB: a real template is a few KiB


def load_template(path: str | os.PathLike[str]) -> Template:
    """Read and check a template file.  Raises `TemplateError` naming any bad key."""
    p = Path(path)
    return loads_template(template_bytes(p), p.name)


def template_bytes(path: str | os.PathLike[str]) -> bytes:
    """A template file's bytes: a regular file under 1 MiB only.

    The file is opened without blocking and checked with fstat before a byte is
    read, so a FIFO cannot hang the run and /dev/zero cannot be read without end.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise TemplateError(f"cannot read template {p}: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TemplateError(f"template {p} is not a regular file; give a .toml file")
        if info.st_size > MAX_TEMPLATE_BYTES:
            raise TemplateError(f"template {p} is {info.st_size:,} bytes, over the 1 MiB "
                                f"limit for a template")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as e:
        raise TemplateError(f"cannot read template {p}: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"template {p} is over the 1 MiB limit for a template")
    return raw


def loads_template(raw: bytes, name: str) -> Template:
    """Parse and check a template's bytes; `name` is for messages."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise TemplateError(f"template {name} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise TemplateError(f"template {name} is not valid TOML: {e}") from None
    except RecursionError:
        raise TemplateError(f"template {name} is not valid TOML: its arrays or tables are "
                            f"nested too deeply") from None
    return parse_template(data, name)


def load_builtin(audience: str) -> Template:
    return load_template(builtin_path(audience))


def parse_template(data: dict[str, Any], name: str = "template") -> Template:
    """Check a template already parsed from TOML and fill in the defaults."""

    def fail(message: str) -> TemplateError:
        return TemplateError(f"template {name}: {message}")

    _known(data, _TOP_KEYS, "", fail)
    kw: dict[str, Any] = {}
    for key in ("title", "subtitle", "baseline_title", "baseline_subtitle", "organisation",
                "author", "marking"):
        if key in data:
            kw[key] = _text(data[key], key, fail)
    if "audience" in data:
        audience = _text(data["audience"], "audience", fail)
        if audience not in AUDIENCES:
            raise fail(f"key 'audience' is '{audience}'; it must be one of "
                       f"{', '.join(AUDIENCES)}")
        kw["audience"] = audience
    if "renderer" in data:
        renderer = _text(data["renderer"], "renderer", fail)
        if renderer not in RENDERERS:
            raise fail(f"key 'renderer' is '{renderer}'; it must be one of "
                       f"{', '.join(RENDERERS)}")
        kw["renderer"] = renderer
    if "sections" in data:
        sections = data["sections"]
        if not isinstance(sections, list) or not all(isinstance(s, str) for s in sections):
            raise fail("key 'sections' must be a list of section names, e.g. "
                       "[\"headline\", \"by_team\"]")
        for s in sections:
            if s not in registry.known():
                raise fail(f"unknown section '{s}' in 'sections'; known sections: "
                           f"{', '.join(registry.known())}")
        seen = set()
        for s in sections:
            if s in seen:
                raise fail(f"section '{s}' is listed twice in 'sections'")
            seen.add(s)
        kw["sections"] = tuple(sections)
    privacy = _table(data, "privacy", fail)
    _known(privacy, _PRIVACY_KEYS, "privacy.", fail)
    if "small_number_threshold" in privacy:
        threshold = privacy["small_number_threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not \
                0 <= threshold <= 1000:
            raise fail("key 'privacy.small_number_threshold' must be a whole number from 0 "
                       "(show every figure) to 1000, e.g. 5")
        kw["small_number_threshold"] = threshold
    kw["equality"] = _equality(_table(data, "equality", fail), kw.get("audience"),
                               kw.get("small_number_threshold", 0) > 0, fail)
    colours = _table(data, "colours", fail)
    _known(colours, tuple(DEFAULT_COLOURS), "colours.", fail)
    for key, value in colours.items():
        if not isinstance(value, str) or not _HEX.match(value):
            raise fail(f"key 'colours.{key}' must be a colour like \"#1F3A5F\", not {value!r}")
    kw["colours"] = {**DEFAULT_COLOURS, **colours}
    wording = _table(data, "wording", fail)
    _known(wording, tuple(DEFAULT_WORDING), "wording.", fail)
    for key, value in wording.items():
        check_placeholders(_text(value, f"wording.{key}", fail), f"wording.{key}", fail)
    kw["wording"] = {**DEFAULT_WORDING, **wording}
    headings = _table(data, "headings", fail)
    _known(headings, registry.known(), "headings.", fail)
    for key, value in headings.items():
        _text(value, f"headings.{key}", fail)
    kw["headings"] = {**DEFAULT_HEADINGS, **headings}
    return Template(name=name, **kw)


def _equality(table: dict[str, Any], audience: str | None, suppresses: bool,
              fail: Any) -> EqualityRule:
    """The [equality] table: which characteristics are shown in full, the threshold of
    the others and what "kept" means.  A public template (audience public, or any that
    suppresses small numbers: its outputs are public releases, recorded in the ledger)
    protects every characteristic at 5 or more and keeps the one definition of kept (two
    public releases that differ only in it would give relocated posts by group by
    subtraction); no template may show special category data in full."""
    _known(table, _EQUALITY_KEYS, "equality.", fail)
    public = audience == "public" or suppresses
    default = CONSULTATION_IN_FULL if audience in CONSULTED and not public else ()
    shown = table.get("shown_in_full", list(default))
    if not isinstance(shown, list) or not all(isinstance(x, str) for x in shown):
        raise fail("key 'equality.shown_in_full' must be a list of characteristics, e.g. "
                   "[\"sex\", \"working_pattern\"]")
    for x in shown:
        if x in SPECIAL_CATEGORY:
            raise fail(f"'{x}' in 'equality.shown_in_full' is special category data (UK GDPR "
                       f"Article 9): its small counts are hidden in every audience")
        if x not in CHARACTERISTICS:
            raise fail(f"unknown characteristic '{x}' in 'equality.shown_in_full'; known: "
                       f"{', '.join(k for k in CHARACTERISTICS if k not in SPECIAL_CATEGORY)}")
    least = EQUALITY_THRESHOLD if public else LEAST_THRESHOLD
    threshold = table.get("threshold", EQUALITY_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or \
            not least <= threshold <= 1000:
        raise fail(f"key 'equality.threshold' must be a whole number from {least} to 1000"
                   + (" in a public template" if public else ""))
    kept = table.get("kept", RETAINED_AND_RELOCATED)
    if kept not in KEPT:
        raise fail(f"key 'equality.kept' is {kept!r}; it must be one of {', '.join(KEPT)}")
    if public:
        if shown:
            raise fail("a public template (audience public, or one that sets "
                       "'privacy.small_number_threshold') cannot show an equality "
                       "characteristic in full: 'equality.shown_in_full' must be empty or "
                       "left out")
        if kept != RETAINED_AND_RELOCATED:
            raise fail(f"a public template keeps 'equality.kept' = "
                       f"\"{RETAINED_AND_RELOCATED}\", so that two public releases cannot "
                       f"be subtracted to give relocated posts by group")
    return EqualityRule(threshold=threshold, in_full=frozenset(shown), kept=kept)


def with_kept(template: Template, kept: str | None) -> Template:
    """`template` with "kept" in the equality impact as given (None: the template's own).
    `UsageProblem` for a public template asked for another definition (see `_equality`)."""
    if kept is None or kept == template.equality.kept:
        return template
    if kept not in KEPT:
        raise UsageProblem(f"--kept must be one of {', '.join(KEPT)}, not '{kept}'")
    if template.audience == "public" or template.suppresses:
        raise UsageProblem(f"--kept {kept} cannot go with a public output: public outputs "
                           f"keep one definition of kept ({template.equality.kept}), so that "
                           f"two of them cannot be subtracted to give relocated posts by group")
    return dataclasses.replace(template,
                               equality=dataclasses.replace(template.equality, kept=kept))


def _known(table: dict[str, Any], allowed: tuple[str, ...], prefix: str, fail: Any) -> None:
    for key in table:
        if key not in allowed:
            raise fail(f"unknown key '{prefix}{key}'; known keys"
                       f"{' in [' + prefix.rstrip('.') + ']' if prefix else ''}: "
                       f"{', '.join(allowed)}")


def _table(data: dict[str, Any], key: str, fail: Any) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"key '{key}' must be a table ([{key}])")
    return value


def _text(value: Any, key: str, fail: Any) -> str:
    if not isinstance(value, str):
        raise fail(f"key '{key}' must be text in quotes, not {value!r}")
    return value
