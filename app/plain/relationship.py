"""The relationship with each brand in plain words: what reaches the customer, how often, when."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from app.consent.catalog_read import catalog_view
from app.consent.context import Context
from app.consent.engine import (
    DEPTH_ORDER,
    Cap,
    CatalogFacts,
    ChannelPrefs,
    CustomerFacts,
    DecisionRequest,
    QuietWindow,
    decide,
)
from app.consent.engine.rules import effective_quiet
from app.consent.facts import customer_facts, load_customers, load_suppressions
from app.consent.vocabulary import CHANNELS, DAYS
from app.plain.words import (
    cap_phrase,
    channel_name,
    date_phrase,
    depth_description,
    depth_name,
    join,
    name_in_sentence,
    quiet_phrase,
)
from app.web.i18n import gettext as _

MINUTES = 24 * 60


@dataclass(frozen=True)
class BrandCard:
    """One brand on the overview."""

    key: str
    name: str
    summary: str
    depth: str
    depth_name: str
    depth_description: str


@dataclass(frozen=True)
class Reach:
    """What reaches the customer from one brand: topics (in sentence order) and channels."""

    topics: tuple[str, ...]
    channels: frozenset[str]
    marketing: bool
    marketing_channels: frozenset[str]


def brand_cards(
    session: Session, *, ctx: Context, customer_id: str, now: datetime
) -> list[BrandCard]:
    """A card per live brand, in the catalog's order."""
    catalog = ctx.catalog.get(session)
    connection = session.connection()
    record = load_customers(connection, [customer_id], ctx.customers).get(customer_id)
    if record is None:
        return []
    suppressions = load_suppressions(connection, ctx.keys, [record]).get(customer_id, {})
    customer = customer_facts(record, suppressions, ctx.customers)
    return cards_for(catalog, catalog_view(session)["brands"], customer, now=now)


def cards_for(
    catalog: CatalogFacts,
    brands: Iterable[Mapping[str, Any]],
    customer: CustomerFacts,
    *,
    now: datetime,
) -> list[BrandCard]:
    """A card per brand of `brands` (`catalog_view`'s) still in `catalog`, for the customer's
    facts (from any document, such as one rebuilt from the audit trail): no I/O."""
    zone = customer.timezone or catalog.default_timezone
    cards = []
    for brand in brands:
        if brand["key"] not in catalog.brands:
            continue  # retired since the facts were read
        prefs = customer.brands.get(brand["key"])
        depth = (prefs.depth if prefs else None) or catalog.brands[brand["key"]].default_depth
        cards.append(
            BrandCard(
                key=brand["key"],
                name=brand["name"],
                summary=summary(catalog, customer, brand, now=now, zone=zone),
                depth=depth,
                depth_name=depth_name(depth),
                depth_description=depth_description(depth),
            )
        )
    return cards


def reach(
    catalog: CatalogFacts, customer: CustomerFacts, brand: Mapping[str, Any], now: datetime
) -> Reach:
    """Decide every topic on each of its channels, now, with no sends: allow or defer reaches."""
    topics: list[str] = []
    channels: set[str] = set()
    marketing_channels: set[str] = set()
    for topic in _in_sentence_order(brand["topics"]):
        facts = catalog.topics.get((brand["key"], topic["key"]))
        if facts is None:
            continue
        found = {
            channel
            for channel in topic["channels"]
            if decide(
                catalog, customer, (), DecisionRequest(brand["key"], topic["key"], channel, now)
            ).outcome
            != "deny"
        }
        if found:
            topics.append(topic["name"])
            channels |= found
            if facts.kind == "marketing":
                marketing_channels |= found
    return Reach(
        topics=tuple(topics),
        channels=frozenset(channels),
        marketing=bool(marketing_channels),
        marketing_channels=frozenset(marketing_channels),
    )


def summary(
    catalog: CatalogFacts,
    customer: CustomerFacts,
    brand: Mapping[str, Any],
    *,
    now: datetime,
    zone: tzinfo,
) -> str:
    """The sentences that sum up the relationship with `brand` (a brand of `catalog_view`)."""
    found = reach(catalog, customer, brand, now)
    values = {
        "brand": brand["name"],
        "channels": join(channel_name(c) for c in CHANNELS if c in found.channels),
        "topics": join(name_in_sentence(name) for name in found.topics),
    }
    sentences: list[str] = []
    if not found.topics:
        sentences.append(_("%(brand)s does not write to you.") % values)
    elif not found.marketing:
        sentences.append(
            _("%(brand)s only sends you messages you need: %(topics)s, by %(channels)s.") % values
        )
    else:
        cap = tightest_cap(catalog, customer, brand["key"])
        quiet = quiet_text(catalog, customer, found.marketing_channels)
        values |= {"cap": cap_phrase(_cap_dict(cap)) if cap else "", "quiet": quiet}
        if cap and quiet:
            text = _(
                "%(brand)s writes to you by %(channels)s about %(topics)s, at most %(cap)s, "
                "%(quiet)s."
            )
        elif cap:
            text = _("%(brand)s writes to you by %(channels)s about %(topics)s, at most %(cap)s.")
        elif quiet:
            text = _("%(brand)s writes to you by %(channels)s about %(topics)s, %(quiet)s.")
        else:
            text = _("%(brand)s writes to you by %(channels)s about %(topics)s.")
        sentences.append(text % values)
        sentences.extend(_pauses(customer, brand, now, zone))
    if customer.no_marketing:
        sentences.append(_("You have stopped all marketing."))
    return " ".join(sentences)


