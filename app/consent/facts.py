"""The engine's inputs, read from the database with column selects, batched for many customers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session
from sqlmodel import col

from app.consent.engine import (
    BrandPrefs,
    Cap,
    ChannelPrefs,
    ConsentFacts,
    CustomerFacts,
    QuietWindow,
    SendFacts,
    Suppression,
    SuppressionReason,
    TopicPrefs,
)
from app.consent.identity import PHONE_CHANNELS, postal_text, zone
from app.consent.vocabulary import DAY_NUMBERS
from app.keys import Keys
from app.models import Customer, Preference, Send
from app.models import Suppression as SuppressionRow
from app.models.send import COUNTING

CHUNK = 500  # SQLite bounds the number of bind variables in one statement


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """What decisions need of one live customer, as plain values."""

    id: str
    external_id: str | None
    email: str | None
    phone: str | None
    push_tokens: tuple[str, ...]
    postal: str | None
    timezone: str | None
    document: Mapping[str, Any]
    version: int

    def addresses(self) -> dict[str, tuple[str, ...]]:
        """The address(es) per channel that has one (`in_app` needs none)."""
        found: dict[str, tuple[str, ...]] = {}
        if self.email:
            found["email"] = (self.email,)
        if self.phone:
            for channel in PHONE_CHANNELS:
                found[channel] = (self.phone,)
        if self.push_tokens:
            found["push"] = self.push_tokens
        if self.postal:
            found["postal"] = (self.postal,)
        return found


CUSTOMER_COLUMNS = (
    col(Customer.id),
    col(Customer.external_id),
    col(Customer.email),
    col(Customer.phone),
    col(Customer.push_tokens),
    col(Customer.postal_address),
    col(Customer.timezone),
    col(Preference.document),
    col(Preference.version),
)


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """`values` in slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def load_customers(session: Session, ids: Sequence[str]) -> dict[str, CustomerRecord]:
    """The live customers among `ids`, with their preferences."""
    found: dict[str, CustomerRecord] = {}
    for part in chunks(sorted(set(ids))):
        rows = session.execute(
            select(*CUSTOMER_COLUMNS)
            .join(Preference, col(Preference.customer_id) == col(Customer.id))
            .where(col(Customer.id).in_(part), col(Customer.erased_at).is_(None))
        )
        for row in rows:
            found[row[0]] = CustomerRecord(
                id=row[0],
                external_id=row[1],
                email=row[2],
                phone=row[3],
                push_tokens=tuple(row[4] or ()),
                postal=None if row[5] is None else postal_text(row[5]),
                timezone=row[6],
                document=row[7],
                version=row[8],
            )
    return found


def load_suppressions(
    session: Session, keys: Keys, customers: Iterable[CustomerRecord]
) -> dict[str, dict[str, tuple[Suppression, ...]]]:
    """Active suppressions per customer id and channel.

    A channel with several addresses (push tokens) counts as suppressed only by what blocks
    every one of them.
    """
    wanted: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for record in customers:
        for channel, addresses in record.addresses().items():
            for address in addresses:
                key = (channel, keys.identifier_hash(channel, address))
                wanted.setdefault(key, []).append((record.id, channel))
    per_address: dict[tuple[str, str], list[Suppression]] = {}
    pairs = list(wanted)
    for part in chunks(pairs):
        rows = session.execute(
            select(
                col(SuppressionRow.channel),
                col(SuppressionRow.address_hash),
                col(SuppressionRow.reason),
                col(SuppressionRow.brand),
            ).where(
                tuple_(col(SuppressionRow.channel), col(SuppressionRow.address_hash)).in_(part),
                col(SuppressionRow.lifted_at).is_(None),
            )
        )
        for channel, address_hash, reason, brand in rows:
            per_address.setdefault((channel, address_hash), []).append(
                Suppression(reason=cast(SuppressionReason, reason), brand=brand)
            )
    result: dict[str, dict[str, tuple[Suppression, ...]]] = {}
    if not per_address:
        return result
    for record in customers:
        for channel, addresses in record.addresses().items():
            sets = [
                set(per_address.get((channel, keys.identifier_hash(channel, a)), ()))
                for a in addresses
            ]
            common = set.intersection(*sets) if sets else set()
            if common:
                result.setdefault(record.id, {})[channel] = tuple(common)
    return result


