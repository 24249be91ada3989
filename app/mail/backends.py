"""Mailers: console, file and SMTP backends, and the one the settings choose."""

from __future__ import annotations

import os
import secrets
import smtplib
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app.mail.message import Mail, email_message
from app.settings import Settings


class Mailer(Protocol):
    """Something that sends mail; `send` blocks until the mail is handed on."""

    def send(self, mail: Mail) -> None: ...


class ConsoleMailer:
    """Writes each mail to standard output, for development."""

    def send(self, mail: Mail) -> None:
        sys.stdout.write(f"To: {mail.to}\nSubject: {mail.subject}\n\n{mail.text}\n\n")
        sys.stdout.flush()


@dataclass(frozen=True)
class FileMailer:
    """Writes each mail to its own `<time_ns>-<random>.eml` file in `directory`."""

    directory: Path
    sender: str

    def send(self, mail: Mail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{secrets.token_hex(4)}.eml"
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(email_message(mail, sender=self.sender).as_bytes())
        # Renamed into place so that a reader never sees a half-written file.
        os.replace(temporary, self.directory / name)


@dataclass(frozen=True)
class SmtpMailer:
    """Delivers each mail to an SMTP server, with STARTTLS and login when configured."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = 10.0

    def send(self, mail: Mail) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(email_message(mail, sender=self.sender))


def mailer_from_settings(settings: Settings) -> Mailer:
    """The backend named by `CMR_MAIL_BACKEND`, configured from the other mail settings."""
    if settings.mail_backend == "file":
        return FileMailer(settings.mail_dir, settings.smtp_sender)
    if settings.mail_backend == "smtp":
        password = settings.smtp_password
        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
            starttls=settings.smtp_starttls,
        )
    return ConsoleMailer()
