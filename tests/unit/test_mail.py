"""The mail backends: console, file, and SMTP against a real local server."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from app.mail import (
    ConsoleMailer,
    FileMailer,
    Mail,
    SmtpMailer,
    mailer_from_settings,
)
from app.settings import Settings

GERMAN = Mail(
    to="Jürgen Müller <juergen@example.org>",
    subject="Ihr Anmeldelink für Größe & Maß",
    text="Grüß Gott!\n\nÖffnen Sie https://cmr.example.test/signin?token=abc=def&x=1\n",
)


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def read_mail_dir(directory: Path) -> list[EmailMessage]:
    """The `.eml` files in `directory`, oldest first."""
    return [parse(path.read_bytes()) for path in sorted(directory.glob("*.eml"))]


def assert_is_german_mail(message: EmailMessage, *, sender: str) -> None:
    assert message["From"] == sender
    assert message["To"] == GERMAN.to
    assert message["Subject"] == GERMAN.subject
    assert message["Date"].datetime.utcoffset() is not None
    assert message["Message-ID"].startswith("<")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == GERMAN.text


def test_file_mailer_writes_one_parseable_eml_per_mail(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path / "mail", "cmr@example.test")
    mailer.send(GERMAN)
    mailer.send(Mail(to="b@example.org", subject="Zweite", text="zwei\n"))

    files = sorted((tmp_path / "mail").iterdir())
    assert [path.suffix for path in files] == [".eml", ".eml"]
    first, second = read_mail_dir(tmp_path / "mail")
    assert_is_german_mail(first, sender="cmr@example.test")
    assert second["Subject"] == "Zweite"
    assert first["Message-ID"] != second["Message-ID"]
    assert first.as_bytes().isascii()


def test_console_mailer_writes_the_text_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleMailer().send(GERMAN)

    out = capsys.readouterr().out
    assert GERMAN.to in out
    assert GERMAN.subject in out
    assert GERMAN.text in out


class Recorder:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def authenticate(
    _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, auth_data: Any
) -> AuthResult:
    expected = LoginPassword(login=b"mailer", password=b"s3cret")
    return AuthResult(success=auth_data == expected, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Recorder]]:
    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield controller, recorder
    controller.stop()


@pytest.mark.parametrize(("username", "password"), [(None, None), ("mailer", "s3cret")])
def test_smtp_mailer_delivers_to_a_real_server(
    smtp_server: tuple[Controller, Recorder], username: str | None, password: str | None
) -> None:
    controller, recorder = smtp_server
    mailer = SmtpMailer(
        host="127.0.0.1",
        port=controller.port,
        sender="cmr@example.test",
        username=username,
        password=password,
        timeout=5,
    )

    mailer.send(GERMAN)

    (envelope,) = recorder.envelopes
    assert envelope.mail_from == "cmr@example.test"
    assert envelope.rcpt_tos == ["juergen@example.org"]
    assert isinstance(envelope.content, bytes)
    assert_is_german_mail(parse(envelope.content), sender="cmr@example.test")


def test_smtp_mailer_refused_login_raises(smtp_server: tuple[Controller, Recorder]) -> None:
    controller, recorder = smtp_server
    mailer = SmtpMailer("127.0.0.1", controller.port, "cmr@example.test", "mailer", "wrong")

    with pytest.raises(smtplib.SMTPAuthenticationError):
        mailer.send(GERMAN)
    assert recorder.envelopes == []


def mail_settings(**mail: Any) -> Settings:
    return Settings(database_url="sqlite:///x.db", secret_key="x" * 40, **mail)


def test_mailer_from_settings_picks_the_configured_backend(tmp_path: Path) -> None:
    assert isinstance(mailer_from_settings(mail_settings(mail_backend="console")), ConsoleMailer)
    assert mailer_from_settings(
        mail_settings(mail_backend="file", mail_dir=tmp_path, smtp_sender="noreply@example.test")
    ) == FileMailer(tmp_path, "noreply@example.test")
    assert mailer_from_settings(
        mail_settings(
            mail_backend="smtp",
            smtp_host="mail.example.test",
            smtp_port=587,
            smtp_username="mailer",
            smtp_password="pw",
            smtp_starttls=True,
            smtp_sender="noreply@example.test",
        )
    ) == SmtpMailer(
        host="mail.example.test",
        port=587,
        sender="noreply@example.test",
        username="mailer",
        password="pw",
        starttls=True,
    )


def test_smtp_mailer_keeps_its_password_out_of_repr() -> None:
    assert "pw" not in repr(SmtpMailer("h", 25, "s@example.test", "u", "pw"))
