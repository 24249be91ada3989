"""The catalog: brands, topics, channel settings, default time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class Brand(SQLModel, table=True):
    """A sender a customer can have a relationship with."""

    key: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    default_depth: str = Field(max_length=16)
    cap_count: int | None = None
    cap_period_days: int | None = None
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Topic(SQLModel, table=True):
    """What a brand's message is about."""

    brand_key: str = Field(primary_key=True, foreign_key="brand.key", max_length=64)
    key: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    depth: str | None = Field(default=None, max_length=16)
    basis: str | None = Field(default=None, max_length=16)
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notice: str | None = None
    notice_version: int = 1
    notice_versions: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    min_notice_version: int = 1
    consent_valid_days: int | None = None
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChannelSetting(SQLModel, table=True):
    """Default and legal quiet hours and days of one channel."""

    __tablename__ = "channel_setting"

    channel: str = Field(primary_key=True, max_length=16)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CatalogSetting(SQLModel, table=True):
    """Catalog-wide settings (one row)."""

    __tablename__ = "catalog_setting"

    id: int = Field(default=1, primary_key=True)
    default_timezone: str = Field(default="UTC", max_length=64)
    revision: int = 0  # raised by every catalog change, so cached catalogs know they are stale
