"""Monthly reports delivered by e-mail: the delivery list, and `impact monthly --send`.

Each dataset has a list of addresses per audience (`add_recipient`, `remove_recipient`;
`impact deliver` and the portal's Delivery page).  After `run_monthly` has written a
month, `send_month` records one message per dataset, audience and address, then sends
every message still waiting, this month's or an earlier one's.

**Who gets what** (`RECEIVES`): management recipients the management briefing; union
recipients the union and the public briefings; public recipients the public one only.
Only the briefings the month holds are sent, each checked against the manifest's sha256.

**Never twice.**  A message's Message-ID is recorded in the store *before* it is sent,
and a message is claimed in one transaction before each attempt (`Deliveries.claim`):
a message recorded as sent is never sent again, and two runs never send one message.
A temporary failure (a 4xx answer, a server that cannot be reached) leaves it to be
tried again, with the same Message-ID, by the next run; a permanent one (a 5xx answer)
is recorded as failed, one line, and never tried again.  A run killed between the
server's acceptance and the record of it sends the message again with the same
Message-ID, by which mail systems recognise a copy.

SMTP settings come from the environment only (`SmtpSettings.from_env`), never the
command line; messages are built with `email.message.EmailMessage` and sent with
`smtplib`.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from ..model.errors import ImpactError, UnknownDataset, UsageProblem
from ..store.accounts import Accounts
from ..store.db import Store
from ..store.delivery import FAILED, RETRY, SENT, Deliveries, Entry, Send
from ..store.paths import normalise_name
from . import audit
from .monthly import Month

# The audience rule: a recipient on a list for the key gets the briefings of the value.
RECEIVES: dict[str, tuple[str, ...]] = {
    "management": ("management",),
    "union": ("union", "public"),
    "public": ("public",),
}
LIST_AUDIENCES = tuple(RECEIVES)
TIMEOUT_S = 60

ENV_HOST, ENV_PORT, ENV_TLS = "IMPACT_SMTP_HOST", "IMPACT_SMTP_PORT", "IMPACT_SMTP_TLS"
ENV_USER, ENV_PASSWORD_FILE = "IMPACT_SMTP_USER", "IMPACT_SMTP_PASSWORD_FILE"
ENV_PASSWORD, ENV_FROM = "IMPACT_SMTP_PASSWORD", "IMPACT_SMTP_FROM"
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class MailProblem(ImpactError):
    """The SMTP settings cannot be used, or the mail server refuses them."""


# --------------------------------------------------------------------------
# the list


def receives(audience: str) -> tuple[str, ...]:
    """The briefings a recipient on `audience`'s list gets (the audience rule)."""
    try:
        return RECEIVES[audience]
    except KeyError:
        raise UsageProblem(f"--audience {audience}: give one of "
                           f"{', '.join(LIST_AUDIENCES)}") from None


def check_address(text: str) -> str:
    """An e-mail address as it will be kept (syntax checked, its domain lower-cased; no
    DNS look-up); `UsageProblem` for one that is not an address."""
    from email_validator import EmailNotValidError, validate_email  # lazy: only list edits

    given = text.strip()
    try:
        checked = validate_email(given, check_deliverability=False)
    except EmailNotValidError as e:
        raise UsageProblem(f"--to {given!r} is not an e-mail address: {e}") from None
    return str(checked.normalized)


def _dataset(store: Store, name: str) -> str:
    wanted = normalise_name(name)
    if wanted not in store.names():
        raise UnknownDataset(f"no dataset named {wanted!r} in the store; see impact datasets")
    return wanted


def add_recipient(store: Store, accounts: Accounts, dataset: str, audience: str, to: str, *,
                  by: str, where: str) -> tuple[Entry | None, str]:
    """Put `to` on `dataset`'s list for `audience` (an audit entry records it); the entry
    (None if it was there already) and the address as kept."""
    receives(audience)
    name, address = _dataset(store, dataset), check_address(to)
    deliveries = Deliveries(store)
    if not deliveries.add(name, audience, address, by):
        return None, address
    audit.record(accounts, by, "delivery-add", f"{address} on the {audience} list of "
                                               f"'{name}'", where)
    found = [e for e in deliveries.entries(name)
             if (e.audience, e.address) == (audience, address)]
    return (found[0] if found else None), address


