"""Phrases shared by the pages: channels, depths, caps, quiet times, days, lists and dates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo

from babel.dates import format_date, format_datetime
from babel.lists import format_list

from app.consent.vocabulary import DAYS
from app.web.i18n import babel_locale, ngettext
from app.web.i18n import gettext as _


def channel_name(channel: str) -> str:
    """A channel as the customer calls it ("e-mail", "SMS", "phone calls", ...)."""
    names = {
        "email": _("e-mail"),
        "sms": _("SMS"),
        "voice": _("phone calls"),
        "push": _("push notifications"),
        "postal": _("post"),
        "in_app": _("in-app messages"),
        "whatsapp": _("WhatsApp"),
    }
    return names[channel]


def depth_name(depth: str) -> str:
    """A depth's name ("Essentials only", "Light", "Regular", "Close")."""
    names = {
        "essentials": _("Essentials only"),
        "light": _("Light"),
        "regular": _("Regular"),
        "close": _("Close"),
    }
    return names[depth]


def depth_description(depth: str) -> str:
    """What a depth means, in one sentence."""
    descriptions = {
        "essentials": _(
            "Only messages you need, such as orders and security notices: no marketing."
        ),
        "light": _("Now and then: only the topics that matter most."),
        "regular": _("Regularly: the topics of a light relationship and more."),
        "close": _("Close: everything the brand has to say."),
    }
    return descriptions[depth]


def day_name(day: str) -> str:
    """A day (`mon` ... `sun`) by its name ("Monday")."""
    names = {
        "mon": _("Monday"),
        "tue": _("Tuesday"),
        "wed": _("Wednesday"),
        "thu": _("Thursday"),
        "fri": _("Friday"),
        "sat": _("Saturday"),
        "sun": _("Sunday"),
    }
    return names[day]


def _every(day: str) -> str:
    """A day of every week, as in "not on Sundays"."""
    names = {
        "mon": _("Mondays"),
        "tue": _("Tuesdays"),
        "wed": _("Wednesdays"),
        "thu": _("Thursdays"),
        "fri": _("Fridays"),
        "sat": _("Saturdays"),
        "sun": _("Sundays"),
    }
    return names[day]


def join(items: Iterable[str]) -> str:
    """Items as a list in the current language: "a, b and c"."""
    return format_list(list(items), locale=babel_locale())


def join_or(items: Iterable[str]) -> str:
    """Items as alternatives in the current language: "a, b or c"."""
    return format_list(list(items), style="or", locale=babel_locale())


def cap_phrase(cap: Mapping[str, int] | None) -> str:
    """A cap `{count, period_days}` as how often: "twice a week", "3 times in 10 days"."""
    if cap is None:
        return _("no limit")
    count, days = cap["count"], cap["period_days"]
    values = {"count": count, "days": days}
    if days == 1:
        if count <= 2:
            return _("once a day") if count == 1 else _("twice a day")
        return ngettext("%(count)d time a day", "%(count)d times a day", count) % values
    if days == 7:
        if count <= 2:
            return _("once a week") if count == 1 else _("twice a week")
        return ngettext("%(count)d time a week", "%(count)d times a week", count) % values
    if days == 30:
        if count <= 2:
            return _("once a month") if count == 1 else _("twice a month")
        return ngettext("%(count)d time a month", "%(count)d times a month", count) % values
    return ngettext("once in %(days)d days", "%(count)d times in %(days)d days", count) % values


def quiet_phrase(windows: Iterable[Mapping[str, str]], days: Iterable[str]) -> str:
    """Quiet hours and days as when not: "never between 21:00 and 08:00 and not on Sundays".

    `windows` are `{start, end}` (`HH:MM`), `days` are `mon` ... `sun`; with neither, "at any
    time".
    """
    hours = join_or(
        _("between %(start)s and %(end)s") % {"start": w["start"], "end": w["end"]} for w in windows
    )
    chosen = set(days)
    every = join_or(_every(day) for day in DAYS if day in chosen)
    if hours and every:
        return _("never %(hours)s and not on %(days)s") % {"hours": hours, "days": every}
    if hours:
        return _("never %(hours)s") % {"hours": hours}
    if every:
        return _("never on %(days)s") % {"days": every}
    return _("at any time")


def date_phrase(instant: date | datetime, zone: tzinfo | None = None) -> str:
    """The (local, with `zone`) date of `instant` in the current language: "November 20, 2026"."""
    if isinstance(instant, datetime):
        instant = (instant.astimezone(zone) if zone is not None else instant).date()
    return format_date(instant, format="long", locale=babel_locale())


def moment_phrase(instant: datetime, zone: tzinfo | None = None) -> str:
    """Date and time of `instant` (local, with `zone`) in the current language."""
    return format_datetime(instant, format="medium", tzinfo=zone, locale=babel_locale())


def name_in_sentence(name: str) -> str:
    """A catalog name ("Orders and deliveries") as written inside a sentence.

    English writes common nouns in lower case mid-sentence; a name with another capital (an
    acronym, a brand) and languages that capitalise nouns (German) keep the name as it is.
    """
    if babel_locale().language != "en" or not name[:1].isupper() or name[1:] != name[1:].lower():
        return name
    return name[0].lower() + name[1:]
