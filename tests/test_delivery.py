"""Monthly reports delivered by e-mail (issue 28, part 3), against a real SMTP server.

The server is aiosmtpd, started on a free loopback port by the `smtp` fixture; its
STARTTLS certificate is a throwaway one made here with the `cryptography` package
(trusted by the client through $SSL_CERT_FILE, as a private CA would be).  Tests wait
on the server's list of received messages with a condition, never a sleep.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from reports.services import delivery, users
from reports.services.delivery import SmtpSettings, send_month
from reports.store.accounts import Accounts
from reports.store.db import Store
from reports.store.delivery import FAILED, RETRY, SENT, Deliveries
from web.app import create_app

from . import store_helpers as helpers
from .portal_helpers import csrf, log_in
from .store_helpers import DATASET, invoke

derbyshire_v1 = helpers.derbyshire_v1
fresh_store = helpers.fresh_store
isolated_store_env = helpers.isolated_store_env
backend = helpers.backend          # the "never twice" run on SQLite and PostgreSQL

FROM = "impact@branch.example.org"
USER, PASSWORD = "branch-secretary", "a long smtp password"
# the rule, written out here: who gets which briefings
RULE = {"management": {"management"}, "union": {"union", "public"}, "public": {"public"}}


# --------------------------------------------------------------------------
# the server


@dataclass
class Received:
    message: email.message.EmailMessage
    rcpt: list[str]
    tls: bool
    login: str | None


@dataclass
class Inbox:
    """aiosmtpd's handler: every message it accepted, and the answers to give RCPT
    before accepting (e.g. "451 ..." once for a temporary failure)."""

    messages: list[Received] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data,
                                                               LoginPassword) else None
        tls = server.transport.get_extra_info("ssl_object") is not None
        with self.cond:
            self.messages.append(Received(msg, list(envelope.rcpt_tos),  # type: ignore[arg-type]
                                          tls, login))
            n = len(self.messages)
            self.cond.notify_all()
        return f"250 2.0.0 Ok: queued as Q{n:04d}"

    def wait_for(self, n: int) -> list[Received]:
        """At least `n` messages (the bound only keeps a broken run from hanging)."""
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.messages) >= n, timeout=120), \
                f"{len(self.messages)} message(s) arrived, not {n}"
            return list(self.messages)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 and localhost, made with the
    `cryptography` package: (certificate, key) as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "impact test SMTP server")])
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


Server = Callable[..., tuple[Inbox, int]]


@pytest.fixture
def smtp(certificate: tuple[Path, Path]) -> Iterator[Server]:
    """Start an aiosmtpd server on a free loopback port: `smtp()` plain, `smtp(tls=True)`
    with STARTTLS required, `smtp(tls=True, auth=True)` also requiring a login,
    `smtp(implicit=True)` TLS from the first byte."""
    started: list[Controller] = []

    def start(*, tls: bool = False, auth: bool = False,
              implicit: bool = False) -> tuple[Inbox, int]:
        inbox = Inbox()
        kwargs: dict[str, Any] = {}
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        if tls:
            kwargs.update(tls_context=context, require_starttls=True)
        if implicit:             # TLS from the first byte (IMPACT_SMTP_TLS=ssl)
            kwargs.update(ssl_context=context, server_hostname="127.0.0.1")
        if auth:
            def check(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and \
                    (data.login, data.password) == (USER.encode(), PASSWORD.encode())
                return AuthResult(success=ok, handled=False, auth_data=data)
            kwargs.update(authenticator=check, auth_required=True)
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


def env_for(port: int, tls: str = "none", **more: str) -> dict[str, str]:
    return {"IMPACT_SMTP_HOST": "127.0.0.1", "IMPACT_SMTP_PORT": str(port),
            "IMPACT_SMTP_TLS": tls, "IMPACT_SMTP_FROM": FROM, **more}


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name in ("IMPACT_SMTP_USER", "IMPACT_SMTP_PASSWORD", "IMPACT_SMTP_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def attachments(msg: email.message.EmailMessage) -> dict[str, str]:
    """Attachment file name -> sha256 of its bytes."""
    return {part.get_filename() or "": hashlib.sha256(part.get_content()).hexdigest()
            for part in msg.iter_attachments()}


# --------------------------------------------------------------------------
# a store with one dataset and a month folder of stand-in briefings (fast)


@dataclass
class Month:
    store: Path
    folder: Path
    entries: list[dict[str, Any]]
    name: str = "Early help"


@pytest.fixture
def month(tmp_path: Path, valid_xlsx: Path) -> Month:
    root = tmp_path / "store"
    assert invoke("upload", valid_xlsx, "--dataset", "Early help", "--store", root,
                  "--as-of", "2024-04-01").exit_code == 0
    with Store(root) as store:
        slug = store.slug("Early help")
    folder = tmp_path / "out" / "2024-04"
    files = []
    for rel in (f"{slug}/briefing-union.pdf", f"{slug}/briefing-management.pdf",
                f"{slug}/public/briefing.pdf", f"{slug}/summary.xlsx"):
        data = f"%PDF stand-in for {rel}".encode()
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
        files.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest()})
    return Month(root, folder, [{"dataset": "Early help", "slug": slug, "status": "ok",
                                 "files": files}])


def add(m: Month, audience: str, to: str) -> None:
    result = invoke("deliver", "add", m.name, "--audience", audience, "--to", to,
                    "--store", m.store)
    assert result.exit_code == 0, result.output


def send(m: Month, port: int, tls: str = "none", **more: str) -> delivery.Delivery:
    env = env_for(port, tls, **more)
    with Store(m.store) as store:
        return send_month(store, "2024-04", m.folder, m.entries, SmtpSettings.from_env(env))


def recorded(m: Month) -> list[Any]:
    with Store(m.store) as store:
        return sorted(Deliveries(store).sends(), key=lambda s: s.id)


# --------------------------------------------------------------------------
# the audience rule


@pytest.mark.parametrize("audience", sorted(RULE))
def test_a_recipient_gets_only_their_audiences_briefings(month: Month, smtp: Server,
                                                         audience: str) -> None:
    inbox, port = smtp()
    add(month, audience, "reader@example.org")
    done = send(month, port)
    assert (done.sent, done.errors) == (1, [])
    got = inbox.wait_for(1)[0]
    slug = month.entries[0]["slug"]
    on_disk = {"union": month.folder / slug / "briefing-union.pdf",
               "management": month.folder / slug / "briefing-management.pdf",
               "public": month.folder / slug / "public" / "briefing.pdf"}
    want = {f"{slug}-2024-04-{a}.pdf": hashlib.sha256(on_disk[a].read_bytes()).hexdigest()
            for a in RULE[audience]}
    assert attachments(got.message) == want
    assert got.rcpt == ["reader@example.org"] and not got.tls     # IMPACT_SMTP_TLS=none


def test_the_rule_as_the_service_states_it() -> None:
    assert {a: set(delivery.receives(a)) for a in RULE} == RULE
    entry = {"slug": "s", "files": [{"path": "s/briefing-management.pdf", "sha256": "m"},
                                    {"path": "s/summary.xlsx", "sha256": "x"}]}
    # a union recipient of a month without union or public briefings gets nothing
    assert delivery.briefing_paths(entry, "union") == []
    assert delivery.briefing_paths(entry, "management") == [
        ("management", "s/briefing-management.pdf", "m")]


def test_a_list_with_nothing_to_send_is_noted(month: Month, smtp: Server) -> None:
    inbox, port = smtp()
    add(month, "union", "branch@example.org")
    slug = month.entries[0]["slug"]
    month.entries[0]["files"] = [f for f in month.entries[0]["files"]
                                 if f["path"] == f"{slug}/briefing-management.pdf"]
    done = send(month, port)
    assert done.sent == 0 and inbox.messages == [] and recorded(month) == []
    assert any("union list of 'Early help'" in n for n in done.notes)


# --------------------------------------------------------------------------
# the server: TLS, login, failures


def test_starttls_with_a_throwaway_certificate(month: Month, smtp: Server, certificate: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp(tls=True)
    add(month, "management", "hr@example.org")
    # not trusted yet: nothing is sent, the run fails, the message waits
    monkeypatch.setenv("SSL_CERT_FILE", str(month.folder / "no-such-ca.pem"))
    done = send(month, port, "starttls")
    assert done.sent == 0 and not done.ok and "does not verify" in done.errors[0]
    [waiting] = recorded(month)
    assert (waiting.state, waiting.attempts) == (RETRY, 1)
    assert "does not verify" in (waiting.answer or "")
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    done = send(month, port, "starttls")
    assert (done.sent, done.errors) == (1, [])
    got = inbox.wait_for(1)
    assert len(got) == 1 and got[0].tls


def test_tls_from_the_first_byte(month: Month, smtp: Server, certificate: Any,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp(implicit=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    add(month, "public", "press@example.org")
    done = send(month, port, "ssl")
    assert (done.sent, done.errors) == (1, [])
    assert inbox.wait_for(1)[0].tls


def test_authentication(month: Month, smtp: Server, certificate: Any, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp(tls=True, auth=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    add(month, "union", "branch@example.org")
    secret = tmp_path / "smtp-password"
    secret.write_text("the wrong one\n")
    done = send(month, port, "starttls", IMPACT_SMTP_USER=USER,
                IMPACT_SMTP_PASSWORD_FILE=str(secret))
    assert not done.ok and "535" in done.errors[0] and inbox.messages == []
    [waiting] = recorded(month)                                    # kept for the next run
    assert waiting.state == RETRY and "535" in (waiting.answer or "")
    secret.write_text(PASSWORD + "\n")                             # the file's line, no \n
    done = send(month, port, "starttls", IMPACT_SMTP_USER=USER,
                IMPACT_SMTP_PASSWORD_FILE=str(secret))
    assert (done.sent, done.errors) == (1, [])
    got = inbox.wait_for(1)
    assert (got[0].login, got[0].tls) == (USER, True)


def test_a_temporary_failure_then_success(month: Month, smtp: Server) -> None:
    inbox, port = smtp()
    inbox.refuse.append("451 4.3.0 Mailbox busy, try again later")
    add(month, "union", "branch@example.org")
    first = send(month, port)
    assert (first.sent, first.retry, first.ok) == (0, 1, True)
    assert "451 4.3.0 Mailbox busy" in first.notes[0]
    [waiting] = recorded(month)
    assert (waiting.state, waiting.attempts) == (RETRY, 1)
    assert waiting.answer == "451 4.3.0 Mailbox busy, try again later"
    second = send(month, port)
    assert (second.sent, second.retry) == (1, 0)
    got = inbox.wait_for(1)
    assert len(got) == 1
    [done] = recorded(month)
    # the same message, by the Message-ID recorded before the first try
    assert got[0].message["Message-ID"] == waiting.message_id == done.message_id
    assert (done.state, done.attempts) == (SENT, 2)
    assert done.answer == "250 2.0.0 Ok: queued as Q0001"


def test_a_server_that_cannot_be_reached_is_tried_again(month: Month, smtp: Server) -> None:
    add(month, "public", "public@example.org")
    closed = free_port()                       # nothing listens there
    first = send(month, closed)
    assert (first.sent, first.retry, first.ok) == (0, 1, True)
    assert "cannot reach the mail server" in first.notes[0]
    [waiting] = recorded(month)
    assert waiting.state == RETRY and "cannot reach the mail server" in (waiting.answer or "")
    inbox, port = smtp()
    assert send(month, port).sent == 1
    assert len(inbox.wait_for(1)) == 1


def test_a_permanent_failure_is_one_line_and_exit_1(month: Month, smtp: Server,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp()
    inbox.refuse.append("550 5.1.1 No such user here")
    add(month, "union", "gone@example.org")
    add(month, "management", "hr@example.org")
    done = send(month, port)
    assert (done.sent, done.failed) == (1, 1)
    assert len(done.errors) == 1 and "550 5.1.1 No such user here" in done.errors[0]
    states = {s.address: s.state for s in recorded(month)}
    assert states == {"gone@example.org": FAILED, "hr@example.org": SENT} or \
        states == {"gone@example.org": SENT, "hr@example.org": FAILED}
    refused = next(a for a, s in states.items() if s == FAILED)
    # never tried again
    again = send(month, port)
    assert (again.sent, again.failed, again.errors) == (0, 0, [])
    assert len(inbox.wait_for(1)) == 1 and inbox.messages[0].rcpt != [refused]


def test_monthly_send_exits_1_on_a_permanent_failure(smtp: Server, fresh_store: Path,
                                                     valid_xlsx: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp()
    inbox.refuse.append("550 5.1.1 No such user here")
    set_env(monkeypatch, env_for(port))
    assert invoke("upload", valid_xlsx, "--dataset", "tiny", "--store", fresh_store,
                  "--as-of", "2024-04-01").exit_code == 0
    assert invoke("deliver", "add", "tiny", "--audience", "management", "--to",
                  "gone@example.org", "--store", fresh_store).exit_code == 0
    result = invoke("monthly", "--month", "2024-04", "--out", tmp_path / "out", "--audience",
                    "management", "--store", fresh_store, "--send")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "gone@example.org" in errors[0] and "550" in errors[0]


# --------------------------------------------------------------------------
# impact monthly --send, run twice: each message once


def test_monthly_send_twice_sends_each_message_once(
        smtp: Server, fresh_store: Path, derbyshire_v1: Path, tmp_path: Path, backend: str,
        request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, port = smtp()
    set_env(monkeypatch, env_for(port))
    out = tmp_path / "out"
    assert invoke("upload", derbyshire_v1, "--dataset", DATASET, "--store", fresh_store,
                  "--as-of", "2024-04-01").exit_code == 0
    lists = {"management": "hr@example.org", "union": "branch@example.org",
             "public": "press@example.org"}
    for audience, to in lists.items():
        result = invoke("deliver", "add", DATASET, "--audience", audience, "--to", to,
                        "--store", fresh_store)
        assert result.exit_code == 0, result.output
    args = ("monthly", "--month", "2024-04", "--out", out, "--store", fresh_store,
            "--audience", "union", "--audience", "management", "--audience", "public",
            "--send")
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert "Delivery: 3 message(s) sent" in first.stdout
    got = inbox.wait_for(3)
    second = invoke(*args)
    assert second.exit_code == 0, second.output
    assert "Delivery: 0 message(s) sent, 3 sent before" in second.stdout
    assert len(inbox.messages) == 3                 # nothing more arrived
    # each recipient once, with their audience's files as the month wrote them
    manifest = json.loads((out / "2024-04" / "manifest.json").read_text())
    [entry] = manifest["datasets"]
    slug = entry["slug"]
    sha = {f["path"]: f["sha256"] for f in entry["files"]}
    where = {"union": f"{slug}/briefing-union.pdf",
             "management": f"{slug}/briefing-management.pdf",
             "public": f"{slug}/public/briefing.pdf"}
    by_address = {r.rcpt[0]: r for r in got}
    assert sorted(by_address) == sorted(lists.values())
    for audience, to in lists.items():
        assert attachments(by_address[to].message) == {
            f"{slug}-2024-04-{a}.pdf": sha[where[a]] for a in RULE[audience]}, audience
        assert by_address[to].message["From"] == FROM
    # what was recorded: who, what, when, the server's answer, the Message-ID sent
    log = json.loads(invoke("deliver", "sent", "--month", "2024-04", "--format", "json",
                            "--store", fresh_store).stdout)
    assert sorted((i["to"], i["state"], i["attempts"]) for i in log) == sorted(
        (to, "sent", 1) for to in lists.values())
    for item in log:
        assert item["message_id"] == by_address[item["to"]].message["Message-ID"]
        assert item["answer"].startswith("250 2.0.0 Ok: queued as Q")
        assert item["sent_at"] and item["dataset"] == DATASET
    assert len({i["message_id"] for i in log}) == 3
    # a backup restored as a new store carries the lists and the record of what was sent
    # (on PostgreSQL too, whose tables a backup copies one by one, into a new database)
    backup, target = tmp_path / "backup", tmp_path / "restored"
    assert invoke("store", "backup", backup, "--store", fresh_store).exit_code == 0
    if backend == "postgresql":
        monkeypatch.setenv("IMPACT_DB", request.getfixturevalue("pg_server").new_database()[1])
    restored = invoke("store", "restore", backup, "--store", target)
    assert restored.exit_code == 0, restored.output
    # (a restored store has an id of its own, so its months go to another folder: the
    # month is written again there, and still each message was sent once)
    swap = {fresh_store: target, out: tmp_path / "out-restored"}
    third = invoke(*[swap.get(a, a) if isinstance(a, Path) else a for a in args])
    assert third.exit_code == 0, third.output
    assert "Delivery: 0 message(s) sent, 3 sent before" in third.stdout
    assert len(inbox.messages) == 3


def test_two_runs_never_claim_one_message(month: Month) -> None:
    with Store(month.store) as store:
        deliveries = Deliveries(store)
        assert deliveries.plan("2024-04", month.name, "union", "a@example.org", [], "<1@x>")
        assert not deliveries.plan("2024-04", month.name, "union", "a@example.org", [],
                                   "<2@x>")                 # recorded once, with its first id
        [waiting] = deliveries.to_send()
        assert waiting.message_id == "<1@x>"
        assert deliveries.claim(waiting) is not None
        assert deliveries.claim(waiting) is None            # the other run
        assert deliveries.to_send() == []


# --------------------------------------------------------------------------
# settings, the list, the portal


def test_smtp_settings_come_from_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from the file\n")
    got = SmtpSettings.from_env({"IMPACT_SMTP_HOST": "mail.example.org",
                                 "IMPACT_SMTP_FROM": FROM, "IMPACT_SMTP_USER": "u",
                                 "IMPACT_SMTP_PASSWORD_FILE": str(secret),
                                 "IMPACT_SMTP_PASSWORD": "not this one"})
    assert (got.host, got.port, got.tls, got.user, got.password) == (
        "mail.example.org", 587, "starttls", "u", "from the file")
    assert "from the file" not in repr(got)
    assert SmtpSettings.from_env({"IMPACT_SMTP_HOST": "h", "IMPACT_SMTP_FROM": FROM,
                                  "IMPACT_SMTP_TLS": "ssl"}).port == 465
    for bad, says in (({}, "IMPACT_SMTP_HOST"),
                      ({"IMPACT_SMTP_HOST": "h"}, "IMPACT_SMTP_FROM"),
                      ({"IMPACT_SMTP_HOST": "h", "IMPACT_SMTP_FROM": FROM,
                        "IMPACT_SMTP_TLS": "tls1.3"}, "starttls, ssl or none"),
                      ({"IMPACT_SMTP_HOST": "h", "IMPACT_SMTP_FROM": FROM,
                        "IMPACT_SMTP_USER": "u"}, "no password")):
        with pytest.raises(delivery.MailProblem, match=says):
            SmtpSettings.from_env(bad)


def test_monthly_send_without_a_server_is_one_line(fresh_store: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {})
    monkeypatch.delenv("IMPACT_SMTP_HOST", raising=False)
    result = invoke("monthly", "--month", "2024-04", "--out", tmp_path / "out", "--store",
                    fresh_store, "--send", "--create")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --send needs the mail server: set IMPACT_SMTP_HOST")
    assert not (tmp_path / "out").exists()       # checked before the month is built


def test_no_password_option_anywhere() -> None:
    for args in (["monthly", "--help"], ["deliver", "add", "--help"]):
        assert "password" not in invoke(*args).stdout.lower()


def test_deliver_add_list_remove(month: Month) -> None:
    add(month, "union", "Branch@Example.ORG")
    again = invoke("deliver", "add", month.name, "--audience", "union", "--to",
                   "Branch@example.org", "--store", month.store)
    assert again.exit_code == 0 and "Already there" in again.stdout
    listed = json.loads(invoke("deliver", "list", "--format", "json", "--store",
                               month.store).stdout)
    assert [(i["dataset"], i["audience"], i["to"], i["receives"]) for i in listed] == [
        (month.name, "union", "Branch@example.org", ["union", "public"])]
    assert invoke("deliver", "list", month.name, "--store", month.store).stdout == \
        f"{month.name}\tunion\tBranch@example.org\n"
    bad = invoke("deliver", "add", month.name, "--audience", "union", "--to", "not an address",
                 "--store", month.store)
    assert bad.exit_code == 2 and "is not an e-mail address" in bad.stderr
    unknown = invoke("deliver", "add", "No such", "--audience", "union", "--to",
                     "a@example.org", "--store", month.store)
    assert unknown.exit_code == 1 and "no dataset named 'No such'" in unknown.stderr
    gone = invoke("deliver", "remove", month.name, "--audience", "union", "--to",
                  "Branch@example.org", "--store", month.store)
    assert gone.exit_code == 0, gone.output
    missing = invoke("deliver", "remove", month.name, "--audience", "union", "--to",
                     "Branch@example.org", "--store", month.store)
    assert missing.exit_code == 1
    with Store(month.store) as store:
        actions = [e.action for e in Accounts(store).audit(None)]
    assert sorted(actions) == ["delivery-add", "delivery-remove"]


def test_the_portal_delivery_page(month: Month) -> None:
    with Store(month.store) as store:
        accounts = Accounts(store)
        for role in ("hr", "admin"):
            users.add_user(accounts, role, role, "correct horse battery staple", by="setup")
    app = create_app(month.store)
    hr = app.test_client()
    log_in(hr, "hr", "correct horse battery staple")
    assert hr.get("/delivery").status_code == 403
    admin = app.test_client()
    log_in(admin, "admin", "correct horse battery staple")
    page = admin.get("/delivery")
    assert page.status_code == 200
    token = csrf(page.get_data(as_text=True))
    form = {"dataset": month.name, "audience": "public", "address": "press@example.org"}
    assert admin.post("/delivery", data=form).status_code == 400          # no CSRF token
    hr_token = csrf(hr.get("/datasets").get_data(as_text=True))
    assert hr.post("/delivery", data={**form, "csrf_token": hr_token}).status_code == 403
    r = admin.post("/delivery", data={**form, "csrf_token": token})
    assert r.status_code == 302
    bad = admin.post("/delivery", data={**form, "address": "nope", "csrf_token": token})
    assert bad.status_code == 400 and "is not an e-mail address" in bad.get_data(as_text=True)
    with Store(month.store) as store:
        [entry] = Deliveries(store).entries()
    assert (entry.dataset, entry.audience, entry.address, entry.added_by) == (
        month.name, "public", "press@example.org", "admin")
    assert "press@example.org" in admin.get("/delivery").get_data(as_text=True)
    r = admin.post(f"/delivery/{entry.id}/remove", data={"csrf_token": token})
    assert r.status_code == 302
    with Store(month.store) as store:
        assert Deliveries(store).entries() == []
        log = [(e.who, e.action) for e in Accounts(store).audit(None)]
    assert ("admin", "delivery-add") in log and ("admin", "delivery-remove") in log
