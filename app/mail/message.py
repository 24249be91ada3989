"""The mail the service sends, and its RFC 5322 form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


@dataclass(frozen=True)
class Mail:
    """One plain-text mail to one recipient."""

    to: str
    subject: str
    text: str


def email_message(mail: Mail, *, sender: str) -> EmailMessage:
    """The mail as a text/plain UTF-8 message with From, To, Subject, Date and Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    # The sender's domain, not make_msgid's default: that asks DNS for this host's name.
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    # Quoted-printable keeps the body 7-bit, which every relay accepts, and still legible.
    message.set_content(mail.text, charset="utf-8", cte="quoted-printable")
    return message
