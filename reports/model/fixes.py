"""How a finding, or a file that cannot be read, can be put right: a structured fix.

A finding says what is wrong in plain words; its fix says which reading option would
put it right, for which heading or word, and with what value.  Each front end words it
in its own way (`reports.render.fixes`): the CLI as the option a user types
(`--status-map "Maybe=deleted"`), the portal and every document in plain words ("Read
'Maybe' as deleted"), JSON as the record itself.  No message shown outside the CLI
names a command-line option.

A finding's `fixes` are alternatives, each a tuple of settings given together: a file
with no Status column can name the column that holds it, *or* read every post as
retained; a row of unknown headings needs all of its mappings at once.
"""

from __future__ import annotations

from dataclasses import dataclass

# The reading options a fix can name (the names of `ReadOptions`/`HowToRead` settings).
MAP = "map"                        # read the column headed `subject` as the field `value`
STATUS_MAP = "status_map"          # read the status word `subject` as the status `value`
DEFAULT_STATUS = "default_status"  # give rows without a status the status `value`
WHERE = "where"                    # read only the rows whose `subject` column holds `value`
SHEET = "sheet"                    # read the sheet `value`
ENCODING = "encoding"              # decode the CSV file as `value`

OPTIONS = (MAP, STATUS_MAP, DEFAULT_STATUS, WHERE, SHEET, ENCODING)


@dataclass(frozen=True)
class Fix:
    """One setting that puts a finding right.

    `subject` is the heading or word it applies to (None: one the user must choose, such
    as the column that holds a missing field).  `value` is the suggested value, a tuple
    of alternatives (the likeliest first) when several fit, or None when only the user
    can say (an unknown status word with no close match)."""

    option: str
    subject: str | None = None
    value: str | tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.option not in OPTIONS:
            raise ValueError(f"{self.option!r} is not a reading option a fix can name")
        if isinstance(self.value, tuple) and not self.value:
            raise ValueError("a fix's alternatives cannot be empty")

    @property
    def values(self) -> tuple[str, ...]:
        """The suggested values, the likeliest first (none when the user must choose)."""
        if self.value is None:
            return ()
        return self.value if isinstance(self.value, tuple) else (self.value,)


# Alternatives, each the settings given together.
Fixes = tuple[tuple[Fix, ...], ...]


def one(*settings: Fix) -> Fixes:
    """A fix of one alternative: `settings`, given together."""
    return (tuple(settings),)


def either(*alternatives: Fix) -> Fixes:
    """A fix of several alternatives, each one setting."""
    return tuple((a,) for a in alternatives)
