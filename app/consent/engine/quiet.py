"""Quiet hours and days in a time zone: whether an instant is quiet, and when quiet ends."""

from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.consent.engine.types import Quiet, QuietWindow

# How far ahead quiet_end looks before deciding quiet never ends (all days or all hours quiet).
# Two weeks: the free hour of a weekly pattern may fall into one DST gap, never into two.
SEARCH_HORIZON = timedelta(days=15)

_MIDNIGHT = time(0, 0)
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ZERO = timedelta(0)


def window_covers(window: QuietWindow, wall: time) -> bool:
    """Whether the local wall-clock time `wall` lies in the window (end excluded)."""
    if window.start < window.end:
        return window.start <= wall < window.end
    return wall >= window.start or wall < window.end


def is_quiet(at: datetime, tz: ZoneInfo, quiet: Quiet) -> bool:
    """Whether `at`, read on the wall clock of `tz`, falls on a quiet day or in a quiet window."""
    if not quiet.days and not quiet.hours:
        return False  # nothing to read the wall clock for
    return _is_quiet_locally(at.astimezone(tz), quiet)


def _is_quiet_locally(local: datetime, quiet: Quiet) -> bool:
    """is_quiet on an instant already read on the zone's wall clock."""
    if local.weekday() in quiet.days:
        return True
    wall = local.time()
    for window in quiet.hours:  # window_covers, inlined: this runs for most marketing decisions
        start, end = window.start, window.end
        if (start <= wall < end) if start < end else (wall >= start or wall < end):
            return True
    return False


def local_instants(day: date, wall: time, tz: ZoneInfo) -> tuple[datetime, ...]:
    """The UTC instants at which the clock in `tz` reads `day` `wall`, ascending.

    None when the time is skipped by a daylight-saving gap, two when it is repeated.
    """
    found: list[datetime] = []
    for fold in (0, 1):
        instant = datetime.combine(day, wall.replace(fold=fold), tzinfo=tz).astimezone(UTC)
        back = instant.astimezone(tz)
        if back.date() == day and back.time() == wall and instant not in found:
            found.append(instant)
    return tuple(sorted(found))


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local date and time per SPEC section 2.

    A time skipped by a daylight-saving gap means the first instant after the gap (the
    transition); a repeated time means its first occurrence.
    """
    instants = local_instants(day, wall, tz)
    if instants:
        return instants[0]
    # In a gap, the two folds map with the offsets either side of it: the transition lies between.
    one, other = (
        datetime.combine(day, wall.replace(fold=fold), tzinfo=tz).astimezone(UTC) for fold in (0, 1)
    )
    return _transition(tz, min(one, other), max(one, other))


def quiet_end(at: datetime, tz: ZoneInfo, quiet: Quiet) -> datetime | None:
    """The earliest instant from `at` on that is not quiet (`at` itself when it is not).

    None when every instant up to SEARCH_HORIZON ahead is quiet: quiet then never ends.
    """
    current = at.astimezone(UTC)
    limit = current + SEARCH_HORIZON
    if not quiet.days and not quiet.hours:
        return current
    local = current.astimezone(tz)
    if not _is_quiet_locally(local, quiet):
        return current
    walls = frozenset({window.end for window in quiet.hours} | {_MIDNIGHT})
    while True:
        current, local = _next_boundary(current, local, tz, walls)
        if current > limit:
            return None
        if not _is_quiet_locally(local, quiet):
            return current


def _next_boundary(
    after: datetime, local: datetime, tz: ZoneInfo, walls: frozenset[time]
) -> tuple[datetime, datetime]:
    """The first instant after `after` (UTC; `local` on the clock of `tz`) at which quiet can end.

    Quiet can end only where the wall clock reaches a window's end or midnight (a new day), or
    where it jumps (a change of UTC offset). Returned with its reading on the clock of `tz`.
    """
    today = local.date()
    candidates = []
    for day in (today, today + _DAY, today + 2 * _DAY):
        instants = _day_instants(day, walls, tz)  # ascending: the first after `after` will do
        index = bisect_right(instants, after)
        if index < len(instants):
            candidates.append(instants[index])
    boundary = min(candidates, default=after + _DAY)
    boundary_local = boundary.astimezone(tz)
    if (boundary_local.utcoffset() or _ZERO) != (local.utcoffset() or _ZERO):
        boundary = _transition(tz, after, boundary)
        boundary_local = boundary.astimezone(tz)
    return boundary, boundary_local


# A pure function of its arguments, memoised: a batch asks the same few days, walls and zones
# over and over, and each call costs a dozen zone conversions. Bounded, so memory is too.
@lru_cache(maxsize=4096)
def _day_instants(day: date, walls: frozenset[time], tz: ZoneInfo) -> tuple[datetime, ...]:
    """The UTC instants at which the clock in `tz` reads `day` and one of `walls`, ascending."""
    return tuple(sorted(instant for wall in walls for instant in local_instants(day, wall, tz)))


def _offset(at: datetime, tz: ZoneInfo) -> timedelta:
    """The UTC offset of `tz` at the instant `at`."""
    return at.astimezone(tz).utcoffset() or _ZERO


def _transition(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first instant in (low, high] whose UTC offset differs from low's.

    Assumes one change of offset in between; zone transitions fall on whole seconds.
    """
    base = _offset(low, tz)
    lo = (low - _EPOCH) // _SECOND  # offset == base here
    hi = -((_EPOCH - high) // _SECOND)  # offset != base here
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if _offset(_EPOCH + middle * _SECOND, tz) == base:
            lo = middle
        else:
            hi = middle
    return _EPOCH + hi * _SECOND
