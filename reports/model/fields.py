"""What a post-level schedule holds: the fields, the headers each accepts,
the status words, and the headers that mark personal data.

Headers and values are compared after `normalise`, which drops case, spaces,
punctuation and symbols, so "F.T.E.", "fte" and "FTE (£)" are one header.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .errors import UsageProblem

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: object) -> str:
    """Lower-case `text` and keep only its letters and digits."""
    return _NOT_ALNUM.sub("", str(text).casefold())


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool
    aliases: tuple[str, ...]
    guidance: str
    in_template: bool = True       # a column of `impact template`'s blank schedule

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(normalise(a) for a in self.aliases)


FIELDS: tuple[Field, ...] = (
    Field("post_id", "Post ID", False,
          ("Post ID", "Post No", "Post number", "Position number", "Post ref", "Post reference",
           "Post Unique Reference", "Position ID", "Position reference"),
          "Optional. A unique reference for the post; used to spot duplicates and to match "
          "posts between versions."),
    Field("team", "Team", True,
          ("Team", "Service", "Service area", "Department", "Division", "Unit", "Team name",
           "Service name", "Org unit", "Organisational unit", "Business unit"),
          "Required. The team or service the post sits in today."),
    Field("title", "Job title", True,
          ("Job title", "Post title", "Role", "Position", "Title", "Generic Job Title",
           "Job role", "Position title", "Job name"),
          "Required. The job title of the post."),
    Field("grade", "Grade", True,
          ("Grade", "Band", "Pay grade", "Pay band", "Scale", "Grade (or equivalent)",
           "AfC band", "Payband", "Grade code"),
          "Required. The grade or pay band, e.g. 'Grade 9' or 'Band 5'."),
    Field("fte", "FTE", True,
          ("FTE", "Full time equivalent", "Full-time equivalent", "Number of Posts in FTE",
           "WTE", "Whole time equivalent", "Contracted FTE", "FTE (contracted)"),
          "Required. Full-time equivalent: a number above 0 with at most 6 decimal places "
          "(shown to 2), and at most 1.0 per post when the file has a Posts column."),
    Field("posts", "Posts", False,
          ("Posts", "No. of posts", "Number of posts", "Headcount", "No of posts"),
          "Optional. How many identical posts the row stands for: a whole number of at "
          "least 1 (blank: 1). Without a Posts column, post counts are not given."),
    Field("status", "Status", True,
          ("Status", "Proposal", "Proposed status", "Action", "Outcome", "Proposed action",
           "Proposed outcome", "Proposed change"),
          "Required. What the proposal does to the post: Deleted, Retained, Relocated or "
          "Created."),
    Field("destination", "Destination", False,
          ("Destination", "Transfers to", "Relocated to", "New service", "Transfer to"),
          "Required when the status is Relocated: the service the post moves to."),
    Field("location", "Location", False,
          ("Location", "Site", "Base", "Centre", "Work base"),
          "Optional. The site or centre the post is based at."),
    Field("vacant", "Vacant", False,
          ("Vacant", "Vacant?", "Vacancy", "Is vacant"),
          "Optional. Y if the post is vacant today, N if someone holds it."),
    Field("annual_cost", "Annual cost", False,
          ("Annual cost", "Cost", "Salary cost", "Annual salary cost", "Total cost"),
          "Optional. The annual cost of the row in pounds; '£' and thousands commas are fine."),
    Field("organisation", "Organisation", False,
          ("Organisation", "Organization", "Employer", "Organisation name"),
          "Optional. The organisation the post belongs to; reported in the column report, "
          "never merged into Team.", in_template=False),
    Field("parent", "Parent department", False,
          ("Parent Department", "Parent organisation", "Parent organization"),
          "Optional. The parent department (organograms); reported in the column report, "
          "never merged into Team.", in_template=False),
    # -- s.188 and sites (issue 13): read by `impact s188`, `pools` and `reconcile`
    Field("establishment", "Establishment", False,
          ("Establishment", "Establishment name", "S188 establishment"),
          "Optional. The establishment the post belongs to for collective consultation "
          "(TULRCA s.188): a site, a service or the whole employer."),
    Field("dismissal_date", "Dismissal date", False,
          ("Dismissal date", "Proposed dismissal date", "Date of dismissal", "Termination date",
           "Proposed leaving date"),
          "Optional. The proposed date of dismissal for the post, as a date (e.g. 2026-04-06 "
          "or 06/04/2026)."),
    Field("headcount", "People", False,
          ("People", "Number of people", "No. of people", "People in post"),
          "Optional (default: the posts). How many people hold the row's posts, when that "
          "differs from Posts (job shares): a whole number, 0 or more."),
    Field("site_type", "Site type", False,
          ("Site type", "Location type", "Type of site", "Base type"),
          "Optional. What kind of site the Location is, e.g. 'Centre' or 'Office'."),
)

# Optional columns for `impact costs` and `impact equality`: not in the blank template.
# All but effective_date are about the person in the post (age, pay, special-category
# data): they are read only into totals, never echoed in a finding, never written per
# post anywhere, and emptied in the annotated copy.
EXTRA_FIELDS: tuple[Field, ...] = (
    Field("effective_date", "Effective date", False,
          ("Effective date", "Effective from", "Date effective", "Implementation date"),
          "Optional. The date the change takes effect; gives the part-year saving."),
    Field("age", "Age", False, ("Age", "Age at dismissal", "Age (years)"),
          "Optional, personal. Age in whole years at the dismissal date (16 to 100)."),
    Field("years_of_service", "Years of service", False,
          ("Years of service", "Service years", "Length of service", "Continuous service",
           "Service (years)"),
          "Optional, personal. Continuous service in years at the dismissal date."),
    Field("weekly_pay", "Weekly pay", False,
          ("Weekly pay", "Week's pay", "Weekly salary", "Gross weekly pay"),
          "Optional, personal. Gross weekly pay in pounds."),
    Field("pension_member", "Pension member", False,
          ("Pension member", "LGPS member", "Pension membership", "Pension scheme member",
           "LGPS membership"),
          "Optional, personal. Y/N, or years of pension scheme membership."),
    Field("strain_cost", "Strain cost", False,
          ("Strain cost", "Pension strain", "Pension strain cost"),
          "Optional, personal. The pension strain cost HR has worked out, in pounds."),
    Field("sex", "Sex", False, ("Sex", "Gender"),
          "Optional, special category. Counted in totals only."),
    Field("age_band", "Age band", False, ("Age band", "Age group", "Age range"),
          "Optional, special category. Counted in totals only."),
    Field("ethnicity", "Ethnicity", False, ("Ethnicity", "Ethnic group", "Ethnic origin"),
          "Optional, special category. Counted in totals only."),
    Field("disability", "Disability", False,
          ("Disability", "Disabled", "Disability status"),
          "Optional, special category. Counted in totals only."),
    Field("working_pattern", "Working pattern", False,
          ("Working pattern", "Work pattern", "Full or part time", "FT/PT"),
          "Optional. Full-time or part-time, as HR records it. Counted in totals only."),
)
SENSITIVE_FIELDS = frozenset(f.name for f in EXTRA_FIELDS) - {"effective_date"}
EQUALITY_FIELDS = ("sex", "age_band", "ethnicity", "disability", "working_pattern")

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS + EXTRA_FIELDS}
REQUIRED = tuple(f.name for f in FIELDS if f.required)
ALIASES: dict[str, str] = {key: f.name for f in FIELDS + EXTRA_FIELDS for key in f.keys}

STATUSES = ("deleted", "retained", "relocated", "created")
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "deleted": ("deleted", "delete", "deletion", "to be deleted", "disestablished",
                "disestablish", "removed", "cease", "redundant", "redundancy"),
    "retained": ("retained", "retain", "remain", "remains", "unchanged", "remains unchanged",
                 "no change", "kept"),
    "relocated": ("relocated", "relocate", "transfer", "transferred", "moved", "TUPE",
                  "TUPE transfer", "Transfer (TUPE)"),
    "created": ("created", "create", "new", "new post", "established"),
}
# Words that say the status and that the post is vacant (or occupied) at once.
COMPOUND_WORDS: dict[str, tuple[str, bool]] = {
    word: ("deleted", vacant) for vacant, words in (
        (True, ("Deleted - vacant", "Delete (vacant post)", "Vacant - delete",
                "Vacant - deleted", "Deleted (vacant)", "Delete - vacant")),
        (False, ("Deleted - occupied", "Delete (occupied post)", "Occupied - delete",
                 "Deleted (occupied)")))
    for word in words
}
# Words HR uses that do not say what happens to the post: they stay errors, and the
# message asks for --status-map.
AMBIGUOUS_WORDS = ("At risk", "Ring-fenced", "Ring fenced", "Slotted in", "Slot in",
                   "Reduced hours", "Regraded", "Under review", "Pool", "Pooled")
STATUS_BY_KEY: dict[str, str] = {
    normalise(word): status for status, words in STATUS_WORDS.items() for word in words
}
COMPOUND_BY_KEY: dict[str, tuple[str, bool]] = {
    normalise(word): pair for word, pair in COMPOUND_WORDS.items()
}
AMBIGUOUS_KEYS = frozenset(normalise(w) for w in AMBIGUOUS_WORDS)
# What --status-map and --default-status may name: a status, or a deleted post's vacancy too.
STATUS_TARGETS: dict[str, tuple[str, bool | None]] = {
    **{s: (s, None) for s in STATUSES},
    "deleted-vacant": ("deleted", True), "deleted-occupied": ("deleted", False),
}


def close_status(word: str) -> str | None:
    """The status (a `STATUS_TARGETS` name) of the known status word closest to `word`,
    when one is close (a typo: 'Deleteed', 'Retianed'); None otherwise."""
    known = {**{k: s for k, s in STATUS_BY_KEY.items()},
             **{k: "deleted-vacant" if vacant else "deleted-occupied"
                for k, (_, vacant) in COMPOUND_BY_KEY.items()}}
    close = difflib.get_close_matches(normalise(word), list(known), n=1, cutoff=0.8)
    return known[close[0]] if close else None


# Words inside a heading that is no alias which suggest a required field: an NHS
# extract's "Organisation name" holds the team, its "Staff group" the grade.  Used only
# to suggest a reading when no header row is found, never applied unasked.
FIELD_HINTS: dict[str, tuple[str, ...]] = {
    "team": ("organisation", "organization", "directorate", "department", "dept",
             "service", "division", "section", "costcentre", "unit", "team", "branch"),
    "title": ("jobtitle", "job", "role", "occupation", "position", "title"),
    "grade": ("staffgroup", "grade", "band", "payscale", "paygroup", "level"),
    "fte": ("fte", "wte", "fulltime", "wholetime", "equivalent"),
    "status": ("status", "proposal", "proposed", "outcome"),
}


def hinted_field(heading: str) -> str | None:
    """The required field a heading's words suggest (`FIELD_HINTS`; the longest word
    found wins: "Job grade" is a grade), or None."""
    key = normalise(heading)
    found = [(len(w), fld) for fld, words in FIELD_HINTS.items() for w in words if w in key]
    return max(found)[1] if found else None

# Cells that mean "nothing to say" where a blank is allowed: read as blank in these fields.
NA_WORDS = frozenset({"na", "n/a", "-", "\u2014", "\u2013"})    # hyphen, em dash, en dash
NA_BLANK_FIELDS = frozenset({"post_id", "posts", "destination", "location", "vacant",
                             "annual_cost", "establishment", "dismissal_date", "headcount",
                             "site_type"})

VACANT_WORDS: dict[str, bool] = {
    "y": True, "yes": True, "true": True, "vacant": True, "1": True,
    "n": False, "no": False, "false": False, "occupied": False, "filled": False, "0": False,
}

# Control-total rows: a row with no status in which a text cell reads one of these.
TOTAL_LABEL = re.compile(r"^\s*(grand[\s_-]*total|sub[\s_-]*total|total)\b", re.IGNORECASE)

# Headers that hold personal data.  Their columns are dropped when the file is
# read, so no value from them can reach any output.  They are matched after `normalise`,
# so "ContactDetails", "Contact details" and "Contact-Details" are one heading.  A heading
# that is also a field's alias must never match (tests/test_personal_values.py checks).
_PERSON = r"(employee|staff|worker|person|personnel|post ?holder|postholder|holder|incumbent|emp)"
# Who holds or runs a post, by a heading that names them: "Manager name", "Occupant".
_NAMED = (r"(occupant|incumbent|postholder|jobholder|holder|(line)?manager|officer|supervisor"
          r"|contact|appointee|(staff|team)member|memberofstaff)")
PERSONAL_PATTERNS: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in (
    r"^(full|first|last|fore|sur|given|family|middle|maiden|preferred|known)?names?$",
    r"^(fore|sur)names?$",
    # a heading that spells out a person's name: "Name (Surname, Forename)"
    r"(surname|forename|firstname|lastname|givenname|familyname|middlename|maidenname"
    r"|christianname)",
    rf"^{_PERSON}s?(full)?names?$",
    rf"^{_PERSON}$",
    rf"^{_PERSON}(number|no|num|id|ref|reference|code)$",
    rf"^{_NAMED}s?(full)?names?$",                         # "Manager name", "Officer name"
    rf"^{_NAMED}$",                                        # "Occupant", "Post holder"
    rf"^(full)?names?of(the)?({_NAMED}|{_PERSON})$",       # "Name of post holder"
    r"^(payroll|pay)(number|no|num|id|ref|reference)?$",
    r"^(ni|nationalinsurance)(number|no|num)?$",
    r"^nino$",
    r"^(dateofbirth|dob|birthdate|birthday)$",   # "Age" is a field: totals only
    r"^(contact|personal|home|work|business|office|staff|employee)?e?mails?(address(es)?)?$",
    r"^(contact|personal|home|work|business|office|staff|employee|direct|desk)?"
    r"(mobile|phone|telephone|tel|landline)(phone)?(number|no|num|ext|extension)?$",
    r"^(home|personal|contact)?(address|postcode|postalcode|zipcode)(line\d?)?$",
    r"^(assignment|ess|esr)(number|no|num|id)$",
    r"^(contactname|contact|nextofkin|spouse|partner)$",
    r"^(contact|personal)(details?|info|information|data|number|no|num)$",  # "ContactDetails"
))
PERSONAL_HINT = ("employee name, forename, surname, post holder, occupant, manager or officer "
                 "name, employee or staff number, payroll number, National Insurance number, "
                 "date of birth, email, phone, contact details, home address")


def is_personal(header: str) -> bool:
    """True when a header names a column of personal data."""
    key = normalise(header)
    return bool(key) and any(p.search(key) for p in PERSONAL_PATTERNS)


def field_for_header(header: str, extra: dict[str, str] | None = None) -> str | None:
    """The field a header names, from `extra` (the --map option) or the aliases."""
    key = normalise(header)
    if not key:
        return None
    if extra and key in extra:
        return extra[key] or None        # IGNORE (""): the column is left unused
    return ALIASES.get(key)


# --map "Heading=ignore" (or "Heading=" or "Heading=none"): the column is left unused, with
# no finding; parse_mapping maps its heading to IGNORE
IGNORE = ""
IGNORE_WORDS = ("ignore", "none", "")


def parse_mapping(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Turn ["Header text=field", ...] into {normalised header: field}.

    "Header text=ignore" ("=none", or nothing after "=") leaves the column unused: its
    heading maps to `IGNORE`.  A heading of personal data cannot be mapped to any field,
    and a heading cannot be mapped twice: both are usage errors, so no option can carry
    personal data into an output.
    """
    mapping: dict[str, str] = {}
    for pair in pairs:
        header, sep, field = pair.rpartition("=")
        field = field.strip().lower()
        if not sep or not normalise(header):
            raise UsageProblem(
                f"--map {pair!r} is not of the form \"Header text=field\", "
                f"e.g. --map \"Current FTE=fte\"")
        if field in IGNORE_WORDS:
            field = IGNORE
        elif field not in FIELD_BY_NAME:
            raise UsageProblem(
                f"--map {pair!r} names an unknown field {field!r}; "
                f"the fields are: {', '.join(FIELD_BY_NAME)}, or ignore")
        if field and is_personal(header):
            raise UsageProblem(
                f"--map {pair!r}: '{header.strip()}' holds personal data, which is dropped "
                f"when a file is read and cannot be mapped to any field")
        key = normalise(header)
        if key in mapping:
            raise UsageProblem(
                f"--map {pair!r}: the heading '{header.strip()}' is mapped twice; give one "
                f"--map for it")
        mapping[key] = field
    return mapping


