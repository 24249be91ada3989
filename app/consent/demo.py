"""The demo: the shipped catalog and a few thousand customers with varied settings."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import Actor
from app.consent.catalog import apply_catalog
from app.consent.catalog_schema import load_catalog_file
from app.consent.context import Context
from app.consent.customers import create_customer
from app.consent.preferences import patch_preferences
from app.db import write_session
from app.models import Customer, utcnow
from app.paths import resource

DEMO_CATALOG = resource("consent") / "demo_catalog.toml"
ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", None)
LOCALES = ("de", "en", None)
BATCH = 500


def apply_demo_catalog(engine: Engine, ctx: Context, actor: Actor) -> None:
    """Make the catalog the demo catalog."""
    spec = load_catalog_file(DEMO_CATALOG)
    with write_session(engine) as session:
        apply_catalog(session, spec, sealer=ctx.sealer, actor=actor, source="cli")


def _preferences(rng: random.Random) -> dict[str, Any]:
    patch: dict[str, Any] = {"brands": {}}
    for brand in ("northwind", "acme"):
        body: dict[str, Any] = {"depth": rng.choice(("essentials", "light", "regular", "close"))}
        if rng.random() < 0.3:
            body["cap"] = {"count": rng.choice((1, 2, 3)), "period_days": 7}
        patch["brands"][brand] = body
    if rng.random() < 0.2:
        patch["channels"] = {"sms": {"quiet_hours": [{"start": "20:00", "end": "09:00"}]}}
    if rng.random() < 0.03:
        patch["no_marketing"] = True
    return patch


def create_demo_customers(
    engine: Engine,
    ctx: Context,
    actor: Actor,
    count: int,
    progress: Callable[[int], None] = lambda _n: None,
) -> int:
    """Create those of the demo customers `demo-1` … `demo-N` that are missing; how many."""
    rng = random.Random(7)  # noqa: S311  (demo data, not security)
    wanted = {f"demo-{number}": number for number in range(1, count + 1)}
    with Session(engine) as session:
        existing = set(
            session.scalars(
                select(col(Customer.external_id)).where(col(Customer.external_id).like("demo-%"))
            )
        )
    missing = [number for external_id, number in wanted.items() if external_id not in existing]
    progress(count - len(missing))
    created = 0
    for start in range(0, len(missing), BATCH):
        part = missing[start : start + BATCH]
        with write_session(engine) as session:
            for number in part:
                _create_demo_customer(session, ctx, actor, rng, number)
                created += 1
        progress(len(part))
    return created


def _create_demo_customer(
    session: Session, ctx: Context, actor: Actor, rng: random.Random, number: int
) -> None:
    """Customer `demo-N`, with varied settings; its email is skipped if someone else has it."""
    email = f"customer{number}@example.org"
    taken = session.scalar(select(func.count()).where(col(Customer.email) == email))
    customer = create_customer(
        session,
        ctx=ctx,
        values={
            "external_id": f"demo-{number}",
            "email": None if taken else email,
            "phone": f"+4915110{number:06d}" if number % 3 else None,
            "timezone": rng.choice(ZONES),
            "locale": rng.choice(LOCALES),
        },
        actor=actor,
        source="cli",
    )
    patch_preferences(
        session,
        ctx=ctx,
        customer=customer,
        body=_preferences(rng),
        if_match=None,
        actor=actor,
        source="cli",
        now=utcnow(),
        by_customer=True,
    )
