"""The preferences document (SPEC section 3): its schema, merge patch and the stored form."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from app.consent.errors import ValidationFailed, field_error
from app.consent.vocabulary import CapModel, Channel, Day, Depth, QuietWindowModel
from app.format import format_instant

READ_ONLY = ("customer", "version", "updated_at")


def _in_utc(value: datetime) -> datetime:
    """The instant in UTC; one before year 1 or after 9999 there is refused, not a crash."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_range", "must be an instant within years 1-9999 UTC"
        ) from None


Instant = Annotated[
    AwareDatetime, AfterValidator(_in_utc), PlainSerializer(format_instant, when_used="json")
]


PAUSE_LIMIT_YEAR = 3000


def _in_this_millennium(value: datetime) -> datetime:
    # Pauses end when someone alive will see it; later ones would overflow time arithmetic.
    if value.year >= PAUSE_LIMIT_YEAR:
        raise ValueError(f"must lie before the year {PAUSE_LIMIT_YEAR}")
    return value


PauseEnd = Annotated[Instant, AfterValidator(_in_this_millennium)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentDoc(_Strict):
    consented_at: Instant
    notice_version: StrictInt
    expires_at: Instant | None = None


class TopicDoc(_Strict):
    choice: Literal["on", "off"] | None = None
    channels: list[Channel] | None = Field(default=None, min_length=1)
    consents: dict[Channel, ConsentDoc] = {}


class BrandDoc(_Strict):
    depth: Depth | None = None
    cap: CapModel | None = None
    paused_until: PauseEnd | None = None
    topics: dict[str, TopicDoc] = {}


class ChannelDoc(_Strict):
    enabled: StrictBool = True
    quiet_hours: list[QuietWindowModel] | None = None
    quiet_days: list[Day] | None = None


class PreferencesDoc(_Strict):
    """The document as stored: without `customer`, `version` and `updated_at`."""

    channels: dict[Channel, ChannelDoc] = {}
    no_marketing: StrictBool = False
    paused_until: PauseEnd | None = None
    global_cap: CapModel | None = None
    brands: dict[str, BrandDoc] = {}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: `null` removes a member, anything but an object replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def parse_document(data: dict[str, Any]) -> PreferencesDoc:
    """Validate a whole stored document; ValidationFailed names every bad field."""
    try:
        return PreferencesDoc.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(
            "the preferences are invalid",
            [field_error(tuple(e["loc"]), e["msg"], e["type"]) for e in error.errors()],
        ) from error


def dump_document(doc: PreferencesDoc) -> dict[str, Any]:
    """The stored JSON form: defaults left out, instants as RFC 3339 UTC."""
    return _tidy(doc.model_dump(mode="json", exclude_defaults=True))


def _tidy(data: dict[str, Any]) -> dict[str, Any]:
    """Drop topics and brands left empty, so equal settings give equal documents."""
    for brand in list(data.get("brands", {})):
        topics = data["brands"][brand].get("topics", {})
        for topic in [t for t, body in topics.items() if not body]:
            del topics[topic]
        if "topics" in data["brands"][brand] and not topics:
            del data["brands"][brand]["topics"]
        if not data["brands"][brand]:
            del data["brands"][brand]
    if "brands" in data and not data["brands"]:
        del data["brands"]
    for channel in [c for c, body in data.get("channels", {}).items() if not body]:
        del data["channels"][channel]
    if "channels" in data and not data["channels"]:
        del data["channels"]
    return data
