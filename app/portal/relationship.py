"""The relationship with each brand in plain words: what reaches the customer, how often, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.consent.catalog_read import catalog_view
from app.consent.context import Context


@dataclass(frozen=True)
class BrandCard:
    """One brand on the overview."""

    key: str
    name: str
    summary: str


def brand_cards(
    session: Session, *, ctx: Context, customer_id: str, now: datetime
) -> list[BrandCard]:
    """A card per live brand, in the catalog's order."""
    del ctx, customer_id, now
    return [
        BrandCard(key=brand["key"], name=brand["name"], summary=brand["name"])
        for brand in catalog_view(session)["brands"]
    ]