def parse_status_map(pairs: list[str] | tuple[str, ...]) -> dict[str, tuple[str, bool | None]]:
    """Turn ["Words=status", ...] into {normalised words: (status, vacant or None)}."""
    out: dict[str, tuple[str, bool | None]] = {}
    for pair in pairs:
        words, sep, target = pair.rpartition("=")
        key = normalise(target)
        targets = {normalise(t): t for t in STATUS_TARGETS}
        if not sep or not normalise(words):
            raise UsageProblem(
                f"--status-map {pair!r} is not of the form \"Words=STATUS\", "
                f"e.g. --status-map \"At risk=deleted\"")
        if key not in targets:
            raise UsageProblem(
                f"--status-map {pair!r} names an unknown status {target.strip()!r}; use one "
                f"of: {', '.join(STATUS_TARGETS)}")
        if normalise(words) in out:
            raise UsageProblem(f"--status-map {pair!r}: '{words.strip()}' is mapped twice")
        out[normalise(words)] = STATUS_TARGETS[targets[key]]
    return out


def parse_status(value: str | None, option: str = "--default-status"
                 ) -> tuple[str, bool | None] | None:
    """A status given on its own (--default-status): (status, vacant or None)."""
    if value is None:
        return None
    targets = {normalise(t): t for t in STATUS_TARGETS}
    key = normalise(value)
    if key not in targets:
        raise UsageProblem(f"{option} {value!r} is not a status; use one of: "
                           f"{', '.join(STATUS_TARGETS)}")
    return STATUS_TARGETS[targets[key]]


MAX_HEADER_ROW = 1_048_576      # Excel's last row


def parse_header_row(row: int | str | None) -> int | None:
    """--header-row N: the header's sheet row, 1 or more (None: sought as usual)."""
    if row is None or row == "":
        return None
    try:
        n = int(row)
    except (TypeError, ValueError):
        raise UsageProblem(f"--header-row {row!r} is not a row number") from None
    if not 1 <= n <= MAX_HEADER_ROW:
        raise UsageProblem(f"--header-row {n}: a row number is 1 to {MAX_HEADER_ROW:,}")
    return n


def parse_where(pairs: list[str] | tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """Turn ["Heading=value", ...] into ((normalised heading, heading, value), ...)."""
    out = []
    for pair in pairs:
        header, sep, value = pair.partition("=")
        if not sep or not normalise(header):
            raise UsageProblem(f"--where {pair!r} is not of the form \"Heading=value\", "
                               f"e.g. --where \"Snapshot=March 2024\"")
        if is_personal(header):
            raise UsageProblem(f"--where {pair!r}: '{header.strip()}' holds personal data, "
                               f"which is dropped when a file is read")
        out.append((normalise(header), header.strip(), value.strip()))
    return tuple(out)
