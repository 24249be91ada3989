"""The engine's inputs, read from the database with column selects, batched for many customers."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Select, Text, bindparam, select
from sqlalchemy import cast as sql_cast
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
from app.consent.identity import PHONE_CHANNELS, Reference, RefKind, postal_text, zone
from app.consent.vocabulary import DAY_NUMBERS
from app.keys import Keys
from app.models import Customer, Preference, Send
from app.models import Suppression as SuppressionRow
from app.models.send import COUNTING
from app.prepared import Prepared, among

_NONE: frozenset[str] = frozenset()
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
    # The longest cap period, in days, the document sets (None: it sets no cap).
    cap_days: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cap_days", _longest_days(self.document))

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
    col(Preference.version),
    col(Customer.external_id),
    col(Customer.email),
    col(Customer.phone),
    # JSON as text: parsed only when the customer at this version is not cached yet.
    sql_cast(col(Customer.push_tokens), Text),
    sql_cast(col(Customer.postal_address), Text),
    col(Customer.timezone),
    sql_cast(col(Preference.document), Text),
)


@dataclass(frozen=True, slots=True)
class AddressHashes:
    """A customer's addresses as the keyed hashes suppressions are stored under."""

    # Per channel with an address: for each of its addresses, the hashes a lookup tries.
    per_address: Mapping[str, tuple[tuple[str, ...], ...]]
    # Per channel: all of them.
    every: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, keys: Keys, record: CustomerRecord) -> AddressHashes:
        per_address = {
            channel: tuple(keys.identifier_hashes(channel, a) for a in addresses)
            for channel, addresses in record.addresses().items()
        }
        every = {
            channel: frozenset(h for hashes in per for h in hashes)
            for channel, per in per_address.items()
        }
        return cls(per_address, every)


@dataclass(slots=True)
class _Entry:
    """A cached customer: the record at its version, its facts, its address hashes (made on
    first use)."""

    version: int
    record: CustomerRecord
    facts: CustomerFacts
    hashes: AddressHashes | None = None


