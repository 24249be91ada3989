"""The brand page's forms turned into merge patches: depth, topics, how often, pause."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.consent.vocabulary import DEPTH_ORDER, DEPTHS
from app.plain.pauses import PauseDayError, pause_end
from app.web.i18n import gettext as _

# The customer's choices of how often, as (count, period_days); None is no limit of their own.
CAP_PRESETS: tuple[tuple[int, int] | None, ...] = (None, (1, 1), (2, 7), (1, 7), (1, 30))


class FormError(Exception):
    """A field of a form the page shows again with this (translated) message beside it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def effective_channels(
    topic: Mapping[str, Any], choice: Mapping[str, Any], depth: str
) -> list[str]:
    """The channels a marketing topic reaches the customer on, as far as choices go.

    On: its chosen channels (all when none are named); off: none; no choice: all of them when
    the brand's depth includes the topic, else none.
    """
    channels: list[str] = list(topic["channels"])
    if choice.get("choice") == "on":
        chosen = choice.get("channels")
        return channels if not chosen else [c for c in channels if c in chosen]
    if choice.get("choice") == "off":
        return []
    within = depth != "essentials" and DEPTH_ORDER[depth] >= DEPTH_ORDER[topic["depth"]]
    return channels if within else []


def brand_patch(brand: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"brands": {brand: dict(body)}}


def depth_patch(brand: str, depth: str) -> dict[str, Any]:
    if depth not in DEPTHS:
        raise FormError("depth", _("Choose one of the four levels."))
    return brand_patch(brand, {"depth": depth})


def _pairs(values: Sequence[str]) -> set[tuple[str, str]]:
    """`topic:channel` values of ticked boxes as pairs; anything else is no box of the page."""
    pairs = set()
    for value in values:
        topic, sep, channel = value.rpartition(":")
        if sep:
            pairs.add((topic, channel))
    return pairs


def topics_patch(
    brand: str,
    *,
    topics: Sequence[Mapping[str, Any]],
    choices: Mapping[str, Any],
    depth: str,
    shown: Collection[str],
    on: Sequence[str],
    consent: Sequence[str],
) -> tuple[dict[str, Any], set[tuple[str, str, str]]]:
    """The patch for what the customer changed on the topics form, and the consent boxes ticked.

    Only topics the page showed are read (`shown`), and only those whose channels differ from
    what reaches the customer now get a choice: the others keep following the depth. Ticking
    an opt_in topic's consent box for a channel switches the topic on for that channel too.
    """
    ticked, agreed = _pairs(on), _pairs(consent)
    body: dict[str, Any] = {}
    consent_to: set[tuple[str, str, str]] = set()
    for topic in topics:
        key = topic["key"]
        if topic["kind"] != "marketing" or key not in shown:
            continue
        channels: list[str] = list(topic["channels"])
        agreed_on = (
            {c for c in channels if (key, c) in agreed} if topic["basis"] == "opt_in" else set()
        )
        wanted = {c for c in channels if (key, c) in ticked} | agreed_on
        now = set(effective_channels(topic, choices.get(key) or {}, depth))
        if wanted == now and not agreed_on:
            continue
        if not wanted:
            body[key] = {"choice": "off", "channels": None}
        elif wanted == set(channels):
            body[key] = {"choice": "on", "channels": None}
        else:
            body[key] = {"choice": "on", "channels": [c for c in channels if c in wanted]}
        consent_to |= {(brand, key, c) for c in agreed_on}
    return (brand_patch(brand, {"topics": body}) if body else {}), consent_to


@dataclass(frozen=True)
class CapChoice:
    """One way to answer "how often": its form value and the cap it saves (None: no limit)."""

    value: str
    cap: tuple[int, int] | None


def cap_value(cap: tuple[int, int] | None) -> str:
    return "none" if cap is None else f"{cap[0]}/{cap[1]}"


def _within(cap: tuple[int, int], policy: tuple[int, int] | None) -> bool:
    """Never looser than the brand's policy: at most its rate (count / period_days)."""
    return policy is None or cap[0] * policy[1] <= policy[0] * cap[1]


def cap_choices(policy: tuple[int, int] | None, current: tuple[int, int] | None) -> list[CapChoice]:
    """The presets no looser than the policy; the customer's own cap, when it is none of them."""
    caps = [cap for cap in CAP_PRESETS if cap is None or _within(cap, policy)]
    if current not in caps:
        caps.append(current)
    return [CapChoice(value=cap_value(cap), cap=cap) for cap in caps]


def cap_patch(
    brand: str, value: str, *, policy: tuple[int, int] | None, current: tuple[int, int] | None
) -> dict[str, Any]:
    """The customer's cap for the brand; a looser one than the policy, or none shown: refused."""
    for choice in cap_choices(policy, current):
        if choice.value == value:
            cap = choice.cap
            saved = None if cap is None else {"count": cap[0], "period_days": cap[1]}
            return brand_patch(brand, {"cap": saved})
    count, _sep, period = value.partition("/")
    if count.isdigit() and period.isdigit() and not _within((int(count), int(period)), policy):
        raise FormError(
            "cap", _("That is more often than the brand allows. Choose one of the options shown.")
        )
    raise FormError("cap", _("Choose one of the options shown."))


def pause_patch(brand: str, chosen: str, *, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """Pause until the end of the chosen date: 00:00 of the next day in the customer's zone."""
    try:
        ends = pause_end(chosen, zone=zone, now=now)
    except PauseDayError as error:
        raise FormError("until", str(error)) from None
    return brand_patch(brand, {"paused_until": ends})


def resume_patch(brand: str) -> dict[str, Any]:
    return brand_patch(brand, {"paused_until": None})
