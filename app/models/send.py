"""Sends: reserved through a decision or recorded after the fact."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow

RESERVED = "reserved"
SENT = "sent"
RELEASED = "released"
CANCELLED = "cancelled"
COUNTING = (RESERVED, SENT)


class Send(SQLModel, table=True):
    """A message to a customer; `reserved` and `sent` ones count against caps."""

    __table_args__ = (
        UniqueConstraint("client_id", "message_id"),
        Index("ix_send_customer_id_send_at", "customer_id", "send_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=40)
    message_id: str = Field(max_length=128)
    customer_id: str = Field(foreign_key="customer.id", max_length=40)
    brand: str = Field(max_length=64)
    topic: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    marketing: bool
    send_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
