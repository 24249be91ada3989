"""The brand page's topics: switches per channel, notices and consent boxes, in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.plain.words import channel_name, date_phrase, join, name_in_sentence
from app.portal.brand_forms import effective_channels
from app.portal.brand_state import BrandState
from app.web.i18n import gettext as _


@dataclass(frozen=True)
class Box:
    """A checkbox or radio button with its label."""

    id: str
    value: str
    label: str
    checked: bool = False
    hint: str | None = None


@dataclass(frozen=True)
class ConsentRow:
    """One channel of an opt_in topic: consent given (a sentence), or its unticked box."""

    given: str | None = None
    lapsed: str | None = None
    box: Box | None = None


@dataclass(frozen=True)
class TopicRow:
    """A topic: always on (essential), or its switches per channel and, if opt_in, consent."""

    key: str
    name: str
    essential: bool
    channels: str  # where an essential topic reaches the customer, in words
    boxes: list[Box] = field(default_factory=list)
    notice: str | None = None
    consents: list[ConsentRow] = field(default_factory=list)
    waiting: bool = False  # on for a channel that has no consent yet


def _consent_row(
    topic: Mapping[str, Any],
    channel: str,
    given: Mapping[str, Any] | None,
    state: BrandState,
    now: datetime,
) -> ConsentRow:
    values = {
        "channel": channel_name(channel),
        "topic": name_in_sentence(topic["name"]),
        "brand": state.name,
    }
    lapsed = None
    if given is not None:
        expires = given.get("expires_at")
        ends = None if expires is None else datetime.fromisoformat(expires)
        if given["notice_version"] >= topic["min_notice_version"] and (ends is None or ends > now):
            at = date_phrase(datetime.fromisoformat(given["consented_at"]), state.zone)
            if ends is None:
                sentence = _("You agreed to this by %(channel)s on %(date)s.")
                return ConsentRow(given=sentence % {**values, "date": at})
            sentence = _(
                "You agreed to this by %(channel)s on %(date)s; your consent lasts until %(end)s."
            )
            end = date_phrase(ends, state.zone)
            return ConsentRow(given=sentence % {**values, "date": at, "end": end})
        lapsed = _("Your earlier consent by %(channel)s no longer counts.") % values
    label = _("I agree to receive %(topic)s from %(brand)s by %(channel)s.") % values
    box = Box(
        id=f"consent-{topic['key']}-{channel}", value=f"{topic['key']}:{channel}", label=label
    )
    return ConsentRow(lapsed=lapsed, box=box)


def topic_row(topic: Mapping[str, Any], state: BrandState, now: datetime) -> TopicRow:
    """The topic as it reaches the customer now; consent counts only while it is valid."""
    key, channels = topic["key"], list(topic["channels"])
    where = join(channel_name(channel) for channel in channels)
    if topic["kind"] == "essential":
        return TopicRow(key=key, name=topic["name"], essential=True, channels=where)
    choice = state.choices.get(key) or {}
    on = effective_channels(topic, choice, state.depth)
    boxes = [
        Box(
            id=f"on-{key}-{channel}",
            value=f"{key}:{channel}",
            label=_("On for %(channel)s") % {"channel": channel_name(channel)},
            checked=channel in on,
        )
        for channel in channels
    ]
    if topic["basis"] != "opt_in":
        return TopicRow(key=key, name=topic["name"], essential=False, channels=where, boxes=boxes)
    given = choice.get("consents", {})
    consents = [_consent_row(topic, c, given.get(c), state, now) for c in channels]
    waiting = any(
        row.box is not None and c in on for row, c in zip(consents, channels, strict=True)
    )
    return TopicRow(
        key=key,
        name=topic["name"],
        essential=False,
        channels=where,
        boxes=boxes,
        notice=topic["notice"],
        consents=consents,
        waiting=waiting,
    )
