"""API clients of the internal API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class ApiClient(SQLModel, table=True):
    """An OAuth2 client: hashed secret, scopes, optional brand limit."""

    __tablename__ = "api_client"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=200)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    brands: list[str] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
