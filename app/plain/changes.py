"""A change to the preferences document in words: one sentence per setting that changed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from app.consent.vocabulary import CHANNELS, DAYS
from app.plain.names import Names
from app.plain.words import (
    cap_phrase,
    channel_name,
    date_phrase,
    day_name,
    depth_name,
    join,
    moment_phrase,
    name_in_sentence,
)
from app.web.i18n import gettext as _

Doc = Mapping[str, Any]


def _members(value: Any) -> Doc:
    return value if isinstance(value, Mapping) else {}


def _channels(channels: Any) -> str:
    return join(channel_name(c) for c in CHANNELS if c in set(channels))


def _pause(value: str, zone: tzinfo) -> tuple[bool, str]:
    """Whether a pause ends at local midnight, and the last day (then) or the moment it ends."""
    end = datetime.fromisoformat(value.replace("Z", "+00:00"))
    local = end.astimezone(zone)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return True, date_phrase((local - timedelta(days=1)).date())
    return False, moment_phrase(end, zone)


def _marketing(old: Doc, new: Doc, zone: tzinfo) -> list[str]:
    lines = []
    if bool(old.get("no_marketing")) != bool(new.get("no_marketing")):
        lines.append(
            _("Stopped all marketing") if new.get("no_marketing") else _("Allowed marketing again")
        )
    if old.get("paused_until") != new.get("paused_until"):
        value = new.get("paused_until")
        if value is None:
            lines.append(_("Ended the pause of all marketing"))
        else:
            whole_days, end = _pause(value, zone)
            lines.append(
                _("Paused all marketing up to and including %(date)s") % {"date": end}
                if whole_days
                else _("Paused all marketing until %(moment)s") % {"moment": end}
            )
    if old.get("global_cap") != new.get("global_cap"):
        lines.append(
            _("How often all brands together may write: %(cap)s")
            % {"cap": cap_phrase(new.get("global_cap"))}
        )
    return lines


def _hours(windows: list[Mapping[str, str]]) -> str:
    span = _("%(start)s–%(end)s")  # noqa: RUF001  (an en dash is how a range of times is written)
    return join(span % {"start": w["start"], "end": w["end"]} for w in windows)


def _channel(channel: str, old: Doc, new: Doc) -> list[str]:
    lines = []
    name = {"channel": channel_name(channel)}
    if old.get("enabled", True) != new.get("enabled", True):
        on = new.get("enabled", True)
        lines.append(
            (_("Messages by %(channel)s: on") if on else _("Messages by %(channel)s: off")) % name
        )
    if old.get("quiet_hours") != new.get("quiet_hours"):
        hours = new.get("quiet_hours")
        if hours is None:
            lines.append(_("Quiet hours for %(channel)s: the standard ones") % name)
        elif not hours:
            lines.append(_("Quiet hours for %(channel)s: none") % name)
        else:
            lines.append(
                _("Quiet hours for %(channel)s: %(hours)s") % {**name, "hours": _hours(hours)}
            )
    if old.get("quiet_days") != new.get("quiet_days"):
        days = new.get("quiet_days")
        if days is None:
            lines.append(_("Quiet days for %(channel)s: the standard ones") % name)
        elif not days:
            lines.append(_("Quiet days for %(channel)s: none") % name)
        else:
            chosen = join(day_name(d) for d in DAYS if d in set(days))
            lines.append(_("Quiet days for %(channel)s: %(days)s") % {**name, "days": chosen})
    return lines


def _topic(brand: str, topic: str, old: Doc, new: Doc, names: Names) -> list[str]:
    lines = []
    values = {"brand": names.brand(brand), "topic": names.topic(brand, topic)}
    choice, channels = new.get("choice"), new.get("channels")
    if old.get("choice") != choice:
        if choice == "on" and channels:
            lines.append(
                _("%(topic)s from %(brand)s: on by %(channels)s")
                % {**values, "channels": _channels(channels)}
            )
        elif choice == "on":
            lines.append(_("%(topic)s from %(brand)s: on") % values)
        elif choice == "off":
            lines.append(_("%(topic)s from %(brand)s: off") % values)
        else:
            lines.append(_("%(topic)s from %(brand)s: as your depth says") % values)
    elif choice == "on" and old.get("channels") != channels:
        every = names.topic_channels.get((brand, topic), ())
        before, after = set(old.get("channels") or every), set(channels or every)
        if after - before:
            lines.append(
                _("%(topic)s from %(brand)s: on by %(channels)s")
                % {**values, "channels": _channels(after - before)}
            )
        if before - after:
            lines.append(
                _("%(topic)s from %(brand)s: off by %(channels)s")
                % {**values, "channels": _channels(before - after)}
            )
    lines.extend(_consents(values, _members(old.get("consents")), _members(new.get("consents"))))
    return lines


def _consents(values: Mapping[str, str], old: Doc, new: Doc) -> list[str]:
    lines = []
    inside = {**values, "topic": name_in_sentence(values["topic"])}
    for channel in CHANNELS:
        given, had = new.get(channel), old.get(channel)
        named = {**inside, "channel": channel_name(channel)}
        if isinstance(given, Mapping) and given != had:
            lines.append(
                _(
                    "Consent given for %(topic)s from %(brand)s by %(channel)s "
                    "(notice version %(version)s)"
                )
                % {**named, "version": given.get("notice_version")}
            )
        elif given is None and had is not None:
            lines.append(_("Consent withdrawn for %(topic)s from %(brand)s by %(channel)s") % named)
    return lines


def _brand(brand: str, old: Doc, new: Doc, names: Names, zone: tzinfo) -> list[str]:
    lines = []
    values = {"brand": names.brand(brand)}
    if old.get("depth") != new.get("depth"):
        depth = new.get("depth")
        if depth is None:
            standard = names.default_depths.get(brand)
            lines.append(
                _("Depth with %(brand)s: back to the standard (%(depth)s)")
                % {**values, "depth": depth_name(standard)}
                if standard
                else _("Depth with %(brand)s: back to the standard") % values
            )
        else:
            lines.append(
                _("Depth with %(brand)s: %(depth)s") % {**values, "depth": depth_name(depth)}
            )
    if old.get("cap") != new.get("cap"):
        cap = new.get("cap")
        lines.append(
            _("How often %(brand)s may write: no limit of your own") % values
            if cap is None
            else _("How often %(brand)s may write: %(cap)s") % {**values, "cap": cap_phrase(cap)}
        )
    if old.get("paused_until") != new.get("paused_until"):
        value = new.get("paused_until")
        if value is None:
            lines.append(_("Ended the pause of marketing from %(brand)s") % values)
        else:
            whole_days, end = _pause(value, zone)
            lines.append(
                _("Paused marketing from %(brand)s up to and including %(date)s")
                % {**values, "date": end}
                if whole_days
                else _("Paused marketing from %(brand)s until %(moment)s")
                % {**values, "moment": end}
            )
    old_topics, new_topics = _members(old.get("topics")), _members(new.get("topics"))
    for topic in sorted(set(old_topics) | set(new_topics)):
        before, after = _members(old_topics.get(topic)), _members(new_topics.get(topic))
        if before != after:
            lines.extend(_topic(brand, topic, before, after, names))
    return lines


def describe_preferences(before: Any, after: Any, *, names: Names, zone: tzinfo) -> list[str]:
    """What changed between two preferences documents, one sentence per setting."""
    old, new = _members(before), _members(after)
    lines = _marketing(old, new, zone)
    old_channels, new_channels = _members(old.get("channels")), _members(new.get("channels"))
    for channel in CHANNELS:
        a, b = _members(old_channels.get(channel)), _members(new_channels.get(channel))
        if a != b:
            lines.extend(_channel(channel, a, b))
    old_brands, new_brands = _members(old.get("brands")), _members(new.get("brands"))
    for brand in sorted(set(old_brands) | set(new_brands)):
        a, b = _members(old_brands.get(brand)), _members(new_brands.get(brand))
        if a != b:
            lines.extend(_brand(brand, a, b, names, zone))
    return lines
