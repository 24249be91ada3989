"""The brand page's view: depth levels, topics and consent boxes, how often, pause."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from babel.dates import format_time

from app.consent.vocabulary import DEPTH_ORDER, DEPTHS
from app.plain.pauses import pause_limits
from app.plain.words import cap_phrase, date_phrase, depth_description, depth_name, join
from app.portal.brand_forms import cap_choices
from app.portal.brand_state import BrandState
from app.portal.brand_topics import Box, TopicRow, topic_row
from app.web.i18n import babel_locale
from app.web.i18n import gettext as _


@dataclass(frozen=True)
class Pause:
    """The pause form: the date field's bounds and value, and until when it is paused now."""

    paused: str | None  # the sentence saying until when, when paused
    value: str
    first: str
    last: str


@dataclass(frozen=True)
class BrandPage:
    """Everything the brand page shows; `errors` by the id of the field they belong to."""

    key: str
    name: str
    saved: str | None
    depths: list[Box]
    essentials: bool
    topics: list[TopicRow]
    shown: list[str]
    policy: str
    caps: list[Box]
    pause: Pause
    errors: Mapping[str, str]


def _saved(state: BrandState, saved: str | None) -> str | None:
    values = {"brand": state.name}
    messages = {
        "depth": _("Saved: how close you are with %(brand)s."),
        "topics": _("Saved: your topics and channels for %(brand)s."),
        "cap": _("Saved: how often %(brand)s may write to you."),
        "pause": _("Saved: marketing from %(brand)s is paused."),
        "resumed": _("Saved: marketing from %(brand)s may reach you again."),
    }
    return messages[saved] % values if saved in messages else None


def _in_depth(topic: Mapping[str, Any], depth: str) -> bool:
    if topic["kind"] == "essential":
        return True
    return depth != "essentials" and DEPTH_ORDER[depth] >= DEPTH_ORDER[topic["depth"]]


def _depths(state: BrandState) -> list[Box]:
    boxes = []
    for depth in DEPTHS:
        names = [
            _("%(topic)s (only with your consent)") % {"topic": topic["name"]}
            if topic["basis"] == "opt_in"
            else topic["name"]
            for topic in state.brand["topics"]
            if _in_depth(topic, depth)
        ]
        includes = (
            _("Includes: %(topics)s.") % {"topics": join(names)}
            if names
            else _("Includes no topics.")
        )
        boxes.append(
            Box(
                id=f"depth-{depth}",
                value=depth,
                label=depth_name(depth),
                checked=depth == state.depth,
                hint=f"{depth_description(depth)} {includes}",
            )
        )
    return boxes


def _caps(state: BrandState) -> list[Box]:
    labels = {
        (1, 1): _("Once a day"),
        (2, 7): _("Twice a week"),
        (1, 7): _("Once a week"),
        (1, 30): _("Once a month"),
    }
    boxes = []
    for choice in cap_choices(state.policy, state.cap):
        if choice.cap is None:
            label = (
                _("No limit of my own")
                if state.policy is None
                else _("As often as the policy of %(brand)s allows") % {"brand": state.name}
            )
        elif choice.cap in labels:
            label = labels[choice.cap]
        else:
            phrase = cap_phrase({"count": choice.cap[0], "period_days": choice.cap[1]})
            label = _("As now: %(cap)s") % {"cap": phrase}
        boxes.append(
            Box(
                id=f"cap-{choice.value.replace('/', '-')}",
                value=choice.value,
                label=label,
                checked=choice.cap == state.cap,
            )
        )
    return boxes


def _policy(state: BrandState) -> str:
    if state.brand["cap"] is None:
        return _("%(brand)s sets no limit of its own on how often it writes.") % {
            "brand": state.name
        }
    values = {"brand": state.name, "cap": cap_phrase(state.brand["cap"])}
    return _("%(brand)s never writes more than %(cap)s.") % values


def _pause(state: BrandState, now: datetime, entered: str | None) -> Pause:
    first, last = pause_limits(zone=state.zone, now=now)
    until = state.paused_until(now)
    sentence = None
    value = ""
    if until is not None:
        local = until.astimezone(state.zone)
        values = {"brand": state.name, "date": date_phrase(local)}
        value = (local - timedelta(microseconds=1)).date().isoformat()
        if local.time() == time(0):
            sentence = _("Marketing from %(brand)s is paused. It may resume on %(date)s.") % values
        else:
            at = format_time(local, format="short", locale=babel_locale())
            sentence = _(
                "Marketing from %(brand)s is paused. It may resume on %(date)s at %(time)s."
            ) % {**values, "time": at}
    return Pause(
        paused=sentence,
        value=value if entered is None else entered,
        first=first.isoformat(),
        last=last.isoformat(),
    )


def brand_page(
    state: BrandState,
    *,
    now: datetime,
    saved: str | None = None,
    errors: Mapping[str, str] | None = None,
    entered: Mapping[str, str] | None = None,
) -> BrandPage:
    """The page's view; `errors` by field id, `entered` what the customer typed, to show again."""
    topics = [topic_row(topic, state, now) for topic in state.brand["topics"]]
    return BrandPage(
        key=state.key,
        name=state.name,
        saved=_saved(state, saved),
        depths=_depths(state),
        essentials=state.depth == "essentials",
        topics=topics,
        shown=[row.key for row in topics if not row.essential],
        policy=_policy(state),
        caps=_caps(state),
        pause=_pause(state, now, (entered or {}).get("until")),
        errors=errors or {},
    )
