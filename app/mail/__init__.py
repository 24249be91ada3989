"""Outgoing mail: `Mail`, the `Mailer` backends and `mailer_from_settings`."""

from app.mail.backends import (
    ConsoleMailer,
    FileMailer,
    Mailer,
    SmtpMailer,
    mailer_from_settings,
)
from app.mail.message import Mail, email_message

__all__ = [
    "ConsoleMailer",
    "FileMailer",
    "Mail",
    "Mailer",
    "SmtpMailer",
    "email_message",
    "mailer_from_settings",
]
