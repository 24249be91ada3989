"""The catalog service: apply a catalog file, and read the catalog for decisions and the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor, Sealer, record
from app.consent.catalog_plan import CatalogPlan, Difference, Violation, diff_catalog, plan_catalog
from app.consent.catalog_read import (
    CatalogCache,
    catalog_revision,
    catalog_view,
    load_catalog_facts,
    notice_versions,
)
from app.consent.catalog_schema import CatalogFile
from app.consent.catalog_state import Stored, channel_state, load_stored
from app.consent.vocabulary import CHANNELS
from app.models import Brand, CatalogSetting, ChannelSetting, Topic, utcnow

__all__ = [
    "CatalogCache",
    "CatalogPlan",
    "CatalogRefused",
    "Difference",
    "Violation",
    "apply_catalog",
    "catalog_revision",
    "catalog_view",
    "load_catalog_facts",
    "notice_versions",
    "plan_catalog",
]


class CatalogRefused(Exception):
    """The file breaks the catalog's guard rails; nothing was applied."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(str(violation) for violation in self.violations))


def apply_catalog(
    session: Session,
    spec: CatalogFile,
    *,
    sealer: Sealer,
    actor: Actor,
    source: str,
    force: bool = False,
    reason: str | None = None,
) -> CatalogPlan:
    """Make the stored catalog match `spec`, one audit event per difference; never commits.

    Raises CatalogRefused when a difference breaks a guard rail, unless `force` (which needs a
    `reason`, recorded with every event). Raises the catalog's revision once when anything changed.
    """
    if force and not (reason and reason.strip()):
        raise ValueError("a forced apply needs a reason")
    # Serialise concurrent applies (PostgreSQL; SQLite write sessions lock at BEGIN).
    session.execute(
        select(col(CatalogSetting.id)).where(col(CatalogSetting.id) == 1).with_for_update()
    )
    now = utcnow()
    stored = load_stored(session)
    plan = diff_catalog(stored, spec, now=now)
    if plan.violations and not force:
        raise CatalogRefused(plan.violations)
    if not plan.changed:
        return plan
    _write(session, stored, spec, plan, now)
    for difference in plan.differences:
        record(
            session,
            sealer=sealer,
            actor=actor,
            source=source,
            action=difference.action,
            before=difference.before,
            after=difference.after,
            reason=reason,
        )
    return plan


def _write(
    session: Session, stored: Stored, spec: CatalogFile, plan: CatalogPlan, now: datetime
) -> None:
    # (part, subject): a channel and a brand may share a name.
    changed = {(d.action.partition("_")[0], d.subject) for d in plan.differences}
    setting = stored.setting
    if setting is None:
        setting = CatalogSetting(id=1, default_timezone=spec.default_timezone, revision=0)
        session.add(setting)
    setting.default_timezone = spec.default_timezone
    setting.revision += 1

    for channel in CHANNELS:
        if ("catalog.channel", channel) not in changed:
            continue
        settings = channel_state(spec.channels.get(channel))
        setting_row = stored.channels.get(channel)
        if setting_row is None:
            session.add(ChannelSetting(channel=channel, settings=settings))
        else:
            setting_row.settings = settings

    for brand in spec.brands:
        if ("catalog.brand", brand.key) not in changed:
            continue
        brand_row = stored.brands.get(brand.key) or Brand(
            key=brand.key, name=brand.name, default_depth=brand.default_depth
        )
        brand_row.name = brand.name
        brand_row.default_depth = brand.default_depth
        brand_row.cap_count = brand.cap.count if brand.cap else None
        brand_row.cap_period_days = brand.cap.period_days if brand.cap else None
        brand_row.retired_at = None
        session.add(brand_row)
    session.flush()  # brands before their topics: there are no relationships to order the flush

    for brand in spec.brands:
        for topic in brand.topics:
            if ("catalog.topic", f"{brand.key}/{topic.key}") not in changed:
                continue
            row = stored.topics.get((brand.key, topic.key)) or Topic(
                brand_key=brand.key, key=topic.key, name=topic.name, kind=topic.kind
            )
            row.name = topic.name
            row.kind = topic.kind
            row.depth = topic.depth
            row.basis = topic.basis
            row.channels = [channel for channel in CHANNELS if channel in topic.channels]
            row.notice = topic.notice
            row.notice_version = topic.notice_version
            row.notice_versions = sorted({*(row.notice_versions or []), topic.notice_version})
            row.min_notice_version = topic.min_notice_version
            row.consent_valid_days = topic.consent_valid_days
            row.retired_at = None
            session.add(row)

    for difference in plan.differences:
        if difference.action == "catalog.topic_retired":
            brand_key, _, topic_key = difference.subject.partition("/")
            stored.topics[(brand_key, topic_key)].retired_at = now
        elif difference.action == "catalog.brand_retired":
            stored.brands[difference.subject].retired_at = now
    session.flush()
