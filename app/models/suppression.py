"""Suppressions of a (channel, address), kept as keyed hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class Suppression(SQLModel, table=True):
    """A (channel, address) that must not be used, for all brands or one, until lifted."""

    # Every lookup names the hash, which covers the channel too.
    __table_args__ = (Index("ix_suppression_address_hash", "address_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    address_hash: str = Field(max_length=64)
    brand: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=16)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
