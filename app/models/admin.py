"""Accounts of the admin console: auditors, support staff and admins."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class Admin(SQLModel, table=True):
    """A console account: local (with a password hash) or signed in through OpenID Connect."""

    id: str = Field(primary_key=True, max_length=40)
    email: str = Field(unique=True, max_length=320)
    role: str = Field(max_length=16)  # auditor, support or admin
    password_hash: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
