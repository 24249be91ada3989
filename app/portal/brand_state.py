"""Where the brand page starts from: the live brand and the customer's choices for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.consent.catalog_read import catalog_view
from app.consent.vocabulary import DEPTH_ORDER
from app.models import Customer, Preference
from app.portal.errors import PageError
from app.web.i18n import gettext as _

Cap = tuple[int, int]


@dataclass(frozen=True)
class BrandState:
    """What the page and its forms start from: the brand and the customer's choices for it."""

    brand: Mapping[str, Any]
    body: Mapping[str, Any]  # the document's member for the brand
    depth: str
    zone: ZoneInfo

    @property
    def key(self) -> str:
        return str(self.brand["key"])

    @property
    def name(self) -> str:
        return str(self.brand["name"])

    @property
    def choices(self) -> Mapping[str, Any]:
        topics: Mapping[str, Any] = self.body.get("topics", {})
        return topics

    @property
    def policy(self) -> Cap | None:
        cap = self.brand["cap"]
        return None if cap is None else (cap["count"], cap["period_days"])

    @property
    def cap(self) -> Cap | None:
        cap = self.body.get("cap")
        return None if cap is None else (cap["count"], cap["period_days"])

    def paused_until(self, now: datetime) -> datetime | None:
        raw = self.body.get("paused_until")
        until = None if raw is None else datetime.fromisoformat(raw)
        return until if until is not None and until > now else None


def _topic_order(topic: Mapping[str, Any]) -> tuple[int, int, str]:
    """Essential topics first, then marketing ones from the lightest depth on."""
    depth = DEPTH_ORDER[topic["depth"]] if topic["depth"] else 0
    return (topic["kind"] != "essential", depth, topic["name"].casefold())


def load_brand(session: Session, *, customer_id: str, key: str, lock: bool = False) -> BrandState:
    """The live brand `key` with the customer's choices; 404 for an unknown or retired brand.

    `lock`: a form is saved from this state, so no other change may come in between.
    """
    catalog = catalog_view(session, brands=[key])
    if not catalog["brands"]:
        raise PageError(404, _("There is no brand %(brand)s.") % {"brand": key})
    brand = dict(catalog["brands"][0])
    brand["topics"] = sorted(brand["topics"], key=_topic_order)
    lock_it = True if lock else None  # the customer first, as every change does
    customer = session.get(Customer, customer_id, with_for_update=lock_it)
    preference = session.get(Preference, customer_id, with_for_update=lock_it)
    body = {} if preference is None else preference.document.get("brands", {}).get(key, {})
    zone_name = (customer.timezone if customer else None) or catalog["default_timezone"]
    depth = body.get("depth") or brand["default_depth"]
    return BrandState(brand=brand, body=body, depth=depth, zone=ZoneInfo(zone_name))
