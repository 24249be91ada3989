"""The SPEC section 2 decision rules, one function each, named after the reason it reports.

Deny rules take the Case and return True when the rule fails (its reason applies). Defer rules
take the Case and an instant and return the earliest instant from it on at which the rule
passes: the instant itself when it passes there, None when it never will.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.consent.engine.caps import earliest_fit_all
from app.consent.engine.quiet import quiet_end
from app.consent.engine.types import (
    DEPTH_ORDER,
    BrandFacts,
    BrandPrefs,
    Cap,
    CatalogFacts,
    ChannelDefaults,
    ChannelPrefs,
    ConsentFacts,
    CustomerFacts,
    DecisionRequest,
    Depth,
    Quiet,
    SendFacts,
    TopicFacts,
    TopicPrefs,
)

# Suppressions that block essential topics too; the others (complaint) block marketing only.
BLOCKS_EVERY_TOPIC = frozenset({"hard_bounce", "stop", "manual"})
# Channels that need no address (SPEC section 1): rule 2 always passes for them.
ADDRESSLESS_CHANNELS = frozenset({"in_app"})


@dataclass(frozen=True, slots=True)
class Case:
    """One request with the facts the rules read, defaults already applied."""

    request: DecisionRequest
    customer: CustomerFacts
    topic: TopicFacts
    brand: BrandFacts
    brand_prefs: BrandPrefs
    topic_prefs: TopicPrefs
    channel_prefs: ChannelPrefs
    depth: Depth
    timezone: ZoneInfo
    quiet: Quiet
    brand_send_times: tuple[datetime, ...]
    send_times: tuple[datetime, ...]

    @classmethod
    def build(
        cls,
        catalog: CatalogFacts,
        customer: CustomerFacts,
        sends: Sequence[SendFacts],
        request: DecisionRequest,
    ) -> "Case":
        """Resolve the facts for `request`; brand and topic must be in the catalog."""
        brand = catalog.brands[request.brand]
        brand_prefs = customer.brands.get(request.brand, BrandPrefs())
        channel_prefs = customer.channels.get(request.channel, ChannelPrefs())
        defaults = catalog.channels.get(request.channel, ChannelDefaults())
        return cls(
            request=request,
            customer=customer,
            topic=catalog.topics[(request.brand, request.topic)],
            brand=brand,
            brand_prefs=brand_prefs,
            topic_prefs=brand_prefs.topics.get(request.topic, TopicPrefs()),
            channel_prefs=channel_prefs,
            depth=brand_prefs.depth or brand.default_depth,
            timezone=customer.timezone or catalog.default_timezone,
            quiet=effective_quiet(channel_prefs, defaults),
            brand_send_times=tuple(sorted(s.at for s in sends if s.brand == request.brand)),
            send_times=tuple(sorted(s.at for s in sends)),
        )

    @property
    def consent(self) -> ConsentFacts | None:
        """The customer's consent to this topic on this channel, if any."""
        return self.topic_prefs.consents.get(self.request.channel)


def effective_quiet(prefs: ChannelPrefs, defaults: ChannelDefaults) -> Quiet:
    """The customer's quiet times for a channel (or the catalog's default) plus the legal ones."""
    hours = defaults.quiet.hours if prefs.quiet_hours is None else prefs.quiet_hours
    days = defaults.quiet.days if prefs.quiet_days is None else prefs.quiet_days
    return Quiet(hours=hours + defaults.legal.hours, days=days | defaults.legal.days)


def no_address(case: Case) -> bool:
    """Rule 2: the customer has an address for the channel."""
    channel = case.request.channel
    return channel not in ADDRESSLESS_CHANNELS and channel not in case.customer.addresses


def suppressed(case: Case) -> bool:
    """Rule 3: the address is not suppressed for this brand and this kind of topic."""
    marketing = case.topic.kind == "marketing"
    return any(
        (s.brand is None or s.brand == case.request.brand)
        and (marketing or s.reason in BLOCKS_EVERY_TOPIC)
        for s in case.customer.suppressions.get(case.request.channel, ())
    )


def channel_off(case: Case) -> bool:
    """Rule 4: the customer has not switched the channel off."""
    return not case.channel_prefs.enabled


def objected(case: Case) -> bool:
    """Rule 5: the customer has not objected to all marketing (no_marketing)."""
    return case.customer.no_marketing


def topic_off(case: Case) -> bool:
    """Rule 6: the topic is not switched off."""
    return case.topic_prefs.choice == "off"


def topic_channel_off(case: Case) -> bool:
    """Rule 7: a topic switched on is on for this channel."""
    prefs = case.topic_prefs
    return (
        prefs.choice == "on"
        and prefs.channels is not None
        and case.request.channel not in prefs.channels
    )


def beyond_depth(case: Case) -> bool:
    """Rule 8: the depth is not essentials, and a topic without a choice is within the depth."""
    if case.depth == "essentials":
        return True
    if case.topic_prefs.choice is not None or case.topic.depth is None:
        return False
    return DEPTH_ORDER[case.depth] < DEPTH_ORDER[case.topic.depth]


def no_consent(case: Case) -> bool:
    """Rule 9: an opt_in topic has consent for this channel to a recent enough notice."""
    if case.topic.basis != "opt_in":
        return False
    consent = case.consent
    return consent is None or consent.notice_version < case.topic.min_notice_version


def consent_expired(case: Case) -> bool:
    """Rule 10: that consent has not lapsed (expires_at after send_at)."""
    consent = case.consent
    return (
        case.topic.basis == "opt_in"
        and not no_consent(case)
        and consent is not None
        and consent.expires_at is not None
        and consent.expires_at <= case.request.send_at
    )


def paused(case: Case, at: datetime) -> datetime:
    """Rule 11: marketing is not paused, all of it or this brand's (at < paused_until)."""
    ends = (case.customer.paused_until, case.brand_prefs.paused_until)
    return max((at, *(end for end in ends if end is not None)))


def quiet_hours(case: Case, at: datetime) -> datetime | None:
    """Rule 12: outside the channel's quiet hours and days, the customer's and the legal ones."""
    return quiet_end(at, case.timezone, case.quiet)


def frequency_cap(case: Case, at: datetime) -> datetime | None:
    """Rule 13: the brand caps (policy's, customer's) and the customer's global cap leave room."""
    caps: list[tuple[Cap, Sequence[datetime]]] = [
        (cap, case.brand_send_times)
        for cap in (case.brand.cap, case.brand_prefs.cap)
        if cap is not None
    ]
    if case.customer.global_cap is not None:
        caps.append((case.customer.global_cap, case.send_times))
    return earliest_fit_all(at, caps)


DenyRule = Callable[[Case], bool]
DeferRule = Callable[[Case, datetime], datetime | None]

# SPEC section 2 order. Essential topics stop after channel_off.
DENY_RULES: tuple[tuple[str, DenyRule], ...] = (
    ("no_address", no_address),
    ("suppressed", suppressed),
    ("channel_off", channel_off),
    ("objected", objected),
    ("topic_off", topic_off),
    ("topic_channel_off", topic_channel_off),
    ("beyond_depth", beyond_depth),
    ("no_consent", no_consent),
    ("consent_expired", consent_expired),
)
ESSENTIAL_DENY_RULES = DENY_RULES[:3]
DEFER_RULES: tuple[tuple[str, DeferRule], ...] = (
    ("paused", paused),
    ("quiet_hours", quiet_hours),
    ("frequency_cap", frequency_cap),
)
REASON_ORDER: tuple[str, ...] = (
    "unknown_customer",
    *(name for name, _ in DENY_RULES),
    *(name for name, _ in DEFER_RULES),
)
