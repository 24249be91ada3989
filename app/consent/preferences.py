"""Reading and merge-patching a customer's preferences document (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, record
from app.consent.context import Context
from app.consent.customers import customer_view, withdraw_consents
from app.consent.document import READ_ONLY, dump_document, merge_patch, parse_document
from app.consent.engine import CatalogFacts
from app.consent.errors import (
    CustomerOnly,
    Forbidden,
    Loc,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from app.consent.reservations import cancel_denied_sends
from app.consent.schemas import Evidence
from app.consent.widening import loosenings
from app.format import format_instant
from app.models import Customer, Preference, Topic


def render(
    customer: Customer, preference: Preference, brands: frozenset[str] | None = None
) -> dict[str, Any]:
    """The whole document as the API answers it; a client limited to brands sees only those."""
    stored = preference.document
    shown = {k: v for k, v in stored.get("brands", {}).items() if brands is None or k in brands}
    return {
        "customer": customer_view(customer),
        "channels": stored.get("channels", {}),
        "no_marketing": stored.get("no_marketing", False),
        "paused_until": stored.get("paused_until"),
        "global_cap": stored.get("global_cap"),
        "brands": shown,
        "version": preference.version,
        "updated_at": format_instant(preference.updated_at),
    }


def patch_preferences(
    session: Session,
    *,
    ctx: Context,
    customer: Customer,
    body: Mapping[str, Any],
    if_match: int | None,
    actor: Actor,
    source: str,
    now: datetime,
    brands: frozenset[str] | None = None,
    by_customer: bool = False,
    consent_to: Collection[tuple[str, str, str]] | None = None,
    reason: str | None = None,
) -> tuple[Preference, bool]:
    """Apply a merge patch; True when it changed something (and was audited).

    `by_customer`: the customer asks themselves (portal), so loosening needs no evidence.
    `consent_to`: the (brand, topic, channel) boxes the customer ticked in the portal; the
    evidence then gives consent for those alone.
    `reason`: why support staff made the change, kept on the audit event.
    """
    patch = dict(body)
    evidence = _evidence(patch.pop("evidence", None))
    if evidence is not None and evidence.captured_at is None:
        evidence = evidence.model_copy(update={"captured_at": now})
    _refuse_read_only(patch)
    if brands is not None:
        patch = _limit_to_brands(patch, brands)
    preference = session.scalars(
        select(Preference).where(col(Preference.customer_id) == customer.id).with_for_update()
    ).one()
    if if_match is not None and if_match != preference.version:
        raise PreconditionFailed(f"the preferences are at version {preference.version}")
    catalog = ctx.catalog.get(session)
    before = preference.document
    merged = merge_patch(before, patch)
    after = dump_document(parse_document(merged))
    _check_catalog(catalog, patch, after)
    after = _withdraw(before, after)
    given = _consents(session, catalog, patch, after, evidence, now, consent_to) if evidence else []
    widened = loosenings(catalog, before, after, now)
    if brands is not None and any(loc[:1] != ("brands",) for loc, _ in widened):
        # Narrowing is anyone's; loosening what applies to every brand is not a limited client's.
        raise Forbidden("a client limited to brands may not loosen settings of every brand")
    if widened and evidence is None and not by_customer:
        raise CustomerOnly(
            "this change loosens the customer's settings and needs evidence of their request",
            [field_error(loc, msg, "customer_only") for loc, msg in widened],
        )
    action = "consent.given" if given else None
    changed = save_document(
        session,
        ctx=ctx,
        preference=preference,
        after=after,
        actor=actor,
        source=source,
        now=now,
        evidence=evidence,
        action=action,
        reason=reason,
    )
    return preference, changed


def save_document(
    session: Session,
    *,
    ctx: Context,
    preference: Preference,
    after: dict[str, Any],
    actor: Actor,
    source: str,
    now: datetime,
    evidence: Evidence | None = None,
    action: str | None = None,
    reason: str | None = None,
) -> bool:
    """Store a changed document with its audit event and cancel sends it now denies.

    Without `action`, the event is `consent.withdrawn` when consents went, else
    `preferences.updated`. An unchanged document records nothing (False).
    """
    before = preference.document
    if after == before:
        return False
    preference.document = after
    preference.version += 1
    preference.updated_at = now
    session.flush()
    if action is None:
        withdrawn = _consent_count(after) < _consent_count(before)
        action = "consent.withdrawn" if withdrawn else "preferences.updated"
    record(
        session,
        sealer=ctx.sealer,
        actor=actor,
        source=source,
        action=action,
        customer_id=preference.customer_id,
        before=before,
        after=after,
        reason=reason,
        evidence=None if evidence is None else evidence.model_dump(mode="json", exclude_none=True),
        at=now,
    )
    cancel_denied_sends(
        session, ctx=ctx, customer_id=preference.customer_id, now=now, actor=actor, source=source
    )
    return True


def _evidence(raw: Any) -> Evidence | None:
    if raw is None:
        return None
    try:
        return Evidence.model_validate(raw)
    except ValidationError as error:
        raise ValidationFailed(
            "the evidence is invalid",
            [field_error(("evidence", *e["loc"]), e["msg"], e["type"]) for e in error.errors()],
        ) from error


def _limit_to_brands(patch: dict[str, Any], brands: frozenset[str]) -> dict[str, Any]:
    """A brand-limited client acts only on its brands: 403 for another one.

    It sees only its brands, so `"brands": null` removes those and leaves the others alone.
    """
    value = patch.get("brands")
    if "brands" in patch and value is None:
        return {**patch, "brands": dict.fromkeys(sorted(brands))}
    if isinstance(value, dict):
        for brand in value:
            if brand not in brands:
                raise Forbidden(f"this client may not act for brand {brand!r}")
    return patch


def _members(value: Any) -> dict[str, Any]:
    """`value` if it is an object, else nothing (its shape is checked with the document)."""
    return value if isinstance(value, dict) else {}


def _refuse_read_only(patch: Mapping[str, Any]) -> None:
    errors = [field_error((key,), "read-only", "read_only") for key in READ_ONLY if key in patch]
    for brand, body in _members(patch.get("brands")).items():
        for topic, topic_body in _members(_members(body).get("topics")).items():
            if isinstance(topic_body, dict) and "consents" in topic_body:
                errors.append(
                    field_error(
                        ("brands", brand, "topics", topic, "consents"),
                        "read-only: consent is given with evidence",
                        "read_only",
                    )
                )
    if errors:
        raise ValidationFailed("the patch names read-only members", errors)


def _check_catalog(
    catalog: CatalogFacts, patch: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """Brands and topics the patch names must be live; topic choices must fit the topic."""
    errors: list[dict[str, Any]] = []
    for brand, body in (patch.get("brands") or {}).items():
        if brand not in catalog.brands:
            if body is not None:  # removing what is held about a retired brand is allowed
                errors.append(field_error(("brands", brand), "unknown brand", "catalog"))
            continue
        for topic, topic_patch in ((body or {}).get("topics") or {}).items():
            loc: Loc = ("brands", brand, "topics", topic)
            facts = catalog.topics.get((brand, topic))
            if topic_patch is None:
                continue  # removing a retired topic's choice is allowed (and may loosen)
            if facts is None:
                errors.append(field_error(loc, "unknown topic", "catalog"))
                continue
            result = after.get("brands", {}).get(brand, {}).get("topics", {}).get(topic, {})
            if facts.kind == "essential" and "choice" in topic_patch:
                errors.append(
                    field_error((*loc, "choice"), "essential topics take no choice", "catalog")
                )
            channels = result.get("channels")
            if "channels" in topic_patch and channels is not None:
                if result.get("choice") != "on":
                    errors.append(
                        field_error((*loc, "channels"), "channels apply to a topic that is on")
                    )
                elif not set(channels) <= facts.channels:
                    errors.append(
                        field_error(
                            (*loc, "channels"),
                            f"the topic uses only {', '.join(sorted(facts.channels))}",
                            "catalog",
                        )
                    )
    if errors:
        raise ValidationFailed("the patch does not fit the catalog", errors)


def _withdraw(before: Mapping[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Consent ends when a topic is switched off and, all of it, with no_marketing."""
    if after.get("no_marketing") and not before.get("no_marketing"):
        return withdraw_consents(after)
    for brand, body in after.get("brands", {}).items():
        for topic, topic_body in body.get("topics", {}).items():
            if topic_body.get("choice") == "off" and topic_body.get("consents"):
                after = withdraw_consents(after, brand=brand, topic=topic)
    return after


