"""What applying a catalog file would change, and which of those changes its guard rails refuse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.consent.catalog_schema import CatalogFile, ChannelSpec, TopicSpec
from app.consent.catalog_state import (
    DEFAULT_TIMEZONE,
    State,
    Stored,
    brand_row_state,
    brand_state,
    channel_state,
    iso,
    load_stored,
    topic_row_state,
    topic_state,
)
from app.consent.vocabulary import CHANNELS, DEPTH_ORDER
from app.models import utcnow

Change = Literal["added", "changed", "retired", "returned"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's old and new value."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference between the database and the file, and the audit action that records it.

    `subject` is `acme` (brand), `acme/offers` (topic), `sms` (channel) or `catalog` (settings).
    `before` and `after` are the audited states (None: not there before / after).
    """

    action: str
    subject: str
    change: Change
    before: State | None
    after: State | None
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Violation:
    """A difference the guard rails refuse without --force --reason."""

    subject: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass(frozen=True, slots=True)
class CatalogPlan:
    """Every difference, in the order they are applied and audited, and every violation."""

    differences: tuple[Difference, ...]
    violations: tuple[Violation, ...]

    @property
    def changed(self) -> bool:
        """Whether applying changes anything."""
        return bool(self.differences)


def _field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(field, old.get(field), value)
        for field, value in new.items()
        if old.get(field) != value
    )


# --- the plan -----------------------------------------------------------------------------------


def plan_catalog(
    session: Session, spec: CatalogFile, *, now: datetime | None = None
) -> CatalogPlan:
    """The differences between the stored catalog and `spec`, and the guard rails they break.

    `now` (default: now) is the retirement instant shown in the retired parts' new states.
    """
    return diff_catalog(load_stored(session), spec, now=now or utcnow())


def diff_catalog(stored: Stored, spec: CatalogFile, *, now: datetime) -> CatalogPlan:
    """The plan for making `stored` match `spec`."""
    differences: list[Difference] = []
    violations: list[Violation] = []

    old_zone = stored.setting.default_timezone if stored.setting else DEFAULT_TIMEZONE
    if old_zone != spec.default_timezone:
        before, after = {"default_timezone": old_zone}, {"default_timezone": spec.default_timezone}
        differences.append(
            Difference(
                "catalog.settings_changed",
                "catalog",
                "changed",
                before,
                after,
                _field_changes(before, after),
            )
        )

    for channel in CHANNELS:
        setting = stored.channels.get(channel)
        old = channel_state(ChannelSpec.model_validate(setting.settings) if setting else None)
        new = channel_state(spec.channels.get(channel))
        if old != new:
            differences.append(
                Difference(
                    "catalog.channel_changed",
                    channel,
                    "changed",
                    {"channel": channel, **old},
                    {"channel": channel, **new},
                    _field_changes(old, new),
                )
            )

    file_topics: set[tuple[str, str]] = set()
    for brand in spec.brands:
        new = brand_state(brand)
        brand_row = stored.brands.get(brand.key)
        if brand_row is None:
            differences.append(Difference("catalog.brand_added", brand.key, "added", None, new))
        else:
            old = brand_row_state(brand_row)
            if old != new:
                change: Change = "changed" if brand_row.retired_at is None else "returned"
                differences.append(
                    Difference(
                        "catalog.brand_changed",
                        brand.key,
                        change,
                        old,
                        new,
                        _field_changes(old, new),
                    )
                )
            violations.extend(brand_violations(old, new))
        for topic in brand.topics:
            file_topics.add((brand.key, topic.key))
            differences_violations = _topic_difference(stored, brand.key, topic)
            differences.extend(differences_violations[0])
            violations.extend(differences_violations[1])

    retired_at = iso(now)
    for (brand_key, topic_key), row in sorted(stored.topics.items()):
        if row.retired_at is None and (brand_key, topic_key) not in file_topics:
            old = topic_row_state(row)
            new = {**old, "retired_at": retired_at}
            differences.append(
                Difference(
                    "catalog.topic_retired",
                    f"{brand_key}/{topic_key}",
                    "retired",
                    old,
                    new,
                    (FieldChange("retired_at", None, retired_at),),
                )
            )
    file_brands = {brand.key for brand in spec.brands}
    for key, brand_row in sorted(stored.brands.items()):
        if brand_row.retired_at is None and key not in file_brands:
            old = brand_row_state(brand_row)
            new = {**old, "retired_at": retired_at}
            differences.append(
                Difference(
                    "catalog.brand_retired",
                    key,
                    "retired",
                    old,
                    new,
                    (FieldChange("retired_at", None, retired_at),),
                )
            )
    return CatalogPlan(tuple(differences), tuple(violations))


def _topic_difference(
    stored: Stored, brand: str, topic: TopicSpec
) -> tuple[list[Difference], list[Violation]]:
    subject = f"{brand}/{topic.key}"
    new = topic_state(brand, topic)
    row = stored.topics.get((brand, topic.key))
    if row is None:
        return [Difference("catalog.topic_added", subject, "added", None, new)], []
    old = topic_row_state(row)
    violations = topic_violations(subject, old, new)
    if old == new:
        return [], violations
    change: Change = "changed" if row.retired_at is None else "returned"
    difference = Difference(
        "catalog.topic_changed", subject, change, old, new, _field_changes(old, new)
    )
    return [difference], violations


# --- guard rails --------------------------------------------------------------------------------


def topic_violations(
    subject: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Violation]:
    """The guard rails a topic change breaks (a returning topic is held to its last state)."""
    found: list[Violation] = []
    if old["kind"] != new["kind"]:
        found.append(
            Violation(
                subject, "kind_changed", f"kind would change from {old['kind']} to {new['kind']}"
            )
        )
    if old["basis"] == "opt_in" and new["basis"] == "opt_out":
        found.append(
            Violation(
                subject,
                "opt_in_to_opt_out",
                "basis would change from opt_in to opt_out: messages would go to customers "
                "who never consented",
            )
        )
    # Consents name a notice version, so the text behind a version must never change. A topic
    # that had no notice had no consents to it, and a removed notice is shown to no one.
    if (
        old["notice"] is not None
        and new["notice"] is not None
        and old["notice"] != new["notice"]
        and new["notice_version"] <= old["notice_version"]
    ):
        found.append(
            Violation(
                subject,
                "notice_changed_without_version",
                f"the notice changes, so notice_version must rise above {old['notice_version']}",
            )
        )
    # A lower version names a text that consents were given to: it may not come back.
    if new["notice_version"] < old["notice_version"]:
        found.append(
            Violation(
                subject,
                "notice_version_lowered",
                f"notice_version would fall from {old['notice_version']} to "
                f"{new['notice_version']}: consents to the old version would count for this text",
            )
        )
    if (
        old["depth"] in DEPTH_ORDER
        and new["depth"] in DEPTH_ORDER
        and DEPTH_ORDER[new["depth"]] < DEPTH_ORDER[old["depth"]]
    ):
        found.append(
            Violation(
                subject,
                "depth_lowered",
                f"depth would be lowered from {old['depth']} to {new['depth']}, reaching "
                "customers who chose less",
            )
        )
    return found


def brand_violations(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Violation]:
    """The guard rails a brand change breaks."""
    if DEPTH_ORDER[new["default_depth"]] > DEPTH_ORDER[old["default_depth"]]:
        return [
            Violation(
                new["key"],
                "default_depth_raised",
                f"default_depth would be raised from {old['default_depth']} to "
                f"{new['default_depth']}, reaching customers who never chose",
            )
        ]
    return []
