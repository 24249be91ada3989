"""What the channels page reads: the channels in use, the customer, their suppressed addresses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.consent.catalog_read import catalog_view
from app.consent.context import Context
from app.consent.identity import PHONE_CHANNELS, InvalidIdentifier, channel_address, postal_text
from app.consent.suppressions import LIFTED_BY_RESUBSCRIBE
from app.consent.vocabulary import CHANNELS
from app.models import Customer, Preference, Suppression


@dataclass(frozen=True)
class ChannelsState:
    """The customer, their document and the live catalog's channels, read once per request."""

    customer: Customer
    document: Mapping[str, Any]
    channels: list[str]  # the channels the live topics use, in the vocabulary's order
    settings: Mapping[str, Mapping[str, Any]]  # the catalog's settings of each channel
    default_zone: str
    stopped: frozenset[str]  # channels whose address has a STOP or complaint suppression
    blocked: frozenset[str]  # channels whose address bounced or was blocked by hand

    @property
    def zone_name(self) -> str:
        return self.customer.timezone or self.default_zone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)


def addresses_of(customer: Customer, channel: str) -> list[str]:
    """The customer's addresses for `channel` as suppressions are kept (none for in-app)."""
    if channel == "email":
        raw = [customer.email] if customer.email else []
    elif channel in PHONE_CHANNELS:
        raw = [customer.phone] if customer.phone else []
    elif channel == "push":
        raw = list(customer.push_tokens)
    elif channel == "postal":
        raw = [postal_text(customer.postal_address)] if customer.postal_address else []
    else:
        return []
    found = []
    for value in raw:
        try:
            found.append(channel_address(channel, value))
        except InvalidIdentifier:
            continue  # kept before today's rules: nothing can be suppressed under it
    return found


def _suppressed(
    session: Session, ctx: Context, customer: Customer, channels: list[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """The channels whose address is suppressed: (lifted by turning on, not lifted so)."""
    by_hash: dict[str, str] = {}
    for channel in channels:
        for address in addresses_of(customer, channel):
            for hashed in ctx.keys.identifier_hashes(channel, address):
                by_hash[hashed] = channel
    if not by_hash:
        return frozenset(), frozenset()
    rows = session.execute(
        select(
            col(Suppression.channel), col(Suppression.address_hash), col(Suppression.reason)
        ).where(
            col(Suppression.address_hash).in_(list(by_hash)),
            col(Suppression.lifted_at).is_(None),
        )
    )
    stopped: set[str] = set()
    blocked: set[str] = set()
    for channel, hashed, reason in rows:
        if by_hash.get(hashed) != channel:
            continue
        (stopped if reason in LIFTED_BY_RESUBSCRIBE else blocked).add(channel)
    return frozenset(stopped), frozenset(blocked)


def read_state(session: Session, *, ctx: Context, customer_id: str) -> ChannelsState:
    customer = session.get(Customer, customer_id)
    preference = session.get(Preference, customer_id)
    assert customer is not None  # noqa: S101  (the session's customer is live)
    assert preference is not None  # noqa: S101  (created with the customer)
    catalog = catalog_view(session)
    used = {
        ch for brand in catalog["brands"] for topic in brand["topics"] for ch in topic["channels"]
    }
    channels: list[str] = [channel for channel in CHANNELS if channel in used]
    stopped, blocked = _suppressed(session, ctx, customer, channels)
    return ChannelsState(
        customer=customer,
        document=preference.document,
        channels=channels,
        settings=catalog["channels"],
        default_zone=catalog["default_timezone"],
        stopped=stopped,
        blocked=blocked,
    )
