"""The dashboard's numbers: decision counts, topic reach, depth mix, unsubscribes per day."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Text, or_, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlmodel import col

from app.consent.tally import EVERY
from app.consent.vocabulary import DEPTH_ORDER
from app.models import AuditEvent, Brand, Customer, DecisionTally, Preference, Topic

CHUNK = 1000
PREFERENCE_ACTIONS = ("preferences.updated", "consent.given", "consent.withdrawn")
SUPPRESSION_ADDED = "suppression.added"
UNSUBSCRIBING_SUPPRESSIONS = frozenset({"stop", "complaint"})
# Canonical JSON has no spaces: an event whose `after` holds none of these switches nothing off.
SWITCHED_OFF_MARKS = (
    '"choice":"off"',
    '"depth":"essentials"',
    '"no_marketing":true',
    '"enabled":false',
)


def last_days(today: date, days: int) -> tuple[tuple[date, ...], datetime]:
    """The last `days` UTC days up to `today`, and the instant the first one starts."""
    span = tuple(today - timedelta(days=days - 1 - i) for i in range(days))
    return span, datetime.combine(span[0], time(), UTC)


@dataclass(frozen=True)
class DecisionCounts:
    """Decisions per UTC day and outcome, and per (outcome, reason), over `days`."""

    days: tuple[date, ...]
    per_day: Mapping[str, tuple[int, ...]]
    per_reason: Mapping[tuple[str, str], int]


def decision_counts(session: Session, *, today: date, days: int = 14) -> DecisionCounts:
    """From decision_tally: the last `days` UTC days, today included."""
    span, since = last_days(today, days)
    rows = session.execute(
        select(
            col(DecisionTally.hour),
            col(DecisionTally.outcome),
            col(DecisionTally.reason),
            col(DecisionTally.count),
        ).where(col(DecisionTally.hour) >= since)
    )
    per_day: dict[str, list[int]] = {}
    per_reason: Counter[tuple[str, str]] = Counter()
    index = {day: i for i, day in enumerate(span)}
    for hour, outcome, reason, number in rows:
        slot = index.get(hour.astimezone(UTC).date())
        if slot is None:
            continue  # counted ahead of this process's clock
        if reason == EVERY:
            per_day.setdefault(outcome, [0] * days)[slot] += number
        else:
            per_reason[(outcome, reason)] += number
    return DecisionCounts(
        days=span,
        per_day={outcome: tuple(values) for outcome, values in per_day.items()},
        per_reason=dict(per_reason),
    )


@dataclass(frozen=True)
class MarketingTopic:
    """A live marketing topic, as reach needs it."""

    brand: str
    key: str
    name: str
    depth: str
    basis: str
    channels: frozenset[str]
    min_notice_version: int


@dataclass
class PreferenceStats:
    """Live customers; per (brand, topic) how many it reaches; per brand, the depth mix."""

    customers: int = 0
    reached: Counter[tuple[str, str]] = field(default_factory=Counter)
    depths: dict[str, Counter[str]] = field(default_factory=dict)
    chosen: dict[str, Counter[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """The live brands (key → name, default depth) and their live marketing topics."""

    brands: Mapping[str, tuple[str, str]]
    topics: tuple[MarketingTopic, ...]


def live_catalog(session: Session) -> Catalog:
    brands = {
        key: (name, default_depth)
        for key, name, default_depth in session.execute(
            select(col(Brand.key), col(Brand.name), col(Brand.default_depth))
            .where(col(Brand.retired_at).is_(None))
            .order_by(col(Brand.key))
        )
    }
    rows = session.execute(
        select(
            col(Topic.brand_key),
            col(Topic.key),
            col(Topic.name),
            col(Topic.depth),
            col(Topic.basis),
            col(Topic.channels),
            col(Topic.min_notice_version),
        )
        .where(col(Topic.retired_at).is_(None), col(Topic.kind) == "marketing")
        .order_by(col(Topic.brand_key), col(Topic.key))
    )
    topics = tuple(
        MarketingTopic(
            brand, key, name, depth or "light", basis or "opt_out", frozenset(channels), minimum
        )
        for brand, key, name, depth, basis, channels, minimum in rows
        if brand in brands
    )
    return Catalog(brands=brands, topics=topics)


def preference_stats(session: Session, *, catalog: Catalog, now: datetime) -> PreferenceStats:
    """One pass over live customers' documents, read as text in chunks."""
    stats = PreferenceStats(
        depths={brand: Counter() for brand in catalog.brands},
        chosen={brand: Counter() for brand in catalog.brands},
    )
    documents = session.scalars(
        select(sql_cast(col(Preference.document), Text))
        .join(Customer, col(Customer.id) == col(Preference.customer_id))
        .where(col(Customer.erased_at).is_(None))
        .execution_options(yield_per=CHUNK)
    )
    for text in documents:
        document = json.loads(text)
        stats.customers += 1
        brands = document.get("brands") or {}
        for brand, (_name, default_depth) in catalog.brands.items():
            chosen = (brands.get(brand) or {}).get("depth")
            stats.depths[brand][chosen or default_depth] += 1
            if chosen:
                stats.chosen[brand][chosen] += 1
        for topic in catalog.topics:
            if reaches(document, topic, catalog.brands[topic.brand][1], now):
                stats.reached[(topic.brand, topic.key)] += 1
    return stats


