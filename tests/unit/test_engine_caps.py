"""Rolling caps: fit in half-open windows, future reservations, earliest fitting instant."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.consent.engine import Cap
from app.consent.engine.caps import cap_fits, earliest_fit, earliest_fit_all

T = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)


def at(days: float = 0, hours: float = 0) -> datetime:
    return T + timedelta(days=days, hours=hours)


CASES = [
    # (id, cap, sends, earliest fit from T)
    ("no-sends", Cap(1, 7), [], T),
    ("room-left", Cap(2, 7), [at(-1)], T),
    ("full", Cap(2, 7), [at(-1), at(-2)], at(5)),
    ("full-out-of-order", Cap(2, 7), [at(-1), at(-2)][::-1], at(5)),
    ("window-half-open", Cap(1, 7), [at(-7)], T),
    ("window-just-open", Cap(1, 7), [at(-7) + US], at(0) + US),
    ("same-instant", Cap(1, 1), [T], at(1)),
    ("future-send", Cap(1, 7), [at(3)], at(10)),
    ("future-send-beyond-window", Cap(1, 7), [at(7)], T),
    ("future-send-inside-window", Cap(1, 7), [at(7) - US], at(14) - US),
    ("two-future-sends", Cap(2, 7), [at(1), at(2)], at(8)),
    ("past-and-future", Cap(2, 7), [at(-3), at(3)], at(4)),
    ("gap-between-sends-too-short", Cap(1, 2), [at(-1), at(2)], at(4)),
    ("gap-between-sends-fits", Cap(1, 1), [at(-1, -1), at(1, 1)], T),
    ("period-is-24-hours-per-day", Cap(1, 2), [at(0, -47)], at(0, 1)),
    (
        "overfull-window-not-containing-t",
        Cap(1, 7),
        [at(-10), at(-9, 1), at(-9, 2)],
        T,
    ),
    ("overfull-window-containing-t", Cap(1, 7), [at(-6), at(-5), at(-4)], at(3)),
    ("big-count", Cap(3, 1), [at(0, -3), at(0, -2), at(0, -1)], at(0, 21)),
]


@pytest.mark.parametrize(
    ("cap", "sends", "expected"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_earliest_fit(cap: Cap, sends: Sequence[datetime], expected: datetime) -> None:
    assert earliest_fit(T, sends, cap) == expected
    assert cap_fits(expected, sends, cap)
    assert cap_fits(T, sends, cap) is (expected == T)
    if expected > T:
        assert not cap_fits(expected - US, sends, cap)


def test_a_zero_count_never_fits() -> None:
    assert earliest_fit(T, [], Cap(0, 1)) is None
    assert not cap_fits(T, [], Cap(0, 1))


def test_every_cap_must_fit_together() -> None:
    brand = [at(-1)]
    everyone = [at(-1), at(1, 12)]
    # Brand 1 per 2 days frees T+1d; global 2 per 3 days then holds -1d, +1d and +1d12h:
    # wait for -1d + 3d = T+2d, where -1d has left and the brand cap still fits.
    caps = [(Cap(1, 2), brand), (Cap(2, 3), everyone)]
    assert earliest_fit_all(T, caps) == at(2)
    assert earliest_fit_all(T, []) == T
    assert earliest_fit_all(T, [(Cap(1, 1), []), (Cap(0, 1), [])]) is None


# ----- against a brute-force reading of the SPEC -------------------------------------------

STEP = 3 * HOUR  # sends lie on a 6-hour grid, questions on a 3-hour one


def brute_fits(t: datetime, sends: Sequence[datetime], cap: Cap) -> bool:
    """Every window [s, s + P) on the grid that contains t holds <= count sends with t."""
    period = timedelta(days=cap.period_days)
    start = t - period + STEP
    while start <= t:
        inside = sum(start <= s < start + period for s in sends)
        if inside + 1 > cap.count:
            return False
        start += STEP
    return True


@settings(max_examples=200, deadline=None, database=None)
@given(
    count=st.integers(1, 3),
    period_days=st.integers(1, 2),
    offsets=st.lists(st.integers(-12, 12), max_size=6),
    start=st.integers(-4, 4),
)
def test_earliest_fit_matches_brute_force(
    count: int, period_days: int, offsets: list[int], start: int
) -> None:
    """Sends every 6 h, asked every 3 h: the fit status is constant in between."""
    cap = Cap(count, period_days)
    sends = [T + n * 2 * STEP for n in offsets]
    first = T + start * STEP
    found = earliest_fit(first, sends, cap)
    assert found is not None
    assert brute_fits(found, sends, cap)
    assert cap_fits(found, sends, cap)
    probe = first
    while probe < found:
        assert not brute_fits(probe, sends, cap)
        probe += STEP
    for probe in (first + k * STEP for k in range(-4, 60)):
        assert cap_fits(probe, sends, cap) is brute_fits(probe, sends, cap)
