"""Handing a secret to the next page once: sealed in a short-lived cookie, never stored."""

from __future__ import annotations

import base64
import json
import os
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.keys import Keys

_NONCE_BYTES = 12
_UNTIL = "_until"


class Handover:
    """Seals values for one purpose (AES-GCM under a key derived for it) and opens them."""

    def __init__(self, keys: Keys, purpose: str) -> None:
        self._aead = AESGCM(keys.derive(f"handover:{purpose}"))

    def seal(self, values: dict[str, str], *, seconds: int) -> str:
        """The values, to be opened within `seconds` (the cookie's age is the browser's word)."""
        nonce = os.urandom(_NONCE_BYTES)
        until = str(int(time.time()) + seconds)
        sealed = self._aead.encrypt(nonce, json.dumps({**values, _UNTIL: until}).encode(), None)
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
        until = values.pop(_UNTIL, "")
        return values if until.isdecimal() and time.time() <= int(until) else None
