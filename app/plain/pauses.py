"""A pause chosen as a day: it lasts up to and including that day in the customer's zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.consent.engine import local_instant
from app.format import format_instant
from app.web.i18n import gettext as _

PAUSE_DAYS = 366


class PauseDayError(ValueError):
    """A day that cannot end a pause; the message says why, in the request's language."""


def pause_limits(*, zone: ZoneInfo, now: datetime) -> tuple[date, date]:
    """The first and last day a pause may be chosen up to: tomorrow to 366 days ahead."""
    today = now.astimezone(zone).date()
    return today + timedelta(days=1), today + timedelta(days=PAUSE_DAYS)


def pause_end(text: str, *, zone: ZoneInfo, now: datetime) -> str:
    """`paused_until` for a pause up to and including the day `text` (YYYY-MM-DD): 00:00 of the
    next day in `zone` (the first instant after it, where a clock change skips midnight)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise PauseDayError(_("Choose a date, such as 2026-12-24.")) from None
    first, last = pause_limits(zone=zone, now=now)
    if day < first:
        raise PauseDayError(_("Choose a day after today."))
    if day > last:
        raise PauseDayError(_("Choose a day at most a year from today (366 days ahead)."))
    return format_instant(local_instant(day + timedelta(days=1), time(0), zone))
