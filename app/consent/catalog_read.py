"""Reading the catalog: engine facts (cached per revision), the API view, notice versions."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Collection, Sequence
from types import MappingProxyType
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.consent.catalog_schema import ChannelSpec
from app.consent.catalog_state import DEFAULT_TIMEZONE, channel_state
from app.consent.engine.types import (
    Basis,
    BrandFacts,
    Cap,
    CatalogFacts,
    ChannelDefaults,
    Depth,
    Kind,
    Quiet,
    TopicFacts,
)
from app.consent.vocabulary import CHANNELS, DAY_NUMBERS
from app.models import Brand, CatalogSetting, ChannelSetting, Topic


def _quiet(hours: Sequence[Any], days: Sequence[str]) -> Quiet:
    return Quiet(
        hours=tuple(window.to_window() for window in hours),
        days=frozenset(DAY_NUMBERS[day] for day in days),
    )


def _channel_defaults(settings: dict[str, Any]) -> ChannelDefaults:
    spec = ChannelSpec.model_validate(settings)
    return ChannelDefaults(
        quiet=_quiet(spec.quiet_hours, spec.quiet_days),
        legal=_quiet(spec.legal_quiet_hours, spec.legal_quiet_days),
    )


def _zone_name(session: Session | Connection) -> str:
    name = session.scalar(
        select(col(CatalogSetting.default_timezone)).where(col(CatalogSetting.id) == 1)
    )
    return name or DEFAULT_TIMEZONE


def _channel_settings(session: Session | Connection) -> dict[str, dict[str, Any]]:
    rows = session.execute(select(col(ChannelSetting.channel), col(ChannelSetting.settings))).all()
    return {channel: settings for channel, settings in rows}  # noqa: C416 (rows are Row tuples)


def load_catalog_facts(session: Session | Connection) -> CatalogFacts:
    """The live catalog as the engine's facts (every channel, live brands and topics)."""
    stored = _channel_settings(session)
    channels: dict[str, ChannelDefaults] = {
        channel: _channel_defaults(stored[channel]) if channel in stored else ChannelDefaults()
        for channel in CHANNELS
    }
    brands: dict[str, BrandFacts] = {}
    brand_rows = session.execute(
        select(
            col(Brand.key),
            col(Brand.default_depth),
            col(Brand.cap_count),
            col(Brand.cap_period_days),
        ).where(col(Brand.retired_at).is_(None))
    )
    for key, default_depth, cap_count, cap_period_days in brand_rows:
        cap = (
            None
            if cap_count is None or cap_period_days is None
            else Cap(cap_count, cap_period_days)
        )
        brands[key] = BrandFacts(key=key, default_depth=cast(Depth, default_depth), cap=cap)
    topics: dict[tuple[str, str], TopicFacts] = {}
    topic_rows = session.execute(
        select(
            col(Topic.brand_key),
            col(Topic.key),
            col(Topic.kind),
            col(Topic.depth),
            col(Topic.basis),
            col(Topic.channels),
            col(Topic.min_notice_version),
        ).where(col(Topic.retired_at).is_(None))
    )
    for brand, key, kind, depth, basis, topic_channels, min_notice_version in topic_rows:
        if brand not in brands:
            continue  # a brand's retirement retires its topics; never serve an orphan
        topics[(brand, key)] = TopicFacts(
            brand=brand,
            key=key,
            kind=cast(Kind, kind),
            depth=cast(Depth | None, depth),
            basis=cast(Basis | None, basis),
            channels=frozenset(topic_channels),
            min_notice_version=min_notice_version,
        )
    return CatalogFacts(
        default_timezone=ZoneInfo(_zone_name(session)),
        channels=MappingProxyType(channels),
        brands=MappingProxyType(brands),
        topics=MappingProxyType(topics),
    )


def catalog_revision(session: Session | Connection) -> int | None:
    """The catalog's revision (None before the first apply)."""
    return session.scalar(select(col(CatalogSetting.revision)).where(col(CatalogSetting.id) == 1))


