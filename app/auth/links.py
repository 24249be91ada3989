"""Signed, never-expiring link tokens: one-click unsubscribe and preference links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from app.keys import Keys

_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    """Signs lists of strings for one purpose; checks with the current and previous keys."""

    def __init__(self, keys: Keys, purpose: str) -> None:
        self._keys = keys.derive_all(f"link:{purpose}")
        # The same customer's links are made again and again (every decision carries them).
        self._sign = lru_cache(maxsize=65536)(self._sign_uncached)

    def sign(self, values: Sequence[str]) -> str:
        return self._sign(tuple(values))

    def _sign_uncached(self, values: tuple[str, ...]) -> str:
        payload = json.dumps(values, separators=(",", ":")).encode()
        mac = hmac.digest(self._keys[0], payload, hashlib.sha256)[:_MAC_BYTES]
        return f"{_b64(payload)}.{_b64(mac)}"

    def verify(self, token: str) -> list[str] | None:
        """The signed values, or None for a forged or altered token."""
        head, dot, tail = token.partition(".")
        if not dot:
            return None
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except ValueError:
            return None
        if _b64(payload) != head or _b64(mac) != tail:
            return None  # characters the decoder skipped: an altered token
        for key in self._keys:
            expected = hmac.digest(key, payload, hashlib.sha256)[:_MAC_BYTES]
            if hmac.compare_digest(expected, mac):
                try:
                    values = json.loads(payload)
                except ValueError:
                    return None
                if isinstance(values, list) and all(isinstance(v, str) for v in values):
                    return values
        return None


class Links:
    """The links a decision hands out: preference links and one-click unsubscribe links."""

    def __init__(self, keys: Keys, base_url: str) -> None:
        self._base = base_url.rstrip("/")
        self.preferences = LinkSigner(keys, "preferences")
        self.unsubscribe = LinkSigner(keys, "unsubscribe")
        self._unsubscribe_member = lru_cache(maxsize=65536)(self._unsubscribe_member_uncached)
        self._preferences_url = lru_cache(maxsize=65536)(self._preferences_url_uncached)

    def preferences_url(self, customer_id: str) -> str:
        """The customer's preference link (made once per customer: every decision carries it)."""
        return self._preferences_url(customer_id)

    def _preferences_url_uncached(self, customer_id: str) -> str:
        return f"{self._base}/p/{self.preferences.sign([customer_id])}"

    def unsubscribe_url(self, customer_id: str, brand: str, topic: str, channel: str) -> str:
        token = self.unsubscribe.sign([customer_id, brand, topic, channel])
        return f"{self._base}/u/{token}"

    def unsubscribe_member(
        self, customer_id: str, brand: str, topic: str, channel: str
    ) -> dict[str, Any]:
        """The `unsubscribe` member of a decision: the link and the RFC 8058 headers to send.

        Made once per link and shared: answers only serialise it.
        """
        return self._unsubscribe_member(customer_id, brand, topic, channel)

    def _unsubscribe_member_uncached(
        self, customer_id: str, brand: str, topic: str, channel: str
    ) -> dict[str, Any]:
        url = self.unsubscribe_url(customer_id, brand, topic, channel)
        return {
            "url": url,
            "headers": {
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }
