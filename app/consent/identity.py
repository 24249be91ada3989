"""Normalising identifiers (email, phone, time zone, locale) and parsing customer references."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email

RefKind = Literal["id", "ext", "email", "tel"]
PHONE_CHANNELS = ("sms", "voice", "whatsapp")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
_CUSTOMER_ID = re.compile(r"^c_[A-Za-z0-9_-]{1,38}$")


class InvalidIdentifier(ValueError):
    """A value that is not a valid email, phone, time zone, locale or reference."""


def normalize_email(value: str) -> str:
    """The address as compared: case-insensitive, domain in IDNA form."""
    try:
        valid = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidIdentifier(f"not a valid email address: {error}") from error
    return f"{valid.local_part.lower()}@{valid.ascii_domain.lower()}"


def normalize_phone(value: str) -> str:
    """The number in E.164; it must carry its country code."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as error:
        raise InvalidIdentifier(
            "not a valid phone number in international form (+country code)"
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(value: str) -> str:
    """An IANA time zone name."""
    if value not in _zones():
        raise InvalidIdentifier("not an IANA time zone")
    return value


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a validated name."""
    return ZoneInfo(name)


def validate_locale(value: str) -> str:
    """A language tag such as `de` or `en-GB`."""
    if not _LOCALE.match(value):
        raise InvalidIdentifier("not a language tag such as 'de' or 'en-GB'")
    return value


def postal_text(address: Mapping[str, Any] | str) -> str:
    """A postal address as compared: its parts in order, lower case, single spaces."""
    text = address if isinstance(address, str) else " ".join(str(v) for v in address.values())
    return " ".join(text.lower().split())


def channel_address(channel: str, value: str) -> str:
    """An address of `channel` in the form suppressions are kept under."""
    if channel == "email":
        return normalize_email(value)
    if channel in PHONE_CHANNELS:
        return normalize_phone(value)
    if channel == "postal":
        return postal_text(value)
    if channel == "push":
        return value
    raise InvalidIdentifier("this channel has no addresses")


class Reference(NamedTuple):
    """A parsed customer reference: `c_…`, `ext:ID`, `email:ADDRESS` or `tel:+E164`. A tuple:
    hashed and compared in C, as a key of every batch's lookups."""

    kind: RefKind
    value: str


@lru_cache(maxsize=65536)
def parse_reference(ref: str) -> Reference:
    """Parse and normalise `ref`; InvalidIdentifier when malformed. Remembered: senders ask
    about the same customers again and again, and normalising an address costs."""
    if ref.startswith("c_"):
        if not _CUSTOMER_ID.match(ref):
            raise InvalidIdentifier("not a customer id")
        return Reference("id", ref)
    scheme, sep, rest = ref.partition(":")
    if not sep or not rest:
        raise InvalidIdentifier("a reference is c_…, ext:ID, email:ADDRESS or tel:+E164")
    if scheme == "ext":
        if len(rest) > 200:
            raise InvalidIdentifier("external id longer than 200 characters")
        return Reference("ext", rest)
    if scheme == "email":
        return Reference("email", normalize_email(rest))
    if scheme == "tel":
        return Reference("tel", normalize_phone(rest))
    raise InvalidIdentifier("a reference is c_…, ext:ID, email:ADDRESS or tel:+E164")