def reaches(
    document: Mapping[str, Any], topic: MarketingTopic, default_depth: str, now: datetime
) -> bool:
    """Whether rules 5 to 10 let `topic` reach the customer now on at least one of its channels.

    Addresses, suppressions, channel switches, pauses, quiet hours and caps are left out.
    """
    if document.get("no_marketing"):
        return False
    brand = document.get("brands", {}).get(topic.brand) or {}
    depth = brand.get("depth") or default_depth
    prefs = (brand.get("topics") or {}).get(topic.key) or {}
    choice = prefs.get("choice")
    if depth == "essentials" or choice == "off":
        return False
    if choice is None and DEPTH_ORDER[depth] < DEPTH_ORDER[topic.depth]:
        return False
    channels = topic.channels
    if choice == "on" and prefs.get("channels") is not None:
        channels = channels & frozenset(prefs["channels"])
    if topic.basis != "opt_in":
        return bool(channels)
    consents = prefs.get("consents") or {}
    return any(_consent_holds(consents.get(c), topic.min_notice_version, now) for c in channels)


def _consent_holds(consent: Mapping[str, Any] | None, minimum: int, now: datetime) -> bool:
    if not consent or int(consent.get("notice_version", 0)) < minimum:
        return False
    expires = consent.get("expires_at")
    return expires is None or datetime.fromisoformat(expires) > now


@dataclass(frozen=True)
class Unsubscribes:
    """Unsubscribing audit events per UTC day and source."""

    days: tuple[date, ...]
    per_source: Mapping[str, tuple[int, ...]]


def unsubscribes(session: Session, *, today: date, days: int = 30) -> Unsubscribes:
    """Events of the last `days` UTC days that switch something off (docs/decisions.md)."""
    span, since = last_days(today, days)
    after = col(AuditEvent.after)
    rows = session.execute(
        select(
            col(AuditEvent.at),
            col(AuditEvent.source),
            col(AuditEvent.action),
            col(AuditEvent.before),
            after,
        )
        .where(
            col(AuditEvent.at) >= since,
            or_(
                col(AuditEvent.action) == SUPPRESSION_ADDED,
                col(AuditEvent.action).in_(PREFERENCE_ACTIONS)
                & or_(*(after.contains(mark, autoescape=True) for mark in SWITCHED_OFF_MARKS)),
            ),
        )
        .execution_options(yield_per=CHUNK)
    )
    index = {day: i for i, day in enumerate(span)}
    per_source: dict[str, list[int]] = {}
    for at, source, action, before, after_text in rows:
        slot = index.get(at.astimezone(UTC).date())
        if slot is not None and unsubscribing(action, before, after_text):
            per_source.setdefault(source, [0] * days)[slot] += 1
    return Unsubscribes(
        days=span, per_source={source: tuple(v) for source, v in sorted(per_source.items())}
    )


def unsubscribing(action: str, before: str | None, after: str | None) -> bool:
    """A STOP or complaint suppression, or a document change that switches something off."""
    later = json.loads(after) if after else None
    if not isinstance(later, dict):
        return False
    if action == SUPPRESSION_ADDED:
        return later.get("reason") in UNSUBSCRIBING_SUPPRESSIONS
    earlier = json.loads(before) if before else {}
    return any(switched_off(earlier if isinstance(earlier, dict) else {}, later))


def switched_off(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterable[bool]:
    """Each switch the change turns off: all marketing, a channel, a brand's marketing, a topic."""
    yield bool(after.get("no_marketing")) and not before.get("no_marketing")
    old_channels, new_channels = before.get("channels") or {}, after.get("channels") or {}
    for channel, settings in new_channels.items():
        was = (old_channels.get(channel) or {}).get("enabled", True)
        yield was is not False and (settings or {}).get("enabled", True) is False
    old_brands = before.get("brands") or {}
    for brand, body in (after.get("brands") or {}).items():
        old = old_brands.get(brand) or {}
        yield (body or {}).get("depth") == "essentials" and old.get("depth") != "essentials"
        old_topics = old.get("topics") or {}
        for topic, prefs in ((body or {}).get("topics") or {}).items():
            was_off = (old_topics.get(topic) or {}).get("choice") == "off"
            yield (prefs or {}).get("choice") == "off" and not was_off
