"""What a change to the preferences loosens: what only the customer may do (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.consent.engine import (
    Cap,
    CatalogFacts,
    ChannelDefaults,
    ChannelPrefs,
    CustomerFacts,
    DecisionRequest,
    Quiet,
    decide,
)
from app.consent.engine.rules import effective_quiet
from app.consent.errors import Loc
from app.consent.facts import CustomerRecord, customer_facts
from app.consent.vocabulary import CHANNELS

# The deny rules that the customer's settings decide (not addresses, suppressions or consent).
SETTINGS_RULES = frozenset(
    {"channel_off", "objected", "topic_off", "topic_channel_off", "beyond_depth"}
)
MINUTES_A_DAY = 24 * 60


def loosenings(
    catalog: CatalogFacts, before: Mapping[str, Any], after: Mapping[str, Any], now: datetime
) -> list[tuple[Loc, str]]:
    """Each way `after` allows more than `before`, with the member that does it."""
    old, new = _facts(before), _facts(after)
    found: list[tuple[Loc, str]] = []
    if old.no_marketing and not new.no_marketing:
        found.append((("no_marketing",), "lifts the objection to all marketing"))
    allowed_before = _allowed(catalog, old, now)
    for brand, topic, channel in sorted(_allowed(catalog, new, now) - allowed_before):
        found.append(
            (("brands", brand, "topics", topic), f"would allow {brand}/{topic} by {channel}")
        )
    if _pause_shortened(old.paused_until, new.paused_until, now):
        found.append((("paused_until",), "shortens or lifts the pause"))
    if _cap_looser(old.global_cap, new.global_cap):
        found.append((("global_cap",), "raises or removes the cap"))
    for key in catalog.brands:
        old_brand, new_brand = old.brands.get(key), new.brands.get(key)
        if _pause_shortened(
            old_brand.paused_until if old_brand else None,
            new_brand.paused_until if new_brand else None,
            now,
        ):
            found.append((("brands", key, "paused_until"), "shortens or lifts the pause"))
        if _cap_looser(old_brand.cap if old_brand else None, new_brand.cap if new_brand else None):
            found.append((("brands", key, "cap"), "raises or removes the cap"))
    for channel in CHANNELS:
        defaults = catalog.channels.get(channel, ChannelDefaults())
        quiet_before = _coverage(
            effective_quiet(old.channels.get(channel, ChannelPrefs()), defaults)
        )
        quiet_after = _coverage(
            effective_quiet(new.channels.get(channel, ChannelPrefs()), defaults)
        )
        if quiet_before - quiet_after:
            found.append((("channels", channel), "shrinks the quiet hours or days"))
    return found


def _facts(document: Mapping[str, Any]) -> CustomerFacts:
    record = CustomerRecord(
        id="",
        external_id=None,
        email=None,
        phone=None,
        push_tokens=(),
        postal=None,
        timezone=None,
        document=document,
        version=0,
    )
    facts = customer_facts(record, {})
    return CustomerFacts(
        timezone=facts.timezone,
        addresses=frozenset(CHANNELS),
        channels=facts.channels,
        no_marketing=facts.no_marketing,
        global_cap=facts.global_cap,
        brands=facts.brands,
    )


def _allowed(
    catalog: CatalogFacts, customer: CustomerFacts, now: datetime
) -> set[tuple[str, str, str]]:
    allowed: set[tuple[str, str, str]] = set()
    for (brand, key), topic in catalog.topics.items():
        for channel in topic.channels:
            decision = decide(catalog, customer, (), DecisionRequest(brand, key, channel, now))
            if not SETTINGS_RULES.intersection(decision.reasons):
                allowed.add((brand, key, channel))
    return allowed


def _pause_shortened(old: datetime | None, new: datetime | None, now: datetime) -> bool:
    return old is not None and old > now and (new is None or new < old)


def _cap_looser(old: Cap | None, new: Cap | None) -> bool:
    """A cap is at least as strict when it allows no more sends over a period no shorter."""
    if old is None:
        return False
    return new is None or new.count > old.count or new.period_days < old.period_days


def _coverage(quiet: Quiet) -> frozenset[int]:
    """The minutes of a week (0 = Monday 00:00) that are quiet."""
    daily: set[int] = set()
    for window in quiet.hours:
        start = window.start.hour * 60 + window.start.minute
        end = window.end.hour * 60 + window.end.minute
        if start < end:
            daily.update(range(start, end))
        else:
            daily.update(range(start, MINUTES_A_DAY))
            daily.update(range(end))
    minutes: set[int] = set()
    for day in range(7):
        base = day * MINUTES_A_DAY
        if day in quiet.days:
            minutes.update(range(base, base + MINUTES_A_DAY))
        else:
            minutes.update(base + m for m in daily)
    return frozenset(minutes)
