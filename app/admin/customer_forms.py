"""Support's change forms on a customer's behalf: read into a merge patch, applied with a reason."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor
from app.consent.context import Context
from app.consent.errors import CustomerOnly
from app.consent.preferences import patch_preferences
from app.consent.vocabulary import DEPTHS
from app.format import format_instant
from app.models import Customer, Preference
from app.plain.pauses import PauseDayError, pause_end
from app.web.i18n import gettext as _

KINDS = ("patch", "topic", "depth", "pause", "stop")
TOPIC_CHOICES = ("on", "off", "depth")
STANDARD_DEPTH = "standard"
MAX_REASON = 1000
MAX_PATCH = 100_000
EVIDENCE_SOURCE = "support"


class NoMarketingLift(Exception):
    """A support change that would lift the customer's objection to all marketing."""


@dataclass(frozen=True)
class ChangeForm:
    """A submitted change form as typed; `kind` says which of the forms it was."""

    kind: str
    reason: str = ""
    patch: str = ""
    topic: str = ""
    choice: str = ""
    brand: str = ""
    depth: str = ""
    until: str = ""
    version: str = ""


@dataclass
class ReadChange:
    """The merge patch a form asks for, its reason, and an error per field id."""

    patch: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    version: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


def read_change(
    form: ChangeForm,
    *,
    brands: Mapping[str, Mapping[str, Any]],
    zone: ZoneInfo,
    now: datetime,
) -> ReadChange:
    """The patch and reason of `form`; `brands` are the live catalog's by key (with topics)."""
    result = ReadChange(reason=form.reason.strip())
    kind = form.kind if form.kind in KINDS else "patch"
    if not result.reason:
        result.errors[f"{kind}-reason"] = _(
            "Give the reason for this change: the customer sees it in their history."
        )
    elif len(result.reason) > MAX_REASON:
        result.errors[f"{kind}-reason"] = _("Keep the reason under %(count)s characters.") % {
            "count": MAX_REASON
        }
    if form.version.strip().isdecimal() and len(form.version.strip()) <= 18:
        result.version = int(form.version)
    try:
        result.patch = _patch(form, kind, brands, zone, now)
    except _Invalid as error:
        result.errors[error.field] = error.message
    return result


class _Invalid(Exception):
    def __init__(self, field_id: str, message: str) -> None:
        super().__init__(message)
        self.field = field_id
        self.message = message


def _patch(
    form: ChangeForm,
    kind: str,
    brands: Mapping[str, Mapping[str, Any]],
    zone: ZoneInfo,
    now: datetime,
) -> dict[str, Any]:
    if kind == "stop":
        return {"no_marketing": True}
    if kind == "topic":
        brand, _slash, topic = form.topic.partition("/")
        topics = {t["key"]: t for t in (brands.get(brand) or {}).get("topics", ())}
        if topics.get(topic, {}).get("kind") != "marketing":
            raise _Invalid("topic", _("Choose a marketing topic from the list."))
        if form.choice not in TOPIC_CHOICES:
            raise _Invalid("topic-choice", _("Choose on, off or as the depth says."))
        body = (
            {"choice": "on"}
            if form.choice == "on"
            else {"choice": None if form.choice == "depth" else "off", "channels": None}
        )
        return {"brands": {brand: {"topics": {topic: body}}}}
    if kind == "depth":
        if form.brand not in brands:
            raise _Invalid("depth-brand", _("Choose a brand from the list."))
        if form.depth != STANDARD_DEPTH and form.depth not in DEPTHS:
            raise _Invalid("depth", _("Choose a depth from the list."))
        depth = None if form.depth == STANDARD_DEPTH else form.depth
        return {"brands": {form.brand: {"depth": depth}}}
    if kind == "pause":
        return {"paused_until": _pause_end(form.until.strip(), zone, now)}
    return _json_patch(form.patch)


def _pause_end(text: str, zone: ZoneInfo, now: datetime) -> str | None:
    """00:00 after the last day paused, in the customer's zone; empty ends the pause."""
    if not text:
        return None
    try:
        return pause_end(text, zone=zone, now=now)
    except PauseDayError as error:
        raise _Invalid("pause-until", str(error)) from None


def _json_patch(text: str) -> dict[str, Any]:
    if not text.strip():
        raise _Invalid("patch", _('Write a JSON merge patch, such as {"no_marketing": true}.'))
    if len(text) > MAX_PATCH:
        raise _Invalid("patch", _("The patch is too long."))
    try:
        patch = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise _Invalid(
            "patch", _("This is not valid JSON: %(error)s") % {"error": error}
        ) from error
    if not isinstance(patch, dict):
        raise _Invalid("patch", _("A merge patch is a JSON object: {…}."))
    if "evidence" in patch:
        raise _Invalid(
            "patch",
            _(
                "Leave out evidence: the console records a loosening change as the "
                "customer's request, with your reason."
            ),
        )
    return patch


def lifts_objection(document: Mapping[str, Any], patch: Mapping[str, Any]) -> bool:
    """Whether `patch` would lift the customer's no_marketing."""
    return bool(document.get("no_marketing")) and patch.get("no_marketing", True) is not True


def apply_support_change(
    session: Session,
    *,
    ctx: Context,
    customer: Customer,
    patch: Mapping[str, Any],
    reason: str,
    version: int | None,
    admin_id: str,
    now: datetime,
) -> bool:
    """Apply `patch` for support staff, with `reason` on the audit event; True when it changed
    something. A loosening change is the customer's request: it carries evidence with source
    "support" and the reason. NoMarketingLift, nothing changed, when it would lift the
    customer's objection to all marketing: only they may."""
    preference = session.scalars(
        select(Preference).where(col(Preference.customer_id) == customer.id).with_for_update()
    ).one()
    if lifts_objection(preference.document, patch):
        raise NoMarketingLift
    common: dict[str, Any] = {
        "ctx": ctx,
        "customer": customer,
        "if_match": version,
        "actor": Actor("admin", admin_id),
        "source": "admin",
        "now": now,
        "reason": reason,
    }
    try:
        _preference, changed = patch_preferences(session, body=patch, **common)
    except CustomerOnly:
        evidence = {"source": EVIDENCE_SOURCE, "text": reason, "captured_at": format_instant(now)}
        # Consent is the customer's own tick or a sender's evidence, never support's: a topic
        # switched on here still waits for the customer's consent where it needs one.
        _preference, changed = patch_preferences(
            session, body={**patch, "evidence": evidence}, consent_to=frozenset(), **common
        )
    return changed
