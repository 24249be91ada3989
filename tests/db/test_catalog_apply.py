"""Applying a catalog: differences, audit events, guard rails, retirement, facts, cache, view."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable, Iterator
from datetime import time
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlalchemy.orm import Session
from sqlmodel import col, select

from app.audit import CLI, Sealer
from app.consent.catalog import (
    CatalogCache,
    CatalogPlan,
    CatalogRefused,
    apply_catalog,
    catalog_view,
    load_catalog_facts,
    notice_versions,
    plan_catalog,
)
from app.consent.catalog_schema import CatalogFile, parse_catalog
from app.consent.demo import DEMO_CATALOG
from app.consent.engine.types import BrandFacts, Cap, Quiet, QuietWindow, TopicFacts
from app.keys import Keys
from app.models import AuditEvent, Brand, CatalogSetting, ChannelSetting, Topic
from app.settings import Settings

DEMO = DEMO_CATALOG

Data = dict[str, Any]


@pytest.fixture
def sealer(settings: Settings) -> Sealer:
    return Sealer(Keys.from_settings(settings))


@pytest.fixture
def demo() -> Data:
    with DEMO.open("rb") as handle:
        return tomllib.load(handle)


def spec(data: Data) -> CatalogFile:
    return parse_catalog(data)


def apply(
    db: Session, sealer: Sealer, data: Data, *, force: bool = False, reason: str | None = None
) -> CatalogPlan:
    return apply_catalog(
        db, spec(data), sealer=sealer, actor=CLI, source="cli", force=force, reason=reason
    )


def events(db: Session) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).order_by(col(AuditEvent.id))))


def revision(db: Session) -> int | None:
    return db.scalar(select(CatalogSetting.revision).where(col(CatalogSetting.id) == 1))


def topic_of(data: Data, brand: str, topic: str) -> Data:
    (brand_data,) = [b for b in data["brands"] if b["key"] == brand]
    (found,) = [t for t in brand_data["topics"] if t["key"] == topic]
    result: Data = found
    return result


def brand_of(data: Data, brand: str) -> Data:
    (found,) = [b for b in data["brands"] if b["key"] == brand]
    result: Data = found
    return result


def snapshot(db: Session) -> Any:
    """Everything apply may change, as plain values."""
    db.expire_all()
    return (
        [b.model_dump() for b in db.scalars(select(Brand).order_by(col(Brand.key)))],
        [t.model_dump() for t in db.scalars(select(Topic).order_by(col(Topic.key)))],
        [c.model_dump() for c in db.scalars(select(ChannelSetting))],
        [s.model_dump() for s in db.scalars(select(CatalogSetting))],
        db.scalar(select(func.count()).select_from(AuditEvent)),
    )


# --- applying -----------------------------------------------------------------------------------


def test_apply_to_an_empty_database_creates_everything_and_audits_each(
    db: Session, sealer: Sealer, demo: Data
) -> None:
    assert revision(db) is None
    plan = apply(db, sealer, demo)

    brands = {b.key: b for b in db.scalars(select(Brand))}
    assert set(brands) == {"northwind", "acme"}
    assert (brands["northwind"].cap_count, brands["northwind"].cap_period_days) == (3, 7)
    assert brands["acme"].retired_at is None
    topics = {(t.brand_key, t.key): t for t in db.scalars(select(Topic))}
    assert len(topics) == sum(len(b["topics"]) for b in demo["brands"])
    offers = topics[("northwind", "offers")]
    assert (offers.kind, offers.depth, offers.basis) == ("marketing", "regular", "opt_in")
    assert offers.channels == ["email", "sms", "push", "whatsapp"]
    assert (offers.notice_version, offers.notice_versions, offers.consent_valid_days) == (
        1,
        [1],
        730,
    )
    sms = db.get(ChannelSetting, "sms")
    assert sms is not None
    assert sms.settings["legal_quiet_hours"] == [{"start": "21:00", "end": "08:00"}]
    setting = db.get(CatalogSetting, 1)
    assert setting is not None
    assert (setting.default_timezone, setting.revision) == ("Europe/Berlin", 1)

    recorded = events(db)
    assert [e.action for e in recorded] == [d.action for d in plan.differences]
    actions = {e.action for e in recorded}
    assert actions == {
        "catalog.settings_changed",
        "catalog.channel_changed",
        "catalog.brand_added",
        "catalog.topic_added",
    }
    assert [e.action for e in recorded].count("catalog.brand_added") == 2
    assert all((e.actor_type, e.source, e.reason) == ("cli", "cli", None) for e in recorded)
    added = next(e for e in recorded if e.action == "catalog.topic_added")
    assert added.before is None
    assert json.loads(added.after or "")["brand"] == "northwind"


def test_reapplying_records_nothing(db: Session, sealer: Sealer, demo: Data) -> None:
    apply(db, sealer, demo)
    before = snapshot(db)
    plan = apply(db, sealer, demo)
    assert (plan.changed, plan.differences, plan.violations) == (False, (), ())
    assert snapshot(db) == before
    assert revision(db) == 1


def test_a_change_is_one_event_with_before_and_after(
    db: Session, sealer: Sealer, demo: Data
) -> None:
    apply(db, sealer, demo)
    count = len(events(db))
    changed = copy.deepcopy(demo)
    topic_of(changed, "acme", "offers").update(name="Deals", channels=["sms", "email"])
    brand_of(changed, "acme")["name"] = "Acme"
    changed["default_timezone"] = "Europe/Lisbon"
    changed["channels"].pop("push")

    plan = apply(db, sealer, changed)

    new = events(db)[count:]
    assert [(e.action, json.loads(e.before or "null") is not None) for e in new] == [
        ("catalog.settings_changed", True),
        ("catalog.channel_changed", True),
        ("catalog.brand_changed", True),
        ("catalog.topic_changed", True),
    ]
    topic_change = next(d for d in plan.differences if d.action == "catalog.topic_changed")
    assert [(f.field, f.old, f.new) for f in topic_change.fields] == [
        ("name", "Offers and discounts", "Deals"),
        ("channels", ["email", "sms", "whatsapp"], ["email", "sms"]),
    ]
    after = json.loads(new[3].after or "")
    assert (after["name"], after["channels"]) == ("Deals", ["email", "sms"])
    push = db.get(ChannelSetting, "push")
    assert push is not None
    assert push.settings["quiet_hours"] == []
    assert revision(db) == 2


# --- guard rails --------------------------------------------------------------------------------


def _kind_changed(data: Data) -> None:
    topic = topic_of(data, "acme", "surveys")
    for field in ("depth", "basis"):
        del topic[field]
    topic["kind"] = "essential"


def _opt_in_to_opt_out(data: Data) -> None:
    topic = topic_of(data, "northwind", "offers")
    topic["basis"] = "opt_out"
    del topic["consent_valid_days"]


def _notice_changed(data: Data) -> None:
    topic_of(data, "acme", "offers")["notice"] = "Different words, same version."


def _depth_lowered(data: Data) -> None:
    topic_of(data, "northwind", "insider")["depth"] = "regular"


def _default_depth_raised(data: Data) -> None:
    brand_of(data, "acme")["default_depth"] = "light"


RAILS: list[tuple[Callable[[Data], None], str, str]] = [
    (_kind_changed, "acme/surveys", "kind_changed"),
    (_opt_in_to_opt_out, "northwind/offers", "opt_in_to_opt_out"),
    (_notice_changed, "acme/offers", "notice_changed_without_version"),
    (_depth_lowered, "northwind/insider", "depth_lowered"),
    (_default_depth_raised, "acme", "default_depth_raised"),
]
RAIL_IDS = [rule for _, _, rule in RAILS]


@pytest.mark.parametrize(("mutate", "subject", "rule"), RAILS, ids=RAIL_IDS)
def test_each_guard_rail_refuses_and_changes_nothing(
    db: Session,
    sealer: Sealer,
    demo: Data,
    mutate: Callable[[Data], None],
    subject: str,
    rule: str,
) -> None:
    apply(db, sealer, demo)
    before = snapshot(db)
    changed = copy.deepcopy(demo)
    mutate(changed)
    topic_of(changed, "acme", "tips")["name"] = "An innocent change beside it"

    with pytest.raises(CatalogRefused) as refused:
        apply(db, sealer, changed)

    assert [(v.subject, v.rule) for v in refused.value.violations] == [(subject, rule)]
    assert snapshot(db) == before
    plan = plan_catalog(db, spec(changed))
    assert [(v.subject, v.rule) for v in plan.violations] == [(subject, rule)]


@pytest.mark.parametrize(("mutate", "subject", "rule"), RAILS, ids=RAIL_IDS)
def test_force_with_a_reason_applies_and_audits_the_reason(
    db: Session,
    sealer: Sealer,
    demo: Data,
    mutate: Callable[[Data], None],
    subject: str,
    rule: str,
) -> None:
    apply(db, sealer, demo)
    count = len(events(db))
    changed = copy.deepcopy(demo)
    mutate(changed)

    plan = apply(db, sealer, changed, force=True, reason="Legal asked for it (TICKET-1)")

    assert [(v.subject, v.rule) for v in plan.violations] == [(subject, rule)]
    new = events(db)[count:]
    assert len(new) == 1
    assert new[0].reason == "Legal asked for it (TICKET-1)"
    assert plan_catalog(db, spec(changed)).changed is False


def test_force_needs_a_reason(db: Session, sealer: Sealer, demo: Data) -> None:
    with pytest.raises(ValueError, match="reason"):
        apply(db, sealer, demo, force=True, reason="  ")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: topic_of(d, "acme", "offers").update(notice="New words", notice_version=2),
        lambda d: topic_of(d, "northwind", "newsletter").update(depth="regular"),
        lambda d: brand_of(d, "northwind").update(default_depth="essentials"),
        lambda d: topic_of(d, "acme", "surveys").update(basis="opt_in", notice="Tell us"),
        lambda d: topic_of(d, "northwind", "catalog").update(notice="Now with a notice"),
        lambda d: topic_of(d, "northwind", "newsletter").pop("notice"),
    ],
    ids=["notice-v2", "depth-raised", "default-lowered", "opt-out-to-in", "notice-added", "gone"],
)
def test_narrowing_changes_pass_the_guard_rails(
    db: Session, sealer: Sealer, demo: Data, mutate: Callable[[Data], None]
) -> None:
    apply(db, sealer, demo)
    changed = copy.deepcopy(demo)
    mutate(changed)
    plan = apply(db, sealer, changed)
    assert plan.changed
    assert plan.violations == ()


def test_notice_versions_keeps_every_version(db: Session, sealer: Sealer, demo: Data) -> None:
    apply(db, sealer, demo)
    changed = copy.deepcopy(demo)
    topic_of(changed, "acme", "offers").update(notice="Version three", notice_version=3)
    apply(db, sealer, changed)
    topic_of(changed, "acme", "offers").update(notice="Version four", notice_version=4)
    topic_of(changed, "acme", "offers")["min_notice_version"] = 3
    apply(db, sealer, changed)
    assert notice_versions(db, "acme", "offers") == [1, 3, 4]
    assert notice_versions(db, "acme", "orders") == [1]
    assert notice_versions(db, "acme", "nothing") == []


# --- retirement ---------------------------------------------------------------------------------


def test_retire_and_return(db: Session, sealer: Sealer, demo: Data) -> None:
    apply(db, sealer, demo)
    count = len(events(db))
    smaller = copy.deepcopy(demo)
    smaller["brands"] = [brand_of(smaller, "northwind")]
    northwind = brand_of(smaller, "northwind")
    northwind["topics"] = [t for t in northwind["topics"] if t["key"] != "insider"]

    plan = apply(db, sealer, smaller)

    acme_topics = len(brand_of(demo, "acme")["topics"])
    assert [d.action for d in plan.differences] == [
        *["catalog.topic_retired"] * (acme_topics + 1),
        "catalog.brand_retired",
    ]
    acme = db.get(Brand, "acme")
    insider = db.get(Topic, ("northwind", "insider"))
    assert acme is not None
    assert insider is not None
    assert acme.retired_at is not None
    assert insider.retired_at is not None
    assert len(events(db)) == count + len(plan.differences)
    facts = load_catalog_facts(db)
    assert set(facts.brands) == {"northwind"}
    assert ("northwind", "insider") not in facts.topics
    view = catalog_view(db)
    assert [b["key"] for b in view["brands"]] == ["northwind"]
    assert "insider" not in [t["key"] for t in view["brands"][0]["topics"]]
    # Leaving it out again changes nothing.
    assert plan_catalog(db, spec(smaller)).changed is False

    back = apply(db, sealer, demo)

    assert {d.change for d in back.differences} == {"returned"}
    assert {d.action for d in back.differences} == {
        "catalog.brand_changed",
        "catalog.topic_changed",
    }
    returned = next(d for d in back.differences if d.subject == "northwind/insider")
    assert [(f.field, f.new) for f in returned.fields] == [("retired_at", None)]
    assert returned.before is not None
    assert returned.before["retired_at"] is not None
    db.expire_all()
    assert db.get(Brand, "acme").retired_at is None  # type: ignore[union-attr]
    assert db.get(Topic, ("northwind", "insider")).retired_at is None  # type: ignore[union-attr]
    assert set(load_catalog_facts(db).brands) == {"northwind", "acme"}


def test_a_returning_topic_is_held_to_its_last_state(
    db: Session, sealer: Sealer, demo: Data
) -> None:
    apply(db, sealer, demo)
    without = copy.deepcopy(demo)
    northwind = brand_of(without, "northwind")
    northwind["topics"] = [t for t in northwind["topics"] if t["key"] != "offers"]
    apply(db, sealer, without)
    back = copy.deepcopy(demo)
    _opt_in_to_opt_out(back)
    with pytest.raises(CatalogRefused) as refused:
        apply(db, sealer, back)
    assert [v.rule for v in refused.value.violations] == ["opt_in_to_opt_out"]


# --- dry run ------------------------------------------------------------------------------------


def test_plan_lists_differences_and_writes_nothing(db: Session, sealer: Sealer, demo: Data) -> None:
    empty_plan = plan_catalog(db, spec(demo))
    assert {d.change for d in empty_plan.differences} == {"added", "changed"}
    assert snapshot(db)[4] == 0
    apply(db, sealer, demo)
    before = snapshot(db)
    changed = copy.deepcopy(demo)
    _depth_lowered(changed)
    changed["brands"].pop()

    plan = plan_catalog(db, spec(changed))

    assert snapshot(db) == before
    assert plan.differences[0].action == "catalog.topic_changed"
    assert [(f.field, f.old, f.new) for f in plan.differences[0].fields] == [
        ("depth", "close", "regular")
    ]
    assert plan.differences[-1].action == "catalog.brand_retired"
    retired = plan.differences[-1]
    assert retired.before is not None
    assert retired.after is not None
    assert (retired.before["retired_at"], retired.after["retired_at"]) == (
        None,
        retired.fields[0].new,
    )
    assert retired.after["retired_at"].endswith("Z")
    assert [v.rule for v in plan.violations] == ["depth_lowered"]


# --- facts and cache ----------------------------------------------------------------------------


def test_facts(db: Session, sealer: Sealer, demo: Data) -> None:
    apply(db, sealer, demo)
    facts = load_catalog_facts(db)
    assert str(facts.default_timezone) == "Europe/Berlin"
    assert facts.brands["northwind"] == BrandFacts("northwind", "light", Cap(3, 7))
    assert facts.brands["acme"] == BrandFacts("acme", "essentials", None)
    assert facts.topics[("acme", "offers")] == TopicFacts(
        brand="acme",
        key="offers",
        kind="marketing",
        depth="regular",
        basis="opt_in",
        channels=frozenset({"email", "sms", "whatsapp"}),
        min_notice_version=1,
    )
    assert facts.topics[("acme", "orders")].depth is None
    night = (QuietWindow(time(21), time(8)),)
    assert facts.channels["sms"].legal == Quiet(night, frozenset())
    assert facts.channels["sms"].quiet == Quiet(night, frozenset({6}))
    assert facts.channels["voice"].quiet.days == frozenset({5, 6})
    assert facts.channels["postal"].quiet == Quiet()
    assert set(facts.channels) == {"email", "sms", "voice", "push", "postal", "in_app", "whatsapp"}


def test_facts_of_an_empty_catalog(db: Session) -> None:
    facts = load_catalog_facts(db)
    assert (str(facts.default_timezone), dict(facts.brands), dict(facts.topics)) == ("UTC", {}, {})


@pytest.fixture
def statements(db: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    connection = db.connection()

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(connection, "before_cursor_execute", count)
    yield seen
    event.remove(connection, "before_cursor_execute", count)


def test_the_cache_rereads_only_after_a_revision_change(
    db: Session, sealer: Sealer, demo: Data, statements: list[str]
) -> None:
    cache = CatalogCache()
    empty = cache.get(db)
    assert empty.brands == {}
    apply(db, sealer, demo)

    first = cache.get(db)
    assert set(first.brands) == {"northwind", "acme"}
    statements.clear()
    assert cache.get(db) is first
    assert len(statements) == 1  # the revision, nothing else

    changed = copy.deepcopy(demo)
    brand_of(changed, "acme")["cap"] = {"count": 1, "period_days": 1}
    apply(db, sealer, changed)
    second = cache.get(db)
    assert second is not first
    assert second.brands["acme"].cap == Cap(1, 1)
    cache.clear()
    assert cache.get(db) is not second


# --- the API's view -----------------------------------------------------------------------------


def test_catalog_view_shape(db: Session, sealer: Sealer, demo: Data) -> None:
    apply(db, sealer, demo)
    view = catalog_view(db)
    assert set(view) == {"default_timezone", "channels", "brands"}
    assert view["default_timezone"] == "Europe/Berlin"
    assert view["channels"]["sms"] == {
        "quiet_hours": [{"start": "21:00", "end": "08:00"}],
        "quiet_days": ["sun"],
        "legal_quiet_hours": [{"start": "21:00", "end": "08:00"}],
        "legal_quiet_days": [],
    }
    assert view["channels"]["in_app"] == {
        "quiet_hours": [],
        "quiet_days": [],
        "legal_quiet_hours": [],
        "legal_quiet_days": [],
    }
    assert [b["key"] for b in view["brands"]] == ["acme", "northwind"]
    northwind = view["brands"][1]
    assert set(northwind) == {"key", "name", "default_depth", "cap", "topics"}
    assert (northwind["name"], northwind["default_depth"], northwind["cap"]) == (
        "Northwind Outfitters",
        "light",
        {"count": 3, "period_days": 7},
    )
    offers = next(t for t in northwind["topics"] if t["key"] == "offers")
    assert offers == {
        "key": "offers",
        "name": "Offers and discounts",
        "kind": "marketing",
        "depth": "regular",
        "basis": "opt_in",
        "channels": ["email", "sms", "push", "whatsapp"],
        "notice": "Offers picked for you, at most as often as you say.",
        "notice_version": 1,
        "min_notice_version": 1,
        "consent_valid_days": 730,
    }
    json.dumps(view)  # plain JSON values only

    only_acme = catalog_view(db, brands={"acme"})
    assert [b["key"] for b in only_acme["brands"]] == ["acme"]
    assert catalog_view(db, brands=set())["brands"] == []


def test_a_notice_version_never_goes_back(db: Session, sealer: Sealer, demo: Data) -> None:
    raised = copy.deepcopy(demo)
    topic_of(raised, "acme", "offers").update(notice="Second words", notice_version=2)
    apply(db, sealer, demo)
    apply(db, sealer, raised)
    back = copy.deepcopy(demo)
    topic_of(back, "acme", "offers").update(notice="Second words", notice_version=1)

    with pytest.raises(CatalogRefused) as refused:
        apply(db, sealer, back)

    assert [(v.subject, v.rule) for v in refused.value.violations] == [
        ("acme/offers", "notice_version_lowered")
    ]
