"""Opaque feed cursors: an event id, signed so that only cursors we issued are accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct

from app.keys import Keys

_PURPOSE = "feed-cursor"
_MAC = 16
_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")  # base64url of 8 id bytes + 16 MAC bytes


class InvalidCursor(ValueError):
    """A cursor the service did not issue (or one altered since)."""


def encode_cursor(keys: Keys, last_id: int) -> str:
    """The cursor that continues after event `last_id`."""
    body = struct.pack(">Q", last_id)
    return base64.urlsafe_b64encode(body + _mac(keys.derive(_PURPOSE), body)).decode("ascii")


def decode_cursor(keys: Keys, cursor: str) -> int:
    """The event id inside `cursor`; InvalidCursor unless we issued it (old secrets included)."""
    if not _SHAPE.fullmatch(cursor):
        raise InvalidCursor("malformed cursor")
    raw = base64.urlsafe_b64decode(cursor)
    body, mac = raw[:8], raw[8:]
    if not any(hmac.compare_digest(mac, _mac(key, body)) for key in keys.derive_all(_PURPOSE)):
        raise InvalidCursor("cursor not issued by this service")
    last_id: int = struct.unpack(">Q", body)[0]
    return last_id


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, b"cursor:" + body, hashlib.sha256).digest()[:_MAC]