def remove_recipient(store: Store, accounts: Accounts, dataset: str, audience: str, to: str,
                     *, by: str, where: str) -> bool:
    """Take `to` off `dataset`'s list for `audience`; False if it was not on it."""
    receives(audience)
    name = normalise_name(dataset)
    address = to.strip()
    deliveries = Deliveries(store)
    gone = deliveries.remove(name, audience, address)
    if not gone:     # as given, or as `add` would have kept it
        try:
            address = check_address(to)
        except UsageProblem:
            return False
        gone = deliveries.remove(name, audience, address)
    if gone:
        audit.record(accounts, by, "delivery-remove", f"{address} off the {audience} list "
                                                      f"of '{name}'", where)
    return gone


def remove_entry(store: Store, accounts: Accounts, entry_id: int, *, by: str,
                 where: str) -> Entry | None:
    """Take one entry (by its id, as the portal lists it) off its list; None if gone."""
    found = Deliveries(store).entry(entry_id)
    if found is None or not remove_recipient(store, accounts, found.dataset, found.audience,
                                             found.address, by=by, where=where):
        return None
    return found


def recipients(store: Store, dataset: str | None = None) -> list[Entry]:
    return Deliveries(store).entries(None if dataset is None else _dataset(store, dataset))


def sends(store: Store, month: str | None = None, limit: int | None = None) -> list[Send]:
    return Deliveries(store).sends(month, limit)


# --------------------------------------------------------------------------
# SMTP settings


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str                       # "starttls" | "ssl" | "none"
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        """The settings from IMPACT_SMTP_*; `MailProblem` naming what is missing or wrong."""
        env = os.environ if environ is None else environ
        host = env.get(ENV_HOST, "").strip()
        if not host:
            raise MailProblem(f"--send needs the mail server: set {ENV_HOST} (and "
                              f"{ENV_FROM}, and {ENV_USER} with {ENV_PASSWORD_FILE} if it "
                              f"asks for a login)")
        tls = env.get(ENV_TLS, "starttls").strip().lower() or "starttls"
        if tls not in DEFAULT_PORTS:
            raise MailProblem(f"{ENV_TLS}={tls!r}: give starttls, ssl or none")
        port_text = env.get(ENV_PORT, "").strip()
        if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
            raise MailProblem(f"{ENV_PORT}={port_text!r} is not a port number")
        port = int(port_text) if port_text else DEFAULT_PORTS[tls]
        sender = env.get(ENV_FROM, "").strip()
        if not sender:
            raise MailProblem(f"--send needs the sender's address: set {ENV_FROM}")
        try:
            sender = check_address(sender)
        except UsageProblem:
            raise MailProblem(f"{ENV_FROM}={sender!r} is not an e-mail address") from None
        user = env.get(ENV_USER, "").strip() or None
        password = None
        if user is not None:
            path = env.get(ENV_PASSWORD_FILE, "").strip()
            if path:
                try:
                    password = Path(path).read_text("utf-8").rstrip("\r\n")
                except (OSError, ValueError) as e:
                    raise MailProblem(f"cannot read {ENV_PASSWORD_FILE} {path}: "
                                      f"{getattr(e, 'strerror', None) or e}") from None
            else:
                password = env.get(ENV_PASSWORD)
            if not password:
                raise MailProblem(f"{ENV_USER} is set but no password: put it in a file "
                                  f"named by {ENV_PASSWORD_FILE} (or in {ENV_PASSWORD})")
        return cls(host, port, tls, sender, user, password)


class _Plain(smtplib.SMTP):
    """smtplib's client, keeping the server's answer to the message (its queue id)."""

    answer: tuple[int, bytes] = (0, b"")

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.answer = super().data(msg)
        return self.answer


class _Wrapped(smtplib.SMTP_SSL):
    """The same over TLS from the first byte (IMPACT_SMTP_TLS=ssl)."""

    answer: tuple[int, bytes] = (0, b"")

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.answer = super().data(msg)
        return self.answer


