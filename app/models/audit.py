"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, Text
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(SQLModel, table=True):
    """One change: who, what (before, after), when, through what, why, with what evidence.

    Stored texts are canonical JSON; `hash` is the SHA-256 of the stored content and `prev_hash`.
    Personal data lives only in `sealed`, encrypted with the customer's key.
    """

    __tablename__ = "audit_event"

    __table_args__ = (
        Index("ix_audit_event_customer_id_id", "customer_id", "id"),
        Index("ix_audit_event_action_id", "action", "id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(EVENT_ID, primary_key=True, autoincrement=True)
    )
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_type: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=200)
    source: str = Field(max_length=32)
    action: str = Field(max_length=64)
    customer_id: str | None = Field(default=None, max_length=40)
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    evidence: str | None = Field(default=None, sa_column=Column(Text))
    sealed: str | None = Field(default=None, sa_column=Column(Text))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's last event; locked while an event is appended, so appends are serial."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_id: int = Field(default=0, sa_column=Column(EVENT_ID, nullable=False))
    last_hash: str = Field(default="0" * 64, max_length=64)