class CustomerCache:
    """Each customer as last read, at its version, with what is made from it (engine facts,
    address hashes): `version` moves with every change to identity or preferences, so an
    entry at the asked version is never stale. One entry per customer; bounded; safe across
    threads."""

    def __init__(self, keys: Keys, size: int = 100_000) -> None:
        self._keys = keys
        self._size = size
        self._entries: dict[str, _Entry] = {}

    def _entry(self, customer_id: str, version: int) -> _Entry | None:
        entry = self._entries.get(customer_id)
        return entry if entry is not None and entry.version == version else None

    def record(self, customer_id: str, version: int) -> CustomerRecord | None:
        entry = self._entry(customer_id, version)
        return None if entry is None else entry.record

    def split(
        self, rows: Iterable[Sequence[Any]]
    ) -> tuple[list[tuple[str, CustomerRecord]], dict[str, str]]:
        """Of rows (customer id, version, identifier): (identifier, record) of each customer
        held at that version, and {customer id: identifier} of the others."""
        held: list[tuple[str, CustomerRecord]] = []
        missing: dict[str, str] = {}
        for customer_id, version, identifier in rows:
            entry = self._entry(customer_id, version)
            if entry is None:
                missing[customer_id] = identifier
            else:
                held.append((identifier, entry.record))
        return held, missing

    def facts(self, record: CustomerRecord) -> CustomerFacts | None:
        entry = self._entry(record.id, record.version)
        return None if entry is None else entry.facts

    def hashes(self, record: CustomerRecord) -> AddressHashes:
        """The record's address hashes, made once per version of a cached customer."""
        entry = self._entry(record.id, record.version)
        if entry is None:
            return AddressHashes.of(self._keys, record)
        if entry.hashes is None:
            entry.hashes = AddressHashes.of(self._keys, record)
        return entry.hashes

    def keep(self, key: tuple[str, int], record: CustomerRecord, facts: CustomerFacts) -> None:
        if len(self._entries) >= self._size:
            self._entries.clear()  # rarely: simpler and cheaper than tracking recency
        self._entries[key[0]] = _Entry(key[1], record, facts)


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """`values` in slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def customer_rows() -> Select[*tuple[Any, ...]]:
    """The select of live customers with their preferences (filter it by id or identifier)."""
    return (
        select(*CUSTOMER_COLUMNS)
        .join(Preference, col(Preference.customer_id) == col(Customer.id))
        .where(col(Customer.erased_at).is_(None))
    )


def customer_record(row: Sequence[Any], cache: CustomerCache | None = None) -> CustomerRecord:
    """A row of `customer_rows` as a record, from the cache when it holds this version."""
    key = (row[0], row[1])
    if cache is not None and (cached := cache.record(*key)) is not None:
        return cached
    postal = None if row[6] is None else json.loads(row[6])
    record = CustomerRecord(
        id=row[0],
        version=row[1],
        external_id=row[2],
        email=row[3],
        phone=row[4],
        push_tokens=tuple(json.loads(row[5]) if row[5] else ()),
        postal=None if postal is None else postal_text(postal),
        timezone=row[7],
        document=json.loads(row[8]),
    )
    if cache is not None:
        cache.keep(key, record, customer_facts(record, {}))
    return record


# Built once and run on the driver's cursor: composing a statement, or having SQLAlchemy run it,
# costs more than running it.
IDENTIFIERS = (
    ("id", col(Customer.id)),
    ("ext", col(Customer.external_id)),
    ("email", col(Customer.email)),
    ("tel", col(Customer.phone)),
)
CUSTOMERS_BY = {
    kind: Prepared(customer_rows().add_columns(column).where(among(column, "values")))
    for kind, column in IDENTIFIERS
}
# Ids and versions only: what a cache needs to tell whether it holds the customer (a third of
# the cost of whole rows, most of which is the preferences document).
VERSIONS_BY = {
    kind: Prepared(
        select(col(Customer.id), col(Preference.version), column)
        .join(Preference, col(Preference.customer_id) == col(Customer.id))
        .where(col(Customer.erased_at).is_(None), among(column, "values"))
    )
    for kind, column in IDENTIFIERS
}
CUSTOMERS_LOCKED = Prepared(
    # The customer rows, as every change to a customer locks first: one order, no deadlocks.
    CUSTOMERS_BY["id"].statement.order_by(col(Customer.id)).with_for_update(of=col(Customer.id))
)
SUPPRESSIONS = Prepared(
    select(
        col(SuppressionRow.channel),
        col(SuppressionRow.address_hash),
        col(SuppressionRow.reason),
        col(SuppressionRow.brand),
    ).where(
        among(col(SuppressionRow.address_hash), "values"),
        col(SuppressionRow.lifted_at).is_(None),
    )
)
SENDS = Prepared(
    select(col(Send.customer_id), col(Send.brand), col(Send.send_at)).where(
        among(col(Send.customer_id), "values"),
        col(Send.marketing).is_(True),
        among(col(Send.status), values=COUNTING),
        col(Send.send_at) >= bindparam("earliest"),
    )
)


def load_customers(
    connection: Connection,
    ids: Collection[str],
    cache: CustomerCache | None = None,
    *,
    lock: bool = False,
) -> dict[str, CustomerRecord]:
    """The live customers among `ids`, with their preferences.

    `lock`: their preference rows stay locked until the transaction ends (PostgreSQL; SQLite's
    write transactions hold the whole database), taken in id order so that batches never
    deadlock each other.
    """
    locking = lock and connection.dialect.name != "sqlite"
    query = CUSTOMERS_LOCKED if locking else CUSTOMERS_BY["id"]
    rows = query.rows(connection, {"values": sorted(set(ids))})
    return {row[0]: customer_record(row, cache) for row in rows}


def find_customers(
    connection: Connection, refs: Iterable[Reference], cache: CustomerCache | None = None
) -> dict[Reference, CustomerRecord]:
    """The live customer each reference names; a phone number of several customers names none."""
    by_kind: dict[RefKind, dict[str, Reference]] = {}
    for ref in set(refs):
        by_kind.setdefault(ref.kind, {})[ref.value] = ref
    found: dict[Reference, CustomerRecord] = {}
    ambiguous: set[Reference] = set()
    for kind, named in by_kind.items():
        for identifier, record in _named(connection, kind, list(named), cache):
            ref = named[identifier]  # the database holds identifiers as references name them
            if ref in found:
                ambiguous.add(ref)
            found[ref] = record
    for ref in ambiguous:
        del found[ref]
    return found


def _named(
    connection: Connection, kind: RefKind, values: list[str], cache: CustomerCache | None
) -> list[tuple[str, CustomerRecord]]:
    """(identifier, record) of each live customer that one of `values` names.

    With a cache: ids and versions first, then whole rows only of the customers it does not
    hold at their version (reading the preferences document is most of a row's cost).
    """
    if cache is None:
        rows = CUSTOMERS_BY[kind].rows(connection, {"values": values})
        return [(row[-1], customer_record(row)) for row in rows]
    named, missing = cache.split(VERSIONS_BY[kind].rows(connection, {"values": values}))
    if missing:
        rows = CUSTOMERS_BY["id"].rows(connection, {"values": sorted(missing)})
        named.extend((missing[row[0]], customer_record(row, cache)) for row in rows)
    return named


def load_suppressions(
    connection: Connection,
    keys: Keys,
    customers: Collection[CustomerRecord],
    cache: CustomerCache | None = None,
    channels: Collection[str] | None = None,
) -> dict[str, dict[str, tuple[Suppression, ...]]]:
    """Active suppressions per customer id and channel (of `channels`: every one by default).

    A channel with several addresses (push tokens) counts as suppressed only by what blocks
    every one of them.
    """
    hashed = [
        (record.id, cache.hashes(record) if cache else AddressHashes.of(keys, record))
        for record in customers
    ]
    # The keyed hash covers the channel too: one hash names one (channel, address).
    wanted: set[str] = set()
    for _, hashes in hashed:
        for channel in hashes.every if channels is None else channels:
            wanted |= hashes.every.get(channel, _NONE)
    if not wanted:
        return {}
    per_address: dict[tuple[str, str], list[Suppression]] = {}
    for channel, address_hash, reason, brand in SUPPRESSIONS.rows(
        connection, {"values": list(wanted)}
    ):
        per_address.setdefault((channel, address_hash), []).append(
            Suppression(reason=cast(SuppressionReason, reason), brand=brand)
        )
    result: dict[str, dict[str, tuple[Suppression, ...]]] = {}
    if not per_address:
        return result
    for customer_id, hashes in hashed:
        for channel, addresses in hashes.per_address.items():
            sets = [
                {s for h in address_hashes for s in per_address.get((channel, h), ())}
                for address_hashes in addresses
            ]
            common = set.intersection(*sets) if sets else set()
            if common:
                result.setdefault(customer_id, {})[channel] = tuple(common)
    return result


def load_sends(connection: Connection, since: Mapping[str, datetime]) -> dict[str, list[SendFacts]]:
    """Marketing sends that count against caps, per customer id, from `since[id]` on."""
    result: dict[str, list[SendFacts]] = {customer: [] for customer in since}
    if not since:
        return result
    # From the start of the day: the same query all day long, which a kept connection's rows
    # read (`app.prepared.MEMO`) can answer again; the rows before `since` are left out below.
    earliest = min(since.values()).replace(hour=0, minute=0, second=0, microsecond=0)
    params = {"values": list(since), "earliest": earliest}
    for customer_id, brand, at in SENDS.rows(connection, params):
        if at >= since[customer_id]:
            result[customer_id].append(SendFacts(brand=brand, at=at))
    return result


def longest_cap(record: CustomerRecord, brand_cap: Cap | None) -> timedelta | None:
    """The longest cap period that can apply to a customer's sends for a brand with
    `brand_cap`, or None when no cap applies."""
    days = record.cap_days
    if brand_cap is not None and (days is None or brand_cap.period_days > days):
        days = brand_cap.period_days
    return None if days is None else timedelta(days=days)


def _longest_days(document: Mapping[str, Any]) -> int | None:
    days = [cap["period_days"] for cap in (document.get("global_cap"),) if cap]
    days += [b["cap"]["period_days"] for b in document.get("brands", {}).values() if b.get("cap")]
    return max(days, default=None)


def customer_facts(
    record: CustomerRecord,
    suppressions: Mapping[str, tuple[Suppression, ...]],
    cache: CustomerCache | None = None,
) -> CustomerFacts:
    """The engine's view of a customer, from the stored document (already validated)."""
    cached = None if cache is None else cache.facts(record)
    if cached is not None:
        return replace(cached, suppressions=suppressions) if suppressions else cached
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
