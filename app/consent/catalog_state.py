"""The catalog's parts as plain, canonically ordered states: from the file, and as stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.consent.catalog_schema import BrandSpec, ChannelSpec, TopicSpec
from app.consent.vocabulary import CHANNELS, DAYS, QuietWindowModel
from app.format import format_instant
from app.models import Brand, CatalogSetting, ChannelSetting, Topic

State = dict[str, Any]

DEFAULT_TIMEZONE = "UTC"


def _windows(windows: list[QuietWindowModel]) -> list[dict[str, str]]:
    ordered = sorted({(w.start, w.end) for w in windows})
    return [{"start": start, "end": end} for start, end in ordered]


def _days(days: Sequence[str]) -> list[str]:
    return [day for day in DAYS if day in days]


def channel_state(spec: ChannelSpec | None) -> State:
    """A channel's settings, canonically ordered (also what ChannelSetting.settings holds)."""
    spec = spec or ChannelSpec()
    return {
        "quiet_hours": _windows(spec.quiet_hours),
        "quiet_days": _days(spec.quiet_days),
        "legal_quiet_hours": _windows(spec.legal_quiet_hours),
        "legal_quiet_days": _days(spec.legal_quiet_days),
    }


def brand_state(spec: BrandSpec) -> State:
    """A brand's audited fields as the file defines them."""
    cap = None if spec.cap is None else spec.cap.model_dump()
    return {
        "key": spec.key,
        "name": spec.name,
        "default_depth": spec.default_depth,
        "cap": cap,
        "retired_at": None,
    }


def topic_state(brand: str, spec: TopicSpec) -> State:
    """A topic's audited fields as the file defines them."""
    return {
        "brand": brand,
        "key": spec.key,
        "name": spec.name,
        "kind": spec.kind,
        "depth": spec.depth,
        "basis": spec.basis,
        "channels": [channel for channel in CHANNELS if channel in spec.channels],
        "notice": spec.notice,
        "notice_version": spec.notice_version,
        "min_notice_version": spec.min_notice_version,
        "consent_valid_days": spec.consent_valid_days,
        "retired_at": None,
    }


def iso(at: datetime | None) -> str | None:
    """An instant as RFC 3339 UTC, or None."""
    return None if at is None else format_instant(at)


def brand_row_state(row: Brand) -> State:
    """A stored brand's audited fields."""
    cap = None
    if row.cap_count is not None and row.cap_period_days is not None:
        cap = {"count": row.cap_count, "period_days": row.cap_period_days}
    return {
        "key": row.key,
        "name": row.name,
        "default_depth": row.default_depth,
        "cap": cap,
        "retired_at": iso(row.retired_at),
    }


def topic_row_state(row: Topic) -> State:
    """A stored topic's audited fields."""
    return {
        "brand": row.brand_key,
        "key": row.key,
        "name": row.name,
        "kind": row.kind,
        "depth": row.depth,
        "basis": row.basis,
        "channels": [channel for channel in CHANNELS if channel in row.channels],
        "notice": row.notice,
        "notice_version": row.notice_version,
        "min_notice_version": row.min_notice_version,
        "consent_valid_days": row.consent_valid_days,
        "retired_at": iso(row.retired_at),
    }


# --- the current catalog ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """The catalog as stored, as ORM rows (apply mutates them), keyed for the diff."""

    setting: CatalogSetting | None
    channels: Mapping[str, ChannelSetting]
    brands: Mapping[str, Brand]
    topics: Mapping[tuple[str, str], Topic]


def load_stored(session: Session) -> Stored:
    """Every catalog row, retired ones included."""
    return Stored(
        setting=session.get(CatalogSetting, 1),
        channels={row.channel: row for row in session.scalars(select(ChannelSetting))},
        brands={row.key: row for row in session.scalars(select(Brand))},
        topics={(row.brand_key, row.key): row for row in session.scalars(select(Topic))},
    )