def connect(settings: SmtpSettings) -> _Plain | _Wrapped:
    """A logged-in connection to the mail server; the certificate is checked against the
    system's CAs (or $SSL_CERT_FILE's)."""
    context = ssl.create_default_context()
    smtp: _Plain | _Wrapped
    if settings.tls == "ssl":
        smtp = _Wrapped(settings.host, settings.port, timeout=TIMEOUT_S, context=context)
    else:
        smtp = _Plain(settings.host, settings.port, timeout=TIMEOUT_S)
    try:
        smtp.ehlo()
        if settings.tls == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.user is not None:
            smtp.login(settings.user, settings.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


# --------------------------------------------------------------------------
# sending


@dataclass
class Delivery:
    """What a send did: counts, and the lines to print."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    already: int = 0                  # this month's messages sent by an earlier run
    errors: list[str] = field(default_factory=list)     # exit 1: a human must act
    notes: list[str] = field(default_factory=list)      # retried by the next run

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary_line(self) -> str:
        parts = [f"{self.sent} message(s) sent"]
        if self.already:
            parts.append(f"{self.already} sent before")
        if self.retry:
            parts.append(f"{self.retry} to try again on the next run")
        if self.failed:
            parts.append(f"{self.failed} refused for good")
        return "Delivery: " + ", ".join(parts)


def _label(audiences: Sequence[str]) -> str:
    return " and ".join(audiences) + (" briefings" if len(audiences) > 1 else " briefing")


def briefing_paths(entry: Mapping[str, Any], audience: str) -> list[tuple[str, str, str]]:
    """(briefing audience, path in the month folder, sha256) of each briefing a recipient
    on `audience`'s list gets, among the files a manifest `entry` lists."""
    slug = entry.get("slug", "")
    listed = {f.get("path"): f.get("sha256") for f in entry.get("files", [])
              if isinstance(f, dict)}
    out = []
    for wanted in receives(audience):
        for rel in (f"{slug}/briefing-{wanted}.pdf", f"{slug}/{wanted}/briefing.pdf"):
            if rel in listed:
                out.append((wanted, rel, str(listed[rel])))
                break
    return out


def plan_month(store: Store, month: str, folder: Path, entries: Sequence[Mapping[str, Any]],
               domain: str) -> tuple[int, list[str]]:
    """Record a message for each address on each written dataset's lists (unless that
    month's message is recorded already); how many were recorded, and a note for each
    list with nothing to send."""
    deliveries = Deliveries(store)
    made, notes = 0, []
    for entry in entries:
        if entry.get("status") != "ok" or not entry.get("files"):
            continue
        name, slug = str(entry["dataset"]), str(entry.get("slug", ""))
        for listed in deliveries.entries(name):
            found = briefing_paths(entry, listed.audience)
            if not found:
                notes.append(f"{month}: nothing sent to the {listed.audience} list of "
                             f"'{name}': the month has no "
                             f"{_label(receives(listed.audience))} (see --audience)")
                continue
            files = [{"path": str(folder / rel), "audience": which,
                      "name": f"{slug}-{month}-{which}.pdf", "sha256": sha}
                     for which, rel, sha in found]
            if deliveries.plan(month, name, listed.audience, listed.address, files,
                               make_msgid(domain=domain)):
                made += 1
    return made, notes


def _message(send: Send, settings: SmtpSettings, files: list[tuple[dict[str, Any], bytes]]
             ) -> EmailMessage:
    shown = [f["audience"] for f, _ in files]
    msg = EmailMessage()
    month = Month.parse(send.month).label
    msg["Subject"] = f"{send.dataset}: {_label(shown)} for {month}"
    msg["From"] = settings.sender
    msg["To"] = send.address
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = send.message_id
    lines = [f"Attached: the {_label(shown)} of '{send.dataset}' for {month}, as impact "
             f"monthly wrote them.", "",
             *(f"- {f['name']} (sha256 {f['sha256']})" for f, _ in files), "",
             f"You receive this because {send.address} is on the {send.audience} delivery "
             f"list of '{send.dataset}'. To be taken off it, write to {settings.sender}."]
    msg.set_content("\n".join(lines) + "\n")
    for f, data in files:
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=f["name"])
    return msg


def _read(files: list[dict[str, Any]]) -> list[tuple[dict[str, Any], bytes]]:
    """Each file's bytes, with its sha256 as read now (a month rebuilt with --force sends
    its new files); `FileNotFoundError` if one is gone."""
    out = []
    for f in files:
        data = Path(f["path"]).read_bytes()
        out.append(({**f, "sha256": hashlib.sha256(data).hexdigest()}, data))
    return out


def _answer(code: int, text: bytes | str) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(said.split())}".strip()