def tightest_cap(catalog: CatalogFacts, customer: CustomerFacts, brand: str) -> Cap | None:
    """The cap that allows the fewest sends over time: the brand's policy, the customer's own for
    the brand, or their global cap; of equal rates, the one over the shorter period."""
    prefs = customer.brands.get(brand)
    caps = [
        cap
        for cap in (catalog.brands[brand].cap, prefs.cap if prefs else None, customer.global_cap)
        if cap is not None
    ]
    if not caps:
        return None
    return min(caps, key=lambda c: (Fraction(c.count, c.period_days), c.period_days))


def quiet_text(catalog: CatalogFacts, customer: CustomerFacts, channels: Iterable[str]) -> str:
    """When marketing never comes on `channels` (empty when it may come at any time); said per
    channel when the channels' quiet times differ."""
    groups: dict[tuple[tuple[tuple[str, str], ...], tuple[str, ...]], list[str]] = {}
    for channel in (c for c in CHANNELS if c in set(channels)):
        prefs = customer.channels.get(channel, ChannelPrefs())
        quiet = effective_quiet(prefs, catalog.channels[channel])
        hours, days = merged_hours(quiet.hours)
        every: tuple[str, ...] = tuple(DAYS[n] for n in sorted(quiet.days | days))
        groups.setdefault((hours, every), []).append(channel)
    if len(groups) == 1:
        (hours, every), _channels = next(iter(groups.items()))
        return _phrase(hours, every) if hours or every else ""
    return join(
        _("%(quiet)s by %(channels)s")
        % {"quiet": _phrase(hours, every), "channels": join(channel_name(c) for c in members)}
        for (hours, every), members in groups.items()
        if hours or every
    )


def merged_hours(
    windows: Sequence[QuietWindow],
) -> tuple[tuple[tuple[str, str], ...], frozenset[int]]:
    """Overlapping daily windows merged, by start; a day quiet all through is a quiet day."""
    quiet = [False] * MINUTES
    for window in windows:
        minute = window.start.hour * 60 + window.start.minute
        end = window.end.hour * 60 + window.end.minute
        while minute != end:
            quiet[minute] = True
            minute = (minute + 1) % MINUTES
    if all(quiet):
        return (), frozenset(range(7))
    if not any(quiet):
        return (), frozenset()
    first_free = quiet.index(False)
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for step in range(1, MINUTES + 1):
        minute = (first_free + step) % MINUTES
        if quiet[minute] and start is None:
            start = minute
        elif not quiet[minute] and start is not None:
            runs.append((start, minute))
            start = None
    return tuple((_hhmm(s), _hhmm(e)) for s, e in sorted(runs)), frozenset()


def _phrase(hours: Iterable[tuple[str, str]], days: Iterable[str]) -> str:
    return quiet_phrase([{"start": s, "end": e} for s, e in hours], days)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _pauses(
    customer: CustomerFacts, brand: Mapping[str, Any], now: datetime, zone: tzinfo
) -> list[str]:
    """A sentence for each pause still running, the brand's only when it outlasts the global."""
    prefs = customer.brands.get(brand["key"])
    everything = (
        customer.paused_until if customer.paused_until and customer.paused_until > now else None
    )
    own = prefs.paused_until if prefs and prefs.paused_until and prefs.paused_until > now else None
    sentences = []
    if everything is not None:
        sentences.append(
            _("All marketing is paused until %(date)s.") % {"date": _last_day(everything, zone)}
        )
    if own is not None and (everything is None or own > everything):
        sentences.append(
            _("Marketing from %(brand)s is paused until %(date)s.")
            % {"brand": brand["name"], "date": _last_day(own, zone)}
        )
    return sentences


def _last_day(end: datetime, zone: tzinfo) -> str:
    """The last local day of a pause that ends at `end` (a pause until a date ends at 00:00 of
    the day after)."""
    return date_phrase(end - timedelta(microseconds=1), zone)


def _cap_dict(cap: Cap) -> dict[str, int]:
    return {"count": cap.count, "period_days": cap.period_days}


def _in_sentence_order(topics: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Essential topics first, then marketing from the lightest depth on, else as listed."""
    return sorted(
        topics,
        key=lambda t: (t["kind"] != "essential", DEPTH_ORDER.get(t["depth"] or "", 0)),
    )
