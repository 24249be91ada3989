"""Table-driven tests of decide(): each SPEC section 2 rule alone and together; factories."""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from app.consent.engine import (
    REASON_ORDER,
    BrandFacts,
    BrandPrefs,
    Cap,
    CatalogFacts,
    ChannelDefaults,
    ChannelPrefs,
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
from app.consent.engine.rules import DEFER_RULES, DENY_RULES, ESSENTIAL_DENY_RULES

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 2026-06-10, 12:00 in Berlin (CEST, UTC+2).
NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
NIGHT = QuietWindow(time(21, 0), time(8, 0))

TOPICS: Mapping[tuple[str, str], TopicFacts] = MappingProxyType(
    {
        ("acme", "orders"): TopicFacts(
            "acme", "orders", "essential", None, None, frozenset({"email", "sms", "in_app"})
        ),
        ("acme", "offers"): TopicFacts(
            "acme", "offers", "marketing", "regular", "opt_in", frozenset({"email", "sms"}), 2
        ),
        ("acme", "news"): TopicFacts(
            "acme", "news", "marketing", "light", "opt_out", frozenset({"email", "sms", "in_app"})
        ),
        ("acme", "club"): TopicFacts(
            "acme", "club", "marketing", "close", "opt_out", frozenset({"email"})
        ),
        ("beta", "deals"): TopicFacts(
            "beta", "deals", "marketing", "light", "opt_out", frozenset({"email", "sms"})
        ),
    }
)


def make_catalog(
    *,
    cap: Cap | None = None,
    default_depth: Depth = "light",
    channels: Mapping[str, ChannelDefaults] | None = None,
    timezone: ZoneInfo = BERLIN,
) -> CatalogFacts:
    """The test catalog: brands acme (optional policy cap) and beta, the TOPICS above."""
    return CatalogFacts(
        default_timezone=timezone,
        channels=MappingProxyType(dict(channels or {})),
        brands=MappingProxyType(
            {
                "acme": BrandFacts("acme", default_depth, cap),
                "beta": BrandFacts("beta", "light"),
            }
        ),
        topics=TOPICS,
    )


def make_customer(**changes: object) -> CustomerFacts:
    """A customer in Berlin with email and sms addresses and no preferences, then `changes`."""
    base = CustomerFacts(timezone=BERLIN, addresses=frozenset({"email", "sms"}))
    return replace(base, **changes)  # type: ignore[arg-type]


def acme(**changes: object) -> Mapping[str, BrandPrefs]:
    """The `brands` member with acme's preferences."""
    return MappingProxyType({"acme": replace(BrandPrefs(), **changes)})  # type: ignore[arg-type]


def topics(**prefs: TopicPrefs) -> Mapping[str, TopicPrefs]:
    """A brand's `topics` member."""
    return MappingProxyType(prefs)


def consents(**facts: ConsentFacts) -> Mapping[str, ConsentFacts]:
    """A topic's per-channel `consents` member."""
    return MappingProxyType(facts)


def suppressions(channel: str, *items: Suppression) -> Mapping[str, tuple[Suppression, ...]]:
    """The customer's `suppressions` member for one channel."""
    return MappingProxyType({channel: items})


def channels(**prefs: ChannelPrefs) -> Mapping[str, ChannelPrefs]:
    """The customer's `channels` member."""
    return MappingProxyType(prefs)


def ask(
    customer: CustomerFacts | None,
    topic: str = "news",
    channel: str = "email",
    *,
    brand: str = "acme",
    at: datetime = NOON,
    catalog: CatalogFacts | None = None,
    sends: Sequence[SendFacts] = (),
) -> Decision:
    """decide() with the test catalog by default."""
    return decide(
        catalog or make_catalog(), customer, sends, DecisionRequest(brand, topic, channel, at)
    )


ALLOW = Decision("allow", (), None)
# Consent to offers (min_notice_version 2) on email, opt_in, depth regular: allowed on email.
OFFERS_EMAIL = TopicPrefs(consents=consents(email=ConsentFacts(2, None)))
OFFERS_FAN = make_customer(brands=acme(depth="regular", topics=topics(offers=OFFERS_EMAIL)))


def with_offers(prefs: TopicPrefs, **changes: object) -> CustomerFacts:
    """OFFERS_FAN with other offers preferences (and brand preference changes)."""
    return make_customer(
        brands=acme(**{"depth": "regular", "topics": topics(offers=prefs), **changes})
    )


def deny(*reasons: str) -> Decision:
    return Decision("deny", reasons, None)


def test_unknown_customer_is_reported_alone() -> None:
    assert ask(None) == deny("unknown_customer")
    assert ask(None, "orders") == deny("unknown_customer")


def test_naive_send_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ask(make_customer(), at=NOON.replace(tzinfo=None))


def test_rule_tables_follow_the_spec_order() -> None:
    assert REASON_ORDER == (
        "unknown_customer",
        "no_address",
        "suppressed",
        "channel_off",
        "objected",
        "topic_off",
        "topic_channel_off",
        "beyond_depth",
        "no_consent",
        "consent_expired",
        "paused",
        "quiet_hours",
        "frequency_cap",
    )
    for name, rule in (*DENY_RULES, *DEFER_RULES):
        assert rule.__name__ == name
        assert rule.__doc__ is not None
        assert f"Rule {REASON_ORDER.index(name) + 1}:" in rule.__doc__
    assert [name for name, _ in ESSENTIAL_DENY_RULES] == ["no_address", "suppressed", "channel_off"]


DENY_CASES = [
    # (id, customer, topic, channel, expected)
    ("baseline-news", make_customer(), "news", "email", ALLOW),
    ("baseline-offers", OFFERS_FAN, "offers", "email", ALLOW),
    (
        "no-address",
        make_customer(addresses=frozenset({"sms"})),
        "news",
        "email",
        deny("no_address"),
    ),
    (
        "no-address-sms",
        make_customer(addresses=frozenset({"email"})),
        "news",
        "sms",
        deny("no_address"),
    ),
    ("in-app-needs-no-address", make_customer(addresses=frozenset()), "news", "in_app", ALLOW),
    (
        "suppressed-hard-bounce",
        make_customer(suppressions=suppressions("email", Suppression("hard_bounce"))),
        "news",
        "email",
        deny("suppressed"),
    ),
    (
        "suppressed-stop-this-brand",
        make_customer(suppressions=suppressions("email", Suppression("stop", "acme"))),
        "news",
        "email",
        deny("suppressed"),
    ),
    (
        "suppressed-manual",
        make_customer(suppressions=suppressions("email", Suppression("manual"))),
        "news",
        "email",
        deny("suppressed"),
    ),
    (
        "suppressed-complaint-marketing",
        make_customer(suppressions=suppressions("email", Suppression("complaint"))),
        "news",
        "email",
        deny("suppressed"),
    ),
    (
        "suppression-of-other-brand",
        make_customer(suppressions=suppressions("email", Suppression("hard_bounce", "beta"))),
        "news",
        "email",
        ALLOW,
    ),
    (
        "suppression-of-other-channel",
        make_customer(suppressions=suppressions("sms", Suppression("hard_bounce"))),
        "news",
        "email",
        ALLOW,
    ),
    (
        "channel-off",
        make_customer(channels=channels(email=ChannelPrefs(enabled=False))),
        "news",
        "email",
        deny("channel_off"),
    ),
    (
        "other-channel-off",
        make_customer(channels=channels(sms=ChannelPrefs(enabled=False))),
        "news",
        "email",
        ALLOW,
    ),
    ("objected", make_customer(no_marketing=True), "news", "email", deny("objected")),
    (
        "topic-off",
        make_customer(brands=acme(topics=topics(news=TopicPrefs(choice="off")))),
        "news",
        "email",
        deny("topic_off"),
    ),
    (
        "other-topic-off",
        make_customer(brands=acme(topics=topics(club=TopicPrefs(choice="off")))),
        "news",
        "email",
        ALLOW,
    ),
    (
        "topic-channel-off",
        make_customer(brands=acme(topics=topics(news=TopicPrefs("on", frozenset({"sms"}))))),
        "news",
        "email",
        deny("topic_channel_off"),
    ),
    (
        "topic-on-for-channel",
        make_customer(brands=acme(topics=topics(news=TopicPrefs("on", frozenset({"email"}))))),
        "news",
        "email",
        ALLOW,
    ),
    (
        "topic-on-all-channels",
        make_customer(brands=acme(topics=topics(news=TopicPrefs("on")))),
        "news",
        "sms",
        ALLOW,
    ),
    (
        "beyond-default-depth",
        make_customer(),
        "club",
        "email",
        deny("beyond_depth"),
    ),
    (
        "within-chosen-depth",
        make_customer(brands=acme(depth="close")),
        "club",
        "email",
        ALLOW,
    ),
    (
        "beyond-chosen-depth",
        make_customer(brands=acme(depth="regular")),
        "club",
        "email",
        deny("beyond_depth"),
    ),
    (
        "topic-on-beyond-depth",
        make_customer(brands=acme(topics=topics(club=TopicPrefs("on")))),
        "club",
        "email",
        ALLOW,
    ),
    (
        "depth-essentials",
        make_customer(brands=acme(depth="essentials")),
        "news",
        "email",
        deny("beyond_depth"),
    ),
    (
        "depth-essentials-topic-on",
        make_customer(brands=acme(depth="essentials", topics=topics(news=TopicPrefs("on")))),
        "news",
        "email",
        deny("beyond_depth"),
    ),
    (
        "depth-of-other-brand",
        make_customer(brands=MappingProxyType({"beta": BrandPrefs(depth="essentials")})),
        "news",
        "email",
        ALLOW,
    ),
    (
        "no-consent",
        make_customer(brands=acme(depth="regular")),
        "offers",
        "email",
        deny("no_consent"),
    ),
    ("consent-on-email-not-sms", OFFERS_FAN, "offers", "sms", deny("no_consent")),
    (
        "consent-to-old-notice",
        with_offers(TopicPrefs(consents=consents(email=ConsentFacts(1, None)))),
        "offers",
        "email",
        deny("no_consent"),
    ),
    (
        "consent-to-newer-notice",
        with_offers(TopicPrefs(consents=consents(email=ConsentFacts(3, None)))),
        "offers",
        "email",
        ALLOW,
    ),
    (
        "consent-expired-at-send-at",
        with_offers(TopicPrefs(consents=consents(email=ConsentFacts(2, NOON)))),
        "offers",
        "email",
        deny("consent_expired"),
    ),
    (
        "consent-expired-before",
        with_offers(TopicPrefs(consents=consents(email=ConsentFacts(2, NOON - DAY)))),
        "offers",
        "email",
        deny("consent_expired"),
    ),
    (
        "consent-expires-after",
        with_offers(
            TopicPrefs(consents=consents(email=ConsentFacts(2, NOON + timedelta(microseconds=1))))
        ),
        "offers",
        "email",
        ALLOW,
    ),
    (
        "expired-consent-to-old-notice-is-no-consent",
        with_offers(TopicPrefs(consents=consents(email=ConsentFacts(1, NOON - DAY)))),
        "offers",
        "email",
        deny("no_consent"),
    ),
    (
        "opt-out-needs-no-consent",
        make_customer(brands=acme(depth="close")),
        "club",
        "email",
        ALLOW,
    ),
]


@pytest.mark.parametrize(
    ("customer", "topic", "channel", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in DENY_CASES],
)
def test_deny_rule_alone(
    customer: CustomerFacts, topic: str, channel: str, expected: Decision
) -> None:
    assert ask(customer, topic, channel) == expected


def test_catalog_default_depth_applies_without_a_choice() -> None:
    regular = make_catalog(default_depth="regular")
    customer = make_customer(brands=acme(topics=topics(offers=OFFERS_EMAIL)))
    assert ask(customer, "offers", catalog=regular) == ALLOW
    assert ask(customer, "offers") == deny("beyond_depth")


def test_every_deny_reason_with_topic_off_in_order() -> None:
    customer = make_customer(
        addresses=frozenset({"sms"}),
        suppressions=suppressions("email", Suppression("complaint", "acme")),
        channels=channels(email=ChannelPrefs(enabled=False)),
        no_marketing=True,
        brands=acme(depth="essentials", topics=topics(offers=TopicPrefs(choice="off"))),
    )
    expected = (
        "no_address",
        "suppressed",
        "channel_off",
        "objected",
        "topic_off",
        "beyond_depth",
        "no_consent",
    )
    assert ask(customer, "offers") == deny(*expected)


def test_every_deny_reason_with_topic_on_in_order() -> None:
    on_sms = TopicPrefs("on", frozenset({"sms"}), consents(email=ConsentFacts(2, NOON - HOUR)))
    customer = make_customer(
        addresses=frozenset(),
        suppressions=suppressions("email", Suppression("stop")),
        channels=channels(email=ChannelPrefs(enabled=False)),
        no_marketing=True,
        brands=acme(depth="essentials", paused_until=NOON + DAY, topics=topics(offers=on_sms)),
    )
    expected = (
        "no_address",
        "suppressed",
        "channel_off",
        "objected",
        "topic_channel_off",
        "beyond_depth",
        "consent_expired",
    )
    assert ask(customer, "offers") == deny(*expected)


def test_a_deny_hides_every_defer_rule() -> None:
    customer = make_customer(
        no_marketing=True,
        paused_until=NOON + DAY,
        global_cap=Cap(1, 7),
        channels=channels(email=ChannelPrefs(quiet_hours=(QuietWindow(time(11), time(13)),))),
    )
    sends = [SendFacts("acme", NOON - HOUR)]
    assert ask(customer, sends=sends) == deny("objected")


ESSENTIAL_CASES = [
    ("allowed", make_customer(), ALLOW),
    ("no-address", make_customer(addresses=frozenset({"sms"})), deny("no_address")),
    (
        "hard-bounce",
        make_customer(suppressions=suppressions("email", Suppression("hard_bounce"))),
        deny("suppressed"),
    ),
    (
        "stop",
        make_customer(suppressions=suppressions("email", Suppression("stop", "acme"))),
        deny("suppressed"),
    ),
    (
        "manual",
        make_customer(suppressions=suppressions("email", Suppression("manual"))),
        deny("suppressed"),
    ),
    (
        "complaint-does-not-block-essential",
        make_customer(suppressions=suppressions("email", Suppression("complaint"))),
        ALLOW,
    ),
    (
        "channel-off",
        make_customer(channels=channels(email=ChannelPrefs(enabled=False))),
        deny("channel_off"),
    ),
    (
        "marketing-settings-do-not-apply",
        make_customer(
            no_marketing=True,
            paused_until=NOON + DAY,
            global_cap=Cap(1, 7),
            channels=channels(email=ChannelPrefs(quiet_days=frozenset(range(7)))),
            brands=acme(
                depth="essentials",
                cap=Cap(1, 1),
                paused_until=NOON + DAY,
                topics=topics(orders=TopicPrefs(choice="off")),
            ),
        ),
        ALLOW,
    ),
    (
        "all-three",
        make_customer(
            addresses=frozenset(),
            suppressions=suppressions("email", Suppression("hard_bounce")),
            channels=channels(email=ChannelPrefs(enabled=False)),
            no_marketing=True,
        ),
        deny("no_address", "suppressed", "channel_off"),
    ),
]


@pytest.mark.parametrize(
    ("customer", "expected"), [pytest.param(*case[1:], id=case[0]) for case in ESSENTIAL_CASES]
)
def test_essential_topics_stop_after_rule_4(customer: CustomerFacts, expected: Decision) -> None:
    legal = make_catalog(
        cap=Cap(1, 30),
        channels={"email": ChannelDefaults(legal=Quiet(days=frozenset(range(7))))},
    )
    sends = [SendFacts("acme", NOON - HOUR)]
    assert ask(customer, "orders", catalog=legal, sends=sends) == expected


def test_essential_on_addressless_in_app() -> None:
    assert ask(make_customer(addresses=frozenset()), "orders", "in_app") == ALLOW


# ----- defer rules ---------------------------------------------------------------------------

QUIET_NOON = channels(email=ChannelPrefs(quiet_hours=(QuietWindow(time(11), time(13)),)))


def defer(at: datetime, *reasons: str) -> Decision:
    return Decision("defer", reasons, at)


DEFER_CASES = [
    # (id, customer, sends, expected)
    ("paused", make_customer(paused_until=NOON + DAY), (), defer(NOON + DAY, "paused")),
    ("pause-ended", make_customer(paused_until=NOON), (), ALLOW),
    ("pause-ended-before", make_customer(paused_until=NOON - DAY), (), ALLOW),
    (
        "brand-paused",
        make_customer(brands=acme(paused_until=NOON + HOUR)),
        (),
        defer(NOON + HOUR, "paused"),
    ),
    (
        "other-brand-paused",
        make_customer(brands=MappingProxyType({"beta": BrandPrefs(paused_until=NOON + DAY)})),
        (),
        ALLOW,
    ),
    (
        "global-pause-later-wins",
        make_customer(paused_until=NOON + DAY, brands=acme(paused_until=NOON + HOUR)),
        (),
        defer(NOON + DAY, "paused"),
    ),
    (
        "brand-pause-later-wins",
        make_customer(paused_until=NOON + HOUR, brands=acme(paused_until=NOON + DAY)),
        (),
        defer(NOON + DAY, "paused"),
    ),
    (
        "quiet",
        make_customer(channels=QUIET_NOON),
        (),
        defer(NOON + HOUR, "quiet_hours"),  # 13:00 Berlin
    ),
    (
        "quiet-on-other-channel",
        make_customer(channels=channels(sms=ChannelPrefs(quiet_days=frozenset({2})))),
        (),
        ALLOW,
    ),
    (
        "global-cap",
        make_customer(global_cap=Cap(1, 7)),
        (SendFacts("beta", NOON - DAY),),
        defer(NOON + 6 * DAY, "frequency_cap"),
    ),
    (
        "brand-cap",
        make_customer(brands=acme(cap=Cap(2, 1))),
        (SendFacts("acme", NOON - 2 * HOUR), SendFacts("acme", NOON - HOUR)),
        defer(NOON + 22 * HOUR, "frequency_cap"),
    ),
    (
        "brand-cap-ignores-other-brands",
        make_customer(brands=acme(cap=Cap(1, 1))),
        (SendFacts("beta", NOON - HOUR),),
        ALLOW,
    ),
    (
        "pause-quiet-cap-together",
        make_customer(
            paused_until=NOON + 2 * HOUR,
            channels=QUIET_NOON,
            global_cap=Cap(1, 1),
        ),
        (SendFacts("beta", NOON - HOUR),),
        # Pause ends 14:00, the cap frees 11:00 tomorrow, which is quiet until 13:00.
        defer(NOON + 25 * HOUR, "paused", "quiet_hours", "frequency_cap"),
    ),
]


@pytest.mark.parametrize(
    ("customer", "sends", "expected"), [pytest.param(*case[1:], id=case[0]) for case in DEFER_CASES]
)
def test_defer_rule(
    customer: CustomerFacts, sends: Sequence[SendFacts], expected: Decision
) -> None:
    decision = ask(customer, sends=sends)
    assert decision == expected
    if decision.next_allowed_at is not None:
        assert decision.next_allowed_at.tzinfo is UTC
        assert ask(customer, sends=sends, at=decision.next_allowed_at) == ALLOW


def test_brand_policy_cap_counts_this_brand_only() -> None:
    capped = make_catalog(cap=Cap(1, 2))
    sends = [SendFacts("beta", NOON - HOUR), SendFacts("acme", NOON - DAY)]
    assert ask(make_customer(), catalog=capped, sends=sends) == defer(NOON + DAY, "frequency_cap")
    assert ask(make_customer(), catalog=capped, sends=sends[:1]) == ALLOW


def test_brand_caps_and_global_cap_all_apply() -> None:
    # Policy 3 per 7 days, the customer's brand cap 1 per day, global 2 per 2 days.
    capped = make_catalog(cap=Cap(3, 7))
    customer = make_customer(global_cap=Cap(2, 2), brands=acme(cap=Cap(1, 1)))
    sends = [SendFacts("acme", NOON - 3 * HOUR), SendFacts("beta", NOON + 30 * HOUR)]
    # Brand cap frees NOON + 21h; the global cap then holds acme@-3h, the new one and beta@+30h
    # inside [NOON - 3h, NOON + 45h): free again at NOON + 45h, where the brand cap fits too.
    decision = ask(customer, catalog=capped, sends=sends)
    assert decision == defer(NOON + 45 * HOUR, "frequency_cap")


def test_future_reservations_count_against_caps() -> None:
    customer = make_customer(global_cap=Cap(1, 1))
    later = [SendFacts("acme", NOON + 12 * HOUR)]
    # The reservation 12 h ahead is within a day: nothing fits until its window has passed.
    assert ask(customer, sends=later) == defer(NOON + 36 * HOUR, "frequency_cap")
    assert ask(customer, sends=later, at=NOON - 12 * HOUR) == ALLOW


def test_pause_end_inside_quiet_hours_moves_to_quiet_end() -> None:
    customer = make_customer(paused_until=datetime(2026, 6, 10, 21, 0, tzinfo=UTC))  # 23:00
    night = make_catalog(channels={"email": ChannelDefaults(quiet=Quiet(hours=(NIGHT,)))})
    decision = ask(customer, catalog=night)
    assert decision == defer(datetime(2026, 6, 11, 6, 0, tzinfo=UTC), "paused")


def test_quiet_end_inside_cap_window_moves_to_cap_fit() -> None:
    night = make_catalog(channels={"email": ChannelDefaults(quiet=Quiet(hours=(NIGHT,)))})
    customer = make_customer(global_cap=Cap(1, 1))
    sends = [SendFacts("acme", datetime(2026, 6, 10, 7, 0, tzinfo=UTC))]  # 09:00 Berlin
    at = datetime(2026, 6, 10, 20, 0, tzinfo=UTC)  # 22:00 Berlin
    decision = ask(customer, catalog=night, sends=sends, at=at)
    # Quiet ends at 08:00 (06:00Z) but the cap waits for 09:00 (07:00Z).
    expected = defer(datetime(2026, 6, 11, 7, 0, tzinfo=UTC), "quiet_hours", "frequency_cap")
    assert decision == expected


def test_cap_fit_inside_quiet_hours_moves_to_quiet_end() -> None:
    night = make_catalog(channels={"email": ChannelDefaults(quiet=Quiet(hours=(NIGHT,)))})
    customer = make_customer(global_cap=Cap(1, 1))
    sends = [SendFacts("beta", datetime(2026, 6, 9, 19, 30, tzinfo=UTC))]  # 21:30 Berlin
    decision = ask(customer, catalog=night, sends=sends)
    assert decision == defer(datetime(2026, 6, 11, 6, 0, tzinfo=UTC), "frequency_cap")


def test_send_at_in_another_offset_gives_next_allowed_at_in_utc() -> None:
    customer = make_customer(paused_until=NOON + DAY)
    at = NOON.astimezone(NEW_YORK)
    decision = ask(customer, at=at)
    assert decision == defer(NOON + DAY, "paused")
    assert decision.next_allowed_at is not None
    assert decision.next_allowed_at.tzinfo is UTC


def test_quiet_forever_defers_without_next_allowed_at() -> None:
    customer = make_customer(channels=channels(email=ChannelPrefs(quiet_days=frozenset(range(7)))))
    assert ask(customer) == Decision("defer", ("quiet_hours",), None)


def test_consent_lapsing_before_next_allowed_at_denies_then() -> None:
    customer = with_offers(
        TopicPrefs(consents=consents(email=ConsentFacts(2, NOON + HOUR))),
        paused_until=NOON + DAY,
    )
    decision = ask(customer, "offers")
    assert decision == defer(NOON + DAY, "paused")
    assert ask(customer, "offers", at=NOON + DAY) == deny("consent_expired")
