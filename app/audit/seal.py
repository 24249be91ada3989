"""Per-customer sealing keys: personal data in audit events, readable until erasure."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from app.keys import Keys
from app.models import CustomerKey

PREFIX = "v1:"
_WRAP_VERSION = b"\x01"
_NONCE = 12
_CHUNK = 500  # SQLite bounds the number of bind variables


class SealError(ValueError):
    """A sealed value or a wrapped key that none of our keys opens: it was altered."""


class Sealer:
    """Seals JSON data with a key of the customer's own, itself wrapped with the audit KEK.

    Destroying the customer's key (erasure) leaves the sealed data unreadable for good. Unwrapped
    keys are never cached beyond one call, so nothing outlives `destroy`.
    """

    def __init__(self, keys: Keys) -> None:
        self._keys = keys
        self._kek = keys.derive("audit-kek")

    def ensure_keys(self, session: Session, customer_ids: Iterable[str]) -> None:
        """Create the customers' keys unless they exist (safe against a concurrent creation)."""
        ids = set(customer_ids)
        missing = sorted(ids - set(self._wrapped(session, ids)))
        if not missing:
            return
        rows = [
            {"customer_id": c, "key": self._wrap(c, AESGCM.generate_key(bit_length=256))}
            for c in missing
        ]
        try:
            with session.begin_nested():
                session.execute(insert(CustomerKey), rows)
        except IntegrityError:
            # Another transaction created some first: theirs are visible now; add the others.
            for row in rows:
                try:
                    with session.begin_nested():
                        session.execute(insert(CustomerKey), [row])
                except IntegrityError:
                    continue

    def ensure_key(self, session: Session, customer_id: str) -> None:
        """Create the customer's key unless it exists."""
        self.ensure_keys(session, [customer_id])

    def seal(self, session: Session, customer_id: str, data: dict[str, Any]) -> str:
        """`data` encrypted with the customer's key (created when missing): "v1:" + base64."""
        return self.seal_many(session, [(customer_id, data)])[0]

    def seal_many(self, session: Session, items: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
        """Each (customer, data) sealed, with the keys created and read in a few statements."""
        if not items:
            return []
        ids = {customer_id for customer_id, _ in items}
        self.ensure_keys(session, ids)
        keys = self.load_keys(session, ids)
        sealed = []
        for customer_id, data in items:
            nonce = os.urandom(_NONCE)
            plain = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            body = AESGCM(keys[customer_id]).encrypt(
                nonce, plain.encode(), _aad("audit", customer_id)
            )
            sealed.append(PREFIX + base64.b64encode(nonce + body).decode("ascii"))
        return sealed

    def unseal(self, session: Session, customer_id: str, sealed: str) -> dict[str, Any] | None:
        """The sealed data, or None when the customer's key is gone (erased)."""
        key = self.load_keys(session, [customer_id]).get(customer_id)
        return None if key is None else self.open(customer_id, key, sealed)

    def destroy(self, session: Session, customer_id: str) -> None:
        """Delete the customer's key: everything sealed with it becomes unreadable."""
        session.execute(delete(CustomerKey).where(col(CustomerKey.customer_id) == customer_id))

    def load_keys(self, session: Session, customer_ids: Iterable[str]) -> dict[str, bytes]:
        """The unwrapped keys of those customers that still have one."""
        return {
            customer_id: self._unwrap(customer_id, wrapped)
            for customer_id, wrapped in self._wrapped(session, customer_ids).items()
        }

    def open(self, customer_id: str, key: bytes, sealed: str) -> dict[str, Any]:
        """Decrypt `sealed` with the customer's unwrapped `key`."""
        try:
            if not sealed.startswith(PREFIX):
                raise ValueError("unknown format")
            raw = base64.b64decode(sealed[len(PREFIX) :], validate=True)
            plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad("audit", customer_id))
        except (ValueError, InvalidTag) as error:
            raise SealError(f"sealed data of customer {customer_id} cannot be opened") from error
        data: dict[str, Any] = json.loads(plain)
        return data

    def _wrapped(self, session: Session, customer_ids: Iterable[str]) -> dict[str, bytes]:
        # Column selects, not ORM rows: a key destroyed elsewhere must not linger in a session.
        ids = sorted(set(customer_ids))
        found: dict[str, bytes] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            statement = select(col(CustomerKey.customer_id), col(CustomerKey.key)).where(
                col(CustomerKey.customer_id).in_(chunk)
            )
            found.update({row.customer_id: row.key for row in session.execute(statement)})
        return found

    def _wrap(self, customer_id: str, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        kek = AESGCM(self._kek)
        return _WRAP_VERSION + nonce + kek.encrypt(nonce, key, _aad("key", customer_id))

    def _unwrap(self, customer_id: str, wrapped: bytes) -> bytes:
        if wrapped[:1] == _WRAP_VERSION:
            nonce, body = wrapped[1 : 1 + _NONCE], wrapped[1 + _NONCE :]
            # Keys wrapped under a retired secret stay readable after rotation.
            for kek in self._keys.derive_all("audit-kek"):
                try:
                    return AESGCM(kek).decrypt(nonce, body, _aad("key", customer_id))
                except InvalidTag:
                    continue
        raise SealError(f"the audit key of customer {customer_id} cannot be unwrapped")


def _aad(kind: str, customer_id: str) -> bytes:
    # Binds a ciphertext to its customer: a key or value moved to another customer fails.
    return f"cmr-{kind}:{customer_id}".encode()
