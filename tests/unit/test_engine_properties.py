"""Hypothesis properties of decide() over random catalogs, customers, sends and instants."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import TypeVar
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.consent.engine import (
    DEPTH_ORDER,
    REASON_ORDER,
    Basis,
    BrandFacts,
    BrandPrefs,
    Cap,
    CatalogFacts,
    ChannelDefaults,
    ChannelPrefs,
    Choice,
    ConsentFacts,
    CustomerFacts,
    Decision,
    DecisionRequest,
    Depth,
    Quiet,
    QuietWindow,
    SendFacts,
    Suppression,
    TopicFacts,
    TopicPrefs,
    decide,
)

T = TypeVar("T")

ZONES = [
    ZoneInfo(name)
    for name in (
        "Europe/Berlin",
        "America/New_York",
        "UTC",
        "America/Santiago",
        "Australia/Lord_Howe",
    )
]
# Around DST changes of the zones above, and an ordinary day.
BASES = [
    datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 6, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
    datetime(2026, 9, 6, 3, 0, tzinfo=UTC),
    datetime(2026, 4, 5, 3, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 0, tzinfo=UTC),
    datetime(2026, 6, 10, 10, 0, tzinfo=UTC),
]
CHANNELS = ("email", "sms", "in_app")
BRANDS = ("acme", "beta")
TOPIC_KEYS = ("orders", "offers", "news")
DEPTHS: tuple[Depth, ...] = ("essentials", "light", "regular", "close")
MARKETING_DEPTHS: tuple[Depth, ...] = ("light", "regular", "close")
BASES_OF_LAW: tuple[Basis, ...] = ("opt_in", "opt_out")
CHOICES: tuple[Choice | None, ...] = (None, "on", "off")

# Strategies are built once here: hypothesis validates a strategy object on its first draw.
walls = st.builds(time, st.integers(0, 23), st.sampled_from([0, 30]))
windows = st.builds(QuietWindow, walls, walls).filter(lambda w: w.start != w.end)
window_lists = st.lists(windows, max_size=2).map(tuple)
maybe_window_lists = st.none() | window_lists
day_sets = st.frozensets(st.integers(0, 6), max_size=3)
maybe_day_sets = st.none() | day_sets
quiets = st.builds(Quiet, window_lists, day_sets)
caps = st.builds(Cap, st.integers(1, 3), st.integers(1, 3))
maybe_caps = st.none() | caps
channel_sets = st.frozensets(st.sampled_from(CHANNELS), min_size=1)
maybe_channel_sets = st.none() | channel_sets
some_channels = st.frozensets(st.sampled_from(CHANNELS))
some_brands = st.frozensets(st.sampled_from(BRANDS))
some_topics = st.frozensets(st.sampled_from(TOPIC_KEYS))
addresses = st.frozensets(st.sampled_from(("email", "sms")))
brands = st.sampled_from(BRANDS)
topic_keys = st.sampled_from(TOPIC_KEYS)
zones = st.sampled_from(ZONES)
maybe_zones = st.none() | zones
depths = st.sampled_from(DEPTHS)
maybe_depths = st.none() | depths
marketing_depths = st.sampled_from(MARKETING_DEPTHS)
bases = st.sampled_from(BASES)
bases_of_law = st.sampled_from(BASES_OF_LAW)
choices = st.sampled_from(CHOICES)
versions = st.integers(1, 3)
one_in_four = st.sampled_from([False, False, False, True])
suppressions = st.lists(
    st.builds(
        Suppression,
        st.sampled_from(["hard_bounce", "stop", "complaint", "manual"]),
        st.none() | brands,
    ),
    min_size=1,
    max_size=2,
).map(tuple)
suppressed_channels = st.frozensets(st.sampled_from(CHANNELS), max_size=1)


def offsets(hours: int) -> st.SearchStrategy[timedelta]:
    """Offsets within `hours` either way, on a 15-minute grid or to the second."""
    quarter = st.integers(-4 * hours, 4 * hours).map(lambda n: n * timedelta(minutes=15))
    anywhere = st.integers(-hours * 3600, hours * 3600).map(lambda n: n * timedelta(seconds=1))
    return quarter | anywhere


within_a_day = offsets(24)
within_days = offsets(60)
maybe_within_days = st.none() | within_days
later = st.none() | st.integers(1, 72 * 60).map(lambda n: n * timedelta(minutes=1))


def mapping(items: dict[str, T]) -> MappingProxyType[str, T]:
    return MappingProxyType(items)


def maybe_after(base: datetime, offset: timedelta | None) -> datetime | None:
    return None if offset is None else base + offset


@st.composite
def catalogs(draw: st.DrawFn) -> CatalogFacts:
    topics: dict[tuple[str, str], TopicFacts] = {}
    for brand in BRANDS:
        topics[(brand, "orders")] = TopicFacts(
            brand, "orders", "essential", None, None, draw(channel_sets)
        )
        for key in ("offers", "news"):
            topics[(brand, key)] = TopicFacts(
                brand,
                key,
                "marketing",
                draw(marketing_depths),
                draw(bases_of_law),
                draw(channel_sets),
                draw(versions),
            )
    return CatalogFacts(
        default_timezone=draw(zones),
        channels=mapping(
            {
                channel: ChannelDefaults(draw(quiets), draw(quiets))
                for channel in draw(some_channels)
            }
        ),
        brands=mapping(
            {brand: BrandFacts(brand, draw(depths), draw(maybe_caps)) for brand in BRANDS}
        ),
        topics=MappingProxyType(topics),
    )


@st.composite
def customers(draw: st.DrawFn, base: datetime) -> CustomerFacts:
    def topic_prefs() -> TopicPrefs:
        return TopicPrefs(
            draw(choices),
            draw(maybe_channel_sets),
            mapping(
                {
                    channel: ConsentFacts(
                        draw(versions), maybe_after(base, draw(maybe_within_days))
                    )
                    for channel in draw(some_channels)
                }
            ),
        )

    brand_prefs = {
        brand: BrandPrefs(
            draw(maybe_depths),
            draw(maybe_caps),
            maybe_after(base, draw(maybe_within_days)),
            mapping({key: topic_prefs() for key in draw(some_topics)}),
        )
        for brand in draw(some_brands)
    }
    return CustomerFacts(
        timezone=draw(maybe_zones),
        addresses=draw(addresses),
        suppressions=mapping(
            {channel: draw(suppressions) for channel in draw(suppressed_channels)}
        ),
        channels=mapping(
            {
                channel: ChannelPrefs(
                    draw(st.booleans()), draw(maybe_window_lists), draw(maybe_day_sets)
                )
                for channel in draw(some_channels)
            }
        ),
        no_marketing=draw(one_in_four),
        paused_until=maybe_after(base, draw(maybe_within_days)),
        global_cap=draw(maybe_caps),
        brands=mapping(brand_prefs),
    )


@dataclass(frozen=True)
class World:
    catalog: CatalogFacts
    customer: CustomerFacts
    sends: tuple[SendFacts, ...]
    request: DecisionRequest

    def decide(self, at: datetime | None = None) -> Decision:
        request = self.request
        if at is not None:
            request = DecisionRequest(request.brand, request.topic, request.channel, at)
        return decide(self.catalog, self.customer, self.sends, request)


send_lists = st.lists(st.tuples(brands, within_days), max_size=6)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    catalog = draw(catalogs())
    send_at = draw(bases) + draw(within_a_day)
    brand = draw(brands)
    topic = catalog.topics[(brand, draw(topic_keys))]
    channel = draw(st.sampled_from(sorted(topic.channels)))
    sends = tuple(SendFacts(key, send_at + offset) for key, offset in draw(send_lists))
    request = DecisionRequest(brand, topic.key, channel, send_at)
    customer = draw(customers(send_at))
    if draw(st.booleans()):
        customer = welcoming(draw, customer, request)
    return World(catalog, customer, sends, request)


def welcoming(draw: st.DrawFn, customer: CustomerFacts, request: DecisionRequest) -> CustomerFacts:
    """The customer with rules 2-9 passing for `request`, so that defer rules get exercised."""
    consent = ConsentFacts(3, maybe_after(request.send_at, draw(later)))  # may lapse meanwhile
    topic = TopicPrefs("on", consents=mapping({request.channel: consent}))
    brand = customer.brands.get(request.brand, BrandPrefs())
    brand = replace(
        brand,
        depth=draw(marketing_depths),
        topics=mapping({**brand.topics, request.topic: topic}),
    )
    return replace(
        customer,
        addresses=frozenset({"email", "sms"}),
        suppressions=mapping({}),
        channels=mapping(
            {key: replace(prefs, enabled=True) for key, prefs in customer.channels.items()}
        ),
        no_marketing=False,
        brands=mapping({**customer.brands, request.brand: brand}),
    )


def expected_denials(world: World) -> tuple[str, ...]:
    """Rules 2-10 read straight from the SPEC, independently of the engine's code."""
    catalog, customer, request = world.catalog, world.customer, world.request
    topic = catalog.topics[(request.brand, request.topic)]
    brand_prefs = customer.brands.get(request.brand, BrandPrefs())
    prefs = brand_prefs.topics.get(request.topic, TopicPrefs())
    channel = customer.channels.get(request.channel, ChannelPrefs())
    marketing = topic.kind == "marketing"
    found = []
    if request.channel != "in_app" and request.channel not in customer.addresses:
        found.append("no_address")
    blocking = {"hard_bounce", "stop", "manual"} | ({"complaint"} if marketing else set())
    if any(
        s.reason in blocking and s.brand in (None, request.brand)
        for s in customer.suppressions.get(request.channel, ())
    ):
        found.append("suppressed")
    if not channel.enabled:
        found.append("channel_off")
    if not marketing:
        return tuple(found)
    if customer.no_marketing:
        found.append("objected")
    if prefs.choice == "off":
        found.append("topic_off")
    if (
        prefs.choice == "on"
        and prefs.channels is not None
        and request.channel not in prefs.channels
    ):
        found.append("topic_channel_off")
    depth = brand_prefs.depth or catalog.brands[request.brand].default_depth
    assert topic.depth is not None
    if depth == "essentials" or (
        prefs.choice is None and DEPTH_ORDER[depth] < DEPTH_ORDER[topic.depth]
    ):
        found.append("beyond_depth")
    if topic.basis == "opt_in":
        consent = prefs.consents.get(request.channel)
        if consent is None or consent.notice_version < topic.min_notice_version:
            found.append("no_consent")
        elif consent.expires_at is not None and consent.expires_at <= request.send_at:
            found.append("consent_expired")
    return tuple(found)


PROPERTY = settings(max_examples=200, deadline=None, database=None)


@PROPERTY
@given(worlds())
def test_never_allowed_when_a_deny_rule_fails(world: World) -> None:
    decision = world.decide()
    expected = expected_denials(world)
    if expected:
        assert decision == Decision("deny", expected, None)
    else:
        assert decision.outcome != "deny"


@PROPERTY
@given(worlds(), st.integers(0, 1000))
def test_next_allowed_at_is_the_earliest_allowed_instant(world: World, permille: int) -> None:
    decision = world.decide()
    send_at = world.request.send_at
    if decision.outcome != "defer":
        assert decision.next_allowed_at is None
        assert (decision.outcome == "allow") is (decision.reasons == ())
        return
    assert decision.reasons
    assert set(decision.reasons) <= {"paused", "quiet_hours", "frequency_cap"}
    paused = [
        end
        for end in (
            world.customer.paused_until,
            world.customer.brands.get(world.request.brand, BrandPrefs()).paused_until,
        )
        if end is not None and end > send_at
    ]
    assert ("paused" in decision.reasons) is bool(paused)
    then = decision.next_allowed_at
    if then is None:  # quiet every moment: the customer's and legal quiet times leave no gap
        assert "quiet_hours" in decision.reasons
        return
    assert then.tzinfo is UTC
    assert then > send_at
    assert all(then >= end for end in paused)
    again = world.decide(then)
    if again.outcome == "deny":  # consent lapsed meanwhile: rule 10 is checked at send_at
        assert again.reasons == ("consent_expired",)
    else:
        assert again == Decision("allow", (), None)
    # Nothing earlier is allowed: just before, and somewhere in between.
    for earlier in (then - timedelta(microseconds=1), send_at + (then - send_at) * permille / 1001):
        if earlier >= send_at:
            assert world.decide(earlier).outcome != "allow"


@PROPERTY
@given(worlds())
def test_reasons_follow_the_spec_order(world: World) -> None:
    reasons = world.decide().reasons
    positions = [REASON_ORDER.index(reason) for reason in reasons]
    assert positions == sorted(set(positions))
