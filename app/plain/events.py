"""An audit event or a send in words: what happened, and through whom or what."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from babel import Locale, UnknownLocaleError

from app.models.send import CANCELLED, RELEASED, RESERVED, SENT
from app.plain.changes import describe_preferences
from app.plain.names import Names
from app.plain.words import channel_name, moment_phrase, name_in_sentence
from app.web.i18n import babel_locale
from app.web.i18n import gettext as _

PREFERENCE_ACTIONS = frozenset({"preferences.updated", "consent.given", "consent.withdrawn"})


def through(view: Mapping[str, Any]) -> str:
    """Who made a change and how: the customer in the portal, a marketing system, support..."""
    source = view["source"]
    if source == "portal":
        return _("You, in the portal")
    if source == "preference_link":
        return _("You, from a link in a message")
    if source == "one_click":
        return _("You, with one-click unsubscribe")
    if source == "api":
        evidence = view.get("evidence")
        given_at = evidence.get("source") if isinstance(evidence, Mapping) else None
        if given_at:
            return _("A marketing system, with your consent given at %(source)s") % {
                "source": given_at
            }
        return _("A marketing system")
    if source == "admin":
        reason = view.get("reason")
        if reason:
            return _("Support on your behalf: %(reason)s") % {"reason": reason}
        return _("Support on your behalf")
    return _("The service")


def language_name(code: Any) -> str:
    """A language code ("de") by its name in the current language ("Deutsch", "German")."""
    try:
        name = Locale.parse(str(code)).get_display_name(babel_locale())
    except (ValueError, UnknownLocaleError):
        return str(code)
    return name or str(code)


def _identity(before: Any, after: Any) -> list[str]:
    """Which identity fields changed; addresses are named, not shown."""
    old = before if isinstance(before, Mapping) else {}
    new = after if isinstance(after, Mapping) else {}
    addresses = {
        "email": (
            _("E-mail address added"),
            _("E-mail address changed"),
            _("E-mail address removed"),
        ),
        "phone": (
            _("Phone number added"),
            _("Phone number changed"),
            _("Phone number removed"),
        ),
        "postal_address": (
            _("Postal address added"),
            _("Postal address changed"),
            _("Postal address removed"),
        ),
    }
    lines = []
    for field, (added, changed, removed) in addresses.items():
        was, now = old.get(field) or None, new.get(field) or None
        if was != now:
            lines.append(added if was is None else removed if now is None else changed)
    if (old.get("push_tokens") or []) != (new.get("push_tokens") or []):
        lines.append(_("Devices for push notifications changed"))
    if old.get("timezone") != new.get("timezone"):
        zone = new.get("timezone")
        lines.append(_("Time zone: %(zone)s") % {"zone": zone} if zone else _("Time zone: not set"))
    if old.get("locale") != new.get("locale"):
        code = new.get("locale")
        lines.append(
            _("Language: %(language)s") % {"language": language_name(code)}
            if code
            else _("Language: not set")
        )
    if old.get("external_id") != new.get("external_id"):
        lines.append(_("Your customer reference in the company's systems changed"))
    return lines


def _suppression(action: str, view: Mapping[str, Any], names: Names) -> str:
    body = view.get("after") if action == "suppression.added" else view.get("before")
    body = body if isinstance(body, Mapping) else {}
    channel = str(body.get("channel", ""))
    values = {
        "channel": channel_name(channel) if channel else "",
        "brand": names.brand(str(body.get("brand"))),
    }
    if action == "suppression.lifted":
        return _("Messages by %(channel)s allowed again") % values
    reason, brand = body.get("reason"), body.get("brand")
    if reason == "hard_bounce":
        every, one = (
            _("Messages by %(channel)s stopped: your address could not be reached"),
            _("Messages from %(brand)s by %(channel)s stopped: your address could not be reached"),
        )
    elif reason == "stop":
        every, one = (
            _("Messages by %(channel)s stopped: you replied STOP"),
            _("Messages from %(brand)s by %(channel)s stopped: you replied STOP"),
        )
    elif reason == "complaint":
        every, one = (
            _("Marketing by %(channel)s stopped: you reported a message as spam"),
            _("Marketing from %(brand)s by %(channel)s stopped: you reported a message as spam"),
        )
    else:
        every, one = (
            _("Messages by %(channel)s blocked"),
            _("Messages from %(brand)s by %(channel)s blocked"),
        )
    return (every if brand is None else one) % values


def _cancelled(view: Mapping[str, Any], names: Names, zone: tzinfo) -> str:
    send = view.get("after")
    send = send if isinstance(send, Mapping) else {}
    brand, topic = str(send.get("brand", "")), str(send.get("topic", ""))
    at = send.get("send_at")
    moment = moment_phrase(datetime.fromisoformat(at.replace("Z", "+00:00")), zone) if at else ""
    return _(
        "Cancelled a message from %(brand)s about %(topic)s by %(channel)s planned for "
        "%(moment)s: your settings no longer allow it"
    ) % {
        "brand": names.brand(brand),
        "topic": name_in_sentence(names.topic(brand, topic)),
        "channel": channel_name(str(send.get("channel"))),
        "moment": moment,
    }


def describe_event(view: Mapping[str, Any], *, names: Names, zone: tzinfo) -> list[str]:
    """What an event about the customer changed, one sentence per change."""
    action = view["action"]
    lines: list[str] = []
    if action in PREFERENCE_ACTIONS:
        lines = describe_preferences(view["before"], view["after"], names=names, zone=zone)
    elif action == "customer.created":
        lines = [_("Your account was created")]
    elif action == "customer.updated":
        lines = _identity(view["before"], view["after"])
    elif action == "customer.erased":
        lines = [_("Your account was erased")]
    elif action in ("suppression.added", "suppression.lifted"):
        lines = [_suppression(action, view, names)]
    elif action == "send.cancelled":
        lines = [_cancelled(view, names, zone)]
    return lines or [_("Your settings changed")]


def describe_send(*, brand: str, topic: str, channel: str, status: str, names: Names) -> str:
    """A message reserved or recorded for the customer, and what became of it."""
    values = {
        "brand": names.brand(brand),
        "topic": name_in_sentence(names.topic(brand, topic)),
        "channel": channel_name(channel),
    }
    if status == RESERVED:
        return _("Message from %(brand)s about %(topic)s by %(channel)s: reserved") % values
    if status == SENT:
        return _("Message from %(brand)s about %(topic)s by %(channel)s: sent") % values
    if status == CANCELLED:
        return (
            _(
                "Message from %(brand)s about %(topic)s by %(channel)s: cancelled, "
                "your settings no longer allow it"
            )
            % values
        )
    if status == RELEASED:
        return (
            _(
                "Message from %(brand)s about %(topic)s by %(channel)s: not sent, "
                "the sender withdrew it"
            )
            % values
        )
    return _("Message from %(brand)s about %(topic)s by %(channel)s") % values
