"""The SPEC section 2 decision rules, one function each, named after the reason it reports.

Deny rules take the Case and return True when the rule fails (its reason applies). Defer rules
take the Case and an instant and return the earliest instant from it on at which the rule
passes: the instant itself when it passes there, None when it never will.
"""

from collections.abc import Callable, Sequence
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

# The defaults for what the customer or the catalog does not set; frozen, so one of each will do.
_NO_BRAND_PREFS = BrandPrefs()
_NO_TOPIC_PREFS = TopicPrefs()
_NO_CHANNEL_PREFS = ChannelPrefs()
_NO_CHANNEL_DEFAULTS = ChannelDefaults()


class Case:
    """One request with the facts the rules read, defaults already applied.

    What only the defer rules read (time zone, quiet times, send times) is resolved on first
    use: most requests are decided by the deny rules alone, and most have no cap to count for.
    """

    __slots__ = (
        "_brand_send_times",
        "_catalog",
        "_quiet",
        "_send_times",
        "_sends",
        "brand",
        "brand_prefs",
        "channel_prefs",
        "customer",
        "request",
        "topic",
        "topic_prefs",
    )

    def __init__(
        self,
        catalog: CatalogFacts,
        customer: CustomerFacts,
        sends: Sequence[SendFacts],
        request: DecisionRequest,
    ) -> None:
        """Resolve the facts for `request`; brand and topic must be in the catalog."""
        self.request = request
        self.customer = customer
        self.brand: BrandFacts = catalog.brands[request.brand]
        self.topic: TopicFacts = catalog.topics[(request.brand, request.topic)]
        brand_prefs = customer.brands.get(request.brand, _NO_BRAND_PREFS)
        self.brand_prefs: BrandPrefs = brand_prefs
        self.topic_prefs: TopicPrefs = brand_prefs.topics.get(request.topic, _NO_TOPIC_PREFS)
        self.channel_prefs: ChannelPrefs = customer.channels.get(request.channel, _NO_CHANNEL_PREFS)
        self._catalog = catalog
        self._sends = sends
        self._quiet: Quiet | None = None
        self._brand_send_times: tuple[datetime, ...] | None = None
        self._send_times: tuple[datetime, ...] | None = None

    @property
    def depth(self) -> Depth:
        """The customer's depth with this brand, or the brand's default."""
        return self.brand_prefs.depth or self.brand.default_depth

    @property
    def consent(self) -> ConsentFacts | None:
        """The customer's consent to this topic on this channel, if any."""
        return self.topic_prefs.consents.get(self.request.channel)

    @property
    def timezone(self) -> ZoneInfo:
        """The customer's time zone, or the catalog's default."""
        return self.customer.timezone or self._catalog.default_timezone

    @property
    def quiet(self) -> Quiet:
        """The channel's quiet times for this customer, legal ones included."""
        if self._quiet is None:
            defaults = self._catalog.channels.get(self.request.channel, _NO_CHANNEL_DEFAULTS)
            self._quiet = effective_quiet(self.channel_prefs, defaults)
        return self._quiet

    @property
    def brand_send_times(self) -> tuple[datetime, ...]:
        """The instants of the customer's sends for this brand, ascending."""
        if self._brand_send_times is None:
            brand = self.request.brand
            self._brand_send_times = tuple(sorted(s.at for s in self._sends if s.brand == brand))
        return self._brand_send_times

    @property
    def send_times(self) -> tuple[datetime, ...]:
        """The instants of all the customer's sends, ascending."""
        if self._send_times is None:
            self._send_times = tuple(sorted(s.at for s in self._sends))
        return self._send_times


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
    found = case.customer.suppressions.get(case.request.channel)
    if not found:
        return False
    marketing = case.topic.kind == "marketing"
    brand = case.request.brand
    return any(
        (s.brand is None or s.brand == brand) and (marketing or s.reason in BLOCKS_EVERY_TOPIC)
        for s in found
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
    depth = case.depth
    if depth == "essentials":
        return True
    if case.topic_prefs.choice is not None or case.topic.depth is None:
        return False
    return DEPTH_ORDER[depth] < DEPTH_ORDER[case.topic.depth]


def no_consent(case: Case) -> bool:
    """Rule 9: an opt_in topic has consent for this channel to a recent enough notice."""
    if case.topic.basis != "opt_in":
        return False
    consent = case.consent
    return consent is None or consent.notice_version < case.topic.min_notice_version


def consent_expired(case: Case) -> bool:
    """Rule 10: that consent has not lapsed (expires_at after send_at)."""
    if case.topic.basis != "opt_in":
        return False
    consent = case.consent
    return (
        consent is not None
        and consent.notice_version >= case.topic.min_notice_version  # rule 9 passed
        and consent.expires_at is not None
        and consent.expires_at <= case.request.send_at
    )


def paused(case: Case, at: datetime) -> datetime:
    """Rule 11: marketing is not paused, all of it or this brand's (at < paused_until)."""
    latest = at
    for end in (case.customer.paused_until, case.brand_prefs.paused_until):
        if end is not None and end > latest:
            latest = end
    return latest


def quiet_hours(case: Case, at: datetime) -> datetime | None:
    """Rule 12: outside the channel's quiet hours and days, the customer's and the legal ones."""
    return quiet_end(at, case.timezone, case.quiet)


def frequency_cap(case: Case, at: datetime) -> datetime | None:
    """Rule 13: the brand caps (policy's, customer's) and the customer's global cap leave room."""
    brand_cap, own_cap = case.brand.cap, case.brand_prefs.cap
    global_cap = case.customer.global_cap
    if brand_cap is None and own_cap is None and global_cap is None:
        return at  # no cap: nothing to count
    caps: list[tuple[Cap, Sequence[datetime]]] = [
        (cap, case.brand_send_times) for cap in (brand_cap, own_cap) if cap is not None
    ]
    if global_cap is not None:
        caps.append((global_cap, case.send_times))
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