class CatalogCache:
    """The catalog's facts, re-read only when the stored revision moves on; thread-safe.

    Each `get` costs one select of the revision. Revisions are compared for equality, so facts
    read from a transaction that was later rolled back are replaced on the next call from one
    that sees another revision.
    """

    def __init__(self, recheck_seconds: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[int | None, CatalogFacts] | None = None
        self._recheck = recheck_seconds
        self._checked_at = -math.inf

    def get(self, session: Session | Connection) -> CatalogFacts:
        """The facts for the revision `session` (or a connection) sees.

        With `recheck_seconds`, the revision is looked up at most that often: a catalog applied
        by another process is seen that much later, and each request saves a query.
        """
        now = time.monotonic()
        with self._lock:
            entry = self._entry
            fresh = now - self._checked_at < self._recheck
        if entry is not None and fresh:
            return entry[1]
        revision = catalog_revision(session)
        if entry is not None and entry[0] == revision:
            with self._lock:
                self._checked_at = now
            return entry[1]
        # Read outside the lock: facts at least as new as `revision` (the reads follow it).
        facts = load_catalog_facts(session)
        with self._lock:
            self._entry = (revision, facts)
            self._checked_at = now
        return facts

    def clear(self) -> None:
        """Forget the cached facts (tests that roll back a catalog change)."""
        with self._lock:
            self._entry = None
            self._checked_at = -math.inf


def catalog_view(session: Session, brands: Collection[str] | None = None) -> dict[str, Any]:
    """The body of `GET /api/v1/catalog`: live brands (only `brands`, if given) and channels."""
    stored = _channel_settings(session)
    channels = {}
    for channel in CHANNELS:
        state = channel_state(
            ChannelSpec.model_validate(stored[channel]) if channel in stored else None
        )
        channels[channel] = state
    brand_query = select(
        col(Brand.key),
        col(Brand.name),
        col(Brand.default_depth),
        col(Brand.cap_count),
        col(Brand.cap_period_days),
    ).where(col(Brand.retired_at).is_(None))
    topic_query = select(
        col(Topic.brand_key),
        col(Topic.key),
        col(Topic.name),
        col(Topic.kind),
        col(Topic.depth),
        col(Topic.basis),
        col(Topic.channels),
        col(Topic.notice),
        col(Topic.notice_version),
        col(Topic.min_notice_version),
        col(Topic.consent_valid_days),
    ).where(col(Topic.retired_at).is_(None))
    if brands is not None:
        brand_query = brand_query.where(col(Brand.key).in_(list(brands)))
        topic_query = topic_query.where(col(Topic.brand_key).in_(list(brands)))
    topics: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(topic_query.order_by(col(Topic.brand_key), col(Topic.key))):
        (brand, key, name, kind, depth, basis, topic_channels, notice, version, min_version,
         valid_days) = row  # fmt: skip
        topics.setdefault(brand, []).append(
            {
                "key": key,
                "name": name,
                "kind": kind,
                "depth": depth,
                "basis": basis,
                "channels": [channel for channel in CHANNELS if channel in topic_channels],
                "notice": notice,
                "notice_version": version,
                "min_notice_version": min_version,
                "consent_valid_days": valid_days,
            }
        )
    brand_list = [
        {
            "key": key,
            "name": name,
            "default_depth": default_depth,
            "cap": None
            if cap_count is None or cap_period_days is None
            else {"count": cap_count, "period_days": cap_period_days},
            "topics": topics.get(key, []),
        }
        for key, name, default_depth, cap_count, cap_period_days in session.execute(
            brand_query.order_by(col(Brand.key))
        )
    ]
    return {"default_timezone": _zone_name(session), "channels": channels, "brands": brand_list}


def notice_versions(session: Session, brand: str, topic: str) -> list[int]:
    """Every notice version the topic has had, ascending (empty for an unknown topic)."""
    versions = session.scalar(
        select(col(Topic.notice_versions)).where(
            col(Topic.brand_key) == brand, col(Topic.key) == topic
        )
    )
    return sorted(versions or [])
