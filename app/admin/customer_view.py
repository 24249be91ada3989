"""The console's customer page in words: identity, and the preferences as the portal says them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from app.audit import ERASED
from app.consent.catalog_read import catalog_view
from app.consent.context import Context
from app.consent.engine import CatalogFacts
from app.consent.facts import CustomerRecord, customer_facts
from app.consent.identity import postal_text
from app.consent.vocabulary import CHANNELS
from app.plain.changes import describe_preferences
from app.plain.events import language_name
from app.plain.names import Names, load_names
from app.plain.relationship import BrandCard, cards_for
from app.plain.words import cap_phrase, channel_name, date_phrase, quiet_phrase
from app.web.i18n import gettext as _
from app.web.i18n import ngettext


@dataclass(frozen=True)
class Row:
    """One labelled value; `missing` when it is not set or erased (shown muted)."""

    label: str
    value: str
    missing: bool = False


@dataclass(frozen=True)
class ChannelRow:
    """One channel the catalog's topics use: on or off, and when it is quiet."""

    key: str
    name: str
    enabled: bool
    quiet: str
    own_quiet: bool


@dataclass(frozen=True)
class PreferencesView:
    """The preferences in the portal's words: one card per brand, the channels, the choices."""

    zone: str
    cards: tuple[BrandCard, ...]
    channels: tuple[ChannelRow, ...]
    marketing: tuple[str, ...]
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """What the page needs of the live catalog, read once per request."""

    facts: CatalogFacts
    view: Mapping[str, Any]
    names: Names


def load_catalog(session: Session, ctx: Context) -> Catalog:
    return Catalog(ctx.catalog.get(session), catalog_view(session), load_names(session))


def zone_of(catalog: Catalog, identity: Mapping[str, Any] | None) -> ZoneInfo:
    """The customer's time zone as the identity names it, else the catalog's default."""
    name = (identity or {}).get("timezone")
    if isinstance(name, str) and name != ERASED:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return catalog.facts.default_timezone


def identity_rows(identity: Mapping[str, Any] | None) -> list[Row]:
    """The `customer` block labelled; "erased" where the customer's key is gone."""
    values = identity or {}
    missing = Row("", _("Not given"), missing=True)

    def row(label: str, name: str, shown: Any) -> Row:
        value = values.get(name)
        if value == ERASED:
            return Row(label, _("erased"), missing=True)
        if value in (None, "", [], {}):
            return Row(label, missing.value, missing=True)
        return Row(label, shown(value))

    return [
        row(_("Customer id"), "id", str),
        row(_("External id"), "external_id", str),
        row(_("E-mail address"), "email", str),
        row(_("Phone number"), "phone", str),
        row(
            _("Devices for push notifications"),
            "push_tokens",
            lambda tokens: (
                ngettext("%(count)d device", "%(count)d devices", len(tokens))
                % {"count": len(tokens)}
            ),
        ),
        row(_("Postal address"), "postal_address", _postal),
        row(_("Time zone"), "timezone", str),
        row(_("Language"), "locale", lambda code: f"{language_name(code)} ({code})"),
    ]


def _postal(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(str(v) for v in value.values() if v)
    return str(value)


def preferences_view(
    catalog: Catalog,
    document: Mapping[str, Any],
    cards: Sequence[BrandCard],
    *,
    zone: tzinfo,
    now: datetime,
) -> PreferencesView:
    """The document in words as at `now`, with the brand cards made for it."""
    settings = catalog.view["channels"]
    used = {
        channel
        for brand in catalog.view["brands"]
        for topic in brand["topics"]
        for channel in topic["channels"]
    }
    rows = []
    for channel in (c for c in CHANNELS if c in used):
        body = (document.get("channels") or {}).get(channel) or {}
        own_hours, own_days = body.get("quiet_hours"), body.get("quiet_days")
        hours = settings[channel]["quiet_hours"] if own_hours is None else own_hours
        days = settings[channel]["quiet_days"] if own_days is None else own_days
        name = channel_name(channel)
        rows.append(
            ChannelRow(
                key=channel,
                name=name[:1].upper() + name[1:],
                enabled=bool(body.get("enabled", True)),
                quiet=quiet_phrase(hours, days),
                own_quiet=own_hours is not None or own_days is not None,
            )
        )
    return PreferencesView(
        zone=str(zone),
        cards=tuple(cards),
        channels=tuple(rows),
        marketing=tuple(_marketing(document, zone=zone, now=now)),
        choices=tuple(describe_preferences({}, document, names=catalog.names, zone=zone)),
    )


def _marketing(document: Mapping[str, Any], *, zone: tzinfo, now: datetime) -> list[str]:
    lines = [
        _("All marketing: stopped by the customer (no_marketing).")
        if document.get("no_marketing")
        else _("All marketing: allowed, as the settings below say.")
    ]
    raw = document.get("paused_until")
    until = None if raw is None else datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if until is not None and until > now:
        last_day = date_phrase(until - timedelta(microseconds=1), zone)
        lines.append(_("All marketing is paused until %(date)s.") % {"date": last_day})
    lines.append(
        _("How often all brands together may write: %(cap)s")
        % {"cap": cap_phrase(document.get("global_cap"))}
    )
    return lines


def past_cards(
    catalog: Catalog,
    customer_id: str,
    identity: Mapping[str, Any] | None,
    document: Mapping[str, Any],
    *,
    now: datetime,
) -> list[BrandCard]:
    """The brand cards for a rebuilt document, with the addresses the identity then held
    (an erased address counts as held) and no suppressions."""
    values = identity or {}

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) and value else None

    tokens = values.get("push_tokens")
    postal = values.get("postal_address")
    zone = zone_of(catalog, identity)
    record = CustomerRecord(
        id=customer_id,
        external_id=text("external_id"),
        email=text("email"),
        phone=text("phone"),
        push_tokens=tuple(tokens) if isinstance(tokens, list) else (ERASED,) if tokens else (),
        postal=postal_text(postal) if postal else None,
        timezone=None if zone == catalog.facts.default_timezone else str(zone),
        document=document,
        version=0,
    )
    facts = customer_facts(record, {})
    return cards_for(catalog.facts, catalog.view["brands"], facts, now=now)
