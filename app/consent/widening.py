"""What a change to the preferences loosens: what only the customer may do (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.consent.engine import (
    DEPTH_ORDER,
    BrandPrefs,
    Cap,
    CatalogFacts,
    ChannelDefaults,
    ChannelPrefs,
    CustomerFacts,
    DecisionRequest,
    Quiet,
    TopicFacts,
    TopicPrefs,
    decide,
)
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
    """Each way `after` allows more than `before`, with the member that does it.

    Every member that loosens counts, also while something else (no_marketing, a channel
    switched off) still blocks its effect: it takes effect once that is lifted.
    """
    old, new = _facts(before), _facts(after)
    found: list[tuple[Loc, str]] = []
    if old.no_marketing and not new.no_marketing:
        found.append((("no_marketing",), "lifts the objection to all marketing"))
    found.extend(_channels_on(old, new))
    found.extend(_relationships_widened(catalog, old, new))
    if not found:
        # A safety net: whatever else makes a message allowed that was not is a loosening too.
        for brand, topic, channel in sorted(
            _allowed(catalog, new, now) - _allowed(catalog, old, now)
        ):
            found.append(
                (("brands", brand, "topics", topic), f"would allow {brand}/{topic} by {channel}")
            )
    if _pause_shortened(old.paused_until, new.paused_until, now):
        found.append((("paused_until",), "shortens or lifts the pause"))
    if _cap_looser(old.global_cap, new.global_cap):
        found.append((("global_cap",), "raises or removes the cap"))
    for key in sorted(set(catalog.brands) | set(old.brands) | set(new.brands)):
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
        quiet_before = _coverage(_own_quiet(old.channels.get(channel, ChannelPrefs()), defaults))
        quiet_after = _coverage(_own_quiet(new.channels.get(channel, ChannelPrefs()), defaults))
        if quiet_before - quiet_after:
            found.append((("channels", channel), "shrinks the quiet hours or days"))
    return found


def _channels_on(old: CustomerFacts, new: CustomerFacts) -> list[tuple[Loc, str]]:
    """Channels switched back on."""
    return [
        (("channels", channel, "enabled"), "switches the channel back on")
        for channel in CHANNELS
        if not old.channels.get(channel, ChannelPrefs()).enabled
        and new.channels.get(channel, ChannelPrefs()).enabled
    ]


def _relationships_widened(
    catalog: CatalogFacts, old: CustomerFacts, new: CustomerFacts
) -> list[tuple[Loc, str]]:
    """Depths raised, topics switched on or their `off` removed, topic channels added."""
    found: list[tuple[Loc, str]] = []
    for brand in sorted(set(old.brands) | set(new.brands)):
        old_brand = old.brands.get(brand, BrandPrefs())
        new_brand = new.brands.get(brand, BrandPrefs())
        facts = catalog.brands.get(brand)
        default = facts.default_depth if facts else "essentials"
        if DEPTH_ORDER[new_brand.depth or default] > DEPTH_ORDER[old_brand.depth or default]:
            found.append((("brands", brand, "depth"), "raises the depth"))
        for key in sorted(set(old_brand.topics) | set(new_brand.topics)):
            was = old_brand.topics.get(key, TopicPrefs())
            is_ = new_brand.topics.get(key, TopicPrefs())
            loc: Loc = ("brands", brand, "topics", key)
            topic = catalog.topics.get((brand, key))
            if is_.choice == "on" and was.choice != "on" and not _on_by_depth(topic, was):
                found.append(((*loc, "choice"), "switches the topic on"))
            elif was.choice == "off" and is_.choice != "off":
                found.append(((*loc, "choice"), "removes the topic's off"))
            elif is_.choice == "on" and _channels_added(catalog, brand, key, was, is_):
                found.append(((*loc, "channels"), "adds channels to the topic"))
    return found


def _on_by_depth(topic: TopicFacts | None, was: TopicPrefs) -> bool:
    """Whether the topic, without a choice, was as good as on.

    Every depth but `essentials` includes a `light` topic, and `essentials` excludes it
    whatever the choice says.
    """
    return was.choice is None and topic is not None and topic.depth == "light"


def _channels_added(
    catalog: CatalogFacts, brand: str, key: str, was: TopicPrefs, is_: TopicPrefs
) -> bool:
    """Whether the topic is now on for a channel it was not on for."""
    if is_.channels is None and was.channels is None:
        return False
    topic = catalog.topics.get((brand, key))
    every = frozenset(CHANNELS) if topic is None else topic.channels
    before = every if was.channels is None else was.channels
    after = every if is_.channels is None else is_.channels
    return bool(after - before)


def _own_quiet(prefs: ChannelPrefs, defaults: ChannelDefaults) -> Quiet:
    """The customer's quiet times for a channel (or the catalog's default), legal ones aside."""
    return Quiet(
        hours=defaults.quiet.hours if prefs.quiet_hours is None else prefs.quiet_hours,
        days=defaults.quiet.days if prefs.quiet_days is None else prefs.quiet_days,
    )


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
        paused_until=facts.paused_until,
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
