"""How instants are written in documents, events and answers."""

from __future__ import annotations

from datetime import UTC, datetime


def format_instant(value: datetime) -> str:
    """An instant as RFC 3339 in UTC with a `Z`, seconds precision unless finer is given."""
    value = value.astimezone(UTC)
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")
