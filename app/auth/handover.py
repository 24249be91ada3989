"""Handing a secret to the next page once: sealed in a short-lived cookie, never stored."""

from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.keys import Keys

_NONCE_BYTES = 12


class Handover:
    """Seals values for one purpose (AES-GCM under a key derived for it) and opens them."""

    def __init__(self, keys: Keys, purpose: str) -> None:
        self._aead = AESGCM(keys.derive(f"handover:{purpose}"))

    def seal(self, values: dict[str, str]) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, json.dumps(values).encode(), None)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, token: str) -> dict[str, str] | None:
        """The sealed values, or None for anything this handover did not seal."""
        try:
            raw = base64.urlsafe_b64decode(token.encode())
            values = json.loads(self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None))
        except (ValueError, InvalidTag):
            return None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return None
        return values
