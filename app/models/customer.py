"""Customers, their preferences document, audit keys and erasure tombstones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, LargeBinary, String
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class Customer(SQLModel, table=True):
    """A customer's identity and addresses; emptied, not deleted, on erasure."""

    id: str = Field(primary_key=True, max_length=40)
    external_id: str | None = Field(default=None, unique=True, max_length=200)
    email: str | None = Field(default=None, unique=True, max_length=320)
    phone: str | None = Field(default=None, index=True, max_length=20)
    push_tokens: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    postal_address: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    timezone: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Preference(SQLModel, table=True):
    """The customer's preferences document (SPEC section 3) without its `customer` block."""

    customer_id: str = Field(
        sa_column=Column(String(40), ForeignKey("customer.id"), primary_key=True)
    )
    document: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CustomerKey(SQLModel, table=True):
    """The key that seals a customer's personal data in audit events; deleted on erasure."""

    __tablename__ = "customer_key"

    customer_id: str = Field(primary_key=True, max_length=40)
    key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Tombstone(SQLModel, table=True):
    """A keyed hash of an erased customer's identifier."""

    hash: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
