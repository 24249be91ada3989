"""CSRF tokens: an HMAC of the session's token (or of a visitor cookie before sign-in)."""

from __future__ import annotations

import hashlib
import hmac

from app.keys import Keys


class CsrfSigner:
    """Makes and checks the token that every form carries."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys.derive_all("csrf")

    def token(self, anchor: str) -> str:
        return hmac.new(self._keys[0], anchor.encode(), hashlib.sha256).hexdigest()

    def check(self, anchor: str, given: str | None) -> bool:
        if not given or not anchor:
            return False
        return any(
            hmac.compare_digest(hmac.new(key, anchor.encode(), hashlib.sha256).hexdigest(), given)
            for key in self._keys
        )
