"""Keys derived from the secret key, one per purpose, so no key serves two ends."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.settings import Settings


def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"cmr", info=purpose.encode()).derive(
        secret.encode()
    )


HASHES_KEPT = 200_000


@dataclass(frozen=True)
class Keys:
    """Every derived key; `previous` holds the keys of retired secrets, for checking only."""

    secret: str
    previous: tuple[str, ...] = ()
    # Hashes already computed: every decision looks up its customer's addresses. Bounded.
    _hashes: dict[str, tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        return cls(
            settings.secret_key.get_secret_value(),
            tuple(key.get_secret_value() for key in settings.previous_secret_keys),
        )

    def derive(self, purpose: str) -> bytes:
        """The current key for `purpose`."""
        return _derive(self.secret, purpose)

    def derive_all(self, purpose: str) -> tuple[bytes, ...]:
        """The current and every previous key for `purpose`, newest first."""
        return (self.derive(purpose), *(_derive(old, purpose) for old in self.previous))

    @cached_property
    def _identifier_keys(self) -> tuple[bytes, ...]:
        return self.derive_all("identifier-hash")

    def identifier_hash(self, kind: str, value: str) -> str:
        """A keyed hash of a normalised identifier (suppressed addresses, tombstones)."""
        return self.identifier_hashes(kind, value)[0]

    def identifier_hashes(self, kind: str, value: str) -> tuple[str, ...]:
        """The identifier's hash under the current key, then under each retired one: what a
        lookup must try, so that suppressions and tombstones outlive a change of secret."""
        message = f"{kind}:{value}"
        found = self._hashes.get(message)
        if found is None:
            if len(self._hashes) >= HASHES_KEPT:
                self._hashes.clear()  # rarely: simpler and cheaper than tracking recency
            found = self._hashes[message] = tuple(
                hmac.digest(k, message.encode(), hashlib.sha256).hex()
                for k in self._identifier_keys
            )
        return found