def _refusal(e: Exception) -> tuple[int, str] | None:
    """The SMTP code and answer of a refusal, or None for a connection that broke."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(e.recipients.values()))
        return code, _answer(code, text)
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code, _answer(e.smtp_code, e.smtp_error)
    return None


def send_month(store: Store, month: str, folder: Path, entries: Sequence[Mapping[str, Any]],
               settings: SmtpSettings, *,
               connector: Callable[[SmtpSettings], Any] = connect) -> Delivery:
    """Record this month's messages, then send every message waiting (this month's and
    any earlier month's left to retry).  Refusals and failures are in the result, never
    raised."""
    result = Delivery()
    domain = settings.sender.rpartition("@")[2] or "impact.invalid"
    _made, result.notes = plan_month(store, month, folder, entries, domain)
    deliveries = Deliveries(store)
    waiting = deliveries.to_send()
    result.already = sum(1 for s in deliveries.sends(month) if s.state == SENT)
    if not waiting:
        return result
    try:
        smtp = connector(settings)
    except (smtplib.SMTPException, OSError) as e:
        said = _cannot_connect(result, settings, e, len(waiting))
        for candidate in waiting:        # each message records the try, and waits
            send = deliveries.claim(candidate)
            if send is not None:
                deliveries.finish(send, RETRY, said)
        return result
    try:
        for i, candidate in enumerate(waiting):
            send = deliveries.claim(candidate)
            if send is None:          # another run took it, or sent it
                continue
            if not _send_one(deliveries, smtp, send, settings, result):
                result.retry += len(waiting) - i - 1
                result.notes.append(f"the connection to {settings.host} broke; "
                                    f"{len(waiting) - i - 1} more message(s) will be tried "
                                    f"on the next run")
                break
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return result


def _what(send: Send) -> str:
    audiences = [f.get("audience", send.audience) for f in send.files]
    return f"{send.month}: the {_label(audiences)} of '{send.dataset}' to {send.address}"


def _send_one(deliveries: Deliveries, smtp: Any, send: Send, settings: SmtpSettings,
              result: Delivery) -> bool:
    """Send one claimed message and record the outcome; False if the connection broke."""
    try:
        files = _read(send.files)
    except OSError as e:
        reason = f"cannot read {getattr(e, 'filename', '') or 'a briefing'}: {e.strerror or e}"
        deliveries.finish(send, FAILED, reason)
        result.failed += 1
        result.errors.append(f"{_what(send)} not sent: {reason}; it will not be tried again")
        return True
    try:
        smtp.send_message(_message(send, settings, files), settings.sender, [send.address])
    except smtplib.SMTPException as e:
        refused = _refusal(e)
        if refused is None:
            deliveries.finish(send, RETRY, str(e) or type(e).__name__)
            result.retry += 1
            return False
        code, answer = refused
        if 400 <= code < 500:
            deliveries.finish(send, RETRY, answer)
            result.retry += 1
            result.notes.append(f"{_what(send)}: the server said {answer}; it will be tried "
                                f"again on the next run")
        else:
            deliveries.finish(send, FAILED, answer)
            result.failed += 1
            result.errors.append(f"{_what(send)} was refused for good: {answer}; it will not "
                                 f"be tried again")
        return True
    except OSError as e:        # refused, timed out, TLS: the connection broke
        deliveries.finish(send, RETRY, str(e) or type(e).__name__)
        result.retry += 1
        return False
    code, text = getattr(smtp, "answer", (250, b""))
    deliveries.finish(send, SENT, _answer(code, text), files=[f for f, _ in files])
    result.sent += 1
    return True


def _cannot_connect(result: Delivery, settings: SmtpSettings, e: Exception,
                    waiting: int) -> str:
    """No connection: every message waits for the next run.  A refused login, a
    certificate that does not verify or a server that lacks STARTTLS needs a person
    (exit 1); a server that cannot be reached or answers 4xx is tried again.  What to
    record as each message's answer."""
    refused = _refusal(e)
    where = f"{settings.host}:{settings.port}"
    later = f"{waiting} message(s) will be tried on the next run"
    result.retry += waiting
    if isinstance(e, ssl.SSLCertVerificationError):
        said = f"the certificate of {where} does not verify ({e.verify_message})"
        result.errors.append(f"cannot send: {said}; {later}")
    elif refused is not None and refused[0] >= 500 or isinstance(
            e, smtplib.SMTPNotSupportedError):
        said = (f"the mail server {where} refused the connection's settings "
                f"({refused[1] if refused is not None else e})")
        result.errors.append(f"cannot send: {said}; check {ENV_TLS}, {ENV_USER} and its "
                             f"password; {later}")
    else:
        why = refused[1] if refused is not None else (
            getattr(e, "strerror", None) or str(e) or type(e).__name__)
        said = f"cannot reach the mail server {where} ({why})"
        result.notes.append(f"{said}; {later}")
    return said
