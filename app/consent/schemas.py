"""Request bodies of the SPEC contract (section 4), validated with the SPEC's field names."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from app.consent.identity import (
    normalize_email,
    normalize_phone,
    validate_locale,
    validate_timezone,
)
from app.consent.vocabulary import Channel

MessageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_BATCH = 10_000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _in_utc(value: datetime) -> datetime:
    # Instants are kept in UTC: one that cannot be told there is refused, not a crash.
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("not an instant that can be told in UTC") from error


def _not_future(value: datetime) -> datetime:
    if value > datetime.now(UTC):
        raise ValueError("must not lie in the future")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
PastInstant = Annotated[AwareDatetime, AfterValidator(_in_utc), AfterValidator(_not_future)]


class CustomerBody(_Body):
    """`PUT /customers/{ref}`: named fields are set, `null` clears, others are kept."""

    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    email: Annotated[str, AfterValidator(normalize_email)] | None = None
    phone: Annotated[str, AfterValidator(normalize_phone)] | None = None
    push_tokens: list[Annotated[str, StringConstraints(min_length=1, max_length=4096)]] | None = (
        Field(default=None, max_length=20)
    )
    postal_address: dict[str, Any] | None = None
    timezone: Annotated[str, AfterValidator(validate_timezone)] | None = None
    locale: Annotated[str, AfterValidator(validate_locale)] | None = None

    def identity_changes(self) -> dict[str, Any]:
        """The fields the body names, with their new values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class Evidence(_Body):
    """The customer's own request behind a loosening change or a consent (SPEC section 3)."""

    source: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    captured_at: PastInstant | None = None
    notice_version: int | None = Field(default=None, ge=1)
    ip: str | None = None
    user_agent: Annotated[str, StringConstraints(max_length=1000)] | None = None
    text: Annotated[str, StringConstraints(max_length=4000)] | None = None

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        return None if value is None else str(ip_address(value))


class DecisionItem(_Body):
    """One decision request; in a batch, members left out take the batch's defaults."""

    customer: Annotated[str, StringConstraints(min_length=1, max_length=400)]
    brand: Key | None = None
    topic: Key | None = None
    channel: Channel | None = None
    send_at: Instant | None = None
    reserve: bool | None = None
    message_id: MessageId | None = None


class DecisionBody(DecisionItem):
    """`POST /decisions`."""

    brand: Key
    topic: Key
    channel: Channel


class BatchBody(_Body):
    """`POST /decisions/batch`: top-level members are defaults an item may override."""

    brand: Key | None = None
    topic: Key | None = None
    channel: Channel | None = None
    send_at: Instant | None = None
    reserve: bool | None = None
    items: list[DecisionItem] = Field(max_length=MAX_BATCH)


class SendItem(_Body):
    customer: Annotated[str, StringConstraints(min_length=1, max_length=400)]
    brand: Key
    topic: Key
    channel: Channel
    sent_at: PastInstant
    message_id: MessageId


class SendsBody(_Body):
    """`POST /sends`: sends that already happened."""

    items: list[SendItem] = Field(min_length=1, max_length=MAX_BATCH)


class SuppressionItem(_Body):
    channel: Channel
    address: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    reason: Literal["hard_bounce", "stop", "complaint", "manual", "resubscribe"]
    occurred_at: PastInstant | None = None
    brand: Key | None = None


class SuppressionsBody(_Body):
    """`POST /suppressions`."""

    items: list[SuppressionItem] = Field(min_length=1, max_length=MAX_BATCH)
