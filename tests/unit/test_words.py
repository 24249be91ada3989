"""The portal's shared phrases: channels, depths, caps, quiet times, lists and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.consent.vocabulary import CHANNELS, DEPTHS
from app.plain.words import (
    cap_phrase,
    channel_name,
    date_phrase,
    day_name,
    depth_description,
    depth_name,
    join,
    join_or,
    moment_phrase,
    name_in_sentence,
    quiet_phrase,
)
from app.web.i18n import speaking


@pytest.mark.parametrize(
    ("channel", "name"),
    [
        ("email", "e-mail"),
        ("sms", "SMS"),
        ("voice", "phone calls"),
        ("push", "push notifications"),
        ("postal", "post"),
        ("in_app", "in-app messages"),
        ("whatsapp", "WhatsApp"),
    ],
)
def test_channels_are_named_as_customers_call_them(channel: str, name: str) -> None:
    assert channel_name(channel) == name


def test_every_channel_and_depth_has_words() -> None:
    assert len({channel_name(channel) for channel in CHANNELS}) == len(CHANNELS)
    assert [depth_name(depth) for depth in DEPTHS] == [
        "Essentials only",
        "Light",
        "Regular",
        "Close",
    ]
    assert all(depth_description(depth).endswith(".") for depth in DEPTHS)
    assert "no marketing" in depth_description("essentials")


@pytest.mark.parametrize(
    ("cap", "phrase"),
    [
        (None, "no limit"),
        ({"count": 1, "period_days": 1}, "once a day"),
        ({"count": 2, "period_days": 1}, "twice a day"),
        ({"count": 5, "period_days": 1}, "5 times a day"),
        ({"count": 1, "period_days": 7}, "once a week"),
        ({"count": 2, "period_days": 7}, "twice a week"),
        ({"count": 3, "period_days": 7}, "3 times a week"),
        ({"count": 1, "period_days": 30}, "once a month"),
        ({"count": 2, "period_days": 30}, "twice a month"),
        ({"count": 4, "period_days": 30}, "4 times a month"),
        ({"count": 1, "period_days": 3}, "once in 3 days"),
        ({"count": 3, "period_days": 10}, "3 times in 10 days"),
    ],
)
def test_caps_say_how_often(cap: dict[str, int] | None, phrase: str) -> None:
    assert cap_phrase(cap) == phrase


@pytest.mark.parametrize(
    ("windows", "days", "phrase"),
    [
        ([{"start": "21:00", "end": "08:00"}], [], "never between 21:00 and 08:00"),
        (
            [{"start": "21:00", "end": "08:00"}, {"start": "12:00", "end": "13:30"}],
            [],
            "never between 21:00 and 08:00 or between 12:00 and 13:30",
        ),
        ([], ["sun"], "never on Sundays"),
        ([], ["sun", "sat"], "never on Saturdays or Sundays"),
        (
            [{"start": "21:00", "end": "08:00"}],
            ["sun"],
            "never between 21:00 and 08:00 and not on Sundays",
        ),
        ([], [], "at any time"),
    ],
)
def test_quiet_times_say_when_not(
    windows: list[dict[str, str]], days: list[str], phrase: str
) -> None:
    assert quiet_phrase(windows, days) == phrase


def test_days_lists_and_dates_in_english() -> None:
    assert [day_name(day) for day in ("mon", "sun")] == ["Monday", "Sunday"]
    assert join(["a"]) == "a"
    assert join(["a", "b"]) == "a and b"
    assert join(["a", "b", "c"]) == "a, b, and c"
    assert join_or(["a", "b", "c"]) == "a, b, or c"
    assert join([]) == ""
    assert date_phrase(date(2026, 11, 20)) == "November 20, 2026"
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert date_phrase(late) == "November 20, 2026"
    assert date_phrase(late, ZoneInfo("Europe/Berlin")) == "November 21, 2026"
    assert moment_phrase(late, ZoneInfo("Europe/Berlin")) == "Nov 21, 2026, 12:30:00\u202fAM"


def test_babel_does_lists_and_dates_in_german() -> None:
    with speaking("de"):
        assert join(["a", "b", "c"]) == "a, b und c"
        assert join_or(["a", "b", "c"]) == "a, b oder c"
        assert date_phrase(date(2026, 11, 20)) == "20. November 2026"
        late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
        assert moment_phrase(late, ZoneInfo("Europe/Berlin")) == "21.11.2026, 00:30:00"
        assert name_in_sentence("Orders and deliveries") == "Orders and deliveries"
    assert join(["a", "b", "c"]) == "a, b, and c"


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("Orders and deliveries", "orders and deliveries"),
        ("News", "news"),
        ("SMS deals", "SMS deals"),
        ("Acme Club news", "Acme Club news"),
        ("McKinley trail tips", "McKinley trail tips"),
        ("iPhone tips", "iPhone tips"),
    ],
)
def test_names_inside_an_english_sentence(name: str, written: str) -> None:
    assert name_in_sentence(name) == written
