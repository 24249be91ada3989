"""Rolling frequency caps: whether one more send fits, and the earliest instant it does."""

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.consent.engine.types import Cap


def cap_period(cap: Cap) -> timedelta:
    """A cap's period: period_days x 24 h (not calendar days)."""
    return timedelta(days=cap.period_days)


def cap_fits(at: datetime, sends: Sequence[datetime], cap: Cap) -> bool:
    """Whether a send at `at` fits the cap beside `sends` (in any order, past or future).

    It fits when no half-open window [s, s + period) that contains `at` holds more than
    cap.count sends with it. Windows without `at` are not the new send's doing: sends reserved
    before a customer lowered the cap do not block forever.
    """
    return _fits(at, sorted(sends), cap.count, cap_period(cap))


def earliest_fit(at: datetime, sends: Sequence[datetime], cap: Cap) -> datetime | None:
    """The earliest instant from `at` on at which a send fits the cap; None if none ever does.

    A send stops fitting only when a window it is in fills; it starts fitting again only when
    such a window [s, s + period) has passed, so the candidates are `at` and each s + period.
    """
    if cap.count < 1:
        return None
    if len(sends) < cap.count:
        return at  # no window can hold cap.count sends besides this one
    ordered = sorted(sends)
    period = cap_period(cap)
    if _fits(at, ordered, cap.count, period):
        return at
    for send in ordered:
        candidate = send + period
        if candidate > at and _fits(candidate, ordered, cap.count, period):
            return candidate
    return None  # unreachable for count >= 1: after the last send's window everything fits


def earliest_fit_all(
    at: datetime, caps: Sequence[tuple[Cap, Sequence[datetime]]]
) -> datetime | None:
    """The earliest instant from `at` on at which a send fits every (cap, sends it counts) pair."""
    current = at
    while True:
        start = current
        for cap, sends in caps:
            fitted = earliest_fit(current, sends, cap)
            if fitted is None:
                return None
            current = fitted
        if current == start:
            return current


def _fits(at: datetime, ordered: Sequence[datetime], count: int, period: timedelta) -> bool:
    """cap_fits on sends already sorted ascending."""
    if count < 1:
        return False
    # The fullest window containing `at` starts at `at` or at a send in (at - period, at].
    first = bisect_right(ordered, at - period)
    last = bisect_right(ordered, at)
    for start in (at, *ordered[first:last]):
        inside = bisect_left(ordered, start + period) - bisect_left(ordered, start)
        if inside + 1 > count:
            return False
    return True