def load_sends(session: Session, since: Mapping[str, datetime]) -> dict[str, list[SendFacts]]:
    """Marketing sends that count against caps, per customer id, from `since[id]` on."""
    result: dict[str, list[SendFacts]] = {customer: [] for customer in since}
    for part in chunks(list(since)):
        earliest = min(since[c] for c in part)
        rows = session.execute(
            select(col(Send.customer_id), col(Send.brand), col(Send.send_at)).where(
                col(Send.customer_id).in_(part),
                col(Send.marketing).is_(True),
                col(Send.status).in_(COUNTING),
                col(Send.send_at) >= earliest,
            )
        )
        for customer_id, brand, at in rows:
            if at >= since[customer_id]:
                result[customer_id].append(SendFacts(brand=brand, at=at))
    return result


def longest_cap(document: Mapping[str, Any], brand_caps: Iterable[Cap | None]) -> timedelta | None:
    """The longest cap period that can apply to a customer, or None when no cap applies."""
    days = [c.period_days for c in brand_caps if c is not None]
    if cap := document.get("global_cap"):
        days.append(cap["period_days"])
    for brand in document.get("brands", {}).values():
        if cap := brand.get("cap"):
            days.append(cap["period_days"])
    return timedelta(days=max(days)) if days else None


def customer_facts(
    record: CustomerRecord, suppressions: Mapping[str, tuple[Suppression, ...]]
) -> CustomerFacts:
    """The engine's view of a customer, from the stored document (already validated)."""
    doc = record.document
    return CustomerFacts(
        timezone=zone(record.timezone) if record.timezone else None,
        addresses=frozenset(record.addresses()) | {"in_app"},
        suppressions=suppressions,
        channels={name: _channel(body) for name, body in doc.get("channels", {}).items()},
        no_marketing=doc.get("no_marketing", False),
        paused_until=_instant(doc.get("paused_until")),
        global_cap=_cap(doc.get("global_cap")),
        brands={key: _brand(body) for key, body in doc.get("brands", {}).items()},
    )


def _channel(body: Mapping[str, Any]) -> ChannelPrefs:
    hours = body.get("quiet_hours")
    days = body.get("quiet_days")
    return ChannelPrefs(
        enabled=body.get("enabled", True),
        quiet_hours=None
        if hours is None
        else tuple(
            QuietWindow(time.fromisoformat(w["start"]), time.fromisoformat(w["end"])) for w in hours
        ),
        quiet_days=None if days is None else frozenset(DAY_NUMBERS[d] for d in days),
    )


def _brand(body: Mapping[str, Any]) -> BrandPrefs:
    return BrandPrefs(
        depth=body.get("depth"),
        cap=_cap(body.get("cap")),
        paused_until=_instant(body.get("paused_until")),
        topics={key: _topic(topic) for key, topic in body.get("topics", {}).items()},
    )


def _topic(body: Mapping[str, Any]) -> TopicPrefs:
    channels = body.get("channels")
    return TopicPrefs(
        choice=body.get("choice"),
        channels=None if channels is None else frozenset(channels),
        consents={
            channel: ConsentFacts(
                notice_version=c["notice_version"], expires_at=_instant(c.get("expires_at"))
            )
            for channel, c in body.get("consents", {}).items()
        },
    )


def _cap(body: Mapping[str, Any] | None) -> Cap | None:
    return None if body is None else Cap(count=body["count"], period_days=body["period_days"])


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
