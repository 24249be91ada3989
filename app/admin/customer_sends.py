"""A customer's sends for the console: the newest ones, in words and as columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.consent.vocabulary import CHANNELS
from app.format import format_instant
from app.models import Send
from app.plain.events import describe_send
from app.plain.names import Names
from app.plain.words import channel_name, moment_phrase

SENDS_SHOWN = 100


@dataclass(frozen=True)
class SendRow:
    """One send, newest first."""

    at: str
    when: str
    sentence: str
    brand: str
    topic: str
    channel: str
    status: str
    message_id: str


def send_rows(
    session: Session, names: Names, customer_id: str, *, zone: tzinfo
) -> tuple[list[SendRow], int]:
    """The customer's newest `SENDS_SHOWN` sends, newest first, and how many there are."""
    total = session.scalar(select(func.count()).where(col(Send.customer_id) == customer_id)) or 0
    statement = (
        select(Send)
        .where(col(Send.customer_id) == customer_id)
        .order_by(col(Send.send_at).desc(), col(Send.id).desc())
        .limit(SENDS_SHOWN)
    )
    rows = [
        SendRow(
            at=format_instant(send.send_at),
            when=moment_phrase(send.send_at, zone),
            sentence=describe_send(
                brand=send.brand,
                topic=send.topic,
                channel=send.channel,
                status=send.status,
                names=names,
            ),
            brand=names.brand(send.brand),
            topic=names.topic(send.brand, send.topic),
            channel=channel_name(send.channel) if send.channel in CHANNELS else send.channel,
            status=send.status,
            message_id=send.message_id,
        )
        for send in session.scalars(statement)
    ]
    return rows, int(total)
