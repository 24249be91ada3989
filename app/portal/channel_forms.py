"""The channels page's forms read into changes, or into an error beside the field at fault."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from app.consent.identity import validate_timezone
from app.consent.schemas import CustomerBody
from app.consent.vocabulary import DAYS
from app.plain.pauses import PauseDayError, pause_end
from app.web.i18n import gettext as _

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$")
AddressField = Literal["email", "phone"]


class FormInvalid(Exception):
    """Input that cannot be saved: the id of the field at fault and what to do about it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class QuietEntry:
    """A channel's quiet-times form as entered (shown again when it cannot be saved)."""

    own: bool
    start: str
    end: str
    days: tuple[str, ...]


def quiet_field(channel: str, part: str) -> str:
    """The id of one control of a channel's quiet-times form."""
    return f"quiet-{channel}-{part}"


def _hhmm(value: str) -> str | None:
    """`HH:MM` for a time typed or picked (a picker may add seconds), None when it is none."""
    found = _TIME.match(value.strip())
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def quiet_entry(mode: str, start: str, end: str, days: Sequence[str]) -> QuietEntry:
    return QuietEntry(
        own=mode == "own",
        start=start.strip(),
        end=end.strip(),
        days=tuple(day for day in DAYS if day in days),
    )


def quiet_patch(channel: str, entry: QuietEntry, sent_days: Sequence[str]) -> dict[str, Any]:
    """The channel's member of the patch: the customer's own quiet times, or the default."""
    if not entry.own:
        return {"quiet_hours": None, "quiet_days": None}
    if any(day not in DAYS for day in sent_days):
        raise FormInvalid(quiet_field(channel, "days"), _("Choose days from the list."))
    if not entry.start and not entry.end:
        return {"quiet_hours": [], "quiet_days": list(entry.days)}
    start, end = _hhmm(entry.start), _hhmm(entry.end)
    if start is None:
        raise FormInvalid(
            quiet_field(channel, "start"), _("Enter a time such as 21:00, or leave both empty.")
        )
    if end is None:
        raise FormInvalid(
            quiet_field(channel, "end"), _("Enter a time such as 08:00, or leave both empty.")
        )
    if start == end:
        raise FormInvalid(
            quiet_field(channel, "end"),
            _("The quiet time must end at another time than it starts."),
        )
    return {"quiet_hours": [{"start": start, "end": end}], "quiet_days": list(entry.days)}


def paused_until(value: str, *, zone: ZoneInfo, now: datetime) -> str:
    """`paused_until` for a pause up to and including the chosen day (app.plain.pauses)."""
    try:
        return pause_end(value, zone=zone, now=now)
    except PauseDayError as error:
        raise FormInvalid("pause-until", str(error)) from None


def address_values(field: AddressField, value: str) -> dict[str, Any]:
    """The identity change for a new e-mail address or phone number (an empty phone removes it)."""
    text = value.strip()
    if field == "email" and not text:
        raise FormInvalid("address-email", _("Enter an e-mail address such as name@example.org."))
    try:
        body = CustomerBody.model_validate({field: text or None})
    except ValidationError:
        if field == "email":
            message = _("Enter an e-mail address such as name@example.org.")
        else:
            message = _("Enter a phone number with its country code, such as +49 151 23456789.")
        raise FormInvalid(f"address-{field}", message) from None
    return body.identity_changes()


def timezone_value(value: str) -> str:
    """An IANA time zone chosen from the list."""
    try:
        return validate_timezone(value)
    except ValueError:
        raise FormInvalid("timezone", _("Choose a time zone from the list.")) from None
