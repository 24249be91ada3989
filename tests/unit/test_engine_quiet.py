"""Quiet hours and days: windows, days, defaults, legal times, time zones and DST changes."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from app.consent.engine import (
    ChannelDefaults,
    ChannelPrefs,
    CustomerFacts,
    Decision,
    Quiet,
    QuietWindow,
    local_instant,
)
from app.consent.engine.quiet import is_quiet, local_instants, quiet_end, window_covers
from tests.unit.test_engine_rules import ALLOW, NEW_YORK, ask, channels, make_catalog, make_customer

BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def window(start: str, end: str) -> QuietWindow:
    return QuietWindow(time.fromisoformat(start), time.fromisoformat(end))


def hours(*spans: tuple[str, str]) -> Quiet:
    return Quiet(hours=tuple(window(*span) for span in spans))


NIGHT = window("21:00", "08:00")
SUN = 6
SAT = 5


@pytest.mark.parametrize(
    ("start", "end", "wall", "covered"),
    [
        pytest.param("21:00", "08:00", "20:59", False, id="night-before-start"),
        pytest.param("21:00", "08:00", "21:00", True, id="night-start-included"),
        pytest.param("21:00", "08:00", "23:59:59", True, id="night-before-midnight"),
        pytest.param("21:00", "08:00", "00:00", True, id="night-midnight"),
        pytest.param("21:00", "08:00", "07:59:59.999999", True, id="night-just-before-end"),
        pytest.param("21:00", "08:00", "08:00", False, id="night-end-excluded"),
        pytest.param("21:00", "08:00", "12:00", False, id="night-midday"),
        pytest.param("11:00", "13:00", "10:59", False, id="day-before"),
        pytest.param("11:00", "13:00", "11:00", True, id="day-start"),
        pytest.param("11:00", "13:00", "12:59", True, id="day-inside"),
        pytest.param("11:00", "13:00", "13:00", False, id="day-end"),
        pytest.param("00:00", "06:00", "00:00", True, id="from-midnight"),
        pytest.param("00:00", "06:00", "06:00", False, id="from-midnight-end"),
        pytest.param("22:00", "00:00", "23:59", True, id="to-midnight"),
        pytest.param("22:00", "00:00", "00:00", False, id="to-midnight-end"),
    ],
)
def test_window_covers(start: str, end: str, wall: str, covered: bool) -> None:
    assert window_covers(window(start, end), time.fromisoformat(wall)) is covered


@pytest.mark.parametrize(
    ("tz", "day", "wall", "expected"),
    [
        pytest.param(BERLIN, date(2026, 6, 10), "12:00", utc(2026, 6, 10, 10), id="berlin-summer"),
        pytest.param(BERLIN, date(2026, 1, 10), "12:00", utc(2026, 1, 10, 11), id="berlin-winter"),
        pytest.param(BERLIN, date(2026, 3, 29), "01:59", utc(2026, 3, 29, 0, 59), id="before-gap"),
        pytest.param(BERLIN, date(2026, 3, 29), "02:00", utc(2026, 3, 29, 1), id="gap-start"),
        pytest.param(BERLIN, date(2026, 3, 29), "02:30", utc(2026, 3, 29, 1), id="in-gap"),
        pytest.param(BERLIN, date(2026, 3, 29), "02:59", utc(2026, 3, 29, 1), id="gap-end"),
        pytest.param(BERLIN, date(2026, 3, 29), "03:00", utc(2026, 3, 29, 1), id="after-gap"),
        pytest.param(BERLIN, date(2026, 10, 25), "02:00", utc(2026, 10, 25, 0), id="repeat-start"),
        pytest.param(BERLIN, date(2026, 10, 25), "02:30", utc(2026, 10, 25, 0, 30), id="repeated"),
        pytest.param(BERLIN, date(2026, 10, 25), "03:00", utc(2026, 10, 25, 2), id="after-repeat"),
        pytest.param(NEW_YORK, date(2026, 3, 8), "02:30", utc(2026, 3, 8, 7), id="ny-gap"),
        pytest.param(NEW_YORK, date(2026, 11, 1), "01:30", utc(2026, 11, 1, 5, 30), id="ny-repeat"),
        pytest.param(SANTIAGO, date(2026, 9, 6), "00:00", utc(2026, 9, 6, 4), id="midnight-gap"),
    ],
)
def test_local_instant(tz: ZoneInfo, day: date, wall: str, expected: datetime) -> None:
    assert local_instant(day, time.fromisoformat(wall), tz) == expected


def test_local_instants_are_none_in_a_gap_and_two_when_repeated() -> None:
    assert local_instants(date(2026, 3, 29), time(2, 30), BERLIN) == ()
    assert local_instants(date(2026, 10, 25), time(2, 30), BERLIN) == (
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
    )
    assert local_instants(date(2026, 6, 10), time(2, 30), BERLIN) == (utc(2026, 6, 10, 0, 30),)


QUIET_END_CASES = [
    # (id, tz, quiet, at, expected end)
    ("not-quiet", BERLIN, Quiet(hours=(NIGHT,)), utc(2026, 6, 10, 10), utc(2026, 6, 10, 10)),
    ("no-quiet-at-all", BERLIN, Quiet(), utc(2026, 6, 10, 22), utc(2026, 6, 10, 22)),
    ("night-evening", BERLIN, Quiet(hours=(NIGHT,)), utc(2026, 6, 10, 20), utc(2026, 6, 11, 6)),
    ("night-morning", BERLIN, Quiet(hours=(NIGHT,)), utc(2026, 6, 11, 5), utc(2026, 6, 11, 6)),
    ("night-winter", BERLIN, Quiet(hours=(NIGHT,)), utc(2026, 1, 10, 21), utc(2026, 1, 11, 7)),
    # Spring forward in Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00Z.
    (
        "spring-end-in-gap",
        BERLIN,
        hours(("22:00", "02:30")),
        utc(2026, 3, 28, 22, 30),
        utc(2026, 3, 29, 1),
    ),
    (
        "spring-end-at-gap-start",
        BERLIN,
        hours(("22:00", "02:00")),
        utc(2026, 3, 28, 22, 30),
        utc(2026, 3, 29, 1),
    ),
    (
        "spring-end-at-gap-end",
        BERLIN,
        hours(("22:00", "03:00")),
        utc(2026, 3, 28, 22, 30),
        utc(2026, 3, 29, 1),
    ),
    (
        "spring-end-after-gap",
        BERLIN,
        hours(("22:00", "04:00")),
        utc(2026, 3, 28, 22, 30),
        utc(2026, 3, 29, 2),
    ),
    (
        "spring-start-in-gap",
        BERLIN,
        hours(("02:30", "06:00")),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 29, 4),
    ),
    # Fall back in Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00Z.
    (
        "fall-end-repeated-first-occurrence",
        BERLIN,
        hours(("22:00", "02:30")),
        utc(2026, 10, 24, 21),
        utc(2026, 10, 25, 0, 30),
    ),
    (
        "fall-in-second-occurrence",
        BERLIN,
        hours(("22:00", "02:30")),
        utc(2026, 10, 25, 1, 10),
        utc(2026, 10, 25, 1, 30),
    ),
    (
        "fall-window-reentered",
        BERLIN,
        hours(("01:00", "02:30")),
        utc(2026, 10, 25, 1),
        utc(2026, 10, 25, 1, 30),
    ),
    (
        "fall-end-after-repeat",
        BERLIN,
        hours(("22:00", "03:00")),
        utc(2026, 10, 24, 21),
        utc(2026, 10, 25, 2),
    ),
    (
        "fall-window-left-by-the-clock-going-back",
        BERLIN,
        hours(("02:30", "05:00")),
        utc(2026, 10, 25, 0, 45),
        utc(2026, 10, 25, 1),
    ),
    # New York, 2026-03-08 02:00 EST -> 03:00 EDT at 07:00Z; 2026-11-01 02:00 EDT -> 01:00 EST.
    (
        "ny-spring-end-in-gap",
        NEW_YORK,
        hours(("22:00", "02:30")),
        utc(2026, 3, 8, 4),
        utc(2026, 3, 8, 7),
    ),
    (
        "ny-spring-end-after-gap",
        NEW_YORK,
        Quiet(hours=(NIGHT,)),
        utc(2026, 3, 8, 4),
        utc(2026, 3, 8, 12),
    ),
    (
        "ny-fall-end-repeated",
        NEW_YORK,
        hours(("21:00", "01:30")),
        utc(2026, 11, 1, 2),
        utc(2026, 11, 1, 5, 30),
    ),
    (
        "ny-fall-end-after-repeat",
        NEW_YORK,
        Quiet(hours=(NIGHT,)),
        utc(2026, 11, 1, 2),
        utc(2026, 11, 1, 13),
    ),
    # Quiet days end at the next local midnight.
    ("sunday", BERLIN, Quiet(days=frozenset({SUN})), utc(2026, 6, 14, 10), utc(2026, 6, 14, 22)),
    (
        "sunday-spring-forward",
        BERLIN,
        Quiet(days=frozenset({SUN})),
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 22),
    ),
    (
        "sunday-fall-back",
        BERLIN,
        Quiet(days=frozenset({SUN})),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 23),
    ),
    (
        "weekend",
        BERLIN,
        Quiet(days=frozenset({SAT, SUN})),
        utc(2026, 6, 12, 22, 30),
        utc(2026, 6, 14, 22),
    ),
    (
        "day-then-night",
        BERLIN,
        Quiet(hours=(NIGHT,), days=frozenset({SUN})),
        utc(2026, 6, 13, 20),
        utc(2026, 6, 15, 6),
    ),
    (
        "day-before-midnight-gap",
        SANTIAGO,
        Quiet(days=frozenset({SAT})),
        utc(2026, 9, 5, 15),
        utc(2026, 9, 6, 4),
    ),
    (
        "day-with-midnight-replayed",
        SANTIAGO,
        Quiet(days=frozenset({SAT})),
        utc(2026, 4, 4, 15),
        utc(2026, 4, 5, 4),
    ),
    # Windows chain and overlap.
    (
        "chained-windows",
        BERLIN,
        hours(("21:00", "23:00"), ("23:00", "01:00")),
        utc(2026, 6, 10, 19, 30),
        utc(2026, 6, 10, 23),
    ),
    (
        "overlapping-windows",
        BERLIN,
        hours(("20:00", "22:00"), ("21:00", "23:00")),
        utc(2026, 6, 10, 18, 30),
        utc(2026, 6, 10, 21),
    ),
    (
        "window-then-day",
        BERLIN,
        Quiet(hours=(window("20:00", "00:00"),), days=frozenset({SAT})),
        utc(2026, 6, 12, 19),
        utc(2026, 6, 13, 22),
    ),
]


@pytest.mark.parametrize(
    ("tz", "quiet", "at", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in QUIET_END_CASES],
)
def test_quiet_end(tz: ZoneInfo, quiet: Quiet, at: datetime, expected: datetime) -> None:
    end = quiet_end(at, tz, quiet)
    assert end == expected
    assert not is_quiet(expected, tz, quiet)
    assert is_quiet(at, tz, quiet) is (at != expected)


@pytest.mark.parametrize(
    "quiet",
    [
        pytest.param(Quiet(days=frozenset(range(7))), id="every-day"),
        pytest.param(hours(("00:00", "12:00"), ("12:00", "00:00")), id="every-hour"),
        pytest.param(
            Quiet(hours=(window("08:00", "20:00"),), days=frozenset({0, 1, 2, 3, 4, 5, 6})),
            id="both",
        ),
    ],
)
def test_quiet_that_never_ends(quiet: Quiet) -> None:
    assert quiet_end(utc(2026, 6, 10, 10), BERLIN, quiet) is None


def test_fall_back_reenters_a_window_that_had_ended() -> None:
    quiet = hours(("01:00", "02:30"))
    assert not is_quiet(utc(2026, 10, 25, 0, 40), BERLIN, quiet)  # 02:40 CEST
    assert is_quiet(utc(2026, 10, 25, 1, 0), BERLIN, quiet)  # 02:00 CET


# ----- through decide(): whose quiet times apply ---------------------------------------------

AT_22 = utc(2026, 6, 10, 20)  # Wednesday 22:00 in Berlin
AT_08 = utc(2026, 6, 11, 6)  # Thursday 08:00 in Berlin


def catalog_quiet(*, default: Quiet = Quiet(), legal: Quiet = Quiet()) -> ChannelDefaults:
    return ChannelDefaults(quiet=default, legal=legal)


def defer_until(at: datetime) -> Decision:
    return Decision("defer", ("quiet_hours",), at)


SOURCE_CASES = [
    # (id, channel defaults, customer's channel prefs or None, at, expected)
    ("no-quiet", catalog_quiet(), None, AT_22, ALLOW),
    (
        "catalog-default",
        catalog_quiet(default=Quiet(hours=(NIGHT,))),
        None,
        AT_22,
        defer_until(AT_08),
    ),
    (
        "customer-empty-hours-mean-none",
        catalog_quiet(default=Quiet(hours=(NIGHT,))),
        ChannelPrefs(quiet_hours=()),
        AT_22,
        ALLOW,
    ),
    (
        "customer-own-hours-replace-default",
        catalog_quiet(default=Quiet(hours=(NIGHT,))),
        ChannelPrefs(quiet_hours=(window("23:00", "07:00"),)),
        AT_22,
        ALLOW,
    ),
    (
        "customer-own-hours",
        catalog_quiet(default=Quiet(hours=(NIGHT,))),
        ChannelPrefs(quiet_hours=(window("21:30", "09:00"),)),
        AT_22,
        defer_until(utc(2026, 6, 11, 7)),
    ),
    (
        "legal-despite-customer-empty",
        catalog_quiet(legal=Quiet(hours=(NIGHT,))),
        ChannelPrefs(quiet_hours=()),
        AT_22,
        defer_until(AT_08),
    ),
    (
        "legal-and-customer-together",
        catalog_quiet(legal=Quiet(hours=(window("21:00", "07:00"),))),
        ChannelPrefs(quiet_hours=(window("06:00", "09:00"),)),
        AT_22,
        defer_until(utc(2026, 6, 11, 7)),
    ),
    (
        "catalog-default-days",
        catalog_quiet(default=Quiet(days=frozenset({2}))),
        None,
        AT_22,
        defer_until(utc(2026, 6, 10, 22)),
    ),
    (
        "customer-empty-days-mean-none",
        catalog_quiet(default=Quiet(days=frozenset({2}))),
        ChannelPrefs(quiet_days=frozenset()),
        AT_22,
        ALLOW,
    ),
    (
        "customer-days-keep-default-hours",
        catalog_quiet(default=Quiet(hours=(NIGHT,))),
        ChannelPrefs(quiet_days=frozenset({3})),
        AT_22,
        defer_until(utc(2026, 6, 12, 6)),  # night, Thursday, night again: Friday 08:00
    ),
    (
        "legal-days-despite-customer-empty",
        catalog_quiet(legal=Quiet(days=frozenset({2}))),
        ChannelPrefs(quiet_days=frozenset()),
        AT_22,
        defer_until(utc(2026, 6, 10, 22)),
    ),
]


@pytest.mark.parametrize(
    ("defaults", "prefs", "at", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in SOURCE_CASES],
)
def test_whose_quiet_times_apply(
    defaults: ChannelDefaults, prefs: ChannelPrefs | None, at: datetime, expected: Decision
) -> None:
    catalog = make_catalog(channels={"email": defaults, "sms": ChannelDefaults()})
    customer = make_customer(channels=channels(email=prefs) if prefs else channels())
    assert ask(customer, catalog=catalog, at=at) == expected
    assert ask(customer, "news", "sms", catalog=catalog, at=at) == ALLOW
    if expected.next_allowed_at is not None:
        assert ask(customer, catalog=catalog, at=expected.next_allowed_at) == ALLOW


@pytest.mark.parametrize(
    ("customer_tz", "catalog_tz", "expected"),
    [
        pytest.param(BERLIN, NEW_YORK, ALLOW, id="customer-zone"),
        pytest.param(None, NEW_YORK, defer_until(utc(2026, 6, 10, 12)), id="catalog-default"),
        pytest.param(None, BERLIN, ALLOW, id="catalog-default-berlin"),
        pytest.param(NEW_YORK, BERLIN, defer_until(utc(2026, 6, 10, 12)), id="customer-ny"),
    ],
)
def test_time_zone_of_the_customer_or_the_catalog(
    customer_tz: ZoneInfo | None, catalog_tz: ZoneInfo, expected: Decision
) -> None:
    catalog = make_catalog(
        timezone=catalog_tz, channels={"email": catalog_quiet(default=Quiet(hours=(NIGHT,)))}
    )
    customer: CustomerFacts = make_customer(timezone=customer_tz)
    # 10:00Z: 12:00 in Berlin, 06:00 in New York.
    assert ask(customer, catalog=catalog, at=utc(2026, 6, 10, 10)) == expected


@pytest.mark.parametrize(
    ("tz", "window_", "at", "expected"),
    [
        pytest.param(
            BERLIN, ("22:00", "02:30"), utc(2026, 3, 28, 22), utc(2026, 3, 29, 1), id="berlin-gap"
        ),
        pytest.param(
            BERLIN,
            ("22:00", "02:30"),
            utc(2026, 10, 24, 21),
            utc(2026, 10, 25, 0, 30),
            id="berlin-repeat",
        ),
        pytest.param(
            NEW_YORK, ("22:00", "02:30"), utc(2026, 3, 8, 4), utc(2026, 3, 8, 7), id="ny-gap"
        ),
        pytest.param(
            NEW_YORK,
            ("21:00", "01:30"),
            utc(2026, 11, 1, 2),
            utc(2026, 11, 1, 5, 30),
            id="ny-repeat",
        ),
    ],
)
def test_dst_through_decide(
    tz: ZoneInfo, window_: tuple[str, str], at: datetime, expected: datetime
) -> None:
    catalog = make_catalog(channels={"sms": catalog_quiet(legal=hours(window_))})
    customer = make_customer(timezone=tz)
    assert ask(customer, "news", "sms", catalog=catalog, at=at) == defer_until(expected)
    assert ask(customer, "news", "sms", catalog=catalog, at=expected) == ALLOW
