"""The channels page's view: each channel's state, address and quiet times, zone and pause."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from babel.dates import format_time

from app.consent.identity import PHONE_CHANNELS
from app.consent.vocabulary import DAYS
from app.plain.pauses import pause_limits
from app.plain.words import channel_name, date_phrase, day_name, join, quiet_phrase
from app.portal.channel_forms import QuietEntry
from app.portal.channel_state import ChannelsState
from app.web.i18n import babel_locale, ngettext
from app.web.i18n import gettext as _


@dataclass(frozen=True)
class Day:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class ChannelView:
    """One channel: on or off, where it reaches the customer, its quiet times."""

    key: str
    name: str
    heading: str
    enabled: bool  # shown as on: not switched off and its address not stopped
    status: str
    address: str | None  # where messages go, for a full sign-in only
    quiet: QuietEntry
    days: list[Day]
    quiet_now: str
    default_quiet: str
    legal_quiet: str | None


@dataclass(frozen=True)
class ChannelsPage:
    """Everything the channels page shows; `errors` by the id of the field they belong to."""

    saved: str | None
    limited: bool
    channels: list[ChannelView]
    email: str  # the address forms' values (empty in a limited session)
    phone: str
    phone_channels: str | None  # "SMS and WhatsApp": the channels the phone number serves
    zone: str
    zones: list[str]
    zone_hint: str
    paused: str | None
    pause_value: str
    pause_first: str
    pause_last: str
    errors: Mapping[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def zone_names() -> list[str]:
    """Every IANA time zone, sorted."""
    return sorted(available_timezones())


def _heading(name: str) -> str:
    return name[:1].upper() + name[1:]


def _saved(saved: str | None) -> str | None:
    messages = {
        "channel_off": _("Saved: the channel is switched off."),
        "channel_on": _("Saved: the channel is switched on again."),
        "address": _(
            "Saved: your address is changed. Any consent you had given for that channel is "
            "withdrawn: you can give it again on each brand's page."
        ),
        "quiet": _("Saved: your quiet times."),
        "timezone": _("Saved: your time zone."),
        "pause": _("Saved: all marketing is paused."),
        "resumed": _("Saved: marketing may reach you again."),
    }
    return messages.get(saved or "")


def _address(state: ChannelsState, channel: str) -> str | None:
    customer = state.customer
    if channel == "email":
        return customer.email
    if channel in PHONE_CHANNELS:
        return customer.phone
    if channel == "push":
        count = len(customer.push_tokens)
        if not count:
            return None
        return ngettext("%(count)d device", "%(count)d devices", count) % {"count": count}
    if channel == "postal":
        postal = customer.postal_address
        return ", ".join(str(v) for v in postal.values() if v) if postal else None
    return None  # in-app messages need no address


def _status(state: ChannelsState, channel: str, name: str, enabled: bool) -> str:
    values = {"channel": name}
    if not enabled:
        message = _(
            "Off: nothing reaches you by %(channel)s, not even messages about your orders "
            "or your security."
        )
    elif channel in state.stopped:
        message = _(
            "Stopped: after you replied STOP or reported a message as spam, messages by "
            "%(channel)s to your address were stopped. Switch the channel on to receive them "
            "again."
        )
    elif channel in state.blocked:
        message = _(
            "Blocked: messages by %(channel)s could not be delivered to your address. "
            "A new address ends the block."
        )
    elif channel != "in_app" and _address(state, channel) is None:
        message = _("On, but we have no address for %(channel)s, so nothing is sent by it.")
    else:
        message = _("On.")
    return message % values


def _quiet(
    state: ChannelsState, channel: str, name: str, entered: QuietEntry | None
) -> tuple[QuietEntry, str, str, str | None]:
    settings = state.settings[channel]
    body = state.document.get("channels", {}).get(channel, {})
    own_hours, own_days = body.get("quiet_hours"), body.get("quiet_days")
    hours = settings["quiet_hours"] if own_hours is None else own_hours
    days = settings["quiet_days"] if own_days is None else own_days
    own = own_hours is not None or own_days is not None
    if entered is None:
        first = hours[0] if hours else {"start": "", "end": ""}
        entered = QuietEntry(own=own, start=first["start"], end=first["end"], days=tuple(days))
    values = {"channel": name, "quiet": quiet_phrase(hours, days)}
    if not hours and not days:
        now = _("Your quiet times for %(channel)s: none.") % values
    elif own:
        now = _("Your quiet times for %(channel)s: %(quiet)s.") % values
    else:
        now = _("Your quiet times for %(channel)s are the default: %(quiet)s.") % values
    if settings["quiet_hours"] or settings["quiet_days"]:
        phrase = quiet_phrase(settings["quiet_hours"], settings["quiet_days"])
        default = _("Use the default: %(quiet)s") % {"quiet": phrase}
    else:
        default = _("Use the default: no quiet times")
    legal = None
    if settings["legal_quiet_hours"] or settings["legal_quiet_days"]:
        phrase = quiet_phrase(settings["legal_quiet_hours"], settings["legal_quiet_days"])
        legal = _(
            "The legal quiet times for marketing by %(channel)s always apply, whatever you "
            "choose: %(quiet)s."
        ) % {"channel": name, "quiet": phrase}
    return entered, now, default, legal


def _channel(state: ChannelsState, channel: str, entered: QuietEntry | None) -> ChannelView:
    name = channel_name(channel)
    body = state.document.get("channels", {}).get(channel, {})
    switched_on = body.get("enabled", True)
    quiet, now, default, legal = _quiet(state, channel, name, entered)
    return ChannelView(
        key=channel,
        name=name,
        heading=_heading(name),
        enabled=switched_on and channel not in state.stopped,
        status=_status(state, channel, name, switched_on),
        address=_address(state, channel),
        quiet=quiet,
        days=[Day(day, day_name(day), day in quiet.days) for day in DAYS],
        quiet_now=now,
        default_quiet=default,
        legal_quiet=legal,
    )


def _paused(state: ChannelsState, now: datetime) -> tuple[str | None, str]:
    """The sentence saying until when all marketing is paused, and the last day paused."""
    raw = state.document.get("paused_until")
    until = None if raw is None else datetime.fromisoformat(raw)
    if until is None or until <= now:
        return None, ""
    local = until.astimezone(state.zone)
    last = (local - timedelta(microseconds=1)).date()
    values = {"date": date_phrase(local)}
    if local.time() == local.time().min:
        sentence = _("All marketing is paused. It may resume on %(date)s.") % values
    else:
        at = format_time(local, format="short", locale=babel_locale())
        sentence = _("All marketing is paused. It may resume on %(date)s at %(time)s.") % {
            **values,
            "time": at,
        }
    return sentence, last.isoformat()


def channels_page(
    state: ChannelsState,
    *,
    now: datetime,
    limited: bool,
    saved: str | None = None,
    errors: Mapping[str, str] | None = None,
    entered: Mapping[str, Any] | None = None,
) -> ChannelsPage:
    """The page's view; `errors` by field id, `entered` what the customer typed, to show again.

    `entered` may hold `quiet` (channel, QuietEntry), `email`, `phone`, `timezone`, `until`.
    """
    entered = entered or {}
    quiet_channel, quiet_entry = entered.get("quiet", (None, None))
    views = [
        _channel(state, ch, quiet_entry if ch == quiet_channel else None) for ch in state.channels
    ]
    if limited:
        views = [replace(view, address=None) for view in views]
    phone_names = [channel_name(ch) for ch in state.channels if ch in PHONE_CHANNELS]
    paused, last = _paused(state, now)
    first_day, last_day = (day.isoformat() for day in pause_limits(zone=state.zone, now=now))
    if state.customer.timezone:
        zone_hint = _("Quiet times count in this time zone.")
    else:
        zone_hint = _(
            "You have not chosen one: quiet times count in %(zone)s, the usual time zone here."
        ) % {"zone": state.default_zone}
    customer = state.customer
    return ChannelsPage(
        saved=_saved(saved),
        limited=limited,
        channels=views,
        email="" if limited else entered.get("email", customer.email or ""),
        phone="" if limited else entered.get("phone", customer.phone or ""),
        phone_channels=join(phone_names) if phone_names else None,
        zone=entered.get("timezone", state.zone_name),
        zones=zone_names(),
        zone_hint=zone_hint,
        paused=paused,
        pause_value=entered.get("until", last),
        pause_first=first_day,
        pause_last=last_day,
        errors=errors or {},
    )
