"""What the console's customer page shows: now, or at a moment rebuilt from the audit trail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.admin.audit_query import FieldError, utc_moment
from app.admin.customer_forms import STANDARD_DEPTH, TOPIC_CHOICES
from app.admin.customer_history import PastState, Source, past_state
from app.admin.customer_sends import send_rows
from app.admin.customer_view import (
    Catalog,
    PreferencesView,
    Row,
    identity_rows,
    past_cards,
    preferences_view,
    zone_of,
)
from app.auth.principals import AdminPrincipal
from app.consent.context import Context
from app.consent.customers import customer_view
from app.consent.vocabulary import DEPTHS
from app.format import format_instant
from app.models import Customer, Preference
from app.plain.relationship import brand_cards
from app.plain.words import depth_name
from app.web.i18n import gettext as _

CHANGING_ROLES = ("support", "admin")


class MomentInvalid(ValueError):
    """A moment that cannot be read, said in one sentence."""


@dataclass(frozen=True)
class PastView:
    """The page's part for a moment: the state, in words and as raw JSON."""

    moment: str
    state: PastState
    identity: list[Row]
    preferences: PreferencesView | None
    raw: str
    document_source: Source | None
    identity_source: Source | None


def read_moment(text: str, *, now: datetime) -> datetime:
    """A past moment typed into a datetime-local field, read as UTC."""
    try:
        moment = utc_moment(text)
    except FieldError as error:
        raise MomentInvalid(str(error)) from error
    if moment > now:
        raise MomentInvalid(_("Choose a moment that has passed."))
    return moment


def past_view(
    session: Session, ctx: Context, catalog: Catalog, customer: Customer, moment: datetime
) -> PastView:
    state = past_state(session, ctx.sealer, customer, moment)
    preferences = None
    if state.existed and not state.erased:
        cards = past_cards(catalog, customer.id, state.identity, state.document, now=moment)
        zone = zone_of(catalog, state.identity)
        preferences = preferences_view(catalog, state.document, cards, zone=zone, now=moment)
    return PastView(
        moment=format_instant(moment),
        state=state,
        identity=identity_rows(state.identity) if state.identity is not None else [],
        preferences=preferences,
        raw=json.dumps(state.full_document(), ensure_ascii=False, indent=2),
        document_source=state.document_source,
        identity_source=state.identity_source,
    )


def change_options(catalog: Catalog) -> dict[str, Any]:
    """The choices of the structured change forms, from the live catalog."""
    names = catalog.names
    return {
        "topics": [
            (f"{brand['key']}/{topic['key']}", f"{brand['name']}: {topic['name']}")
            for brand in catalog.view["brands"]
            for topic in brand["topics"]
            if topic["kind"] == "marketing"
        ],
        "topic_choices": list(
            zip(TOPIC_CHOICES, (_("On"), _("Off"), _("As the depth says")), strict=True)
        ),
        "brands": [(brand["key"], names.brand(brand["key"])) for brand in catalog.view["brands"]],
        "depths": [
            (STANDARD_DEPTH, _("The brand's standard")),
            *((depth, depth_name(depth)) for depth in DEPTHS),
        ],
    }


def customer_context(
    session: Session,
    ctx: Context,
    catalog: Catalog,
    principal: AdminPrincipal,
    customer: Customer,
    *,
    now: datetime,
    moment: datetime | None,
) -> dict[str, Any]:
    """Everything the page shows but the form state: identity, preferences, sends, or the
    state at `moment`."""
    live = customer.erased_at is None
    identity = customer_view(customer) if live else None
    zone = zone_of(catalog, identity)
    context: dict[str, Any] = {
        "customer_id": customer.id,
        "created_at": format_instant(customer.created_at),
        "erased_at": None if live else format_instant(customer.erased_at or now),
        "audit_url": "/admin/audit?" + urlencode({"customer": customer.id}),
        "identity": identity_rows(identity) if identity is not None else [],
        "preferences": None,
        "version": None,
        "updated_at": None,
        "sends": [],
        "sends_total": 0,
        "past": None,
        "can_change": False,
        "options": None,
    }
    if moment is not None:
        context["past"] = past_view(session, ctx, catalog, customer, moment)
        return context
    preference = session.get(Preference, customer.id) if live else None
    if preference is not None:
        cards = brand_cards(session, ctx=ctx, customer_id=customer.id, now=now)
        context["preferences"] = preferences_view(
            catalog, preference.document, cards, zone=zone, now=now
        )
        context["version"] = preference.version
        context["updated_at"] = format_instant(preference.updated_at)
        context["can_change"] = principal.role in CHANGING_ROLES
        context["options"] = change_options(catalog)
    context["sends"], context["sends_total"] = send_rows(
        session, catalog.names, customer.id, zone=zone
    )
    return context
