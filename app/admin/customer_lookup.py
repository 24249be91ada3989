"""Finding customers by any reference for the console, erased ones by their c_ id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.consent.customers import reference_filter
from app.consent.identity import InvalidIdentifier, parse_reference
from app.format import format_instant
from app.models import Customer
from app.web.i18n import gettext as _

MAX_MATCHES = 50


class LookupFailed(ValueError):
    """A reference that finds nobody or cannot be read: what to say beside the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Match:
    """One customer a reference names."""

    id: str
    external_id: str | None
    email: str | None
    phone: str | None
    created_at: str
    erased_at: str | None


def find_matches(session: Session, text: str) -> list[Match]:
    """The customers `text` names: by c_ id any customer, erased included; by ext:, email: or
    tel: the live ones (a phone number may name several)."""
    try:
        reference = parse_reference(text)
    except InvalidIdentifier as error:
        raise LookupFailed(
            422, _("Use a reference: c_…, ext:…, email:… or tel:… (with the country code).")
        ) from error
    if reference.kind == "id":
        found = session.get(Customer, reference.value)
        customers = [] if found is None else [found]
    else:
        statement = (
            select(Customer)
            .where(reference_filter(reference))
            .order_by(col(Customer.created_at), col(Customer.id))
            .limit(MAX_MATCHES)
        )
        customers = list(session.scalars(statement))
    if not customers:
        raise LookupFailed(
            404,
            _("No customer matches this reference (an erased customer is found by its c_ id)."),
        )
    return [
        Match(
            id=c.id,
            external_id=c.external_id,
            email=c.email,
            phone=c.phone,
            created_at=format_instant(c.created_at),
            erased_at=_instant(c.erased_at),
        )
        for c in customers
    ]


def _instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)
