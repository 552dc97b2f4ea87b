"""Personal data found by what a cell holds, not by its heading: e-mail addresses, UK
phone numbers and National Insurance numbers.

Two uses:

- `personal_kind(values)`: whether a column's values are mostly such details (then
  the column is personal whatever its heading, and is dropped when the file is read);
- `scrub(text)`: free text with each e-mail address (found by its shape), phone number
  or NI number in it replaced by `REMOVED` (job titles, notes, any text that is kept
  or copied).

The validators are well-kept libraries, not patterns of our own: `email-validator`
for addresses (syntax only, no DNS look-up) and Google's `phonenumbers` for phone
numbers (valid for the UK numbering plan, written the UK way: starting 0, +, 00 or
"(0").  National Insurance numbers follow HMRC's rules (National Insurance Manual
NIM39110, https://www.gov.uk/hmrc-internal-manuals/national-insurance-manual/nim39110):
two prefix letters, six digits and a suffix A, B, C or D; neither prefix letter is D,
F, I, Q, U or V, the second is not O, and BG, GB, KN, NK, NT, TN and ZZ are never used.

Speed: a cheap shape (one Arrow regex over the distinct values, or one Python regex
search over a cell) comes first, and only the values that pass reach a validator; for a
column, a sample of them.  Measured on this machine (2 cores): a column of 100,000
distinct e-mail addresses is judged in 0.05 s, where validating every one took 10 s; a
100,000-row, 11-column CSV with no contact details reads in 0.78 s against 0.62 s
without these checks.  In free text the cost grows with the details found (a phone
number is checked by `phonenumbers`, about 0.1 ms each): with an e-mail column and a
Notes column holding 33,000 addresses and numbers, that file read in 3.6 s.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EMAIL, PHONE, NINO = "e-mail address", "phone number", "National Insurance number"
PLURAL = {EMAIL: "e-mail addresses", PHONE: "phone numbers", NINO: "National Insurance numbers"}
REMOVED = "[removed]"
SAMPLE = 64             # candidate values of a column checked with a validator

# The shapes, for Arrow's RE2 (no look-arounds) over a column's values.
_EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_PHONE_SHAPE = (r"^(?:\+|00|\(?0)[0-9 ().\-]{8,20}"
                r"(?:\s*(?:ext|extn|x)\.?\s*[0-9]{1,6})?$")
_NINO_SHAPE = r"^[A-Za-z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Da-d]$"
_ANY_SHAPE = f"(?:{_EMAIL_SHAPE})|(?:{_PHONE_SHAPE})|(?:{_NINO_SHAPE})"
# What may hold a detail somewhere inside free text (Arrow's RE2 and Python's re alike).
# A phone number starts "+", "0" or "(0" after no digit; a cost or an FTE does not.
_IN_TEXT = (r"@|(?:^|[^0-9])(?:\+[0-9]|\(?0[0-9])[0-9 ().\-]{7,}[0-9]"
            r"|[A-Za-z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Da-d]")
_IN_TEXT_RE = re.compile(_IN_TEXT)

_NINO = re.compile(r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z]"
                   r"[A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])",
                   re.IGNORECASE)
# An address in free text is found by its shape alone (a dotted domain ending in letters):
# blanking a word that only looks like one costs nothing, and the validator's 0.1 ms a value
# would be seconds for a Notes column with an address on every row.
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                            r"\.[A-Za-z]{2,}(?![A-Za-z0-9-])")
_UK_WRITTEN = re.compile(r"^(?:\+|00|\(?0)")


def _is_email(text: str) -> bool:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _is_phone(text: str) -> bool:
    import phonenumbers

    if not _UK_WRITTEN.match(text):
        return False
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def _is_nino(text: str) -> bool:
    return _NINO.fullmatch(text) is not None


_CHECKS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    (EMAIL, _is_email), (PHONE, _is_phone), (NINO, _is_nino))


def kind_of(value: str) -> str | None:
    """What a whole cell is: EMAIL, PHONE or NINO, or None."""
    text = value.strip()
    if "@" in text:
        return EMAIL if _is_email(text) else None
    for kind, check in _CHECKS[1:]:
        if check(text):
            return kind
    return None


def personal_kind(values: pa.Array) -> str | None:
    """EMAIL, PHONE or NINO when more than half of the non-blank `values` (a column's
    distinct cleaned text) are such details, else None.

    The shape is matched over every value in Arrow; when more than half pass it, up to
    `SAMPLE` of those, spread through the column, go to the validators, and the share
    that passes both is estimated from them."""
    values = values.filter(pc.not_equal(values, "").fill_null(False))
    n = len(values)
    if not n:
        return None
    shaped = pc.match_substring_regex(values, _ANY_SHAPE).fill_null(False)
    candidates = values.filter(shaped)
    if 2 * len(candidates) <= n:
        return None
    picks = np.unique(np.linspace(0, len(candidates) - 1, min(SAMPLE, len(candidates)))
                      .round().astype(np.int64))
    kinds = [kind_of(v) for v in candidates.take(pa.array(picks)).to_pylist()]
    found = Counter(k for k in kinds if k)
    share = len(candidates) / n * sum(found.values()) / len(kinds)
    return found.most_common(1)[0][0] if share > 0.5 else None


_PHONE_IN_TEXT = re.compile(r"(?<![0-9+])(?:\+[0-9]|\(?0[0-9])[0-9 ().\-]{7,}[0-9]"
                            r"(?:\s*(?:ext|extn|x)\.?\s*[0-9]{1,6})?")


def _phones_in(text: str) -> list[tuple[int, int]]:
    """The spans of the UK phone numbers in `text`: each run of digits shaped like one,
    checked by `phonenumbers`; when a run fails (a number with more text after it,
    "01332 123456 - 2 posts"), its matcher searches the whole text."""
    import phonenumbers

    spans = []
    for m in _PHONE_IN_TEXT.finditer(text):
        if not _is_phone(m.group()):
            return [(n.start, n.end) for n in phonenumbers.PhoneNumberMatcher(text, "GB")
                    if _UK_WRITTEN.match(n.raw_string)]
        spans.append(m.span())
    return spans


def scrub(text: str) -> tuple[str, int]:
    """`text` with each e-mail address, UK phone number and NI number in it replaced by
    `REMOVED`, and how many were."""
    if not _IN_TEXT_RE.search(text):
        return text, 0
    spans = [m.span() for m in _EMAIL_IN_TEXT.finditer(text)]
    spans += [m.span() for m in _NINO.finditer(text)]
    spans += _phones_in(text)
    if not spans:
        return text, 0
    out, end, count = [], 0, 0
    for a, b in sorted(spans):
        if a < end:                      # inside one already removed
            continue
        out += [text[end:a], REMOVED]
        end, count = b, count + 1
    out.append(text[end:])
    return "".join(out), count


def scrub_values(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Each text value scrubbed (see `scrub`), and the positions of those changed.  Only
    the values that may hold a detail (one Arrow regex over them all) reach Python."""
    maybe = pc.match_substring_regex(values, _IN_TEXT).fill_null(False)
    where = np.flatnonzero(maybe.to_numpy(zero_copy_only=False))
    if not len(where):
        return values, where
    texts = values.take(pa.array(where)).to_pylist()
    changed, new = [], []
    for i, text in zip(where.tolist(), texts):
        cleaned, n = scrub(text)
        if n:
            changed.append(i)
            new.append(cleaned)
    if not changed:
        return values, np.array([], dtype=np.int64)
    out = values.to_pylist()
    for i, text in zip(changed, new):
        out[i] = text
    return pa.array(out, pa.string()), np.array(changed, dtype=np.int64)