def _consents(
    session: Session,
    catalog: CatalogFacts,
    patch: Mapping[str, Any],
    after: dict[str, Any],
    evidence: Evidence,
    now: datetime,
    consent_to: Collection[tuple[str, str, str]] | None,
) -> list[Loc]:
    """Give (or renew) consent for every opt_in topic the patch itself switches on.

    None while the customer objects to all marketing: that withdrew every consent.
    """
    given: list[Loc] = []
    if after.get("no_marketing"):
        return given
    captured = evidence.captured_at or now
    for brand, body in (patch.get("brands") or {}).items():
        for topic, topic_patch in ((body or {}).get("topics") or {}).items():
            if (topic_patch or {}).get("choice") != "on":
                continue
            facts = catalog.topics[(brand, topic)]
            if facts.basis != "opt_in":
                continue
            row = session.get(Topic, (brand, topic))
            assert row is not None  # noqa: S101  (live in the catalog)
            version = evidence.notice_version or row.notice_version
            if version not in row.notice_versions:
                raise ValidationFailed.at(
                    ("evidence", "notice_version"), f"{brand}/{topic} never had notice {version}"
                )
            expires = (
                None
                if row.consent_valid_days is None
                else format_instant(captured + timedelta(days=row.consent_valid_days))
            )
            body_after = after["brands"][brand]["topics"][topic]
            channels = [
                channel
                for channel in body_after.get("channels") or sorted(facts.channels)
                if consent_to is None or (brand, topic, channel) in consent_to
            ]
            for channel in channels:
                body_after.setdefault("consents", {})[channel] = {
                    "consented_at": format_instant(captured),
                    "notice_version": version,
                    **({"expires_at": expires} if expires else {}),
                }
                given.append(("brands", brand, "topics", topic, "consents", channel))
    return given


def _consent_count(document: Mapping[str, Any]) -> int:
    return sum(
        len(t.get("consents", {}))
        for b in document.get("brands", {}).values()
        for t in b.get("topics", {}).values()
    )
