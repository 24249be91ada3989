"""Signed-in sessions of the portal and the console, and single-use sign-in links."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class WebSession(SQLModel, table=True):
    """A browser session; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # "customer" or "admin"
    subject_id: str = Field(index=True, max_length=40)
    limited: bool = False  # opened by a preference link, not by signing in
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SignInLink(SQLModel, table=True):
    """A magic link sent by e-mail: single use, short-lived, stored hashed."""

    __tablename__ = "sign_in_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(index=True, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
